//! What happens to locations, as typed events.

use switchyard_kernel::{DomainEvent, LocationId};

use super::LocationRow;

switchyard_kernel::event_payload! {
    /// A location as events carry it.
    pub struct LocationData {
        pub id: LocationId,
        pub name: String,
        /// IANA, e.g. `Europe/Stockholm`.
        pub time_zone: String,
        pub active: bool,
        pub version: i32,
    }
}

impl From<&LocationRow> for LocationData {
    fn from(row: &LocationRow) -> Self {
        LocationData {
            id: row.id,
            name: row.name.clone(),
            time_zone: row.time_zone.clone(),
            active: row.active,
            version: row.version,
        }
    }
}

switchyard_kernel::domain_event! {
    /// A location was created.
    pub struct LocationCreated = "identity.location.created" v 1 on "Location" by location.id {
        pub location: LocationData,
    }
}

switchyard_kernel::domain_event! {
    /// A location's name, time zone, address or state changed.
    pub struct LocationUpdated = "identity.location.updated" v 1 on "Location" by location.id {
        pub location: LocationData,
    }
}

impl LocationCreated {
    pub fn of(row: &LocationRow) -> Self {
        LocationCreated {
            location: row.into(),
        }
    }
}

impl LocationUpdated {
    pub fn of(row: &LocationRow) -> Self {
        LocationUpdated {
            location: row.into(),
        }
    }
}

/// Every location event type, for the catalogue.
pub const SPECS: &[switchyard_kernel::events::EventSpec] =
    &[LocationCreated::SPEC, LocationUpdated::SPEC];

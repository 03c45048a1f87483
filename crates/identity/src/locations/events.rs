//! What happens to locations, as typed events.

use switchyard_kernel::LocationId;

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

switchyard_kernel::object_events! {
    "Location" as location: LocationData from LocationRow, v 1;
    /// A location was created.
    LocationCreated = "identity.location.created",
    /// A location's name, time zone, address or state changed.
    LocationUpdated = "identity.location.updated",
}

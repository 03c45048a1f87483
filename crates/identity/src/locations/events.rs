//! What happens to locations, as typed events.

use super::{LocationData, LocationRow};

switchyard_kernel::object_events! {
    "Location" as location: LocationData from LocationRow, v 1;
    /// A location was created.
    LocationCreated = "identity.location.created",
    /// A location's name, time zone, address or state changed.
    LocationUpdated = "identity.location.updated",
}

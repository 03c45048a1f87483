//! What happens to sales activities, as typed events.

use super::{ActivityData, ActivityRow};

switchyard_kernel::object_events! {
    "SalesActivity" as activity: ActivityData from ActivityRow, v 1;
    /// A call, email, meeting, visit or note was logged.
    ActivityLogged = "sales.activity.logged",
    /// An activity's text, outcome or follow-up changed.
    ActivityUpdated = "sales.activity.updated",
}

//! What happens to users, as typed events (see the event catalogue). Open WebSockets of a
//! user check their access again on any of them.

use chrono::{DateTime, Utc};
use switchyard_kernel::UserId;
use switchyard_kernel::access::Scope;

use super::{UserData, UserRow};

switchyard_kernel::domain_event! {
    /// A user was created (invited, or with a password).
    pub struct UserCreated = "identity.user.created" v 1 on "User" by user.id {
        pub user: UserData,
        /// Role keys.
        pub roles: Vec<String>,
    }
}

switchyard_kernel::domain_event! {
    /// A user's roles were replaced.
    pub struct UserRolesChanged = "identity.user.roles_changed" v 1 on "User" by user.id {
        pub user: UserData,
        /// Role keys, as they are now.
        pub roles: Vec<String>,
    }
}

switchyard_kernel::domain_event! {
    /// A user was given an extra permission, possibly until a time.
    pub struct UserPermissionGranted = "identity.user.permission_granted" v 1 on "User" by user_id {
        pub user_id: UserId,
        pub grant_id: String,
        pub permission: String,
        pub scope: Scope,
        pub expires_at: Option<DateTime<Utc>>,
    }
}

switchyard_kernel::domain_event! {
    /// An extra permission of a user was taken back.
    pub struct UserPermissionRevoked = "identity.user.permission_revoked" v 1 on "User" by user_id {
        pub user_id: UserId,
        pub grant_id: String,
        pub permission: String,
        pub scope: Scope,
    }
}

switchyard_kernel::domain_event! {
    /// A user signed out: one session, or all of them.
    pub struct UserSignedOut = "identity.user.signed_out" v 1 on "User" by user_id {
        pub user_id: UserId,
        pub all_sessions: bool,
    }
}

switchyard_kernel::domain_event! {
    /// A user changed their password; their other sessions ended.
    pub struct UserPasswordChanged = "identity.user.password_changed" v 1 on "User" by user_id {
        pub user_id: UserId,
    }
}

switchyard_kernel::object_events! {
    "User" as user: UserData from UserRow, v 1;
    /// A user's name or locations changed.
    UserUpdated = "identity.user.updated",
    /// A user may no longer sign in; every session ended.
    UserDeactivated = "identity.user.deactivated",
    /// A deactivated user may sign in again.
    UserReactivated = "identity.user.reactivated";
    also UserCreated, UserRolesChanged, UserPermissionGranted, UserPermissionRevoked,
        UserSignedOut, UserPasswordChanged
}

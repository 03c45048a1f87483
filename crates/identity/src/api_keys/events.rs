//! What happens to API keys, as typed events. A revoked key's open WebSockets close at once.

use chrono::{DateTime, Utc};
use switchyard_kernel::{ApiKeyId, DomainEvent, UserId};

use crate::roles::events::GrantData;

switchyard_kernel::domain_event! {
    /// A partner API key was created (its secret is never in an event).
    pub struct ApiKeyCreated = "identity.api_key.created" v 1 on "ApiKey" by api_key_id {
        pub api_key_id: ApiKeyId,
        pub name: String,
        /// The public part, `sy_<prefix>`.
        pub prefix: String,
        /// The user it acts for.
        pub created_by: UserId,
        /// What it may do at most (never more than its creator holds at the time).
        pub permissions: Vec<GrantData>,
    }
}

switchyard_kernel::domain_event! {
    /// An API key was revoked.
    pub struct ApiKeyRevoked = "identity.api_key.revoked" v 1 on "ApiKey" by api_key_id {
        pub api_key_id: ApiKeyId,
        pub revoked_at: DateTime<Utc>,
    }
}

/// Every API key event type, for the catalogue.
pub const SPECS: &[switchyard_kernel::events::EventSpec] =
    &[ApiKeyCreated::SPEC, ApiKeyRevoked::SPEC];

//! What happens to tenants, as typed events.

use switchyard_kernel::{DomainEvent, TenantId};

switchyard_kernel::domain_event! {
    /// A tenant (a company using Switchyard) was created with its owner.
    pub struct TenantCreated = "identity.tenant.created" v 1 on "Tenant" by tenant_id {
        pub tenant_id: TenantId,
        pub name: String,
        /// Lower case, unique; names the tenant in URLs and sign-in.
        pub slug: String,
    }
}

switchyard_kernel::domain_event! {
    /// A tenant was renamed.
    pub struct TenantUpdated = "identity.tenant.updated" v 1 on "Tenant" by tenant_id {
        pub tenant_id: TenantId,
        pub name: String,
    }
}

/// Every tenant event type, for the catalogue.
pub const SPECS: &[switchyard_kernel::events::EventSpec] =
    &[TenantCreated::SPEC, TenantUpdated::SPEC];

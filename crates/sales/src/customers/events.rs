//! What happens to customers, as typed events (see the event catalogue).

use switchyard_kernel::{LocationId, UserId};

use super::stage::CustomerStage;
use super::{CustomerId, CustomerRow};

switchyard_kernel::event_payload! {
    /// A customer as events carry it (contact details included: consumers that pass events
    /// on must honour `sales.customer_contact:read`).
    pub struct CustomerData {
        pub id: CustomerId,
        /// The company name, or the first and last name.
        pub display_name: String,
        pub email: Option<String>,
        /// E.164.
        pub phone: Option<String>,
        pub stage: CustomerStage,
        /// The responsible sales rep.
        pub assigned_to: Option<UserId>,
        pub location_id: Option<LocationId>,
        /// The customer-portal user who acts for the customer.
        pub portal_user_id: Option<UserId>,
        pub active: bool,
        pub tags: Vec<String>,
        pub version: i32,
    }
}

impl From<&CustomerRow> for CustomerData {
    fn from(row: &CustomerRow) -> Self {
        CustomerData {
            id: row.id,
            display_name: row.display_name.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            stage: row.stage,
            assigned_to: row.assigned_to,
            location_id: row.location_id,
            portal_user_id: row.portal_user_id,
            active: row.active,
            tags: row.tags(),
            version: row.version,
        }
    }
}

switchyard_kernel::object_events! {
    "Customer" as customer: CustomerData from CustomerRow, v 1;
    /// A new customer (a PROSPECT).
    CustomerCreated = "sales.customer.created",
    /// A customer's details, assignee, location, portal user or tags changed.
    CustomerUpdated = "sales.customer.updated";
    also CustomerStageChanged, CustomerMerged, CustomerMergedAway
}

switchyard_kernel::domain_event! {
    /// A customer moved along the pipeline.
    pub struct CustomerStageChanged = "sales.customer.stage_changed" v 1 on "Customer" by customer.id {
        pub customer: CustomerData,
        pub from: CustomerStage,
        /// Why (required for DISQUALIFIED).
        pub reason: Option<String>,
    }
}

switchyard_kernel::domain_event! {
    /// A duplicate was merged into this customer: its leads, activities, tasks and quotes are
    /// this customer's now.
    pub struct CustomerMerged = "sales.customer.merged" v 1 on "Customer" by customer.id {
        /// The survivor, after the merge.
        pub customer: CustomerData,
        pub duplicate_id: CustomerId,
    }
}

switchyard_kernel::domain_event! {
    /// This customer was a duplicate and was merged into another; it stays, inactive.
    pub struct CustomerMergedAway = "sales.customer.merged_away" v 1 on "Customer" by customer.id {
        pub customer: CustomerData,
        pub merged_into: CustomerId,
    }
}

//! The support desk: tickets from portal clients and staff, worked by agents, with a complete
//! timeline and visibility by role (a client sees its own tickets and never an internal note;
//! an agent the tickets assigned to it and the unassigned queue; an admin all).

pub mod activities;
pub mod attachments;
pub mod demo;
pub mod ids;
pub mod inbound;
pub mod permissions;
mod schema;
pub mod scope;
pub mod slas;
pub mod tickets;
pub mod workload;

use async_graphql::{MergedObject, MergedSubscription};
use switchyard_kernel::module::{Module, Setting};

pub use activities::TicketActivity;
pub use attachments::TicketAttachment;
pub use tickets::Ticket;

/// The support desk's queries.
#[derive(MergedObject, Default)]
pub struct SupportQuery(
    tickets::TicketQuery,
    activities::TicketActivityQuery,
    attachments::TicketAttachmentQuery,
    slas::SlaQuery,
    workload::WorkloadQuery,
);

/// The support desk's mutations.
#[derive(MergedObject, Default)]
pub struct SupportMutation(
    tickets::mutations::TicketMutation,
    attachments::AttachmentMutation,
    tickets::metadata::MetadataMutation,
    slas::SlaMutation,
);

/// The support desk's subscriptions: open ticket pages and agents' queues.
#[derive(MergedSubscription, Default)]
pub struct SupportSubscription(tickets::TicketSubscription);

pub type Query = SupportQuery;
pub type Mutation = SupportMutation;
pub type Subscription = SupportSubscription;

/// The support desk, as the server registers it.
pub fn module() -> Module {
    Module {
        name: "support",
        permissions: permissions::PERMISSIONS,
        events: &[tickets::events::SPECS],
        payloads: &[&[tickets::TicketData::SPEC]],
        settings: &[
            Setting {
                key: inbound::REPLY_DOMAIN,
                default: "",
                description: "The domain of tickets' reply addresses (`ticket+<token>@<domain>`), whose mail the provider posts to `/hooks/support/email`; empty: tickets have no reply address.",
            },
            Setting {
                key: inbound::SECRET,
                default: "",
                description: "The bearer token the mail provider posts inbound email to `/hooks/support/email` with; empty: the hook answers 404.",
            },
        ],
        ..Module::named("support")
    }
}

//! Switchyard's kernel: the building blocks every domain crate uses and that know nothing of
//! any domain: IDs, errors, money and time, the database, access control, pagination, the
//! audit log, the outbox and its dispatcher. See `ARCHITECTURE.md` at the repository root.

pub mod access;
pub mod address;
pub mod audit;
pub mod batch;
pub mod connection;
pub mod context;
pub mod db;
pub mod dispatcher;
pub mod error;
pub mod events;
pub mod fanout;
pub mod files;
pub mod idempotency;
pub mod ids;
pub mod module;
pub mod money;
pub mod plan;
pub mod policy;
pub mod read;
pub mod schema;
pub mod text_enum;
pub mod throttle;
pub mod time;
pub mod validate;
pub mod write;

/// Declares an aggregate's reads once: its row, its GraphQL type (plain fields, references,
/// nested pages, computed fields), its filter and order inputs, its root queries, and its
/// [`read::Aggregate`] implementation (table, ID, read permission, row scope). See
/// ARCHITECTURE.md, "Adding a domain", for a worked example.
///
/// ```text
/// switchyard_kernel::aggregate! {
///     /// A sales opportunity.
///     #[aggregate(
///         table = crate::schema::leads, id = LeadId, read = LEAD_READ, scope = scope,
///         order(created_at, desc),
///         one(name = lead, doc = "A lead by ID."),
///         list(name = leads, doc = "Leads the caller may see, newest first."),
///     )]
///     pub struct Lead {
///         /// The customer, if you may see it.
///         #[field(to_one = Customer, guard, filter)]
///         customer_id: CustomerId,
///         #[field(filter, order)]
///         title: String,
///         #[field(hidden)]
///         created_by: Option<UserId>,
///     }
///
///     impl Lead {
///         /// Computed fields are ordinary resolvers.
///         async fn shouting(&self) -> String { self.row().title.to_uppercase() }
///     }
/// }
/// ```
///
/// Aggregate options: `table` (the Diesel table; its SQL name is read as alias `t`), `id`
/// (an [`id_type!`]), `read` (the permission of its fields and lists), `scope`
/// (`fn(&Caller, &str) -> Result<read::Expr, Error>`: the rows a permission reaches),
/// `access` (`require`, the default: the type's fields need `read`; `authenticated`;
/// `inherit`), `owner(user = …, location = …)` (whose row it is, for `hide_unless`), `prefix`
/// (names of the row, filter, order and query types; the type's name by default),
/// `order(<field>, asc|desc)` (the default order), `one(name, doc)` and `list(name, doc,
/// search = fn(&Caller, &str), defaults = fn(&Filter, &Caller), check = fn(&Filter, &Order,
/// &Caller))` (the root queries; `check` refuses a request before it runs), and
/// `has_many(name, node, by = <column>, doc)` (nested pages of another aggregate).
///
/// `event = <Name>Data` derives the payload events carry (`event_payload!`, `From<&Row>`): the
/// ID and every field marked `event`, timestamps as UTC.
///
/// Field options: `filter`, `order` (or `order = Variant`), `hidden`, `event`, `name = "gqlName"`,
/// `to_one = Aggregate` (a reference, batched over the page; `guard` requires the target's
/// read permission), `hide_unless = PERMISSION` (null unless the caller reaches this row with
/// it; such a field is neither filtered nor ordered by). A field's `#[diesel(…)]` attributes
/// stay on the row's field (`skip_update` for a column written outside versioned updates).
/// An optional `struct <Prefix>Filter { … }` adds filter fields the aggregate interprets
/// itself ([`read::FilterExtra`]).
///
/// A row with `version` and `updated_at` is also [`write::Stored`]: mutations create and
/// update it with [`write::create`] and [`write::update`].
///
/// Writes declared: fields marked `input` (create and update), `input(create)` (create only),
/// `input(default)` or `input(default = <expr>)` (optional on create) make `Create<Prefix>Input`
/// (with `idempotencyKey`) and `Update<Prefix>Input` (`id`, `expectedVersion`, each field
/// optional, a nullable one `MaybeUndefined`), read by each column type's
/// [`write::Settable`] (texts trimmed, blank optional text null, times UTC, IDs decoded);
/// `money = <currency column>` on an `Option<i64>` `…_minor` column exposes and takes it as
/// money. `create(name, doc, event)` and `update(name, doc, event)` with `write(permission,
/// check, payload)` then derive the mutations themselves (`<Prefix>Mutation`): one
/// transaction each, the create idempotent, `check(tx, caller, &row, before)` run on the row
/// to be stored (`before` is `None` on create), the write recording the event. A mutation
/// whose input is not the row's fields (a quote with items, an activity that schedules a
/// task) writes its own input and resolver over the same [`write`] calls.
pub use switchyard_kernel_macros::aggregate;

/// What `aggregate!`'s expansion names from crates a domain need not depend on.
#[doc(hidden)]
pub mod __private {
    pub use futures_util::Stream;
}

pub use access::{
    BuiltinRole, Caller, Catalog, PermissionDef, Principal, RowScope, Scope, UserKind,
};
pub use connection::{Bounds, Connection, Cursor, Page, PageArgs, SortDirection};
pub use context::{ClientAddr, ContextExt, Services};
pub use db::{Backend, Conn, Db, DbOptions};
pub use error::{Error, Rejection, UserError, UserErrorCode};
pub use events::DomainEvent;
pub use ids::{Actor, ApiKeyId, EventId, LocationId, TenantId, UserId};

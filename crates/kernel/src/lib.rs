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
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod module;
pub mod money;
pub mod policy;
pub mod read;
pub mod schema;
pub mod text_enum;
pub mod time;
pub mod validate;

pub use access::{
    BuiltinRole, Caller, Catalog, PermissionDef, Principal, RowScope, Scope, UserKind,
};
pub use connection::{Bounds, Connection, Cursor, Page, PageArgs, SortDirection};
pub use context::{ClientAddr, ContextExt, LoaderEnv, RequestLoader, RequestScope, Services};
pub use db::{Backend, Conn, Db, DbOptions};
pub use error::{Error, Rejection, UserError, UserErrorCode};
pub use events::DomainEvent;
pub use ids::{Actor, ApiKeyId, EventId, LocationId, TenantId, UserId};

//! The audit log: who changed what, when, with the state before and after. Written in the
//! mutation's own transaction, so a change and its audit entry exist together or not at all.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::Value as Json;

use crate::access::{Caller, Principal};
use crate::db::Conn;
use crate::error::Error;
use crate::schema::audit_log;

/// One audited change.
pub struct Change<'a> {
    /// What happened, `domain.entity.verb`: `identity.user.deactivated`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
}

/// A row of the audit log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: String,
    pub tenant_id: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub created_at: chrono::NaiveDateTime,
}

fn actor(caller: &Caller) -> (&'static str, Option<String>) {
    match &caller.principal {
        Principal::User { id, .. } => ("user", Some(id.to_string())),
        Principal::ApiKey { id, .. } => ("api_key", Some(id.to_string())),
        Principal::System => ("system", None),
    }
}

/// Appends an entry for `caller` in the current transaction.
pub async fn record(conn: &mut Conn<'_>, caller: &Caller, change: Change<'_>) -> Result<(), Error> {
    let (actor_kind, actor_id) = actor(caller);
    let row = (
        audit_log::id.eq(uuid::Uuid::now_v7().to_string()),
        audit_log::tenant_id.eq(caller.tenant_id.to_string()),
        audit_log::actor_kind.eq(actor_kind),
        audit_log::actor_id.eq(actor_id),
        audit_log::action.eq(change.action),
        audit_log::entity_type.eq(change.entity_type),
        audit_log::entity_id.eq(change.entity_id),
        audit_log::before_state.eq(change.before.map(|v| v.to_string())),
        audit_log::after_state.eq(change.after.map(|v| v.to_string())),
        audit_log::created_at.eq(crate::time::now()),
    );
    crate::db_run!(conn, |c| diesel::insert_into(audit_log::table)
        .values(row)
        .execute(c)
        .await)?;
    Ok(())
}

/// Records a domain event in the current transaction, twice over: in the audit log (the
/// event as `after`, and `before` when the change had a previous state) and in the outbox,
/// so subscriptions, reactions and the audit log tell the same story. One call per change.
pub async fn record_event<E: crate::events::DomainEvent>(
    conn: &mut Conn<'_>,
    caller: &Caller,
    event: &E,
    before: Option<serde_json::Value>,
) -> Result<(), Error> {
    let spec = E::SPEC;
    record(
        conn,
        caller,
        Change {
            action: spec.name,
            entity_type: spec.aggregate,
            entity_id: event.aggregate_id(),
            before,
            after: Some(serde_json::to_value(event)?),
        },
    )
    .await?;
    crate::events::emit(conn, caller, event).await?;
    Ok(())
}

/// The audit entries of one entity, oldest first.
pub async fn history(
    conn: &mut Conn<'_>,
    caller: &Caller,
    entity_type: &str,
    entity_id: &str,
) -> Result<Vec<AuditRow>, Error> {
    let tenant = caller.tenant_id.to_string();
    let rows = crate::db_run!(conn, |c| audit_log::table
        .filter(audit_log::tenant_id.eq(&tenant))
        .filter(audit_log::entity_type.eq(entity_type))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::id.asc())
        .select(AuditRow::as_select())
        .load(c)
        .await)?;
    Ok(rows)
}

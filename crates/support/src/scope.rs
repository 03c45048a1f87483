//! Which tickets a caller reaches, in one place (a condition on alias `t`).
//!
//! At `own`: the tickets the user asked (a client's own) or is assigned, and, for a holder of
//! `support.queue:read` (an agent), the unassigned ones. At `tenant`: all. A ticket's timeline
//! and attachments follow their ticket, and internal ones are shown only to holders of
//! `support.internal_note:read`, so no list, count, `node(id:)`, nested page or subscription
//! shows a client an internal note.

use switchyard_kernel::Error;
use switchyard_kernel::access::{Caller, RowScope};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::read::Expr;

use crate::permissions::{INTERNAL_NOTE_READ, QUEUE_READ};

/// The tickets `caller` reaches with `permission`, on alias `t`.
pub fn tickets(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    let user = match caller.row_scope(permission)? {
        RowScope::Tenant => return Ok(Expr::True),
        RowScope::Own(user) | RowScope::Location { user, .. } => user,
    };
    let mut sql = Sql::new("(t.requester_id = ");
    sql.bind(user.to_string())
        .push(" OR t.assignee_id = ")
        .bind(user.to_string());
    if caller.has(QUEUE_READ) {
        sql.push(" OR t.assignee_id IS NULL");
    }
    sql.push(")");
    Ok(Expr::Sql(sql))
}

/// The timeline entries or attachments `caller` reaches with `permission`: those of the
/// tickets it reaches, without the internal ones (notes, files for staff) unless it may read
/// them (alias `t` of `support_ticket_activities` or `support_ticket_attachments`).
pub fn activities(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    let mut parts = Vec::new();
    if let Expr::Sql(condition) = tickets(caller, permission)? {
        let mut sql =
            Sql::new("t.ticket_id IN (SELECT t.id FROM support_tickets t WHERE t.tenant_id = ");
        sql.bind(caller.tenant_id.to_string())
            .push(" AND ")
            .append(&condition)
            .push(")");
        parts.push(Expr::Sql(sql));
    }
    if !caller.has(INTERNAL_NOTE_READ) {
        parts.push(Expr::Sql(Sql::new("NOT t.internal")));
    }
    Ok(match parts.len() {
        0 => Expr::True,
        1 => parts.remove(0),
        _ => Expr::And(parts),
    })
}

//! Which sales rows a caller reaches, in one place.
//!
//! A customer is reached by its assignee (`own`), by users of its location (`location`), or by
//! anyone of the tenant (`tenant`). Leads, activities, tasks and quotes follow their customer
//! under the permission being used, and at `own` or `location` also include what the user
//! created or holds themselves. A task waiting unassigned in a queue is open to everyone who may
//! read tasks, so it can be claimed. A customer-portal client reaches only the quotes of the
//! customer it represents now (`customers.portal_user_id`), never a draft.
//!
//! Each rule is stated once, as a condition on alias `t` ([`customer_scope`],
//! [`child_scope`]): lists, counts, single rows, nested pages and subscriptions all apply
//! the same text.

use switchyard_kernel::access::{Caller, Principal, RowScope, UserKind};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::{Error, LocationId, TenantId, UserId};

/// How far a caller reaches among a child table's rows for one permission.
#[derive(Debug, Clone)]
pub enum ChildScope {
    /// Every row of the tenant.
    Tenant,
    /// Rows whose customer is in `customers`, or that `user` created or holds.
    Customers { customers: RowScope, user: UserId },
    /// A customer-portal user: rows of the customer it represents now, where the child table
    /// shows clients anything at all.
    Client(UserId),
}

impl ChildScope {
    /// The scope of `permission` for `caller` over a child table.
    pub fn of(caller: &Caller, permission: &str) -> Result<ChildScope, Error> {
        let rows = caller.row_scope(permission)?;
        if let Principal::User {
            id,
            kind: UserKind::Client,
            ..
        } = &caller.principal
        {
            return Ok(ChildScope::Client(*id));
        }
        Ok(match rows {
            RowScope::Tenant => ChildScope::Tenant,
            RowScope::Own(user) | RowScope::Location { user, .. } => ChildScope::Customers {
                customers: rows,
                user,
            },
        })
    }
}

/// Location IDs as stored text.
pub fn location_texts(locations: &[LocationId]) -> Vec<String> {
    locations.iter().map(ToString::to_string).collect()
}

/// `<column> IN (<the customers a row scope reaches>)`, for a column of customer IDs: how
/// another domain follows the customers a caller reaches.
pub fn push_customer_ids(sql: &mut Sql, column: &str, tenant: TenantId, scope: &RowScope) {
    match scope {
        RowScope::Tenant => {
            sql.push(column)
                .push(" IN (SELECT c.id FROM customers c WHERE c.tenant_id = ");
            sql.bind(tenant.to_string()).push(")");
        }
        RowScope::Own(user) => {
            sql.push(column)
                .push(" IN (SELECT c.id FROM customers c WHERE c.tenant_id = ");
            sql.bind(tenant.to_string())
                .push(" AND c.assigned_to = ")
                .bind(user.to_string())
                .push(")");
        }
        RowScope::Location { user, locations } => {
            sql.push(column)
                .push(" IN (SELECT c.id FROM customers c WHERE c.tenant_id = ");
            sql.bind(tenant.to_string())
                .push(" AND (c.assigned_to = ")
                .bind(user.to_string());
            sql.push(" OR c.location_id")
                .is_in(location_texts(locations))
                .push("))");
        }
    }
}

/// ` AND (…)` restricting alias `t` of a child table to a [`ChildScope`]. `mine` is the column
/// naming the user who created or holds the row; `client` the condition under which a row of
/// its customer is shown to the customer's portal user (quotes: never a DRAFT), `None` when
/// the table shows clients nothing; `open` a condition that makes a row visible to everyone
/// with the permission (queued tasks).
pub fn push_child_scope(
    sql: &mut Sql,
    tenant: TenantId,
    scope: &ChildScope,
    mine: &str,
    client: Option<&str>,
    open: Option<&str>,
) {
    match scope {
        ChildScope::Tenant => {}
        ChildScope::Client(user) => match client {
            Some(condition) => {
                sql.push(
                    " AND t.customer_id IN (SELECT c.id FROM customers c WHERE c.tenant_id = ",
                )
                .bind(tenant.to_string())
                .push(" AND c.portal_user_id = ")
                .bind(user.to_string())
                .push(") AND ")
                .push(condition);
            }
            None => {
                sql.push(" AND 1 = 0");
            }
        },
        ChildScope::Customers { customers, user } => {
            sql.push(" AND (t.")
                .push(mine)
                .push(" = ")
                .bind(user.to_string())
                .push(" OR ");
            push_customer_ids(sql, "t.customer_id", tenant, customers);
            if let Some(open) = open {
                sql.push(" OR (").push(open).push(")");
            }
            sql.push(")");
        }
    }
}

/// The rows of a child table (alias `t`) `caller` reaches with `permission`, as one condition:
/// what lists, counts, single rows and nested pages all apply. `mine` names the column of the
/// user who created or holds a row; `client` the condition under which a row of its customer
/// is shown to the customer's portal user (none: never); `open` a condition that makes a row
/// visible to everyone with the permission (queued tasks).
pub fn child_scope(
    caller: &Caller,
    permission: &str,
    mine: &str,
    client: Option<&str>,
    open: Option<&str>,
) -> Result<switchyard_kernel::read::Expr, Error> {
    use switchyard_kernel::read::Expr;
    let scope = ChildScope::of(caller, permission)?;
    if let ChildScope::Tenant = scope {
        return Ok(Expr::True);
    }
    let mut sql = Sql::new("1 = 1");
    push_child_scope(&mut sql, caller.tenant_id, &scope, mine, client, open);
    Ok(Expr::Sql(sql))
}

/// The customers (alias `t`) a row scope reaches, as one condition.
pub fn customer_scope(scope: &RowScope) -> switchyard_kernel::read::Expr {
    use switchyard_kernel::read::Expr;
    match scope {
        RowScope::Tenant => Expr::True,
        RowScope::Own(user) => {
            let mut sql = Sql::new("t.assigned_to = ");
            sql.bind(user.to_string());
            Expr::Sql(sql)
        }
        RowScope::Location { user, locations } => {
            let mut sql = Sql::new("t.assigned_to = ");
            sql.bind(user.to_string())
                .push(" OR t.location_id")
                .is_in(location_texts(locations));
            Expr::Sql(sql)
        }
    }
}

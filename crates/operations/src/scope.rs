//! Which jobs a caller reaches, in one place (a condition on alias `t` of `jobs`; crew rows
//! follow their job).
//!
//! At `own`: the jobs the user works (on its crew), the jobs of the customers the user is
//! responsible for, and the jobs it created. At `location`: those, and every job of the user's
//! locations. At `tenant`: every job.

use switchyard_kernel::access::{Caller, RowScope};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::read::Expr;
use switchyard_kernel::{Error, TenantId, UserId};

/// The jobs `caller` reaches with `permission`, on alias `t`.
pub fn jobs(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    let rows = caller.row_scope(permission)?;
    let (user, locations) = match &rows {
        RowScope::Tenant => return Ok(Expr::True),
        RowScope::Own(user) => (*user, None),
        RowScope::Location { user, locations } => (*user, Some(locations)),
    };
    let mut sql = Sql::new("(t.created_by = ");
    sql.bind(user.to_string()).push(" OR ");
    works(&mut sql, "t.id", caller.tenant_id, user);
    sql.push(" OR ");
    switchyard_sales::scope::push_customer_ids(
        &mut sql,
        "t.customer_id",
        caller.tenant_id,
        &RowScope::Own(user),
    );
    if let Some(locations) = locations {
        sql.push(" OR t.location_id")
            .is_in(switchyard_sales::scope::location_texts(locations));
    }
    sql.push(")");
    Ok(Expr::Sql(sql))
}

/// `<job column> IN (<the jobs whose crew includes user>)` (a person's calendar).
pub fn works(sql: &mut Sql, column: &str, tenant: TenantId, user: UserId) {
    works_any(sql, column, tenant, &[user]);
}

/// `<job column> IN (<the jobs whose crew includes any of users>)` (a crew's calendar).
pub fn works_any(sql: &mut Sql, column: &str, tenant: TenantId, users: &[UserId]) {
    sql.push(column)
        .push(" IN (SELECT w.job_id FROM job_crew w WHERE w.tenant_id = ");
    sql.bind(tenant.to_string())
        .push(" AND w.user_id")
        .is_in(users.iter().map(ToString::to_string))
        .push(")");
}

/// The rows of a job's child table (alias `t`, with `job_id`: crew, steps, field updates)
/// `caller` reaches with `permission`: those of the jobs it reaches.
pub fn job_child(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    match jobs(caller, permission)? {
        Expr::True => Ok(Expr::True),
        Expr::Sql(condition) => {
            let mut sql = Sql::new("t.job_id IN (SELECT t.id FROM jobs t WHERE t.tenant_id = ");
            sql.bind(caller.tenant_id.to_string())
                .push(" AND ")
                .append(&condition)
                .push(")");
            Ok(Expr::Sql(sql))
        }
        other => Ok(other),
    }
}

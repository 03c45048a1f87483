//! Whose time off a caller reaches: its own at `own`, also that of the people of its locations
//! at `location`, everyone's at `tenant` (a condition on alias `t`).

use switchyard_kernel::Error;
use switchyard_kernel::access::{Caller, RowScope};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::read::Expr;

pub fn time_off(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    switchyard_identity::locations::people_scope(caller, permission)
}

/// The appointments `caller` reaches with `permission`: those it attends or made at `own`, also
/// those of its locations at `location`, all at `tenant` (a condition on alias `t`).
pub fn appointments(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    let (user, locations) = match caller.row_scope(permission)? {
        RowScope::Tenant => return Ok(Expr::True),
        RowScope::Own(user) => (user, None),
        RowScope::Location { user, locations } => (user, Some(locations)),
    };
    let mut sql = Sql::new("(t.user_id = ");
    sql.bind(user.to_string())
        .push(" OR t.created_by = ")
        .bind(user.to_string());
    if let Some(locations) = locations {
        sql.push(" OR t.location_id")
            .is_in(locations.iter().map(ToString::to_string));
    }
    sql.push(")");
    Ok(Expr::Sql(sql))
}

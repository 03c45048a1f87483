//! Whose time off a caller reaches: its own at `own`, also that of the people of its locations
//! at `location`, everyone's at `tenant` (a condition on alias `t`).

use switchyard_kernel::Error;
use switchyard_kernel::access::{Caller, RowScope};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::read::Expr;

pub fn time_off(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    Ok(match caller.row_scope(permission)? {
        RowScope::Tenant => Expr::True,
        RowScope::Own(user) => {
            let mut sql = Sql::new("t.user_id = ");
            sql.bind(user.to_string());
            Expr::Sql(sql)
        }
        RowScope::Location { user, locations } => {
            let mut sql = Sql::new("(t.user_id = ");
            sql.bind(user.to_string()).push(" OR ");
            switchyard_identity::locations::push_users_of(
                &mut sql,
                "t.user_id",
                caller.tenant_id,
                &locations,
            );
            sql.push(")");
            Expr::Sql(sql)
        }
    })
}

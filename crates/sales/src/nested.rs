//! Nested first pages (`customer { quotes(first: 5) }` for fifty customers) in one statement:
//! the rows of all parents ranked with `ROW_NUMBER() OVER (PARTITION BY parent)`, cut at the
//! page size plus one (to know whether more follow), under the caller's scope.

use std::collections::HashMap;
use std::marker::PhantomData;

use async_graphql::dataloader::Loader;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::{Error, LoaderEnv, RequestLoader, TenantId};

use crate::scope::{ChildScope, push_child_scope};

/// A child table paged under a parent.
pub trait Children: Send + Sync + 'static {
    type Row: Clone + Send + Sync + QueryableByName<Pg> + QueryableByName<Sqlite> + 'static;
    /// The table, e.g. `quotes`.
    const TABLE: &'static str;
    /// The column naming the parent, e.g. `customer_id`.
    const PARENT: &'static str;
    /// The column naming the user who created or holds a row (for `own` scope).
    const MINE: &'static str;
    /// The permission whose scope applies.
    const PERMISSION: &'static str;
    /// Extra SQL condition on alias `t`, if any (` AND …`).
    const EXTRA: &'static str = "";
    /// A row's parent ID.
    fn parent(row: &Self::Row) -> String;
}

/// The newest rows of each parent: key (tenant, parent ID, how many to fetch).
pub struct FirstOf<C: Children> {
    env: LoaderEnv,
    _children: PhantomData<C>,
}

impl<C: Children> RequestLoader for FirstOf<C> {
    fn new(env: &LoaderEnv) -> Self {
        FirstOf {
            env: env.clone(),
            _children: PhantomData,
        }
    }
}

impl<C: Children> Loader<(TenantId, String, i64)> for FirstOf<C> {
    type Value = Vec<C::Row>;
    type Error = Error;

    async fn load(
        &self,
        keys: &[(TenantId, String, i64)],
    ) -> Result<HashMap<(TenantId, String, i64), Vec<C::Row>>, Error> {
        let tenant = self.env.caller.tenant_id;
        let scope = ChildScope::of(&self.env.caller, C::PERMISSION)?;
        let mut by_limit: HashMap<i64, Vec<String>> = HashMap::new();
        for (t, parent, limit) in keys {
            if *t == tenant {
                by_limit.entry(*limit).or_default().push(parent.clone());
            }
        }
        let mut out: HashMap<(TenantId, String, i64), Vec<C::Row>> = HashMap::new();
        let mut pooled = self.env.db.read().await?;
        for (limit, parents) in by_limit {
            let mut sql = Sql::new("SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.");
            sql.push(C::PARENT)
                .push(" ORDER BY t.id DESC) AS row_rank FROM ")
                .push(C::TABLE)
                .push(" t WHERE t.tenant_id = ")
                .bind(tenant.to_string())
                .push(" AND t.")
                .push(C::PARENT)
                .push(" IN ")
                .bind_list(parents.iter().cloned());
            push_child_scope(&mut sql, tenant, &scope, C::MINE);
            sql.push(C::EXTRA)
                .push(") ranked WHERE row_rank <= ")
                .bind(limit)
                .push(" ORDER BY row_rank");
            let rows: Vec<C::Row> = sql.load(&mut pooled.conn()).await?;
            for parent in parents {
                out.insert((tenant, parent, limit), Vec::new());
            }
            for row in rows {
                out.entry((tenant, C::parent(&row), limit))
                    .or_default()
                    .push(row);
            }
        }
        Ok(out)
    }
}

/// ` FROM <table> t WHERE <parent and scope>` for one parent.
fn one_parent<C: Children>(
    sql: &mut Sql,
    caller: &switchyard_kernel::Caller,
    parent: &str,
) -> Result<(), Error> {
    let scope = ChildScope::of(caller, C::PERMISSION)?;
    sql.push(" FROM ")
        .push(C::TABLE)
        .push(" t WHERE t.tenant_id = ")
        .bind(caller.tenant_id.to_string())
        .push(" AND t.")
        .push(C::PARENT)
        .push(" = ")
        .bind(parent.to_owned());
    push_child_scope(sql, caller.tenant_id, &scope, C::MINE);
    sql.push(C::EXTRA);
    Ok(())
}

/// A keyset page of one parent's children, newest first (for pages with cursors, which the
/// batched loader does not serve).
pub async fn page_of<C: Children>(
    conn: &mut switchyard_kernel::Conn<'_>,
    caller: &switchyard_kernel::Caller,
    parent: &str,
    bounds: &switchyard_kernel::Bounds,
) -> Result<Vec<C::Row>, Error> {
    let mut sql = Sql::new("SELECT t.*");
    one_parent::<C>(&mut sql, caller, parent)?;
    if let Some(after) = &bounds.after {
        sql.push(" AND t.id < ").bind(after[0].clone());
    }
    if let Some(before) = &bounds.before {
        sql.push(" AND t.id > ").bind(before[0].clone());
    }
    sql.push(if bounds.backward {
        " ORDER BY t.id ASC LIMIT "
    } else {
        " ORDER BY t.id DESC LIMIT "
    })
    .bind(bounds.limit);
    Ok(sql.load(conn).await?)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many children of one parent the caller reaches.
pub async fn count_of<C: Children>(
    conn: &mut switchyard_kernel::Conn<'_>,
    caller: &switchyard_kernel::Caller,
    parent: &str,
) -> Result<i64, Error> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n");
    one_parent::<C>(&mut sql, caller, parent)?;
    let rows: Vec<Count> = sql.load(conn).await?;
    Ok(rows.first().map(|c| c.n).unwrap_or(0))
}

/// Resolves a nested connection field: plain first pages through the batched [`FirstOf`]
/// loader, pages with cursors or `last` through [`page_of`]; `totalCount` counts on demand.
#[macro_export]
macro_rules! nested_connection {
    ($ctx:expr, $parent:expr, $children:ty, $node:path, $first:expr, $after:expr, $last:expr, $before:expr) => {{
        use switchyard_kernel::ContextExt as _;
        let ctx = $ctx;
        let page = switchyard_kernel::PageArgs::new($first, $after, $last, $before).page()?;
        let tenant = $parent.tenant_id;
        let parent_id = $parent.id.to_string();
        let caller = ctx.caller()?.clone();
        let db = ctx.services()?.db.clone();
        let rows = if page.after.is_none() && page.before.is_none() && !page.backward {
            ctx.loader::<$crate::nested::FirstOf<$children>>()?
                .load_one((tenant, parent_id.clone(), page.limit()))
                .await?
                .unwrap_or_default()
        } else {
            let bounds = page.bounds(1)?;
            let mut pooled = db.read().await?;
            $crate::nested::page_of::<$children>(&mut pooled.conn(), &caller, &parent_id, &bounds)
                .await?
        };
        let count: switchyard_kernel::connection::CountFn = Box::new(move || {
            Box::pin(async move {
                let mut pooled = db.read().await?;
                $crate::nested::count_of::<$children>(&mut pooled.conn(), &caller, &parent_id).await
            })
        });
        Ok(switchyard_kernel::Connection::from_rows(
            &page,
            rows,
            |r| switchyard_kernel::Cursor(vec![r.id.to_string().into()]),
            $node,
            Some(count),
        ))
    }};
}

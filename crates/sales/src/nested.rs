//! Nested pages (`customer { quotes(first: 5) }` for fifty customers) in one statement: the
//! first sibling to ask loads the first page of every parent of its page (the rows ranked
//! with `ROW_NUMBER() OVER (PARTITION BY parent)`, cut at the page size plus one, to know
//! whether more follow), and the others take their share. Pages with cursors are loaded per
//! parent. The loaded rows form a sibling set of their own, so their relations batch too.

use std::collections::HashMap;
use std::sync::Arc;

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use switchyard_kernel::Error;
use switchyard_kernel::batch::Siblings;
use switchyard_kernel::db::sql::Sql;

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
    /// The condition on alias `t` under which a row of its customer is shown to the customer's
    /// portal user; `None`: never (only quotes are shown to clients).
    const CLIENT: Option<&'static str> = None;
    /// A condition on alias `t` making a row visible to everyone with the permission
    /// (unassigned queued tasks), if any.
    const OPEN: Option<&'static str> = None;
    /// A row's parent ID.
    fn parent(row: &Self::Row) -> String;

    /// The rows the caller reaches: the one scope lists, single rows and nested pages share.
    fn scope(caller: &switchyard_kernel::Caller) -> Result<switchyard_kernel::read::Expr, Error> {
        Self::scope_for(caller, Self::PERMISSION)
    }

    /// The rows the caller reaches with `permission` (a mutation's, say).
    fn scope_for(
        caller: &switchyard_kernel::Caller,
        permission: &str,
    ) -> Result<switchyard_kernel::read::Expr, Error> {
        crate::scope::child_scope(caller, permission, Self::MINE, Self::CLIENT, Self::OPEN)
    }
}

/// The rows of `C` that `caller` reaches with `permission`, filtered and ordered: one list,
/// its count, or one row (see [`Listing`](switchyard_kernel::read::Listing)).
pub fn listing<C: Children>(
    caller: &switchyard_kernel::Caller,
    permission: &str,
    filter: switchyard_kernel::read::Expr,
    order: switchyard_kernel::read::Order,
) -> Result<switchyard_kernel::read::Listing, Error> {
    Ok(switchyard_kernel::read::Listing {
        table: C::TABLE,
        tenant: caller.tenant_id,
        scope: C::scope_for(caller, permission)?,
        filter,
        order,
    })
}

/// One row of `C` by ID, if `caller` reaches it with `permission`; NOT_FOUND otherwise.
pub async fn find<C: Children>(
    conn: &mut switchyard_kernel::Conn<'_>,
    caller: &switchyard_kernel::Caller,
    permission: &str,
    id: &str,
) -> Result<C::Row, Error> {
    let by_id = switchyard_kernel::read::Order {
        column: None,
        desc: false,
    };
    listing::<C>(
        caller,
        permission,
        switchyard_kernel::read::Expr::True,
        by_id,
    )?
    .one(conn, id)
    .await?
    .ok_or(Error::NotFound)
}

/// The first rows of every parent of a page, loaded at once: all rows in one sibling set,
/// and where each parent's rows sit in it.
pub struct NestedPages<R> {
    pub set: Arc<Siblings<R>>,
    ranges: HashMap<String, (usize, usize)>,
}

impl<R> NestedPages<R> {
    /// Indices in `set` of one parent's rows, newest first.
    pub fn of(&self, parent: &str) -> Vec<usize> {
        let (start, len) = self.ranges.get(parent).copied().unwrap_or((0, 0));
        (start..start + len).collect()
    }
}

/// The newest `limit` children of each of `parents`, in one statement: the rows ranked with
/// `ROW_NUMBER() OVER (PARTITION BY parent)` under the caller's scope.
pub async fn first_pages<C: Children>(
    db: &switchyard_kernel::Db,
    caller: &switchyard_kernel::Caller,
    parents: Vec<String>,
    limit: i64,
) -> Result<NestedPages<C::Row>, Error> {
    let tenant = caller.tenant_id;
    let scope = C::scope(caller)?;
    let mut sql = Sql::new("SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.");
    sql.push(C::PARENT)
        .push(" ORDER BY t.id DESC) AS row_rank FROM ")
        .push(C::TABLE)
        .push(" t WHERE t.tenant_id = ")
        .bind(tenant.to_string())
        .push(" AND t.")
        .push(C::PARENT)
        .is_in(parents.iter().cloned());
    scope.push_and(&mut sql);
    sql.push(") ranked WHERE row_rank <= ")
        .bind(limit)
        .push(" ORDER BY ")
        .push(C::PARENT)
        .push(", row_rank");
    let rows: Vec<C::Row> = if parents.is_empty() {
        Vec::new()
    } else {
        let mut pooled = db.read().await?;
        sql.load(&mut pooled.conn()).await?
    };
    let mut ranges: HashMap<String, (usize, usize)> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let entry = ranges.entry(C::parent(row)).or_insert((i, 0));
        entry.1 += 1;
    }
    Ok(NestedPages {
        set: Siblings::new(rows),
        ranges,
    })
}

/// ` FROM <table> t WHERE <parent and scope>` for one parent.
fn one_parent<C: Children>(
    sql: &mut Sql,
    caller: &switchyard_kernel::Caller,
    parent: &str,
) -> Result<(), Error> {
    let scope = C::scope(caller)?;
    sql.push(" FROM ")
        .push(C::TABLE)
        .push(" t WHERE t.tenant_id = ")
        .bind(caller.tenant_id.to_string())
        .push(" AND t.")
        .push(C::PARENT)
        .push(" = ")
        .bind(parent.to_owned());
    scope.push_and(sql);
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

/// Resolves a nested connection field of a page member: plain first pages through one batch
/// for all its siblings ([`first_pages`]), pages with cursors or `last` through [`page_of`];
/// `totalCount` counts on demand. `$node` builds a node from a sibling set and an index.
#[macro_export]
macro_rules! nested_connection {
    ($ctx:expr, $member:expr, $children:ty, $node:expr, $first:expr, $after:expr, $last:expr, $before:expr) => {{
        use switchyard_kernel::ContextExt as _;
        let ctx = $ctx;
        let member = &$member;
        let page = switchyard_kernel::PageArgs::new($first, $after, $last, $before).page()?;
        let parent_id = member.row().id.to_string();
        let caller = ctx.caller()?.clone();
        let db = ctx.services()?.db.clone();
        let (set, indices) = if page.after.is_none() && page.before.is_none() && !page.backward {
            let limit = page.limit();
            let pages = member
                .siblings()
                .batch(
                    &format!(
                        "{}:{}",
                        <$children as $crate::nested::Children>::TABLE,
                        limit
                    ),
                    |rows| {
                        let parents: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
                        let (db, caller) = (db.clone(), caller.clone());
                        async move {
                            $crate::nested::first_pages::<$children>(&db, &caller, parents, limit)
                                .await
                        }
                    },
                )
                .await?;
            (pages.set.clone(), pages.of(&parent_id))
        } else {
            let bounds = page.bounds(1)?;
            // Boxed: see `Siblings::batch` on the size of resolver futures.
            let rows = Box::pin(async {
                let mut pooled = db.read().await?;
                $crate::nested::page_of::<$children>(
                    &mut pooled.conn(),
                    &caller,
                    &parent_id,
                    &bounds,
                )
                .await
            })
            .await?;
            let n = rows.len();
            (
                switchyard_kernel::batch::Siblings::new(rows),
                (0..n).collect(),
            )
        };
        let count: switchyard_kernel::connection::CountFn = Box::new(move || {
            Box::pin(async move {
                let mut pooled = db.read().await?;
                $crate::nested::count_of::<$children>(&mut pooled.conn(), &caller, &parent_id).await
            })
        });
        let node = $node;
        Ok(switchyard_kernel::Connection::from_batch(
            &page,
            indices,
            |i| switchyard_kernel::Cursor(vec![set.rows()[*i].id.to_string().into()]),
            |indices| indices.into_iter().map(|i| node(&set, i)).collect(),
            Some(count),
        ))
    }};
}

//! What the kernel knows of an aggregate's reads, and the reads it makes of it: lists, single
//! rows, references batched over a page, and nested pages, every one under the caller's row
//! scope. A domain declares an aggregate with [`aggregate!`](crate::aggregate), which
//! implements [`Aggregate`] and writes the GraphQL type from the same declaration.
//!
//! Objects loaded together (a page, a nested page, the targets of a relation) form one
//! [`Siblings`] set, and every relation of theirs loads for the whole set in one statement:
//! the number of statements follows the depth of the query, never the number of rows.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::str::FromStr;
use std::sync::Arc;

use async_graphql::Context;
use futures_util::{Stream, StreamExt};

use super::filter::Expr;
use super::list::{Listing, Order, Row};
use crate::access::Caller;
use crate::batch::{Member, Siblings};
use crate::connection::{Bounds, Connection, CountFn, Cursor, PageArgs};
use crate::context::ContextExt;
use crate::db::sql::Sql;
use crate::db::{Conn, Db};
use crate::error::Error;
use crate::ids::{LocationId, UserId};

/// An aggregate as the kernel reads it: its table, its ID, the permission that reads it and
/// the rows that permission reaches (its row scope, stated once and applied by every read).
pub trait Aggregate: Clone + Sized + Send + Sync + 'static {
    type Id: Copy + Eq + Hash + Display + FromStr + Send + Sync + 'static;
    type Row: Row + Clone + Sync;
    /// The table (read as alias `t`).
    const TABLE: &'static str;
    /// The GraphQL type name.
    const TYPE_NAME: &'static str;
    /// The permission that reads it: the rule of its fields and the scope of its lists.
    const READ: &'static str;

    /// The rows `caller` reaches with `permission` (the aggregate's own, or a mutation's), as
    /// a condition on alias `t`.
    fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error>;
    fn id(row: &Self::Row) -> Self::Id;
    /// Whose row it is, for field rules that reach row by row (`hide_unless`).
    fn owner(row: &Self::Row) -> (Option<UserId>, Option<LocationId>);
    fn node(member: Member<Self::Row>) -> Self;
    fn member(&self) -> &Member<Self::Row>;
}

/// An aggregate's ordering (see `order(...)` in [`aggregate!`](crate::aggregate)).
pub trait Ordering<R>: Send + Sync {
    fn order(&self) -> Order;
    /// How many values a cursor of this order holds.
    fn arity(&self) -> usize;
    fn cursor(&self, row: &R) -> Cursor;
}

/// The rows of `A` that `caller` reaches with `permission`, filtered and ordered.
pub fn listing<A: Aggregate>(
    caller: &Caller,
    permission: &str,
    filter: Expr,
    order: Order,
) -> Result<Listing, Error> {
    Ok(Listing {
        table: A::TABLE,
        tenant: caller.tenant_id,
        scope: A::scope(caller, permission)?,
        filter,
        order,
    })
}

const BY_ID: Order = Order {
    column: None,
    desc: false,
    numeric: false,
};

/// One row of `A` by ID, if `caller` reaches it with `permission` (a mutation's, inside its
/// transaction); NOT_FOUND otherwise.
pub async fn find_in<A: Aggregate>(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    id: A::Id,
) -> Result<A::Row, Error> {
    listing::<A>(caller, permission, Expr::True, BY_ID)?
        .one(conn, &id.to_string())
        .await?
        .ok_or(Error::NotFound)
}

/// An object by ID as the caller reads it; NOT_FOUND otherwise (another tenant, out of
/// scope, no such object).
pub async fn find<A: Aggregate>(ctx: &Context<'_>, id: A::Id) -> Result<A, Error> {
    let caller = ctx.caller()?;
    // Also where the scope alone would let everyone in (references to a location).
    caller.require(A::READ)?;
    let mut pooled = ctx.services()?.db.read().await?;
    let row = find_in::<A>(&mut pooled.conn(), caller, A::READ, id).await?;
    Ok(A::node(Member::one(row)))
}

/// The objects among `ids` the caller reads (unknown and unreachable IDs are absent), loaded
/// together in one statement.
pub async fn load<A: Aggregate>(
    db: &Db,
    caller: &Caller,
    ids: Vec<A::Id>,
) -> Result<HashMap<A::Id, A>, Error> {
    let mut ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    ids.sort_unstable();
    ids.dedup();
    // Without the permission, references read as null.
    let Ok(scope) = A::scope(caller, A::READ) else {
        return Ok(HashMap::new());
    };
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let listing = Listing {
        table: A::TABLE,
        tenant: caller.tenant_id,
        scope,
        filter: Expr::In {
            column: "id",
            values: ids,
        },
        order: BY_ID,
    };
    let rows: Vec<A::Row> = {
        let mut pooled = db.read().await?;
        listing.page(&mut pooled.conn(), &Bounds::all()).await?
    };
    Ok(Member::all(rows)
        .into_iter()
        .map(|m| (A::id(m.row()), A::node(m)))
        .collect())
}

/// The object with this ID if the caller reads it (a reference from another object or
/// domain; null otherwise), in one statement.
pub async fn load_one<A: Aggregate>(ctx: &Context<'_>, id: A::Id) -> Result<Option<A>, Error> {
    let mut found = load::<A>(&ctx.services()?.db, ctx.caller()?, vec![id]).await?;
    Ok(found.remove(&id))
}

/// A page of `A` as a connection: the caller's scope, `filter`, and `order` with its cursors;
/// `totalCount` counted only when selected.
pub async fn list<A: Aggregate, O: Ordering<A::Row>>(
    ctx: &Context<'_>,
    args: PageArgs,
    filter: Expr,
    order: &O,
) -> Result<Connection<A>, Error> {
    let listing = listing::<A>(ctx.caller()?, A::READ, filter, order.order())?;
    listing
        .connection(
            &ctx.services()?.db,
            &args,
            order.arity(),
            |r| order.cursor(r),
            |rows| Member::all(rows).into_iter().map(A::node).collect(),
        )
        .await
}

/// The object a row of `parent` refers to (`fk`), loaded for all of `parent`'s siblings in one
/// statement under `A`'s scope; null when the caller does not reach it. `key` names the
/// relation in the sibling set.
pub async fn to_one<A: Aggregate, P: Aggregate>(
    ctx: &Context<'_>,
    parent: &P,
    key: &'static str,
    fk: fn(&P::Row) -> Option<A::Id>,
) -> Result<Option<A>, Error> {
    let Some(id) = fk(parent.member().row()) else {
        return Ok(None);
    };
    let caller = ctx.caller()?;
    let db = &ctx.services()?.db;
    let loaded = parent
        .member()
        .siblings()
        .batch(key, |rows| {
            let ids: Vec<A::Id> = rows.iter().filter_map(fk).collect();
            load::<A>(db, caller, ids)
        })
        .await?;
    Ok(loaded.get(&id).cloned())
}

/// The first rows of every parent of a page, loaded at once: all rows in one sibling set,
/// and where each parent's rows sit in it.
struct NestedPages<R> {
    set: Arc<Siblings<R>>,
    ranges: HashMap<String, (usize, usize)>,
}

/// ` FROM <table> t WHERE <tenant> AND <scope>`.
fn from_scoped<A: Aggregate>(sql: &mut Sql, caller: &Caller) -> Result<(), Error> {
    sql.push(" FROM ")
        .push(A::TABLE)
        .push(" t WHERE t.tenant_id = ")
        .bind(caller.tenant_id.to_string());
    A::scope(caller, A::READ)?.push_and(sql);
    Ok(())
}

/// The newest `limit` rows of `A` under each of `parents` (by `column`), in one statement:
/// ranked with `ROW_NUMBER() OVER (PARTITION BY parent)` under the caller's scope.
async fn first_pages<A: Aggregate>(
    db: &Db,
    caller: &Caller,
    column: &'static str,
    parent_of: fn(&A::Row) -> Option<String>,
    parents: Vec<String>,
    limit: i64,
) -> Result<NestedPages<A::Row>, Error> {
    let mut sql = Sql::new("SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.");
    sql.push(column).push(" ORDER BY t.id DESC) AS row_rank");
    from_scoped::<A>(&mut sql, caller)?;
    sql.push(" AND t.")
        .push(column)
        .is_in(parents.iter().cloned())
        .push(") ranked WHERE row_rank <= ")
        .bind(limit)
        .push(" ORDER BY ")
        .push(column)
        .push(", row_rank");
    let rows: Vec<A::Row> = if parents.is_empty() {
        Vec::new()
    } else {
        let mut pooled = db.read().await?;
        sql.load(&mut pooled.conn()).await?
    };
    let mut ranges: HashMap<String, (usize, usize)> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let entry = ranges
            .entry(parent_of(row).unwrap_or_default())
            .or_insert((i, 0));
        entry.1 += 1;
    }
    Ok(NestedPages {
        set: Siblings::new(rows),
        ranges,
    })
}

#[derive(diesel::QueryableByName)]
struct ChildCount {
    #[diesel(sql_type = diesel::sql_types::Text)]
    parent: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many rows of `A` the caller reaches under each of `parents` (by `column`), in one
/// statement.
async fn child_counts<A: Aggregate>(
    db: &Db,
    caller: &Caller,
    column: &'static str,
    parents: Vec<String>,
) -> Result<HashMap<String, i64>, Error> {
    if parents.is_empty() {
        return Ok(HashMap::new());
    }
    let mut sql = Sql::new("SELECT t.");
    sql.push(column).push(" AS parent, COUNT(*) AS n");
    from_scoped::<A>(&mut sql, caller)?;
    sql.push(" AND t.")
        .push(column)
        .is_in(parents)
        .push(" GROUP BY t.")
        .push(column);
    let mut pooled = db.read().await?;
    let rows: Vec<ChildCount> = sql.load(&mut pooled.conn()).await?;
    Ok(rows.into_iter().map(|r| (r.parent, r.n)).collect())
}

/// A stored reference as the text it is stored as (nested pages group rows by it).
pub trait AsKey {
    fn as_key(&self) -> Option<String>;
}

impl<T: AsKey> AsKey for Option<T> {
    fn as_key(&self) -> Option<String> {
        self.as_ref().and_then(AsKey::as_key)
    }
}

impl AsKey for String {
    fn as_key(&self) -> Option<String> {
        Some(self.clone())
    }
}

/// A parent's rows of `A` (`column` naming the parent, `parent_of` reading it from a row) as
/// a connection, newest first: plain first pages for all of the parent's siblings in one
/// statement, pages with cursors or `last` for the one parent; `totalCount` counted on
/// demand.
pub async fn children<A: Aggregate, P: Aggregate>(
    ctx: &Context<'_>,
    parent: &P,
    column: &'static str,
    parent_of: fn(&A::Row) -> Option<String>,
    args: PageArgs,
) -> Result<Connection<A>, Error> {
    let page = args.page()?;
    let parent_id = P::id(parent.member().row()).to_string();
    let caller = ctx.caller()?.clone();
    let db = ctx.services()?.db.clone();
    let look = ctx.look_ahead();
    let rows_wanted = ["edges", "pageInfo", "nodes"]
        .iter()
        .any(|f| look.field(f).exists());
    let (set, indices) = if !rows_wanted {
        // Only `totalCount`: no page to read.
        (Siblings::new(Vec::new()), Vec::new())
    } else if page.after.is_none() && page.before.is_none() && !page.backward {
        let limit = page.limit();
        let key = format!("{}.{}:{}", A::TABLE, column, limit);
        let pages =
            parent
                .member()
                .siblings()
                .batch(&key, |rows| {
                    let parents: Vec<String> = rows.iter().map(|r| P::id(r).to_string()).collect();
                    let (db, caller) = (db.clone(), caller.clone());
                    async move {
                        first_pages::<A>(&db, &caller, column, parent_of, parents, limit).await
                    }
                })
                .await?;
        let (start, len) = pages.ranges.get(&parent_id).copied().unwrap_or((0, 0));
        (pages.set.clone(), (start..start + len).collect::<Vec<_>>())
    } else {
        let bounds = page.bounds(1)?;
        let mut sql = Sql::new("SELECT t.*");
        from_scoped::<A>(&mut sql, &caller)?;
        sql.push(" AND t.")
            .push(column)
            .push(" = ")
            .bind(parent_id.clone());
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
        // Boxed: see `Siblings::batch` on the size of resolver futures.
        let rows: Vec<A::Row> = Box::pin(async {
            let mut pooled = db.read().await?;
            Ok::<_, Error>(sql.load(&mut pooled.conn()).await?)
        })
        .await?;
        let n = rows.len();
        (Siblings::new(rows), (0..n).collect())
    };
    // Counted for all of the parent's siblings in one statement, whichever asks first.
    let member = parent.member().clone();
    let count: CountFn = Box::new(move || {
        Box::pin(async move {
            let key = format!("{}.{}:count", A::TABLE, column);
            let counts = member
                .siblings()
                .batch(&key, |rows| {
                    let parents: Vec<String> = rows.iter().map(|r| P::id(r).to_string()).collect();
                    async move { child_counts::<A>(&db, &caller, column, parents).await }
                })
                .await?;
            Ok(counts.get(&parent_id).copied().unwrap_or(0))
        })
    });
    Ok(Connection::from_batch(
        &page,
        indices,
        |i| Cursor(vec![A::id(&set.rows()[*i]).to_string().into()]),
        |indices| {
            indices
                .into_iter()
                .map(|i| A::node(Member::of(&set, i)))
                .collect()
        },
        Some(count),
    ))
}

/// The row of `A` with `id` as it is after `event` (`None`: gone), read once for all the
/// subscribers of this process however many ask, so a change seen by thousands costs one
/// statement. Filtered by the event's tenant only: the caller decides who may see it, with
/// [`Caller::reaches`] where that is the whole rule and a scoped read ([`find_in`]) where the
/// aggregate's scope reaches further.
pub async fn read_after<A: Aggregate>(
    services: &crate::Services,
    event: &crate::events::Event,
    id: A::Id,
) -> Result<Option<A::Row>, Error> {
    let cell = services
        .bus
        .read_after(event.id, format!("{}:{id}", A::TYPE_NAME));
    let read = cell
        .get_or_try_init(|| async {
            let mut pooled = services.db.read().await?;
            let row = Listing {
                table: A::TABLE,
                tenant: event.tenant_id,
                scope: Expr::True,
                filter: Expr::True,
                order: BY_ID,
            }
            .one::<A::Row>(&mut pooled.conn(), &id.to_string())
            .await?;
            Ok::<_, Error>(row.map(|r| Arc::new(r) as Arc<dyn std::any::Any + Send + Sync>))
        })
        .await?;
    Ok(read
        .as_ref()
        .and_then(|row| row.downcast_ref::<A::Row>())
        .cloned())
}

/// Whether `caller` reaches `row` with `permission` at its scope (a field rule applied row
/// by row: a rep with tenant-wide read but `own` contact rights sees their own customers'
/// contact details).
pub fn reaches<A: Aggregate>(ctx: &Context<'_>, row: &A::Row, permission: &str) -> bool {
    let (user, location) = A::owner(row);
    ctx.caller()
        .is_ok_and(|c| c.reaches(permission, user, location))
}

/// The objects of `A` (or only `only`) as they are after each change, for a subscription:
/// each event of the caller's tenant about an `A` is read again under the caller's scope, so a
/// subscriber receives exactly what it may read, as it may read it, and nothing of other
/// tenants. (The subscription's root field is authorised from the policy table before it
/// starts; an open socket follows its caller's access, see the gateway's `ws`.)
pub fn changes<A: Aggregate>(
    ctx: &Context<'_>,
    only: Option<A::Id>,
) -> Result<impl Stream<Item = Result<A, Error>> + use<A>, Error> {
    changes_where::<A, _>(ctx, only, |_: &crate::events::Event| true)
}

/// [`changes`] of only the events `keep` accepts (one type of event, or events addressed to
/// the subscriber), judged before the object is read again. A subscriber that falls too far
/// behind gets one `SUBSCRIPTION_LAGGED` error and the stream ends ([`EventBus::live`]).
///
/// [`EventBus::live`]: crate::events::EventBus::live
pub fn changes_where<A: Aggregate, K>(
    ctx: &Context<'_>,
    only: Option<A::Id>,
    keep: K,
) -> Result<impl Stream<Item = Result<A, Error>> + use<A, K>, Error>
where
    K: Fn(&crate::events::Event) -> bool + Send + Sync + Clone + 'static,
{
    let caller = ctx.caller()?.clone();
    // Without the permission, refuse now rather than stay silent.
    A::scope(&caller, A::READ)?;
    let services = ctx.services()?.clone();
    Ok(services
        .bus
        .live_of(&[A::TYPE_NAME])
        .filter_map(move |event| {
            let (caller, db, keep) = (caller.clone(), services.db.clone(), keep.clone());
            // Boxed: an idle subscription holds no room for the reading of a change.
            Box::pin(async move {
                let event = match event {
                    Ok(event) => event,
                    Err(lagged) => return Some(Err(lagged)),
                };
                if event.tenant_id != caller.tenant_id
                    || event.aggregate_type != A::TYPE_NAME
                    || !keep(&event)
                {
                    return None;
                }
                let id: A::Id = event.aggregate_id.parse().ok()?;
                if only.is_some_and(|o| o != id) {
                    return None;
                }
                let mut pooled = db.read().await.ok()?;
                let row = find_in::<A>(&mut pooled.conn(), &caller, A::READ, id)
                    .await
                    .ok()?;
                Some(Ok(A::node(Member::one(row))))
            })
        }))
}

//! Pages, counts and single rows of one table under the caller's scope, each one statement,
//! built from one [`Listing`]: the page and its `totalCount` apply the same scope and filter
//! because they are the same value.

use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::sqlite::Sqlite;
use futures_util::future::BoxFuture;

use super::filter::Expr;
use crate::connection::{Bounds, Connection, CountFn, Cursor, PageArgs};
use crate::db::sql::Sql;
use crate::db::{Conn, Db};
use crate::error::Error;
use crate::ids::TenantId;

/// How a list is sorted: by a text column and then the ID, or by the ID alone (UUIDv7:
/// creation order).
#[derive(Debug, Clone, Copy)]
pub struct Order {
    pub column: Option<&'static str>,
    pub desc: bool,
    /// The column holds integers: its cursor values are bound as numbers (PostgreSQL
    /// compares no integer with text).
    pub numeric: bool,
}

impl Order {
    /// The `ORDER BY` list on rows of `alias` (reversed for `last`/`before`).
    pub fn on(&self, alias: &str, backward: bool) -> String {
        let direction = if self.desc != backward {
            " DESC"
        } else {
            " ASC"
        };
        match self.column {
            Some(column) => format!("{alias}.{column}{direction}, {alias}.id{direction}"),
            None => format!("{alias}.id{direction}"),
        }
    }
}

/// One list request: the table (alias `t`), the tenant, the caller's scope over the table,
/// the filter, and the order.
#[derive(Debug, Clone)]
pub struct Listing {
    pub table: &'static str,
    pub tenant: TenantId,
    pub scope: Expr,
    pub filter: Expr,
    pub order: Order,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Rows read by column name from `t.*`.
pub trait Row: QueryableByName<Pg> + QueryableByName<Sqlite> + Send + 'static {}
impl<T: QueryableByName<Pg> + QueryableByName<Sqlite> + Send + 'static> Row for T {}

impl Listing {
    /// ` FROM <table> t WHERE t.tenant_id = ? AND <scope> AND <filter>`.
    fn push_from_where(&self, sql: &mut Sql) {
        sql.push(" FROM ")
            .push(self.table)
            .push(" t WHERE t.tenant_id = ")
            .bind(self.tenant.to_string());
        self.scope.push_and(sql);
        self.filter.push_and(sql);
    }

    /// A keyset page: the rows after/before the cursors in the list's order, `bounds.limit`
    /// of them (one more than the page, to know whether more follow).
    pub async fn page<R: Row>(
        &self,
        conn: &mut Conn<'_>,
        bounds: &Bounds,
    ) -> Result<Vec<R>, Error> {
        Ok(self.page_sql("t.*", bounds)?.load(conn).await?)
    }

    /// The statement of [`Listing::page`], selecting `select` (the planner selects more than
    /// the row: its rank in the page).
    pub fn page_sql(&self, select: &str, bounds: &Bounds) -> Result<Sql, Error> {
        let mut sql = Sql::new("SELECT ");
        sql.push(select);
        self.push_from_where(&mut sql);
        let desc = self.order.desc;
        for (cursor, is_after) in [(&bounds.after, true), (&bounds.before, false)] {
            let Some(values) = cursor else { continue };
            let op = if is_after != desc { " > " } else { " < " };
            match (self.order.column, values.as_slice()) {
                (Some(column), [value, id]) => {
                    // One row-value comparison: an index on (tenant_id, column, id) seeks to
                    // the cursor.
                    sql.push(" AND (t.")
                        .push(column)
                        .push(", t.id)")
                        .push(op)
                        .push("(");
                    if self.order.numeric {
                        let Ok(n) = value.parse::<i64>() else {
                            return Err(Error::bad_input(
                                if is_after { "after" } else { "before" },
                                "not a cursor of this list and ordering",
                            ));
                        };
                        sql.bind(n);
                    } else {
                        sql.bind(value.clone());
                    }
                    sql.push(", ").bind(id.clone()).push(")");
                }
                (None, [id]) => {
                    sql.push(" AND t.id").push(op).bind(id.clone());
                }
                _ => {
                    return Err(Error::bad_input(
                        if is_after { "after" } else { "before" },
                        "not a cursor of this list and ordering",
                    ));
                }
            }
        }
        sql.push(" ORDER BY ")
            .push(&self.order_by(bounds.backward))
            .push(" LIMIT ")
            .bind(bounds.limit);
        Ok(sql)
    }

    /// The `ORDER BY` list of this listing on alias `t` (reversed for `last`/`before`).
    pub fn order_by(&self, backward: bool) -> String {
        self.order.on("t", backward)
    }

    /// How many rows the list has across its pages.
    pub async fn count(&self, conn: &mut Conn<'_>) -> Result<i64, Error> {
        let rows: Vec<Count> = self.count_sql().load(conn).await?;
        Ok(rows.first().map_or(0, |c| c.n))
    }

    /// The statement of [`Listing::count`] (column `n`).
    pub fn count_sql(&self) -> Sql {
        let mut sql = Sql::new("SELECT COUNT(*) AS n");
        self.push_from_where(&mut sql);
        sql
    }

    /// The count, run only if `totalCount` is selected (see
    /// [`Connection`](crate::connection::Connection)).
    pub fn count_later(self, db: Db) -> CountFn {
        Box::new(move || {
            Box::pin(async move {
                let mut pooled = db.read().await?;
                self.count(&mut pooled.conn()).await
            }) as BoxFuture<'static, Result<i64, Error>>
        })
    }

    /// A page of this list as a connection: the rows in order, each node's cursor made by
    /// `cursor` (with the `arity` the order's cursors have), `totalCount` counted only when
    /// selected. `nodes` builds the page's nodes together (so they can share a sibling set).
    pub async fn connection<R: Row, T>(
        self,
        db: &Db,
        args: &PageArgs,
        arity: usize,
        cursor: impl Fn(&R) -> Cursor,
        nodes: impl FnOnce(Vec<R>) -> Vec<T>,
    ) -> Result<Connection<T>, Error> {
        let page = args.page()?;
        let bounds = page.bounds(arity)?;
        let rows: Vec<R> = {
            let mut pooled = db.read().await?;
            self.page(&mut pooled.conn(), &bounds).await?
        };
        Ok(Connection::from_batch(
            &page,
            rows,
            cursor,
            nodes,
            Some(self.count_later(db.clone())),
        ))
    }

    /// The row with this ID, if the scope and filter reach it.
    pub async fn one<R: Row>(&self, conn: &mut Conn<'_>, id: &str) -> Result<Option<R>, Error> {
        let mut sql = Sql::new("SELECT t.*");
        self.push_from_where(&mut sql);
        sql.push(" AND t.id = ").bind(id.to_owned());
        let mut rows: Vec<R> = sql.load(conn).await?;
        Ok(rows.pop())
    }
}

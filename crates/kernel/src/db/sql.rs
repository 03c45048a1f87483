//! Raw SQL for the few queries Diesel's DSL cannot express (derived tables with window
//! functions, `UNION ALL`), written once for both backends: placeholders are numbered and
//! rendered `$n` for PostgreSQL and `?n` for SQLite, and binds are typed.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{
    Array, BigInt, Bool, HasSqlType, Integer, Nullable, Text, Timestamp, Untyped,
};
use diesel::sqlite::Sqlite;
use diesel_async::RunQueryDsl;

use super::{Backend, Conn};

/// A bound value.
#[derive(Debug, Clone)]
pub enum Bind {
    Text(String),
    OptText(Option<String>),
    BigInt(i64),
    Int(i32),
    Bool(bool),
    Timestamp(NaiveDateTime),
}

impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Text(v)
    }
}
impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Text(v.to_owned())
    }
}
impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Bind::BigInt(v)
    }
}
impl From<i32> for Bind {
    fn from(v: i32) -> Self {
        Bind::Int(v)
    }
}
impl From<bool> for Bind {
    fn from(v: bool) -> Self {
        Bind::Bool(v)
    }
}
impl From<NaiveDateTime> for Bind {
    fn from(v: NaiveDateTime) -> Self {
        Bind::Timestamp(v)
    }
}

/// A statement under construction. `{}` is never interpolated: values go through [`Sql::bind`].
///
/// Unlike `diesel::sql_query`, a `Sql` statement may be cached as a prepared statement by the
/// connection (its text depends only on the parts pushed, and every value is a bind), so a
/// statement run on every request (the caller's access, the nested first pages) is parsed and
/// planned once per connection, not every time.
#[derive(Debug, Clone, Default)]
pub struct Sql {
    parts: Vec<Part>,
    binds: Vec<Bind>,
    /// Never kept as a prepared statement (see [`Sql::uncached`]).
    uncached: bool,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Param(usize),
    /// ` IN (…)` on SQLite, ` = ANY($n)` (one array bind, so the text does not depend on the
    /// number of values) on PostgreSQL.
    In(Vec<String>),
    /// Text and binds that differ by backend (full-text search): PostgreSQL's, SQLite's.
    Either(Box<Sql>, Box<Sql>),
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        let mut sql = Sql::default();
        sql.push(text);
        sql
    }

    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.parts.push(Part::Text(text.to_owned()));
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Bind>) -> &mut Sql {
        self.binds.push(value.into());
        self.parts.push(Part::Param(self.binds.len()));
        self
    }

    /// Appends a membership test of the preceding expression in `values`: ` IN (?, ?)` on
    /// SQLite, ` = ANY($n)` on PostgreSQL; no values match nothing.
    pub fn is_in<S: Into<String>>(&mut self, values: impl IntoIterator<Item = S>) -> &mut Sql {
        self.parts
            .push(Part::In(values.into_iter().map(Into::into).collect()));
        self
    }

    /// Appends what differs by backend: `pg` on PostgreSQL, `sqlite` on SQLite (each with
    /// binds of its own).
    pub fn either(&mut self, pg: Sql, sqlite: Sql) -> &mut Sql {
        self.parts
            .push(Part::Either(Box::new(pg), Box::new(sqlite)));
        self
    }

    /// Appends another statement's text and binds (a condition built elsewhere).
    pub fn append(&mut self, other: &Sql) -> &mut Sql {
        for part in &other.parts {
            match part {
                Part::Text(t) => self.parts.push(Part::Text(t.clone())),
                Part::Param(n) => {
                    self.binds.push(other.binds[n - 1].clone());
                    self.parts.push(Part::Param(self.binds.len()));
                }
                Part::In(values) => self.parts.push(Part::In(values.clone())),
                Part::Either(pg, sqlite) => {
                    self.parts.push(Part::Either(pg.clone(), sqlite.clone()))
                }
            }
        }
        self
    }

    /// Marks the statement as one the connection must not keep prepared: texts that vary
    /// without bound (planned reads beyond the planner's budget of distinct statements) would
    /// otherwise grow every connection's statement cache, here and in the database.
    pub fn uncached(&mut self) -> &mut Sql {
        self.uncached = true;
        self
    }

    /// The SQL text for a backend (for logs and tests; running it binds the same way).
    pub fn render(&self, backend: Backend) -> String {
        let mut text = String::new();
        self.render_into(backend, &mut 0, &mut text);
        text
    }

    fn render_into(&self, backend: Backend, n: &mut usize, text: &mut String) {
        let next = |n: &mut usize| {
            *n += 1;
            match backend {
                Backend::Postgres => format!("${n}"),
                Backend::Sqlite => "?".to_owned(),
            }
        };
        for part in &self.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Param(_) => text.push_str(&next(n)),
                Part::In(values) => match backend {
                    Backend::Postgres => {
                        text.push_str(" = ANY(");
                        text.push_str(&next(n));
                        text.push(')');
                    }
                    Backend::Sqlite if values.is_empty() => text.push_str(" IN (NULL)"),
                    Backend::Sqlite => {
                        let marks: Vec<String> = values.iter().map(|_| next(n)).collect();
                        text.push_str(" IN (");
                        text.push_str(&marks.join(", "));
                        text.push(')');
                    }
                },
                Part::Either(pg, sqlite) => match backend {
                    Backend::Postgres => pg.render_into(backend, n, text),
                    Backend::Sqlite => sqlite.render_into(backend, n, text),
                },
            }
        }
    }

    /// Runs the statement and reads rows by column name.
    pub async fn load<T>(&self, conn: &mut Conn<'_>) -> diesel::QueryResult<Vec<T>>
    where
        T: QueryableByName<Pg> + QueryableByName<Sqlite> + Send + 'static,
    {
        crate::db_run!(conn, |c| Statement(self).load::<T>(c).await)
    }
}

/// Claims due rows of `table` for this process: `UPDATE <table> SET <lease> = <until> WHERE
/// id IN (SELECT id FROM <table> WHERE <due> ORDER BY <order> LIMIT <limit> [FOR UPDATE SKIP
/// LOCKED]) RETURNING <returning>`. On PostgreSQL concurrent claimers skip each other's rows;
/// SQLite has one writer, which serialises the statement. A claimer that dies leaves its rows
/// to whoever comes after `until`; `due` must therefore exclude rows leased until later.
pub fn claim(
    table: &str,
    lease: &str,
    until: NaiveDateTime,
    due: &Sql,
    order: &str,
    limit: i64,
    returning: &str,
) -> Sql {
    let mut sql = Sql::new("UPDATE ");
    sql.push(table)
        .push(" SET ")
        .push(lease)
        .push(" = ")
        .bind(until)
        .push(" WHERE id IN (SELECT id FROM ")
        .push(table)
        .push(" WHERE ")
        .append(due)
        .push(" ORDER BY ")
        .push(order)
        .push(" LIMIT ")
        .bind(limit)
        .either(Sql::new(" FOR UPDATE SKIP LOCKED"), Sql::new(""))
        .push(") RETURNING ")
        .push(returning);
    sql
}

/// A [`Sql`] as a Diesel query: untyped rows (read with `QueryableByName`), no static query ID,
/// and safe to cache as a prepared statement keyed by its text.
struct Statement<'a>(&'a Sql);

impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement<'_> {
    type SqlType = Untyped;
}

fn push_bind<'b, DB>(out: &mut AstPass<'_, 'b, DB>, bind: &'b Bind) -> diesel::QueryResult<()>
where
    DB: diesel::backend::Backend
        + HasSqlType<Text>
        + HasSqlType<BigInt>
        + HasSqlType<Integer>
        + HasSqlType<Bool>
        + HasSqlType<Timestamp>,
    String: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
{
    match bind {
        Bind::Text(v) => out.push_bind_param::<Text, _>(v),
        Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v),
        Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v),
        Bind::Int(v) => out.push_bind_param::<Integer, _>(v),
        Bind::Bool(v) => out.push_bind_param::<Bool, _>(v),
        Bind::Timestamp(v) => out.push_bind_param::<Timestamp, _>(v),
    }
}

fn walk_pg<'b>(sql: &'b Sql, out: &mut AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
    if sql.uncached {
        out.unsafe_to_cache_prepared();
    }
    for part in &sql.parts {
        match part {
            Part::Text(t) => out.push_sql(t),
            Part::Param(n) => push_bind(out, &sql.binds[n - 1])?,
            Part::In(values) => {
                out.push_sql(" = ANY(");
                out.push_bind_param::<Array<Text>, _>(values)?;
                out.push_sql(")");
            }
            Part::Either(pg, _) => walk_pg(pg, out)?,
        }
    }
    Ok(())
}

fn walk_sqlite<'b>(sql: &'b Sql, out: &mut AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
    if sql.uncached {
        out.unsafe_to_cache_prepared();
    }
    for part in &sql.parts {
        match part {
            Part::Text(t) => out.push_sql(t),
            Part::Param(n) => push_bind(out, &sql.binds[n - 1])?,
            Part::In(values) if values.is_empty() => out.push_sql(" IN (NULL)"),
            Part::In(values) => {
                out.push_sql(" IN (");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_sql(", ");
                    }
                    out.push_bind_param::<Text, _>(value)?;
                }
                out.push_sql(")");
            }
            Part::Either(_, sqlite) => walk_sqlite(sqlite, out)?,
        }
    }
    Ok(())
}

impl QueryFragment<Pg> for Statement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        walk_pg(self.0, &mut out)
    }
}

impl QueryFragment<Sqlite> for Statement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        walk_sqlite(self.0, &mut out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_each_backend() {
        let mut sql = Sql::new("SELECT * FROM t WHERE a = ");
        sql.bind("x")
            .push(" AND b")
            .is_in(["1", "2"])
            .push(" AND c")
            .is_in(Vec::<String>::new())
            .push(" AND d = ")
            .bind(3i64);
        assert_eq!(
            sql.render(Backend::Postgres),
            "SELECT * FROM t WHERE a = $1 AND b = ANY($2) AND c = ANY($3) AND d = $4"
        );
        assert_eq!(
            sql.render(Backend::Sqlite),
            "SELECT * FROM t WHERE a = ? AND b IN (?, ?) AND c IN (NULL) AND d = ?"
        );
        let mut either = Sql::new(" AND ");
        either.either(
            {
                let mut pg = Sql::new("pg = ");
                pg.bind("p");
                pg
            },
            {
                let mut lite = Sql::new("lite = ");
                lite.bind("s").push(" AND more = ").bind(1i64);
                lite
            },
        );
        assert_eq!(either.render(Backend::Postgres), " AND pg = $1");
        assert_eq!(either.render(Backend::Sqlite), " AND lite = ? AND more = ?");
        let mut outer = Sql::new("x = ");
        outer
            .bind(1i64)
            .push(" AND (")
            .append(&sql)
            .push(") AND y = ");
        outer.bind(2i64);
        assert_eq!(
            outer.render(Backend::Postgres),
            "x = $1 AND (SELECT * FROM t WHERE a = $2 AND b = ANY($3) AND c = ANY($4) AND d = $5) AND y = $6"
        );
    }
}

//! Raw SQL for the few queries Diesel's DSL cannot express (derived tables with window
//! functions, `UNION ALL`), written once for both backends: placeholders are numbered and
//! rendered `$n` for PostgreSQL and `?n` for SQLite, and binds are typed.

use chrono::NaiveDateTime;
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
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
#[derive(Debug, Clone, Default)]
pub struct Sql {
    parts: Vec<Part>,
    binds: Vec<Bind>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Param(usize),
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

    /// Appends `(p1, p2, …)` for the values; `(NULL)` when there are none, which matches nothing.
    pub fn bind_list<B: Into<Bind>>(&mut self, values: impl IntoIterator<Item = B>) -> &mut Sql {
        self.push("(");
        let mut any = false;
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
            any = true;
        }
        if !any {
            self.push("NULL");
        }
        self.push(")")
    }

    /// The SQL text for a backend.
    pub fn render(&self, backend: Backend) -> String {
        let sigil = match backend {
            Backend::Postgres => '$',
            Backend::Sqlite => '?',
        };
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Param(n) => format!("{sigil}{n}"),
            })
            .collect()
    }

    /// Runs the statement and reads rows by column name.
    pub async fn load<T>(&self, conn: &mut Conn<'_>) -> diesel::QueryResult<Vec<T>>
    where
        T: QueryableByName<Pg> + QueryableByName<Sqlite> + Send + 'static,
    {
        let text = self.render(conn.backend());
        crate::db_run!(conn, |c| {
            let mut query = diesel::sql_query(text).into_boxed();
            for bind in &self.binds {
                query = match bind.clone() {
                    Bind::Text(v) => query.bind::<Text, _>(v),
                    Bind::OptText(v) => query.bind::<Nullable<Text>, _>(v),
                    Bind::BigInt(v) => query.bind::<BigInt, _>(v),
                    Bind::Int(v) => query.bind::<Integer, _>(v),
                    Bind::Bool(v) => query.bind::<Bool, _>(v),
                    Bind::Timestamp(v) => query.bind::<Timestamp, _>(v),
                };
            }
            query.load::<T>(c).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_per_backend() {
        let mut sql = Sql::new("SELECT * FROM t WHERE a = ");
        sql.bind("x")
            .push(" AND b IN ")
            .bind_list([1i64, 2])
            .push(" AND c IN ")
            .bind_list(Vec::<i64>::new());
        assert_eq!(
            sql.render(Backend::Postgres),
            "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) AND c IN (NULL)"
        );
        assert_eq!(
            sql.render(Backend::Sqlite),
            "SELECT * FROM t WHERE a = ?1 AND b IN (?2, ?3) AND c IN (NULL)"
        );
    }
}

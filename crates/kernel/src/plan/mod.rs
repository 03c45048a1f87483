//! Planned reads: a query's selection compiled into one SQL statement per root field, nested
//! pages as correlated subqueries with their `LIMIT`s, the tenant, the row scope and the
//! row-by-row field rules compiled in as conditions. The statement answers one text: SQLite's
//! is the field's JSON (`json_object`/`json_group_array`), PostgreSQL's the values as text
//! arrays, which the statement's [`Out`] writes as the JSON (see `out.rs` for why).
//!
//! What the planner knows of a type is its [`Shape`], written by
//! [`aggregate!`](crate::aggregate) from the same declaration as the type's resolvers: its
//! columns and how each reads, its references, nested pages and lines, and its root fields.
//! A selection the shapes do not describe whole (a computed field, a timestamp, `last`/`before`
//! paging, a directive, a fragment on another type) is not planned ([`Planner::plan`] answers
//! `None`) and runs on the resolvers, unchanged. A differential test keeps both paths' answers
//! equal.

mod compile;
mod json;
mod out;
mod select;

pub use out::Out;

use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, OperationType};
use async_graphql::{InputType, Name, Pos, Value, Variables};
use chrono::{NaiveDate, NaiveDateTime};

use crate::access::Caller;
use crate::db::Backend;
use crate::db::sql::Sql;
use crate::error::Error;
use crate::read::{Expr, Order};

/// How a stored column reads in a planned answer.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A JSON string (text, a stored enum).
    Text,
    /// A JSON number.
    Int,
    Bool,
    /// A global ID of this type.
    Id(&'static str),
    /// A UTC timestamp as async-graphql writes it (`2026-12-02T10:00:00.123+00:00`: RFC 3339
    /// with 0, 3 or 6 fraction digits, as few as the value needs).
    Time,
    /// A date (`2026-12-02`).
    Date,
    /// Not planned: the resolvers answer.
    Opaque,
}

/// A column type's [`Kind`] (implemented by [`id_type!`](crate::id_type) for IDs and by
/// [`text_enum!`](crate::text_enum) for enums).
pub trait Plannable {
    const KIND: Kind;
}

macro_rules! plannable {
    ($($t:ty => $kind:expr),* $(,)?) => {$(
        impl Plannable for $t {
            const KIND: Kind = $kind;
        }
    )*};
}
plannable!(String => Kind::Text, i32 => Kind::Int, i64 => Kind::Int, bool => Kind::Bool,
    NaiveDateTime => Kind::Time, NaiveDate => Kind::Date,
    // JSON numbers as PostgreSQL and SQLite print them differ from serde_json's: resolvers answer.
    f64 => Kind::Opaque);

impl<T: Plannable> Plannable for Option<T> {
    const KIND: Kind = T::KIND;
}

/// A plain field.
#[derive(Debug)]
pub struct Column {
    /// The GraphQL name.
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
    /// Shown only where this permission's scope reaches the row (`hide_unless`).
    pub hide_unless: Option<&'static str>,
}

/// A reference to one object of another aggregate, read under that aggregate's scope.
#[derive(Debug)]
pub struct ToOne {
    pub name: &'static str,
    pub column: &'static str,
    pub target: fn() -> &'static Shape,
}

/// A nested page of another aggregate's rows whose `by` column names the parent, newest first.
#[derive(Debug)]
pub struct Nested {
    pub name: &'static str,
    pub target: fn() -> &'static Shape,
    pub by: &'static str,
}

/// A plain list of rows of a table that belongs to the parent (a quote's lines), reached
/// through the parent, ordered by `order`.
#[derive(Debug)]
pub struct Lines {
    pub name: &'static str,
    pub shape: &'static Shape,
    pub by: &'static str,
    pub order: &'static str,
}

/// The rows' scope of an aggregate for a permission (see [`crate::read::Aggregate::scope`]).
pub type ScopeFn = fn(&Caller, &str) -> Result<Expr, Error>;

/// What a root list's arguments (`filter`, `orderBy`, `search`) make: the condition, the
/// order and the arity of its cursors. Written by `aggregate!` from the same code as the list
/// resolver's.
pub type ListArgs = fn(&Caller, &Args) -> Result<(Expr, Order, usize), Error>;

/// What the planner knows of one GraphQL object type.
#[derive(Debug)]
pub struct Shape {
    pub type_name: &'static str,
    pub table: &'static str,
    /// The permission that reads it.
    pub read: &'static str,
    /// `None` for lines (rows reached through their parent only); such rows have no `id`
    /// field.
    pub scope: Option<ScopeFn>,
    /// The owner columns (user, location) field rules judge a row by.
    pub owner: (Option<&'static str>, Option<&'static str>),
    pub columns: &'static [Column],
    pub to_one: &'static [ToOne],
    pub nested: &'static [Nested],
    pub lines: &'static [Lines],
    /// The root list field and what its arguments make.
    pub list: Option<(&'static str, ListArgs)>,
    /// The root field that finds one object by `id`.
    pub one: Option<&'static str>,
}

/// A type the planner knows.
pub trait Planned {
    fn shape() -> &'static Shape;
}

/// A field's arguments, variables substituted.
pub struct Args(Vec<(Name, Value)>);

impl Args {
    /// The argument `name` as `T` (absent: `None`); a value that is not a `T` is an error.
    pub fn get<T: InputType>(&self, name: &str) -> Result<Option<T>, Error> {
        let value = self
            .0
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.clone());
        <Option<T> as InputType>::parse(value)
            .map_err(|_| Error::bad_input(name, "not a value of this argument's type"))
    }

    fn names_within(&self, allowed: &[&str]) -> bool {
        self.0.iter().all(|(n, _)| allowed.contains(&n.as_str()))
    }
}

/// One root field's statement (column `j`: its JSON; no row: the object was not found).
pub struct Step {
    /// The response key.
    pub key: String,
    pub pos: Pos,
    /// `None`: the field's ID names no object of its type (NOT_FOUND without a statement).
    pub sql: Option<Sql>,
    /// How the statement's answer reads.
    pub out: Out,
    /// The statement also answers whether the caller's kept rights still hold (column `ok`,
    /// see [`Caller::kept`]): the first statement of a kept caller's steps.
    pub checked: bool,
}

/// The root fields the planner answers, built once from every domain's shapes.
pub struct Planner {
    roots: HashMap<&'static str, (&'static Shape, bool)>,
}

/// How many keys one JSON object may have in a planned answer (PostgreSQL's functions take at
/// most 100 arguments).
const MAX_KEYS: usize = 50;
/// How deep a planned selection may nest.
const MAX_DEPTH: usize = 16;
/// How many lists and references deep a PostgreSQL answer may nest (each level of array
/// literals escapes the text inside once more, doubling its backslashes).
const MAX_NESTING: usize = 6;

impl Planner {
    pub fn new(shapes: &[&'static Shape]) -> Planner {
        let mut roots = HashMap::new();
        for shape in shapes {
            if let Some((name, _)) = shape.list {
                roots.insert(name, (*shape, false));
            }
            if let Some(name) = shape.one {
                roots.insert(name, (*shape, true));
            }
        }
        Planner { roots }
    }

    /// The statements that answer `op` (an operation of `document`) for `caller`, one per
    /// root field, or `None` when any part of it is not planned (it then runs on the
    /// resolvers).
    pub fn plan(
        &self,
        backend: Backend,
        document: &ExecutableDocument,
        op: &OperationDefinition,
        variables: &Variables,
        caller: &Caller,
    ) -> Option<Vec<Step>> {
        if op.ty != OperationType::Query || !op.directives.is_empty() {
            return None;
        }
        let mut c = compile::Compiler {
            b: backend,
            caller,
            document,
            op,
            variables,
            next_alias: 0,
            used: HashMap::new(),
        };
        let fields = c.fields(&op.selection_set.node, "Query", 0)?;
        let mut steps = Vec::new();
        for field in fields {
            let key = select::response_key(&field.node).to_owned();
            let (shape, one) = *self.roots.get(field.node.name.node.as_str())?;
            let args = c.args(&field.node)?;
            let planned = if one {
                c.one(shape, &args, &field.node.selection_set.node)?
            } else {
                Some(c.root_list(shape, &args, &field.node.selection_set.node)?)
            };
            let (sql, out) = match planned {
                Some((sql, out)) => (Some(sql), out),
                None => (None, Out::Json),
            };
            if out.depth() > MAX_NESTING {
                return None;
            }
            // Kept rights are confirmed by the first statement, before anything is answered.
            let checked =
                sql.is_some() && caller.kept().is_some() && !steps.iter().any(|s: &Step| s.checked);
            let sql = match (sql, caller.kept()) {
                (Some(sql), Some(condition)) if checked => Some(checked_sql(sql, condition)),
                (sql, _) => sql,
            };
            steps.push(Step {
                key,
                pos: field.pos,
                sql,
                out,
                checked,
            });
        }
        if caller.kept().is_some() && !steps.iter().any(|s| s.checked) {
            // Nothing would confirm the kept rights: the resolvers answer, for a caller whose
            // rights are read again.
            return None;
        }
        Some(steps)
    }
}

/// `sql` (one row or none, column `j`) answering one row in any case, with column `ok`
/// ('ok' while `condition` holds): the check costs no statement of its own.
fn checked_sql(sql: Sql, condition: &Sql) -> Sql {
    let mut checked = Sql::new("SELECT s.found, s.j, g.ok FROM (SELECT CASE WHEN ");
    checked
        .append(condition)
        .push(" THEN 'ok' END AS ok) g LEFT JOIN (SELECT 1 AS found, a.j FROM (")
        .append(&sql)
        .push(") a) s ON 1 = 1");
    checked
}

#[derive(diesel::QueryableByName)]
struct Answer {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    j: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct CheckedAnswer {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    found: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    j: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    ok: Option<String>,
}

/// Distinct planned statement texts kept prepared by the connections, at most; others run
/// unprepared (each distinct selection is a statement of its own, and clients choose them).
const PREPARED_BUDGET: usize = 2_000;

/// Whether the statement with this text may be kept prepared (within the budget).
fn may_prepare(sql: &Sql, backend: crate::db::Backend) -> bool {
    use std::hash::{Hash, Hasher};
    static KNOWN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<u64>>> =
        std::sync::LazyLock::new(Default::default);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    sql.render(backend).hash(&mut hasher);
    let hash = hasher.finish();
    let Ok(mut known) = KNOWN.lock() else {
        return false;
    };
    if known.contains(&hash) {
        return true;
    }
    if known.len() < PREPARED_BUDGET {
        known.insert(hash);
        return true;
    }
    false
}

/// Runs the steps on one read connection, in order: each root field's answer (column `j`,
/// which [`Step::out`] reads), `None` where a `one` field found nothing. `Ok(None)`: the
/// caller's kept rights no longer hold (see [`Caller::kept`]); nothing is answered.
pub async fn run(
    db: &crate::db::Db,
    steps: &[Step],
) -> Result<Option<Vec<Option<Option<String>>>>, Error> {
    let mut pooled = db.read().await?;
    let mut conn = pooled.conn();
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let Some(sql) = &step.sql else {
            out.push(None);
            continue;
        };
        let uncached;
        let sql = if may_prepare(sql, db.backend()) {
            sql
        } else {
            let mut s = sql.clone();
            s.uncached();
            uncached = s;
            &uncached
        };
        if step.checked {
            let rows: Vec<CheckedAnswer> = sql.load(&mut conn).await?;
            let Some(row) = rows.into_iter().next().filter(|r| r.ok.is_some()) else {
                return Ok(None);
            };
            out.push(row.found.map(|_| row.j));
        } else {
            let rows: Vec<Answer> = sql.load(&mut conn).await?;
            out.push(rows.into_iter().next().map(|a| a.j));
        }
    }
    Ok(Some(out))
}

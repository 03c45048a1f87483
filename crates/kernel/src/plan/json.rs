//! The values a planned statement makes, in each backend's words: on PostgreSQL text elements
//! of arrays that [`Out`] reads into JSON (see `out.rs` for why), on SQLite the JSON itself
//! (`json_object`/`json_group_array`).

use super::compile::Compiler;
use super::out::Out;
use crate::db::Backend;
use crate::db::sql::Sql;

/// A value of a planned answer: the expressions that make it and how their texts read
/// (PostgreSQL: as many text elements as `out` reads; SQLite: one JSON expression).
pub(super) struct V {
    pub(super) elems: Vec<Sql>,
    pub(super) out: Out,
}

impl V {
    /// The one expression of a value that has one (a leaf; any value on SQLite).
    pub(super) fn single(&self) -> Sql {
        self.elems
            .first()
            .cloned()
            .unwrap_or_else(|| Sql::new("NULL"))
    }
}

impl Compiler<'_> {
    pub(super) fn value(&self, sql: Sql, out: Out) -> V {
        V {
            elems: vec![sql],
            out: match self.b {
                Backend::Postgres => out,
                Backend::Sqlite => Out::Json,
            },
        }
    }

    /// A string known when planning (a type name).
    pub(super) fn constant(&self, text: &str) -> V {
        match self.b {
            Backend::Postgres => V {
                elems: Vec::new(),
                out: Out::Const(format!("\"{text}\"")),
            },
            Backend::Sqlite => self.value(Sql::new(&format!("'{text}'")), Out::Json),
        }
    }

    /// A text expression as a JSON string.
    pub(super) fn string(&self, sql: Sql) -> V {
        self.value(sql, Out::Str)
    }

    /// A number expression as a JSON number.
    pub(super) fn number(&self, sql: Sql) -> V {
        let sql = match self.b {
            Backend::Postgres => {
                let mut cast = Sql::new("(");
                cast.append(&sql).push(")::text");
                cast
            }
            Backend::Sqlite => sql,
        };
        self.value(sql, Out::Raw)
    }

    /// A condition as a JSON boolean.
    pub(super) fn boolean(&self, condition: &str) -> V {
        match self.b {
            Backend::Postgres => self.value(Sql::new(&format!("({condition})::text")), Out::Raw),
            Backend::Sqlite => self.value(
                Sql::new(&format!(
                    "json(CASE WHEN {condition} THEN 'true' WHEN NOT ({condition}) THEN 'false' END)"
                )),
                Out::Json,
            ),
        }
    }

    /// A global ID of `type_name` from an ID column.
    pub(super) fn global_id(&self, type_name: &'static str, column: &str) -> V {
        match self.b {
            Backend::Postgres => self.value(Sql::new(column), Out::Id(type_name)),
            Backend::Sqlite => self.value(
                Sql::new(&format!("sy_b64url('{type_name}:' || {column})")),
                Out::Json,
            ),
        }
    }

    /// `{key: value, ...}`.
    pub(super) fn object(&self, pairs: Vec<(String, V)>) -> V {
        match self.b {
            Backend::Postgres => {
                let mut elems = Vec::new();
                let mut fields = Vec::new();
                for (key, value) in pairs {
                    elems.extend(value.elems);
                    fields.push((key, value.out));
                }
                V {
                    elems,
                    out: Out::Object(fields),
                }
            }
            Backend::Sqlite => {
                let mut sql = Sql::new("json_object(");
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    // Response keys are GraphQL names: letters, digits and underscores.
                    sql.push("'").push(key).push("', ").append(&value.single());
                }
                sql.push(")");
                self.value(sql, Out::Json)
            }
        }
    }

    /// PostgreSQL: `ARRAY[elements]::text[]` (an empty one holds a NULL: arrays of arrays
    /// need elements).
    fn pg_array(elems: &[Sql]) -> Sql {
        let mut sql = Sql::new("ARRAY[");
        if elems.is_empty() {
            sql.push("NULL");
        }
        for (i, elem) in elems.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.append(elem);
        }
        sql.push("]::text[]");
        sql
    }

    /// What a subquery selects to make `v` as one value (`nullable`: the subquery may find
    /// no row, which reads as `null`), and how that one value reads.
    pub(super) fn select_value(&self, v: V, nullable: bool) -> (Sql, Out) {
        match self.b {
            Backend::Postgres if v.elems.len() == 1 && !nullable => (v.single(), v.out),
            Backend::Postgres => {
                let mut sql = Sql::new("(");
                sql.append(&Self::pg_array(&v.elems)).push(")::text");
                (sql, Out::Nested(Box::new(v.out)))
            }
            Backend::Sqlite => (v.single(), Out::Json),
        }
    }

    /// The value a subquery makes (its select list from [`Self::select_value`]), inside
    /// another value.
    pub(super) fn embed(&self, subquery: Sql, out: Out) -> V {
        let mut sql = Sql::new(match self.b {
            Backend::Postgres => "(",
            Backend::Sqlite => "json((",
        });
        sql.append(&subquery).push(match self.b {
            Backend::Postgres => ")",
            Backend::Sqlite => "))",
        });
        self.value(sql, out)
    }

    /// The list of `element` over the rows of `from`, in their order: PostgreSQL's
    /// `array(SELECT … FROM … ORDER BY …)`; SQLite's `json_group_array` over a `FROM` subquery
    /// with its `ORDER BY` (SQLite keeps that order: a subquery with `ORDER BY` is never
    /// flattened into an aggregate query).
    pub(super) fn sublist(&self, element: V, from: &Sql) -> V {
        let sql = match self.b {
            Backend::Postgres => {
                let mut sql = Sql::new("array(SELECT ");
                sql.append(&Self::pg_array(&element.elems))
                    .append(from)
                    .push(")::text");
                sql
            }
            Backend::Sqlite => {
                let mut sql = Sql::new("json((SELECT json_group_array(");
                sql.append(&element.single())
                    .push(")")
                    .append(from)
                    .push("))");
                sql
            }
        };
        self.value(sql, Out::List(Box::new(element.out)))
    }

    /// The array of `element` over the rows of alias `p` ranked `sy_rn`, the first `size` (an
    /// aggregate over the derived table; none: `[]`).
    pub(super) fn array(&self, element: V, p: &str, size: i64) -> V {
        let mut sql = match self.b {
            Backend::Postgres => {
                let mut sql = Sql::new("(array_agg(");
                sql.append(&Self::pg_array(&element.elems));
                sql
            }
            Backend::Sqlite => {
                let mut sql = Sql::new("json_group_array(");
                sql.append(&element.single());
                sql
            }
        };
        sql.push(&format!(" ORDER BY {p}.sy_rn) FILTER (WHERE {p}.sy_rn <= "))
            .bind(size)
            .push(")");
        if self.b == Backend::Postgres {
            sql.push(")::text");
        }
        self.value(sql, Out::List(Box::new(element.out)))
    }
}

//! The JSON a planned statement builds, in each backend's words: PostgreSQL's
//! `json_build_object`/`json_agg`, SQLite's `json_object`/`json_group_array`.

use super::compile::Compiler;
use crate::db::Backend;
use crate::db::sql::Sql;

impl Compiler<'_> {
    /// `{key: value, ...}`.
    pub(super) fn object(&self, pairs: Vec<(String, Sql)>) -> Sql {
        let mut sql = Sql::new(match self.b {
            Backend::Postgres => "json_build_object(",
            Backend::Sqlite => "json_object(",
        });
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            // Response keys are GraphQL names: letters, digits and underscores.
            sql.push("'").push(key).push("', ").append(value);
        }
        sql.push(")");
        sql
    }

    /// JSON made by a subquery, as a value inside another JSON value.
    pub(super) fn embed(&self, subquery: Sql) -> Sql {
        let mut sql = Sql::new(match self.b {
            Backend::Postgres => "(",
            Backend::Sqlite => "json((",
        });
        sql.append(&subquery).push(match self.b {
            Backend::Postgres => ")",
            Backend::Sqlite => "))",
        });
        sql
    }

    /// A condition as a JSON boolean.
    pub(super) fn boolean(&self, condition: &str) -> Sql {
        match self.b {
            Backend::Postgres => Sql::new(&format!("({condition})")),
            Backend::Sqlite => Sql::new(&format!(
                "json(CASE WHEN {condition} THEN 'true' WHEN NOT ({condition}) THEN 'false' END)"
            )),
        }
    }

    /// The array of `element` over the rows of alias `p` ranked `sy_rn`, the first `size`.
    pub(super) fn array(&self, element: &Sql, p: &str, size: i64) -> Sql {
        let mut filter = Sql::new(&format!("{p}.sy_rn <= "));
        filter.bind(size);
        self.ordered_array(element, &format!("{p}.sy_rn"), Some(filter))
    }

    /// The array of `element` over the rows in `order`, those that pass `filter` (none: `[]`).
    pub(super) fn ordered_array(&self, element: &Sql, order: &str, filter: Option<Sql>) -> Sql {
        let mut sql = Sql::new(match self.b {
            Backend::Postgres => "coalesce(json_agg(",
            Backend::Sqlite => "json_group_array(",
        });
        sql.append(element).push(" ORDER BY ").push(order).push(")");
        if let Some(filter) = filter {
            sql.push(" FILTER (WHERE ").append(&filter).push(")");
        }
        if self.b == Backend::Postgres {
            sql.push(", '[]'::json)");
        }
        sql
    }

    /// A global ID of `type_name` from an ID column.
    pub(super) fn global_id(&self, type_name: &str, column: &str) -> Sql {
        Sql::new(&format!("sy_b64url('{type_name}:' || {column})"))
    }

    /// JSON as text (PostgreSQL's `json` is cast; SQLite's is text).
    pub(super) fn text(&self, json: Sql) -> Sql {
        match self.b {
            Backend::Postgres => {
                let mut sql = Sql::new("(");
                sql.append(&json).push(")::text");
                sql
            }
            Backend::Sqlite => json,
        }
    }
}

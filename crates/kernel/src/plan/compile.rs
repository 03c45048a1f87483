//! The compiler of planned reads: a validated selection and the shapes it names, made into one
//! statement per root field and the [`Out`] that reads its answer (see the module above).

use std::collections::HashMap;

use async_graphql::Variables;
use async_graphql::parser::types::{ExecutableDocument, Field, OperationDefinition, SelectionSet};

use super::json::V;
use super::out::Out;
use super::select::response_key;
use super::{Args, Column, Kind, Shape};
use crate::access::{Caller, RowScope};
use crate::connection::{Bounds, Page, PageArgs};
use crate::db::Backend;
use crate::db::sql::Sql;
use crate::read::{Expr, Listing};

pub(super) struct Compiler<'a> {
    pub(super) b: Backend,
    pub(super) caller: &'a Caller,
    pub(super) document: &'a ExecutableDocument,
    pub(super) op: &'a OperationDefinition,
    pub(super) variables: &'a Variables,
    pub(super) next_alias: usize,
    /// The columns each row alias is read for: derived tables select only those.
    pub(super) used: HashMap<String, Vec<&'static str>>,
}

/// Builds a derived table from its select list, in one of three forms.
type DerivedTable<'s> = Box<dyn FnOnce(&str, Form) -> Option<Sql> + 's>;

/// The form of a page's derived table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Ranked (`sy_rn`) and one row more than the page, for an aggregate with `pageInfo`.
    Ranked,
    /// The page's rows alone, in order (`ORDER BY … LIMIT` inside).
    Page,
    /// The rows without order or limit, which the reader orders and limits: PostgreSQL then
    /// flattens the derived table into the reading query (a nested page's `LIMIT` inside
    /// would keep it a subquery of its own, measurably slower on a deep page). Root lists,
    /// whose cursors bound the rows, answer their page.
    Unbounded,
}

/// A connection's rows: the derived table (alias `p`), the page, its count statement, and how
/// a row's cursor is made.
struct Rows<'s> {
    /// The derived table, given its select list (the columns the selection reads).
    table: DerivedTable<'s>,
    page: Page,
    count: Sql,
    /// The order column in the cursor (root lists), besides the ID.
    cursor_column: Option<&'static str>,
    /// The rows' order as an `ORDER BY` list of alias `p` (given `p`): a page that only lists
    /// its rows is read as an ordered subquery instead of ranked and aggregated.
    order: OrderBy,
}

/// The `ORDER BY` list of a page's rows for their alias.
type OrderBy = Box<dyn Fn(&str) -> String>;

impl<'a> Compiler<'a> {
    fn alias(&mut self) -> String {
        self.next_alias += 1;
        format!("p{}", self.next_alias)
    }

    /// Notes that row alias `p` is read for `column`.
    fn need(&mut self, p: &str, column: &'static str) {
        let used = self.used.entry(p.to_owned()).or_default();
        if !used.contains(&column) {
            used.push(column);
        }
    }

    /// The columns of alias `p`'s derived table (on alias `t`): those read, at least the ID.
    fn select_list(&mut self, p: &str) -> String {
        let mut list = String::from("t.id");
        for column in self.used.remove(p).unwrap_or_default() {
            if column != "id" {
                list.push_str(", t.");
                list.push_str(column);
            }
        }
        list
    }

    /// The JSON object of one row of `shape` (alias `p`) with `set` selected.
    fn node(&mut self, shape: &'static Shape, p: &str, set: &'a SelectionSet) -> Option<V> {
        let fields = self.fields(set, shape.type_name, 0)?;
        let mut pairs = Vec::new();
        for field in fields {
            let f = &field.node;
            let name = f.name.node.as_str();
            let key = response_key(f).to_owned();
            let leaf = f.selection_set.node.items.is_empty();
            if name == "__typename" {
                pairs.push((key, self.constant(shape.type_name)));
                continue;
            }
            if name == "id" && shape.scope.is_some() && leaf && f.arguments.is_empty() {
                self.need(p, "id");
                pairs.push((key, self.global_id(shape.type_name, &format!("{p}.id"))));
                continue;
            }
            if let Some(column) = shape.columns.iter().find(|c| c.name == name) {
                if !leaf || !f.arguments.is_empty() {
                    return None;
                }
                self.need(p, column.column);
                if column.hide_unless.is_some() {
                    for owner in [shape.owner.0, shape.owner.1].into_iter().flatten() {
                        self.need(p, owner);
                    }
                }
                let value = self.column(shape, column, p)?;
                pairs.push((key, value));
                continue;
            }
            if let Some(to_one) = shape.to_one.iter().find(|r| r.name == name) {
                if !f.arguments.is_empty() {
                    return None;
                }
                let target = (to_one.target)();
                self.need(p, to_one.column);
                let value = self.reference(target, &format!("{p}.{}", to_one.column), f)?;
                pairs.push((key, value));
                continue;
            }
            if let Some(nested) = shape.nested.iter().find(|n| n.name == name) {
                let args = self.args(f)?;
                if !args.names_within(&["first"]) {
                    return None;
                }
                let first: Option<i32> = args.get("first").ok()?;
                let page = PageArgs::new(first, None, None, None).page().ok()?;
                let target = (nested.target)();
                let scope = self.scope(target)?;
                self.need(p, "id");
                let mut count = Sql::new("SELECT COUNT(*) FROM ");
                count.push(target.table).push(" t WHERE t.tenant_id = ");
                count.bind(self.caller.tenant_id.to_string());
                scope.push_and(&mut count);
                count.push(&format!(" AND t.{} = {p}.id", nested.by));
                let (tenant, by, parent, limit) = (
                    self.caller.tenant_id.to_string(),
                    nested.by,
                    p.to_owned(),
                    page.limit(),
                );
                let size = page.size;
                let rows = Rows {
                    table: Box::new(move |columns: &str, form: Form| {
                        let ranked = form == Form::Ranked;
                        let mut table = Sql::new("SELECT ");
                        table.push(columns);
                        if ranked {
                            table.push(", ROW_NUMBER() OVER (ORDER BY t.id DESC) AS sy_rn");
                        }
                        table
                            .push(" FROM ")
                            .push(target.table)
                            .push(" t WHERE t.tenant_id = ")
                            .bind(tenant);
                        scope.push_and(&mut table);
                        table.push(&format!(" AND t.{by} = {parent}.id"));
                        if form != Form::Unbounded {
                            table.push(" ORDER BY t.id DESC LIMIT ").bind(if ranked {
                                limit
                            } else {
                                size
                            });
                        }
                        Some(table)
                    }),
                    page,
                    count,
                    cursor_column: None,
                    order: Box::new(|p: &str| format!("{p}.id DESC")),
                };
                let (value, out) = self.connection(target, rows, &f.selection_set.node)?;
                pairs.push((key, self.embed(value, out)));
                continue;
            }
            if let Some(lines) = shape.lines.iter().find(|l| l.name == name) {
                if !f.arguments.is_empty() {
                    return None;
                }
                self.need(p, "id");
                let q = self.alias();
                let element = self.node(lines.shape, &q, &f.selection_set.node)?;
                // The lines in their order (PostgreSQL: the rows of the sublist; SQLite: a
                // derived table's).
                let mut from = Sql::new(match self.b {
                    Backend::Postgres => " FROM ",
                    Backend::Sqlite => " FROM (SELECT * FROM ",
                });
                from.push(&format!("{} {q} WHERE {q}.tenant_id = ", lines.shape.table))
                    .bind(self.caller.tenant_id.to_string())
                    .push(&format!(
                        " AND {q}.{} = {p}.id ORDER BY {q}.{}, {q}.id",
                        lines.by, lines.order
                    ));
                if self.b == Backend::Sqlite {
                    from.push(&format!(") {q}"));
                }
                pairs.push((key, self.sublist(element, &from)));
                continue;
            }
            return None;
        }
        Some(self.object(pairs))
    }

    /// A plain column of row `p`, hidden where its rule does not reach the row.
    fn column(&self, shape: &Shape, column: &Column, p: &str) -> Option<V> {
        let c = format!("{p}.{}", column.column);
        let mut value = match column.kind {
            Kind::Text => self.string(Sql::new(&c)),
            Kind::Int => self.number(Sql::new(&c)),
            Kind::Bool => self.boolean(&c),
            Kind::Id(type_name) => self.global_id(type_name, &c),
            Kind::Time => self.string(Sql::new(&format!("sy_utc({c})"))),
            Kind::Date => self.string(Sql::new(&match self.b {
                Backend::Postgres => format!("to_char({c}, 'YYYY-MM-DD')"),
                Backend::Sqlite => c.clone(),
            })),
            Kind::Opaque => return None,
        };
        let Some(permission) = column.hide_unless else {
            return Some(value);
        };
        let (user, location) = shape.owner;
        let mut sql = Sql::new("CASE WHEN ");
        match self.caller.row_scope(permission) {
            Err(_) => {
                value.elems = vec![Sql::new("NULL")];
                return Some(value);
            }
            Ok(RowScope::Tenant) => return Some(value),
            Ok(RowScope::Own(me)) => {
                let Some(user) = user else {
                    value.elems = vec![Sql::new("NULL")];
                    return Some(value);
                };
                sql.push(&format!("{p}.{user} = ")).bind(me.to_string());
            }
            Ok(RowScope::Location {
                user: me,
                locations,
            }) => {
                sql.push("(");
                match user {
                    Some(user) => sql.push(&format!("{p}.{user} = ")).bind(me.to_string()),
                    None => sql.push("1 = 0"),
                };
                if let Some(location) = location {
                    sql.push(&format!(" OR {p}.{location}"))
                        .is_in(locations.iter().map(ToString::to_string));
                }
                sql.push(")");
            }
        }
        sql.push(" THEN ").append(&value.single()).push(" END");
        value.elems = vec![sql];
        Some(value)
    }

    /// The caller's scope over `shape`'s rows (`None` without the permission).
    fn scope(&self, shape: &Shape) -> Option<Expr> {
        (shape.scope?)(self.caller, shape.read).ok()
    }

    /// The object `fk` refers to, under its own scope; null where the caller does not reach it.
    fn reference(&mut self, target: &'static Shape, fk: &str, f: &'a Field) -> Option<V> {
        // Lines are never referenced on their own; without the permission, null.
        target.scope?;
        let Some(scope) = self.scope(target) else {
            return Some(self.string(Sql::new("NULL")));
        };
        let q = self.alias();
        let node = self.node(target, &q, &f.selection_set.node)?;
        let (value, out) = self.select_value(node, true);
        let columns = self.select_list(&q);
        let mut sql = Sql::new("SELECT ");
        sql.append(&value)
            .push(&format!(
                " FROM (SELECT {columns} FROM {} t WHERE t.tenant_id = ",
                target.table
            ))
            .bind(self.caller.tenant_id.to_string());
        scope.push_and(&mut sql);
        sql.push(&format!(" AND t.id = {fk}) {q}"));
        Some(self.embed(sql, out))
    }

    /// A connection over `rows` with `set` selected, as a subquery or, when nothing aggregates
    /// the rows, an expression in parentheses (either stands where a scalar subquery does).
    fn connection(
        &mut self,
        shape: &'static Shape,
        rows: Rows<'_>,
        set: &'a SelectionSet,
    ) -> Option<(Sql, Out)> {
        let connection_type = format!("{}Connection", shape.type_name);
        let fields = self.fields(set, &connection_type, 0)?;
        let p = self.alias();
        let size = rows.page.size;
        self.need(&p, "id");
        if let Some(column) = rows.cursor_column {
            self.need(&p, column);
        }
        let cursor = match rows.cursor_column {
            None => Sql::new(&format!("sy_b64url('[\"' || {p}.id || '\"]')")),
            Some(column) => Sql::new(&match self.b {
                Backend::Postgres => format!(
                    "sy_b64url('[' || to_json({p}.{column}::text)::text || ',' || to_json({p}.id)::text || ']')"
                ),
                Backend::Sqlite => {
                    format!("sy_b64url(json_array(CAST({p}.{column} AS TEXT), {p}.id))")
                }
            }),
        };
        // A nested page that only lists its rows is read as an ordered subquery (see
        // `sublist`): an ordered aggregate sorts its rows again on every parent row.
        let lists = fields
            .iter()
            .filter(|f| matches!(f.node.name.node.as_str(), "nodes" | "edges"))
            .count();
        let (mut sublist, table) =
            if lists == 1 && fields.iter().all(|f| f.node.name.node != "pageInfo") {
                (Some((rows.table, rows.order)), None)
            } else {
                (None, Some(rows.table))
            };
        let mut pairs = Vec::new();
        // Whether a field aggregates the rows: without one, the object is made once, not
        // once per row (`SELECT` without `FROM`).
        let mut aggregated = false;
        for field in fields {
            let f = &field.node;
            let key = response_key(f).to_owned();
            if !f.arguments.is_empty() {
                return None;
            }
            aggregated |= sublist.is_none() && matches!(f.name.node.as_str(), "nodes" | "edges");
            match f.name.node.as_str() {
                "__typename" => pairs.push((key, self.constant(&connection_type))),
                "totalCount" => {
                    let mut sql = Sql::new("(");
                    sql.append(&rows.count).push(")");
                    pairs.push((key, self.number(sql)));
                }
                "nodes" => {
                    let node = self.node(shape, &p, &f.selection_set.node)?;
                    let list = match sublist.take() {
                        Some((table, order)) => self.page_sublist(node, &p, table, order, size)?,
                        None => self.array(node, &p, size),
                    };
                    pairs.push((key, list));
                }
                "edges" => {
                    let edge_type = format!("{}Edge", shape.type_name);
                    let mut edge = Vec::new();
                    for e in self.fields(&f.selection_set.node, &edge_type, 0)? {
                        let ekey = response_key(&e.node).to_owned();
                        if !e.node.arguments.is_empty() {
                            return None;
                        }
                        match e.node.name.node.as_str() {
                            "__typename" => edge.push((ekey, self.constant(&edge_type))),
                            "cursor" => edge.push((ekey, self.string(cursor.clone()))),
                            "node" => {
                                let node = self.node(shape, &p, &e.node.selection_set.node)?;
                                edge.push((ekey, node));
                            }
                            _ => return None,
                        }
                    }
                    let element = self.object(edge);
                    let list = match sublist.take() {
                        Some((table, order)) => {
                            self.page_sublist(element, &p, table, order, size)?
                        }
                        None => self.array(element, &p, size),
                    };
                    pairs.push((key, list));
                }
                "pageInfo" => {
                    let mut info = Vec::new();
                    for i in self.fields(&f.selection_set.node, "PageInfo", 0)? {
                        let ikey = response_key(&i.node).to_owned();
                        match i.node.name.node.as_str() {
                            "__typename" => info.push((ikey, self.constant("PageInfo"))),
                            "hasNextPage" => {
                                aggregated = true;
                                // More rows than the page: the derived table holds one extra.
                                let mut more = Sql::new(match self.b {
                                    Backend::Postgres => "((count(*) > ",
                                    Backend::Sqlite => "json(CASE WHEN count(*) > ",
                                });
                                more.bind(size).push(match self.b {
                                    Backend::Postgres => "))::text",
                                    Backend::Sqlite => " THEN 'true' ELSE 'false' END)",
                                });
                                info.push((ikey, self.value(more, Out::Raw)));
                            }
                            "startCursor" | "endCursor" => {
                                aggregated = true;
                                let order = if i.node.name.node == "startCursor" {
                                    ""
                                } else {
                                    " DESC"
                                };
                                let mut first = Sql::new(match self.b {
                                    Backend::Postgres => "(array_agg(",
                                    Backend::Sqlite => "((json_group_array(",
                                });
                                first
                                    .append(&cursor)
                                    .push(&format!(
                                        " ORDER BY {p}.sy_rn{order}) FILTER (WHERE {p}.sy_rn <= "
                                    ))
                                    .bind(size)
                                    .push(match self.b {
                                        Backend::Postgres => "))[1]",
                                        Backend::Sqlite => ")) ->> 0)",
                                    });
                                info.push((ikey, self.string(first)));
                            }
                            "hasPreviousPage" => info.push((
                                ikey,
                                self.boolean(if rows.page.after.is_some() {
                                    "1 = 1"
                                } else {
                                    "1 = 0"
                                }),
                            )),
                            _ => return None,
                        }
                    }
                    pairs.push((key, self.object(info)));
                }
                _ => return None,
            }
        }
        let (value, out) = self.select_value(self.object(pairs), false);
        if !aggregated {
            // Made once: the value itself, no subquery around it.
            let mut sql = Sql::new("(");
            sql.append(&value).push(")");
            return Some((sql, out));
        }
        let mut sql = Sql::new("SELECT ");
        let columns = self.select_list(&p);
        sql.append(&value)
            .push(" FROM (")
            .append(&(table?)(&columns, Form::Ranked)?)
            .push(&format!(") {p}"));
        Some((sql, out))
    }

    /// A page's rows (alias `p`, its derived table unranked, in `order`, at most `size`) as an
    /// ordered subquery's list of `element`.
    fn page_sublist(
        &mut self,
        element: V,
        p: &str,
        table: DerivedTable<'_>,
        order: OrderBy,
        size: i64,
    ) -> Option<V> {
        let columns = self.select_list(p);
        let mut from = Sql::new(" FROM (");
        match self.b {
            Backend::Postgres => {
                from.append(&table(&columns, Form::Unbounded)?)
                    .push(&format!(") {p} ORDER BY "))
                    .push(&order(p))
                    .push(" LIMIT ")
                    .bind(size);
            }
            // SQLite keeps the order of a `FROM` subquery that has its own `ORDER BY`.
            Backend::Sqlite => {
                from.append(&table(&columns, Form::Page)?)
                    .push(&format!(") {p}"));
            }
        }
        Some(self.sublist(element, &from))
    }

    /// A root list: the page under the caller's scope, filter and order, as the connection's
    /// answer.
    pub(super) fn root_list(
        &mut self,
        shape: &'static Shape,
        args: &Args,
        set: &'a SelectionSet,
    ) -> Option<(Sql, Out)> {
        let (_, list_args) = shape.list?;
        let allowed = ["first", "after", "filter", "orderBy", "search"];
        if !args.names_within(&allowed) {
            return None;
        }
        let (filter, order, arity) = list_args(self.caller, args).ok()?;
        let first: Option<i32> = args.get("first").ok()?;
        let after: Option<String> = args.get("after").ok()?;
        let page = PageArgs::new(first, after, None, None).page().ok()?;
        let bounds = page.bounds(arity).ok()?;
        if let Some(column) = order.column {
            // Cursors carry the column as text: plan only where it reads as text.
            let c = shape.columns.iter().find(|c| c.column == column)?;
            if !matches!(c.kind, Kind::Text | Kind::Int) {
                return None;
            }
        }
        let listing = Listing {
            table: shape.table,
            tenant: self.caller.tenant_id,
            scope: self.scope(shape)?,
            filter,
            order,
        };
        let count = listing.count_sql();
        let size = page.size;
        let rows = Rows {
            table: Box::new(move |columns: &str, form: Form| {
                if form != Form::Ranked {
                    // The page's rows alone: no rank, no extra row.
                    let bounds = Bounds {
                        limit: size,
                        ..bounds
                    };
                    return listing.page_sql(columns, &bounds).ok();
                }
                let select = format!(
                    "{columns}, ROW_NUMBER() OVER (ORDER BY {}) AS sy_rn",
                    listing.order_by(false)
                );
                listing.page_sql(&select, &bounds).ok()
            }),
            page,
            count,
            cursor_column: order.column,
            order: Box::new(move |p: &str| order.on(p, false)),
        };
        let (connection, out) = self.connection(shape, rows, set)?;
        let mut sql = Sql::new("SELECT (");
        sql.append(&connection).push(") AS j");
        Some((sql, out))
    }

    /// A root `one` field: the object's JSON, or no row (NOT_FOUND). `Some(None)`: the ID
    /// names no object of this type.
    pub(super) fn one(
        &mut self,
        shape: &'static Shape,
        args: &Args,
        set: &'a SelectionSet,
    ) -> Option<Option<(Sql, Out)>> {
        if !args.names_within(&["id"]) {
            return None;
        }
        let id: async_graphql::ID = args.get("id").ok()??;
        let Some(uuid) = crate::ids::decode_global(&id)
            .filter(|(t, _)| *t == shape.type_name)
            .map(|(_, uuid)| uuid.to_string())
        else {
            return Some(None);
        };
        let scope = self.scope(shape)?;
        let p = self.alias();
        let node = self.node(shape, &p, set)?;
        let (answer, out) = self.select_value(node, false);
        let columns = self.select_list(&p);
        let mut sql = Sql::new("SELECT ");
        sql.append(&answer);
        sql.push(&format!(
            " AS j FROM (SELECT {columns} FROM {} t WHERE t.tenant_id = ",
            shape.table
        ))
        .bind(self.caller.tenant_id.to_string());
        scope.push_and(&mut sql);
        sql.push(" AND t.id = ").bind(uuid).push(&format!(") {p}"));
        Some(Some((sql, out)))
    }
}

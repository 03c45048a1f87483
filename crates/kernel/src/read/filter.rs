//! Filters: one typed input per kind of field (`eq`, `in`, `lt`/`gt`, `contains`, `isNull`),
//! combined per aggregate with `and`, `or` and `not` (the conventions of Twenty's and
//! Hasura's APIs), and the condition they make, rendered into SQL with binds on both
//! backends.

use std::borrow::Cow;

use async_graphql::{ID, InputObject, InputType};
use chrono::{DateTime, Utc};

use crate::db::sql::{Bind, Sql};
use crate::error::Error;

/// The most values an `in` list takes.
pub const MAX_IN: usize = 100;
/// How deep `and`/`or`/`not` may nest.
pub const MAX_NESTING: usize = 8;

/// A condition on the rows of one table (alias `t`).
#[derive(Debug, Clone)]
pub enum Expr {
    True,
    /// `t.column <op> value`.
    Cmp {
        column: &'static str,
        op: &'static str,
        value: Bind,
    },
    /// `t.column` among text values.
    In {
        column: &'static str,
        values: Vec<String>,
    },
    IsNull {
        column: &'static str,
        null: bool,
    },
    /// Case-insensitive substring (`LIKE` with the term's own wildcards escaped).
    Contains {
        column: &'static str,
        term: String,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A domain's own condition (a full-text search, a tag list), on alias `t`.
    Sql(Sql),
}

impl Expr {
    /// All of `parts` (true when there are none).
    pub fn all(parts: Vec<Expr>) -> Expr {
        let parts: Vec<Expr> = parts
            .into_iter()
            .filter(|p| !matches!(p, Expr::True))
            .collect();
        match parts.len() {
            0 => Expr::True,
            _ => Expr::And(parts),
        }
    }

    /// Appends ` AND (<condition>)` to `sql` (nothing for `True`).
    pub fn push_and(&self, sql: &mut Sql) {
        if !matches!(self, Expr::True) {
            sql.push(" AND ");
            self.render(sql);
        }
    }

    /// Appends the condition, parenthesised.
    pub fn render(&self, sql: &mut Sql) {
        match self {
            Expr::True => {
                sql.push("1 = 1");
            }
            Expr::Cmp { column, op, value } => {
                sql.push("t.").push(column).push(" ").push(op).push(" ");
                sql.bind(value.clone());
            }
            Expr::In { column, values } => {
                sql.push("t.").push(column).is_in(values.iter().cloned());
            }
            Expr::IsNull { column, null } => {
                sql.push("t.")
                    .push(column)
                    .push(if *null { " IS NULL" } else { " IS NOT NULL" });
            }
            Expr::Contains { column, term } => {
                sql.push("LOWER(t.").push(column).push(") LIKE ");
                sql.bind(crate::validate::like_contains(&term.to_lowercase()))
                    .push(" ESCAPE '\\'");
            }
            Expr::And(parts) | Expr::Or(parts) => {
                let joiner = if matches!(self, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                sql.push("(");
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        sql.push(joiner);
                    }
                    part.render(sql);
                }
                if parts.is_empty() {
                    sql.push(if matches!(self, Expr::And(_)) {
                        "1 = 1"
                    } else {
                        "1 = 0"
                    });
                }
                sql.push(")");
            }
            Expr::Not(inner) => {
                sql.push("NOT (");
                inner.render(sql);
                sql.push(")");
            }
            Expr::Sql(own) => {
                sql.push("(").append(own).push(")");
            }
        }
    }
}

fn in_list<T>(field: &str, values: &[T]) -> Result<(), Error> {
    if values.len() > MAX_IN {
        return Err(Error::bad_input(
            field,
            format!("`in` takes at most {MAX_IN} values"),
        ));
    }
    Ok(())
}

fn is_null(column: &'static str, null: Option<bool>, parts: &mut Vec<Expr>) {
    if let Some(null) = null {
        parts.push(Expr::IsNull { column, null });
    }
}

/// A text field.
#[derive(InputObject, Debug, Clone, Default)]
pub struct StringFilter {
    pub eq: Option<String>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<String>>,
    /// Case-insensitive substring.
    pub contains: Option<String>,
    pub is_null: Option<bool>,
}

impl StringFilter {
    pub fn expr(&self, column: &'static str, field: &str) -> Result<Expr, Error> {
        let mut parts = Vec::new();
        if let Some(eq) = &self.eq {
            parts.push(Expr::Cmp {
                column,
                op: "=",
                value: Bind::Text(eq.clone()),
            });
        }
        if let Some(values) = &self.any_of {
            in_list(field, values)?;
            parts.push(Expr::In {
                column,
                values: values.clone(),
            });
        }
        if let Some(term) = &self.contains {
            let term =
                crate::validate::search_term(&format!("{field}.contains"), Some(term.clone()))?;
            if let Some(term) = term {
                parts.push(Expr::Contains { column, term });
            }
        }
        is_null(column, self.is_null, &mut parts);
        Ok(Expr::all(parts))
    }
}

/// A reference to another object (its global ID).
#[derive(InputObject, Debug, Clone, Default)]
pub struct IdFilter {
    pub eq: Option<ID>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<ID>>,
    pub is_null: Option<bool>,
}

impl IdFilter {
    /// `parse` turns a global ID of the referenced type into the stored text; an ID of
    /// another type or no ID at all answers NOT_FOUND, as it does everywhere.
    pub fn expr(
        &self,
        column: &'static str,
        field: &str,
        parse: impl Fn(&ID) -> Result<String, Error>,
    ) -> Result<Expr, Error> {
        let mut parts = Vec::new();
        if let Some(eq) = &self.eq {
            parts.push(Expr::Cmp {
                column,
                op: "=",
                value: Bind::Text(parse(eq)?),
            });
        }
        if let Some(values) = &self.any_of {
            in_list(field, values)?;
            parts.push(Expr::In {
                column,
                values: values.iter().map(&parse).collect::<Result<_, _>>()?,
            });
        }
        is_null(column, self.is_null, &mut parts);
        Ok(Expr::all(parts))
    }
}

/// A point in time.
#[derive(InputObject, Debug, Clone, Default)]
pub struct DateTimeFilter {
    pub eq: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub is_null: Option<bool>,
}

impl DateTimeFilter {
    pub fn expr(&self, column: &'static str) -> Expr {
        let at = |v: Option<DateTime<Utc>>| v.map(|v| Bind::Timestamp(v.naive_utc()));
        ordered(
            column,
            [
                at(self.eq),
                at(self.lt),
                at(self.lte),
                at(self.gt),
                at(self.gte),
            ],
            self.is_null,
        )
    }
}

/// `eq`, `lt`, `lte`, `gt`, `gte` (in that order) and `isNull` on an ordered column.
fn ordered(column: &'static str, values: [Option<Bind>; 5], null: Option<bool>) -> Expr {
    let mut parts: Vec<Expr> = values
        .into_iter()
        .zip(["=", "<", "<=", ">", ">="])
        .filter_map(|(value, op)| value.map(|value| Expr::Cmp { column, op, value }))
        .collect();
    is_null(column, null, &mut parts);
    Expr::all(parts)
}

/// A whole number.
#[derive(InputObject, Debug, Clone, Default)]
pub struct IntFilter {
    pub eq: Option<i32>,
    pub lt: Option<i32>,
    pub lte: Option<i32>,
    pub gt: Option<i32>,
    pub gte: Option<i32>,
    pub is_null: Option<bool>,
}

impl IntFilter {
    pub fn expr(&self, column: &'static str) -> Expr {
        let int = |v: Option<i32>| v.map(Bind::Int);
        ordered(
            column,
            [
                int(self.eq),
                int(self.lt),
                int(self.lte),
                int(self.gt),
                int(self.gte),
            ],
            self.is_null,
        )
    }
}

/// Yes or no.
#[derive(InputObject, Debug, Clone, Default)]
pub struct BooleanFilter {
    pub eq: Option<bool>,
    pub is_null: Option<bool>,
}

impl BooleanFilter {
    pub fn expr(&self, column: &'static str) -> Expr {
        let mut parts = Vec::new();
        if let Some(eq) = self.eq {
            parts.push(Expr::Cmp {
                column,
                op: "=",
                value: Bind::Bool(eq),
            });
        }
        is_null(column, self.is_null, &mut parts);
        Expr::all(parts)
    }
}

/// An enum stored as text (see [`text_enum!`](crate::text_enum)): its filter is named after
/// it (`QuoteStatusFilter`). A generic input object, so its GraphQL type is registered by
/// hand (async-graphql's derive takes no generic input objects).
#[derive(Debug, Clone)]
pub struct EnumFilter<E> {
    pub eq: Option<E>,
    pub any_of: Option<Vec<E>>,
    pub is_null: Option<bool>,
}

fn input_value(
    name: &str,
    description: &str,
    ty: String,
) -> async_graphql::registry::MetaInputValue {
    async_graphql::registry::MetaInputValue {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        ty,
        deprecation: Default::default(),
        default_value: None,
        visible: None,
        inaccessible: false,
        tags: vec![],
        is_secret: false,
        directive_invocations: vec![],
    }
}

impl<E: InputType + Copy + StoredText> InputType for EnumFilter<E> {
    type RawValueType = Self;

    fn type_name() -> Cow<'static, str> {
        format!("{}Filter", E::type_name()).into()
    }

    fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
        use async_graphql::registry::{MetaType, MetaTypeId};
        registry.create_input_type::<Self, _>(MetaTypeId::InputObject, |registry| {
            let mut fields = async_graphql::indexmap::IndexMap::new();
            for (name, description, ty) in [
                ("eq", "Equal to.", Option::<E>::create_type_info(registry)),
                (
                    "in",
                    "One of.",
                    Option::<Vec<E>>::create_type_info(registry),
                ),
                (
                    "isNull",
                    "Not set (true) or set (false).",
                    Option::<bool>::create_type_info(registry),
                ),
            ] {
                fields.insert(name.to_owned(), input_value(name, description, ty));
            }
            MetaType::InputObject {
                name: Self::type_name().into_owned(),
                description: Some(format!("Conditions on a {}.", E::type_name())),
                input_fields: fields,
                visible: None,
                inaccessible: false,
                tags: vec![],
                rust_typename: Some(std::any::type_name::<Self>()),
                oneof: false,
                directive_invocations: vec![],
            }
        })
    }

    fn parse(value: Option<async_graphql::Value>) -> async_graphql::InputValueResult<Self> {
        let Some(async_graphql::Value::Object(fields)) = value else {
            return Err(async_graphql::InputValueError::expected_type(
                value.unwrap_or_default(),
            ));
        };
        Ok(EnumFilter {
            eq: Option::<E>::parse(fields.get("eq").cloned())
                .map_err(async_graphql::InputValueError::propagate)?,
            any_of: Option::<Vec<E>>::parse(fields.get("in").cloned())
                .map_err(async_graphql::InputValueError::propagate)?,
            is_null: Option::<bool>::parse(fields.get("isNull").cloned())
                .map_err(async_graphql::InputValueError::propagate)?,
        })
    }

    fn to_value(&self) -> async_graphql::Value {
        let mut fields = async_graphql::indexmap::IndexMap::new();
        fields.insert(async_graphql::Name::new("eq"), self.eq.to_value());
        fields.insert(async_graphql::Name::new("in"), self.any_of.to_value());
        fields.insert(async_graphql::Name::new("isNull"), self.is_null.to_value());
        async_graphql::Value::Object(fields)
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }
}

impl<E: InputType + Copy + StoredText> EnumFilter<E> {
    pub fn expr(&self, column: &'static str, field: &str) -> Result<Expr, Error> {
        let mut parts = Vec::new();
        if let Some(eq) = self.eq {
            parts.push(Expr::Cmp {
                column,
                op: "=",
                value: Bind::Text(eq.stored().to_owned()),
            });
        }
        if let Some(values) = &self.any_of {
            in_list(field, values)?;
            parts.push(Expr::In {
                column,
                values: values.iter().map(|v| v.stored().to_owned()).collect(),
            });
        }
        is_null(column, self.is_null, &mut parts);
        Ok(Expr::all(parts))
    }
}

/// The conditions of an aggregate's own filter fields (the `extra` block of
/// [`filter!`](crate::filter)), at whichever level of `and`/`or`/`not` they appear.
pub trait FilterExtra {
    fn extra(&self, caller: &crate::Caller) -> Result<Vec<Expr>, Error>;
}

/// What an enum is stored as.
pub trait StoredText {
    fn stored(&self) -> &'static str;
}

/// Combines an aggregate's field conditions with its `and`, `or` and `not`; `field` builds
/// one filter's own conditions. Nesting is bounded.
pub fn combine<F>(
    filter: &F,
    own: impl Fn(&F) -> Result<Vec<Expr>, Error> + Copy,
    logic: impl Fn(&F) -> (Option<&Vec<F>>, Option<&Vec<F>>, Option<&F>) + Copy,
    depth: usize,
) -> Result<Expr, Error> {
    if depth > MAX_NESTING {
        return Err(Error::bad_input(
            "filter",
            format!("`and`, `or` and `not` nest at most {MAX_NESTING} levels"),
        ));
    }
    let mut parts = own(filter)?;
    let (and, or, not) = logic(filter);
    if let Some(and) = and {
        in_list("filter.and", and)?;
        for f in and {
            parts.push(combine(f, own, logic, depth + 1)?);
        }
    }
    if let Some(or) = or {
        in_list("filter.or", or)?;
        let alternatives = or
            .iter()
            .map(|f| combine(f, own, logic, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        parts.push(Expr::Or(alternatives));
    }
    if let Some(not) = not {
        parts.push(Expr::Not(Box::new(combine(not, own, logic, depth + 1)?)));
    }
    Ok(Expr::all(parts))
}

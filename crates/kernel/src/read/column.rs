//! What a stored column is to GraphQL: how it reads ([`Expose`]) and how it is filtered
//! ([`Filterable`]). Implemented here for the plain types, by [`id_type!`](crate::id_type)
//! for IDs and by [`text_enum!`](crate::text_enum) for enums, so that an aggregate declares a
//! column by its Rust type alone.

use async_graphql::OutputType;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::filter::{BooleanFilter, DateTimeFilter, Expr, IntFilter, StringFilter};
use crate::error::Error;

/// How a stored value reads in GraphQL (a timestamp as UTC, an ID as its global ID).
pub trait Expose {
    type Out<'a>: OutputType
    where
        Self: 'a;
    fn expose(&self) -> Self::Out<'_>;
}

impl Expose for String {
    type Out<'a> = &'a str;
    fn expose(&self) -> &str {
        self
    }
}

macro_rules! expose_copy {
    ($($t:ty),*) => {$(
        impl Expose for $t {
            type Out<'a> = $t;
            fn expose(&self) -> $t {
                *self
            }
        }
    )*};
}
expose_copy!(i32, i64, bool, NaiveDate);

impl Expose for NaiveDateTime {
    type Out<'a> = DateTime<Utc>;
    fn expose(&self) -> DateTime<Utc> {
        self.and_utc()
    }
}

impl<T: Expose> Expose for Option<T> {
    type Out<'a>
        = Option<T::Out<'a>>
    where
        T: 'a;
    fn expose(&self) -> Self::Out<'_> {
        self.as_ref().map(Expose::expose)
    }
}

/// How a column is filtered: the filter input of its type, and the condition it makes.
pub trait Filterable {
    type Filter: async_graphql::InputType + Clone + std::fmt::Debug;
    /// The condition of `filter` on `column`; `field` names the input in errors
    /// (`filter.title`).
    fn condition(filter: &Self::Filter, column: &'static str, field: &str) -> Result<Expr, Error>;
}

impl Filterable for String {
    type Filter = StringFilter;
    fn condition(filter: &StringFilter, column: &'static str, field: &str) -> Result<Expr, Error> {
        filter.expr(column, field)
    }
}

impl Filterable for i32 {
    type Filter = IntFilter;
    fn condition(filter: &IntFilter, column: &'static str, _: &str) -> Result<Expr, Error> {
        Ok(filter.expr(column))
    }
}

impl Filterable for bool {
    type Filter = BooleanFilter;
    fn condition(filter: &BooleanFilter, column: &'static str, _: &str) -> Result<Expr, Error> {
        Ok(filter.expr(column))
    }
}

impl Filterable for NaiveDateTime {
    type Filter = DateTimeFilter;
    fn condition(filter: &DateTimeFilter, column: &'static str, _: &str) -> Result<Expr, Error> {
        Ok(filter.expr(column))
    }
}

impl<T: Filterable> Filterable for Option<T> {
    type Filter = T::Filter;
    fn condition(filter: &T::Filter, column: &'static str, field: &str) -> Result<Expr, Error> {
        T::condition(filter, column, field)
    }
}

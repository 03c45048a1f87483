//! Reads declared once per aggregate ([`aggregate!`](crate::aggregate)): its filter, its
//! orderings, and the lists, counts and single rows they make ([`list::Listing`]), rendered
//! into SQL on both backends with the caller's row scope as one condition among the others.

pub mod aggregate;
pub mod column;
pub mod filter;
pub mod list;

pub use aggregate::{Aggregate, AsKey, Ordering};
pub use column::{Expose, Filterable};
pub use filter::{
    BooleanFilter, DateTimeFilter, EnumFilter, Expr, FilterExtra, IdFilter, IntFilter, StoredText,
    StringFilter,
};
pub use list::{Listing, Order};

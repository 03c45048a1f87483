//! Reads declared once per aggregate: its filter (`filter!`), its orderings (`order!`), and the
//! lists, counts and single rows they make ([`list::Listing`]), rendered into SQL on both
//! backends with the caller's row scope as one condition among the others.

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

/// Declares an aggregate's filter input: typed conditions per field, combined with `and`,
/// `or` and `not`, plus fields of its own the aggregate handles itself (`extra`).
///
/// ```text
/// switchyard_kernel::filter! {
///     /// Which leads to list.
///     pub struct LeadFilter {
///         status: Enum<LeadStatus> = "status",
///         customer_id: Id<CustomerId> = "customer_id",
///         follow_up_at: Time = "follow_up_at",
///         title: Text = "title",
///         score: Int = "score",
///         active: Bool = "active",
///     }
///     extra {
///         /// Only tasks waiting in a queue.
///         unassigned: Option<bool>,
///     }
/// }
/// ```
/// `filter.expr(caller)` gives the condition at every level of `and`/`or`/`not`: the declared
/// fields', and, where the aggregate declares `extra` fields, what its
/// [`FilterExtra`](crate::read::FilterExtra) implementation makes of them.
#[macro_export]
macro_rules! filter {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            $($(#[doc = $fdoc:literal])* $field:ident : $kind:ident $(<$arg:ty>)? = $column:literal),* $(,)?
        }
        $($extra:ident {
            $($(#[doc = $xdoc:literal])* $xfield:ident : $xty:ty),* $(,)?
        })?
    ) => {
        $(#[doc = $doc])*
        #[derive(::async_graphql::InputObject, Debug, Clone, Default)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: ::std::option::Option<$crate::__filter_type!($kind $(<$arg>)?)>,)*
            $($($(#[doc = $xdoc])* pub $xfield: $xty,)*)?
            /// Every one of these holds.
            pub and: ::std::option::Option<::std::vec::Vec<$name>>,
            /// At least one of these holds.
            pub or: ::std::option::Option<::std::vec::Vec<$name>>,
            /// This does not hold.
            pub not: ::std::option::Option<::std::boxed::Box<$name>>,
        }

        impl $name {
            /// The condition of the declared fields, `and`, `or` and `not` included.
            pub fn expr(
                &self,
                caller: &$crate::Caller,
            ) -> ::std::result::Result<$crate::read::Expr, $crate::Error> {
                let _ = caller;
                $crate::read::filter::combine(
                    self,
                    |f: &$name| {
                        let mut parts = ::std::vec::Vec::new();
                        $(
                            if let ::std::option::Option::Some(cond) = &f.$field {
                                parts.push($crate::__filter_expr!(cond, $column, stringify!($field), $kind $(<$arg>)?));
                            }
                        )*
                        $(
                            let _ = stringify!($extra);
                            parts.extend($crate::read::FilterExtra::extra(f, caller)?);
                        )?
                        ::std::result::Result::Ok(parts)
                    },
                    |f: &$name| (f.and.as_ref(), f.or.as_ref(), f.not.as_deref()),
                    0,
                )
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __filter_type {
    (Text) => { $crate::read::StringFilter };
    (Id<$t:ty>) => { $crate::read::IdFilter };
    (Time) => { $crate::read::DateTimeFilter };
    (Int) => { $crate::read::IntFilter };
    (Bool) => { $crate::read::BooleanFilter };
    (Enum<$t:ty>) => { $crate::read::EnumFilter<$t> };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __filter_expr {
    ($cond:ident, $column:literal, $field:expr, Text) => {
        $cond.expr($column, &format!("filter.{}", $field))?
    };
    ($cond:ident, $column:literal, $field:expr, Id<$t:ty>) => {
        $cond.expr($column, &format!("filter.{}", $field), |id| {
            Ok(<$t>::parse(id)?.to_string())
        })?
    };
    ($cond:ident, $column:literal, $field:expr, Time) => {
        $cond.expr($column)
    };
    ($cond:ident, $column:literal, $field:expr, Int) => {
        $cond.expr($column)
    };
    ($cond:ident, $column:literal, $field:expr, Bool) => {
        $cond.expr($column)
    };
    ($cond:ident, $column:literal, $field:expr, Enum<$t:ty>) => {
        $cond.expr($column, &format!("filter.{}", $field))?
    };
}

/// Declares an aggregate's orderings: the `…OrderField` enum and the `…Order` input
/// (`field`, `direction`), each field a text column (then the ID breaks ties) or the ID
/// itself (creation order), and the default when a client gives none.
///
/// ```text
/// switchyard_kernel::order! {
///     /// How customers are sorted.
///     pub enum CustomerOrderField, CustomerOrder for CustomerRow {
///         /// By name, then ID.
///         Name = "display_name": display_name,
///         /// By creation.
///         CreatedAt = id,
///     }
///     default Name ASC
/// }
/// ```
#[macro_export]
macro_rules! order {
    (
        $(#[doc = $doc:literal])*
        pub enum $field_enum:ident, $input:ident for $row:ty {
            $($(#[doc = $vdoc:literal])* $variant:ident = $column:tt $(: $key:ident)?),* $(,)?
        }
        default $default:ident $direction:ident
    ) => {
        $(#[doc = $doc])*
        #[derive(::async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $field_enum {
            $($(#[doc = $vdoc])* $variant),*
        }

        impl ::std::default::Default for $field_enum {
            fn default() -> Self {
                $field_enum::$default
            }
        }

        $(#[doc = $doc])*
        #[derive(::async_graphql::InputObject, Debug, Clone, Copy)]
        pub struct $input {
            pub field: $field_enum,
            #[graphql(default)]
            pub direction: $crate::connection::SortDirection,
        }

        impl ::std::default::Default for $input {
            fn default() -> Self {
                $input {
                    field: $field_enum::$default,
                    direction: $crate::connection::SortDirection::$direction,
                }
            }
        }

        impl $input {
            /// The order to list in: the client's, or the default.
            pub fn or_default(order: ::std::option::Option<$input>) -> $input {
                order.unwrap_or_default()
            }

            /// The column and direction, for a [`Listing`]($crate::read::Listing).
            pub fn order(&self) -> $crate::read::Order {
                $crate::read::Order {
                    column: match self.field {
                        $($field_enum::$variant => $crate::__order_column!($column),)*
                    },
                    desc: self.direction.is_desc(),
                }
            }

            /// How many values a cursor of this order holds.
            pub fn arity(&self) -> usize {
                if self.order().column.is_some() { 2 } else { 1 }
            }

            /// A row's cursor in this order.
            pub fn cursor(&self, row: &$row) -> $crate::connection::Cursor {
                match self.field {
                    $($field_enum::$variant => $crate::connection::Cursor($crate::__order_key!(row, $column $(, $key)?)),)*
                }
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __order_column {
    (id) => {
        ::std::option::Option::None
    };
    ($column:literal) => {
        ::std::option::Option::Some($column)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __order_key {
    ($row:ident, id) => {
        vec![$row.id.to_string().into()]
    };
    ($row:ident, $column:literal, $key:ident) => {
        vec![$row.$key.to_string().into(), $row.id.to_string().into()]
    };
}

//! Enums stored as text: a row struct holds the enum, never a `String` parsed on read.
//!
//! ```text
//! switchyard_kernel::text_enum! {
//!     /// Where a lead stands.
//!     pub enum LeadStatus {
//!         /// Nobody has called yet.
//!         New = "NEW",
//!         Won = "WON",
//!     }
//! }
//! ```
//! declares the enum (also a GraphQL enum: `async_graphql::Enum`), its stored text both ways
//! (`as_str`, `parse`, `ALL`), and Diesel's `ToSql`/`FromSql` for `Text` on both backends. A
//! stored value that names no variant is a deserialization error (answered `INTERNAL`, logged),
//! never a silent default: bad data stays visible.

/// See the [module](self).
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)?
        }
    ) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            ::async_graphql::Enum,
            ::diesel::expression::AsExpression, ::diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant),*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stored text.
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// The value stored as `s`, if any.
            pub fn parse(s: &str) -> ::std::option::Option<$name> {
                match s { $($text => ::std::option::Option::Some($name::$variant),)* _ => ::std::option::Option::None }
            }
        }

        impl $crate::read::StoredText for $name {
            fn stored(&self) -> &'static str {
                self.as_str()
            }
        }

        impl $crate::plan::Plannable for $name {
            const KIND: $crate::plan::Kind = $crate::plan::Kind::Text;
        }

        impl $crate::read::Expose for $name {
            type Out<'a> = $name;
            fn expose(&self) -> $name {
                *self
            }
        }

        impl $crate::write::Settable for $name {
            type Input = $name;
            fn from_input(input: &$name) -> ::std::result::Result<$name, $crate::Error> {
                ::std::result::Result::Ok(*input)
            }
        }

        impl $crate::read::Filterable for $name {
            type Filter = $crate::read::EnumFilter<$name>;
            fn condition(
                filter: &Self::Filter,
                column: &'static str,
                field: &str,
            ) -> ::std::result::Result<$crate::read::Expr, $crate::Error> {
                filter.expr(column, field)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                $name::parse(&text).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::custom(format!(
                        "{:?} is not a {}", text, stringify!($name)
                    ))
                })
            }
        }

        impl ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, ::diesel::pg::Pg>,
            ) -> ::diesel::serialize::Result {
                use ::std::io::Write;
                out.write_all(self.as_str().as_bytes())?;
                Ok(::diesel::serialize::IsNull::No)
            }
        }

        impl ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, ::diesel::sqlite::Sqlite>,
            ) -> ::diesel::serialize::Result {
                out.set_value(self.as_str());
                Ok(::diesel::serialize::IsNull::No)
            }
        }

        impl<DB> ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            ::std::string::String: ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> ::diesel::deserialize::Result<Self> {
                let text = <::std::string::String as ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                $name::parse(&text).ok_or_else(|| {
                    format!("stored value {:?} is not a {}", text, stringify!($name)).into()
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        /// A test enum.
        pub enum Colour {
            /// Red.
            Red = "RED",
            DarkBlue = "DARK_BLUE",
        }
    }

    #[test]
    fn text_both_ways_and_unknown_text_is_an_error() {
        assert_eq!(Colour::DarkBlue.as_str(), "DARK_BLUE");
        assert_eq!(Colour::parse("RED"), Some(Colour::Red));
        assert_eq!(Colour::parse("GREEN"), None);
        assert_eq!(Colour::ALL.len(), 2);
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"DARK_BLUE\""
        );
        assert!(serde_json::from_str::<Colour>("\"GREEN\"").is_err());
        // The GraphQL name and the stored text agree.
        use async_graphql::resolver_utils::EnumType;
        let names: Vec<&str> = Colour::items().iter().map(|i| i.name).collect();
        assert_eq!(names, vec!["RED", "DARK_BLUE"]);
    }
}

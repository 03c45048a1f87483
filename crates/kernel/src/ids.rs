//! Identifiers: UUIDv7 newtypes stored as text, and Relay global IDs.
//!
//! UUIDv7 sorts by creation time, so `ORDER BY id` is a stable, index-friendly keyset order.
//! Global IDs are `base64url("Type:uuid")`: opaque to clients, self-describing to `node(id:)`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Declares a UUIDv7 ID newtype stored as `Text` on both backends.
///
/// ```text
/// id_type!(
///     /// A customer's ID.
///     CustomerId, "Customer"
/// );
/// ```
/// The second argument is the GraphQL type name used in global IDs.
#[macro_export]
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $type_name:literal) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize,
            ::diesel::expression::AsExpression, ::diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = ::diesel::sql_types::Text)]
        #[serde(transparent)]
        pub struct $name(pub ::uuid::Uuid);

        impl $name {
            /// The GraphQL type this ID names.
            pub const TYPE_NAME: &'static str = $type_name;

            /// A fresh, time-ordered ID.
            pub fn new() -> Self {
                Self(::uuid::Uuid::now_v7())
            }

            /// The opaque Relay global ID.
            pub fn to_global(&self) -> ::async_graphql::ID {
                ::async_graphql::ID($crate::ids::encode_global($type_name, &self.0))
            }

            /// Decodes a global ID of this type; any other input is `None`.
            pub fn from_global(id: &str) -> Option<Self> {
                match $crate::ids::decode_global(id) {
                    Some((t, uuid)) if t == $type_name => Some(Self(uuid)),
                    _ => None,
                }
            }

            /// Decodes a global ID argument, or answers NOT_FOUND (a malformed ID names no object).
            pub fn parse(id: &::async_graphql::ID) -> ::std::result::Result<Self, $crate::error::Error> {
                Self::from_global(id.as_str()).ok_or($crate::error::Error::NotFound)
            }
        }

        impl $crate::plan::Plannable for $name {
            const KIND: $crate::plan::Kind = $crate::plan::Kind::Id($type_name);
        }

        impl $crate::read::Expose for $name {
            type Out<'a> = ::async_graphql::ID;
            fn expose(&self) -> ::async_graphql::ID {
                self.to_global()
            }
        }

        impl $crate::write::Settable for $name {
            type Input = ::async_graphql::ID;
            fn from_input(input: &::async_graphql::ID) -> ::std::result::Result<Self, $crate::Error> {
                Self::parse(input)
            }
        }

        impl $crate::read::AsKey for $name {
            fn as_key(&self) -> ::std::option::Option<::std::string::String> {
                ::std::option::Option::Some(self.to_string())
            }
        }

        impl $crate::read::Filterable for $name {
            type Filter = $crate::read::IdFilter;
            fn condition(
                filter: &Self::Filter,
                column: &'static str,
                field: &str,
            ) -> ::std::result::Result<$crate::read::Expr, $crate::Error> {
                filter.expr(column, field, |id| ::std::result::Result::Ok(Self::parse(id)?.to_string()))
            }
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::uuid::Error;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                ::uuid::Uuid::parse_str(s).map(Self)
            }
        }

        impl ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, ::diesel::pg::Pg>,
            ) -> ::diesel::serialize::Result {
                $crate::ids::write_pg(&self.0, out)
            }
        }

        impl ::diesel::serialize::ToSql<::diesel::sql_types::Text, ::diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut ::diesel::serialize::Output<'b, '_, ::diesel::sqlite::Sqlite>,
            ) -> ::diesel::serialize::Result {
                out.set_value(self.0.hyphenated().to_string());
                Ok(::diesel::serialize::IsNull::No)
            }
        }

        impl<DB> ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB> for $name
        where
            DB: ::diesel::backend::Backend,
            String: ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> ::diesel::deserialize::Result<Self> {
                let text = <String as ::diesel::deserialize::FromSql<::diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Ok(Self(::uuid::Uuid::parse_str(&text)?))
            }
        }
    };
}

/// Writes a UUID as PostgreSQL text.
#[doc(hidden)]
pub fn write_pg(
    uuid: &uuid::Uuid,
    out: &mut diesel::serialize::Output<'_, '_, diesel::pg::Pg>,
) -> diesel::serialize::Result {
    use std::io::Write;
    let mut buf = uuid::Uuid::encode_buffer();
    out.write_all(uuid.hyphenated().encode_lower(&mut buf).as_bytes())?;
    Ok(diesel::serialize::IsNull::No)
}

/// `base64url("Type:uuid")`.
pub fn encode_global(type_name: &str, uuid: &uuid::Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{type_name}:{uuid}"))
}

/// The type name and UUID inside a global ID, if it is one.
pub fn decode_global(id: &str) -> Option<(String, uuid::Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (type_name, uuid) = text.split_once(':')?;
    Some((type_name.to_owned(), uuid::Uuid::parse_str(uuid).ok()?))
}

id_type!(
    /// A tenant (a company using Switchyard).
    TenantId,
    "Tenant"
);
id_type!(
    /// A user: staff member or customer-portal user.
    UserId,
    "User"
);
id_type!(
    /// A location (branch, depot) of a tenant.
    LocationId,
    "Location"
);
id_type!(
    /// A partner API key.
    ApiKeyId,
    "ApiKey"
);
id_type!(
    /// An outbox event.
    EventId,
    "Event"
);

/// Who did something: a user, or Switchyard itself (automation, sweeps). Stored as text: the
/// user's ID, or `system`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Actor {
    User(UserId),
    System,
}

impl Actor {
    /// The user, if a user acted.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Actor::User(id) => Some(*id),
            Actor::System => None,
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(id) => id.fmt(f),
            Actor::System => f.write_str("system"),
        }
    }
}

impl serde::Serialize for Actor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Actor {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.as_str() {
            "system" => Ok(Actor::System),
            id => id
                .parse()
                .map(Actor::User)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for Actor {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
    ) -> diesel::serialize::Result {
        use std::io::Write;
        match self {
            Actor::User(id) => write_pg(&id.0, out),
            Actor::System => {
                out.write_all(b"system")?;
                Ok(diesel::serialize::IsNull::No)
            }
        }
    }
}

impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for Actor {
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
    ) -> diesel::serialize::Result {
        out.set_value(self.to_string());
        Ok(diesel::serialize::IsNull::No)
    }
}

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for Actor
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let text =
            <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
        match text.as_str() {
            "system" => Ok(Actor::System),
            id => Ok(Actor::User(id.parse()?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_reject_other_types() {
        let id = UserId::new();
        let global = id.to_global();
        assert_eq!(UserId::from_global(&global), Some(id));
        assert_eq!(LocationId::from_global(&global), None);
        assert_eq!(UserId::from_global("not-base64!"), None);
        assert_eq!(
            UserId::from_global(&URL_SAFE_NO_PAD.encode("User:nope")),
            None
        );
    }

    #[test]
    fn v7_ids_sort_by_creation() {
        let a = UserId::new();
        let b = UserId::new();
        assert!(a.to_string() < b.to_string());
    }
}

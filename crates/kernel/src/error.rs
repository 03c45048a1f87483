//! Errors with stable codes.
//!
//! Rules: inside the request path, functions return [`Error`] (top-level failures) or
//! [`Rejection`] (a mutation refused for business reasons, answered as `userErrors`). Diesel's
//! `NotFound` becomes [`Error::NotFound`]; anything unexpected becomes [`Error::Internal`], which
//! is logged with an error id and answered as `INTERNAL` with that id only: internal details
//! never reach the client. `anyhow` is for start-up and the CLI, outside the request path.

use std::sync::Arc;

use async_graphql::{Enum, ErrorExtensions, SimpleObject};

/// A top-level failure, answered in `errors[].extensions.code`.
///
/// It deliberately does not implement `Display`: async-graphql converts any `Display` type
/// into an error without a code, so a `?` on this type must go through our `From` impl below.
#[derive(Debug, Clone)]
pub enum Error {
    /// No valid credentials: missing, expired, badly signed, revoked or of a deactivated user.
    Unauthenticated(String),
    /// Authenticated, but the caller lacks the permission.
    Forbidden(String),
    /// The object does not exist for this caller (also what another tenant's objects look like).
    NotFound,
    /// The request is well-formed GraphQL but its arguments break a rule.
    BadUserInput {
        message: String,
        field: Option<String>,
    },
    /// The object changed since the caller read it (stale `expectedVersion`), or a uniqueness
    /// race was lost.
    Conflict(String),
    /// Too many attempts; try again later.
    RateLimited,
    /// The database is unreachable or saturated.
    Unavailable,
    /// A subscription fell so far behind the events that it missed some (how many): its view
    /// may be stale, so it ends; the client queries again and subscribes anew.
    Lagged(u64),
    /// A bug or an unexpected failure; details are in the server log.
    Internal(Arc<anyhow::Error>),
}

impl Error {
    /// The answer when an update conditioned on the version it read found it changed: another
    /// request changed the object in between.
    pub fn changed_meanwhile() -> Error {
        Error::conflict("the object was changed by another request meanwhile; reload and retry")
    }

    /// The message a client sees.
    pub fn message(&self) -> String {
        match self {
            Error::Unauthenticated(m) | Error::Forbidden(m) | Error::Conflict(m) => m.clone(),
            Error::NotFound => "not found".to_owned(),
            Error::BadUserInput { message, .. } => message.clone(),
            Error::RateLimited => "too many requests, try again later".to_owned(),
            Error::Unavailable => "the service is temporarily unavailable".to_owned(),
            Error::Lagged(missed) => format!(
                "this subscription fell behind and missed {missed} changes; query again and subscribe anew"
            ),
            Error::Internal(_) => "internal error".to_owned(),
        }
    }

    /// The stable code for `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unauthenticated(_) => "UNAUTHENTICATED",
            Error::Forbidden(_) => "FORBIDDEN",
            Error::NotFound => "NOT_FOUND",
            Error::BadUserInput { .. } => "BAD_USER_INPUT",
            Error::Conflict(_) => "CONFLICT",
            Error::RateLimited => "RATE_LIMITED",
            Error::Unavailable => "SERVICE_UNAVAILABLE",
            Error::Lagged(_) => "SUBSCRIPTION_LAGGED",
            Error::Internal(_) => "INTERNAL",
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Error::Unauthenticated(message.into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Error::Forbidden(message.into())
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::BadUserInput {
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Error::Internal(Arc::new(error.into()))
    }

    pub(crate) fn unavailable(error: impl std::fmt::Display) -> Self {
        tracing::warn!(%error, "database connection unavailable");
        Error::Unavailable
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Error::NotFound,
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::SerializationFailure
                | diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Error::conflict("the change collided with another one; retry"),
            other => Error::internal(other),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::internal(error)
    }
}

impl ErrorExtensions for Error {
    fn extend(&self) -> async_graphql::Error {
        let mut error = async_graphql::Error::new(self.message());
        error = error.extend_with(|_, e| e.set("code", self.code()));
        match self {
            Error::Internal(source) => {
                let error_id = uuid::Uuid::now_v7().to_string();
                tracing::error!(error_id = %error_id, error = ?source, "internal error");
                error.extend_with(|_, e| e.set("errorId", error_id))
            }
            Error::BadUserInput {
                field: Some(field), ..
            } => {
                let field = field.clone();
                error.extend_with(|_, e| e.set("field", field))
            }
            _ => error,
        }
    }
}

impl From<Error> for async_graphql::Error {
    fn from(error: Error) -> Self {
        error.extend()
    }
}

/// Why a mutation's input was refused; the codes clients can switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum UserErrorCode {
    /// A required value is missing or blank.
    Required,
    /// The value is longer than allowed.
    TooLong,
    /// The value is shorter than allowed.
    TooShort,
    /// The value does not have the expected format (email, phone, time zone, currency...).
    InvalidFormat,
    /// The value is outside the allowed range.
    OutOfRange,
    /// Another object already uses this value.
    Duplicate,
    /// The value refers to something that does not exist.
    UnknownReference,
    /// The password is too weak.
    WeakPassword,
    /// The change is not allowed in the object's current state.
    InvalidState,
    /// The state machine has no such transition; the message lists the allowed ones.
    InvalidTransition,
    /// A rule guarding the change is not met; the message names the rule.
    PreconditionFailed,
    /// The caller may not grant or assign this value.
    NotAllowed,
    /// The credentials given are wrong.
    InvalidCredentials,
    /// The object changed since the version the input names; the payload carries it as it is
    /// now (an offline phone's queued edit, say).
    Conflict,
    /// The person or resource is not available then (booked, away, outside working hours);
    /// the message says who, which entry and when.
    Unavailable,
}

/// A business-rule violation in a mutation's input: where, which rule, and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
#[graphql(directive = crate::policy::Inherit::apply())]
pub struct UserError {
    /// Path to the offending input field, e.g. `["input", "email"]`.
    pub field: Vec<String>,
    /// The rule that was broken.
    pub code: UserErrorCode,
    /// A human-readable explanation.
    pub message: String,
}

impl UserError {
    /// `path` is dot-separated, e.g. `"input.email"` or `"input.items.2.quantity"`.
    pub fn new(path: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: path.split('.').map(str::to_owned).collect(),
            code,
            message: message.into(),
        }
    }
}

/// A mutation that did not happen: refused input (answered as `userErrors`, nothing written)
/// or a top-level failure.
#[derive(Debug, Clone)]
pub enum Rejection {
    Invalid(Vec<UserError>),
    Failed(Error),
}

impl Rejection {
    /// One user error.
    pub fn invalid(path: &str, code: UserErrorCode, message: impl Into<String>) -> Self {
        Rejection::Invalid(vec![UserError::new(path, code, message)])
    }
}

impl From<Error> for Rejection {
    fn from(error: Error) -> Self {
        Rejection::Failed(error)
    }
}

impl From<diesel::result::Error> for Rejection {
    fn from(error: diesel::result::Error) -> Self {
        Rejection::Failed(error.into())
    }
}

impl From<serde_json::Error> for Rejection {
    fn from(error: serde_json::Error) -> Self {
        Rejection::Failed(error.into())
    }
}

/// Declares a mutation payload: the changed object(s) plus `userErrors`.
///
/// ```text
/// payload!(
///     /// The result of `createUser`.
///     CreateUserPayload { user: User }
/// );
/// ```
/// `CreateUserPayload::from(result)` turns a `Result<User, Rejection>` into the payload, or into
/// a top-level error for [`Rejection::Failed`].
#[macro_export]
macro_rules! payload {
    // A payload of one aggregate object: also `From` its row, so a mutation ends in `of`.
    ($(#[$meta:meta])* $name:ident { $(#[$fmeta:meta])* $field:ident : $ty:ty $(,)? } from row) => {
        $crate::payload!($(#[$meta])* $name { $(#[$fmeta])* $field: $ty });

        impl ::std::convert::From<<$ty as $crate::read::Aggregate>::Row> for $name {
            fn from(row: <$ty as $crate::read::Aggregate>::Row) -> Self {
                $name {
                    $field: ::std::option::Option::Some(<$ty as $crate::read::Aggregate>::node(
                        $crate::batch::Member::one(row),
                    )),
                    user_errors: ::std::vec::Vec::new(),
                }
            }
        }
    };
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(::async_graphql::SimpleObject, Default)]
        #[graphql(directive = $crate::policy::Inherit::apply())]
        pub struct $name {
            $($(#[$fmeta])* pub $field: ::std::option::Option<$ty>,)*
            /// Why the mutation was refused; empty when it succeeded.
            pub user_errors: ::std::vec::Vec<$crate::error::UserError>,
        }

        impl $name {
            /// Builds the payload from the mutation's outcome.
            #[allow(dead_code)]
            pub fn from_outcome<T>(
                outcome: ::std::result::Result<T, $crate::error::Rejection>,
                fill: impl FnOnce(T) -> Self,
            ) -> ::async_graphql::Result<Self> {
                match outcome {
                    Ok(value) => Ok(fill(value)),
                    Err($crate::error::Rejection::Invalid(user_errors)) => Ok(Self {
                        user_errors,
                        ..::std::default::Default::default()
                    }),
                    Err($crate::error::Rejection::Failed(error)) => Err(error.into()),
                }
            }

            /// Builds the payload from the mutation's outcome through `From<T>` (for payloads
            /// of one object: implement `From<Row>` once, call `of` in every mutation).
            #[allow(dead_code)]
            pub fn of<T>(
                outcome: ::std::result::Result<T, $crate::error::Rejection>,
            ) -> ::async_graphql::Result<Self>
            where
                Self: From<T>,
            {
                Self::from_outcome(outcome, Self::from)
            }
        }
    };
}

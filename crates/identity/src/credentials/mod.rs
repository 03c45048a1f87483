//! What a user signs in with, below every GraphQL type: password hashing and strength,
//! random tokens and their digests, sessions with rotating refresh tokens, and the
//! lifetimes of the credentials Switchyard hands out. Users, API keys and authentication
//! build on it; it depends on no other identity folder.

pub mod password;
pub mod secrets;
pub mod sessions;

use std::time::Duration;

/// Lifetimes of the credentials Switchyard hands out.
#[derive(Debug, Clone)]
pub struct TokenLifetimes {
    pub access: Duration,
    pub refresh: Duration,
    pub invitation: Duration,
}

impl Default for TokenLifetimes {
    fn default() -> Self {
        TokenLifetimes {
            access: Duration::from_secs(15 * 60),
            refresh: Duration::from_secs(30 * 24 * 3600),
            invitation: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

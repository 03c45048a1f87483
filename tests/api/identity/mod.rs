//! Identity: sign-in, sessions, API keys, users, roles, locations.

mod auth;
mod users;

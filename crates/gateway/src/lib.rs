//! The gateway: merges every domain's schema and serves it over HTTP and WebSocket.

pub mod app;
pub mod checks;
pub mod config;
pub mod http;
pub mod nulls;
pub mod order;
pub mod schema;
pub mod state;
pub mod types;
pub mod ws;

pub use app::{App, shutdown_signal};
pub use config::{Config, Mode};

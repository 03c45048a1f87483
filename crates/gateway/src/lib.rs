//! The gateway: merges every domain's schema and serves it over HTTP and WebSocket.

#![recursion_limit = "256"]

pub mod app;
pub mod catalogue;
pub mod checks;
pub mod config;
pub mod downloads;
pub mod hooks;
pub mod http;
pub mod media;
pub mod nulls;
pub mod order;
pub mod origin;
mod planned;
pub mod schema;
pub mod shared;
pub mod state;
pub mod types;
mod uploads;
pub mod watch;
pub mod ws;

pub use app::{App, shutdown_signal};
pub use config::{Config, Mode};
/// The domains and the kernel, for the binary's operator commands (the binary depends on the
/// gateway only).
pub use {
    switchyard_identity as identity, switchyard_kernel as kernel,
    switchyard_notifications as notifications, switchyard_operations as operations,
    switchyard_sales as sales, switchyard_scheduling as scheduling, switchyard_support as support,
};

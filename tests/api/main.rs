#![allow(clippy::unwrap_used)] // test helpers may panic: a failed setup is a failed test
//! Black-box tests: the real server on a random port, driven over HTTP and WebSocket, on
//! SQLite and (with `SWITCHYARD_TEST_DATABASE_URL`) on PostgreSQL.

mod support;

// Across the gateway.
mod access;
mod attachments;
mod cli;
mod flow;
mod http;
mod limits;
mod ws;

// By domain.
mod identity;
mod notifications;
mod operations;
mod sales;
mod scheduling;
mod tickets;

#![allow(clippy::unwrap_used)] // test helpers may panic: a failed setup is a failed test
//! Black-box tests: the real server on a random port, driven over HTTP and WebSocket, on
//! SQLite and (with `SWITCHYARD_TEST_DATABASE_URL`) on PostgreSQL.

mod support;

mod access;
mod auth;
mod cli;
mod http;
mod limits;
mod sales_access;
mod sales_customers;
mod sales_performance;
mod sales_quotes;
mod users;
mod ws;

//! What every handler shares, and the counters behind `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use axum::http::StatusCode;
use switchyard_identity::Authenticator;
use switchyard_kernel::Services;
use tokio_util::sync::CancellationToken;

use crate::checks::Checks;
use crate::config::Config;
use crate::schema::{AppSchema, Direct};

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// The schema with per-field checks: mutations, and every query and subscription the
    /// direct path does not take.
    pub schema: AppSchema,
    /// The same schema without extensions, for queries and subscriptions the policy admits
    /// as a whole.
    pub direct: Direct,
    /// The request checks and the schema's types (for them and for the response order).
    pub checks: Arc<Checks>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// Open WebSocket operations per caller.
    pub ws_slots: Arc<crate::ws::OperationSlots>,
    /// The open WebSockets' access, checked for all of them at once (see [`crate::watch`]).
    pub access_watch: Arc<crate::watch::AccessWatch>,
    /// Subscriptions that share one execution (see [`crate::shared`]).
    pub executions: Arc<crate::shared::Executions>,
    pub services: Services,
    pub authenticator: Arc<Authenticator>,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// How events reach the other server processes.
    pub fanout: switchyard_kernel::fanout::Fanout,
    /// Cancelled when the server begins to shut down.
    pub shutdown: CancellationToken,
}

/// Process counters, exported in the Prometheus text format.
#[derive(Default)]
pub struct Metrics {
    http_2xx: AtomicU64,
    http_4xx: AtomicU64,
    http_5xx: AtomicU64,
    graphql_errors: AtomicU64,
    ws_connections: AtomicI64,
    ws_operations: AtomicU64,
    ws_direct_subscriptions: AtomicU64,
    ws_checked_subscriptions: AtomicU64,
    direct_operations: AtomicU64,
    planned_operations: AtomicU64,
    checked_operations: AtomicU64,
    replayed_operations: AtomicU64,
}

impl Metrics {
    pub fn http_response(&self, status: StatusCode) {
        let counter = match status.as_u16() {
            200..=399 => &self.http_2xx,
            400..=499 => &self.http_4xx,
            _ => &self.http_5xx,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn graphql_errors(&self, n: usize) {
        self.graphql_errors.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// An operation answered by the direct path.
    pub fn direct_operation(&self) {
        self.direct_operations.fetch_add(1, Ordering::Relaxed);
    }

    /// An operation answered by planned SQL (also counted as direct).
    pub fn planned_operation(&self) {
        self.planned_operations.fetch_add(1, Ordering::Relaxed);
        self.direct_operations.fetch_add(1, Ordering::Relaxed);
    }

    /// An operation answered by the checked schema; `replayed` when the direct path was tried
    /// first and refused the request before executing anything (a request error).
    pub fn checked_operation(&self, replayed: bool) {
        self.checked_operations.fetch_add(1, Ordering::Relaxed);
        if replayed {
            self.replayed_operations.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn ws_opened(&self) {
        self.ws_connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn ws_closed(&self) {
        self.ws_connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn ws_operation(&self) {
        self.ws_operations.fetch_add(1, Ordering::Relaxed);
    }

    /// A subscription execution started over a WebSocket, on the direct path or not.
    pub fn ws_subscription(&self, direct: bool) {
        let counter = if direct {
            &self.ws_direct_subscriptions
        } else {
            &self.ws_checked_subscriptions
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus exposition.
    pub fn render(&self, db_statements: u64, ws_executions: usize) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "# HELP switchyard_http_responses_total HTTP responses of /graphql by status class.\n\
             # TYPE switchyard_http_responses_total counter\n\
             switchyard_http_responses_total{{class=\"2xx\"}} {}\n\
             switchyard_http_responses_total{{class=\"4xx\"}} {}\n\
             switchyard_http_responses_total{{class=\"5xx\"}} {}\n\
             # HELP switchyard_graphql_errors_total GraphQL errors returned.\n\
             # TYPE switchyard_graphql_errors_total counter\n\
             switchyard_graphql_errors_total {}\n\
             # HELP switchyard_graphql_operations_total HTTP operations by execution path: direct (the \
             whole query was admitted by the access policy before it ran) or checked (per field).\n\
             # TYPE switchyard_graphql_operations_total counter\n\
             switchyard_graphql_operations_total{{path=\"direct\"}} {}\n\
             switchyard_graphql_operations_total{{path=\"checked\"}} {}\n\
             # HELP switchyard_graphql_replayed_total Admitted requests the direct path refused before \
             executing anything (request errors), answered by the checked path.\n\
             # TYPE switchyard_graphql_replayed_total counter\n\
             switchyard_graphql_replayed_total {}\n\
             # HELP switchyard_graphql_planned_total Direct operations answered by planned SQL (one \
             statement per root field) instead of the resolvers.\n\
             # TYPE switchyard_graphql_planned_total counter\n\
             switchyard_graphql_planned_total {}\n\
             # HELP switchyard_ws_connections Open WebSocket connections.\n\
             # TYPE switchyard_ws_connections gauge\n\
             switchyard_ws_connections {}\n\
             # HELP switchyard_ws_operations_total Operations started over WebSockets.\n\
             # TYPE switchyard_ws_operations_total counter\n\
             switchyard_ws_operations_total {}\n\
             # HELP switchyard_ws_subscriptions_total Subscription executions started for \
             WebSocket sockets, by execution path: direct (the whole selection was admitted by the \
             access policy) or checked (per field).\n\
             # TYPE switchyard_ws_subscriptions_total counter\n\
             switchyard_ws_subscriptions_total{{path=\"direct\"}} {}\n\
             switchyard_ws_subscriptions_total{{path=\"checked\"}} {}\n\
             # HELP switchyard_ws_subscription_executions Subscriptions running for WebSocket \
             sockets: the sockets of one caller with the same subscription share one.\n\
             # TYPE switchyard_ws_subscription_executions gauge\n\
             switchyard_ws_subscription_executions {}\n\
             # HELP switchyard_db_statements_total SQL statements run.\n\
             # TYPE switchyard_db_statements_total counter\n\
             switchyard_db_statements_total {}\n",
            get(&self.http_2xx),
            get(&self.http_4xx),
            get(&self.http_5xx),
            get(&self.graphql_errors),
            get(&self.direct_operations),
            get(&self.checked_operations),
            get(&self.replayed_operations),
            get(&self.planned_operations),
            self.ws_connections.load(Ordering::Relaxed),
            get(&self.ws_operations),
            get(&self.ws_direct_subscriptions),
            get(&self.ws_checked_subscriptions),
            ws_executions,
            db_statements,
        )
    }
}

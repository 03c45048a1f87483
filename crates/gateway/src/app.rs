//! The server: builds the services and the schema from a [`Config`], mounts the routes, runs
//! the event dispatcher, and shuts down gracefully.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use switchyard_identity::{Authenticator, JwtSettings, LoginLimits, TokenLifetimes};
use switchyard_kernel::events::{Dispatcher, EventBus};
use switchyard_kernel::fanout::Fanout;
use switchyard_kernel::files::{FileLimits, Files};
use switchyard_kernel::{Db, DbOptions, Services};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::checks::Checks;
use crate::config::{Config, Mode};
use crate::state::{AppState, Metrics};
use crate::{http, schema};

/// A built server, ready to serve.
pub struct App {
    state: AppState,
}

/// The JWT secret: configured, or in development generated once and kept in the data
/// directory so that tokens survive a restart.
fn jwt_secret(config: &Config) -> anyhow::Result<String> {
    if !config.jwt_secret.is_empty() {
        return Ok(config.jwt_secret.clone());
    }
    anyhow::ensure!(
        config.mode == Mode::Development,
        "SWITCHYARD_JWT_SECRET is required in production (at least 32 random bytes)"
    );
    let dir = config.data_dir();
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("jwt-secret");
    if let Ok(secret) = std::fs::read_to_string(&path)
        && secret.trim().len() >= 32
    {
        return Ok(secret.trim().to_owned());
    }
    let secret = switchyard_identity::credentials::secrets::random_token(48);
    std::fs::write(&path, &secret)?;
    Ok(secret)
}

/// The file store: an S3 bucket when one is configured, else a local directory; links signed
/// with a key derived from the JWT secret, so every process of a deployment accepts them.
fn files(config: &Config, secret: &str) -> anyhow::Result<Files> {
    let store: Arc<dyn object_store::ObjectStore> = if config.files_s3_bucket.is_empty() {
        let dir = match config.files_dir.as_str() {
            "" => config.data_dir().join("files"),
            dir => dir.into(),
        };
        Files::local_store(&dir)?
    } else {
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&config.files_s3_bucket)
            .with_region(&config.files_s3_region);
        if !config.files_s3_endpoint.is_empty() {
            builder = builder
                .with_endpoint(&config.files_s3_endpoint)
                .with_allow_http(config.files_s3_endpoint.starts_with("http://"));
        }
        if !config.files_s3_access_key_id.is_empty() {
            builder = builder
                .with_access_key_id(&config.files_s3_access_key_id)
                .with_secret_access_key(&config.files_s3_secret_access_key);
        }
        Arc::new(builder.build()?)
    };
    Ok(Files::new(
        store,
        secret,
        FileLimits {
            max_bytes: config.files_max_bytes,
            types: Config::list(&config.files_types),
        },
        Duration::from_secs(config.files_link_ttl_secs),
    ))
}

impl App {
    /// Connects to the database (migrating it when configured to), and builds everything.
    pub async fn build(config: Config) -> anyhow::Result<App> {
        let db = Db::connect(
            &config.database_url,
            &DbOptions {
                pool_size: config.db_pool_size,
                acquire_timeout: Duration::from_secs(config.db_acquire_timeout_secs),
                statement_timeout: Duration::from_secs(config.db_statement_timeout_secs),
            },
        )
        .await?;
        if config.auto_migrate_enabled() {
            let report = db.migrate().await?;
            if !report.applied.is_empty() {
                tracing::info!(applied = report.applied.len(), "database migrated");
            }
        } else {
            let pending = db.pending_migrations().await?;
            anyhow::ensure!(
                pending.is_empty(),
                "{} migration(s) pending ({}): run `switchyard migrate`",
                pending.len(),
                pending.join(", ")
            );
        }
        let fanout = Fanout::configure(&db, &config.nats_url, &config.nats_subject).await?;
        let catalog = Arc::new(schema::catalog());
        let secret = jwt_secret(&config)?;
        let services = Services {
            db: db.clone(),
            bus: EventBus::default(),
            catalog: catalog.clone(),
            settings: Arc::new(config.domains.clone()),
            throttle: Default::default(),
            files: Arc::new(files(&config, &secret)?),
        };
        let settings = JwtSettings {
            secret,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            public_key_files: Config::list(&config.jwt_public_keys)
                .into_iter()
                .map(Into::into)
                .collect(),
            jwks_file: Some(config.jwt_jwks_file.clone())
                .filter(|f| !f.is_empty())
                .map(Into::into),
            external_issuer: Some(config.jwt_external_issuer.clone()).filter(|s| !s.is_empty()),
            external_audience: Some(config.jwt_external_audience.clone()).filter(|s| !s.is_empty()),
        };
        let lifetimes = TokenLifetimes {
            access: Duration::from_secs(config.access_token_ttl_secs),
            refresh: Duration::from_secs(config.refresh_token_ttl_secs),
            invitation: Duration::from_secs(config.invitation_ttl_secs),
        };
        let login_limits = LoginLimits {
            per_account_and_address: config.login_failures_per_account,
            per_address: config.login_failures_per_address,
            window: Duration::from_secs(config.login_window_secs),
        };
        let authenticator = Arc::new(Authenticator::new(
            db,
            catalog,
            &settings,
            lifetimes.clone(),
            login_limits,
        )?);
        let trusted_proxies = config.trusted_proxy_addrs()?.into();
        let direct = {
            let (services, authenticator, lifetimes) =
                (services.clone(), authenticator.clone(), lifetimes.clone());
            schema::Direct::build(&config, move |b| {
                b.data(services.clone())
                    .data(authenticator.clone())
                    .data(lifetimes.clone())
            })?
        };
        let index = Arc::new(
            crate::types::SchemaIndex::from_sdl(&direct.schema.sdl())
                .map_err(|e| anyhow::anyhow!("the schema's SDL does not parse: {e}"))?,
        );
        let checks = Arc::new(Checks::new(index.clone(), config.limits()));
        let schema = {
            let (services, authenticator) = (services.clone(), authenticator.clone());
            schema::build(&config, direct.policy.clone(), index, move |b| {
                b.data(services).data(authenticator).data(lifetimes)
            })
        };
        Ok(App {
            state: AppState {
                schema,
                direct,
                checks,
                trusted_proxies,
                ws_slots: Default::default(),
                access_watch: Default::default(),
                executions: Default::default(),
                services,
                authenticator,
                config: Arc::new(config),
                metrics: Arc::new(Metrics::default()),
                fanout,
                shutdown: CancellationToken::new(),
            },
        })
    }

    pub fn services(&self) -> &Services {
        &self.state.services
    }

    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.state.authenticator
    }

    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// The routes.
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            .route("/graphql", any(http::graphql))
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .route("/hooks/support/email", post(crate::hooks::support_email))
            .route("/files/{id}", get(crate::downloads::download));
        if self.state.config.graphiql {
            router = router.route("/", get(|| async { Html(GRAPHIQL) }));
        }
        let origins = Config::list(&self.state.config.cors_origins);
        if !origins.is_empty() {
            let allow = if origins.iter().any(|o| o == "*") {
                AllowOrigin::any()
            } else {
                AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
            };
            router = router.layer(
                CorsLayer::new()
                    .allow_origin(allow)
                    .allow_methods([Method::GET, Method::POST])
                    .allow_headers([
                        header::CONTENT_TYPE,
                        header::AUTHORIZATION,
                        header::ACCEPT,
                        "x-api-key".parse().expect("static header name"),
                    ])
                    .max_age(Duration::from_secs(600)),
            );
        }
        router.with_state(self.state.clone())
    }

    /// Serves on `listener` until `signal` resolves, then stops accepting, lets in-flight
    /// requests finish (up to `shutdown_grace_secs`), closes WebSockets with 1001, and stops
    /// the dispatcher.
    pub async fn serve(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let mut dispatcher = Dispatcher::new(
            state.services.db.clone(),
            state.services.bus.clone(),
            Duration::from_millis(state.config.outbox_poll_ms),
        )
        .with_fanout(state.fanout.clone());
        let mut jobs = Vec::new();
        for module in schema::modules() {
            for handler in (module.handlers)(&state.services) {
                dispatcher = dispatcher.with_handler(handler);
            }
            jobs.extend((module.jobs)(
                &state.services,
                &state.config.domains,
                state.shutdown.clone(),
            )?);
        }
        let dispatcher = dispatcher.spawn(state.shutdown.clone());
        jobs.push(state.access_watch.clone().spawn(
            state.authenticator.clone(),
            Duration::from_secs(state.config.ws_access_recheck_secs.max(1)),
            state.shutdown.clone(),
        ));
        let token = state.shutdown.clone();
        let stopping = CancellationToken::new();
        let server = tokio::spawn(accept(listener, self.router(), stopping.clone()));
        signal.await;
        tracing::info!("shutting down: finishing in-flight requests");
        stopping.cancel();
        token.cancel();
        let grace = Duration::from_secs(state.config.shutdown_grace_secs);
        let connections = server.await?;
        if tokio::time::timeout(grace, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!("in-flight requests did not finish within the grace period");
        }
        let _ = dispatcher.await;
        for job in jobs {
            let _ = job.await;
        }
        Ok(())
    }
}

/// Accepts HTTP/1.1 connections until `stopping` is cancelled; returns the tracker of the
/// connections still open, which finish their requests in flight and close. Instead of `axum::serve` because response headers go out in title case
/// (`Sec-WebSocket-Protocol`): HTTP/1.1 header names are case-insensitive, but some clients
/// (the Python `gql` WebSocket transport) compare them case-sensitively, and title case harms
/// none. Each request carries the peer's address (`ConnectInfo`), for sign-in throttling.
async fn accept(
    listener: TcpListener,
    router: Router,
    stopping: CancellationToken,
) -> tokio_util::task::TaskTracker {
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stopping.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower::ServiceExt::oneshot(router.clone(), request)
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .title_case_headers(true)
            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
            .with_upgrades();
        let stopping = stopping.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stopping.cancelled() => {
                    // Finish the request in flight, then close (keep-alive ends).
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    connections.close();
    connections
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.services.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => {
            tracing::warn!(?error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = state
        .metrics
        .render(state.services.db.statements(), state.executions.running());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}

/// Waits for SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

const GRAPHIQL: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Switchyard · GraphiQL</title>
  <link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css">
  <style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
  <script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
  <script>
    const url = location.origin + '/graphql';
    const fetcher = GraphiQL.createFetcher({ url });
    const headers = JSON.stringify({ Authorization: 'Bearer <access token from the login mutation>' }, null, 2);
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher,
        defaultHeaders: headers,
        defaultQuery: 'mutation Login {\n  login(input: {email: "owner@example.com", password: "…"}) {\n    accessToken\n    userErrors { field code message }\n  }\n}\n',
      })
    );
  </script>
</body>
</html>
"#;

//! A real server on a random port, against a fresh database: a SQLite file always, a
//! PostgreSQL database of its own when `SWITCHYARD_TEST_DATABASE_URL` is set.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use switchyard_gateway::{App, Config};
use switchyard_identity::Authenticator;
use switchyard_identity::tenants::provision::{self, NewUser};
use switchyard_kernel::access::{BuiltinRole, UserKind};
use switchyard_kernel::db::testing::Scratch;
use switchyard_kernel::{LocationId, Services, TenantId, UserId};
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares a test that runs once per backend: `name::sqlite`, and `name::postgres`, which is
/// ignored unless asked for (`--include-ignored`) and then fails when no PostgreSQL server is
/// configured: it never reports a pass without running.
#[macro_export]
macro_rules! backend_test {
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp) $body:block) => {
        backend_test!($(#[$meta])* async fn $name($app: TestApp, |_c| {}) $body);
    };
    ($(#[$meta:meta])* async fn $name:ident($app:ident: TestApp, $configure:expr) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::support::TestApp) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite, $configure).await;
                run(app.expect("SQLite is always available")).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs PostgreSQL: set SWITCHYARD_TEST_DATABASE_URL and pass --include-ignored"]
            async fn postgres() {
                let app = $crate::support::TestApp::spawn($crate::support::Backend::Postgres, $configure).await;
                run(app.expect("SWITCHYARD_TEST_DATABASE_URL must name the PostgreSQL server for this test")).await;
            }
        }
    };
}

pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const EXTERNAL_ISSUER: &str = "https://idp.example";
pub const EXTERNAL_AUDIENCE: &str = "switchyard-partners";
pub const PASSWORD: &str = "Correct-Horse-42";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

enum DbGuard {
    Dir(PathBuf),
    Pg(#[allow(dead_code)] Scratch),
    /// Another server's database (a twin): that server cleans up.
    Shared,
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Dir(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A running server.
pub struct TestApp {
    pub addr: std::net::SocketAddr,
    pub url: String,
    pub client: reqwest::Client,
    pub services: Services,
    pub auth: Arc<Authenticator>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    database_url: String,
    _db: DbGuard,
}

/// The configuration tests run with (before a test's own changes).
pub fn test_config(database_url: String) -> Config {
    let mut config = Config {
        database_url,
        bind: "127.0.0.1:0".into(),
        auto_migrate: "true".into(),
        jwt_secret: TEST_SECRET.into(),
        jwt_public_keys: format!(
            "{},{}",
            fixture("rsa-public.pem").display(),
            fixture("ed25519-public.pem").display()
        ),
        jwt_external_issuer: EXTERNAL_ISSUER.into(),
        jwt_external_audience: EXTERNAL_AUDIENCE.into(),
        // Events are delivered when a commit wakes the dispatcher; no background polling, so
        // statement counts are exact.
        outbox_poll_ms: 3_600_000,
        db_pool_size: 5,
        files_dir: std::env::temp_dir()
            .join(format!("switchyard-files-{}", uuid::Uuid::now_v7()))
            .display()
            .to_string(),
        ..Config::default()
    };
    config
        .domains
        .set(switchyard_sales::QUOTE_EXPIRY_SWEEP_SECS, "3600");
    config
}

impl TestApp {
    /// Starts a server; `None` for PostgreSQL when no test server is configured.
    pub async fn spawn(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let (url, guard) = match backend {
            Backend::Sqlite => {
                let dir =
                    std::env::temp_dir().join(format!("switchyard-test-{}", uuid::Uuid::now_v7()));
                std::fs::create_dir_all(&dir).unwrap();
                (
                    format!("sqlite://{}/test.db", dir.display()),
                    DbGuard::Dir(dir),
                )
            }
            Backend::Postgres => {
                let scratch = Scratch::create().await.unwrap()?;
                (scratch.url().to_owned(), DbGuard::Pg(scratch))
            }
        };
        let mut config = test_config(url);
        configure(&mut config);
        Some(TestApp::serve(config, guard).await)
    }

    /// A second server on this server's database, configured differently (tokens of one are
    /// good on the other).
    pub async fn twin(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = test_config(self.database_url.clone());
        configure(&mut config);
        TestApp::serve(config, DbGuard::Shared).await
    }

    async fn serve(config: Config, guard: DbGuard) -> TestApp {
        let database_url = config.database_url.clone();
        let app = App::build(config).await.unwrap();
        let services = app.services().clone();
        let auth = app.authenticator().clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        TestApp {
            addr,
            url: format!("http://{addr}/graphql"),
            client: reqwest::Client::new(),
            services,
            auth,
            stop: Some(stop),
            server: Some(server),
            database_url,
            _db: guard,
        }
    }

    /// Begins a shutdown without waiting.
    pub fn begin_shutdown(&mut self) -> Option<tokio::task::JoinHandle<anyhow::Result<()>>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.server.take()
    }

    /// Posts a GraphQL operation; returns the HTTP status and the JSON body.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Posts an operation that must succeed at the HTTP level; returns the body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(token, query, variables).await;
        assert_eq!(status, 200, "HTTP {status}: {body}");
        body
    }

    /// Posts an operation that must succeed without any error; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// A tenant with an owner and one location.
    pub async fn tenant(&self, slug: &str) -> TestTenant {
        let (id, owner) = provision::create_tenant(
            &self.services,
            &format!("Tenant {slug}"),
            slug,
            NewUser {
                email: format!("owner@{slug}.example"),
                name: format!("Owner of {slug}"),
                password: PASSWORD.into(),
                kind: UserKind::Staff,
                roles: vec![],
                locations: vec![],
            },
        )
        .await
        .unwrap();
        let location = provision::create_location(
            &self.services,
            id,
            &format!("{slug} HQ"),
            "Europe/Stockholm",
        )
        .await
        .unwrap();
        let owner_token = self.token(id, owner).await;
        TestTenant {
            id,
            slug: slug.to_owned(),
            owner,
            owner_token,
            location,
        }
    }

    /// A user holding `roles` in `locations`, with a token.
    pub async fn user(
        &self,
        tenant: &TestTenant,
        email: &str,
        roles: &[&str],
        locations: &[LocationId],
    ) -> (UserId, String) {
        let kind = if roles.contains(&BuiltinRole::Client.key()) {
            UserKind::Client
        } else {
            UserKind::Staff
        };
        let id = provision::create_user(
            &self.services,
            tenant.id,
            NewUser {
                email: email.to_owned(),
                name: format!("User {email}"),
                password: PASSWORD.into(),
                kind,
                roles: roles.iter().map(|r| r.to_string()).collect(),
                locations: locations.to_vec(),
            },
        )
        .await
        .unwrap();
        (id, self.token(tenant.id, id).await)
    }

    /// A fresh access token for a user (a new session).
    pub async fn token(&self, tenant: TenantId, user: UserId) -> String {
        self.auth
            .open_session(&self.services, tenant, user)
            .await
            .unwrap()
            .0
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.addr)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A tenant made for a test.
pub struct TestTenant {
    pub id: TenantId,
    #[allow(dead_code)]
    pub slug: String,
    pub owner: UserId,
    pub owner_token: String,
    pub location: LocationId,
}

/// The `extensions.code` of the first error, if any.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// `userErrors` of a payload as (path, code) pairs.
pub fn user_errors(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    let path = e["field"]
                        .as_array()
                        .map(|p| {
                            p.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    (path, e["code"].as_str().unwrap_or_default().to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A customer made for a test; returns its global ID.
pub async fn customer(app: &TestApp, token: &str, input: Value) -> String {
    let data = app
        .ok(
            token,
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { field code message } } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(data["createCustomer"]["userErrors"], json!([]), "{data}");
    data["createCustomer"]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A counter of the server's `/metrics`, by its name and labels (`name{label="x"}`).
pub async fn metric(app: &TestApp, name: &str) -> u64 {
    let metrics = app
        .client
        .get(format!("http://{}/metrics", app.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from {metrics}"))
}

/// SQL statements run so far by the server's database handle.
pub fn statements(app: &TestApp) -> u64 {
    app.services.db.statements()
}

/// Waits until the outbox dispatcher delivered what the setup's mutations recorded (its
/// statements count on the same database handle).
pub async fn settle_events(app: &TestApp) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use switchyard_kernel::schema::outbox;
    for _ in 0..200 {
        let waiting: i64 = {
            let mut pooled = app.services.db.read().await.unwrap();
            let mut conn = pooled.conn();
            switchyard_kernel::db_run!(&mut conn, |c| outbox::table
                .filter(outbox::dispatched_at.is_null())
                .count()
                .get_result(c)
                .await)
            .unwrap()
        };
        if waiting == 0 {
            // The dispatcher marks a batch delivered in its last statement.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("events still waiting for delivery");
}

//! The database: pooled PostgreSQL or embedded SQLite, chosen by the URL scheme, behind one
//! connection type so that every query body is written once.
//!
//! [`Conn`] borrows either an `AsyncPgConnection` or a `SyncConnectionWrapper<SqliteConnection>`;
//! [`db_run!`](crate::db_run) compiles a query body once per backend. Reads go through
//! [`Db::read`], writes through [`Db::write`]: on SQLite the writer pool holds exactly one
//! connection, so concurrent mutations queue instead of failing with `SQLITE_BUSY`, while
//! readers keep going thanks to WAL.

mod migrate;
pub mod sql;
pub mod testing;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::{Connection, SqliteConnection};
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use futures_util::FutureExt;

pub use migrate::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, MigrationReport, migration_names};

use crate::error::Error;

/// The PostgreSQL connection type.
pub type PgConn = AsyncPgConnection;
/// The SQLite connection type: Diesel's sync connection run on tokio's blocking pool.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

diesel::define_sql_function! {
    /// A stored timestamp as GraphQL's `DateTime` reads (planned reads): registered on every
    /// SQLite connection; on PostgreSQL a function of the schema (migration 6).
    fn sy_utc(value: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// A timestamp as SQLite stores it (`%F %T%.f`, UTC) in the text the resolvers answer
/// (`DateTime<Utc>::to_rfc3339`: as few fraction digits as the value needs, `+00:00`).
fn utc_text(stored: &str) -> String {
    match chrono::NaiveDateTime::parse_from_str(stored, "%F %T%.f") {
        Ok(t) => t.and_utc().to_rfc3339(),
        Err(_) => stored.to_owned(),
    }
}

diesel::define_sql_function! {
    /// Base64url without padding (global IDs and cursors built by planned reads): registered
    /// on every SQLite connection; on PostgreSQL a function of the schema (migration 6).
    fn sy_b64url(value: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Which database a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections in the (read) pool.
    pub pool_size: usize,
    /// How long a request waits for a free connection before it is answered 503.
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout`; SQLite `busy_timeout`.
    pub statement_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            pool_size: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
        }
    }
}

/// Counts the SQL statements every connection of one [`Db`] runs (exported on `/metrics`,
/// and how tests prove a request's statement count does not grow with its rows).
#[derive(Debug, Default)]
struct StatementCounter(AtomicU64);

#[derive(Clone)]
struct CountingInstrumentation(Arc<StatementCounter>);

impl Instrumentation for CountingInstrumentation {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            self.0.0.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(target: "switchyard::sql", %query, "statement");
        }
    }
}

enum Pools {
    Postgres(Pool<PgConn>),
    Sqlite {
        read: Pool<SqliteConn>,
        write: Pool<SqliteConn>,
    },
}

/// A handle on the database: cheap to clone, shared by the whole process.
#[derive(Clone)]
pub struct Db(Arc<DbInner>);

struct DbInner {
    pools: Pools,
    statements: Arc<StatementCounter>,
    url: String,
}

/// A connection checked out of a pool. It lives on one stack frame for one unit of work, so
/// the size difference of the variants costs nothing worth an allocation per checkout.
#[allow(clippy::large_enum_variant)]
pub enum PooledConn {
    Postgres(Object<PgConn>),
    Sqlite(Object<SqliteConn>),
}

/// A borrowed connection of either backend; every query function takes `&mut Conn<'_>`, so
/// the same function runs alone or inside a caller's transaction.
pub enum Conn<'a> {
    Postgres(&'a mut PgConn),
    Sqlite(&'a mut SqliteConn),
}

/// Runs one query body against whichever backend `conn` holds. The body is compiled twice,
/// once per backend; inside it `$c` is the concrete connection.
///
/// ```text
/// db_run!(conn, |c| users::table.find(id).first::<UserRow>(c).await)
/// ```
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::Conn::Postgres($c) => {
                let $c: &mut $crate::db::PgConn = &mut **$c;
                $body
            }
            $crate::db::Conn::Sqlite($c) => {
                let $c: &mut $crate::db::SqliteConn = &mut **$c;
                $body
            }
        }
    };
}

/// The shape of a transaction body: an async closure over the transaction's connection whose
/// future is `Send` (the same trick diesel-async uses internally, which it does not export).
pub trait TxFn<T, R>: AsyncFnOnce(T) -> R + FnOnce(T) -> <Self as TxFn<T, R>>::Fut {
    type Fut: Future<Output = R>;
}

impl<F, T, Fut, R> TxFn<T, R> for F
where
    F: AsyncFnOnce(T) -> R + FnOnce(T) -> Fut,
    Fut: Future<Output = R>,
{
    type Fut = Fut;
}

impl Conn<'_> {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Postgres(_) => Backend::Postgres,
            Conn::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs `body` in a transaction: committed when it returns `Ok`, rolled back on `Err`.
    pub async fn transaction<R, E, F>(&mut self, body: F) -> Result<R, E>
    where
        for<'r, 'c> F: AsyncFnOnce(&'r mut Conn<'c>) -> Result<R, E>
            + TxFn<&'r mut Conn<'c>, Result<R, E>, Fut: Send>
            + Send,
        E: From<diesel::result::Error> + Send,
        R: Send,
    {
        match self {
            Conn::Postgres(c) => {
                c.transaction(async move |tx| {
                    let mut conn = Conn::Postgres(tx);
                    body(&mut conn).await
                })
                .await
            }
            Conn::Sqlite(c) => {
                c.transaction(async move |tx| {
                    let mut conn = Conn::Sqlite(tx);
                    body(&mut conn).await
                })
                .await
            }
        }
    }
}

impl PooledConn {
    /// Borrows the pooled connection for queries.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Postgres(c) => Conn::Postgres(c),
            PooledConn::Sqlite(c) => Conn::Sqlite(c),
        }
    }
}

/// Bytes of the SQLite file each connection reads through memory mapping: pages come from the
/// operating system's page cache, shared by every connection, instead of each connection's own
/// cache (2 MB by default, which a deep page's reads overflowed: the bench's deep statement took
/// 1.28 ms with it, 0.79 ms mapped or with an 8 MB cache per connection). Rails sets the same
/// kind of default. A file larger than this is mapped up to it and read as usual beyond.
const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;

fn sqlite_path(url: &str) -> &str {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    path.split('?').next().unwrap_or(path)
}

impl Db {
    /// Connects to `url`: `postgres://…` / `postgresql://…` or `sqlite://path` (`sqlite::memory:`
    /// is refused: every pooled connection would see its own empty database).
    pub async fn connect(url: &str, options: &DbOptions) -> anyhow::Result<Db> {
        let statements = Arc::new(StatementCounter::default());
        let pools = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let timeout_ms = options.statement_timeout.as_millis();
            let counter = statements.clone();
            let mut config = ManagerConfig::<PgConn>::default();
            // A broken connection is detected by its failed query; pinging on every checkout
            // would add a statement (and a round trip) to every request.
            config.recycling_method = RecyclingMethod::Fast;
            config.custom_setup = Box::new(move |url| {
                let counter = counter.clone();
                async move {
                    let mut conn = PgConn::establish(url).await?;
                    conn.batch_execute(&format!(
                        "SET statement_timeout = {timeout_ms}; SET TIME ZONE 'UTC'"
                    ))
                    .await
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                    conn.set_instrumentation(CountingInstrumentation(counter));
                    Ok(conn)
                }
                .boxed()
            });
            let manager = AsyncDieselConnectionManager::<PgConn>::new_with_config(url, config);
            let pool = Pool::builder(manager)
                .max_size(options.pool_size)
                .wait_timeout(Some(options.acquire_timeout))
                .runtime(deadpool::Runtime::Tokio1)
                .build()?;
            Pools::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let path = sqlite_path(url);
            anyhow::ensure!(
                !path.is_empty() && !path.contains(":memory:"),
                "SQLite needs a file path (sqlite://./data/switchyard.db), not an in-memory database"
            );
            if let Some(dir) = std::path::Path::new(path).parent()
                && !dir.as_os_str().is_empty()
            {
                std::fs::create_dir_all(dir)?;
            }
            let busy_ms = options.statement_timeout.as_millis();
            // WAL is a property of the database file: switch it once, here, rather than in
            // every new connection (where it needs an exclusive lock and can fail with BUSY).
            {
                let path = path.to_owned();
                tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                    let mut conn = SqliteConnection::establish(&path)?;
                    diesel::connection::SimpleConnection::batch_execute(
                        &mut conn,
                        &format!("PRAGMA busy_timeout = {busy_ms}; PRAGMA journal_mode = WAL;"),
                    )?;
                    Ok(())
                })
                .await??;
            }
            let build = |size: usize| -> anyhow::Result<Pool<SqliteConn>> {
                let counter = statements.clone();
                let mut config = ManagerConfig::<SqliteConn>::default();
                config.recycling_method = RecyclingMethod::Fast;
                config.custom_setup = Box::new(move |url| {
                    let counter = counter.clone();
                    let path = sqlite_path(url).to_owned();
                    async move {
                        let conn = tokio::task::spawn_blocking(move || {
                            let mut conn = SqliteConnection::establish(&path)?;
                            diesel::connection::SimpleConnection::batch_execute(
                                &mut conn,
                                &format!(
                                    "PRAGMA busy_timeout = {busy_ms}; PRAGMA synchronous = NORMAL; \
                                     PRAGMA foreign_keys = ON; PRAGMA mmap_size = {SQLITE_MMAP_BYTES};"
                                ),
                            )
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                            sy_b64url_utils::register_impl(&mut conn, |value: Option<String>| {
                                value.map(|v| URL_SAFE_NO_PAD.encode(v))
                            })
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                            sy_utc_utils::register_impl(&mut conn, |value: Option<String>| {
                                value.map(|v| utc_text(&v))
                            })
                            .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                            conn.set_instrumentation(CountingInstrumentation(counter));
                            Ok::<_, diesel::ConnectionError>(conn)
                        })
                        .await
                        .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))??;
                        Ok(SqliteConn::new(conn))
                    }
                    .boxed()
                });
                let manager =
                    AsyncDieselConnectionManager::<SqliteConn>::new_with_config(url, config);
                Ok(Pool::builder(manager)
                    .max_size(size)
                    .wait_timeout(Some(options.acquire_timeout))
                    .runtime(deadpool::Runtime::Tokio1)
                    .build()?)
            };
            Pools::Sqlite {
                read: build(options.pool_size)?,
                write: build(1)?,
            }
        } else {
            anyhow::bail!(
                "DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            );
        };
        Ok(Db(Arc::new(DbInner {
            pools,
            statements,
            url: url.to_owned(),
        })))
    }

    /// Which backend this handle talks to.
    pub fn backend(&self) -> Backend {
        match self.0.pools {
            Pools::Postgres(_) => Backend::Postgres,
            Pools::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// The URL this handle was opened with (it may hold a password: never log it).
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// A connection for reading.
    pub async fn read(&self) -> Result<PooledConn, Error> {
        match &self.0.pools {
            Pools::Postgres(pool) => pool.get().await.map(PooledConn::Postgres),
            Pools::Sqlite { read, .. } => read.get().await.map(PooledConn::Sqlite),
        }
        .map_err(Error::unavailable)
    }

    /// The connection for writing: on SQLite the single writer, so writes queue.
    pub async fn write(&self) -> Result<PooledConn, Error> {
        match &self.0.pools {
            Pools::Postgres(pool) => pool.get().await.map(PooledConn::Postgres),
            Pools::Sqlite { write, .. } => write.get().await.map(PooledConn::Sqlite),
        }
        .map_err(Error::unavailable)
    }

    /// SQL statements run so far by every connection of this handle.
    pub fn statements(&self) -> u64 {
        self.0.statements.0.load(Ordering::Relaxed)
    }

    /// `SELECT 1` on a read connection: the readiness probe.
    pub async fn ping(&self) -> Result<(), Error> {
        let mut pooled = self.read().await?;
        let mut conn = pooled.conn();
        db_run!(&mut conn, |c| c.batch_execute("SELECT 1").await)?;
        Ok(())
    }
}

impl FromStr for Backend {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "postgres" => Ok(Backend::Postgres),
            "sqlite" => Ok(Backend::Sqlite),
            other => anyhow::bail!("unknown backend {other}"),
        }
    }
}

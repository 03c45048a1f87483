//! Embedded migrations, one history per backend. The two folders carry the same migration
//! names (a test checks it), so a deployment can move between backends.

use diesel::migration::MigrationSource;
use diesel::{Connection, SqliteConnection};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{Backend, Db, PgConn, sqlite_path};

/// The PostgreSQL migration history.
pub const MIGRATIONS_POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
/// The SQLite migration history.
pub const MIGRATIONS_SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// What a migration run did.
#[derive(Debug, Default)]
pub struct MigrationReport {
    /// Versions applied by this run, oldest first.
    pub applied: Vec<String>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn with_harness<T: Send + 'static>(
    db: &Db,
    f: impl FnOnce(&mut dyn HarnessAny) -> Result<T, BoxError> + Send + 'static,
) -> anyhow::Result<T> {
    let url = db.url().to_owned();
    let backend = db.backend();
    let handle = tokio::runtime::Handle::current();
    {
        tokio::task::spawn_blocking(move || -> Result<T, BoxError> {
            let _guard = handle.enter();
            match backend {
                Backend::Postgres => {
                    let mut conn = AsyncConnectionWrapper::<PgConn>::establish(&url)?;
                    f(&mut PgHarness(&mut conn))
                }
                Backend::Sqlite => {
                    let mut conn = SqliteConnection::establish(sqlite_path(&url))?;
                    diesel::connection::SimpleConnection::batch_execute(
                        &mut conn,
                        "PRAGMA busy_timeout = 30000;",
                    )?;
                    f(&mut SqliteHarness(&mut conn))
                }
            }
        })
        .await?
        .map_err(|e| anyhow::anyhow!(e))
    }
}

/// The operations a migration run needs, over either backend.
trait HarnessAny {
    fn run_pending(&mut self) -> Result<Vec<String>, BoxError>;
    fn revert_all(&mut self) -> Result<Vec<String>, BoxError>;
    fn pending(&mut self) -> Result<Vec<String>, BoxError>;
}

struct PgHarness<'a>(&'a mut AsyncConnectionWrapper<PgConn>);
struct SqliteHarness<'a>(&'a mut SqliteConnection);

macro_rules! harness_impl {
    ($ty:ty, $source:expr) => {
        impl HarnessAny for $ty {
            fn run_pending(&mut self) -> Result<Vec<String>, BoxError> {
                Ok(self
                    .0
                    .run_pending_migrations($source)?
                    .into_iter()
                    .map(|v| v.to_string())
                    .collect())
            }
            fn revert_all(&mut self) -> Result<Vec<String>, BoxError> {
                Ok(self
                    .0
                    .revert_all_migrations($source)?
                    .into_iter()
                    .map(|v| v.to_string())
                    .collect())
            }
            fn pending(&mut self) -> Result<Vec<String>, BoxError> {
                Ok(self
                    .0
                    .pending_migrations($source)?
                    .into_iter()
                    .map(|m| m.name().to_string())
                    .collect())
            }
        }
    };
}
harness_impl!(PgHarness<'_>, MIGRATIONS_POSTGRES);
harness_impl!(SqliteHarness<'_>, MIGRATIONS_SQLITE);

impl Db {
    /// Applies every pending migration.
    pub async fn migrate(&self) -> anyhow::Result<MigrationReport> {
        let applied = with_harness(self, |h| h.run_pending()).await?;
        Ok(MigrationReport { applied })
    }

    /// Names of the migrations not yet applied.
    pub async fn pending_migrations(&self) -> anyhow::Result<Vec<String>> {
        with_harness(self, |h| h.pending()).await
    }

    /// Reverts every migration (tests prove that each `down.sql` undoes its `up.sql`).
    pub async fn revert_all_migrations(&self) -> anyhow::Result<Vec<String>> {
        with_harness(self, |h| h.revert_all()).await
    }
}

/// Migration names of one backend's embedded history, in order.
pub fn migration_names(backend: Backend) -> Vec<String> {
    let source = match backend {
        Backend::Postgres => MIGRATIONS_POSTGRES,
        Backend::Sqlite => MIGRATIONS_SQLITE,
    };
    let mut names: Vec<String> = MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source)
        .map(|ms| ms.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

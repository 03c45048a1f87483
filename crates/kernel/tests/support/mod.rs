//! Fresh databases for tests: a SQLite file in a temporary directory, and a PostgreSQL database
//! of its own when `SWITCHYARD_TEST_DATABASE_URL` is set.

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use switchyard_kernel::db::{Backend, Db, DbOptions};
use switchyard_kernel::db_run;

pub struct TestDb {
    pub db: Db,
    _guard: Option<switchyard_kernel::db::testing::Scratch>,
    _dir: Option<std::path::PathBuf>,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// PostgreSQL's ID columns (id, tenant_id, assigned_to, every *_id and *_by) as
/// `table.column`, with a further condition.
macro_rules! pg_id_columns {
    ($and:literal) => {
        concat!(
            "SELECT c.table_name || '.' || c.column_name AS name FROM information_schema.columns c \
             JOIN information_schema.tables t USING (table_schema, table_name) \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
             AND c.data_type = 'text' AND (c.column_name IN ('id', 'tenant_id', 'assigned_to') \
               OR c.column_name LIKE '%\\_id' OR c.column_name LIKE '%\\_by') ",
            $and,
            " ORDER BY 1"
        )
    };
}

impl TestDb {
    pub async fn tenant_tables(&self) -> Vec<String> {
        let sql = match self.db.backend() {
            Backend::Sqlite => {
                "SELECT m.name AS name FROM sqlite_master m \
                 WHERE m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND EXISTS \
                 (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'tenant_id') ORDER BY 1"
            }
            Backend::Postgres => {
                "SELECT table_name::text AS name FROM information_schema.columns \
                 WHERE table_schema = 'public' AND column_name = 'tenant_id' ORDER BY 1"
            }
        };
        self.names(sql).await
    }

    pub async fn tables_without_tenant_index(&self) -> Vec<String> {
        let sql = match self.db.backend() {
            Backend::Sqlite => {
                "SELECT m.name AS name FROM sqlite_master m \
                 WHERE m.type = 'table' AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND EXISTS \
                 (SELECT 1 FROM pragma_table_info(m.name) c WHERE c.name = 'tenant_id') \
                 AND NOT EXISTS (SELECT 1 FROM pragma_index_list(m.name) il \
                   JOIN pragma_index_info(il.name) ii WHERE ii.seqno = 0 AND ii.name = 'tenant_id') \
                 ORDER BY 1"
            }
            Backend::Postgres => {
                // Led by tenant_id, or carrying it as an included column that the tenant
                // condition checks (indexes led by a parent's ID: see the migration
                // id_lookups).
                "SELECT c.table_name::text AS name FROM information_schema.columns c \
                 WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' \
                 AND NOT EXISTS (SELECT 1 FROM pg_indexes x \
                   WHERE x.schemaname = 'public' AND x.tablename = c.table_name \
                   AND (x.indexdef LIKE '% USING % (tenant_id%' \
                        OR x.indexdef LIKE '% INCLUDE (tenant_id)%')) ORDER BY 1"
            }
        };
        self.names(sql).await
    }

    /// ID columns (id, tenant_id, assigned_to, every *_id and *_by) that do not compare
    /// bytewise, as `table.column`, and how many ID columns there are (see the migration
    /// id_lookups). SQLite compares text bytewise unless a table declares a collation.
    pub async fn id_columns_not_bytewise(&self) -> (Vec<String>, usize) {
        let (ids, not_bytewise) = match self.db.backend() {
            Backend::Sqlite => (
                "SELECT m.name || '.' || c.name AS name FROM sqlite_master m, pragma_table_info(m.name) c \
                 WHERE m.type = 'table' AND (c.name IN ('id', 'tenant_id', 'assigned_to') \
                   OR c.name LIKE '%\\_id' ESCAPE '\\' OR c.name LIKE '%\\_by' ESCAPE '\\') ORDER BY 1",
                "SELECT m.name AS name FROM sqlite_master m \
                 WHERE m.type = 'table' AND upper(m.sql) LIKE '% COLLATE %' ORDER BY 1",
            ),
            Backend::Postgres => (
                pg_id_columns!(""),
                pg_id_columns!("AND c.collation_name IS DISTINCT FROM 'C'"),
            ),
        };
        (self.names(not_bytewise).await, self.names(ids).await.len())
    }

    async fn names(&self, sql: &'static str) -> Vec<String> {
        let mut pooled = self.db.read().await.unwrap();
        let mut conn = pooled.conn();
        let rows: Vec<Name> = db_run!(&mut conn, |c| diesel::sql_query(sql).load(c).await).unwrap();
        rows.into_iter().map(|r| r.name).collect()
    }
}

/// Declares a test that runs once per backend: `name::sqlite` always, `name::postgres`
/// (ignored unless asked for with `--include-ignored`, and then failing without
/// `SWITCHYARD_TEST_DATABASE_URL`, never passing without running).
macro_rules! db_test {
    (async fn $name:ident($db:ident: TestDb) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run($crate::support::TestDb::sqlite().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs PostgreSQL: set SWITCHYARD_TEST_DATABASE_URL and pass --include-ignored"]
            async fn postgres() {
                run($crate::support::TestDb::postgres().await).await;
            }
        }
    };
}

impl TestDb {
    /// A fresh, migrated SQLite database.
    pub async fn sqlite() -> TestDb {
        let dir = tempdir();
        let url = format!("sqlite://{}/test.db", dir.display());
        let db = Db::connect(&url, &DbOptions::default()).await.unwrap();
        db.migrate().await.unwrap();
        TestDb {
            db,
            _guard: None,
            _dir: Some(dir),
        }
    }

    /// A fresh, migrated PostgreSQL database; panics when none is configured.
    pub async fn postgres() -> TestDb {
        let scratch = switchyard_kernel::db::testing::Scratch::create()
            .await
            .unwrap()
            .expect("SWITCHYARD_TEST_DATABASE_URL must name the PostgreSQL server for this test");
        let db = Db::connect(scratch.url(), &DbOptions::default())
            .await
            .unwrap();
        db.migrate().await.unwrap();
        TestDb {
            db,
            _guard: Some(scratch),
            _dir: None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self._dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-kernel-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

//! Scratch PostgreSQL databases for tests: one fresh database per test, dropped afterwards.
//! Driven by `SWITCHYARD_TEST_DATABASE_URL` (a server URL whose user may create databases).

use diesel_async::{AsyncConnection, SimpleAsyncConnection};

use super::PgConn;

/// The variable naming the PostgreSQL server tests may use.
pub const TEST_DATABASE_URL: &str = "SWITCHYARD_TEST_DATABASE_URL";

/// A database created for one test; dropped (with its connections) when this is dropped.
pub struct Scratch {
    admin_url: String,
    name: String,
    url: String,
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Scratch {
    /// Creates a fresh database, or `None` when no test server is configured.
    pub async fn create() -> anyhow::Result<Option<Scratch>> {
        let Ok(admin_url) = std::env::var(TEST_DATABASE_URL) else {
            return Ok(None);
        };
        let name = format!("sy_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConn::establish(&admin_url).await?;
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .await?;
        let url = with_database(&admin_url, &name);
        Ok(Some(Scratch {
            admin_url,
            name,
            url,
        }))
    }

    /// The URL of the scratch database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop runs outside async; a short-lived runtime on its own thread does the work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut conn = PgConn::establish(&admin_url).await.ok()?;
                conn.batch_execute(&sql).await.ok()
            })
        })
        .join();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_swapped_in_the_url() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}

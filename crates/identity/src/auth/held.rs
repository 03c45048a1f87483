//! What a caller's rights as read stay true under ([`Held`]): the one definition that kept
//! rights (one caller, checked inside a planned read's statement: [`Held::condition`]) and
//! open WebSockets (many callers, checked together: [`Authenticator::current`]) rely on.

use std::collections::{HashMap, HashSet};

use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::{Error, TenantId};

use super::{Authenticator, PrincipalRow};

/// The condition a caller's rights as read stay true under: the tenant's access version is
/// still the one they were read at (migration 8 counts it up, by trigger, on every change to
/// what the rights are read from), and the session is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub tenant: TenantId,
    pub version: i64,
    pub session: Option<String>,
}

impl Held {
    /// The condition as SQL (see [`switchyard_kernel::Caller::kept`]).
    pub(super) fn condition(&self) -> Sql {
        let mut condition = Sql::new("(SELECT t.access_version FROM tenants t WHERE t.id = ");
        condition
            .bind(self.tenant.to_string())
            .push(") = ")
            .bind(self.version);
        if let Some(session) = &self.session {
            condition
                .push(" AND EXISTS (SELECT 1 FROM sessions s WHERE s.id = ")
                .bind(session.as_str())
                .push(" AND s.revoked_at IS NULL)");
        }
        condition
    }
}

/// The tenants' access versions and the live sessions among those asked for.
#[derive(Debug, Default)]
pub struct Current {
    versions: HashMap<TenantId, i64>,
    live: HashSet<String>,
}

impl Current {
    /// Whether rights read under `held` still hold.
    pub fn holds(&self, held: &Held) -> bool {
        self.versions.get(&held.tenant) == Some(&held.version)
            && held.session.as_ref().is_none_or(|s| self.live.contains(s))
    }
}

/// Tenants, and sessions, asked for in one statement by [`Authenticator::current`].
const IDS_AT_ONCE: usize = 1_000;

impl Authenticator {
    /// The access versions of `tenants` and which of `sessions` are live: a statement per
    /// thousand IDs, however many connections hold them (see [`Held`]).
    pub async fn current(
        &self,
        tenants: &[TenantId],
        sessions: &[String],
    ) -> Result<Current, Error> {
        let mut current = Current::default();
        let mut pooled = self.db.read().await?;
        let mut conn = pooled.conn();
        let tenants: Vec<String> = tenants.iter().map(ToString::to_string).collect();
        let mut tenant_chunks = tenants.chunks(IDS_AT_ONCE);
        let mut session_chunks = sessions.chunks(IDS_AT_ONCE);
        loop {
            let (tenants, sessions) = (tenant_chunks.next(), session_chunks.next());
            if tenants.is_none() && sessions.is_none() {
                break;
            }
            let mut sql = Sql::new(
                "SELECT 'session' AS kind, s.id AS a, NULL AS b FROM sessions s WHERE s.revoked_at IS NULL AND s.id",
            );
            sql.is_in(sessions.unwrap_or_default().iter().cloned())
                .push(
                    " UNION ALL SELECT 'access', t.id, CAST(t.access_version AS TEXT) FROM tenants t WHERE t.id",
                )
                .is_in(tenants.unwrap_or_default().iter().cloned());
            // Its text varies with the number of IDs on SQLite.
            sql.uncached();
            let rows: Vec<PrincipalRow> = Sql::load(&sql, &mut conn).await?;
            for row in rows {
                match (row.kind.as_str(), row.a, row.b) {
                    ("session", Some(id), _) => {
                        current.live.insert(id);
                    }
                    ("access", Some(id), Some(version)) => {
                        if let (Ok(id), Ok(version)) = (id.parse(), version.parse()) {
                            current.versions.insert(id, version);
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(current)
    }
}

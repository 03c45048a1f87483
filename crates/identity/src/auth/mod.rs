//! Authentication: turning a credential into a [`Caller`].
//!
//! A request carries `Authorization: Bearer <token>` where the token is a JWT access token
//! or a partner API key (`sy_…`). A JWT is checked for signature, expiry, issuer and audience,
//! then one SQL statement loads the user's status, session, roles, custom-role permissions,
//! live grants and locations: a deactivated user or a revoked session is refused at once,
//! not when the token expires.

pub mod graphql;
mod held;
pub mod jwt;

pub use held::{Current, Held};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::{BuiltinRole, Caller, Catalog, Principal, Scope, UserKind};
use switchyard_kernel::db::sql::{Bind, Sql};
use switchyard_kernel::throttle::{Limit, Throttle};
use switchyard_kernel::{Db, Error, LocationId, TenantId, UserId, db_run, time};

use crate::api_keys;
use crate::credentials::{TokenLifetimes, sessions};
use jwt::{JwtKeys, JwtSettings};

/// Turns credentials into callers and issues tokens.
pub struct Authenticator {
    db: Db,
    catalog: Arc<Catalog>,
    keys: JwtKeys,
    pub lifetimes: TokenLifetimes,
    limiter: LoginLimiter,
    kept: KeptCallers,
}

/// Callers whose rights were read, by tenant, user and session, each kept with the condition
/// under which its rights still hold (see [`Caller::kept`]): the tenant's access version is
/// still the one they were read at (migration 8 counts it up, by trigger, on every change to
/// what [`principal_sql`] reads) and the session is live. In memory, per process; another
/// process's changes reach it through that version, not through a message.
#[derive(Default)]
struct KeptCallers {
    callers: Mutex<HashMap<KeptKey, Caller>>,
}

/// Tenant, user and session (`sid`) of a kept caller.
type KeptKey = (TenantId, UserId, Option<String>);

/// Callers kept at most; the map starts afresh when full.
const KEPT_CALLERS: usize = 10_000;

impl KeptCallers {
    fn get(&self, key: &KeptKey) -> Option<Caller> {
        self.callers.lock().ok()?.get(key).cloned()
    }

    /// Keeps `caller`, whose rights stay true under `held`.
    fn keep(&self, key: KeptKey, caller: &Caller, held: &Held) {
        let kept = caller.clone().kept_while(held.condition());
        if let Ok(mut callers) = self.callers.lock() {
            if callers.len() >= KEPT_CALLERS {
                callers.clear();
            }
            callers.insert(key, kept);
        }
    }

    fn forget(&self, key: &KeptKey) {
        if let Ok(mut callers) = self.callers.lock() {
            callers.remove(key);
        }
    }
}

/// A caller as [`Authenticator::read_caller`] read it.
struct ReadCaller {
    caller: Caller,
    version: Option<i64>,
    changes_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(QueryableByName, Debug)]
struct PrincipalRow {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    a: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    b: Option<String>,
}

/// Everything about a user that access decisions need, in one statement (prepared once per
/// connection: it runs on every request).
fn principal_sql(
    tenant: TenantId,
    user: UserId,
    session: Option<String>,
    now: chrono::NaiveDateTime,
) -> Sql {
    let (tenant, user) = (tenant.to_string(), user.to_string());
    let mut sql = Sql::new(
        "SELECT 'user' AS kind, u.status AS a, u.kind AS b FROM users u WHERE u.tenant_id = ",
    );
    sql.bind(tenant.as_str())
        .push(" AND u.id = ")
        .bind(user.as_str())
        .push(
            " UNION ALL SELECT 'session', CASE WHEN s.revoked_at IS NULL THEN 'live' ELSE 'revoked' END, NULL \
             FROM sessions s WHERE s.tenant_id = ",
        )
        .bind(tenant.as_str())
        .push(" AND s.id = ")
        .bind(Bind::OptText(session))
        .push(" AND s.user_id = ")
        .bind(user.as_str())
        .push(" UNION ALL SELECT 'role', ur.role_key, NULL FROM user_roles ur WHERE ur.tenant_id = ")
        .bind(tenant.as_str())
        .push(" AND ur.user_id = ")
        .bind(user.as_str())
        .push(
            " UNION ALL SELECT 'perm', rp.permission, rp.scope FROM user_roles ur \
             JOIN roles r ON r.tenant_id = ur.tenant_id AND r.key = ur.role_key \
             JOIN role_permissions rp ON rp.tenant_id = r.tenant_id AND rp.role_id = r.id \
             WHERE ur.tenant_id = ",
        )
        .bind(tenant.as_str())
        .push(" AND ur.user_id = ")
        .bind(user.as_str())
        .push(
            " UNION ALL SELECT CASE WHEN g.expires_at IS NULL THEN 'perm' ELSE 'perm_until' END, \
             g.permission, g.scope FROM user_grants g WHERE g.tenant_id = ",
        )
        .bind(tenant.as_str())
        .push(" AND g.user_id = ")
        .bind(user.as_str())
        .push(" AND (g.expires_at IS NULL OR g.expires_at > ")
        .bind(now)
        .push(
            ") UNION ALL SELECT 'location', ul.location_id, NULL FROM user_locations ul \
             WHERE ul.tenant_id = ",
        )
        .bind(tenant.as_str())
        .push(" AND ul.user_id = ")
        .bind(user.as_str())
        .push(
            " UNION ALL SELECT 'access', CAST(t.access_version AS TEXT), NULL FROM tenants t \
             WHERE t.id = ",
        )
        .bind(tenant.as_str());
    sql
}

impl Authenticator {
    pub fn new(
        db: Db,
        catalog: Arc<Catalog>,
        settings: &JwtSettings,
        lifetimes: TokenLifetimes,
        login_limits: LoginLimits,
    ) -> anyhow::Result<Self> {
        Ok(Authenticator {
            db,
            catalog,
            keys: JwtKeys::new(settings)?,
            lifetimes,
            limiter: LoginLimiter::new(login_limits),
            kept: KeptCallers::default(),
        })
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub(crate) fn limiter(&self) -> &LoginLimiter {
        &self.limiter
    }

    /// The caller behind a bearer credential, or UNAUTHENTICATED.
    pub async fn authenticate(&self, credential: &str) -> Result<Caller, Error> {
        Ok(self.authenticate_until(credential).await?.caller)
    }

    /// The caller behind a bearer credential and when the credential expires (a JWT's `exp`,
    /// an API key's expiry), or UNAUTHENTICATED. Long-lived connections check again then.
    pub async fn authenticate_until(&self, credential: &str) -> Result<Authenticated, Error> {
        if credential.starts_with(api_keys::KEY_PREFIX) {
            // A key acts for its creator and never beyond what the creator holds now: its
            // grants meet the creator's current ones, loaded as for a signed-in user.
            let key = api_keys::authenticate(&self.db, credential).await?;
            let owner = self
                .read_caller(key.tenant, key.owner, None, true)
                .await
                .map_err(|e| match e {
                    Error::Unauthenticated(_) => {
                        Error::unauthenticated("the API key's owner is deactivated")
                    }
                    other => other,
                })?;
            let caller = owner.caller.limited_to(
                Principal::ApiKey {
                    id: key.id,
                    owner: key.owner,
                },
                key.grants,
            );
            return Ok(Authenticated {
                caller,
                expires_at: key.expires_at.map(|t| t.and_utc()),
                changes_at: owner.changes_at,
                held: None,
            });
        }
        let claims = self.keys.verify(credential)?;
        let invalid = || Error::unauthenticated("invalid access token");
        let tenant: TenantId = claims
            .tid
            .as_deref()
            .and_then(|t| t.parse().ok())
            .ok_or_else(invalid)?;
        let by_id = claims.sub.parse::<UserId>().ok();
        let user: UserId = match by_id {
            Some(user) => user,
            // An external provider that does not know our IDs names the user by email.
            None => self
                .user_by_email(tenant, claims.email.as_deref().ok_or_else(invalid)?)
                .await?
                .ok_or_else(invalid)?,
        };
        let read = self
            .read_caller(tenant, user, claims.sid.clone(), true)
            .await?;
        Ok(Authenticated {
            caller: read.caller,
            expires_at: chrono::DateTime::from_timestamp(claims.exp, 0),
            changes_at: read.changes_at,
            // A user named by email is not held: who has that email may change unseen by the
            // access version, so such a connection checks by itself.
            held: read
                .version
                .filter(|_| by_id.is_some())
                .map(|version| Held {
                    tenant,
                    version,
                    session: claims.sid,
                }),
        })
    }

    /// The caller behind a bearer credential, as [`Authenticator::authenticate`], but possibly
    /// with rights kept from an earlier request ([`Caller::kept`]): only for code that confirms
    /// them before acting (a planned read checks them in its statement; anything else calls
    /// [`Authenticator::confirm`]). The credential itself (signature, expiry) is checked here
    /// every time.
    pub async fn authenticate_kept(&self, credential: &str) -> Result<Caller, Error> {
        if credential.starts_with(api_keys::KEY_PREFIX) {
            return self.authenticate(credential).await;
        }
        let claims = self.keys.verify(credential)?;
        let (Some(tenant), Ok(user)) = (
            claims
                .tid
                .as_deref()
                .and_then(|t| t.parse::<TenantId>().ok()),
            claims.sub.parse::<UserId>(),
        ) else {
            return self.authenticate(credential).await;
        };
        let key = (tenant, user, claims.sid);
        match self.kept.get(&key) {
            Some(caller) => Ok(caller),
            None => self.read_and_keep(key).await,
        }
    }

    /// `caller` with rights read now: the same caller when they were (not kept), else read
    /// again (and kept afresh), or UNAUTHENTICATED when the user or session no longer is.
    pub async fn confirm(&self, caller: &Caller) -> Result<Caller, Error> {
        let (true, Principal::User { id, session, .. }) =
            (caller.kept().is_some(), &caller.principal)
        else {
            return Ok(caller.clone());
        };
        let key = (caller.tenant_id, *id, session.clone());
        self.kept.forget(&key);
        self.read_and_keep(key).await
    }

    /// The caller's rights read now, kept for later requests where they may be.
    async fn read_and_keep(&self, key: KeptKey) -> Result<Caller, Error> {
        let read = self.read_caller(key.0, key.1, key.2.clone(), false).await?;
        if let Some(version) = read.version {
            let held = Held {
                tenant: key.0,
                version,
                session: key.2.clone(),
            };
            self.kept.keep(key, &read.caller, &held);
        }
        Ok(read.caller)
    }

    async fn user_by_email(&self, tenant: TenantId, email: &str) -> Result<Option<UserId>, Error> {
        use crate::schema::users;
        let email = switchyard_kernel::validate::normalize_email(email);
        let mut pooled = self.db.read().await?;
        let mut conn = pooled.conn();
        Ok(db_run!(&mut conn, |c| users::table
            .filter(users::tenant_id.eq(tenant))
            .filter(users::email.eq(&email))
            .select(users::id)
            .first::<UserId>(c)
            .await
            .optional())?)
    }

    /// Loads a user's access (one statement) and builds the caller. A session ID, when the
    /// token has one, must name a live session of that user.
    pub async fn caller_for_user(
        &self,
        tenant: TenantId,
        user: UserId,
        session: Option<String>,
    ) -> Result<Caller, Error> {
        Ok(self.read_caller(tenant, user, session, false).await?.caller)
    }

    /// The caller, the tenant's access version its rights were read at when they may be kept
    /// (not when a grant with an end date is among them: its end changes them unseen), and,
    /// when `until` asks (a long-lived connection), when the first such grant ends.
    async fn read_caller(
        &self,
        tenant: TenantId,
        user: UserId,
        session: Option<String>,
        until: bool,
    ) -> Result<ReadCaller, Error> {
        let mut pooled = self.db.read().await?;
        let mut conn = pooled.conn();
        // One moment for both statements: a grant ending between them is either held and
        // its end known, or gone.
        let now = time::now();
        let rows: Vec<PrincipalRow> = Sql::load(
            &principal_sql(tenant, user, session.clone(), now),
            &mut conn,
        )
        .await?;
        let mut status = None;
        let mut kind = UserKind::Staff;
        let mut session_live = session.is_none();
        let mut grants: Vec<(String, Scope)> = Vec::new();
        let mut locations: Vec<LocationId> = Vec::new();
        let (mut version, mut keepable) = (None, true);
        for row in rows {
            match (row.kind.as_str(), row.a, row.b) {
                ("user", Some(s), k) => {
                    status = Some(s);
                    kind = k
                        .as_deref()
                        .and_then(UserKind::parse)
                        .unwrap_or(UserKind::Staff);
                }
                ("session", Some(state), _) => session_live = state == "live",
                ("role", Some(key), _) => {
                    if let Some(role) = BuiltinRole::from_key(&key) {
                        grants.extend(
                            self.catalog
                                .role_grants(role)
                                .map(|(p, s)| (p.to_owned(), s)),
                        );
                    }
                }
                (kind @ ("perm" | "perm_until"), Some(permission), Some(scope)) => {
                    if let Some(scope) = Scope::parse(&scope) {
                        grants.push((permission, scope));
                    }
                    if kind == "perm_until" {
                        keepable = false;
                    }
                }
                ("access", Some(v), _) => version = v.parse::<i64>().ok(),
                ("location", Some(id), _) => {
                    if let Ok(id) = id.parse() {
                        locations.push(id);
                    }
                }
                _ => {}
            }
        }
        match status.as_deref() {
            Some("active") => {}
            Some("deactivated") => return Err(Error::unauthenticated("account deactivated")),
            _ => return Err(Error::unauthenticated("invalid access token")),
        }
        if !session_live {
            return Err(Error::unauthenticated("session ended; sign in again"));
        }
        let caller = Caller::new(
            tenant,
            Principal::User {
                id: user,
                kind,
                session,
            },
            locations,
            grants,
        );
        // Rare (a grant for a stocktake, a cover shift): a second statement only then.
        let changes_at = if keepable || !until {
            None
        } else {
            use crate::schema::user_grants;
            db_run!(&mut conn, |c| user_grants::table
                .filter(user_grants::tenant_id.eq(tenant))
                .filter(user_grants::user_id.eq(user))
                .filter(user_grants::expires_at.gt(now))
                .select(diesel::dsl::min(user_grants::expires_at))
                .first::<Option<chrono::NaiveDateTime>>(c)
                .await)?
            .map(|at| at.and_utc())
        };
        Ok(ReadCaller {
            caller,
            version: version.filter(|_| keepable),
            changes_at,
        })
    }

    /// Starts a session for a user without a password (the CLI's `token` command and tests):
    /// returns (access token, refresh token).
    pub async fn open_session(
        &self,
        services: &switchyard_kernel::Services,
        tenant: TenantId,
        user: UserId,
    ) -> Result<(String, String), Error> {
        let ttl = self.lifetimes.refresh;
        let (session, refresh) = services
            .mutate(async |tx| {
                Ok::<_, switchyard_kernel::Rejection>(sessions::start(tx, tenant, user, ttl).await?)
            })
            .await
            .map_err(|r| match r {
                switchyard_kernel::Rejection::Failed(e) => e,
                switchyard_kernel::Rejection::Invalid(_) => {
                    Error::internal(anyhow::anyhow!("session refused"))
                }
            })?;
        let (access, _) = self.access_token(tenant, user, &session)?;
        Ok((access, refresh))
    }

    /// An access token for a session.
    pub fn access_token(
        &self,
        tenant: TenantId,
        user: UserId,
        session: &str,
    ) -> Result<(String, chrono::DateTime<chrono::Utc>), Error> {
        self.keys
            .issue(tenant, user, session, self.lifetimes.access)
    }
}

/// Who a credential is, and until when that holds unseen.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub caller: Caller,
    /// When the credential expires (a JWT's `exp`, an API key's expiry).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the caller's rights change by themselves: the earliest end of a grant with an end
    /// date. A long-lived connection checks again then.
    pub changes_at: Option<chrono::DateTime<chrono::Utc>>,
    /// What the rights as read stay true under, where that is known (a user's rights that
    /// could be kept; not an API key's, nor rights with a grant that ends).
    pub held: Option<Held>,
}

/// How many failed sign-ins are tolerated, and for how long they count.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failures for one account from one client address.
    pub per_account_and_address: u32,
    /// Failures from one client address, whatever the accounts.
    pub per_address: u32,
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_account_and_address: 10,
            per_address: 100,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Failed sign-ins, counted per (account, client address) and per client address, never per
/// account alone: a guesser is slowed down on each address it uses and soon stopped trying
/// many accounts from one address, while the account's owner, signing in from their own
/// address, is never locked out by someone else's failures. A failure is counted the same
/// whether the account exists or not, so being throttled reveals nothing either. In memory,
/// per process, on the kernel's [`Throttle`].
#[derive(Default)]
pub struct LoginLimiter {
    limits: LoginLimits,
    throttle: Throttle,
}

/// The counters: failures per (account, address) and per address.
const PER_ACCOUNT: &str = "identity.login.account";
const PER_ADDRESS: &str = "identity.login.address";

fn account_key(account: &str, address: Option<IpAddr>) -> String {
    match address {
        Some(address) => format!("{account}\n{address}"),
        None => format!("{account}\n"),
    }
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        LoginLimiter {
            limits,
            ..Default::default()
        }
    }

    fn limit(&self, max: u32) -> Limit {
        Limit {
            max,
            window: self.limits.window,
        }
    }

    /// RATE_LIMITED when this address failed too often, for this account or at all.
    pub fn check(&self, account: &str, address: Option<IpAddr>) -> Result<(), Error> {
        let per_account = self.limit(self.limits.per_account_and_address);
        let per_address = self.limit(self.limits.per_address);
        if self
            .throttle
            .used_up(PER_ACCOUNT, &account_key(account, address), per_account)
            || address.is_some_and(|a| {
                self.throttle
                    .used_up(PER_ADDRESS, &a.to_string(), per_address)
            })
        {
            return Err(Error::RateLimited);
        }
        Ok(())
    }

    pub fn failed(&self, account: &str, address: Option<IpAddr>) {
        let per_account = self.limit(self.limits.per_account_and_address);
        self.throttle
            .count(PER_ACCOUNT, &account_key(account, address), per_account);
        if let Some(address) = address {
            let per_address = self.limit(self.limits.per_address);
            self.throttle
                .count(PER_ADDRESS, &address.to_string(), per_address);
        }
    }

    pub fn succeeded(&self, account: &str, address: Option<IpAddr>) {
        self.throttle
            .forget(PER_ACCOUNT, &account_key(account, address));
    }
}

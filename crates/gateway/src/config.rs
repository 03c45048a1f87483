//! Configuration: every key has a default, may be set in a TOML file (`SWITCHYARD_CONFIG`,
//! default `./switchyard.toml` when present) and is overridden by the environment variable
//! `SWITCHYARD_<KEY>` (upper case). `DATABASE_URL` is honoured too. The README's table is
//! checked against [`Config::KEYS`] by a test, so the two cannot drift apart.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

macro_rules! config {
    ($( $(#[doc = $doc:literal])+ $name:ident : $ty:ty = $default:expr, )*) => {
        /// The server's settings.
        #[derive(Debug, Clone)]
        pub struct Config {
            $( $(#[doc = $doc])+ pub $name: $ty, )*
            /// The domains' own settings (each domain's module declares them).
            pub domains: switchyard_kernel::module::Settings,
        }

        impl Default for Config {
            fn default() -> Self {
                Config { $( $name: $default, )* domains: domain_settings(&toml::Table::new(), &|_| None).unwrap_or_default() }
            }
        }

        impl Config {
            /// Every key: (name, default, description).
            pub const KEYS: &'static [(&'static str, &'static str, &'static str)] = &[
                $( (stringify!($name), stringify!($default), concat!($($doc),+)), )*
            ];

            /// Reads the file table and the environment over the defaults.
            pub fn from_sources(
                file: &toml::Table,
                env: &dyn Fn(&str) -> Option<String>,
            ) -> anyhow::Result<Config> {
                let defaults = Config::default();
                Ok(Config {
                    $( $name: read(stringify!($name), file, env)?.unwrap_or(defaults.$name), )*
                    domains: domain_settings(file, env)?,
                })
            }
        }
    };
}

config! {
    /// Database URL: `sqlite://path` (embedded) or `postgres://user@host/db`. `DATABASE_URL` also works.
    database_url: String = "sqlite://./data/switchyard.db".to_owned(),
    /// Address to listen on.
    bind: String = "127.0.0.1:8080".to_owned(),
    /// `development` or `production`: production requires a JWT secret and turns introspection and suggestions off by default.
    mode: Mode = Mode::Development,
    /// Apply pending migrations on start. Empty: yes on SQLite, no on PostgreSQL (run `switchyard migrate`).
    auto_migrate: String = String::new(),
    /// HS256 secret (32+ bytes) signing access tokens. Empty in development: generated once and kept in `<data dir>/jwt-secret`.
    jwt_secret: String = String::new(),
    /// `iss` of Switchyard's own tokens.
    jwt_issuer: String = "switchyard".to_owned(),
    /// `aud` of Switchyard's own tokens.
    jwt_audience: String = "switchyard".to_owned(),
    /// Comma-separated PEM files with RSA or Ed25519 public keys of external identity providers (RS256/EdDSA).
    jwt_public_keys: String = String::new(),
    /// A JWKS file with external identity providers' public keys.
    jwt_jwks_file: String = String::new(),
    /// `iss` required on external tokens.
    jwt_external_issuer: String = String::new(),
    /// `aud` required on external tokens.
    jwt_external_audience: String = String::new(),
    /// Access token lifetime, seconds.
    access_token_ttl_secs: u64 = 900,
    /// Refresh token lifetime, seconds.
    refresh_token_ttl_secs: u64 = 30 * 24 * 3600,
    /// Invitation lifetime, seconds.
    invitation_ttl_secs: u64 = 7 * 24 * 3600,
    /// Failed sign-ins tolerated for one account from one client address within the window (then RATE_LIMITED for that account from that address only).
    login_failures_per_account: u32 = 10,
    /// Failed sign-ins tolerated from one client address within the window, whatever the accounts.
    login_failures_per_address: u32 = 100,
    /// Seconds a failed sign-in counts.
    login_window_secs: u64 = 900,
    /// Comma-separated addresses of reverse proxies whose `X-Forwarded-For` names the client (sign-in throttling, logs); empty: the peer is the client.
    trusted_proxies: String = String::new(),
    /// Serve the GraphiQL IDE at `/`.
    graphiql: bool = true,
    /// Allow introspection. Empty: on in development, off in production.
    introspection: String = String::new(),
    /// Suggest field names in validation errors. Empty: on in development, off in production.
    suggestions: String = String::new(),
    /// Comma-separated origins allowed by CORS (`*` for any); empty: no CORS headers.
    cors_origins: String = String::new(),
    /// Largest request body, bytes.
    max_body_bytes: usize = 1024 * 1024,
    /// Deepest query nesting.
    max_depth: usize = 15,
    /// Highest query complexity (a connection field costs its page size times its children).
    max_complexity: usize = 5000,
    /// Most aliases in one document.
    max_aliases: usize = 30,
    /// Largest GraphQL document (the query text), bytes; checked before it is parsed.
    max_document_bytes: usize = 100_000,
    /// Most tokens (names, punctuation, values) in one document; checked before it is parsed.
    max_tokens: usize = 10_000,
    /// Deepest nesting of brackets in a document, of fragment spreads, and of variable values.
    max_nesting: usize = 64,
    /// Most field selections in one document, counted with fragments expanded.
    max_selections: usize = 1_000,
    /// Longest string in any argument or variable, characters (control characters other than tab and line breaks are refused in all of them).
    max_string_length: usize = 10_000,
    /// Run a query or subscription whose every field the access policy admits for the caller on a schema without per-field checks (faster; `false` checks every field as it resolves).
    direct_queries: bool = true,
    /// Answer an admitted query whose every field the planner knows with one SQL statement per root field that builds the JSON answer (`false`: the resolvers answer every query).
    planned_reads: bool = true,
    /// Directory of uploaded files when no S3 bucket is configured. Empty: `<data dir>/files`.
    files_dir: String = String::new(),
    /// S3 bucket for uploaded files (any S3-compatible store); empty: the local directory.
    files_s3_bucket: String = String::new(),
    /// S3 endpoint URL (for S3-compatible stores); empty: AWS.
    files_s3_endpoint: String = String::new(),
    /// S3 region.
    files_s3_region: String = "us-east-1".to_owned(),
    /// S3 access key ID; empty: the AWS environment and instance credentials.
    files_s3_access_key_id: String = String::new(),
    /// S3 secret access key.
    files_s3_secret_access_key: String = String::new(),
    /// Largest uploaded file, bytes.
    files_max_bytes: usize = 10 * 1024 * 1024,
    /// Most files in one multipart request.
    files_max_per_request: usize = 10,
    /// Comma-separated media types accepted for upload, judged from the file's bytes.
    files_types: String = switchyard_kernel::files::DEFAULT_TYPES.to_owned(),
    /// Seconds a download link works.
    files_link_ttl_secs: u64 = 300,
    /// Most operations in one batched request.
    max_batch: usize = 10,
    /// Database connections in the pool.
    db_pool_size: usize = 10,
    /// Seconds a request waits for a database connection before SERVICE_UNAVAILABLE.
    db_acquire_timeout_secs: u64 = 5,
    /// PostgreSQL statement timeout and SQLite busy timeout, seconds.
    db_statement_timeout_secs: u64 = 30,
    /// Seconds a WebSocket may wait before `connection_init` (then 4408).
    ws_init_timeout_secs: u64 = 10,
    /// Seconds between server pings on WebSockets (0: none).
    ws_ping_interval_secs: u64 = 15,
    /// Operations (subscriptions included) one WebSocket may run at once.
    ws_max_operations_per_socket: usize = 100,
    /// Operations one caller (user or API key) may run at once over all its WebSockets to this process.
    ws_max_operations_per_caller: usize = 500,
    /// Seconds between checks of the open WebSockets' credentials and rights, for all sockets at once (they are also checked when the caller's access changes, when a grant ends and when the token expires).
    ws_access_recheck_secs: u64 = 15,
    /// Seconds in-flight requests get to finish after SIGTERM.
    shutdown_grace_secs: u64 = 30,
    /// Milliseconds between outbox polls (commits wake the dispatcher at once anyway).
    outbox_poll_ms: u64 = 1000,
    /// NATS server (`nats://host:4222`) whose JetStream carries events between server processes. Empty: PostgreSQL `LISTEN/NOTIFY` (nothing to install); on SQLite one process needs none.
    nats_url: String = String::new(),
    /// The NATS subject announcements go to; its JetStream stream is named after it (`switchyard.events` → `SWITCHYARD_EVENTS`). Processes that serve one database share one subject.
    nats_subject: String = "switchyard.events".to_owned(),
    /// Email of the owner created on first start with an empty database.
    bootstrap_email: String = "owner@example.com".to_owned(),
    /// Log filter (`tracing` `EnvFilter` syntax).
    log: String = "info".to_owned(),
    /// Log format: `text` or `json`.
    log_format: String = "text".to_owned(),
}

/// How strict the server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Development,
    Production,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "development" | "dev" => Ok(Mode::Development),
            "production" | "prod" => Ok(Mode::Production),
            other => Err(format!(
                "mode must be development or production, not {other:?}"
            )),
        }
    }
}

fn read<T: FromStr>(
    name: &str,
    file: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    let var = format!("SWITCHYARD_{}", name.to_uppercase());
    let raw = env(&var)
        .or_else(|| {
            (name == "database_url")
                .then(|| env("DATABASE_URL"))
                .flatten()
        })
        .or_else(|| {
            file.get(name).map(|v| match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        });
    match raw {
        None => Ok(None),
        Some(raw) => raw
            .trim()
            .parse::<T>()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{var}: {e}")),
    }
}

/// The domains' settings from the same sources, defaults filled in; a setting whose default is
/// a number must be one.
fn domain_settings(
    file: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<switchyard_kernel::module::Settings> {
    let mut values = std::collections::BTreeMap::new();
    for module in crate::schema::modules() {
        for setting in module.settings {
            let value = read::<String>(setting.key, file, env)?
                .unwrap_or_else(|| setting.default.to_owned());
            if setting.default.parse::<u64>().is_ok() && value.trim().parse::<u64>().is_err() {
                anyhow::bail!(
                    "SWITCHYARD_{}: must be a whole number, not {value:?}",
                    setting.key.to_uppercase()
                );
            }
            values.insert(setting.key.to_owned(), value);
        }
    }
    Ok(switchyard_kernel::module::Settings::new(values))
}

impl Config {
    /// Every key the server reads, the domains' included: (name, default, description).
    pub fn keys() -> Vec<(&'static str, String, &'static str)> {
        let mut keys: Vec<_> = Config::KEYS
            .iter()
            .map(|(k, d, m)| (*k, (*d).to_owned(), *m))
            .collect();
        for module in crate::schema::modules() {
            for setting in module.settings {
                keys.push((setting.key, setting.default.to_owned(), setting.description));
            }
        }
        keys
    }

    /// Loads the TOML file (if any) and the process environment.
    pub fn load() -> anyhow::Result<Config> {
        let path = std::env::var("SWITCHYARD_CONFIG").ok();
        let file = match &path {
            Some(path) => Some(std::fs::read_to_string(path)?),
            None if Path::new("switchyard.toml").exists() => {
                Some(std::fs::read_to_string("switchyard.toml")?)
            }
            None => None,
        };
        let table: toml::Table = match file {
            Some(text) => text.parse()?,
            None => toml::Table::new(),
        };
        Config::from_sources(&table, &|k| std::env::var(k).ok())
    }

    fn flag(value: &str, default: bool) -> bool {
        match value.trim() {
            "" => default,
            v => matches!(v, "true" | "1" | "yes" | "on"),
        }
    }

    pub fn introspection_enabled(&self) -> bool {
        Self::flag(&self.introspection, self.mode == Mode::Development)
    }

    pub fn suggestions_enabled(&self) -> bool {
        Self::flag(&self.suggestions, self.mode == Mode::Development)
    }

    /// The reverse proxies of `trusted_proxies`; an entry that is not an IP address is an error.
    pub fn trusted_proxy_addrs(&self) -> anyhow::Result<Vec<std::net::IpAddr>> {
        Self::list(&self.trusted_proxies)
            .iter()
            .map(|a| {
                a.parse()
                    .map_err(|_| anyhow::anyhow!("trusted_proxies: `{a}` is not an IP address"))
            })
            .collect()
    }

    /// The request limits of [`crate::checks`].
    pub fn limits(&self) -> crate::checks::Limits {
        crate::checks::Limits {
            max_document_bytes: self.max_document_bytes,
            max_tokens: self.max_tokens,
            max_nesting: self.max_nesting,
            max_selections: self.max_selections,
            max_aliases: self.max_aliases,
            max_string_length: self.max_string_length,
            introspection: self.introspection_enabled(),
        }
    }

    pub fn auto_migrate_enabled(&self) -> bool {
        Self::flag(&self.auto_migrate, self.database_url.starts_with("sqlite:"))
    }

    pub fn list(value: &str) -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// The directory next to the SQLite file (or `./data`), for the generated dev secret.
    pub fn data_dir(&self) -> std::path::PathBuf {
        let path = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"));
        match path.and_then(|p| Path::new(p).parent()) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => "./data".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_overrides_default() {
        let file: toml::Table = "bind = \"0.0.0.0:9000\"\nmax_depth = 7\n".parse().unwrap();
        let env = |k: &str| match k {
            "SWITCHYARD_MAX_DEPTH" => Some("9".to_owned()),
            "DATABASE_URL" => Some("postgres://x@y/z".to_owned()),
            _ => None,
        };
        let config = Config::from_sources(&file, &env).unwrap();
        assert_eq!(config.bind, "0.0.0.0:9000");
        assert_eq!(config.max_depth, 9);
        assert_eq!(config.database_url, "postgres://x@y/z");
        assert_eq!(config.max_aliases, 30);
        assert!(!config.auto_migrate_enabled());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let env = |k: &str| (k == "SWITCHYARD_MAX_DEPTH").then(|| "deep".to_owned());
        let err = Config::from_sources(&toml::Table::new(), &env).unwrap_err();
        assert!(err.to_string().contains("SWITCHYARD_MAX_DEPTH"), "{err}");
    }

    #[test]
    fn production_turns_introspection_off_unless_asked() {
        let env = |k: &str| (k == "SWITCHYARD_MODE").then(|| "production".to_owned());
        let config = Config::from_sources(&toml::Table::new(), &env).unwrap();
        assert!(!config.introspection_enabled());
        assert!(!config.suggestions_enabled());
    }
}

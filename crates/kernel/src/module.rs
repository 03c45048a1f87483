//! What a domain brings to the server, as one value: the gateway registers each domain with
//! its [`Module`] (and its GraphQL parts, which are types) in one line, and learns from it the
//! domain's permissions, event types, reactions, background jobs and settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::{Context, ID};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::access::PermissionDef;
use crate::context::Services;
use crate::error::Error;
use crate::events::{EventHandler, EventSpec, PayloadSpec};

/// A configuration key a domain reads. Like every other key it is set as `SWITCHYARD_<KEY>`
/// or in the TOML file, and the README documents it (a test checks).
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    /// The default, as text (an integer for the `secs` and `number` readers).
    pub default: &'static str,
    pub description: &'static str,
}

/// The values of the domains' settings, read at start-up (defaults filled in).
#[derive(Debug, Clone, Default)]
pub struct Settings(BTreeMap<String, String>);

impl Settings {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Settings(values)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A whole number, or an error naming the key.
    pub fn number(&self, key: &str) -> anyhow::Result<u64> {
        let raw = self
            .get(key)
            .ok_or_else(|| anyhow::anyhow!("no setting {key}"))?;
        raw.trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{key} must be a whole number, not {raw:?}"))
    }

    /// A number of seconds (at least one).
    pub fn secs(&self, key: &str) -> anyhow::Result<std::time::Duration> {
        Ok(std::time::Duration::from_secs(self.number(key)?.max(1)))
    }

    /// Sets a value (tests, the CLI).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_owned(), value.into());
    }
}

/// Background work of a domain, started with the server and stopped with it.
pub type Jobs = fn(&Services, &Settings, CancellationToken) -> anyhow::Result<Vec<JoinHandle<()>>>;

/// A domain's reactions to events, built once at start-up.
pub type Handlers = fn(&Services) -> Vec<Arc<dyn EventHandler>>;

/// A domain, as the server sees it.
pub struct Module {
    pub name: &'static str,
    pub permissions: &'static [PermissionDef],
    /// Every event type the domain publishes, by aggregate: the catalogue partners read.
    pub events: &'static [&'static [EventSpec]],
    /// The structures those events carry.
    pub payloads: &'static [&'static [PayloadSpec]],
    pub handlers: Handlers,
    pub jobs: Jobs,
    pub settings: &'static [Setting],
    /// Subscriptions whose answers need not be worked out once per person.
    pub impersonal: &'static [Impersonal],
}

impl Module {
    /// A module with nothing but a name; fill in what the domain has.
    pub const fn named(name: &'static str) -> Module {
        Module {
            name,
            permissions: &[],
            events: &[],
            payloads: &[],
            handlers: |_| Vec::new(),
            jobs: |_, _, _| Ok(Vec::new()),
            settings: &[],
            impersonal: &[],
        }
    }
}

/// A subscription whose answers, for the fields it lists, depend on the caller's tenant,
/// rights and locations but not on who the caller is, when `admits` says so for the caller and
/// the arguments: the gateway then lets different people's sockets share one execution (as it
/// always does for one person's). Only for staff users; anything outside the list (another
/// field, a fragment on an interface, another root field beside it) keeps the subscription
/// personal.
///
/// Listing a field is an authorization claim: a field whose answer consults the person (a
/// `me` clause that could decide, a link signed for the reader) would be shown to others. See
/// `docs/person-dependent-reads.md` for what consults the person.
pub struct Impersonal {
    /// The subscription's root field.
    pub root: &'static str,
    /// Each GraphQL object type below the root with the fields of it that may be selected.
    pub fields: &'static [(&'static str, &'static [&'static str])],
    /// Whether `caller` gets answers that do not depend on the person, given the root field's
    /// arguments (as JSON, variables written in).
    pub admits: fn(&crate::Caller, &serde_json::Map<String, serde_json::Value>) -> bool,
}

impl Impersonal {
    /// Whether `field` of `type_name` may be selected.
    pub fn lists(&self, type_name: &str, field: &str) -> bool {
        self.fields
            .iter()
            .any(|(ty, fields)| *ty == type_name && fields.contains(&field))
    }
}

/// A GraphQL object with a global ID, fetchable with `node(id:)`: the gateway's `Node`
/// interface is made of the node types the domains register.
pub trait NodeType: Sized + Send {
    /// The GraphQL type name, as in its global IDs.
    const TYPE_NAME: &'static str;

    /// The object behind a global ID of this type, as the caller may see it; NOT_FOUND when
    /// it does not exist for the caller.
    fn load(
        ctx: &Context<'_>,
        id: &ID,
    ) -> impl std::future::Future<Output = Result<Self, Error>> + Send;
}

/// Implements [`NodeType`] for an object with an ID newtype and a `find(ctx, id)`:
/// `node_type!(Customer, CustomerId);`.
#[macro_export]
macro_rules! node_type {
    ($ty:ty, $id:ty) => {
        impl $crate::module::NodeType for $ty {
            const TYPE_NAME: &'static str = <$id>::TYPE_NAME;

            async fn load(
                ctx: &::async_graphql::Context<'_>,
                id: &::async_graphql::ID,
            ) -> ::std::result::Result<Self, $crate::Error> {
                <$ty>::find(ctx, <$id>::parse(id)?).await
            }
        }
    };
}

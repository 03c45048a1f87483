//! Who is calling and what they may do.
//!
//! A permission is named `domain.resource:action` (`sales.quote:approve`). A role is a set of
//! (permission, scope); the scope says which rows the permission reaches: the caller's own,
//! those of the caller's locations, or the whole tenant. Each domain crate declares its
//! permissions and which built-in roles hold them ([`PermissionDef`]); the gateway gathers them
//! into one [`Catalog`]. Identity turns a principal into a [`Caller`] once per request.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use crate::db::sql::Sql;
use crate::error::Error;
use crate::ids::{ApiKeyId, LocationId, TenantId, UserId};

crate::text_enum! {
    /// How far a permission reaches. Ordered: `Own < Location < Tenant`.
    #[derive(PartialOrd, Ord)]
    #[graphql(name = "PermissionScope")]
    pub enum Scope {
        /// Rows the caller owns or is assigned to.
        Own = "own",
        /// Rows of the caller's locations.
        Location = "location",
        /// Every row of the tenant.
        Tenant = "tenant",
    }
}

/// The roles every tenant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BuiltinRole {
    Owner,
    Admin,
    Manager,
    SalesRep,
    Dispatcher,
    Crew,
    SupportAgent,
    Accountant,
    Observer,
    /// A customer-portal user.
    Client,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 10] = [
        BuiltinRole::Owner,
        BuiltinRole::Admin,
        BuiltinRole::Manager,
        BuiltinRole::SalesRep,
        BuiltinRole::Dispatcher,
        BuiltinRole::Crew,
        BuiltinRole::SupportAgent,
        BuiltinRole::Accountant,
        BuiltinRole::Observer,
        BuiltinRole::Client,
    ];

    /// The role's key, as stored and as shown in the API.
    pub fn key(&self) -> &'static str {
        match self {
            BuiltinRole::Owner => "owner",
            BuiltinRole::Admin => "admin",
            BuiltinRole::Manager => "manager",
            BuiltinRole::SalesRep => "sales_rep",
            BuiltinRole::Dispatcher => "dispatcher",
            BuiltinRole::Crew => "crew",
            BuiltinRole::SupportAgent => "support_agent",
            BuiltinRole::Accountant => "accountant",
            BuiltinRole::Observer => "observer",
            BuiltinRole::Client => "client",
        }
    }

    pub fn from_key(key: &str) -> Option<BuiltinRole> {
        BuiltinRole::ALL.into_iter().find(|r| r.key() == key)
    }

    /// A display name.
    pub fn name(&self) -> &'static str {
        match self {
            BuiltinRole::Owner => "Owner",
            BuiltinRole::Admin => "Administrator",
            BuiltinRole::Manager => "Manager",
            BuiltinRole::SalesRep => "Sales representative",
            BuiltinRole::Dispatcher => "Dispatcher",
            BuiltinRole::Crew => "Crew member",
            BuiltinRole::SupportAgent => "Support agent",
            BuiltinRole::Accountant => "Accountant",
            BuiltinRole::Observer => "Observer",
            BuiltinRole::Client => "Customer-portal client",
        }
    }

    /// What the role is for.
    pub fn description(&self) -> &'static str {
        match self {
            BuiltinRole::Owner => "Everything, including the tenant itself.",
            BuiltinRole::Admin => "Everything except transferring or closing the tenant.",
            BuiltinRole::Manager => {
                "Runs the locations they belong to: approves quotes, manages staff records."
            }
            BuiltinRole::SalesRep => "Works their own customers, leads, tasks and quotes.",
            BuiltinRole::Dispatcher => "Plans jobs, crews and the calendar of their locations.",
            BuiltinRole::Crew => "Sees and updates the jobs they are assigned to.",
            BuiltinRole::SupportAgent => "Works the support queue and customer tickets.",
            BuiltinRole::Accountant => "Invoices, payments and the ledger.",
            BuiltinRole::Observer => "Reads everything except personal contact details.",
            BuiltinRole::Client => "A customer: sees and answers what is addressed to them.",
        }
    }
}

/// A permission a domain declares.
#[derive(Debug)]
pub struct PermissionDef {
    /// `domain.resource:action`.
    pub name: &'static str,
    pub description: &'static str,
    /// Built-in roles holding it, each with its scope.
    pub roles: &'static [(BuiltinRole, Scope)],
}

/// Every permission of every domain.
#[derive(Debug, Default)]
pub struct Catalog {
    permissions: BTreeMap<&'static str, &'static PermissionDef>,
}

impl Catalog {
    /// Gathers the permissions of the given domains. Panics on a duplicate name: that is a
    /// programming error caught by the first test that builds the schema.
    pub fn new(domains: &[&'static [PermissionDef]]) -> Self {
        let mut permissions = BTreeMap::new();
        for def in domains.iter().flat_map(|d| d.iter()) {
            let previous = permissions.insert(def.name, def);
            assert!(previous.is_none(), "permission {} declared twice", def.name);
        }
        Catalog { permissions }
    }

    pub fn get(&self, name: &str) -> Option<&'static PermissionDef> {
        self.permissions.get(name).copied()
    }

    pub fn all(&self) -> impl Iterator<Item = &'static PermissionDef> + '_ {
        self.permissions.values().copied()
    }

    /// The (permission, scope) pairs a built-in role holds.
    pub fn role_grants(&self, role: BuiltinRole) -> impl Iterator<Item = (&'static str, Scope)> {
        self.permissions.values().filter_map(move |def| {
            def.roles
                .iter()
                .find(|(r, _)| *r == role)
                .map(|(_, scope)| (def.name, *scope))
        })
    }
}

crate::text_enum! {
    /// The kind of a user account.
    pub enum UserKind {
        /// An employee of the tenant.
        Staff = "staff",
        /// A customer using the customer portal.
        Client = "client",
    }
}

/// Who is behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in user; `session` is absent for tokens of an external identity provider.
    User {
        id: UserId,
        kind: UserKind,
        session: Option<String>,
    },
    /// A partner API key, acting for the user who created it.
    ApiKey { id: ApiKeyId, owner: UserId },
    /// Switchyard itself (automation, reactions to events).
    System,
}

/// An authenticated caller: tenant, principal, effective permissions and locations.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: TenantId,
    pub principal: Principal,
    /// The locations the acting user belongs to (for `location` scope).
    pub location_ids: Arc<[LocationId]>,
    permissions: Arc<HashMap<String, Scope>>,
    /// Set when the server kept these rights from an earlier request instead of reading them
    /// for this one: a condition, true while they still hold. Whatever acts for such a caller
    /// confirms them first: the planner compiles the condition into its statement, every other
    /// path reads the rights again (see `Authenticator::confirm` in identity).
    kept_while: Option<Arc<Sql>>,
}

/// Which rows of a table a caller reaches for one permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowScope {
    /// Rows the user owns or is assigned to.
    Own(UserId),
    /// Rows of these locations, plus the user's own.
    Location {
        user: UserId,
        locations: Arc<[LocationId]>,
    },
    /// Every row of the tenant.
    Tenant,
}

impl RowScope {
    /// Whether a row owned by `owner` (assigned to or created by) and belonging to `location`
    /// lies within this scope: the rule the scope's SQL filters state, for one row in memory
    /// (a field hidden row by row, such as contact details under a narrower permission).
    pub fn reaches(&self, owner: Option<UserId>, location: Option<LocationId>) -> bool {
        match self {
            RowScope::Tenant => true,
            RowScope::Own(user) => owner == Some(*user),
            RowScope::Location { user, locations } => {
                owner == Some(*user) || location.is_some_and(|l| locations.contains(&l))
            }
        }
    }
}

/// One map for every caller holding the same rights: open WebSockets keep their caller for as
/// long as they stay open, and thousands of dispatchers hold the same few sets of rights.
fn shared(permissions: HashMap<String, Scope>) -> Arc<HashMap<String, Scope>> {
    type Sets = HashMap<u64, Vec<Weak<HashMap<String, Scope>>>>;
    static SETS: LazyLock<Mutex<Sets>> = LazyLock::new(Mutex::default);
    let mut pairs: Vec<(&str, Scope)> = permissions.iter().map(|(p, s)| (p.as_str(), *s)).collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut hasher = std::hash::DefaultHasher::new();
    pairs.hash(&mut hasher);
    let key = hasher.finish();
    drop(pairs);
    let Ok(mut sets) = SETS.lock() else {
        return Arc::new(permissions);
    };
    let same = sets.entry(key).or_default();
    same.retain(|set| set.strong_count() > 0);
    if let Some(set) = same
        .iter()
        .filter_map(Weak::upgrade)
        .find(|set| **set == permissions)
    {
        return set;
    }
    let set = Arc::new(permissions);
    same.push(Arc::downgrade(&set));
    // Sets no caller holds any more leave their (empty) place now and then.
    if sets.len() > 256 {
        sets.retain(|_, same| {
            same.retain(|set| set.strong_count() > 0);
            !same.is_empty()
        });
    }
    set
}

impl Caller {
    /// Whether the caller holds `permission` at a scope that reaches the row (see
    /// [`RowScope::reaches`]).
    pub fn reaches(
        &self,
        permission: &str,
        owner: Option<UserId>,
        location: Option<LocationId>,
    ) -> bool {
        self.row_scope(permission)
            .is_ok_and(|scope| scope.reaches(owner, location))
    }

    /// Builds a caller; for each permission the widest scope among all grants wins.
    pub fn new(
        tenant_id: TenantId,
        principal: Principal,
        location_ids: Vec<LocationId>,
        grants: impl IntoIterator<Item = (String, Scope)>,
    ) -> Self {
        let mut permissions: HashMap<String, Scope> = HashMap::new();
        for (permission, scope) in grants {
            let entry = permissions.entry(permission).or_insert(scope);
            if scope > *entry {
                *entry = scope;
            }
        }
        Caller {
            tenant_id,
            principal,
            location_ids: location_ids.into(),
            permissions: shared(permissions),
            kept_while: None,
        }
    }

    /// These rights, kept by the server while `condition` (SQL) holds.
    pub fn kept_while(mut self, condition: Sql) -> Caller {
        self.kept_while = Some(Arc::new(condition));
        self
    }

    /// The condition under which kept rights still hold; `None`: read for this request.
    pub fn kept(&self) -> Option<&Sql> {
        self.kept_while.as_deref()
    }

    /// This caller acting through a credential limited to `grants` (an API key): each
    /// permission at the narrower of the grant's scope and this caller's, and none that this
    /// caller lacks. The locations stay this caller's.
    pub fn limited_to(
        &self,
        principal: Principal,
        grants: impl IntoIterator<Item = (String, Scope)>,
    ) -> Caller {
        let grants: Vec<(String, Scope)> = grants
            .into_iter()
            .filter_map(|(permission, scope)| {
                let held = self.scope_of(&permission)?;
                Some((permission, scope.min(held)))
            })
            .collect();
        Caller::new(
            self.tenant_id,
            principal,
            self.location_ids.to_vec(),
            grants,
        )
    }

    /// Whether this caller reaches at least everything `earlier` reached: every permission
    /// at the same or a wider scope, and every location. A caller that no longer covers its
    /// earlier self has lost a right (demoted, a grant expired, a location removed).
    pub fn covers(&self, earlier: &Caller) -> bool {
        self.tenant_id == earlier.tenant_id
            && self.principal == earlier.principal
            && earlier
                .permissions
                .iter()
                .all(|(permission, scope)| self.scope_of(permission).is_some_and(|s| s >= *scope))
            && earlier
                .location_ids
                .iter()
                .all(|l| self.location_ids.contains(l))
    }

    /// The system principal of a tenant: every permission, tenant-wide.
    pub fn system(tenant_id: TenantId, catalog: &Catalog) -> Self {
        Caller::new(
            tenant_id,
            Principal::System,
            Vec::new(),
            catalog.all().map(|d| (d.name.to_owned(), Scope::Tenant)),
        )
    }

    /// Who acts, for the records: the user (the signed-in user, or an API key's creator), or
    /// Switchyard itself.
    pub fn actor(&self) -> crate::ids::Actor {
        self.user_id()
            .map_or(crate::ids::Actor::System, crate::ids::Actor::User)
    }

    /// The user acting: the signed-in user, or the creator of an API key.
    pub fn user_id(&self) -> Option<UserId> {
        match &self.principal {
            Principal::User { id, .. } => Some(*id),
            Principal::ApiKey { owner, .. } => Some(*owner),
            Principal::System => None,
        }
    }

    /// The scope of a permission, if held.
    pub fn scope_of(&self, permission: &str) -> Option<Scope> {
        self.permissions.get(permission).copied()
    }

    pub fn has(&self, permission: &str) -> bool {
        self.permissions.contains_key(permission)
    }

    /// The scope of a permission, or FORBIDDEN naming it.
    pub fn require(&self, permission: &str) -> Result<Scope, Error> {
        self.scope_of(permission)
            .ok_or_else(|| Error::forbidden(format!("missing permission {permission}")))
    }

    /// The rows a permission reaches, or FORBIDDEN.
    pub fn row_scope(&self, permission: &str) -> Result<RowScope, Error> {
        let scope = self.require(permission)?;
        Ok(match (scope, self.user_id()) {
            (Scope::Tenant, _) | (_, None) => RowScope::Tenant,
            (Scope::Own, Some(user)) => RowScope::Own(user),
            (Scope::Location, Some(user)) => RowScope::Location {
                user,
                locations: self.location_ids.clone(),
            },
        })
    }

    /// Every permission held, with its scope, sorted by name.
    pub fn permissions(&self) -> Vec<(String, Scope)> {
        let mut all: Vec<_> = self
            .permissions
            .iter()
            .map(|(p, s)| (p.clone(), *s))
            .collect();
        all.sort();
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limited_caller_never_exceeds_its_owner_and_losses_are_seen() {
        let user = UserId::new();
        let principal = Principal::User {
            id: user,
            kind: UserKind::Staff,
            session: None,
        };
        let owner = Caller::new(
            TenantId::new(),
            principal.clone(),
            vec![],
            [
                ("sales.customer:read".to_owned(), Scope::Location),
                ("sales.quote:read".to_owned(), Scope::Tenant),
            ],
        );
        let key = owner.limited_to(
            Principal::ApiKey {
                id: ApiKeyId::new(),
                owner: user,
            },
            [
                ("sales.customer:read".to_owned(), Scope::Tenant),
                ("sales.quote:read".to_owned(), Scope::Own),
                ("identity.user:manage".to_owned(), Scope::Tenant),
            ],
        );
        assert_eq!(key.scope_of("sales.customer:read"), Some(Scope::Location));
        assert_eq!(key.scope_of("sales.quote:read"), Some(Scope::Own));
        assert_eq!(key.scope_of("identity.user:manage"), None);
        let demoted = Caller::new(
            owner.tenant_id,
            principal,
            vec![],
            [("sales.customer:read".to_owned(), Scope::Own)],
        );
        assert!(owner.covers(&owner) && owner.covers(&demoted));
        assert!(!demoted.covers(&owner));
    }

    #[test]
    fn the_widest_scope_wins_and_missing_permissions_are_forbidden() {
        let user = UserId::new();
        let caller = Caller::new(
            TenantId::new(),
            Principal::User {
                id: user,
                kind: UserKind::Staff,
                session: None,
            },
            vec![],
            [
                ("sales.customer:read".to_owned(), Scope::Own),
                ("sales.customer:read".to_owned(), Scope::Tenant),
                ("sales.quote:read".to_owned(), Scope::Own),
            ],
        );
        assert_eq!(caller.scope_of("sales.customer:read"), Some(Scope::Tenant));
        assert_eq!(
            caller.row_scope("sales.quote:read").ok(),
            Some(RowScope::Own(user))
        );
        let err = caller.require("sales.quote:approve").unwrap_err();
        assert_eq!(err.code(), "FORBIDDEN");
        assert!(err.message().contains("sales.quote:approve"));
    }

    #[test]
    fn callers_with_the_same_rights_share_them_and_no_others() {
        let tenant = TenantId::new();
        let caller = |user: UserId, grants: &[(&str, Scope)]| {
            Caller::new(
                tenant,
                Principal::User {
                    id: user,
                    kind: UserKind::Staff,
                    session: None,
                },
                vec![],
                grants.iter().map(|(p, s)| ((*p).to_owned(), *s)),
            )
        };
        let (a, b) = (UserId::new(), UserId::new());
        let first = caller(
            a,
            &[("x.y:read", Scope::Tenant), ("x.y:update", Scope::Own)],
        );
        // The same rights, granted in another order and through two roles.
        let second = caller(
            b,
            &[
                ("x.y:update", Scope::Own),
                ("x.y:read", Scope::Own),
                ("x.y:read", Scope::Tenant),
            ],
        );
        assert!(Arc::ptr_eq(&first.permissions, &second.permissions));
        // Shared rights are still each caller's own: the user in the row scope is theirs.
        assert_eq!(second.row_scope("x.y:update").ok(), Some(RowScope::Own(b)));
        let narrower = caller(
            a,
            &[("x.y:read", Scope::Location), ("x.y:update", Scope::Own)],
        );
        assert!(!Arc::ptr_eq(&first.permissions, &narrower.permissions));
        assert_eq!(narrower.scope_of("x.y:read"), Some(Scope::Location));
        let fewer = caller(a, &[("x.y:read", Scope::Tenant)]);
        assert_eq!(fewer.scope_of("x.y:update"), None);
        assert!(!fewer.covers(&first) && first.covers(&fewer));
    }
}

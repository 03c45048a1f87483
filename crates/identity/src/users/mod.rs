//! Users: staff members and customer-portal clients of a tenant.

pub mod events;
pub mod mutations;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::{RowScope, UserKind};
use switchyard_kernel::batch::Member;
use switchyard_kernel::connection::{Connection, Cursor, PageArgs, SortDirection};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::policy::{Authenticated, Require};
use switchyard_kernel::read::{Aggregate, Expr};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, Scope, TenantId, UserId, db_run,
};

use crate::locations::Location;
use crate::permissions::{CLIENT_CONTACT_READ, USER_READ};
use crate::roles::{Role, UserGrant};
use crate::schema::users;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub name: String,
    pub kind: UserKind,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub version: i32,
}

switchyard_kernel::text_enum! {
    /// Whether a user may sign in.
    pub enum UserStatus {
        /// Signs in normally.
        Active = "active",
        /// Created without a password; waits for the invitation to be accepted.
        Invited = "invited",
        /// May not sign in; every session has ended.
        Deactivated = "deactivated",
    }
}

/// A person who signs in: a staff member or a customer-portal client.
///
/// Its fields inherit their access from the field that returned the user: every such field
/// is guarded (`me`, `users`, `node`, a relation on a guarded type), and `login` returns the
/// user who just proved who they are.
#[derive(Clone)]
pub struct User(pub(crate) Member<UserRow>);

#[Object(directive = switchyard_kernel::policy::Inherit::apply())]
impl User {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    /// Lower-cased; unique within the tenant. A customer-portal user's address is a
    /// customer's contact detail: null for callers without `identity.client_contact:read`
    /// reaching it (a client sees its own).
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        let visible = self.0.kind != UserKind::Client
            || match ctx.data_opt::<switchyard_kernel::Caller>() {
                Some(caller) => caller.reaches(CLIENT_CONTACT_READ, Some(self.0.id), None),
                // Without a caller, the only way to a user is a sign-in payload (`login`,
                // `refreshSession`, `acceptInvitation`): the user who just proved who they are.
                None => true,
            };
        visible.then_some(self.0.email.as_str())
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> UserKind {
        self.0.kind
    }

    async fn status(&self) -> UserStatus {
        self.0.status
    }

    /// The roles the user holds.
    async fn roles(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Role>> {
        let roles = self
            .0
            .siblings()
            .batch("roles", |rows| {
                crate::roles::roles_of(ctx, rows.iter().map(|r| r.id).collect())
            })
            .await?;
        Ok(roles.get(&self.0.id).cloned().unwrap_or_default())
    }

    /// The locations the user belongs to (what `location` scope reaches).
    async fn locations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Location>> {
        let locations = self
            .0
            .siblings()
            .batch("locations", |rows| {
                crate::locations::locations_of(ctx, rows.iter().map(|r| r.id).collect())
            })
            .await?;
        Ok(Location::all(
            locations.get(&self.0.id).cloned().unwrap_or_default(),
        ))
    }

    /// Extra permissions granted to this user, expired ones included.
    #[graphql(directive = Require::apply(USER_READ))]
    async fn grants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserGrant>> {
        let grants = self
            .0
            .siblings()
            .batch("grants", |rows| {
                crate::roles::grants_of(ctx, rows.iter().map(|r| r.id).collect())
            })
            .await?;
        Ok(grants
            .get(&self.0.id)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(UserGrant)
            .collect())
    }

    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at.map(|t| t.and_utc())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.and_utc()
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.and_utc()
    }

    /// Increases with every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

switchyard_kernel::node_type!(User, UserId);

impl User {
    pub fn row(&self) -> &UserRow {
        self.0.row()
    }

    /// A user on its own.
    pub fn one(row: UserRow) -> User {
        User(Member::one(row))
    }

    /// A user by ID as `caller` may see it; NOT_FOUND otherwise (another tenant, out of scope).
    pub async fn find(ctx: &Context<'_>, id: UserId) -> Result<User, Error> {
        let caller = ctx.caller()?;
        let scope = caller.row_scope(USER_READ)?;
        let mut pooled = ctx.services()?.db.read().await?;
        find_scoped(&mut pooled.conn(), caller.tenant_id, &scope, id)
            .await?
            .map(User::one)
            .ok_or(Error::NotFound)
    }
}

/// The users `caller` reaches with `permission` (of `identity.user:read`'s kind): everyone,
/// oneself, or oneself and the users sharing one of one's locations, as a condition on `t`.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    Ok(scope_expr(caller.tenant_id, &caller.row_scope(permission)?))
}

fn scope_expr(tenant: TenantId, scope: &RowScope) -> Expr {
    match scope {
        RowScope::Tenant => Expr::True,
        RowScope::Own(me) => Expr::Cmp {
            column: "id",
            op: "=",
            value: me.to_string().into(),
        },
        RowScope::Location { user, locations } => {
            let mut sql = Sql::new("t.id = ");
            sql.bind(user.to_string())
                .push(" OR t.id IN (SELECT ul.user_id FROM user_locations ul WHERE ul.tenant_id = ")
                .bind(tenant.to_string())
                .push(" AND ul.location_id")
                .is_in(locations.iter().map(ToString::to_string))
                .push(")");
            Expr::Sql(sql)
        }
    }
}

/// A user within a row scope.
pub(crate) async fn find_scoped(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    scope: &RowScope,
    id: UserId,
) -> Result<Option<UserRow>, Error> {
    switchyard_kernel::read::Listing {
        table: "users",
        tenant,
        scope: scope_expr(tenant, scope),
        filter: Expr::True,
        order: switchyard_kernel::read::Order {
            column: None,
            desc: false,
        },
    }
    .one(conn, &id.to_string())
    .await
}

/// Users as other domains' relations read them (an assignee, a creator): null where the
/// caller's `identity.user:read` scope does not reach.
impl Aggregate for User {
    type Id = UserId;
    type Row = UserRow;
    const TABLE: &'static str = "users";
    const TYPE_NAME: &'static str = UserId::TYPE_NAME;
    const READ: &'static str = USER_READ;

    fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
        scope(caller, permission)
    }
    fn id(row: &UserRow) -> UserId {
        row.id
    }
    fn owner(row: &UserRow) -> (Option<UserId>, Option<LocationId>) {
        (Some(row.id), None)
    }
    fn node(member: Member<UserRow>) -> User {
        User(member)
    }
    fn member(&self) -> &Member<UserRow> {
        &self.0
    }
}

/// Filters for `users`.
#[derive(Debug, Default, InputObject)]
pub struct UserFilter {
    /// Part of the name or email, case-insensitive.
    pub search: Option<String>,
    pub status: Option<UserStatus>,
    pub kind: Option<UserKind>,
    /// Users holding this role key.
    pub role: Option<String>,
    /// Users belonging to this location.
    pub location_id: Option<ID>,
}

/// Sort keys of `users`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Enum)]
pub enum UserOrderField {
    #[default]
    Name,
    Email,
    /// Creation order.
    CreatedAt,
}

/// How `users` is sorted.
#[derive(Debug, Clone, Copy, Default, InputObject)]
pub struct UserOrder {
    pub field: UserOrderField,
    #[graphql(default)]
    pub direction: SortDirection,
}

/// Effective permission of the caller.
#[derive(SimpleObject)]
#[graphql(directive = Authenticated::apply())]
pub struct EffectivePermission {
    pub permission: String,
    pub scope: Scope,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user; null for an API key.
    #[graphql(directive = Authenticated::apply())]
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let caller = ctx.caller()?;
        let switchyard_kernel::Principal::User { id, .. } = caller.principal else {
            return Ok(None);
        };
        Ok(switchyard_kernel::read::aggregate::load_one::<User>(ctx, id).await?)
    }

    /// What the caller may do: every permission it holds, with its scope.
    #[graphql(directive = Authenticated::apply())]
    async fn my_permissions(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<EffectivePermission>> {
        Ok(ctx
            .caller()?
            .permissions()
            .into_iter()
            .map(|(permission, scope)| EffectivePermission { permission, scope })
            .collect())
    }

    /// A user by ID.
    #[graphql(directive = Require::apply(USER_READ))]
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        Ok(Some(User::find(ctx, UserId::parse(&id)?).await?))
    }

    /// Users the caller may see.
    #[graphql(complexity = "switchyard_kernel::connection::cost(first, last, child_complexity)", directive = Require::apply(USER_READ))]
    #[allow(clippy::too_many_arguments)]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<UserFilter>,
        order_by: Option<UserOrder>,
    ) -> async_graphql::Result<Connection<User>> {
        let caller = ctx.caller()?.clone();
        let order = order_by.unwrap_or_default();
        let filter = filter.unwrap_or_default();
        let location = match &filter.location_id {
            Some(id) => Some(LocationId::parse(id)?),
            None => None,
        };
        let client_emails = caller.row_scope(CLIENT_CONTACT_READ).ok();
        let scope = caller.row_scope(USER_READ)?;
        // Portal users belong to no location: only a tenant-wide directory lists them.
        if order.field == UserOrderField::Email
            && scope == RowScope::Tenant
            && client_emails != Some(RowScope::Tenant)
            && filter.kind != Some(UserKind::Staff)
        {
            // Cursors carry the sort key: sorting portal users by an address the caller may not
            // see would show it.
            return Err(Error::bad_input(
                "orderBy.field",
                "sorting by EMAIL includes portal users' addresses, which you may not see: \
                 add filter: {kind: STAFF}",
            )
            .into());
        }
        let me = caller.user_id().map(|u| u.to_string()).unwrap_or_default();
        let mut parts = Vec::new();
        if let Some(term) =
            switchyard_kernel::validate::search_term("filter.search", filter.search)?
        {
            // An address matches only where the caller may see it: staff addresses, and
            // portal users' where `identity.client_contact:read` reaches them.
            let name = Expr::Contains {
                column: "name",
                term: term.clone(),
            };
            let email = Expr::Contains {
                column: "email",
                term,
            };
            parts.push(match client_emails {
                Some(RowScope::Tenant) => Expr::Or(vec![name, email]),
                some_or_none => {
                    let visible = Expr::Or(vec![
                        Expr::Cmp {
                            column: "kind",
                            op: "=",
                            value: UserKind::Staff.as_str().into(),
                        },
                        Expr::Cmp {
                            column: "id",
                            op: "=",
                            value: if some_or_none.is_some() {
                                me
                            } else {
                                String::new()
                            }
                            .into(),
                        },
                    ]);
                    Expr::Or(vec![name, Expr::And(vec![email, visible])])
                }
            });
        }
        if let Some(status) = filter.status {
            parts.push(Expr::Cmp {
                column: "status",
                op: "=",
                value: status.as_str().into(),
            });
        }
        if let Some(kind) = filter.kind {
            parts.push(Expr::Cmp {
                column: "kind",
                op: "=",
                value: kind.as_str().into(),
            });
        }
        if let Some(role) = filter.role {
            let mut sql =
                Sql::new("t.id IN (SELECT ur.user_id FROM user_roles ur WHERE ur.tenant_id = ");
            sql.bind(caller.tenant_id.to_string())
                .push(" AND ur.role_key = ")
                .bind(role)
                .push(")");
            parts.push(Expr::Sql(sql));
        }
        if let Some(location) = location {
            let mut sql =
                Sql::new("t.id IN (SELECT ul.user_id FROM user_locations ul WHERE ul.tenant_id = ");
            sql.bind(caller.tenant_id.to_string())
                .push(" AND ul.location_id = ")
                .bind(location.to_string())
                .push(")");
            parts.push(Expr::Sql(sql));
        }
        let listing = switchyard_kernel::read::Listing {
            table: "users",
            tenant: caller.tenant_id,
            scope: self::scope(&caller, USER_READ)?,
            filter: Expr::all(parts),
            order: switchyard_kernel::read::Order {
                column: match order.field {
                    UserOrderField::CreatedAt => None,
                    UserOrderField::Name => Some("name"),
                    UserOrderField::Email => Some("email"),
                },
                desc: order.direction.is_desc(),
            },
        };
        let args = PageArgs::new(first, after, last, before);
        Ok(listing
            .connection(
                &ctx.services()?.db,
                &args,
                if order.field == UserOrderField::CreatedAt {
                    1
                } else {
                    2
                },
                |row: &UserRow| match order.field {
                    UserOrderField::CreatedAt => Cursor(vec![row.id.to_string().into()]),
                    UserOrderField::Name => {
                        Cursor(vec![row.name.clone().into(), row.id.to_string().into()])
                    }
                    UserOrderField::Email => {
                        Cursor(vec![row.email.clone().into(), row.id.to_string().into()])
                    }
                },
                |rows| Member::all(rows).into_iter().map(User).collect(),
            )
            .await?)
    }
}

/// Whether `id` is an active staff user of the tenant (for other domains that assign work).
pub async fn is_active_staff(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: UserId,
) -> Result<bool, Error> {
    let n: i64 = db_run!(conn, |c| users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::id.eq(id))
        .filter(users::status.eq("active"))
        .filter(users::kind.eq("staff"))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

/// Whether `id` is an active customer-portal user of the tenant.
pub async fn is_active_client(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: UserId,
) -> Result<bool, Error> {
    let n: i64 = db_run!(conn, |c| users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::id.eq(id))
        .filter(users::status.eq("active"))
        .filter(users::kind.eq("client"))
        .count()
        .get_result(c)
        .await)?;
    Ok(n > 0)
}

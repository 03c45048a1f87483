//! Users: staff members and customer-portal clients of a tenant.

pub mod events;
pub mod grants;
pub mod mutations;
pub(crate) mod rules;

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::{RowScope, UserKind};
use switchyard_kernel::db::sql::Sql;
use switchyard_kernel::policy::{Authenticated, Require};
use switchyard_kernel::read::Expr;
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, Scope, TenantId, UserId, db_run,
};

use crate::locations::Location;
use crate::permissions::{CLIENT_CONTACT_READ, USER_READ};
use crate::roles::Role;
use crate::schema::users;
use grants::UserGrant;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

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

switchyard_kernel::aggregate! {
    /// A person who signs in: a staff member or a customer-portal client.
    ///
    /// Its fields inherit their access from the field that returned the user: every such field
    /// is guarded (`me`, `users`, `node`, a relation on a guarded type), and `login` returns the
    /// user who just proved who they are.
    #[aggregate(
        table = crate::schema::users,
        id = UserId,
        read = USER_READ,
        event = UserData,
        scope = scope,
        access = inherit,
        owner(user = id),
        order(name, asc),
        one(name = user, doc = "A user by ID."),
        changed(name = user_changed, doc = "A user (or, with `id`, that user) as it is after each change the caller may see."),
        list(name = users, doc = "Users the caller may see, by name. `search` matches part of the name, or of an address the caller may see.", search = search, check = email_order),
    )]
    pub struct User {
        /// Lower-cased; unique within the tenant.
        #[field(hidden, order, event)]
        email: String,
        #[field(order, event)]
        name: String,
        #[field(filter, event)]
        kind: UserKind,
        #[field(filter, event)]
        status: UserStatus,
        #[field(hidden)]
        password_hash: Option<String>,
        /// Digest of the one-time invitation token.
        #[field(hidden)]
        invitation_hash: Option<String>,
        #[field(hidden)]
        invitation_expires_at: Option<NaiveDateTime>,
        // Set by each sign-in, outside versioned writes: a user's update never overwrites it.
        #[diesel(skip_update)]
        last_login_at: Option<NaiveDateTime>,
        created_at: NaiveDateTime,
        updated_at: NaiveDateTime,
        /// Increases with every change; pass it as `expectedVersion` to update safely.
        #[field(event)]
        version: i32,
    }

    /// Filters of `users` beyond the user's own fields.
    pub struct UserFilter {
        /// Users holding this role key.
        role: Option<String>,
        /// Users belonging to this location.
        location_id: Option<ID>,
    }

    impl User {
        /// Lower-cased; unique within the tenant. A customer-portal user's address is a
        /// customer's contact detail: null for callers without `identity.client_contact:read`
        /// reaching it (a client sees its own).
        async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
            let row = self.row();
            let visible = row.kind != UserKind::Client
                || match ctx.data_opt::<Caller>() {
                    Some(caller) => caller.reaches(CLIENT_CONTACT_READ, Some(row.id), None),
                    // Without a caller, the only way to a user is a sign-in payload (`login`,
                    // `refreshSession`, `acceptInvitation`): the user who just proved who they
                    // are.
                    None => true,
                };
            visible.then_some(row.email.as_str())
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
            Ok(roles.get(&self.row().id).cloned().unwrap_or_default())
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
                locations.get(&self.row().id).cloned().unwrap_or_default(),
            ))
        }

        /// Extra permissions granted to this user, expired ones included.
        #[graphql(directive = Require::apply(USER_READ))]
        async fn grants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserGrant>> {
            let grants = self
                .0
                .siblings()
                .batch("grants", |rows| {
                    grants::grants_of(ctx, rows.iter().map(|r| r.id).collect())
                })
                .await?;
            Ok(grants
                .get(&self.row().id)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(UserGrant)
                .collect())
        }
    }
}

/// The users `caller` reaches with `permission` (of `identity.user:read`'s kind): everyone,
/// oneself, or oneself and the users sharing one of one's locations, as a condition on `t`.
fn scope(caller: &Caller, permission: &str) -> Result<Expr, Error> {
    Ok(match caller.row_scope(permission)? {
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
                .bind(caller.tenant_id.to_string())
                .push(" AND ul.location_id")
                .is_in(locations.iter().map(ToString::to_string))
                .push(")");
            Expr::Sql(sql)
        }
    })
}

/// Users whose name contains the term, or whose address does where the caller may see it:
/// staff addresses, and portal users' where `identity.client_contact:read` reaches them (the
/// rule of the `email` field).
fn search(caller: &Caller, term: &str) -> Result<Expr, Error> {
    let name = Expr::Contains {
        column: "name",
        term: term.to_owned(),
    };
    let email = Expr::Contains {
        column: "email",
        term: term.to_owned(),
    };
    Ok(match caller.row_scope(CLIENT_CONTACT_READ).ok() {
        Some(RowScope::Tenant) => Expr::Or(vec![name, email]),
        some_or_none => {
            let me = match (some_or_none, caller.user_id()) {
                (Some(_), Some(me)) => me.to_string(),
                _ => String::new(),
            };
            let visible = Expr::Or(vec![
                Expr::Cmp {
                    column: "kind",
                    op: "=",
                    value: UserKind::Staff.as_str().into(),
                },
                Expr::Cmp {
                    column: "id",
                    op: "=",
                    value: me.into(),
                },
            ]);
            Expr::Or(vec![name, Expr::And(vec![email, visible])])
        }
    })
}

/// Sorting by EMAIL is refused where it would order portal users by addresses the caller may
/// not see (cursors carry the sort key). Portal users belong to no location, so only a
/// tenant-wide directory lists them.
fn email_order(filter: &UserFilter, order: &UserOrder, caller: &Caller) -> Result<(), Error> {
    let staff_only = filter.kind.as_ref().is_some_and(|k| {
        k.eq == Some(UserKind::Staff) || k.any_of.as_deref() == Some(&[UserKind::Staff])
    });
    if order.field == UserOrderField::Email
        && caller.row_scope(USER_READ)? == RowScope::Tenant
        && caller.row_scope(CLIENT_CONTACT_READ).ok() != Some(RowScope::Tenant)
        && !staff_only
    {
        return Err(Error::bad_input(
            "orderBy.field",
            "sorting by EMAIL includes portal users' addresses, which you may not see: \
             add filter: {kind: {eq: STAFF}}",
        ));
    }
    Ok(())
}

impl switchyard_kernel::read::FilterExtra for UserFilter {
    fn extra(&self, caller: &Caller) -> Result<Vec<Expr>, Error> {
        let mut parts = Vec::new();
        if let Some(role) = &self.role {
            let mut sql =
                Sql::new("t.id IN (SELECT ur.user_id FROM user_roles ur WHERE ur.tenant_id = ");
            sql.bind(caller.tenant_id.to_string())
                .push(" AND ur.role_key = ")
                .bind(role.clone())
                .push(")");
            parts.push(Expr::Sql(sql));
        }
        if let Some(location) = &self.location_id {
            let location = LocationId::parse(location)?;
            let mut sql =
                Sql::new("t.id IN (SELECT ul.user_id FROM user_locations ul WHERE ul.tenant_id = ");
            sql.bind(caller.tenant_id.to_string())
                .push(" AND ul.location_id = ")
                .bind(location.to_string())
                .push(")");
            parts.push(Expr::Sql(sql));
        }
        Ok(parts)
    }
}

/// Effective permission of the caller.
#[derive(SimpleObject)]
#[graphql(directive = Authenticated::apply())]
pub struct EffectivePermission {
    pub permission: String,
    pub scope: Scope,
}

#[derive(Default)]
pub struct MeQuery;

#[Object]
impl MeQuery {
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
}

/// The name and email address of an active user of the tenant (for notifications); `None`
/// for anyone else.
pub async fn contact(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: UserId,
) -> Result<Option<(String, String)>, Error> {
    Ok(db_run!(conn, |c| users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::id.eq(id))
        .filter(users::status.eq("active"))
        .select((users::name, users::email))
        .first(c)
        .await
        .optional())?)
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

/// The active staff users of `tenant` holding `role`, with their names, those of `location`
/// only when given (candidates for work: the crew of a location).
pub async fn staff_with_role(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    role: &str,
    location: Option<switchyard_kernel::LocationId>,
) -> Result<Vec<(UserId, String)>, Error> {
    use crate::schema::{user_locations, user_roles};
    let role = role.to_owned();
    let holders: Vec<(UserId, String)> = db_run!(conn, |c| users::table
        .inner_join(
            user_roles::table.on(user_roles::tenant_id
                .eq(users::tenant_id)
                .and(user_roles::user_id.eq(users::id))),
        )
        .filter(users::tenant_id.eq(tenant))
        .filter(users::status.eq("active"))
        .filter(users::kind.eq("staff"))
        .filter(user_roles::role_key.eq(&role))
        .select((users::id, users::name))
        .order(users::name.asc())
        .load(c)
        .await)?;
    let Some(location) = location else {
        return Ok(holders);
    };
    let there: Vec<UserId> = db_run!(conn, |c| user_locations::table
        .filter(user_locations::tenant_id.eq(tenant))
        .filter(user_locations::location_id.eq(location))
        .select(user_locations::user_id)
        .load(c)
        .await)?;
    Ok(holders
        .into_iter()
        .filter(|(id, _)| there.contains(id))
        .collect())
}

/// Whether `id` is an active staff user of `tenant` holding the built-in or custom role
/// `role` (assigning crew to a job takes users with the crew role).
pub async fn is_active_with_role(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    id: UserId,
    role: &str,
) -> Result<bool, Error> {
    use crate::schema::user_roles;
    let n: i64 = db_run!(conn, |c| users::table
        .inner_join(
            user_roles::table.on(user_roles::tenant_id
                .eq(users::tenant_id)
                .and(user_roles::user_id.eq(users::id))),
        )
        .filter(users::tenant_id.eq(tenant))
        .filter(users::id.eq(id))
        .filter(users::status.eq("active"))
        .filter(users::kind.eq("staff"))
        .filter(user_roles::role_key.eq(role))
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

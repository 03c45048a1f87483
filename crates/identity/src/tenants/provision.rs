//! Operator actions outside the API: creating tenants and users from the CLI, the first-start
//! bootstrap, and the demo company. They act as the system principal and are audited as such.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::access::{BuiltinRole, Caller, UserKind};
use switchyard_kernel::audit;

use super::events::TenantCreated;
use crate::locations::events::LocationCreated;
use crate::locations::{Location, LocationRow};
use crate::users::events::UserCreated;
use crate::users::rules::{replace_locations, replace_roles};
use crate::users::{User, UserRow, UserStatus};
use switchyard_kernel::validate::{is_email, normalize_email};
use switchyard_kernel::{
    Conn, LocationId, Rejection, Services, TenantId, UserId, db_run, time, write,
};

use crate::credentials::password;
use crate::schema::{tenants, users};

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password: String,
    pub kind: UserKind,
    pub roles: Vec<String>,
    pub locations: Vec<LocationId>,
}

fn slug_ok(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 50
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether any tenant exists.
pub async fn any_tenant(services: &Services) -> anyhow::Result<bool> {
    let mut pooled = services
        .db
        .read()
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut conn = pooled.conn();
    let n: i64 = db_run!(&mut conn, |c| tenants::table.count().get_result(c).await)?;
    Ok(n > 0)
}

fn fail(rejection: Rejection) -> anyhow::Error {
    match rejection {
        Rejection::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field.join("."), e.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Rejection::Failed(error) => anyhow::anyhow!("{error:?}"),
    }
}

/// Creates a tenant and its owner.
pub async fn create_tenant(
    services: &Services,
    name: &str,
    slug: &str,
    owner: NewUser,
) -> anyhow::Result<(TenantId, UserId)> {
    let slug = slug.trim().to_lowercase();
    anyhow::ensure!(!name.trim().is_empty(), "the tenant needs a name");
    anyhow::ensure!(
        slug_ok(&slug),
        "the slug must be lower case letters, digits and dashes"
    );
    let tenant = TenantId::new();
    let system = Caller::system(tenant, &services.catalog);
    let owner = NewUser {
        roles: vec![BuiltinRole::Owner.key().to_owned()],
        ..owner
    };
    let hash = check_new_user(&owner).await?;
    let user = services
        .mutate(async |tx| {
            let taken: i64 = db_run!(tx, |c| tenants::table
                .filter(tenants::slug.eq(&slug))
                .count()
                .get_result(c)
                .await)?;
            if taken > 0 {
                return Err(Rejection::invalid(
                    "slug",
                    switchyard_kernel::UserErrorCode::Duplicate,
                    "another tenant has this slug",
                ));
            }
            let now = time::now();
            db_run!(tx, |c| diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq(tenant),
                    tenants::name.eq(name.trim()),
                    tenants::slug.eq(&slug),
                    tenants::settings.eq("{}"),
                    tenants::created_at.eq(now),
                    tenants::updated_at.eq(now),
                    tenants::version.eq(1),
                ))
                .execute(c)
                .await)?;
            audit::record_event(
                tx,
                &system,
                &TenantCreated {
                    tenant_id: tenant,
                    name: name.trim().to_owned(),
                    slug: slug.clone(),
                },
                None,
            )
            .await?;
            insert_user(tx, &system, &owner, &hash).await
        })
        .await
        .map_err(fail)?;
    Ok((tenant, user))
}

async fn check_new_user(user: &NewUser) -> anyhow::Result<String> {
    let email = normalize_email(&user.email);
    anyhow::ensure!(is_email(&email), "{email:?} is not an email address");
    anyhow::ensure!(!user.name.trim().is_empty(), "the user needs a name");
    if let Some(why) = password::weakness(&user.password, &email) {
        anyhow::bail!("the password {why}");
    }
    password::hash(user.password.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))
}

async fn insert_user(
    tx: &mut Conn<'_>,
    system: &Caller,
    user: &NewUser,
    hash: &str,
) -> Result<UserId, Rejection> {
    let tenant = system.tenant_id;
    let id = UserId::new();
    let email = normalize_email(&user.email);
    let taken: i64 = db_run!(tx, |c| users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::email.eq(&email))
        .count()
        .get_result(c)
        .await)?;
    if taken > 0 {
        return Err(Rejection::invalid(
            "email",
            switchyard_kernel::UserErrorCode::Duplicate,
            format!("{email} already exists in this tenant"),
        ));
    }
    let now = time::now();
    let row = UserRow {
        id,
        tenant_id: tenant,
        email,
        name: user.name.trim().to_owned(),
        kind: user.kind,
        status: UserStatus::Active,
        password_hash: Some(hash.to_owned()),
        invitation_hash: None,
        invitation_expires_at: None,
        last_login_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    write::create::<User, _>(tx, system, row, |row| UserCreated {
        user: row.into(),
        roles: user.roles.clone(),
    })
    .await?;
    replace_roles(tx, tenant, id, &user.roles).await?;
    replace_locations(tx, tenant, id, &user.locations).await?;
    Ok(id)
}

/// Creates a user in an existing tenant (roles must be built-in or existing custom keys).
pub async fn create_user(
    services: &Services,
    tenant: TenantId,
    user: NewUser,
) -> anyhow::Result<UserId> {
    let hash = check_new_user(&user).await?;
    let system = Caller::system(tenant, &services.catalog);
    services
        .mutate(async |tx| insert_user(tx, &system, &user, &hash).await)
        .await
        .map_err(fail)
}

/// Creates a location.
pub async fn create_location(
    services: &Services,
    tenant: TenantId,
    name: &str,
    time_zone: &str,
) -> anyhow::Result<LocationId> {
    let id = LocationId::new();
    let system = Caller::system(tenant, &services.catalog);
    services
        .mutate(async |tx| {
            let now = time::now();
            let row = LocationRow {
                id,
                tenant_id: tenant,
                name: name.to_owned(),
                time_zone: time_zone.to_owned(),
                address: None,
                active: true,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            switchyard_kernel::write::create::<Location, _>(tx, &system, row, LocationCreated::of)
                .await?;
            Ok::<_, Rejection>(id)
        })
        .await
        .map_err(fail)
}

/// A tenant by slug.
pub async fn tenant_by_slug(services: &Services, slug: &str) -> anyhow::Result<Option<TenantId>> {
    let mut pooled = services
        .db
        .read()
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut conn = pooled.conn();
    Ok(db_run!(&mut conn, |c| tenants::table
        .filter(tenants::slug.eq(slug))
        .select(tenants::id)
        .first::<TenantId>(c)
        .await
        .optional())?)
}

/// A user by email within a tenant.
pub async fn user_by_email(
    services: &Services,
    tenant: TenantId,
    email: &str,
) -> anyhow::Result<Option<UserId>> {
    let email = normalize_email(email);
    let mut pooled = services
        .db
        .read()
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut conn = pooled.conn();
    Ok(db_run!(&mut conn, |c| users::table
        .filter(users::tenant_id.eq(tenant))
        .filter(users::email.eq(&email))
        .select(users::id)
        .first::<UserId>(c)
        .await
        .optional())?)
}

/// What the first start created.
pub struct Bootstrap {
    pub tenant: TenantId,
    pub email: String,
    pub password: String,
}

/// On an empty database: one tenant and its owner with a fresh one-time password.
pub async fn bootstrap_if_empty(
    services: &Services,
    email: &str,
) -> anyhow::Result<Option<Bootstrap>> {
    if any_tenant(services).await? {
        return Ok(None);
    }
    let password = password::generate();
    let (tenant, _) = create_tenant(
        services,
        "My Company",
        "my-company",
        NewUser {
            email: email.to_owned(),
            name: "Owner".to_owned(),
            password: password.clone(),
            kind: UserKind::Staff,
            roles: vec![],
            locations: vec![],
        },
    )
    .await?;
    Ok(Some(Bootstrap {
        tenant,
        email: normalize_email(email),
        password,
    }))
}

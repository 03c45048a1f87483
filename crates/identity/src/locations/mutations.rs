//! Creating and changing locations.

use std::str::FromStr;

use super::events::{LocationCreated, LocationUpdated};
use async_graphql::{Context, ID, InputObject, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::address::{Address, AddressInput};
use switchyard_kernel::policy::Require;
use switchyard_kernel::read::aggregate::find_in;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Conn, ContextExt, Error, LocationId, TenantId, UserErrorCode, db_run, payload, time, write,
};

use super::{Location, LocationRow};
use crate::permissions::LOCATION_MANAGE;
use crate::schema::locations;
use switchyard_kernel::validate::check_version;

payload!(
    /// The result of `createLocation` and `updateLocation`.
    LocationPayload { location: Location } from row
);

/// A new location.
#[derive(InputObject)]
pub struct CreateLocationInput {
    pub name: String,
    /// IANA time zone, e.g. `Europe/Stockholm`.
    pub time_zone: String,
    pub address: Option<AddressInput>,
    pub idempotency_key: Option<String>,
}

/// Changes to a location.
#[derive(InputObject)]
pub struct UpdateLocationInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub name: Option<String>,
    pub time_zone: Option<String>,
    pub address: Option<AddressInput>,
    pub active: Option<bool>,
}

fn check_time_zone(check: &mut Check, path: &str, tz: &str) {
    if chrono_tz::Tz::from_str(tz).is_err() {
        check.add(
            path,
            UserErrorCode::InvalidFormat,
            format!("{tz:?} is not an IANA time zone such as Europe/Stockholm"),
        );
    }
}

async fn name_taken(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    name: &str,
    except: Option<LocationId>,
) -> Result<bool, Error> {
    let ids: Vec<LocationId> = db_run!(conn, |c| locations::table
        .filter(locations::tenant_id.eq(tenant))
        .filter(locations::name.eq(name))
        .select(locations::id)
        .load(c)
        .await)?;
    Ok(ids.into_iter().any(|id| Some(id) != except))
}

#[derive(Default)]
pub struct LocationMutation;

#[Object]
impl LocationMutation {
    /// Creates a location.
    #[graphql(directive = Require::apply(LOCATION_MANAGE))]
    async fn create_location(
        &self,
        ctx: &Context<'_>,
        input: CreateLocationInput,
    ) -> async_graphql::Result<LocationPayload> {
        let caller = ctx.caller()?;
        let name = input.name.trim().to_owned();
        let time_zone = input.time_zone.trim().to_owned();
        let address = input.address.map(Address::from);
        let outcome = ctx
            .mutate(async |tx| {
                let new_id = LocationId::new();
                let key = input.idempotency_key.as_deref();
                let (op, permission) = ("createLocation", LOCATION_MANAGE);
                if let Some(first) =
                    write::replay::<Location>(tx, caller, op, key, permission, new_id).await?
                {
                    return Ok(first);
                }
                let mut check = Check::new();
                check.text("input.name", &name, 100);
                check_time_zone(&mut check, "input.timeZone", &time_zone);
                if let Some(address) = &address {
                    address.check(&mut check, "input.address");
                }
                if name_taken(tx, caller.tenant_id, &name, None).await? {
                    check.add(
                        "input.name",
                        UserErrorCode::Duplicate,
                        "another location has this name",
                    );
                }
                check.finish()?;
                let now = time::now();
                let row = LocationRow {
                    id: new_id,
                    tenant_id: caller.tenant_id,
                    name,
                    time_zone,
                    address: address.as_ref().map(Address::to_json),
                    active: true,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                Ok(write::create::<Location, _>(tx, caller, row, LocationCreated::of).await?)
            })
            .await;
        LocationPayload::of(outcome)
    }

    /// Changes a location.
    #[graphql(directive = Require::apply(LOCATION_MANAGE))]
    async fn update_location(
        &self,
        ctx: &Context<'_>,
        input: UpdateLocationInput,
    ) -> async_graphql::Result<LocationPayload> {
        let caller = ctx.caller()?;
        let id = LocationId::parse(&input.id)?;
        let name = input.name.map(|n| n.trim().to_owned());
        let time_zone = input.time_zone.map(|t| t.trim().to_owned());
        let address = input.address.map(Address::from);
        let outcome = ctx
            .mutate(async |tx| {
                let before = find_in::<Location>(tx, caller, LOCATION_MANAGE, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut check = Check::new();
                if let Some(name) = &name {
                    check.text("input.name", name, 100);
                    if name_taken(tx, caller.tenant_id, name, Some(id)).await? {
                        check.add(
                            "input.name",
                            UserErrorCode::Duplicate,
                            "another location has this name",
                        );
                    }
                }
                if let Some(tz) = &time_zone {
                    check_time_zone(&mut check, "input.timeZone", tz);
                }
                if let Some(address) = &address {
                    address.check(&mut check, "input.address");
                }
                check.finish()?;
                let mut row = before.clone();
                write::set(&mut row.name, name);
                write::set(&mut row.time_zone, time_zone);
                write::set(
                    &mut row.address,
                    address.as_ref().map(|a| Some(a.to_json())),
                );
                write::set(&mut row.active, input.active);
                Ok(
                    write::update::<Location, _>(tx, caller, &before, row, LocationUpdated::of)
                        .await?,
                )
            })
            .await;
        LocationPayload::of(outcome)
    }
}

//! Creating and changing locations.

use std::str::FromStr;

use async_graphql::{Context, ID, InputObject, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::address::{Address, AddressInput};
use switchyard_kernel::audit;

use super::events::{LocationCreated, LocationUpdated, state};
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Conn, ContextExt, Error, LocationId, TenantId, UserErrorCode, db_run, idempotency, payload,
    time,
};

use super::{Location, LocationRow, find_row};
use crate::permissions::LOCATION_MANAGE;
use crate::schema::locations;
use crate::users::mutations::check_version;

payload!(
    /// The result of `createLocation` and `updateLocation`.
    LocationPayload { location: Location }
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
            .services()?
            .mutate(async |tx| {
                let new_id = LocationId::new();
                if let Some(id) = idempotency::claim(
                    tx,
                    caller,
                    "createLocation",
                    input.idempotency_key.as_deref(),
                    new_id,
                )
                .await?
                {
                    let id: LocationId = id.parse().map_err(Error::internal)?;
                    return Ok(find_row(tx, caller.tenant_id, id)
                        .await?
                        .ok_or(Error::NotFound)?);
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
                let id = new_id;
                let now = time::now();
                let row: LocationRow = db_run!(tx, |c| diesel::insert_into(locations::table)
                    .values((
                        locations::id.eq(id),
                        locations::tenant_id.eq(caller.tenant_id),
                        locations::name.eq(&name),
                        locations::time_zone.eq(&time_zone),
                        locations::address.eq(address.as_ref().map(Address::to_json)),
                        locations::active.eq(true),
                        locations::created_at.eq(now),
                        locations::updated_at.eq(now),
                        locations::version.eq(1),
                    ))
                    .returning(LocationRow::as_returning())
                    .get_result(c)
                    .await)?;
                audit::record_event(
                    tx,
                    caller,
                    &LocationCreated {
                        location: (&row).into(),
                    },
                    None,
                )
                .await?;
                Ok(row)
            })
            .await;
        LocationPayload::from_outcome(outcome, |row| LocationPayload {
            location: Some(Location::one(row)),
            user_errors: vec![],
        })
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
            .services()?
            .mutate(async |tx| {
                let before = find_row(tx, caller.tenant_id, id)
                    .await?
                    .ok_or(Error::NotFound)?;
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
                let row: LocationRow = db_run!(tx, |c| diesel::update(
                    locations::table
                        .find(id)
                        .filter(locations::version.eq(before.version))
                )
                .set((
                    locations::name.eq(name.clone().unwrap_or_else(|| before.name.clone())),
                    locations::time_zone.eq(time_zone
                        .clone()
                        .unwrap_or_else(|| before.time_zone.clone())),
                    locations::address.eq(address
                        .as_ref()
                        .map(Address::to_json)
                        .or_else(|| before.address.clone())),
                    locations::active.eq(input.active.unwrap_or(before.active)),
                    locations::version.eq(before.version + 1),
                    locations::updated_at.eq(time::now()),
                ))
                .returning(LocationRow::as_returning())
                .get_result(c)
                .await
                .optional())?
                .ok_or_else(Error::changed_meanwhile)?;
                audit::record_event(
                    tx,
                    caller,
                    &LocationUpdated {
                        location: (&row).into(),
                    },
                    state(&before),
                )
                .await?;
                Ok(row)
            })
            .await;
        LocationPayload::from_outcome(outcome, |row| LocationPayload {
            location: Some(Location::one(row)),
            user_errors: vec![],
        })
    }
}

//! (Over 600 lines: create, update, stage moves and merge share the customer's normalisation (names, email, phone, tags, address) and checks; merge alone is a third of it. The writes are `kernel::write` calls; to split by mutation.)
//!
//! Creating, changing, moving along the pipeline, and merging customers.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_identity::locations::exists as location_exists;
use switchyard_identity::users::{is_active_client, is_active_staff};
use switchyard_kernel::address::{Address, AddressInput};

use super::events::{
    CustomerCreated, CustomerMerged, CustomerMergedAway, CustomerStageChanged, CustomerUpdated,
};
use switchyard_kernel::money::{MoneyInput, is_currency};
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::{Check, check_version, is_email, normalize_email};
use switchyard_kernel::{
    Caller, Conn, ContextExt, Error, LocationId, Rejection, Scope, TenantId, UserErrorCode, UserId,
    db_run, payload, time, write,
};

use super::stage::{CustomerStage, check_move};
use super::{Customer, CustomerId, CustomerRow, customer_for};
use crate::permissions::{CUSTOMER_CREATE, CUSTOMER_MERGE, CUSTOMER_UPDATE};
use crate::phone;
use crate::schema::{customer_stage_history, customers, leads, quotes, sales_activities, tasks};
use crate::settings;

payload!(
    /// The result of a customer mutation.
    CustomerPayload { customer: Customer } from row
);
payload!(
    /// The result of `mergeCustomers`.
    MergeCustomersPayload {
        /// The customer that remains, now holding both customers' leads, activities, tasks
        /// and quotes.
        survivor: Customer,
        /// The merged-away customer, now inactive.
        merged: Customer,
    }
);

/// A new customer: a person (first and/or last name) or a company.
#[derive(InputObject)]
pub struct CreateCustomerInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub email: Option<String>,
    /// National (with the tenant's country code) or international.
    pub phone: Option<String>,
    pub address: Option<AddressInput>,
    pub lead_source: Option<String>,
    #[graphql(default)]
    pub tags: Vec<String>,
    /// The responsible sales rep; defaults to you when you may only work your own customers.
    pub assigned_to_id: Option<ID>,
    /// Defaults to your (first) location.
    pub location_id: Option<ID>,
    /// The customer-portal user who acts for this customer (sees and answers its quotes).
    pub portal_user_id: Option<ID>,
    pub estimated_value: Option<MoneyInput>,
    #[graphql(default)]
    pub notes: String,
    pub idempotency_key: Option<String>,
}

/// Changes to a customer; omitted fields stay, `null` clears.
#[derive(InputObject)]
pub struct UpdateCustomerInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub company_name: MaybeUndefined<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub address: MaybeUndefined<AddressInput>,
    pub lead_source: MaybeUndefined<String>,
    pub tags: Option<Vec<String>>,
    pub assigned_to_id: MaybeUndefined<ID>,
    pub location_id: MaybeUndefined<ID>,
    pub portal_user_id: MaybeUndefined<ID>,
    pub estimated_value: MaybeUndefined<MoneyInput>,
    pub notes: Option<String>,
    pub active: Option<bool>,
}

/// A move along the pipeline.
#[derive(InputObject)]
pub struct ChangeCustomerStageInput {
    pub id: ID,
    pub expected_version: Option<i32>,
    pub stage: CustomerStage,
    /// Why; required for DISQUALIFIED.
    pub reason: Option<String>,
}

/// Two records of the same customer.
#[derive(InputObject)]
pub struct MergeCustomersInput {
    /// The customer that remains.
    pub survivor_id: ID,
    /// The customer merged into it (kept, inactive, for history).
    pub duplicate_id: ID,
    pub expected_version: Option<i32>,
}

/// The fields a customer is made of, after normalising.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub phone_search: String,
    pub address: Option<Address>,
    pub lead_source: Option<String>,
    pub tags: Vec<String>,
    pub assigned_to: Option<UserId>,
    pub portal_user: Option<UserId>,
    pub location: Option<LocationId>,
    pub estimated_value: Option<(i64, String)>,
    pub notes: String,
}

impl Fields {
    fn of(row: &CustomerRow) -> Fields {
        Fields {
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            company_name: row.company_name.clone(),
            email: row.email.clone(),
            phone: row.phone.clone(),
            phone_search: row.phone_search.clone(),
            address: row.address.as_deref().and_then(Address::from_json),
            lead_source: row.lead_source.clone(),
            tags: row.tags(),
            assigned_to: row.assignee(),
            portal_user: row.portal_user(),
            location: row.location(),
            estimated_value: row.estimated_value_minor.zip(row.currency.clone()),
            notes: row.notes.clone(),
        }
    }

    /// What search matches: name and email words, phone numbers; folded.
    fn search_text(&self) -> String {
        let email_words = self
            .email
            .as_deref()
            .unwrap_or_default()
            .replace(['@', '.', '-', '_', '+'], " ");
        switchyard_kernel::validate::fold(&format!(
            "{} {} {} {}",
            self.display_name(),
            self.email.as_deref().unwrap_or_default(),
            email_words,
            self.phone_search
        ))
    }

    fn display_name(&self) -> String {
        match &self.company_name {
            Some(company) => company.clone(),
            None => [self.first_name.as_deref(), self.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

fn clean(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Checks and normalises the fields; `except` is the customer being changed (for uniqueness).
async fn check_fields(
    conn: &mut Conn<'_>,
    caller: &Caller,
    permission: &str,
    fields: &mut Fields,
    raw_phone: Option<&str>,
    except: Option<CustomerId>,
    check: &mut Check,
) -> Result<(), Rejection> {
    let tenant = caller.tenant_id;
    for (path, value) in [
        ("input.firstName", &fields.first_name),
        ("input.lastName", &fields.last_name),
        ("input.companyName", &fields.company_name),
    ] {
        check.max_len(path, value.as_deref().unwrap_or_default(), 100);
    }
    if fields.company_name.is_none() && fields.first_name.is_none() && fields.last_name.is_none() {
        check.add(
            "input.lastName",
            UserErrorCode::Required,
            "give a first or last name, or a company name",
        );
    }
    if let Some(email) = &fields.email {
        let normalized = normalize_email(email);
        if !is_email(&normalized) {
            check.add(
                "input.email",
                UserErrorCode::InvalidFormat,
                "must be an email address like name@example.com",
            );
        }
        fields.email = Some(normalized);
    }
    match raw_phone {
        Some(raw) => {
            let settings = settings::load(conn, tenant).await?;
            match phone::normalize(raw, &settings.phone_country_code) {
                Ok(p) => {
                    fields.phone = Some(p.e164);
                    fields.phone_search = p.search;
                }
                Err(why) => {
                    check.add(
                        "input.phone",
                        UserErrorCode::InvalidFormat,
                        format!("the phone number {why}"),
                    );
                }
            }
        }
        None if fields.phone.is_none() => fields.phone_search = String::new(),
        None => {}
    }
    if let Some(address) = &fields.address {
        address.check(check, "input.address");
    }
    check.max_len(
        "input.leadSource",
        fields.lead_source.as_deref().unwrap_or_default(),
        100,
    );
    check.max_len("input.notes", &fields.notes, 10_000);
    for tag in fields.tags.iter_mut() {
        *tag = tag.trim().to_lowercase();
    }
    // Each tag once, in the order first given ("a", "b", "A" is "a", "b").
    let mut seen = std::collections::HashSet::new();
    fields.tags.retain(|tag| seen.insert(tag.clone()));
    if fields.tags.len() > 20 {
        check.add("input.tags", UserErrorCode::OutOfRange, "at most 20 tags");
    }
    for (i, tag) in fields.tags.iter().enumerate() {
        check.text(&format!("input.tags.{i}"), tag, 40);
    }
    if let Some((amount, currency)) = &fields.estimated_value {
        if *amount < 0 {
            check.add(
                "input.estimatedValue.amountMinor",
                UserErrorCode::OutOfRange,
                "must not be negative",
            );
        }
        if !is_currency(currency) {
            check.add(
                "input.estimatedValue.currency",
                UserErrorCode::InvalidFormat,
                "must be an ISO 4217 code such as SEK or USD",
            );
        }
    }
    let scope = caller.require(permission)?;
    if let Some(user) = fields.assigned_to {
        if !is_active_staff(conn, tenant, user).await? {
            check.add(
                "input.assignedToId",
                UserErrorCode::UnknownReference,
                "no active staff member has this ID",
            );
        } else if scope == Scope::Own && Some(user) != caller.user_id() {
            check.add(
                "input.assignedToId",
                UserErrorCode::NotAllowed,
                "you may only assign customers to yourself",
            );
        }
    }
    if let Some(location) = fields.location {
        if !location_exists(conn, tenant, location).await? {
            check.add(
                "input.locationId",
                UserErrorCode::UnknownReference,
                "no such location",
            );
        } else if scope == Scope::Location && !caller.location_ids.contains(&location) {
            check.add(
                "input.locationId",
                UserErrorCode::NotAllowed,
                "you may only use your own locations",
            );
        }
    }
    if let Some(user) = fields.portal_user {
        if !is_active_client(conn, tenant, user).await? {
            check.add(
                "input.portalUserId",
                UserErrorCode::UnknownReference,
                "no active customer-portal user has this ID",
            );
        } else {
            let linked: Vec<CustomerId> = db_run!(conn, |c| customers::table
                .filter(customers::tenant_id.eq(tenant))
                .filter(customers::portal_user_id.eq(user.to_string()))
                .select(customers::id)
                .load(c)
                .await)?;
            if linked.iter().any(|id| Some(*id) != except) {
                check.add(
                    "input.portalUserId",
                    UserErrorCode::Duplicate,
                    "this portal user already acts for another customer",
                );
            }
        }
    }
    // Unique email and phone within the tenant.
    for (path, column_value, is_email) in [
        ("input.email", fields.email.clone(), true),
        ("input.phone", fields.phone.clone(), false),
    ] {
        let Some(value) = column_value else { continue };
        let taken: Vec<CustomerId> = db_run!(conn, |c| {
            let mut query = customers::table
                .filter(customers::tenant_id.eq(tenant))
                .select(customers::id)
                .into_boxed();
            query = if is_email {
                query.filter(customers::email.eq(value.clone()))
            } else {
                query.filter(customers::phone.eq(value.clone()))
            };
            query.limit(2).load(c).await
        })?;
        if taken.iter().any(|id| Some(*id) != except) {
            check.add(
                path,
                UserErrorCode::Duplicate,
                "another customer has this; merge the two instead of creating a duplicate",
            );
        }
    }
    Ok(())
}

impl Fields {
    /// Sets the row's fields and the columns derived from them (display name, search).
    fn apply(&self, row: &mut CustomerRow) {
        row.first_name = self.first_name.clone();
        row.last_name = self.last_name.clone();
        row.company_name = self.company_name.clone();
        row.display_name = self.display_name();
        row.email = self.email.clone();
        row.phone = self.phone.clone();
        row.phone_search = self.phone_search.clone();
        row.search_text = self.search_text();
        row.name_search = switchyard_kernel::validate::fold(&row.display_name);
        row.address = self.address.as_ref().map(Address::to_json);
        row.lead_source = self.lead_source.clone();
        row.tags = serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".into());
        row.assigned_to = self.assigned_to;
        row.portal_user_id = self.portal_user;
        row.location_id = self.location;
        (row.estimated_value_minor, row.currency) = self.estimated_value.clone().unzip();
        row.notes = self.notes.clone();
    }
}

async fn record_stage(
    conn: &mut Conn<'_>,
    caller: &Caller,
    customer: CustomerId,
    from: Option<CustomerStage>,
    to: CustomerStage,
    reason: Option<&str>,
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::insert_into(customer_stage_history::table)
        .values((
            customer_stage_history::id.eq(uuid::Uuid::now_v7().to_string()),
            customer_stage_history::tenant_id.eq(caller.tenant_id),
            customer_stage_history::customer_id.eq(customer),
            customer_stage_history::from_stage.eq(from.map(|s| s.as_str())),
            customer_stage_history::to_stage.eq(to.as_str()),
            customer_stage_history::reason.eq(reason),
            customer_stage_history::changed_by.eq(caller.user_id().map(|u| u.to_string())),
            customer_stage_history::changed_at.eq(time::now()),
        ))
        .execute(c)
        .await)?;
    Ok(())
}

/// Inserts an active customer with its first stage (also used by the demo seed).
pub(crate) async fn insert(
    conn: &mut Conn<'_>,
    caller: &Caller,
    id: CustomerId,
    f: &Fields,
    stage: CustomerStage,
) -> Result<CustomerRow, Error> {
    let now = time::now();
    let mut row = CustomerRow {
        id,
        tenant_id: caller.tenant_id,
        location_id: None,
        first_name: None,
        last_name: None,
        company_name: None,
        display_name: String::new(),
        email: None,
        phone: None,
        phone_search: String::new(),
        search_text: String::new(),
        name_search: String::new(),
        address: None,
        lead_source: None,
        tags: String::new(),
        assigned_to: None,
        portal_user_id: None,
        estimated_value_minor: None,
        currency: None,
        notes: String::new(),
        active: true,
        stage,
        stage_changed_at: now,
        merged_into: None,
        created_by: caller.user_id(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    f.apply(&mut row);
    let row = write::create::<Customer, _>(conn, caller, row, CustomerCreated::of).await?;
    record_stage(conn, caller, id, None, stage, None).await?;
    Ok(row)
}

fn parse_id<T>(
    id: Option<&ID>,
    parse: fn(&str) -> Option<T>,
    path: &str,
    check: &mut Check,
) -> Option<T> {
    let id = id?;
    let parsed = parse(id.as_str());
    if parsed.is_none() {
        check.add(
            path,
            UserErrorCode::UnknownReference,
            "not an ID of the right kind",
        );
    }
    parsed
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer (stage PROSPECT).
    #[graphql(directive = Require::apply(CUSTOMER_CREATE))]
    async fn create_customer(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomerInput,
    ) -> async_graphql::Result<CustomerPayload> {
        let caller = ctx.caller()?;
        let scope = caller.require(CUSTOMER_CREATE)?;
        let mut check = Check::new();
        let assigned_to = parse_id(
            input.assigned_to_id.as_ref(),
            UserId::from_global,
            "input.assignedToId",
            &mut check,
        )
        .or(if scope == Scope::Own {
            caller.user_id()
        } else {
            None
        });
        let location = parse_id(
            input.location_id.as_ref(),
            LocationId::from_global,
            "input.locationId",
            &mut check,
        )
        // A new customer belongs to its creator's location, so the location's manager sees it.
        .or(caller.location_ids.iter().next().copied());
        let mut fields = Fields {
            first_name: clean(input.first_name),
            last_name: clean(input.last_name),
            company_name: clean(input.company_name),
            email: clean(input.email),
            phone: None,
            phone_search: String::new(),
            address: input.address.map(Address::from),
            lead_source: clean(input.lead_source),
            tags: input
                .tags
                .into_iter()
                .map(|t| t.trim().to_owned())
                .collect(),
            assigned_to,
            portal_user: parse_id(
                input.portal_user_id.as_ref(),
                UserId::from_global,
                "input.portalUserId",
                &mut check,
            ),
            location,
            estimated_value: input.estimated_value.as_ref().map(write::money),
            notes: input.notes.trim().to_owned(),
        };
        let raw_phone = clean(input.phone);
        let outcome = ctx
            .mutate(async |tx| {
                let new_id = CustomerId::new();
                let key = input.idempotency_key.as_deref();
                let (op, permission) = ("createCustomer", CUSTOMER_CREATE);
                if let Some(first) =
                    write::replay::<Customer>(tx, caller, op, key, permission, new_id).await?
                {
                    return Ok(first);
                }
                let mut check = check;
                check_fields(
                    tx,
                    caller,
                    CUSTOMER_CREATE,
                    &mut fields,
                    raw_phone.as_deref(),
                    None,
                    &mut check,
                )
                .await?;
                check.finish()?;
                let row = insert(tx, caller, new_id, &fields, CustomerStage::Prospect).await?;
                Ok(row)
            })
            .await;
        CustomerPayload::of(outcome)
    }

    /// Changes a customer.
    #[graphql(directive = Require::apply(CUSTOMER_UPDATE))]
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        input: UpdateCustomerInput,
    ) -> async_graphql::Result<CustomerPayload> {
        let caller = ctx.caller()?;
        let id = CustomerId::parse(&input.id)?;
        let outcome = ctx
            .mutate(async |tx| {
                let before = customer_for(tx, caller, CUSTOMER_UPDATE, id).await?;
                check_version(input.expected_version, before.version)?;
                let mut check = Check::new();
                let mut f = Fields::of(&before);
                let text =
                    |field: &MaybeUndefined<String>, current: &mut Option<String>| match field {
                        MaybeUndefined::Undefined => {}
                        MaybeUndefined::Null => *current = None,
                        MaybeUndefined::Value(v) => *current = clean(Some(v.clone())),
                    };
                text(&input.first_name, &mut f.first_name);
                text(&input.last_name, &mut f.last_name);
                text(&input.company_name, &mut f.company_name);
                text(&input.email, &mut f.email);
                text(&input.lead_source, &mut f.lead_source);
                let raw_phone = match &input.phone {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => {
                        f.phone = None;
                        None
                    }
                    MaybeUndefined::Value(v) => clean(Some(v.clone())),
                };
                match &input.address {
                    MaybeUndefined::Undefined => {}
                    MaybeUndefined::Null => f.address = None,
                    MaybeUndefined::Value(a) => f.address = Some(Address::from(a.clone())),
                }
                if let Some(tags) = &input.tags {
                    f.tags = tags.iter().map(|t| t.trim().to_owned()).collect();
                }
                match &input.assigned_to_id {
                    MaybeUndefined::Undefined => {}
                    MaybeUndefined::Null => f.assigned_to = None,
                    MaybeUndefined::Value(v) => {
                        f.assigned_to = parse_id(
                            Some(v),
                            UserId::from_global,
                            "input.assignedToId",
                            &mut check,
                        )
                    }
                }
                match &input.portal_user_id {
                    MaybeUndefined::Undefined => {}
                    MaybeUndefined::Null => f.portal_user = None,
                    MaybeUndefined::Value(v) => {
                        f.portal_user = parse_id(
                            Some(v),
                            UserId::from_global,
                            "input.portalUserId",
                            &mut check,
                        )
                    }
                }
                match &input.location_id {
                    MaybeUndefined::Undefined => {}
                    MaybeUndefined::Null => f.location = None,
                    MaybeUndefined::Value(v) => {
                        f.location = parse_id(
                            Some(v),
                            LocationId::from_global,
                            "input.locationId",
                            &mut check,
                        )
                    }
                }
                match &input.estimated_value {
                    MaybeUndefined::Undefined => {}
                    MaybeUndefined::Null => f.estimated_value = None,
                    MaybeUndefined::Value(m) => f.estimated_value = Some(write::money(m)),
                }
                if let Some(notes) = &input.notes {
                    f.notes = notes.trim().to_owned();
                }
                let changed_assignee = f.assigned_to != before.assignee();
                let changed_location = f.location != before.location();
                let changed_portal_user = f.portal_user != before.portal_user();
                let mut assignments = f.clone();
                if !changed_assignee {
                    assignments.assigned_to = None;
                }
                if !changed_location {
                    assignments.location = None;
                }
                if !changed_portal_user {
                    assignments.portal_user = None;
                }
                check_fields(
                    tx,
                    caller,
                    CUSTOMER_UPDATE,
                    &mut assignments,
                    raw_phone.as_deref(),
                    Some(id),
                    &mut check,
                )
                .await?;
                f.email = assignments.email;
                f.phone = assignments.phone;
                f.phone_search = assignments.phone_search;
                f.tags = assignments.tags;
                check.finish()?;
                if input.active == Some(true) && before.merged_into.is_some() {
                    return Err(Rejection::invalid(
                        "input.active",
                        UserErrorCode::InvalidState,
                        "this customer was merged into another one and stays inactive",
                    ));
                }
                let mut row = before.clone();
                f.apply(&mut row);
                write::set(&mut row.active, input.active);
                let row =
                    write::update::<Customer, _>(tx, caller, &before, row, CustomerUpdated::of)
                        .await?;
                Ok(row)
            })
            .await;
        CustomerPayload::of(outcome)
    }

    /// Moves a customer along the pipeline. Only allowed moves pass, and some need more: a
    /// logged activity for QUALIFIED, an accepted quote for WON, a reason for DISQUALIFIED.
    #[graphql(directive = Require::apply(CUSTOMER_UPDATE))]
    async fn change_customer_stage(
        &self,
        ctx: &Context<'_>,
        input: ChangeCustomerStageInput,
    ) -> async_graphql::Result<CustomerPayload> {
        let caller = ctx.caller()?;
        let id = CustomerId::parse(&input.id)?;
        let reason = clean(input.reason.clone());
        let outcome = ctx
            .mutate(async |tx| {
                let before = customer_for(tx, caller, CUSTOMER_UPDATE, id).await?;
                check_version(input.expected_version, before.version)?;
                super::still_active(&before, "input.id")?;
                let mut check = Check::new();
                check.max_len("input.reason", reason.as_deref().unwrap_or_default(), 1000);
                check.finish()?;
                check_move(
                    tx,
                    caller.tenant_id,
                    id,
                    before.stage(),
                    input.stage,
                    reason.as_deref(),
                )
                .await?;
                record_stage(
                    tx,
                    caller,
                    id,
                    Some(before.stage()),
                    input.stage,
                    reason.as_deref(),
                )
                .await?;
                let row = CustomerRow {
                    stage: input.stage,
                    stage_changed_at: time::now(),
                    ..before.clone()
                };
                let changed = |r: &CustomerRow| CustomerStageChanged {
                    customer: r.into(),
                    from: before.stage,
                    reason: reason.clone(),
                };
                let row = write::update::<Customer, _>(tx, caller, &before, row, changed).await?;
                Ok(row)
            })
            .await;
        CustomerPayload::of(outcome)
    }

    /// Merges a duplicate into a survivor: every lead, activity, task and quote of the
    /// duplicate moves to the survivor, empty fields of the survivor are filled from the
    /// duplicate, tags are joined, and the duplicate stays behind, inactive, pointing at the
    /// survivor.
    #[graphql(directive = Require::apply(CUSTOMER_MERGE))]
    async fn merge_customers(
        &self,
        ctx: &Context<'_>,
        input: MergeCustomersInput,
    ) -> async_graphql::Result<MergeCustomersPayload> {
        let caller = ctx.caller()?;
        let survivor_id = CustomerId::parse(&input.survivor_id)?;
        let duplicate_id = CustomerId::parse(&input.duplicate_id)?;
        let outcome = ctx
            .mutate(async |tx| {
                if survivor_id == duplicate_id {
                    return Err(Rejection::invalid(
                        "input.duplicateId",
                        UserErrorCode::InvalidState,
                        "a customer cannot be merged into itself",
                    ));
                }
                let survivor = customer_for(tx, caller, CUSTOMER_MERGE, survivor_id).await?;
                let duplicate = customer_for(tx, caller, CUSTOMER_MERGE, duplicate_id).await?;
                check_version(input.expected_version, survivor.version)?;
                if !survivor.active || survivor.merged_into.is_some() {
                    return Err(Rejection::invalid(
                        "input.survivorId",
                        UserErrorCode::InvalidState,
                        "the survivor was itself merged or retired; merge into an active customer",
                    ));
                }
                if !duplicate.active || duplicate.merged_into.is_some() {
                    return Err(Rejection::invalid(
                        "input.duplicateId",
                        UserErrorCode::InvalidState,
                        "this customer was already merged or retired",
                    ));
                }
                let tenant = caller.tenant_id;
                move_children(tx, tenant, duplicate_id, survivor_id).await?;
                let mut f = Fields::of(&survivor);
                let d = Fields::of(&duplicate);
                // Free the duplicate's unique values before the survivor takes them.
                let away = CustomerRow {
                    email: None,
                    phone: None,
                    phone_search: String::new(),
                    search_text: switchyard_kernel::validate::fold(&duplicate.display_name),
                    active: false,
                    merged_into: Some(survivor_id),
                    portal_user_id: None,
                    ..duplicate.clone()
                };
                let merged_away = |r: &CustomerRow| CustomerMergedAway {
                    customer: r.into(),
                    merged_into: survivor_id,
                };
                let duplicate_row =
                    write::update::<Customer, _>(tx, caller, &duplicate, away, merged_away).await?;
                if f.email.is_none() {
                    f.email = d.email.clone();
                }
                if f.phone.is_none() {
                    f.phone = d.phone.clone();
                    f.phone_search = d.phone_search.clone();
                }
                f.first_name = f.first_name.or(d.first_name.clone());
                f.last_name = f.last_name.or(d.last_name.clone());
                f.address = f.address.or(d.address.clone());
                f.lead_source = f.lead_source.or(d.lead_source.clone());
                f.assigned_to = f.assigned_to.or(d.assigned_to);
                f.portal_user = f.portal_user.or(d.portal_user);
                f.location = f.location.or(d.location);
                f.estimated_value = f.estimated_value.or(d.estimated_value.clone());
                for tag in d.tags {
                    if !f.tags.contains(&tag) && f.tags.len() < 20 {
                        f.tags.push(tag);
                    }
                }
                if !d.notes.is_empty() {
                    let joined = if f.notes.is_empty() {
                        d.notes.clone()
                    } else {
                        format!("{}\n\n{}", f.notes, d.notes)
                    };
                    // Keep within the notes limit (10,000 characters).
                    f.notes = joined.chars().take(10_000).collect();
                }
                let mut row = survivor.clone();
                f.apply(&mut row);
                let merged = |r: &CustomerRow| CustomerMerged {
                    customer: r.into(),
                    duplicate_id,
                };
                let survivor_row =
                    write::update::<Customer, _>(tx, caller, &survivor, row, merged).await?;
                Ok((survivor_row, duplicate_row))
            })
            .await;
        MergeCustomersPayload::from_outcome(outcome, |(s, d)| MergeCustomersPayload {
            survivor: Some(Customer::one(s)),
            merged: Some(Customer::one(d)),
            user_errors: vec![],
        })
    }
}

/// Moves every lead, activity, task and quote of one customer to another.
async fn move_children(
    conn: &mut Conn<'_>,
    tenant: TenantId,
    from: CustomerId,
    to: CustomerId,
) -> Result<(), Error> {
    db_run!(conn, |c| diesel::update(
        leads::table
            .filter(leads::tenant_id.eq(tenant))
            .filter(leads::customer_id.eq(from))
    )
    .set(leads::customer_id.eq(to))
    .execute(c)
    .await)?;
    db_run!(conn, |c| diesel::update(
        sales_activities::table
            .filter(sales_activities::tenant_id.eq(tenant))
            .filter(sales_activities::customer_id.eq(from))
    )
    .set(sales_activities::customer_id.eq(to))
    .execute(c)
    .await)?;
    db_run!(conn, |c| diesel::update(
        tasks::table
            .filter(tasks::tenant_id.eq(tenant))
            .filter(tasks::customer_id.eq(Some(from.to_string())))
    )
    .set(tasks::customer_id.eq(Some(to.to_string())))
    .execute(c)
    .await)?;
    db_run!(conn, |c| diesel::update(
        quotes::table
            .filter(quotes::tenant_id.eq(tenant))
            .filter(quotes::customer_id.eq(from))
    )
    .set(quotes::customer_id.eq(to))
    .execute(c)
    .await)?;
    Ok(())
}

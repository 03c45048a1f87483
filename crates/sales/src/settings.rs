//! A tenant's sales settings: currency, tax rate, whether quotes need approval before they
//! are sent, how long quotes stay valid, the country calling code for national phone numbers,
//! and the quote number sequence.

use async_graphql::{Context, InputObject, Object};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use switchyard_kernel::audit;
use switchyard_kernel::money::is_currency;
use switchyard_kernel::policy::Require;
use switchyard_kernel::validate::Check;
use switchyard_kernel::{
    Conn, ContextExt, Error, Rejection, TenantId, UserErrorCode, db_run, payload, time,
};

use crate::permissions::{SETTINGS_MANAGE, SETTINGS_READ};
use crate::schema::sales_settings;

/// A row of `sales_settings`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sales_settings)]
pub struct SettingsRow {
    pub tenant_id: TenantId,
    pub currency: String,
    pub tax_rate_bp: i32,
    pub quote_approval_required: bool,
    pub quote_validity_days: i32,
    pub phone_country_code: String,
    pub next_quote_number: i64,
    pub updated_at: NaiveDateTime,
    pub version: i32,
    pub quote_approver_must_differ: bool,
}

impl SettingsRow {
    fn defaults(tenant: TenantId) -> SettingsRow {
        SettingsRow {
            tenant_id: tenant,
            currency: "USD".to_owned(),
            tax_rate_bp: 0,
            quote_approval_required: false,
            quote_validity_days: 30,
            phone_country_code: "1".to_owned(),
            next_quote_number: 1,
            updated_at: time::now(),
            version: 1,
            quote_approver_must_differ: true,
        }
    }
}

/// The tenant's settings (the defaults until someone changes them).
pub async fn load(conn: &mut Conn<'_>, tenant: TenantId) -> Result<SettingsRow, Error> {
    let row: Option<SettingsRow> = db_run!(conn, |c| sales_settings::table
        .find(tenant)
        .select(SettingsRow::as_select())
        .first(c)
        .await
        .optional())?;
    Ok(row.unwrap_or_else(|| SettingsRow::defaults(tenant)))
}

async fn ensure_row(conn: &mut Conn<'_>, tenant: TenantId) -> Result<(), Error> {
    let d = SettingsRow::defaults(tenant);
    db_run!(conn, |c| diesel::insert_into(sales_settings::table)
        .values((
            sales_settings::tenant_id.eq(tenant),
            sales_settings::currency.eq(&d.currency),
            sales_settings::tax_rate_bp.eq(d.tax_rate_bp),
            sales_settings::quote_approval_required.eq(d.quote_approval_required),
            sales_settings::quote_validity_days.eq(d.quote_validity_days),
            sales_settings::phone_country_code.eq(&d.phone_country_code),
            sales_settings::next_quote_number.eq(d.next_quote_number),
            sales_settings::updated_at.eq(d.updated_at),
            sales_settings::version.eq(1),
            sales_settings::quote_approver_must_differ.eq(d.quote_approver_must_differ),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(())
}

/// Takes the next quote number (`Q-000042`) in the caller's transaction; the row lock keeps
/// numbers unique under concurrency.
pub async fn next_quote_number(conn: &mut Conn<'_>, tenant: TenantId) -> Result<String, Error> {
    ensure_row(conn, tenant).await?;
    let n: i64 = db_run!(conn, |c| diesel::update(sales_settings::table.find(tenant))
        .set(sales_settings::next_quote_number.eq(sales_settings::next_quote_number + 1))
        .returning(sales_settings::next_quote_number)
        .get_result(c)
        .await)?;
    Ok(format!("Q-{:06}", n - 1))
}

switchyard_kernel::domain_event! {
    /// A tenant changed its sales settings.
    pub struct SalesSettingsUpdated = "sales.settings.updated" v 1 on "SalesSettings" by tenant_id {
        pub tenant_id: TenantId,
        /// ISO 4217, for new quotes.
        pub currency: String,
        /// 2500 = 25 %.
        pub tax_rate_basis_points: i32,
        pub quote_approval_required: bool,
        pub quote_approver_must_differ: bool,
        pub quote_validity_days: i32,
        pub phone_country_code: String,
    }
}

impl From<&SettingsRow> for SalesSettingsUpdated {
    fn from(row: &SettingsRow) -> Self {
        SalesSettingsUpdated {
            tenant_id: row.tenant_id,
            currency: row.currency.clone(),
            tax_rate_basis_points: row.tax_rate_bp,
            quote_approval_required: row.quote_approval_required,
            quote_approver_must_differ: row.quote_approver_must_differ,
            quote_validity_days: row.quote_validity_days,
            phone_country_code: row.phone_country_code.clone(),
        }
    }
}

/// The sales settings.
pub struct SalesSettings(SettingsRow);

#[Object(directive = Require::apply(SETTINGS_READ))]
impl SalesSettings {
    /// ISO 4217 currency of new quotes.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Tax rate in basis points (2500 = 25 %), applied to the subtotal of new quotes.
    async fn tax_rate_basis_points(&self) -> i32 {
        self.0.tax_rate_bp
    }
    /// Whether a quote must be approved by a holder of `sales.quote:approve` before it is sent.
    async fn quote_approval_required(&self) -> bool {
        self.0.quote_approval_required
    }
    /// When approval is required: whether the approver must be someone other than the quote's
    /// author (separation of duties; on unless a tenant turns it off).
    async fn quote_approver_must_differ(&self) -> bool {
        self.0.quote_approver_must_differ
    }
    /// Days a new quote stays valid.
    async fn quote_validity_days(&self) -> i32 {
        self.0.quote_validity_days
    }
    /// Country calling code given to national phone numbers (digits, e.g. `46`).
    async fn phone_country_code(&self) -> &str {
        &self.0.phone_country_code
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// Changes to the sales settings.
#[derive(InputObject)]
pub struct UpdateSalesSettingsInput {
    pub expected_version: Option<i32>,
    pub currency: Option<String>,
    pub tax_rate_basis_points: Option<i32>,
    pub quote_approval_required: Option<bool>,
    pub quote_approver_must_differ: Option<bool>,
    pub quote_validity_days: Option<i32>,
    pub phone_country_code: Option<String>,
}

payload!(
    /// The result of `updateSalesSettings`.
    SalesSettingsPayload { settings: SalesSettings }
);

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The tenant's sales settings.
    #[graphql(directive = Require::apply(SETTINGS_READ))]
    async fn sales_settings(&self, ctx: &Context<'_>) -> async_graphql::Result<SalesSettings> {
        let caller = ctx.caller()?;
        let mut pooled = ctx.services()?.db.read().await?;
        Ok(SalesSettings(
            load(&mut pooled.conn(), caller.tenant_id).await?,
        ))
    }
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Changes the sales settings; existing quotes keep the tax rate they were made with.
    #[graphql(directive = Require::apply(SETTINGS_MANAGE))]
    async fn update_sales_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateSalesSettingsInput,
    ) -> async_graphql::Result<SalesSettingsPayload> {
        let caller = ctx.caller()?;
        let mut check = Check::new();
        let currency = input.currency.as_deref().map(|c| c.trim().to_uppercase());
        if let Some(c) = &currency
            && !is_currency(c)
        {
            check.add(
                "input.currency",
                UserErrorCode::InvalidFormat,
                "must be an ISO 4217 code such as SEK or USD",
            );
        }
        if let Some(bp) = input.tax_rate_basis_points
            && !(0..=10_000).contains(&bp)
        {
            check.add(
                "input.taxRateBasisPoints",
                UserErrorCode::OutOfRange,
                "must be between 0 and 10000 (0 % to 100 %)",
            );
        }
        if let Some(days) = input.quote_validity_days
            && !(1..=365).contains(&days)
        {
            check.add(
                "input.quoteValidityDays",
                UserErrorCode::OutOfRange,
                "must be between 1 and 365",
            );
        }
        if let Some(cc) = &input.phone_country_code
            && !(1..=3).contains(&cc.len())
        {
            check.add(
                "input.phoneCountryCode",
                UserErrorCode::InvalidFormat,
                "must be 1 to 3 digits, e.g. 46",
            );
        } else if let Some(cc) = &input.phone_country_code
            && !cc.chars().all(|c| c.is_ascii_digit())
        {
            check.add(
                "input.phoneCountryCode",
                UserErrorCode::InvalidFormat,
                "must be 1 to 3 digits, e.g. 46",
            );
        }
        let outcome = ctx
            .mutate(async |tx| {
                ensure_row(tx, caller.tenant_id).await?;
                let before = load(tx, caller.tenant_id).await?;
                if input.expected_version.is_some_and(|v| v != before.version) {
                    return Err(Error::conflict(
                        "the settings changed since you read them; reload and retry",
                    )
                    .into());
                }
                check.finish()?;
                let row: SettingsRow = db_run!(tx, |c| diesel::update(
                    sales_settings::table
                        .find(caller.tenant_id)
                        .filter(sales_settings::version.eq(before.version))
                )
                .set((
                    sales_settings::currency
                        .eq(currency.clone().unwrap_or(before.currency.clone())),
                    sales_settings::tax_rate_bp
                        .eq(input.tax_rate_basis_points.unwrap_or(before.tax_rate_bp)),
                    sales_settings::quote_approval_required.eq(input
                        .quote_approval_required
                        .unwrap_or(before.quote_approval_required)),
                    sales_settings::quote_approver_must_differ.eq(input
                        .quote_approver_must_differ
                        .unwrap_or(before.quote_approver_must_differ)),
                    sales_settings::quote_validity_days.eq(input
                        .quote_validity_days
                        .unwrap_or(before.quote_validity_days)),
                    sales_settings::phone_country_code.eq(input
                        .phone_country_code
                        .clone()
                        .unwrap_or(before.phone_country_code.clone())),
                    sales_settings::updated_at.eq(time::now()),
                    sales_settings::version.eq(before.version + 1),
                ))
                .returning(SettingsRow::as_returning())
                .get_result(c)
                .await
                .optional())?
                .ok_or_else(Error::changed_meanwhile)?;
                audit::record_event(
                    tx,
                    caller,
                    &SalesSettingsUpdated::from(&row),
                    serde_json::to_value(SalesSettingsUpdated::from(&before)).ok(),
                )
                .await?;
                Ok::<_, Rejection>(row)
            })
            .await;
        SalesSettingsPayload::from_outcome(outcome, |row| SalesSettingsPayload {
            settings: Some(SalesSettings(row)),
            user_errors: vec![],
        })
    }
}

/// Sets a tenant's settings outright (the demo company and tests).
pub async fn provision(
    services: &switchyard_kernel::Services,
    tenant: TenantId,
    currency: &str,
    tax_rate_bp: i32,
    approval_required: bool,
    phone_country_code: &str,
) -> anyhow::Result<()> {
    services
        .mutate(async |tx| {
            ensure_row(tx, tenant).await?;
            db_run!(tx, |c| diesel::update(sales_settings::table.find(tenant))
                .set((
                    sales_settings::currency.eq(currency),
                    sales_settings::tax_rate_bp.eq(tax_rate_bp),
                    sales_settings::quote_approval_required.eq(approval_required),
                    sales_settings::phone_country_code.eq(phone_country_code),
                    sales_settings::updated_at.eq(time::now()),
                ))
                .execute(c)
                .await)?;
            Ok::<_, Rejection>(())
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))
}

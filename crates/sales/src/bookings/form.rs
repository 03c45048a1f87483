//! The booking form as `submitBooking` takes it: the input, trimmed and checked as a whole
//! (every failing field named at once), completed with the tenant's phone country code and the
//! location.

use async_graphql::{ID, InputObject};
use chrono::{Duration, NaiveDate};
use switchyard_kernel::validate::{Check, is_email, normalize_email};
use switchyard_kernel::{Conn, LocationId, Rejection, TenantId, UserErrorCode, time};

use crate::quotes::QuoteItemCategory;

/// How far ahead a move is booked.
const MAX_DAYS_AHEAD: i64 = 730;

/// A booking from a company's web form.
#[derive(InputObject)]
pub struct SubmitBookingInput {
    /// The company's slug, as its booking form names it.
    pub tenant: String,
    /// The location to book with; by default the company's only location.
    pub location_id: Option<ID>,
    pub first_name: Option<String>,
    pub last_name: String,
    /// An email address or a phone number, or both.
    pub email: Option<String>,
    pub phone: Option<String>,
    /// When to move: today or later, at most two years ahead.
    pub move_date: NaiveDate,
    /// Where the move loads.
    pub origin: String,
    /// Where it unloads.
    pub destination: String,
    /// Rooms of the home (1 to 30), or the volume, or both.
    pub rooms: Option<i32>,
    /// Cubic metres of goods (1 to 500).
    pub volume_m3: Option<i32>,
    /// The services wanted (at least one).
    pub services: Vec<QuoteItemCategory>,
    #[graphql(default)]
    pub message: String,
}

/// The form, trimmed, then checked and completed ([`Form::check`]).
pub(super) struct Form {
    pub(super) tenant: String,
    pub(super) location_id: Option<ID>,
    pub(super) location: Option<LocationId>,
    pub(super) first_name: Option<String>,
    pub(super) last_name: String,
    pub(super) email: Option<String>,
    pub(super) raw_phone: Option<String>,
    pub(super) phone: Option<(String, String)>,
    pub(super) move_date: NaiveDate,
    pub(super) origin: String,
    pub(super) destination: String,
    pub(super) rooms: Option<i32>,
    pub(super) volume: Option<i32>,
    pub(super) services: Vec<QuoteItemCategory>,
    pub(super) message: String,
    /// The tenant's quote validity, read with its phone country code.
    pub(super) quote_validity_days: i32,
}

fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Form {
    pub(super) fn of(input: SubmitBookingInput) -> Form {
        let mut services = Vec::new();
        for service in input.services {
            if !services.contains(&service) {
                services.push(service);
            }
        }
        Form {
            tenant: input.tenant,
            location_id: input.location_id,
            location: None,
            first_name: given(input.first_name),
            last_name: input.last_name.trim().to_owned(),
            email: given(input.email).map(|e| normalize_email(&e)),
            raw_phone: given(input.phone),
            phone: None,
            move_date: input.move_date,
            origin: input.origin.trim().to_owned(),
            destination: input.destination.trim().to_owned(),
            rooms: input.rooms,
            volume: input.volume_m3,
            services,
            message: input.message.trim().to_owned(),
            quote_validity_days: 0,
        }
    }

    /// Every rule of the form, each failure naming its field; completes the phone (the
    /// tenant's country code) and the location.
    pub(super) async fn check(
        &mut self,
        tx: &mut Conn<'_>,
        tenant: TenantId,
    ) -> Result<(), Rejection> {
        let settings = crate::settings::load(tx, tenant).await?;
        self.quote_validity_days = settings.quote_validity_days;
        let mut check = Check::new();
        check
            .max_len(
                "input.firstName",
                self.first_name.as_deref().unwrap_or_default(),
                100,
            )
            .text("input.lastName", &self.last_name, 100)
            .text("input.origin", &self.origin, 300)
            .text("input.destination", &self.destination, 300)
            .max_len("input.message", &self.message, 2000);
        if let Some(email) = &self.email
            && (email.len() > 254 || !is_email(email))
        {
            check.add(
                "input.email",
                UserErrorCode::InvalidFormat,
                "must be an email address like name@example.com",
            );
        }
        if let Some(raw) = &self.raw_phone {
            match crate::phone::normalize(raw, &settings.phone_country_code) {
                Ok(p) => self.phone = Some((p.e164, p.search)),
                Err(why) => {
                    check.add(
                        "input.phone",
                        UserErrorCode::InvalidFormat,
                        format!("the phone number {why}"),
                    );
                }
            }
        }
        if self.email.is_none() && self.raw_phone.is_none() {
            check.add(
                "input.email",
                UserErrorCode::Required,
                "give an email address or a phone number to be reached at",
            );
        }
        let today = time::now().date();
        if self.move_date < today {
            check.add(
                "input.moveDate",
                UserErrorCode::OutOfRange,
                "must be today or later",
            );
        } else if self.move_date > today + Duration::days(MAX_DAYS_AHEAD) {
            check.add(
                "input.moveDate",
                UserErrorCode::OutOfRange,
                "can be booked at most two years ahead",
            );
        }
        if let Some(rooms) = self.rooms {
            check.within("input.rooms", rooms, 1..=30);
        }
        if let Some(volume) = self.volume {
            check.within("input.volumeM3", volume, 1..=500);
        }
        if self.rooms.is_none() && self.volume.is_none() {
            check.add(
                "input.rooms",
                UserErrorCode::Required,
                "give the number of rooms or the volume in cubic metres",
            );
        }
        if self.services.is_empty() {
            check.add(
                "input.services",
                UserErrorCode::Required,
                "choose at least one service",
            );
        }
        self.location = match &self.location_id {
            Some(id) => {
                let known = match LocationId::parse(id) {
                    Ok(location) => switchyard_identity::locations::exists(tx, tenant, location)
                        .await?
                        .then_some(location),
                    Err(_) => None,
                };
                if known.is_none() {
                    check.add(
                        "input.locationId",
                        UserErrorCode::UnknownReference,
                        "not a location of this company",
                    );
                }
                known
            }
            None => switchyard_identity::locations::only(tx, tenant).await?,
        };
        check.finish()
    }

    pub(super) fn name(&self) -> String {
        match &self.first_name {
            Some(first) => format!("{first} {}", self.last_name),
            None => self.last_name.clone(),
        }
    }
}

//! Postal addresses, stored as JSON text.

use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use crate::validate::Check;

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, SimpleObject, Serialize, Deserialize)]
#[graphql(directive = crate::policy::Inherit::apply())]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `SE`.
    pub country: String,
}

/// A postal address as input.
#[derive(Debug, Clone, PartialEq, Eq, Default, InputObject)]
pub struct AddressInput {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `SE`.
    pub country: String,
}

impl From<AddressInput> for Address {
    fn from(input: AddressInput) -> Self {
        let trim = |s: String| s.trim().to_owned();
        let opt = |s: Option<String>| s.map(trim).filter(|s| !s.is_empty());
        Address {
            line1: trim(input.line1),
            line2: opt(input.line2),
            city: trim(input.city),
            region: opt(input.region),
            postal_code: trim(input.postal_code),
            country: input.country.trim().to_uppercase(),
        }
    }
}

impl Address {
    /// Checks the fields under `path` (e.g. `input.address`).
    pub fn check(&self, check: &mut Check, path: &str) {
        check
            .text(&format!("{path}.line1"), &self.line1, 200)
            .max_len(
                &format!("{path}.line2"),
                self.line2.as_deref().unwrap_or_default(),
                200,
            )
            .text(&format!("{path}.city"), &self.city, 100)
            .max_len(
                &format!("{path}.region"),
                self.region.as_deref().unwrap_or_default(),
                100,
            )
            .text(&format!("{path}.postalCode"), &self.postal_code, 20);
        let country = &self.country;
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            check.add(
                &format!("{path}.country"),
                crate::error::UserErrorCode::InvalidFormat,
                "must be an ISO 3166-1 alpha-2 code such as SE or US",
            );
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<Address> {
        serde_json::from_str(text).ok()
    }
}

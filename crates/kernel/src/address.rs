//! Postal addresses, stored as JSON text.

use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};

use crate::validate::Check;

/// A postal address, with its position when known.
#[derive(Debug, Clone, PartialEq, Default, SimpleObject, Serialize, Deserialize)]
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
    /// WGS 84 degrees, when known (distances between locations use them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
}

/// A postal address as input.
#[derive(Debug, Clone, PartialEq, Default, InputObject)]
pub struct AddressInput {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code, e.g. `SE`.
    pub country: String,
    /// WGS 84 degrees, −90 to 90; give both or neither.
    pub latitude: Option<f64>,
    /// WGS 84 degrees, −180 to 180.
    pub longitude: Option<f64>,
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
            latitude: input.latitude,
            longitude: input.longitude,
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
        match (self.latitude, self.longitude) {
            (None, None) => {}
            (Some(lat), Some(lon)) => {
                if !(-90.0..=90.0).contains(&lat) {
                    check.add(
                        &format!("{path}.latitude"),
                        crate::error::UserErrorCode::OutOfRange,
                        "degrees from -90 to 90",
                    );
                }
                if !(-180.0..=180.0).contains(&lon) {
                    check.add(
                        &format!("{path}.longitude"),
                        crate::error::UserErrorCode::OutOfRange,
                        "degrees from -180 to 180",
                    );
                }
            }
            _ => {
                check.add(
                    &format!("{path}.latitude"),
                    crate::error::UserErrorCode::Required,
                    "give both latitude and longitude, or neither",
                );
            }
        }
    }

    /// The position, when known.
    pub fn position(&self) -> Option<(f64, f64)> {
        self.latitude.zip(self.longitude)
    }

    /// Great-circle kilometres between two positions (haversine, mean Earth radius).
    pub fn km_between(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
        let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
        let h = ((lat2 - lat1) / 2.0).sin().powi(2)
            + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
        2.0 * 6371.0 * h.sqrt().min(1.0).asin()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Option<Address> {
        serde_json::from_str(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Address;

    #[test]
    fn stockholm_to_uppsala_is_about_64_km() {
        let km = Address::km_between((59.3293, 18.0686), (59.8586, 17.6389));
        assert!((63.0..66.0).contains(&km), "{km}");
        assert!(Address::km_between((10.0, 10.0), (10.0, 10.0)).abs() < 1e-9);
    }
}

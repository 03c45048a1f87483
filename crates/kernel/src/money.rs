//! Money: an integer amount of minor units (cents, öre) and an ISO 4217 currency. Never a float.

use async_graphql::{
    InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value,
};
use serde::{Deserialize, Serialize};

/// A 64-bit integer. GraphQL's `Int` is 32-bit, too small for money in minor units; `Long`
/// travels as a JSON number (exact up to 2^53) and also accepts a numeric string as input.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Long(pub i64);

#[Scalar]
impl ScalarType for Long {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(n) => n
                .as_i64()
                .map(Long)
                .ok_or_else(|| InputValueError::custom("must be a whole number")),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Long)
                .map_err(|_| InputValueError::custom("must be a whole number")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject, Serialize, Deserialize)]
#[graphql(directive = crate::policy::Inherit::apply())]
pub struct Money {
    /// The amount in the currency's minor unit (cents for USD, none for JPY).
    pub amount_minor: Long,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

/// An amount of money as input.
#[derive(Debug, Clone, PartialEq, Eq, InputObject)]
pub struct MoneyInput {
    /// The amount in the currency's minor unit.
    pub amount_minor: Long,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
}

impl Money {
    pub fn new(amount_minor: i64, currency: impl Into<String>) -> Self {
        Money {
            amount_minor: Long(amount_minor),
            currency: currency.into(),
        }
    }
}

/// Active ISO 4217 codes whose minor unit is not 2 decimals.
const EXPONENTS: &[(&str, u32)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// Active ISO 4217 codes with 2 decimals.
const TWO_DECIMALS: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES", "WST", "XCD", "YER", "ZAR",
    "ZMW", "ZWG",
];

/// Decimal places of a currency's minor unit, if the code is an active ISO 4217 currency.
pub fn minor_unit_exponent(code: &str) -> Option<u32> {
    EXPONENTS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, e)| *e)
        .or_else(|| TWO_DECIMALS.contains(&code).then_some(2))
}

/// Whether `code` is an active ISO 4217 currency code (upper case).
pub fn is_currency(code: &str) -> bool {
    minor_unit_exponent(code).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_know_their_minor_units() {
        assert_eq!(minor_unit_exponent("USD"), Some(2));
        assert_eq!(minor_unit_exponent("SEK"), Some(2));
        assert_eq!(minor_unit_exponent("JPY"), Some(0));
        assert_eq!(minor_unit_exponent("KWD"), Some(3));
        assert!(!is_currency("usd"));
        assert!(!is_currency("XXX"));
    }
}

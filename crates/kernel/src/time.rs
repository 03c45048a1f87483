//! Time: UTC everywhere in storage (`Timestamp` columns hold UTC), RFC 3339 on the wire.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Now, in UTC, at microsecond precision (what PostgreSQL stores), so that a value read back
/// equals the value written.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored UTC timestamp as a wire value.
pub fn utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}

/// A wire value as a stored UTC timestamp.
pub fn naive(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc().trunc_subsecs(6)
}

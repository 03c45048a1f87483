//! Recurring appointments: an RFC 5545 RRULE (`FREQ=WEEKLY;BYDAY=MO;COUNT=10`) expanded by the
//! `rrule` crate in the zone of the appointment's location, so a weekly 09:00 stays 09:00 local
//! across daylight-saving changes. A series must end (`COUNT` or `UNTIL`), within two years and
//! 500 occurrences: what is stored expands in bounded time.

use chrono::{Duration, NaiveDateTime, TimeZone};
use rrule::{RRule, RRuleSet, Tz, Unvalidated};

/// Occurrences of one series, at most.
pub const MAX_OCCURRENCES: usize = 500;
/// How far a series reaches, at most.
const MAX_SPAN_DAYS: i64 = 731;

/// A series: its rule, first start (UTC), length and zone.
pub struct Series {
    set: Option<RRuleSet>,
    start: NaiveDateTime,
    length: Duration,
}

impl Series {
    /// The series of an appointment starting at `start` (UTC) for `length`, recurring by
    /// `rule` (none: once) in `zone`; why not, as a sentence, if the rule is bad.
    pub fn new(
        rule: Option<&str>,
        start: NaiveDateTime,
        length: Duration,
        zone: chrono_tz::Tz,
    ) -> Result<Series, String> {
        let Some(rule) = rule else {
            return Ok(Series::once(start, length));
        };
        let text = rule.trim();
        let text = text.strip_prefix("RRULE:").unwrap_or(text);
        if text.is_empty() || text.len() > 500 || text.contains(['\n', '\r']) {
            return Err("must be one RRULE line such as FREQ=WEEKLY;COUNT=10".to_owned());
        }
        let parsed: RRule<Unvalidated> = text
            .parse()
            .map_err(|e| format!("does not parse as an RFC 5545 RRULE: {e}"))?;
        if parsed.get_count().is_none() && parsed.get_until().is_none() {
            return Err("never ends: give COUNT or UNTIL".to_owned());
        }
        let tz = Tz::Tz(zone);
        let first = tz.from_utc_datetime(&start);
        let set = parsed
            .build(first)
            .map_err(|e| format!("is not a valid RRULE from this start: {e}"))?;
        let series = Series {
            set: Some(set),
            start,
            length,
        };
        let starts = series.starts(MAX_OCCURRENCES + 1)?;
        if starts.len() > MAX_OCCURRENCES {
            return Err(format!(
                "expands to more than {MAX_OCCURRENCES} occurrences"
            ));
        }
        if starts.first() != Some(&start) {
            return Err(
                "does not repeat from its start: the start must be its first occurrence (check BYDAY against the start's weekday)"
                    .to_owned(),
            );
        }
        if let Some(last) = starts.last()
            && *last - start > Duration::days(MAX_SPAN_DAYS)
        {
            return Err("reaches more than two years ahead".to_owned());
        }
        Ok(series)
    }

    /// A single occurrence.
    pub fn once(start: NaiveDateTime, length: Duration) -> Series {
        Series {
            set: None,
            start,
            length,
        }
    }

    fn starts(&self, limit: usize) -> Result<Vec<NaiveDateTime>, String> {
        let Some(set) = &self.set else {
            return Ok(vec![self.start]);
        };
        let limit = u16::try_from(limit).unwrap_or(u16::MAX);
        let result = set.clone().all(limit);
        Ok(result.dates.iter().map(|d| d.naive_utc()).collect())
    }

    /// Every occurrence, (start, end) in UTC.
    pub fn occurrences(&self) -> Vec<(NaiveDateTime, NaiveDateTime)> {
        self.starts(MAX_OCCURRENCES)
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s, s + self.length))
            .collect()
    }

    /// The occurrences overlapping `[from, to)`.
    pub fn within(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Vec<(NaiveDateTime, NaiveDateTime)> {
        self.occurrences()
            .into_iter()
            .filter(|(s, e)| *s < to && *e > from)
            .collect()
    }

    /// When the last occurrence ends.
    pub fn ends(&self) -> NaiveDateTime {
        self.occurrences()
            .last()
            .map_or(self.start + self.length, |(_, e)| *e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_weekly_series_keeps_its_local_time_across_the_change_to_summer_time() {
        // 08:00 UTC is 09:00 in Stockholm in winter; after 29 March 2027 it is 07:00 UTC.
        let series = Series::new(
            Some("FREQ=WEEKLY;COUNT=4"),
            at("2027-03-15 08:00"),
            Duration::hours(1),
            chrono_tz::Europe::Stockholm,
        )
        .unwrap();
        let starts: Vec<_> = series.occurrences().into_iter().map(|o| o.0).collect();
        assert_eq!(
            starts,
            vec![
                at("2027-03-15 08:00"),
                at("2027-03-22 08:00"),
                at("2027-03-29 07:00"),
                at("2027-04-05 07:00")
            ]
        );
        assert_eq!(series.ends(), at("2027-04-05 08:00"));
        assert_eq!(
            series
                .within(at("2027-03-22 08:30"), at("2027-03-29 07:30"))
                .len(),
            2
        );
    }

    #[test]
    fn bad_or_endless_rules_are_refused_with_a_reason() {
        let start = at("2027-03-15 08:00");
        let zone = chrono_tz::UTC;
        let new = |rule| Series::new(Some(rule), start, Duration::hours(1), zone).err();
        assert!(new("FREQ=SOMETIMES").unwrap().contains("does not parse"));
        assert!(new("FREQ=DAILY").unwrap().contains("never ends"));
        assert!(
            new("FREQ=HOURLY;COUNT=1000")
                .unwrap()
                .contains("more than 500")
        );
        assert!(new("FREQ=YEARLY;COUNT=5").unwrap().contains("two years"));
        assert!(new("FREQ=DAILY;COUNT=3\nRRULE:FREQ=DAILY").is_some());
        assert!(new("RRULE:FREQ=DAILY;UNTIL=20270320T000000Z").is_none());
        // 15 March 2027 is a Monday.
        assert!(
            new("FREQ=WEEKLY;BYDAY=TU;COUNT=3")
                .unwrap()
                .contains("first occurrence")
        );
        assert!(new("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3").is_none());
        assert_eq!(
            Series::new(None, start, Duration::hours(1), zone)
                .unwrap()
                .occurrences(),
            vec![(start, at("2027-03-15 09:00"))]
        );
    }
}

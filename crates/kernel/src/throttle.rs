//! Counting attempts per key within a time window, in memory, per process: how sign-in
//! failures and public bookings are limited. Each counter is named (`"identity.login"`) so
//! that one [`Throttle`] serves every limit; a key's window starts at its first attempt and
//! a full window is forgotten.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::Error;

/// At most `max` attempts within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

/// A counter's name and a key.
type Key = (&'static str, String);

/// Attempts per (counter, key): how many, since when.
#[derive(Default)]
pub struct Throttle {
    counts: Mutex<HashMap<Key, (u32, Instant)>>,
}

/// Forgets windows that have passed once the map grows this large.
const PRUNE_AT: usize = 100_000;

impl Throttle {
    /// Whether `key` used up `limit` on `counter` (a poisoned lock counts as over: refuse
    /// rather than let everything through).
    pub fn used_up(&self, counter: &'static str, key: &str, limit: Limit) -> bool {
        self.counts.lock().map_or(true, |counts| {
            counts
                .get(&(counter, key.to_owned()))
                .is_some_and(|(n, since)| *n >= limit.max && since.elapsed() < limit.window)
        })
    }

    /// Counts one attempt of `key` on `counter`.
    pub fn count(&self, counter: &'static str, key: &str, limit: Limit) {
        if let Ok(mut counts) = self.counts.lock() {
            if counts.len() > PRUNE_AT {
                counts.retain(|_, (_, since)| since.elapsed() < limit.window);
            }
            let entry = counts
                .entry((counter, key.to_owned()))
                .or_insert((0, Instant::now()));
            if entry.1.elapsed() >= limit.window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
    }

    /// Counts an attempt unless `limit` is used up: RATE_LIMITED then, and not counted.
    pub fn take(&self, counter: &'static str, key: &str, limit: Limit) -> Result<(), Error> {
        if self.used_up(counter, key, limit) {
            return Err(Error::RateLimited);
        }
        self.count(counter, key, limit);
        Ok(())
    }

    /// Forgets `key`'s attempts on `counter`.
    pub fn forget(&self, counter: &'static str, key: &str) {
        if let Ok(mut counts) = self.counts.lock() {
            counts.remove(&(counter, key.to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_limit_and_others_are_not() {
        let throttle = Throttle::default();
        let limit = Limit {
            max: 2,
            window: Duration::from_secs(60),
        };
        assert!(throttle.take("c", "a", limit).is_ok());
        assert!(throttle.take("c", "a", limit).is_ok());
        assert!(matches!(
            throttle.take("c", "a", limit),
            Err(Error::RateLimited)
        ));
        assert!(throttle.take("c", "b", limit).is_ok());
        assert!(throttle.take("other", "a", limit).is_ok());
        throttle.forget("c", "a");
        assert!(throttle.take("c", "a", limit).is_ok());
    }

    #[test]
    fn a_window_that_passed_starts_afresh() {
        let throttle = Throttle::default();
        let limit = Limit {
            max: 1,
            window: Duration::from_millis(20),
        };
        assert!(throttle.take("c", "a", limit).is_ok());
        assert!(throttle.used_up("c", "a", limit));
        std::thread::sleep(Duration::from_millis(30));
        assert!(throttle.take("c", "a", limit).is_ok());
    }
}

//! The mutator: `rescheduleJob` over HTTP, each to a new time window.

use std::time::Instant;

use serde_json::{Value, json};

use crate::server::http;
use crate::{MUTATION, ms};

pub(crate) struct Window {
    pub(crate) s: String,
    pub(crate) e: String,
}

/// A new two-hour window inside Tuesday's working hours, moving 67 s each time.
pub(crate) struct Windows(pub(crate) u64);

impl Windows {
    pub(crate) fn next(&mut self) -> Window {
        self.0 = (self.0 + 67) % 21_600;
        let base = chrono::DateTime::parse_from_rfc3339("2027-01-12T07:00:00Z").unwrap();
        let s = base + chrono::Duration::seconds(self.0 as i64);
        let e = s + chrono::Duration::hours(2);
        let f = |d: chrono::DateTime<chrono::FixedOffset>| {
            d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        };
        Window { s: f(s), e: f(e) }
    }
}

pub(crate) struct Answer {
    pub(crate) ms: f64,
    pub(crate) problems: Option<Value>,
}

pub(crate) async fn mutate(
    url: String,
    token: String,
    job: String,
    window: &Window,
) -> (Instant, tokio::task::JoinHandle<Answer>) {
    let body = json!({"query": MUTATION, "variables": {"id": job, "s": window.s, "e": window.e}})
        .to_string();
    let t0 = Instant::now();
    let handle = tokio::spawn(async move {
        let problems = match http(&url, Some(&token), Some(&body)).await {
            Ok(body) => {
                let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let p = &json["data"]["rescheduleJob"];
                if let Some(e) = json.get("errors") {
                    Some(e.clone())
                } else if p.is_null() {
                    Some(json!("no data"))
                } else if p["userErrors"].as_array().is_some_and(|a| !a.is_empty()) {
                    Some(p["userErrors"].clone())
                } else {
                    None
                }
            }
            Err(e) => Some(json!(e.to_string())),
        };
        Answer {
            ms: ms(t0.elapsed()),
            problems,
        }
    });
    (t0, handle)
}

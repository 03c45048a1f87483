//! One subscriber: its socket, what it received (stamped on arrival, kept raw), and the parsing
//! of that after the run.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

#[derive(Default)]
pub(crate) struct State {
    pub(crate) acked: bool,
    /// Arrival and raw text of every message after the acknowledgement, but pings and pongs.
    pub(crate) msgs: Vec<(Instant, Utf8Bytes)>,
    pub(crate) pings: u64,
    pub(crate) closed: Option<u16>,
    pub(crate) error: Option<String>,
}

pub(crate) struct Sub {
    pub(crate) server: usize,
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) state: Mutex<State>,
}

/// One message as read after the run.
pub(crate) struct Got {
    pub(crate) t: Instant,
    pub(crate) kind: String,
    pub(crate) id: Option<String>,
    pub(crate) removed: bool,
    pub(crate) starts_at: Option<String>,
    pub(crate) errors: Option<Value>,
}

/// Connects one subscriber, signs in and subscribes; `ready` hears whether the server
/// acknowledged. Then keeps reading until the socket closes.
pub(crate) async fn subscriber(
    sub: Arc<Sub>,
    subscribe: Arc<String>,
    ready: oneshot::Sender<bool>,
) {
    let mut ready = Some(ready);
    let fail = |sub: &Sub, e: String, ready: &mut Option<oneshot::Sender<bool>>| {
        sub.state.lock().unwrap().error = Some(e);
        if let Some(r) = ready.take() {
            let _ = r.send(false);
        }
    };
    let mut request = match sub.url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => return fail(&sub, e.to_string(), &mut ready),
    };
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        HeaderValue::from_static("graphql-transport-ws"),
    );
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    let mut ws = match tokio::time::timeout(Duration::from_secs(60), connect).await {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => return fail(&sub, e.to_string(), &mut ready),
        Err(_) => return fail(&sub, "handshake timed out".into(), &mut ready),
    };
    let init = json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", sub.token)}});
    if let Err(e) = ws.send(Message::text(init.to_string())).await {
        return fail(&sub, e.to_string(), &mut ready);
    }
    while let Some(message) = ws.next().await {
        let t = Instant::now();
        let text = match message {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => {
                sub.state.lock().unwrap().closed = Some(frame.map_or(1005, |f| f.code.into()));
                break;
            }
            Ok(_) => continue,
            Err(e) => {
                fail(&sub, e.to_string(), &mut ready);
                break;
            }
        };
        // What to send back, decided under the lock and sent after it.
        let reply = {
            let mut state = sub.state.lock().unwrap();
            if state.acked && text.len() > 64 {
                state.msgs.push((t, text)); // an event: parsed later
                continue;
            }
            let kind = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|m| m.get("type").and_then(Value::as_str).map(str::to_owned));
            match kind.as_deref() {
                Some("connection_ack") => {
                    state.acked = true;
                    Some((subscribe.as_str().to_owned(), true))
                }
                Some("ping") => {
                    state.pings += 1;
                    Some((r#"{"type":"pong"}"#.to_owned(), false))
                }
                Some("pong") => None,
                _ => {
                    state.msgs.push((t, text));
                    None
                }
            }
        };
        if let Some((reply, subscribed)) = reply {
            if let Err(e) = ws.send(Message::text(reply)).await {
                fail(&sub, e.to_string(), &mut ready);
                break;
            }
            if let Some(r) = ready.take_if(|_| subscribed) {
                let _ = r.send(true);
            }
        }
    }
    let mut state = sub.state.lock().unwrap();
    if state.closed.is_none() && state.error.is_none() {
        state.closed = Some(1006);
    }
    drop(state);
    if let Some(r) = ready.take() {
        let _ = r.send(false);
    }
}

/// Parses and removes what a subscriber received.
pub(crate) fn take(sub: &Sub) -> Vec<Got> {
    let msgs = std::mem::take(&mut sub.state.lock().unwrap().msgs);
    msgs.into_iter()
        .map(|(t, raw)| {
            let Ok(m) = serde_json::from_str::<Value>(&raw) else {
                return Got {
                    t,
                    kind: "unparsable".into(),
                    id: None,
                    removed: false,
                    starts_at: None,
                    errors: None,
                };
            };
            let kind = m["type"].as_str().unwrap_or("").to_owned();
            let change = &m["payload"]["data"]["calendarChanged"];
            let errors = if kind == "error" {
                Some(m["payload"].clone())
            } else {
                m["payload"].get("errors").cloned()
            };
            Got {
                t,
                id: change["id"].as_str().map(str::to_owned),
                removed: change["removed"].as_bool().unwrap_or(false),
                starts_at: change["entries"][0]["startsAt"].as_str().map(str::to_owned),
                errors,
                kind,
            }
        })
        .collect()
}

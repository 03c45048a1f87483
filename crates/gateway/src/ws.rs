//! (Over 600 lines: two WebSocket protocols over one connection loop, with their close codes, limits and access re-checks.)
//!
//! GraphQL over WebSocket: `graphql-transport-ws` exactly as specified (close codes 4400,
//! 4401, 4403, 4406, 4408, 4409, 4429; server pings), and the legacy `graphql-ws`
//! (subscriptions-transport-ws) protocol for older clients. Authentication travels in
//! `connection_init` (`{"authorization": "Bearer …"}`), or in the upgrade request's headers.
//!
//! A socket outlives the checks made when it opened, so it checks again: when its credential
//! expires (4403 at the token's `exp`), when an identity event concerns its caller (the user
//! deactivated, signed out, their roles, grants or locations changed, a custom role edited, the
//! API key revoked), when a grant with an end date ends, and every `ws_access_recheck_secs` (a
//! safety net for a change no event announced: for most sockets one check of all of them,
//! [`crate::watch`]). A caller who no longer holds every right it
//! held is closed with 4403 and reconnects with what it holds now, so no open subscription goes
//! on delivering what its caller may no longer read.
//!
//! A subscription runs in an execution it may share with the caller's other sockets that sent
//! the same subscription ([`crate::shared`]): the socket frames the payloads it hands out.
//!
//! Limits: operations at once per socket and per caller across sockets (beyond them the
//! operation gets an `error` with code `RATE_LIMITED`), and messages larger than
//! `max_body_bytes` close the socket with 1009.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_graphql::parser::types::ExecutableDocument;
use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::{FutureExt, StreamExt};
use serde_json::{Map, Value, json};
use switchyard_kernel::events::Event;
use switchyard_kernel::{Caller, ClientAddr, Principal};
use tokio_stream::StreamMap;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::http::graphql_request;
use crate::origin::{Origin, client_addr, credential, strip_bearer};
use crate::schema::{Executed, validation_key};
use crate::shared::{Delivery, Key, Run, Subscriber};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws` (the graphql-ws library).
    TransportWs,
    /// `graphql-ws` (the legacy subscriptions-transport-ws).
    Legacy,
}

/// Whether the request asks to become a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Bytes a socket collects for writing at a time.
const WS_WRITE_BUFFER: usize = 4096;
/// Room a socket keeps for reading: enough for the small messages of these protocols (a
/// `connection_init` with a token, a `subscribe`); a larger message grows the buffer to its
/// frame's length and is read whole, so this bounds only what an idle socket holds.
const WS_READ_BUFFER: usize = 512;

/// Upgrades `GET /graphql` to a WebSocket.
pub async fn upgrade(state: AppState, mut parts: axum::http::request::Parts) -> Response {
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    // Small buffers: an idle subscriber is mostly its buffers (128 KiB each by default), and
    // GraphQL-over-WebSocket messages are small; a larger one is read or written in more
    // steps, not refused.
    let ws = ws
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(state.config.max_body_bytes)
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(WS_WRITE_BUFFER);
    let protocol = match ws.selected_protocol().and_then(|p| p.to_str().ok()) {
        Some("graphql-transport-ws") => Some(Protocol::TransportWs),
        Some("graphql-ws") => Some(Protocol::Legacy),
        _ => None,
    };
    let address = client_addr(&state, &parts);
    // A credential in the upgrade's headers; `connection_init` may bring another.
    let header_credential = credential(&parts.headers).map(str::to_owned);
    let authenticated = match &header_credential {
        Some(c) => state.authenticator.authenticate_until(c).await.ok(),
        None => None,
    };
    ws.on_upgrade(move |socket| {
        let mut connection = Connection::new(socket, protocol, state, address);
        if let Some(authenticated) = authenticated {
            connection.credential = header_credential;
            connection.authenticated(authenticated);
        }
        // On the heap by itself: the upgrade's task then holds a pointer, not a second
        // reservation of the connection's whole state.
        Box::pin(connection.run())
    })
}

/// How many WebSocket operations each caller has open in this process, across sockets.
#[derive(Default)]
pub struct OperationSlots {
    open: Mutex<HashMap<String, usize>>,
}

/// One caller's place among its open operations; given back when dropped.
struct Slot {
    slots: Arc<OperationSlots>,
    key: String,
}

impl OperationSlots {
    /// A place for one more operation of `key`, unless it has `max` open.
    fn take(self: &Arc<Self>, key: String, max: usize) -> Option<Slot> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock()
            && let Some(count) = open.get_mut(&self.key)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// A running operation as a stream of the messages it sends, polled by its socket's own task
/// (no task and no channel of its own: an idle subscription is only this and its place in a
/// shared execution). Dropping it stops following the operation and gives its caller's slot
/// back.
struct Operation {
    /// The results; `None` once the operation has ended or when it was refused.
    results: Option<Subscriber>,
    /// A refusal to send before anything runs.
    refusal: Option<Box<Value>>,
    /// The start of this operation's result messages, up to the payload:
    /// `{"id":"…","type":"next","payload":`.
    prefix: Box<str>,
    _slot: Option<Slot>,
}

impl Operation {
    fn refused(errors: Value) -> Self {
        Operation {
            results: None,
            refusal: Some(Box::new(errors)),
            prefix: Box::default(),
            _slot: None,
        }
    }
}

impl futures_util::Stream for Operation {
    type Item = Outgoing;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Outgoing>> {
        let this = &mut *self;
        if let Some(errors) = this.refusal.take() {
            return Poll::Ready(Some(Outgoing::Error(errors)));
        }
        let Some(results) = this.results.as_mut() else {
            return Poll::Ready(None);
        };
        let outgoing = match std::task::ready!(results.poll_next_unpin(cx)) {
            Some(Ok(Delivery::Next(payload))) => {
                let mut message = String::with_capacity(this.prefix.len() + payload.len() + 1);
                message.push_str(&this.prefix);
                message.push_str(&payload);
                message.push('}');
                return Poll::Ready(Some(Outgoing::Next(message)));
            }
            Some(Ok(Delivery::Refused(errors))) => Outgoing::Error(Box::new((*errors).clone())),
            Some(Err(error)) => Outgoing::Error(Box::new(json!([{
                "message": error.message(),
                "extensions": {"code": error.code()},
            }]))),
            Some(Ok(Delivery::End)) | None => Outgoing::Complete,
        };
        this.results = None;
        Poll::Ready(Some(outgoing))
    }
}

/// Who an operation counts against: the user or the API key.
fn slot_key(caller: &Caller) -> String {
    match &caller.principal {
        Principal::User { id, .. } => format!("user:{id}"),
        Principal::ApiKey { id, .. } => format!("api_key:{id}"),
        Principal::System => "system".to_owned(),
    }
}

/// The aggregate types whose events [`concerns`] looks at.
const ACCESS_TYPES: &[&str] = &["User", "ApiKey", "Role"];

/// Whether an event may have changed what `caller` holds.
fn concerns(event: &Event, caller: &Caller) -> bool {
    if event.tenant_id != caller.tenant_id {
        return false;
    }
    match event.aggregate_type.as_str() {
        "User" => caller
            .user_id()
            .is_some_and(|u| u.to_string() == event.aggregate_id),
        "ApiKey" => {
            matches!(&caller.principal, Principal::ApiKey { id, .. } if id.to_string() == event.aggregate_id)
        }
        "Role" => true,
        _ => false,
    }
}

/// What an operation sends its client.
enum Outgoing {
    /// A result, already the whole `next` (or legacy `data`) message.
    Next(String),
    Error(Box<Value>),
    Complete,
}

struct Connection {
    socket: WebSocket,
    protocol: Option<Protocol>,
    state: AppState,
    address: Option<ClientAddr>,
    caller: Option<Caller>,
    /// The credential the caller was authenticated with, to check it again.
    credential: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    /// When the caller's rights change by themselves (a grant ends): checked again then.
    changes_at: Option<DateTime<Utc>>,
    /// The caller's rights watched with every socket's ([`crate::watch`]); `None`: this socket
    /// checks them itself every period.
    watching: Option<crate::watch::Watching>,
    /// Told by the watch when the rights as read may no longer hold.
    stale: Arc<tokio::sync::Notify>,
    init_received: bool,
    acknowledged: bool,
    operations: StreamMap<String, Operation>,
}

/// Why the connection ends: a close code and reason, or the peer went away.
type Closing = Option<(u16, String)>;

impl Connection {
    fn new(
        socket: WebSocket,
        protocol: Option<Protocol>,
        state: AppState,
        address: Option<ClientAddr>,
    ) -> Self {
        Connection {
            socket,
            protocol,
            state,
            address,
            caller: None,
            credential: None,
            expires_at: None,
            changes_at: None,
            watching: None,
            stale: Arc::new(tokio::sync::Notify::new()),
            init_received: false,
            acknowledged: false,
            // Room for one: most sockets run one operation.
            operations: StreamMap::with_capacity(1),
        }
    }

    async fn run(mut self) {
        self.state.metrics.ws_opened();
        let closing = match self.protocol {
            None => Some((4406, "Subprotocol not acceptable".to_owned())),
            Some(protocol) => self.serve(protocol).await,
        };
        self.operations.clear();
        if let Some((code, reason)) = closing {
            let _ = self
                .socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })))
                .await;
        }
        self.state.metrics.ws_closed();
    }

    async fn send(&mut self, value: Value) -> Result<(), ()> {
        self.send_text(value.to_string()).await
    }

    async fn send_text(&mut self, text: String) -> Result<(), ()> {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|_| ())
    }

    async fn serve(&mut self, protocol: Protocol) -> Closing {
        let config = self.state.config.clone();
        let pinging = config.ws_ping_interval_secs > 0;
        let ping_every = Duration::from_secs(config.ws_ping_interval_secs.max(1));
        let recheck_every = Duration::from_secs(config.ws_access_recheck_secs.max(1));
        // One timer for everything due by time: the initialisation deadline, the credential's
        // expiry, the next ping and the next re-check. A socket starts its ping and re-check
        // cycles somewhere in the second half of the first period, at random, so that sockets
        // connected together (after a restart, say) do not all ping and re-check in one burst;
        // a re-check still comes at least once a period (for a socket whose rights are watched
        // together, when the watch tells it: `crate::watch`).
        let now = tokio::time::Instant::now();
        let init_deadline = now + Duration::from_secs(config.ws_init_timeout_secs);
        let mut next_ping = now + ping_every.mul_f64(0.5 + rand::random::<f64>() / 2.0);
        let mut next_recheck = now + recheck_every.mul_f64(0.5 + rand::random::<f64>() / 2.0);
        let mut expiry = None;
        let mut armed_for = None;
        let mut change_armed_for = None;
        let mut change_due = None;
        let timer = tokio::time::sleep_until(init_deadline);
        tokio::pin!(timer);
        // The loop's futures are made once and kept across turns: a socket woken to deliver
        // (thousands at once on a busy calendar) polls them again but does not leave and rejoin
        // the shutdown token's and the access channel's waiter lists, which are shared by every
        // socket of the process and locked on each join and leave.
        let shutdown = self.state.shutdown.clone();
        let shutdown = shutdown.cancelled();
        tokio::pin!(shutdown);
        // Only the events that may change what the caller holds wake the connection.
        let mut events =
            BroadcastStream::new(self.state.services.bus.subscribe_to(ACCESS_TYPES)).fuse();
        let stale = self.stale.clone();
        let notified = stale.notified();
        tokio::pin!(notified);
        // When to read the rights again after the watch told this socket (its condition
        // moved, the shared check failed for two periods, or the watch ended).
        let mut stale_due: Option<tokio::time::Instant> = None;
        let mut was_watched = false;
        loop {
            // A socket that stops being watched starts its own cycle afresh, at a random point
            // of the next period (a watch that ends leaves many at once).
            if was_watched && self.watching.is_none() {
                next_recheck = tokio::time::Instant::now()
                    + recheck_every.mul_f64(0.5 + rand::random::<f64>() / 2.0);
            }
            was_watched = self.watching.is_some();
            let instant = |at: DateTime<Utc>| {
                tokio::time::Instant::now() + (at - Utc::now()).to_std().unwrap_or_default()
            };
            if armed_for != self.expires_at {
                armed_for = self.expires_at;
                expiry = armed_for.map(instant);
            }
            // A grant that ends is checked at its end, whatever the periodic checks do: armed
            // from each authentication (a moment after the end, so that the grant has ended by
            // the clock that reads it; never for an end already past, which would check again
            // and again).
            if change_armed_for != self.changes_at {
                change_armed_for = self.changes_at;
                change_due = change_armed_for
                    .filter(|at| *at > Utc::now())
                    .map(|at| instant(at) + Duration::from_millis(250));
            }
            let due = [
                (!self.init_received).then_some(init_deadline),
                expiry,
                // A watched socket is told when to check (`crate::watch`); no timer of its own.
                (self.credential.is_some() && self.watching.is_none()).then_some(next_recheck),
                stale_due,
                change_due,
                (self.acknowledged && pinging).then_some(next_ping),
            ]
            .into_iter()
            .flatten()
            .min();
            if let Some(due) = due
                && (timer.deadline() != due || timer.is_elapsed())
            {
                timer.as_mut().reset(due);
            }
            tokio::select! {
                _ = &mut shutdown => return Some((1001, "server shutting down".to_owned())),
                _ = &mut timer, if due.is_some() => {
                    let now = tokio::time::Instant::now();
                    if !self.init_received && now >= init_deadline {
                        return Some((4408, "Connection initialisation timeout".to_owned()));
                    }
                    if expiry.is_some_and(|at| now >= at) {
                        return Some((4403, "Forbidden: the credential expired; reconnect with a fresh one".to_owned()));
                    }
                    let changed = change_due.is_some_and(|at| now >= at);
                    // Watched rights are checked with every socket's (`crate::watch`).
                    let periodic = now >= next_recheck;
                    if periodic {
                        next_recheck = now + recheck_every;
                    }
                    let own = periodic && self.watching.is_none();
                    let moved = stale_due.is_some_and(|at| now >= at);
                    if moved {
                        stale_due = None;
                    }
                    if self.credential.is_some() && (own || changed || moved) {
                        if changed {
                            // Armed again from what this check reads.
                            (change_due, change_armed_for) = (None, None);
                        }
                        if let Err(closing) = Box::pin(self.recheck()).await {
                            return closing;
                        }
                    }
                    if self.acknowledged && pinging && now >= next_ping {
                        next_ping = now + ping_every;
                        let message = match protocol {
                            Protocol::TransportWs => json!({"type": "ping"}),
                            Protocol::Legacy => json!({"type": "ka"}),
                        };
                        if self.send(message).await.is_err() {
                            return None;
                        }
                    }
                }
                _ = &mut notified, if self.watching.is_some() => {
                    notified.set(stale.notified());
                    // At a random point of the next half period: a tenant's whole set of
                    // sockets is told at once when its version moves.
                    let at = tokio::time::Instant::now()
                        + recheck_every.mul_f64(rand::random::<f64>() / 2.0);
                    stale_due = Some(stale_due.map_or(at, |due| due.min(at)));
                }
                Some(event) = events.next(), if self.credential.is_some() => {
                    let due = match (&event, &self.caller) {
                        (Ok(event), Some(caller)) => concerns(event, caller),
                        (Err(BroadcastStreamRecvError::Lagged(_)), _) => true,
                        _ => false,
                    };
                    if due && let Err(closing) = Box::pin(self.recheck()).await {
                        return closing;
                    }
                }
                Some((id, out)) = self.operations.next() => {
                    let message = match (out, protocol) {
                        (Outgoing::Next(text), _) => {
                            if self.send_text(text).await.is_err() {
                                return None;
                            }
                            continue;
                        }
                        // An operation that ended leaves at once, so its id may be used again.
                        (Outgoing::Error(errors), Protocol::TransportWs) => {
                            self.operations.remove(&id);
                            json!({"id": id, "type": "error", "payload": *errors})
                        }
                        (Outgoing::Error(errors), Protocol::Legacy) => {
                            self.operations.remove(&id);
                            json!({"id": id, "type": "error", "payload": errors.get(0).cloned().unwrap_or(Value::Null)})
                        }
                        (Outgoing::Complete, _) => {
                            self.operations.remove(&id);
                            json!({"id": id, "type": "complete"})
                        }
                    };
                    if self.send(message).await.is_err() {
                        return None;
                    }
                }
                incoming = self.socket.recv() => {
                    let text = match incoming {
                        Some(Err(error)) if is_too_long(&error) => {
                            return Some((1009, format!("Message too big: at most {} bytes", config.max_body_bytes)));
                        }
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Binary(_))) => {
                            return Some((4400, "Binary messages are not supported".to_owned()));
                        }
                        Some(Ok(Message::Text(text))) => text,
                    };
                    let closing = match protocol {
                        Protocol::TransportWs => Box::pin(self.on_transport_ws(text.as_str())).await,
                        Protocol::Legacy => Box::pin(self.on_legacy(text.as_str())).await,
                    };
                    if let Err(closing) = closing {
                        return closing;
                    }
                }
            }
        }
    }

    /// Authenticates `connection_init`'s payload; `Err` carries the refusal's message.
    async fn authenticate(&mut self, payload: Option<&Value>) -> Result<(), String> {
        let credential = payload.and_then(|p| {
            ["authorization", "Authorization", "token", "apiKey"]
                .iter()
                .find_map(|k| p.get(k).and_then(Value::as_str))
                .or_else(|| {
                    p.get("headers")
                        .and_then(|h| h.get("Authorization").or_else(|| h.get("authorization")))
                        .and_then(Value::as_str)
                })
        });
        if let Some(credential) = credential {
            let token = strip_bearer(credential);
            match self.state.authenticator.authenticate_until(token).await {
                Ok(authenticated) => {
                    self.credential = Some(token.to_owned());
                    self.authenticated(authenticated);
                }
                Err(error) => return Err(error.message()),
            }
        }
        Ok(())
    }

    /// Takes the caller a credential authenticated as, with when the credential expires and
    /// when its rights change by themselves (a grant's end: checked again then).
    fn authenticated(&mut self, authenticated: switchyard_identity::auth::Authenticated) {
        self.caller = Some(authenticated.caller);
        self.expires_at = authenticated.expires_at;
        self.changes_at = authenticated.changes_at;
        self.watching = authenticated
            .held
            .and_then(|held| self.state.access_watch.watch(held, self.stale.clone()));
    }

    /// Checks the credential again; closes (4403) when it no longer holds or when the caller
    /// lost any right it had. A database that cannot answer leaves things as they are until
    /// the next check.
    async fn recheck(&mut self) -> Result<(), Closing> {
        let Some(credential) = &self.credential else {
            return Ok(());
        };
        match self
            .state
            .authenticator
            .authenticate_until(credential)
            .await
        {
            Ok(authenticated) => {
                if self
                    .caller
                    .as_ref()
                    .is_some_and(|old| !authenticated.caller.covers(old))
                {
                    return Err(Some((
                        4403,
                        "Forbidden: your access changed; reconnect".to_owned(),
                    )));
                }
                self.authenticated(authenticated);
                Ok(())
            }
            Err(switchyard_kernel::Error::Unauthenticated(reason)) => {
                Err(Some((4403, format!("Forbidden: {reason}"))))
            }
            Err(error) => {
                tracing::warn!(
                    code = error.code(),
                    "could not check a WebSocket's access again"
                );
                Ok(())
            }
        }
    }

    /// A slot for one more operation, or the refusal's message.
    fn slot(&self) -> Result<Option<Slot>, String> {
        let config = &self.state.config;
        if self.operations.len() >= config.ws_max_operations_per_socket {
            return Err(format!(
                "at most {} operations may run at once on one connection",
                config.ws_max_operations_per_socket
            ));
        }
        match &self.caller {
            None => Ok(None),
            Some(caller) => self
                .state
                .ws_slots
                .take(slot_key(caller), config.ws_max_operations_per_caller)
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "at most {} operations may run at once for one caller, across connections",
                        config.ws_max_operations_per_caller
                    )
                }),
        }
    }

    fn start(&mut self, id: String, payload: &Value) -> Result<(), String> {
        let query = payload
            .get("query")
            .and_then(Value::as_str)
            .ok_or("the payload needs a query string")?
            .to_owned();
        let operation_name = match payload.get("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(_) => return Err("operationName must be a string".to_owned()),
        };
        let object = |key: &str| match payload.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(map)) => Ok(map.clone()),
            Some(_) => Err(format!("{key} must be an object")),
        };
        let variables = object("variables")?;
        let extensions = object("extensions")?;
        let slot = match self.slot() {
            Ok(slot) => slot,
            Err(message) => {
                let errors = json!([{"message": message, "extensions": {"code": "RATE_LIMITED"}}]);
                self.refuse(id, errors);
                return Ok(());
            }
        };
        self.state.metrics.ws_operation();
        tracing::info!(target: "switchyard::request", operation = %operation_name.as_deref().unwrap_or("-"), id = %id, "websocket operation");
        let document =
            match self
                .state
                .checks
                .prepare_shared(&query, operation_name.as_deref(), &variables)
            {
                Ok(document) => document,
                Err(errors) => {
                    self.refuse(id, serde_json::to_value(&errors).unwrap_or(Value::Null));
                    return Ok(());
                }
            };
        let protocol = self.protocol.unwrap_or(Protocol::TransportWs);
        // Subscriptions alike in every way that shapes their answers share one execution
        // (different people's too, where the answers do not depend on the person); queries
        // and mutations run once each.
        let key = crate::checks::is_subscription(&document, operation_name.as_deref()).then(|| {
            let impersonal = self.caller.as_ref().is_some_and(|caller| {
                self.state.direct.impersonal(
                    &document,
                    operation_name.as_deref(),
                    &variables,
                    caller,
                )
            });
            Key::new(
                self.caller.as_ref(),
                impersonal,
                &query,
                operation_name.as_deref(),
                &variables,
                &extensions,
            )
        });
        let origin = Origin {
            caller: self.caller.clone(),
            address: self.address,
        };
        let subscription = key.is_some();
        let state = &self.state;
        let results = state.executions.subscribe(key, || {
            let executed = Executed::default();
            let request = || {
                let mut request = graphql_request(
                    operation_name.clone(),
                    variables.clone(),
                    extensions.clone(),
                    &origin,
                    executed.clone(),
                );
                request.set_parsed_query(ExecutableDocument::clone(&document));
                request
            };
            // A subscription whose every field the policy admits for its caller runs on the
            // schema without per-field checks, as an admitted query does (see `Direct`): the
            // same answers for less work on every event. Only once the schema's validation
            // accepts it (which does not wait on anything; should it ever, the checked schema
            // runs it), so that a refused document gets the checked schema's error codes.
            let direct = subscription
                && state.config.direct_queries
                && state.direct.admits(
                    &document,
                    operation_name.as_deref(),
                    origin.caller.as_ref(),
                )
                && state
                    .direct
                    .valid(
                        validation_key(&query, operation_name.as_deref(), &variables),
                        &request,
                    )
                    .now_or_never()
                    == Some(true);
            if subscription {
                state.metrics.ws_subscription(direct);
            }
            let schema = if direct {
                &state.direct.schema
            } else {
                &state.schema
            };
            Run {
                results: schema.execute_stream(request()),
                executed,
                document,
                operation_name,
                index: state.checks.index().clone(),
            }
        });
        let prefix = format!(
            "{{\"id\":{},\"type\":\"{}\",\"payload\":",
            Value::String(id.clone()),
            match protocol {
                Protocol::TransportWs => "next",
                Protocol::Legacy => "data",
            }
        );
        self.operations.insert(
            id,
            Operation {
                results: Some(results),
                refusal: None,
                prefix: prefix.into(),
                _slot: slot,
            },
        );
        Ok(())
    }

    /// Answers an operation that does not run with an `error` for its id.
    fn refuse(&mut self, id: String, errors: Value) {
        self.operations.insert(id, Operation::refused(errors));
    }

    async fn on_transport_ws(&mut self, text: &str) -> Result<(), Closing> {
        let invalid = |why: &str| Some((4400, format!("Invalid message received: {why}")));
        let message: Value = serde_json::from_str(text).map_err(|_| invalid("not JSON"))?;
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("missing type"))?;
        match kind {
            "connection_init" => {
                if self.init_received {
                    return Err(Some((4429, "Too many initialisation requests".to_owned())));
                }
                self.init_received = true;
                if let Some(payload) = message.get("payload")
                    && !payload.is_object()
                    && !payload.is_null()
                {
                    return Err(invalid("payload must be an object"));
                }
                if let Err(reason) = self.authenticate(message.get("payload")).await {
                    return Err(Some((4403, format!("Forbidden: {reason}"))));
                }
                self.acknowledged = true;
                self.send(json!({"type": "connection_ack"}))
                    .await
                    .map_err(|_| None)?;
            }
            "ping" => {
                let mut pong = json!({"type": "pong"});
                if let Some(payload) = message.get("payload") {
                    pong["payload"] = payload.clone();
                }
                self.send(pong).await.map_err(|_| None)?;
            }
            "pong" => {}
            "subscribe" => {
                let id = message
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| invalid("subscribe needs an id"))?
                    .to_owned();
                let payload = message
                    .get("payload")
                    .filter(|p| p.is_object())
                    .ok_or_else(|| invalid("subscribe needs a payload"))?;
                if !self.acknowledged {
                    return Err(Some((4401, "Unauthorized".to_owned())));
                }
                if self.operations.contains_key(&id) {
                    return Err(Some((4409, format!("Subscriber for {id} already exists"))));
                }
                self.start(id, payload).map_err(|why| invalid(&why))?;
            }
            "complete" => {
                let id = message
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("complete needs an id"))?;
                self.operations.remove(id);
            }
            _ => return Err(invalid("unknown type")),
        }
        Ok(())
    }

    async fn on_legacy(&mut self, text: &str) -> Result<(), Closing> {
        let Ok(message) = serde_json::from_str::<Value>(text) else {
            self.send(json!({"type": "error", "payload": {"message": "message is not JSON"}}))
                .await
                .map_err(|_| None)?;
            return Ok(());
        };
        let kind = message
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let id = message.get("id").and_then(Value::as_str).map(str::to_owned);
        match kind {
            "connection_init" => {
                self.init_received = true;
                if let Err(reason) = self.authenticate(message.get("payload")).await {
                    let _ = self
                        .send(json!({"type": "connection_error", "payload": {"message": reason}}))
                        .await;
                    return Err(Some((4403, "Forbidden".to_owned())));
                }
                self.acknowledged = true;
                self.send(json!({"type": "connection_ack"}))
                    .await
                    .map_err(|_| None)?;
                self.send(json!({"type": "ka"})).await.map_err(|_| None)?;
            }
            "start" => {
                let Some(id) = id else {
                    self.send(
                        json!({"type": "error", "payload": {"message": "start needs an id"}}),
                    )
                    .await
                    .map_err(|_| None)?;
                    return Ok(());
                };
                if !self.acknowledged {
                    self.send(json!({"type": "error", "id": id, "payload": {"message": "send connection_init first"}})).await.map_err(|_| None)?;
                    return Ok(());
                }
                self.operations.remove(&id);
                let payload = message.get("payload").cloned().unwrap_or(Value::Null);
                if let Err(why) = self.start(id.clone(), &payload) {
                    self.send(json!({"type": "error", "id": id, "payload": {"message": why}}))
                        .await
                        .map_err(|_| None)?;
                }
            }
            "stop" => {
                if let Some(id) = id {
                    self.operations.remove(&id);
                }
            }
            "connection_terminate" => return Err(Some((1000, "terminated".to_owned()))),
            _ => {
                self.send(json!({"type": "error", "id": id, "payload": {"message": "unknown message type"}})).await.map_err(|_| None)?;
            }
        }
        Ok(())
    }
}

/// Whether a read failed because the message exceeded the size limit (tungstenite's capacity
/// error, which axum hands on only as text).
fn is_too_long(error: &axum::Error) -> bool {
    let text = error.to_string();
    text.contains("too long") || text.contains("Space limit exceeded")
}

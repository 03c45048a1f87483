//! GraphQL over WebSocket with a real client: graphql-transport-ws close codes, pings,
//! live events only for the same tenant, and the legacy protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::backend_test;
use crate::support::*;

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp, protocol: &str) -> Socket {
    let mut request = app.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", protocol.parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap()),
        Some(protocol)
    );
    socket
}

pub(crate) async fn send(socket: &mut Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// The next message that is not an event of an open subscription: the
/// users created by the test itself may still be on their way to them.
pub(crate) async fn recv_control(socket: &mut Socket) -> Value {
    loop {
        let message = recv(socket).await;
        if message["type"] != "next" {
            return message;
        }
    }
}

/// The first event for which `wanted` holds. The changes the test made while setting up may
/// still be on their way; every event skipped must still satisfy `allowed`.
pub(crate) async fn event_where(
    socket: &mut Socket,
    wanted: impl Fn(&Value) -> bool,
    allowed: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let event = recv(socket).await;
        if wanted(&event) {
            return event;
        }
        assert!(
            event["type"] == "next" && allowed(&event),
            "unexpected: {event}"
        );
    }
}

/// The next JSON message (skipping transport pings).
pub(crate) async fn recv(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within 10 s")
            .expect("the socket is open")
            .unwrap();
        match message {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => continue,
        }
    }
}

/// Waits for the close frame; returns its code and reason.
async fn closed(socket: &mut Socket) -> (u16, String) {
    close_frame(socket, true).await
}

/// Waits for the close frame and fails on any data delivered before it.
pub(crate) async fn closed_without_data(socket: &mut Socket) -> (u16, String) {
    close_frame(socket, false).await
}

async fn close_frame(socket: &mut Socket, data_allowed: bool) -> (u16, String) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Text(text))) if !data_allowed => {
                let message: Value = serde_json::from_str(&text).unwrap();
                assert_ne!(
                    message["type"], "next",
                    "delivered after access ended: {message}"
                );
            }
            Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before close: {e}"),
        }
    }
}

pub(crate) async fn init(socket: &mut Socket, token: &str) {
    send(
        socket,
        json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(recv(socket).await, json!({"type": "connection_ack"}));
}

backend_test! {
    async fn close_codes_of_graphql_transport_ws(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.ws_init_timeout_secs = 1;
    }) {
        let t = app.tenant("acme").await;
        // 4408: no connection_init in time.
        let mut s = connect(&app, "graphql-transport-ws").await;
        assert_eq!(closed(&mut s).await, (4408, "Connection initialisation timeout".to_owned()));
        // 4403: bad credentials in connection_init.
        let mut s = connect(&app, "graphql-transport-ws").await;
        send(&mut s, json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})).await;
        assert_eq!(closed(&mut s).await.0, 4403);
        // 4401: subscribe before the ack.
        let mut s = connect(&app, "graphql-transport-ws").await;
        send(&mut s, json!({"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }"}})).await;
        assert_eq!(closed(&mut s).await, (4401, "Unauthorized".to_owned()));
        // 4429: a second connection_init.
        let mut s = connect(&app, "graphql-transport-ws").await;
        init(&mut s, &t.owner_token).await;
        send(&mut s, json!({"type": "connection_init"})).await;
        assert_eq!(closed(&mut s).await, (4429, "Too many initialisation requests".to_owned()));
        // 4400: not a message of the protocol.
        for bad in [json!({"type": "nonsense"}), json!({"id": 1}), json!({"type": "subscribe", "id": "x"})] {
            let mut s = connect(&app, "graphql-transport-ws").await;
            init(&mut s, &t.owner_token).await;
            send(&mut s, bad.clone()).await;
            assert_eq!(closed(&mut s).await.0, 4400, "{bad}");
        }
        let mut s = connect(&app, "graphql-transport-ws").await;
        s.send(Message::Text("{not json".into())).await.unwrap();
        assert_eq!(closed(&mut s).await.0, 4400);
        // 4409: a subscription id already in use.
        let mut s = connect(&app, "graphql-transport-ws").await;
        init(&mut s, &t.owner_token).await;
        send(&mut s, json!({"id": "a", "type": "subscribe", "payload": {"query": "subscription { userChanged { email } }"}})).await;
        send(&mut s, json!({"id": "a", "type": "subscribe", "payload": {"query": "subscription { userChanged { email } }"}})).await;
        assert_eq!(closed(&mut s).await, (4409, "Subscriber for a already exists".to_owned()));
        // 4406: no subprotocol we speak. A client that names only others gets a handshake
        // without a protocol, which it refuses itself; one that names none is closed with 4406.
        let mut request = app.ws_url().into_client_request().unwrap();
        request.headers_mut().insert("sec-websocket-protocol", "mqtt".parse().unwrap());
        assert!(tokio_tungstenite::connect_async(request).await.is_err());
        let (mut s, _) = tokio_tungstenite::connect_async(app.ws_url()).await.unwrap();
        assert_eq!(closed(&mut s).await, (4406, "Subprotocol not acceptable".to_owned()));
    }
}

backend_test! {
    async fn pings_queries_and_errors_over_the_socket(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.ws_ping_interval_secs = 1;
    }) {
        let t = app.tenant("acme").await;
        let mut s = connect(&app, "graphql-transport-ws").await;
        init(&mut s, &t.owner_token).await;
        // The client pings, the server pongs with the same payload.
        send(&mut s, json!({"type": "ping", "payload": {"n": 1}})).await;
        assert_eq!(recv(&mut s).await, json!({"type": "pong", "payload": {"n": 1}}));
        // The server pings on its own.
        assert_eq!(recv(&mut s).await, json!({"type": "ping"}));
        send(&mut s, json!({"type": "pong"})).await;
        // A query: next, then complete.
        send(&mut s, json!({"id": "q", "type": "subscribe", "payload": {"query": "{ me { email } }"}})).await;
        let next = recv(&mut s).await;
        assert_eq!(next["type"], "next");
        assert_eq!(next["payload"]["data"]["me"]["email"], "owner@acme.example");
        assert_eq!(recv(&mut s).await, json!({"id": "q", "type": "complete"}));
        // An invalid operation: an error message, no complete.
        send(&mut s, json!({"id": "bad", "type": "subscribe", "payload": {"query": "subscription { noSuchThing }"}})).await;
        let error = recv(&mut s).await;
        assert_eq!(error["type"], "error");
        assert_eq!(error["id"], "bad");
        assert_eq!(error["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED");
        // The id is free again.
        send(&mut s, json!({"id": "bad", "type": "subscribe", "payload": {"query": "{ __typename }"}})).await;
        assert_eq!(recv(&mut s).await["type"], "next");
    }
}

backend_test! {
    async fn subscriptions_deliver_changes_to_the_same_tenant_only(app: TestApp) {
        let a = app.tenant("alpha").await;
        let b = app.tenant("beta").await;
        let (kim, _) = app.user(&a, "kim@alpha.example", &["crew"], &[a.location]).await;
        let (_, client_token) = app.user(&a, "c@alpha.example", &["client"], &[]).await;
        let query = "subscription { userChanged { email name } }";
        let mut watcher_a = connect(&app, "graphql-transport-ws").await;
        init(&mut watcher_a, &a.owner_token).await;
        send(&mut watcher_a, json!({"id": "s", "type": "subscribe", "payload": {"query": query}})).await;
        let mut watcher_b = connect(&app, "graphql-transport-ws").await;
        init(&mut watcher_b, &b.owner_token).await;
        send(&mut watcher_b, json!({"id": "s", "type": "subscribe", "payload": {"query": query}})).await;
        // Give the subscriptions a moment to start listening.
        tokio::time::sleep(Duration::from_millis(300)).await;

        app.ok(&a.owner_token, "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Kim Alpha\"}) { user { id } } }", json!({"id": kim.to_global()})).await;
        let email = |e: &Value| e["payload"]["data"]["userChanged"]["email"].as_str().unwrap_or_default().to_owned();
        let event = event_where(&mut watcher_a, |e| e["payload"]["data"]["userChanged"]["name"] == "Kim Alpha", |e| email(e).ends_with("@alpha.example")).await;
        assert_eq!(event["payload"]["data"]["userChanged"], json!({"email": "kim@alpha.example", "name": "Kim Alpha"}), "{event}");

        // Tenant B saw nothing of it: only its own changes arrive.
        let (bo, _) = app.user(&b, "bo@beta.example", &["crew"], &[b.location]).await;
        app.ok(&b.owner_token, "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Bo Beta\"}) { user { id } } }", json!({"id": bo.to_global()})).await;
        let first_b = event_where(&mut watcher_b, |e| e["payload"]["data"]["userChanged"]["name"] == "Bo Beta", |e| email(e).ends_with("@beta.example")).await;
        assert_eq!(first_b["payload"]["data"]["userChanged"]["email"], "bo@beta.example", "{first_b}");

        // A subscriber without the permission is refused when subscribing.
        let mut client = connect(&app, "graphql-transport-ws").await;
        init(&mut client, &client_token).await;
        send(&mut client, json!({"id": "l", "type": "subscribe", "payload": {"query": "subscription { locationChanged { name } }"}})).await;
        let refused = recv(&mut client).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN");

        // complete stops the subscription: the next change is not sent.
        // (The pong says the server has taken the complete; events sent before it may precede.)
        send(&mut watcher_a, json!({"id": "s", "type": "complete"})).await;
        send(&mut watcher_a, json!({"type": "ping"})).await;
        event_where(&mut watcher_a, |e| e["type"] == "pong", |e| email(e).ends_with("@alpha.example")).await;
        app.ok(&a.owner_token, "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Kim Again\"}) { user { id } } }", json!({"id": kim.to_global()})).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        send(&mut watcher_a, json!({"type": "ping", "payload": {"after": true}})).await;
        assert_eq!(recv(&mut watcher_a).await, json!({"type": "pong", "payload": {"after": true}}));
    }
}

backend_test! {
    async fn the_legacy_protocol_still_works(app: TestApp) {
        let t = app.tenant("acme").await;
        let mut s = connect(&app, "graphql-ws").await;
        send(&mut s, json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {}", t.owner_token)}})).await;
        assert_eq!(recv(&mut s).await, json!({"type": "connection_ack"}));
        assert_eq!(recv(&mut s).await, json!({"type": "ka"}));
        send(&mut s, json!({"id": "1", "type": "start", "payload": {"query": "{ me { email } }"}})).await;
        let data = recv(&mut s).await;
        assert_eq!(data["type"], "data");
        assert_eq!(data["payload"]["data"]["me"]["email"], "owner@acme.example");
        assert_eq!(recv(&mut s).await, json!({"id": "1", "type": "complete"}));
        // Bad credentials: connection_error, then close.
        let mut s = connect(&app, "graphql-ws").await;
        send(&mut s, json!({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})).await;
        assert_eq!(recv(&mut s).await["type"], "connection_error");
        assert_eq!(closed(&mut s).await.0, 4403);
    }
}

/// The subscription counters of `/metrics`: (direct, checked).
async fn subscription_paths(app: &TestApp) -> (u64, u64) {
    (
        metric(app, "switchyard_ws_subscriptions_total{path=\"direct\"}").await,
        metric(app, "switchyard_ws_subscriptions_total{path=\"checked\"}").await,
    )
}

backend_test! {
    async fn a_subscription_the_policy_admits_whole_skips_the_field_checks_and_answers_the_same(app: TestApp) {
        let t = app.tenant("acme").await;
        let (_, observer) = app.user(&t, "watch@acme.example", &["observer"], &[t.location]).await;
        let start = subscription_paths(&app).await;
        let step = |(d, c): (u64, u64)| (d - start.0, c - start.1);
        let query = "subscription { customerChanged { displayName email } }";
        let subscribe = |token: String| {
            let app = &app;
            async move {
                let mut s = connect(app, "graphql-transport-ws").await;
                init(&mut s, &token).await;
                send(&mut s, json!({"id": "c", "type": "subscribe", "payload": {"query": query}})).await;
                // A ping answered means the subscription was taken (messages are handled in turn).
                send(&mut s, json!({"type": "ping"})).await;
                assert_eq!(recv(&mut s).await["type"], "pong");
                s
            }
        };
        // The owner may read every field: the direct schema runs it.
        let mut owner = subscribe(t.owner_token.clone()).await;
        assert_eq!(step(subscription_paths(&app).await), (1, 0));
        // The observer's email is hidden: only the per-field check can answer null for it.
        let mut watcher = subscribe(observer.clone()).await;
        assert_eq!(step(subscription_paths(&app).await), (1, 1));
        // A document that the schema refuses is refused with the checked schema's code, even
        // for a caller the policy would admit (no field of it is unknown to the policy).
        let mut refused = connect(&app, "graphql-transport-ws").await;
        init(&mut refused, &t.owner_token).await;
        send(&mut refused, json!({"id": "v", "type": "subscribe", "payload": {"query": "subscription($n: Int) { customerChanged { displayName(n: $n) } }"}})).await;
        let error = recv(&mut refused).await;
        assert_eq!(error["type"], "error", "{error}");
        assert_eq!(error["payload"][0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED", "{error}");

        customer(&app, &t.owner_token, json!({"firstName": "Ulla", "lastName": "Vik", "email": "ulla@example.se", "locationId": t.location.to_global()})).await;
        let seen = recv(&mut owner).await;
        assert_eq!(seen["payload"], json!({"data": {"customerChanged": {"displayName": "Ulla Vik", "email": "ulla@example.se"}}}), "{seen}");
        let seen = recv(&mut watcher).await;
        assert_eq!(seen["payload"], json!({"data": {"customerChanged": {"displayName": "Ulla Vik", "email": null}}}), "{seen}");
    }
}

/// Subscribes to `customerChanged` on a new socket as `token`.
async fn watch_customers(app: &TestApp, token: &str) -> Socket {
    let mut s = connect(app, "graphql-transport-ws").await;
    init(&mut s, token).await;
    send(&mut s, json!({"id": "c", "type": "subscribe", "payload": {"query": "subscription { customerChanged { displayName } }"}})).await;
    s
}

backend_test! {
    async fn open_subscriptions_end_when_their_callers_access_does(app: TestApp) {
        let t = app.tenant("revoke").await;
        let managers = ["m1@revoke.example", "m2@revoke.example", "m3@revoke.example", "m4@revoke.example"];
        let mut users = Vec::new();
        for email in managers {
            users.push(app.user(&t, email, &["manager"], &[t.location]).await);
        }
        let mut sockets = Vec::new();
        for (_, token) in &users {
            sockets.push(watch_customers(&app, token).await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        // All four see a change of a customer of their location.
        let customer = customer(&app, &t.owner_token, json!({"firstName": "Live", "lastName": "Customer", "locationId": t.location.to_global()})).await;
        for s in sockets.iter_mut() {
            let next = recv(s).await;
            assert_eq!(next["payload"]["data"]["customerChanged"]["displayName"], "Live Customer", "{next}");
        }
        let ids: Vec<String> = users.iter().map(|(id, _)| id.to_global().to_string()).collect();
        let rename = |name: &'static str| {
            let customer = customer.clone();
            let app = &app;
            let owner = t.owner_token.clone();
            async move {
                app.ok(&owner, "mutation($id: ID!, $n: String!) { updateCustomer(input: {id: $id, firstName: $n}) { customer { id } userErrors { code } } }",
                    json!({"id": customer, "n": name})).await;
            }
        };
        // 1. Deactivated.
        app.ok(&t.owner_token, "mutation($id: ID!) { deactivateUser(input: {id: $id}) { user { status } } }", json!({"id": ids[0]})).await;
        let (code, reason) = closed_without_data(&mut sockets[0]).await;
        assert_eq!(code, 4403, "{reason}");
        // 2. Signed out everywhere (from another session).
        let other = app.token(t.id, users[1].0).await;
        app.ok(&other, "mutation { logout(input: {allSessions: true}) { sessionsEnded } }", json!({})).await;
        assert_eq!(closed_without_data(&mut sockets[1]).await.0, 4403);
        // 3. Roles reduced: from manager (the location's customers) to sales rep (their own).
        app.ok(&t.owner_token, "mutation($id: ID!) { setUserRoles(input: {id: $id, roles: [\"sales_rep\"]}) { user { id } userErrors { code } } }", json!({"id": ids[2]})).await;
        assert_eq!(closed_without_data(&mut sockets[2]).await.0, 4403);
        // The fourth, untouched, goes on receiving; the other three got nothing more.
        rename("Still").await;
        let next = recv(&mut sockets[3]).await;
        assert_eq!(next["payload"]["data"]["customerChanged"]["displayName"], "Still Customer", "{next}");
        // A reconnect gets what the caller holds now: the demoted manager is a sales rep
        // without customers of its own, and sees the change no more.
        let fresh = app.token(t.id, users[2].0).await;
        let mut again = watch_customers(&app, &fresh).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        rename("Later").await;
        assert_eq!(recv(&mut sockets[3]).await["payload"]["data"]["customerChanged"]["displayName"], "Later Customer");
        send(&mut again, json!({"type": "ping", "payload": {"probe": 1}})).await;
        assert_eq!(recv(&mut again).await, json!({"type": "pong", "payload": {"probe": 1}}), "the demoted caller received the change");
    }
}

backend_test! {
    async fn a_subscription_ends_when_its_token_expires(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.access_token_ttl_secs = 2;
    }) {
        let t = app.tenant("expiry").await;
        let (_, token) = app.user(&t, "rep@expiry.example", &["manager"], &[t.location]).await;
        let mut s = watch_customers(&app, &token).await;
        let started = std::time::Instant::now();
        let (code, reason) = closed_without_data(&mut s).await;
        assert_eq!(code, 4403);
        assert!(reason.contains("expired"), "{reason}");
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    }
}

backend_test! {
    /// A grant that ends closes the subscriptions it let in at its end, not at the next
    /// periodic check, also after periodic checks have come and gone.
    async fn a_subscription_a_grant_let_in_ends_when_the_grant_does(app: TestApp, |c: &mut switchyard_gateway::Config| {
        // The first periodic check comes 5 to 10 s after connecting, the next 10 s later.
        c.ws_access_recheck_secs = 10;
    }) {
        let t = app.tenant("granted").await;
        let (rep, token) = app.user(&t, "rep@granted.example", &["sales_rep"], &[t.location]).await;
        let ends = chrono::Utc::now() + chrono::Duration::seconds(12);
        let data = app.ok(&t.owner_token, "mutation($id: ID!, $at: DateTime!) { grantPermission(input: {userId: $id, permission: \"sales.customer:read\", scope: TENANT, expiresAt: $at, reason: \"cover\"}) { grant { active } } }",
            json!({"id": rep.to_global(), "at": ends.to_rfc3339()})).await;
        assert_eq!(data["grantPermission"]["grant"]["active"], true, "{data}");
        let mut s = watch_customers(&app, &token).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        // The grant is in force: the rep sees a customer that is not theirs.
        customer(&app, &t.owner_token, json!({"firstName": "Covered", "lastName": "Customer"})).await;
        let next = recv(&mut s).await;
        assert_eq!(next["payload"]["data"]["customerChanged"]["displayName"], "Covered Customer", "{next}");
        // It ends (after the first periodic check): the socket closes then, not at the second.
        // (Waiting for the close allows 10 s: the wait starts 3 s before the end.)
        tokio::time::sleep((ends - chrono::Utc::now() - chrono::Duration::seconds(3)).to_std().unwrap_or_default()).await;
        let (code, reason) = closed_without_data(&mut s).await;
        let late = chrono::Utc::now() - ends;
        assert_eq!(code, 4403, "{reason}");
        assert!(late < chrono::Duration::seconds(2), "closed {late} after the grant ended");
        assert!(late > chrono::Duration::zero(), "closed {} before the grant ended", -late);
    }
}

/// Runs `sql` on the app's database as any other writer would: no event tells of it.
async fn plain_sql(app: &TestApp, sql: &str) {
    use diesel_async::RunQueryDsl;
    let mut pooled = app.services.db.write().await.unwrap();
    let mut conn = pooled.conn();
    switchyard_kernel::db_run!(&mut conn, |c| diesel::sql_query(sql).execute(c).await).unwrap();
}

backend_test! {
    /// Idle sockets' access is checked for all of them at once (one statement, not one per
    /// socket), and a change no event told (plain SQL) still closes, within a period, the
    /// sockets it concerns, and only those.
    async fn idle_sockets_are_checked_together_and_a_change_no_event_told_still_closes_them(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.ws_access_recheck_secs = 1;
    }) {
        let t = app.tenant("watch").await;
        let (_, a_token) = app.user(&t, "a@watch.example", &["manager"], &[t.location]).await;
        let (b, b_token) = app.user(&t, "b@watch.example", &["manager"], &[t.location]).await;
        let (c, c_token) = app.user(&t, "c@watch.example", &["manager"], &[t.location]).await;
        let mut a_sockets = Vec::new();
        for _ in 0..10 {
            a_sockets.push(watch_customers(&app, &a_token).await);
        }
        let mut b_socket = watch_customers(&app, &b_token).await;
        let mut c_socket = watch_customers(&app, &c_token).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;

        // Twelve idle sockets checked every second: checked one by one, that would be 48
        // statements in 4 s.
        let before = statements(&app);
        tokio::time::sleep(Duration::from_secs(4)).await;
        let spent = statements(&app) - before;
        assert!(spent <= 8, "{spent} statements in 4 s with 12 idle sockets");

        // C's session ends by plain SQL (the tenant's access version does not move): C's
        // socket closes within a period and a half (the round, then a moment within half a
        // period), and B's stays open.
        let changed = std::time::Instant::now();
        plain_sql(&app, &format!("UPDATE sessions SET revoked_at = CURRENT_TIMESTAMP WHERE tenant_id = '{}' AND user_id = '{c}'", t.id)).await;
        let (code, reason) = closed_without_data(&mut c_socket).await;
        assert_eq!((code, reason.as_str()), (4403, "Forbidden: session ended; sign in again"));
        assert!(changed.elapsed() < Duration::from_secs(3), "closed {:?} after the change", changed.elapsed());
        send(&mut b_socket, json!({"type": "ping", "payload": {"probe": 1}})).await;
        assert_eq!(recv(&mut b_socket).await, json!({"type": "pong", "payload": {"probe": 1}}));
        // B's role is cut to sales rep by plain SQL: B's socket closes.
        let changed = std::time::Instant::now();
        plain_sql(&app, &format!("UPDATE user_roles SET role_key = 'sales_rep' WHERE tenant_id = '{}' AND user_id = '{b}'", t.id)).await;
        let (code, reason) = closed_without_data(&mut b_socket).await;
        assert_eq!(code, 4403, "{reason}");
        assert!(changed.elapsed() < Duration::from_secs(3), "closed {:?} after the change", changed.elapsed());

        // A, whose rights did not change, was checked again (the tenant's version moved) and
        // goes on receiving on all ten sockets.
        customer(&app, &t.owner_token, json!({"firstName": "Still", "lastName": "Watched", "locationId": t.location.to_global()})).await;
        for s in a_sockets.iter_mut() {
            let next = recv(s).await;
            assert_eq!(next["payload"]["data"]["customerChanged"]["displayName"], "Still Watched", "{next}");
        }
    }
}

backend_test! {
    async fn operations_are_limited_per_socket_and_per_caller(app: TestApp, |c: &mut switchyard_gateway::Config| {
        c.ws_max_operations_per_socket = 3;
        c.ws_max_operations_per_caller = 4;
    }) {
        let t = app.tenant("limits").await;
        let subscribe = |id: &str| json!({"id": id, "type": "subscribe", "payload": {"query": "subscription { userChanged { email } }"}});
        let mut a = connect(&app, "graphql-transport-ws").await;
        init(&mut a, &t.owner_token).await;
        for id in ["1", "2", "3"] {
            send(&mut a, subscribe(id)).await;
        }
        send(&mut a, subscribe("4")).await;
        let refused = recv_control(&mut a).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["id"], "4");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        assert!(refused["payload"][0]["message"].as_str().unwrap().contains("one connection"));
        // Completing one frees its place.
        send(&mut a, json!({"id": "1", "type": "complete"})).await;
        send(&mut a, subscribe("5")).await;
        send(&mut a, json!({"type": "ping", "payload": {"n": 5}})).await;
        assert_eq!(recv_control(&mut a).await, json!({"type": "pong", "payload": {"n": 5}}), "5 was refused");
        // The same caller on a second socket: one more, then the caller's limit.
        let mut b = connect(&app, "graphql-transport-ws").await;
        init(&mut b, &t.owner_token).await;
        send(&mut b, subscribe("x")).await;
        send(&mut b, subscribe("y")).await;
        let refused = recv_control(&mut b).await;
        assert_eq!((refused["type"].as_str(), refused["id"].as_str()), (Some("error"), Some("y")), "{refused}");
        assert!(refused["payload"][0]["message"].as_str().unwrap().contains("one caller"));
        // Another caller is not affected.
        let (_, other) = app.user(&t, "other@limits.example", &["admin"], &[]).await;
        let mut c = connect(&app, "graphql-transport-ws").await;
        init(&mut c, &other).await;
        send(&mut c, subscribe("o")).await;
        send(&mut c, json!({"type": "ping"})).await;
        assert_eq!(recv_control(&mut c).await["type"], "pong");
        // Closing a socket gives its places back.
        a.close(None).await.unwrap();
        drop(a);
        let mut freed = false;
        'attempts: for attempt in 0..50 {
            let id = format!("z{attempt}");
            send(&mut b, subscribe(&id)).await;
            send(&mut b, json!({"type": "ping"})).await;
            loop {
                let reply = recv(&mut b).await;
                match reply["type"].as_str() {
                    // Events of the subscriptions already open.
                    Some("next") => continue,
                    Some("error") => break,
                    _ => {
                        freed = true;
                        break 'attempts;
                    }
                }
            }
            let pong = recv(&mut b).await;
            assert_eq!(pong["type"], "pong", "{pong}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(freed, "the closed socket's places were not given back");
    }
}

backend_test! {
    async fn an_oversized_message_closes_with_1009(app: TestApp) {
        let t = app.tenant("big").await;
        let mut s = connect(&app, "graphql-transport-ws").await;
        init(&mut s, &t.owner_token).await;
        let huge = json!({"id": "1", "type": "subscribe", "payload": {"query": format!("{{ __typename }} # {}", "x".repeat(2 * 1024 * 1024))}});
        let _ = s.send(Message::Text(huge.to_string().into())).await;
        assert_eq!(closed(&mut s).await.0, 1009);
    }
}

backend_test! {
    async fn the_upgrade_answers_in_title_case_headers(app: TestApp) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let request = format!(
            "GET /graphql HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
            app.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the response head");
            head.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        // The Python gql client's default transport compares this header case-sensitively.
        assert!(head.contains("\r\nSec-Websocket-Protocol: graphql-transport-ws\r\n"), "{head}");
    }
}

backend_test! {
    /// Every subscription root is authorised from the policy table before it starts, without
    /// a line in its resolver: a signed-in user without roles is refused each one, through an
    /// alias and a fragment too, and one with the permission starts it.
    async fn every_subscription_root_is_authorised_from_the_policy_table(app: TestApp) {
        let a = app.tenant("alpha").await;
        let (_, nobody) = app.user(&a, "nobody@alpha.example", &[], &[]).await;
        let sdl = switchyard_gateway::schema::sdl();
        let block = sdl
            .split("type Subscription")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .expect("a Subscription type");
        let roots: Vec<String> = block
            .lines()
            .filter_map(|l| l.trim().split(['(', ':']).next().map(str::to_owned))
            .filter(|name| !name.is_empty() && name.chars().all(char::is_alphanumeric))
            .collect();
        assert!(roots.len() >= 4, "{roots:?}");
        // The arguments a root requires (a calendar names its location and range).
        let location = a.location.to_global().to_string();
        let call = |root: &str| match root {
            "calendarChanged" => format!("{root}(locationId: \"{location}\", from: \"2055-01-01T00:00:00Z\", to: \"2055-01-02T00:00:00Z\")"),
            _ => root.to_owned(),
        };
        let mut socket = connect(&app, "graphql-transport-ws").await;
        init(&mut socket, &nobody).await;
        for (i, root) in roots.iter().map(|r| call(r)).enumerate() {
            for (j, query) in [
                format!("subscription {{ {root} {{ __typename }} }}"),
                format!("subscription {{ alias: {root} {{ __typename }} }}"),
                format!("subscription {{ ...F }} fragment F on Subscription {{ {root} {{ __typename }} }}"),
            ]
            .iter()
            .enumerate()
            {
                let id = format!("{i}-{j}");
                send(&mut socket, json!({"id": id, "type": "subscribe", "payload": {"query": query}})).await;
                let refused = recv(&mut socket).await;
                assert_eq!(refused["type"], "error", "{root}: {refused}");
                assert_eq!(refused["id"], id.as_str());
                assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN", "{root}: {refused}");
            }
        }
        // The owner holds every read permission: each root starts (no error, the socket
        // answers the next ping in order).
        let mut owner = connect(&app, "graphql-transport-ws").await;
        init(&mut owner, &a.owner_token).await;
        for root in &roots {
            send(&mut owner, json!({"id": root, "type": "subscribe", "payload": {"query": format!("subscription {{ {} {{ __typename }} }}", call(root))}})).await;
        }
        send(&mut owner, json!({"type": "ping"})).await;
        let answer = recv(&mut owner).await;
        assert_eq!(answer["type"], "pong", "{answer}");
    }
}

backend_test! {
    async fn job_changes_reach_the_crew_of_the_job_and_readers_of_all_jobs_only(app: TestApp) {
        use crate::operations::jobs::{ASSIGN, job_in, sales_tenant};
        let t = sales_tenant(&app, "live").await;
        let other = sales_tenant(&app, "elsewhere").await;
        let (on_it, on_it_token) = app.user(&t, "on@live.example", &["crew"], &[t.location]).await;
        let (_, off_it_token) = app.user(&t, "off@live.example", &["crew"], &[t.location]).await;
        let (_, accountant_token) = app.user(&t, "acc@live.example", &["accountant"], &[t.location]).await;
        let (_, client_token) = app.user(&t, "client@live.example", &["client"], &[t.location]).await;
        let (job, _) = job_in(&app, &t, t.location, "2055-01-12").await;
        let data = app.ok(&t.owner_token, ASSIGN, json!({"job": job, "user": on_it.to_global()})).await;
        assert_eq!(data["assignCrew"]["userErrors"], json!([]), "{data}");
        let subscribe = json!({"id": "j", "type": "subscribe", "payload": {"query": "subscription { jobChanged { id notes } }"}});
        let mut sockets = Vec::new();
        for token in [&on_it_token, &accountant_token, &off_it_token, &other.owner_token] {
            let mut s = connect(&app, "graphql-transport-ws").await;
            init(&mut s, token).await;
            send(&mut s, subscribe.clone()).await;
            sockets.push(s);
        }
        // A client may not subscribe at all.
        let mut refused = connect(&app, "graphql-transport-ws").await;
        init(&mut refused, &client_token).await;
        send(&mut refused, subscribe.clone()).await;
        let error = recv_control(&mut refused).await;
        assert_eq!((error["type"].as_str(), error["payload"][0]["extensions"]["code"].as_str()), (Some("error"), Some("FORBIDDEN")), "{error}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.ok(&t.owner_token, "mutation($id: ID!) { updateJob(input: {id: $id, notes: \"Piano first\"}) { userErrors { code } } }", json!({"id": job})).await;
        for s in sockets.iter_mut().take(2) {
            let event = event_where(s, |e| e["payload"]["data"]["jobChanged"]["notes"] == "Piano first", |_| true).await;
            assert_eq!(event["payload"]["data"]["jobChanged"]["id"], json!(job));
        }
        // The crew member not on it and the other tenant got nothing: their next message is
        // the answer to a ping.
        for s in sockets.iter_mut().skip(2) {
            send(s, json!({"type": "ping", "payload": {"probe": 2}})).await;
            assert_eq!(recv(s).await, json!({"type": "pong", "payload": {"probe": 2}}));
        }
    }
}

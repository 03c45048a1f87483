//! GraphQL over WebSocket with a real client: graphql-transport-ws close codes, pings,
//! live events only for the same tenant, and the legacy protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::backend_test;
use crate::support::*;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, protocol: &str) -> Socket {
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

async fn send(socket: &mut Socket, value: Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON message (skipping transport pings).
async fn recv(socket: &mut Socket) -> Value {
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
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("closed within 10 s")
        {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => return (1005, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before close: {e}"),
        }
    }
}

async fn init(socket: &mut Socket, token: &str) {
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
        let event = recv(&mut watcher_a).await;
        assert_eq!(event["type"], "next");
        assert_eq!(event["payload"]["data"]["userChanged"], json!({"email": "kim@alpha.example", "name": "Kim Alpha"}), "{event}");

        // Tenant B saw nothing of it; its own change arrives first.
        let (bo, _) = app.user(&b, "bo@beta.example", &["crew"], &[b.location]).await;
        app.ok(&b.owner_token, "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Bo Beta\"}) { user { id } } }", json!({"id": bo.to_global()})).await;
        let first_b = recv(&mut watcher_b).await;
        assert_eq!(first_b["payload"]["data"]["userChanged"]["email"], "bo@beta.example", "{first_b}");

        // A subscriber without the permission is refused when subscribing.
        let mut client = connect(&app, "graphql-transport-ws").await;
        init(&mut client, &client_token).await;
        send(&mut client, json!({"id": "l", "type": "subscribe", "payload": {"query": "subscription { locationChanged { name } }"}})).await;
        let refused = recv(&mut client).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "FORBIDDEN");

        // complete stops the subscription: the next change is not sent.
        send(&mut watcher_a, json!({"id": "s", "type": "complete"})).await;
        send(&mut watcher_a, json!({"type": "ping"})).await;
        app.ok(&a.owner_token, "mutation($id: ID!) { updateUser(input: {id: $id, name: \"Kim Again\"}) { user { id } } }", json!({"id": kim.to_global()})).await;
        send(&mut watcher_a, json!({"type": "ping", "payload": {"after": true}})).await;
        assert_eq!(recv(&mut watcher_a).await["type"], "pong");
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

//! A live view of user changes: signs in over HTTP, then subscribes over WebSocket
//! (`graphql-transport-ws`) and prints every change as it happens.
//!
//! ```text
//! cargo run --release                       # in one terminal (note the printed password)
//! SWITCHYARD_EMAIL=owner@example.com SWITCHYARD_PASSWORD=… \
//!   cargo run --example live_users          # in another; then change a user in GraphiQL
//! ```

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let base = std::env::var("SWITCHYARD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let email = std::env::var("SWITCHYARD_EMAIL").unwrap_or_else(|_| "owner@example.com".into());
    let password = std::env::var("SWITCHYARD_PASSWORD").map_err(|_| {
        anyhow::anyhow!("set SWITCHYARD_PASSWORD (printed by the server on first start)")
    })?;

    let login: Value = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&json!({
            "query": "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) { accessToken userErrors { message } } }",
            "variables": {"e": email, "p": password},
        }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["data"]["login"]["accessToken"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("sign-in failed: {login}"))?
        .to_owned();

    let mut request =
        format!("{}/graphql", base.replacen("http", "ws", 1)).into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let send = |v: Value| Message::Text(v.to_string().into());
    socket.send(send(json!({"type": "connection_init", "payload": {"authorization": format!("Bearer {token}")}}))).await?;
    socket
        .send(send(
            json!({"id": "users", "type": "subscribe", "payload": {
                "query": "subscription { userChanged { email name status version } }"
            }}),
        ))
        .await?;
    println!("watching user changes (Ctrl-C to stop)…");

    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let message: Value = serde_json::from_str(&text)?;
        match message["type"].as_str() {
            Some("ping") => socket.send(send(json!({"type": "pong"}))).await?,
            Some("next") => println!("{}", message["payload"]["data"]["userChanged"]),
            Some("error") => anyhow::bail!("subscription refused: {}", message["payload"]),
            _ => {}
        }
    }
    Ok(())
}

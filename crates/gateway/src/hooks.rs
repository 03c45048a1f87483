//! Webhooks that outside services call: `POST /hooks/support/email`, inbound email from the
//! mail provider (see `switchyard_support::inbound`). Authenticated by a shared bearer secret
//! from the configuration; off (404) while it is empty.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};
use switchyard_support::inbound::{self, InboundEmail, Received};

use crate::state::AppState;

/// Whether the request carries `Authorization: Bearer <secret>` (compared by digest, so the
/// time taken does not tell how much of a guess was right).
fn authorized(headers: &HeaderMap, secret: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    Sha256::digest(given.as_bytes()) == Sha256::digest(secret.as_bytes())
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// An inbound email: 202 when stored as a reply; 200 with the reason when it is not (the
/// provider should not retry); 401, 400 or 500 otherwise.
pub async fn support_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let secret = state
        .services
        .settings
        .get(inbound::SECRET)
        .unwrap_or_default();
    if secret.is_empty() {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"error": "inbound email is not configured"}),
        );
    }
    if !authorized(&headers, secret) {
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "a wrong or missing bearer token"}),
        );
    }
    let message: InboundEmail = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(_) => {
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": "send JSON {\"from\": string, \"to\": [string], \"text\": string}"}),
            );
        }
    };
    let authenticator = state.authenticator.clone();
    let received = inbound::receive(&state.services, &message, async |tenant, user| {
        authenticator.caller_for_user(tenant, user, None).await
    })
    .await;
    match received {
        Ok(Received::Stored(ticket)) => answer(
            StatusCode::ACCEPTED,
            json!({"stored": true, "ticketId": ticket.to_global().to_string()}),
        ),
        Ok(Received::Ignored(reason)) => {
            answer(StatusCode::OK, json!({"stored": false, "reason": reason}))
        }
        Err(error) => {
            tracing::error!(?error, "inbound email failed");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": "INTERNAL"}),
            )
        }
    }
}

//! Who sends a request: the credential it carries, the caller behind it, and the client's
//! address (behind trusted reverse proxies). HTTP and WebSocket requests share this.

use axum::http::{HeaderMap, header};
use switchyard_kernel::{Caller, ClientAddr};

use crate::state::AppState;

/// The credential a request carries: `Authorization: Bearer …` (a JWT or an API key) or
/// `X-Api-Key`; `None` without one.
pub fn credential(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(strip_bearer);
    let api_key = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    bearer.or(api_key).filter(|c| !c.is_empty())
}

/// `Bearer <token>` (either case) or a bare token, trimmed.
pub fn strip_bearer(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value)
        .trim()
}

/// The caller behind the request's credential, possibly with rights kept from an earlier
/// request (confirmed before anything acts for it: see [`Origin::confirm`]); no credential:
/// anonymous.
pub(crate) async fn caller_from_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, switchyard_kernel::Error> {
    match credential(headers) {
        None => Ok(None),
        Some(credential) => state
            .authenticator
            .authenticate_kept(credential)
            .await
            .map(Some),
    }
}

/// The client behind a request: the peer, unless the peer is a trusted reverse proxy; then the
/// nearest address in `X-Forwarded-For` that is not one of ours.
pub fn client_addr(state: &AppState, parts: &axum::http::request::Parts) -> Option<ClientAddr> {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()?
        .0
        .ip();
    if !state.trusted_proxies.contains(&peer) {
        return Some(ClientAddr(peer));
    }
    let forwarded: Vec<std::net::IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    let client = forwarded
        .iter()
        .rev()
        .find(|a| !state.trusted_proxies.contains(a))
        .copied()
        .unwrap_or(peer);
    Some(ClientAddr(client))
}

/// Where an operation comes from: the caller (if signed in) and the client's address.
#[derive(Clone)]
pub struct Origin {
    pub caller: Option<Caller>,
    pub address: Option<ClientAddr>,
}

impl Origin {
    /// Reads the caller's rights again if they were kept from an earlier request (see
    /// `Caller::kept`); `Ok(true)` when they were. UNAUTHENTICATED: the user or session no
    /// longer is.
    pub(crate) async fn confirm(
        &mut self,
        state: &AppState,
    ) -> Result<bool, switchyard_kernel::Error> {
        match &self.caller {
            Some(caller) if caller.kept().is_some() => {
                self.caller = Some(state.authenticator.confirm(caller).await?);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

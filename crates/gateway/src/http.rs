//! (Over 600 lines: the GraphQL-over-HTTP rules (methods, media types, status codes) around one execution path, and their direct/checked dispatch.)
//!
//! GraphQL over HTTP, as the GraphQL-over-HTTP specification asks (the stock async-graphql
//! axum integration answers everything `200 application/graphql-response+json`).
//!
//! - `POST /graphql` with `Content-Type: application/json`; any other content type is 415, so
//!   the "simple" types a cross-site form can send (`text/plain`, form-encoded) never execute
//!   anything: that is the CSRF defence. `multipart/form-data` is file uploads
//!   ([`crate::uploads`]), refused without a credential header, which no cross-site form sends.
//! - `GET /graphql?query=…` runs queries only; a mutation over GET is 405.
//! - The response type follows `Accept`: `application/graphql-response+json` or
//!   `application/json` (also for `*/*` and a missing header); neither is 406.
//! - With `application/graphql-response+json`, a request that fails before execution (parse,
//!   validation, variable coercion, unknown operation) is 400 without `data`; with
//!   `application/json` such requests are 200, as the specification recommends for legacy
//!   clients. A malformed HTTP request (bad JSON, bad parameters) is 400 for both.

use std::collections::HashMap;
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use switchyard_kernel::{Caller, ClientAddr, Principal};

use crate::order::reorder;
use crate::schema::{Executed, code_execution_errors, code_request_errors};
use crate::state::AppState;

/// The two JSON media types of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    GraphqlResponseJson,
    Json,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept` (quality values honoured); `None` when the client
/// accepts neither JSON type.
pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    let mut best: Option<(f32, Media)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            "application/graphql-response+json" => Media::GraphqlResponseJson,
            "application/json" | "application/*" | "*/*" => Media::Json,
            _ => continue,
        };
        if q <= 0.0 {
            continue;
        }
        let better = match best {
            None => true,
            Some((bq, bm)) => {
                q > bq || (q == bq && bm == Media::Json && candidate == Media::GraphqlResponseJson)
            }
        };
        if better {
            best = Some((q, candidate));
        }
    }
    best.map(|(_, m)| m)
}

/// A JSON error response outside GraphQL execution.
pub fn error_response(status: StatusCode, media: Media, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    json_response(status, media, &body)
}

fn json_response(status: StatusCode, media: Media, body: &Value) -> Response {
    json_bytes_response(status, media, body.to_string().into_bytes())
}

fn json_bytes_response(status: StatusCode, media: Media, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

/// One operation's parameters.
#[derive(Debug)]
pub(crate) struct Params {
    pub(crate) query: String,
    pub(crate) operation_name: Option<String>,
    pub(crate) variables: Map<String, Value>,
    pub(crate) extensions: Map<String, Value>,
    /// The files of a multipart request (see [`crate::uploads`]).
    pub(crate) uploads: switchyard_kernel::files::Uploads,
}

pub(crate) fn params_from_json(value: Value) -> Result<Params, String> {
    let Value::Object(mut object) = value else {
        return Err("the request body must be a JSON object".to_owned());
    };
    let query = match object.remove("query") {
        Some(Value::String(q)) => q,
        Some(_) => return Err("`query` must be a string".to_owned()),
        None => return Err("`query` is missing".to_owned()),
    };
    let operation_name = match object.remove("operationName") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name),
        Some(_) => return Err("`operationName` must be a string or null".to_owned()),
    };
    let object_param = |name: &str, value: Option<Value>| match value {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(format!("`{name}` must be an object or null")),
    };
    Ok(Params {
        query,
        operation_name,
        variables: object_param("variables", object.remove("variables"))?,
        extensions: object_param("extensions", object.remove("extensions"))?,
        uploads: Default::default(),
    })
}

fn params_from_query_string(query: &str) -> Result<Params, String> {
    let pairs: HashMap<String, String> = serde_urlencoded::from_str(query)
        .map_err(|_| "the query string is malformed".to_owned())?;
    let mut object = Map::new();
    if let Some(q) = pairs.get("query") {
        object.insert("query".into(), Value::String(q.clone()));
    }
    if let Some(name) = pairs.get("operationName").filter(|n| !n.is_empty()) {
        object.insert("operationName".into(), Value::String(name.clone()));
    }
    for key in ["variables", "extensions"] {
        if let Some(raw) = pairs.get(key).filter(|v| !v.is_empty()) {
            let parsed: Value =
                serde_json::from_str(raw).map_err(|_| format!("`{key}` must be JSON"))?;
            object.insert(key.into(), parsed);
        }
    }
    params_from_json(Value::Object(object))
}

/// The operation type `params` selects, if the document passes the size and nesting checks,
/// parses, and names one.
fn operation_type(state: &AppState, params: &Params) -> Option<OperationType> {
    let doc = state.checks.parse(&params.query).ok()?;
    crate::checks::operation(&doc, params.operation_name.as_deref()).map(|op| op.ty)
}

fn is_json_content_type(headers: &HeaderMap) -> Result<(), &'static str> {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return Err("send the request as Content-Type: application/json");
    };
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    if media != "application/json" {
        return Err(
            "only application/json request bodies are accepted (this also refuses cross-site form posts)",
        );
    }
    for param in parts {
        if let Some((k, v)) = param.split_once('=')
            && k.trim().eq_ignore_ascii_case("charset")
            && !v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        {
            return Err("only UTF-8 request bodies are accepted");
        }
    }
    Ok(())
}

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
async fn caller_from_headers(
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
    async fn confirm(&mut self, state: &AppState) -> Result<bool, switchyard_kernel::Error> {
        match &self.caller {
            Some(caller) if caller.kept().is_some() => {
                self.caller = Some(state.authenticator.confirm(caller).await?);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Builds the executable request for one operation.
pub fn graphql_request(
    operation_name: Option<String>,
    variables: Map<String, Value>,
    extensions: Map<String, Value>,
    origin: &Origin,
    executed: Executed,
) -> async_graphql::Request {
    let mut request = async_graphql::Request::new(String::new()).variables(
        async_graphql::Variables::from_json(Value::Object(variables)),
    );
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    for (key, value) in extensions {
        if let Ok(value) = async_graphql::Value::from_json(value) {
            request.extensions.insert(key, value);
        }
    }
    request = request.data(executed);
    if let Some(caller) = &origin.caller {
        request = request.data(caller.clone());
    }
    if let Some(address) = origin.address {
        request = request.data(address);
    }
    request
}

pub(crate) struct Outcome {
    /// The serialized response (straight from the executor's response, no intermediate tree).
    pub(crate) body: Vec<u8>,
    pub(crate) request_error: bool,
    pub(crate) errors: usize,
}

/// Runs one operation: the request checks ([`crate::checks`]), then the direct path when the
/// access policy admits the whole document for the caller (see [`crate::schema::Direct`]),
/// else the checked schema. Every operation is executed once. Rights kept from an earlier
/// request are confirmed first (a planned read confirms them in its own statement); the error
/// is UNAUTHENTICATED when they no longer hold at all.
async fn execute(
    state: &AppState,
    params: Params,
    origin: &mut Origin,
) -> Result<Outcome, switchyard_kernel::Error> {
    let document = match state.checks.prepare(
        &params.query,
        params.operation_name.as_deref(),
        &params.variables,
    ) {
        Ok(document) => document,
        Err(errors) => return Ok(refused(&errors)),
    };
    let admits = |origin: &Origin| {
        state.config.direct_queries
            && state.direct.admits(
                &document,
                params.operation_name.as_deref(),
                origin.caller.as_ref(),
            )
    };
    let mut admitted = admits(origin);
    if admitted
        && state.config.planned_reads
        && let Some(caller) = &origin.caller
    {
        match crate::planned::answer(state, &params, &document, origin, caller).await {
            crate::planned::Planned::Answered(outcome) => return Ok(outcome),
            crate::planned::Planned::Uncovered | crate::planned::Planned::Stale => {}
        }
    }
    if origin.confirm(state).await? {
        admitted = admits(origin);
    }
    let origin = &*origin;
    if admitted {
        let mut request = graphql_request(
            params.operation_name.clone(),
            params.variables.clone(),
            params.extensions.clone(),
            origin,
            Executed::default(),
        );
        request.set_parsed_query(document.clone());
        if !params.uploads.0.is_empty() {
            request = request.data(params.uploads.clone());
        }
        let mut response = state.direct.schema.execute(request).await;
        // Field errors are answered as they are, once (see `Direct`); an error without a path
        // means nothing ran, and the checked schema gives the request error its code.
        if response.errors.iter().all(|e| !e.path.is_empty()) {
            state.metrics.direct_operation();
            let errors = response.errors.len();
            if errors > 0 {
                crate::nulls::propagate(
                    &mut response,
                    &document,
                    params.operation_name.as_deref(),
                    state.checks.index(),
                );
                code_execution_errors(&mut response);
            }
            reorder(
                &mut response.data,
                &document,
                params.operation_name.as_deref(),
                state.checks.index(),
            );
            return Ok(Outcome {
                body: serialized(&response),
                request_error: false,
                errors,
            });
        }
    }
    state.metrics.checked_operation(admitted);
    let executed = Executed::default();
    let operation_name = params.operation_name.clone();
    let uploads = params.uploads;
    let mut request = graphql_request(
        params.operation_name,
        params.variables,
        params.extensions,
        origin,
        executed.clone(),
    );
    request.set_parsed_query(document.clone());
    if !uploads.0.is_empty() {
        request = request.data(uploads);
    }
    let mut response = state.schema.execute(request).await;
    let errors = response.errors.len();
    if !executed.get() && !response.errors.is_empty() {
        code_request_errors(&mut response);
        return Ok(refused(&response.errors));
    }
    code_execution_errors(&mut response);
    reorder(
        &mut response.data,
        &document,
        operation_name.as_deref(),
        state.checks.index(),
    );
    Ok(Outcome {
        body: serialized(&response),
        request_error: false,
        errors,
    })
}

/// A request refused before it ran: its errors and no `data`.
fn refused(errors: &[async_graphql::ServerError]) -> Outcome {
    Outcome {
        body: serialized(&RequestErrors { errors }),
        request_error: true,
        errors: errors.len(),
    }
}

/// A request error's body: `errors` and no `data` (GraphQL over HTTP).
#[derive(serde::Serialize)]
struct RequestErrors<'a> {
    errors: &'a [async_graphql::ServerError],
}

pub(crate) fn serialized(value: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|error| {
        tracing::error!(%error, "response not serializable");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    })
}

fn who(caller: &Option<Caller>) -> (String, String) {
    match caller {
        None => ("anonymous".to_owned(), String::new()),
        Some(c) => (
            match &c.principal {
                Principal::User { id, .. } => format!("user:{id}"),
                Principal::ApiKey { id, .. } => format!("api_key:{id}"),
                Principal::System => "system".to_owned(),
            },
            c.tenant_id.to_string(),
        ),
    }
}

/// `GET`/`POST /graphql`, and the WebSocket upgrade on `GET`.
pub async fn graphql(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if parts.method == Method::GET && crate::ws::is_upgrade(&parts.headers) {
        return crate::ws::upgrade(state, parts).await;
    }
    let started = Instant::now();
    let response = handle(&state, parts, body, started).await;
    state.metrics.http_response(response.status());
    response
}

async fn handle(
    state: &AppState,
    parts: axum::http::request::Parts,
    body: Body,
    started: Instant,
) -> Response {
    let Some(media) = negotiate(&parts.headers) else {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            Media::Json,
            "NOT_ACCEPTABLE",
            "accept application/graphql-response+json or application/json",
        );
    };
    let bad =
        |message: &str| error_response(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", message);
    let batch: Vec<Params>;
    let is_batch;
    match parts.method {
        Method::GET => match params_from_query_string(parts.uri.query().unwrap_or_default()) {
            Ok(params) => {
                if matches!(
                    operation_type(state, &params),
                    Some(OperationType::Mutation | OperationType::Subscription)
                ) {
                    let mut response = error_response(
                        StatusCode::METHOD_NOT_ALLOWED,
                        media,
                        "METHOD_NOT_ALLOWED",
                        "mutations and subscriptions need POST (or a WebSocket)",
                    );
                    response
                        .headers_mut()
                        .insert(header::ALLOW, HeaderValue::from_static("POST"));
                    return response;
                }
                batch = vec![params];
                is_batch = false;
            }
            Err(message) => return bad(&message),
        },
        Method::POST if crate::uploads::is_multipart(&parts.headers) => {
            match crate::uploads::params(state, &parts.headers, body).await {
                Ok((mut params, uploads)) => {
                    params.uploads = uploads;
                    batch = vec![params];
                    is_batch = false;
                }
                Err((status, code, message)) => {
                    return error_response(status, media, code, &message);
                }
            }
        }
        Method::POST => {
            if let Err(message) = is_json_content_type(&parts.headers) {
                return error_response(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    media,
                    "UNSUPPORTED_MEDIA_TYPE",
                    message,
                );
            }
            let bytes = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
                Ok(bytes) => bytes,
                Err(_) => {
                    return error_response(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        media,
                        "PAYLOAD_TOO_LARGE",
                        &format!(
                            "the request body exceeds {} bytes",
                            state.config.max_body_bytes
                        ),
                    );
                }
            };
            let value: Value = match serde_json::from_slice(&bytes) {
                Ok(value) => value,
                Err(_) => return bad("the request body is not valid JSON"),
            };
            match value {
                Value::Array(items) => {
                    if items.is_empty() || items.len() > state.config.max_batch {
                        return bad(&format!(
                            "a batch holds 1 to {} operations",
                            state.config.max_batch
                        ));
                    }
                    let mut all = Vec::with_capacity(items.len());
                    for item in items {
                        match params_from_json(item) {
                            Ok(p) => all.push(p),
                            Err(message) => return bad(&message),
                        }
                    }
                    batch = all;
                    is_batch = true;
                }
                other => match params_from_json(other) {
                    Ok(p) => {
                        batch = vec![p];
                        is_batch = false;
                    }
                    Err(message) => return bad(&message),
                },
            }
        }
        _ => {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                "METHOD_NOT_ALLOWED",
                "use GET or POST",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            return response;
        }
    }
    let refused_credentials = |error: switchyard_kernel::Error| {
        let mut response = error_response(
            StatusCode::UNAUTHORIZED,
            media,
            error.code(),
            &error.message(),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        tracing::info!(target: "switchyard::request", status = 401, reason = %error.message(), "refused credentials");
        response
    };
    let caller = match caller_from_headers(state, &parts.headers).await {
        Ok(caller) => caller,
        Err(error) => return refused_credentials(error),
    };
    let (principal, tenant) = who(&caller);
    let mut origin = Origin {
        caller,
        address: client_addr(state, &parts),
    };
    let operation = batch
        .iter()
        .map(|p| p.operation_name.clone().unwrap_or_else(|| "-".to_owned()))
        .collect::<Vec<_>>()
        .join(",");
    let mut outcomes = Vec::with_capacity(batch.len());
    for params in batch {
        match execute(state, params, &mut origin).await {
            Ok(outcome) => outcomes.push(outcome),
            Err(error) => return refused_credentials(error),
        }
    }
    let errors: usize = outcomes.iter().map(|o| o.errors).sum();
    state.metrics.graphql_errors(errors);
    let (status, body) = if is_batch {
        let mut body = b"[".to_vec();
        for (i, outcome) in outcomes.into_iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(&outcome.body);
        }
        body.push(b']');
        (StatusCode::OK, body)
    } else {
        let outcome = outcomes.pop().unwrap_or(Outcome {
            body: b"null".to_vec(),
            request_error: true,
            errors: 0,
        });
        let status = if outcome.request_error && media == Media::GraphqlResponseJson {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        (status, outcome.body)
    };
    tracing::info!(
        target: "switchyard::request",
        method = %parts.method,
        operation = %operation,
        status = status.as_u16(),
        errors,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        caller = %principal,
        tenant = %tenant,
        "graphql"
    );
    json_bytes_response(status, media, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<Media> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        negotiate(&headers)
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(accept("application/json"), Some(Media::Json));
        assert_eq!(
            accept("application/graphql-response+json"),
            Some(Media::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(Media::GraphqlResponseJson)
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0.5, application/json"),
            Some(Media::Json)
        );
        assert_eq!(accept("*/*"), Some(Media::Json));
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0"), None);
    }

    #[test]
    fn parameters_are_checked() {
        assert!(params_from_json(json!({"query": "{a}"})).is_ok());
        assert!(params_from_json(json!({"query": 1})).is_err());
        assert!(params_from_json(json!({})).is_err());
        assert!(params_from_json(json!({"query": "{a}", "variables": "x"})).is_err());
        assert!(params_from_json(json!({"query": "{a}", "operationName": 3})).is_err());
        assert!(
            params_from_json(json!({"query": "{a}", "variables": null, "extensions": null}))
                .is_ok()
        );
        assert!(params_from_query_string("query=%7Ba%7D&variables=%7B%7D").is_ok());
        assert!(params_from_query_string("query=%7Ba%7D&variables=nope").is_err());
    }
}

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
use axum::response::Response;
use serde_json::{Map, Value};
use switchyard_kernel::{Caller, Principal};

use crate::media::{Media, error_response, json_bytes_response, negotiate};
use crate::order::reorder;
use crate::origin::{Origin, caller_from_headers, client_addr};
use crate::schema::{Executed, code_execution_errors, code_request_errors};
use crate::state::AppState;

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
        request.set_parsed_query((*document).clone());
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
    request.set_parsed_query((*document).clone());
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
    use serde_json::json;

    use super::*;

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

//! `GET /files/<id>?t=…&u=…&e=…&s=…`: a file through the signed link the API handed out
//! (`downloadUrl`). The signature and expiry are checked, then the person the link was made
//! for is read as they are now, and the file is served only if they still see its object:
//! a withdrawn right, a deactivated user or an internal file withdraws the link too.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;
use switchyard_kernel::Error;
use switchyard_kernel::files::LinkError;

use crate::state::AppState;

/// RFC 8187 `attr-char`: what `filename*` keeps unencoded.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })),
    )
        .into_response()
}

/// Serves the file a signed link names.
pub async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let forbidden = || {
        refused(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this link is not valid: ask the API for a new one",
        )
    };
    let param = |name: &str| query.get(name).map(String::as_str).unwrap_or_default();
    let Ok(expires) = param("e").parse::<i64>() else {
        return forbidden();
    };
    let files = &state.services.files;
    let (tenant, user) = match files.verify(&id, param("t"), param("u"), expires, param("s")) {
        Ok(who) => who,
        Err(LinkError::Invalid) => return forbidden(),
        Err(LinkError::Expired) => {
            return refused(
                StatusCode::GONE,
                "LINK_EXPIRED",
                "this link has expired: ask the API for a new one",
            );
        }
    };
    let Ok(caller) = state
        .authenticator
        .caller_for_user(tenant, user, None)
        .await
    else {
        return forbidden();
    };
    let found = match switchyard_kernel::ids::decode_global(&id) {
        Some((kind, _))
            if kind == switchyard_support::attachments::TicketAttachmentId::TYPE_NAME =>
        {
            switchyard_support::attachments::download(&state.services, &caller, &id)
                .await
                .map(|(row, key)| (row.file_name, row.content_type, key))
        }
        _ => Err(Error::NotFound),
    };
    let (name, content_type, key) = match found {
        Ok(found) => found,
        Err(Error::NotFound | Error::Forbidden(_)) => {
            return refused(StatusCode::NOT_FOUND, "NOT_FOUND", "no such file");
        }
        Err(error) => return internal(&error),
    };
    let bytes = match files.get(&key).await {
        Ok(bytes) => bytes,
        Err(error) => return internal(&error),
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Always a download, never rendered in our origin; the name as given, encoded.
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        utf8_percent_encode(&name, ATTR_CHAR)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    response
}

fn internal(error: &Error) -> Response {
    tracing::error!(?error, "a download failed");
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "the file could not be read",
    )
}

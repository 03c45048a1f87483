//! File uploads: `POST /graphql` as `multipart/form-data`, by the GraphQL multipart request
//! spec (an `operations` part, a `map` part, then the files). One operation per request.
//!
//! - CSRF: a cross-site form can post multipart, but cannot attach `Authorization` or
//!   `X-Api-Key` without a CORS preflight; a multipart request without one is refused before
//!   anything is read.
//! - Limits: `operations` and `map` within `max_body_bytes`; at most `files_max_per_request`
//!   files; a file over `files_max_bytes` is drained, not kept, and arrives marked too large,
//!   so the mutation answers with a user error naming its field; the whole body within
//!   (files × limit + `max_body_bytes`), else 413.
//! - Each file's place in the variables becomes `"upload:<n>"`, which the `Upload` scalar reads
//!   back from [`Uploads`] (see `switchyard_kernel::files`).

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::{Bytes, BytesMut};
use serde_json::{Map, Value};
use switchyard_kernel::files::{UploadedFile, Uploads};

use crate::http::{Params, params_from_json};
use crate::state::AppState;

/// Why a multipart request was refused: status, code, message.
pub(crate) type Refusal = (StatusCode, &'static str, String);

fn bad(message: impl Into<String>) -> Refusal {
    (StatusCode::BAD_REQUEST, "BAD_REQUEST", message.into())
}

/// Whether the request body is `multipart/form-data`.
pub(crate) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .eq_ignore_ascii_case("multipart/form-data")
        })
}

/// The operation and its files from a multipart request.
pub(crate) async fn params(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Params, Uploads), Refusal> {
    if crate::origin::credential(headers).is_none() {
        return Err((
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "an upload needs the credential in Authorization or X-Api-Key (a cross-site form cannot send one)".to_owned(),
        ));
    }
    let config = &state.config;
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok())
        .ok_or_else(|| bad("multipart/form-data needs a boundary"))?;
    let whole = config
        .files_max_bytes
        .saturating_mul(config.files_max_per_request)
        .saturating_add(config.max_body_bytes);
    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole as u64));
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let too_big = |_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body exceeds {whole} bytes"),
        )
    };
    let refused = |error: multer::Error| match error {
        multer::Error::StreamSizeExceeded { limit } => too_big(limit),
        other => bad(format!("the multipart body is malformed: {other}")),
    };

    let mut operations: Option<Value> = None;
    let mut map: Option<Map<String, Value>> = None;
    let mut files: Vec<(String, UploadedFile)> = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(refused)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "operations" | "map" => {
                let text = read(&mut field, config.max_body_bytes)
                    .await
                    .map_err(refused)?
                    .ok_or_else(|| {
                        bad(format!(
                            "the `{name}` part exceeds {} bytes",
                            config.max_body_bytes
                        ))
                    })?;
                let value: Value = serde_json::from_slice(&text)
                    .map_err(|_| bad(format!("the `{name}` part is not valid JSON")))?;
                if name == "operations" {
                    operations = Some(value);
                } else {
                    let Value::Object(object) = value else {
                        return Err(bad("`map` must be a JSON object"));
                    };
                    map = Some(object);
                }
            }
            _ => {
                if operations.is_none() || map.is_none() {
                    return Err(bad(
                        "send the `operations` and `map` parts before the files",
                    ));
                }
                if files.len() >= config.files_max_per_request {
                    return Err(bad(format!(
                        "at most {} files in one request",
                        config.files_max_per_request
                    )));
                }
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let bytes = read(&mut field, config.files_max_bytes)
                    .await
                    .map_err(refused)?;
                files.push((
                    name,
                    UploadedFile {
                        name: file_name,
                        too_large: bytes.is_none(),
                        bytes: bytes.unwrap_or_default(),
                    },
                ));
            }
        }
    }
    let operations = operations.ok_or_else(|| bad("the `operations` part is missing"))?;
    let map = map.ok_or_else(|| bad("the `map` part is missing"))?;
    if operations.is_array() {
        return Err(bad(
            "a multipart request carries one operation, not a batch",
        ));
    }
    let mut params = params_from_json(operations).map_err(bad)?;
    let mut uploads = Vec::with_capacity(files.len());
    for (key, paths) in map {
        let Some(index) = files.iter().position(|(name, _)| *name == key) else {
            return Err(bad(format!(
                "the file `{key}` named in `map` did not arrive"
            )));
        };
        let Value::Array(paths) = paths else {
            return Err(bad(format!("`map.{key}` must be a list of paths")));
        };
        let n = uploads.len();
        uploads.push(files[index].1.clone());
        for path in paths {
            let Some(path) = path.as_str() else {
                return Err(bad(format!("`map.{key}` must be a list of paths")));
            };
            let slot = path
                .strip_prefix("variables.")
                .and_then(|rest| place(&mut params.variables, rest))
                .ok_or_else(|| {
                    bad(format!(
                        "`{path}` does not name a null in the operation's variables"
                    ))
                })?;
            *slot = Value::String(format!("upload:{n}"));
        }
    }
    Ok((params, Uploads(uploads)))
}

/// A part's bytes, up to `limit`; `None` when the part is larger (it is read to its end and
/// dropped, so the parts after it can still be read).
async fn read(field: &mut multer::Field<'_>, limit: usize) -> Result<Option<Bytes>, multer::Error> {
    let mut kept = BytesMut::new();
    let mut over = false;
    while let Some(chunk) = field.chunk().await? {
        if over || kept.len() + chunk.len() > limit {
            over = true;
            kept = BytesMut::new();
            continue;
        }
        kept.extend_from_slice(&chunk);
    }
    Ok((!over).then(|| kept.freeze()))
}

/// The null value at a dotted path (`input.file`, `files.0`) of the variables.
fn place<'v>(variables: &'v mut Map<String, Value>, path: &str) -> Option<&'v mut Value> {
    let mut parts = path.split('.');
    let mut current = variables.get_mut(parts.next()?)?;
    for part in parts {
        current = match current {
            Value::Object(object) => object.get_mut(part)?,
            Value::Array(items) => items.get_mut(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    current.is_null().then_some(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_paths_name_nulls_only() {
        let mut variables: Map<String, Value> = serde_json::from_str(
            r#"{"input": {"file": null, "files": [null, 3], "name": "x"}, "top": null}"#,
        )
        .unwrap();
        assert!(place(&mut variables, "input.file").is_some());
        assert!(place(&mut variables, "input.files.0").is_some());
        assert!(place(&mut variables, "top").is_some());
        for wrong in [
            "input.files.1",
            "input.name",
            "input.missing",
            "input.files.9",
            "nope",
            "",
        ] {
            assert!(place(&mut variables, wrong).is_none(), "{wrong}");
        }
    }
}

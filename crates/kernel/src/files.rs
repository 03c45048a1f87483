//! Files people attach (a ticket's screenshot, a job's photo): uploaded with the GraphQL
//! multipart request spec, kept in an object store (the local disk by default, any
//! S3-compatible store when configured), and downloaded through short-lived signed links.
//!
//! - The gateway reads a multipart request's files into [`Uploads`] (request data) and puts
//!   `"upload:<n>"` where the `map` points; an argument of scalar type [`Upload`] resolves to
//!   the file. A file larger than the limit is not kept: it arrives marked `too_large`, so the
//!   mutation answers with a user error naming its field.
//! - [`Files::accept`] applies the rules every upload meets: a clean name (no path separators
//!   or control characters), not empty, within the size limit, and of an allowed type, judged
//!   from the bytes (magic numbers), never from the client's name or declared type.
//! - The stored object's key is the owner's ID, never the client's file name.
//! - A link names the object and the person it was made for, and expires; the gateway's
//!   `GET /files/…` checks the signature, then that this person still sees the object (with
//!   their rights as they are then), so a withdrawn right withdraws the links too.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::{Context, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use bytes::Bytes;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::error::{Error, Rejection, UserErrorCode};
use crate::ids::{TenantId, UserId};

/// What an upload may be.
#[derive(Debug, Clone)]
pub struct FileLimits {
    /// Largest file, bytes.
    pub max_bytes: usize,
    /// Accepted media types (as judged from the bytes).
    pub types: Vec<String>,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_bytes: 10 * 1024 * 1024,
            types: DEFAULT_TYPES.split(',').map(str::to_owned).collect(),
        }
    }
}

/// The media types accepted unless configured otherwise.
pub const DEFAULT_TYPES: &str =
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv";

/// Files on one uploaded request, in the order of their parts (request data).
#[derive(Debug, Default, Clone)]
pub struct Uploads(pub Vec<UploadedFile>);

/// One file of a multipart request, as the gateway read it.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// The name the client gave (checked by [`Files::accept`], never used as a path).
    pub name: String,
    /// The bytes; empty when the file was over the limit.
    pub bytes: Bytes,
    /// The file was larger than the limit, and was not kept.
    pub too_large: bool,
}

/// A file of a multipart request (GraphQL multipart request spec): send `null` in
/// `operations` and the file as the part `map` names.
#[derive(Debug, Clone, Copy)]
pub struct Upload(usize);

#[Scalar(
    name = "Upload",
    specified_by_url = "https://github.com/jaydenseric/graphql-multipart-request-spec"
)]
impl ScalarType for Upload {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => s
                .strip_prefix("upload:")
                .and_then(|n| n.parse().ok())
                .map(Upload)
                .ok_or_else(|| {
                    InputValueError::custom(
                        "send the file as a part of a multipart request (GraphQL multipart request spec)",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::Null
    }
}

impl Upload {
    /// The file this argument names on the current request; a user error at `path` when the
    /// request carried no such file.
    pub fn file<'c>(
        &self,
        ctx: &'c Context<'_>,
        path: &str,
    ) -> Result<&'c UploadedFile, Rejection> {
        ctx.data_opt::<Uploads>()
            .and_then(|uploads| uploads.0.get(self.0))
            .ok_or_else(|| {
                Rejection::invalid(
                    path,
                    UserErrorCode::Required,
                    "no file arrived for this upload: send it as a part of a multipart request (GraphQL multipart request spec)",
                )
            })
    }
}

/// A file [`Files::accept`] took: its clean name, its media type and its bytes.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub name: String,
    pub content_type: String,
    pub bytes: Bytes,
}

/// The object store, its rules, and the key links are signed with.
pub struct Files {
    store: Arc<dyn ObjectStore>,
    /// HMAC-SHA256 keyed for links, cloned for each signature.
    mac: HmacSha256,
    pub limits: FileLimits,
    /// How long a download link works.
    pub link_ttl: Duration,
}

impl Default for Files {
    /// In memory, with a random key: for tests that do not store files.
    fn default() -> Self {
        Files::new(
            Arc::new(object_store::memory::InMemory::new()),
            &uuid::Uuid::now_v7().to_string(),
            FileLimits::default(),
            Duration::from_secs(300),
        )
    }
}

type HmacSha256 = Hmac<Sha256>;

/// Longest file name, characters.
const MAX_NAME: usize = 255;

impl Files {
    /// Files in `store`; links signed with a key derived from `secret` (every process of one
    /// deployment derives the same one).
    pub fn new(
        store: Arc<dyn ObjectStore>,
        secret: &str,
        limits: FileLimits,
        link_ttl: Duration,
    ) -> Self {
        // The key: SHA-256 of a label and the secret, in a key block of SHA-256's size (64
        // bytes), so keying cannot fail.
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&Sha256::digest(
            [b"switchyard file links\n".as_slice(), secret.as_bytes()].concat(),
        ));
        Files {
            store,
            mac: <HmacSha256 as KeyInit>::new(&key.into()),
            limits,
            link_ttl,
        }
    }

    /// Files under a local directory (created if missing).
    pub fn local_store(dir: &std::path::Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
        std::fs::create_dir_all(dir)?;
        Ok(Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(dir)?,
        ))
    }

    /// Checks an upload against the rules (see the module's documentation); the errors name
    /// `path`.
    pub fn accept(&self, file: &UploadedFile, path: &str) -> Result<Accepted, Rejection> {
        let name = file.name.trim();
        let invalid = |code, message: String| Err(Rejection::invalid(path, code, message));
        if name.is_empty() || name == "." || name == ".." {
            return invalid(UserErrorCode::Required, "the file needs a name".to_owned());
        }
        if name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            return invalid(
                UserErrorCode::InvalidFormat,
                "a file name must not contain path separators (/ or \\) or control characters"
                    .to_owned(),
            );
        }
        if name.chars().count() > MAX_NAME {
            return invalid(
                UserErrorCode::TooLong,
                format!("a file name has at most {MAX_NAME} characters"),
            );
        }
        if file.too_large || file.bytes.len() > self.limits.max_bytes {
            return invalid(
                UserErrorCode::TooLong,
                format!(
                    "the file is larger than the limit of {} bytes",
                    self.limits.max_bytes
                ),
            );
        }
        if file.bytes.is_empty() {
            return invalid(UserErrorCode::TooShort, "the file is empty".to_owned());
        }
        let content_type = media_type(name, &file.bytes);
        if !self.limits.types.iter().any(|t| t == content_type) {
            return invalid(
                UserErrorCode::InvalidFormat,
                format!(
                    "files of type {content_type} are not accepted (accepted: {})",
                    self.limits.types.join(", ")
                ),
            );
        }
        Ok(Accepted {
            name: name.to_owned(),
            content_type: content_type.to_owned(),
            bytes: file.bytes.clone(),
        })
    }

    /// Stores `bytes` under `key`.
    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), Error> {
        self.store
            .put(&StorePath::from(key), PutPayload::from_bytes(bytes))
            .await
            .map(|_| ())
            .map_err(Error::internal)
    }

    /// The object under `key`; NOT_FOUND when it is not there.
    pub async fn get(&self, key: &str) -> Result<Bytes, Error> {
        match self.store.get(&StorePath::from(key)).await {
            Ok(found) => found.bytes().await.map_err(Error::internal),
            Err(object_store::Error::NotFound { .. }) => Err(Error::NotFound),
            Err(error) => Err(Error::internal(error)),
        }
    }

    /// Removes the object under `key`, if it is there.
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(Error::internal(error)),
        }
    }

    /// The keys stored under `prefix` (for tests and the operator).
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, Error> {
        use futures_util::TryStreamExt;
        let prefix = StorePath::from(prefix);
        self.store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(Error::internal)
    }

    /// A download link's path and query for `object` (a global ID), made for `user`:
    /// `/files/<object>?u=<user>&e=<expiry>&s=<signature>`.
    pub fn link(&self, tenant: TenantId, user: UserId, object: &str) -> String {
        let expires = crate::time::now().and_utc().timestamp() + self.link_ttl.as_secs() as i64;
        let signature = self.signature(tenant, user, object, expires);
        format!("/files/{object}?t={tenant}&u={user}&e={expires}&s={signature}")
    }

    /// Checks a link's signature and expiry; the tenant and user it was made for.
    pub fn verify(
        &self,
        object: &str,
        tenant: &str,
        user: &str,
        expires: i64,
        signature: &str,
    ) -> Result<(TenantId, UserId), LinkError> {
        let tenant = tenant.parse::<TenantId>().map_err(|_| LinkError::Invalid)?;
        let user = user.parse::<UserId>().map_err(|_| LinkError::Invalid)?;
        let given = hex_decode(signature).ok_or(LinkError::Invalid)?;
        let mut mac = self.mac.clone();
        mac.update(message(tenant, user, object, expires).as_bytes());
        mac.verify_slice(&given).map_err(|_| LinkError::Invalid)?;
        if expires < crate::time::now().and_utc().timestamp() {
            return Err(LinkError::Expired);
        }
        Ok((tenant, user))
    }

    fn signature(&self, tenant: TenantId, user: UserId, object: &str, expires: i64) -> String {
        let mut mac = self.mac.clone();
        mac.update(message(tenant, user, object, expires).as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// Why a link does not open a file.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkError {
    /// Not signed by us, or altered.
    Invalid,
    /// Past its expiry: ask the API for a new one.
    Expired,
}

fn message(tenant: TenantId, user: UserId, object: &str, expires: i64) -> String {
    format!("{tenant}\n{user}\n{object}\n{expires}")
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The media type of a file, judged from its bytes: a known signature; else UTF-8 text
/// (`text/csv` when named `.csv`); else `application/octet-stream`.
pub fn media_type(name: &str, bytes: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(bytes) {
        return kind.mime_type();
    }
    if std::str::from_utf8(bytes).is_ok() {
        if name.to_ascii_lowercase().ends_with(".csv") {
            return "text/csv";
        }
        return "text/plain";
    }
    "application/octet-stream"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: &[u8]) -> UploadedFile {
        UploadedFile {
            name: name.to_owned(),
            bytes: Bytes::copy_from_slice(bytes),
            too_large: false,
        }
    }

    fn code(result: Result<Accepted, Rejection>) -> String {
        match result {
            Ok(_) => "OK".to_owned(),
            Err(Rejection::Invalid(errors)) => format!("{:?}", errors[0].code),
            Err(other) => format!("{other:?}"),
        }
    }

    #[test]
    fn names_sizes_and_types_are_checked() {
        let files = Files::default();
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(code(files.accept(&file("shot.png", png), "f")), "OK");
        assert_eq!(
            files
                .accept(&file("notes.txt", b"hello"), "f")
                .ok()
                .map(|a| a.content_type),
            Some("text/plain".to_owned())
        );
        for bad in ["../etc/passwd", "a\\b.png", "a\nb.png", "x\u{7f}.png"] {
            assert_eq!(
                code(files.accept(&file(bad, png), "f")),
                "InvalidFormat",
                "{bad}"
            );
        }
        assert_eq!(code(files.accept(&file("  ", png), "f")), "Required");
        assert_eq!(code(files.accept(&file("e.txt", b""), "f")), "TooShort");
        // An executable named like a picture is judged by its bytes.
        assert_eq!(
            code(files.accept(
                &file("cat.png", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff"),
                "f"
            )),
            "InvalidFormat"
        );
        let mut big = file("big.txt", b"x");
        big.too_large = true;
        assert_eq!(code(files.accept(&big, "f")), "TooLong");
    }

    #[test]
    fn links_verify_only_unaltered_and_unexpired() {
        let files = Files::default();
        let (tenant, user) = (TenantId::new(), UserId::new());
        let link = files.link(tenant, user, "T1");
        let query: std::collections::HashMap<String, String> =
            serde_urlencoded_lite(link.split_once('?').unwrap().1);
        let e: i64 = query["e"].parse().unwrap();
        let ok = files.verify("T1", &query["t"], &query["u"], e, &query["s"]);
        assert_eq!(ok, Ok((tenant, user)));
        assert_eq!(
            files.verify("T2", &query["t"], &query["u"], e, &query["s"]),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            files.verify("T1", &query["t"], &query["u"], e + 1, &query["s"]),
            Err(LinkError::Invalid)
        );
        let other = UserId::new().to_string();
        assert_eq!(
            files.verify("T1", &query["t"], &other, e, &query["s"]),
            Err(LinkError::Invalid)
        );
        let past = crate::time::now().and_utc().timestamp() - 1;
        let stale = files.signature(tenant, user, "T1", past);
        assert_eq!(
            files.verify("T1", &query["t"], &query["u"], past, &stale),
            Err(LinkError::Expired)
        );
    }

    fn serde_urlencoded_lite(query: &str) -> std::collections::HashMap<String, String> {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

//! JSON Web Tokens. Switchyard issues HS256 access tokens signed with its own secret; tokens
//! of external identity providers are accepted when signed RS256 or EdDSA by a configured key
//! (PEM files or a JWKS file). Anything else (expired, wrong signature, `alg: none`, an
//! algorithm the key is not for, wrong issuer or audience) is UNAUTHENTICATED.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{
    Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode,
};
use serde::{Deserialize, Serialize};
use switchyard_kernel::{Error, TenantId, UserId};

/// How tokens are signed and checked.
#[derive(Debug, Clone)]
pub struct JwtSettings {
    /// HS256 secret for the tokens Switchyard issues (at least 32 bytes).
    pub secret: String,
    /// `iss` of Switchyard's own tokens.
    pub issuer: String,
    /// `aud` of Switchyard's own tokens.
    pub audience: String,
    /// PEM public keys (RSA or Ed25519) of external identity providers.
    pub public_key_files: Vec<PathBuf>,
    /// A JWKS file with the external providers' public keys.
    pub jwks_file: Option<PathBuf>,
    /// `iss` required on external tokens.
    pub external_issuer: Option<String>,
    /// `aud` required on external tokens.
    pub external_audience: Option<String>,
}

/// The claims Switchyard reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's ID (external tokens may instead carry `email`).
    pub sub: String,
    /// The tenant's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// The session (refresh-token family) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

struct ExternalKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Signing and verification keys.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    audience: String,
    external: Vec<ExternalKey>,
    external_issuer: Option<String>,
    external_audience: Option<String>,
}

impl JwtKeys {
    pub fn new(settings: &JwtSettings) -> anyhow::Result<JwtKeys> {
        anyhow::ensure!(
            settings.secret.len() >= 32,
            "the JWT secret must be at least 32 bytes long"
        );
        let mut external = Vec::new();
        for path in &settings.public_key_files {
            let pem = std::fs::read(path).map_err(|e| {
                anyhow::anyhow!("cannot read JWT public key {}: {e}", path.display())
            })?;
            let (algorithm, key) = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
                (Algorithm::RS256, key)
            } else if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
                (Algorithm::EdDSA, key)
            } else {
                anyhow::bail!(
                    "{} is neither an RSA nor an Ed25519 public key in PEM",
                    path.display()
                );
            };
            external.push(ExternalKey {
                kid: None,
                algorithm,
                key,
            });
        }
        if let Some(path) = &settings.jwks_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read JWKS {}: {e}", path.display()))?;
            let set: JwkSet = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not a JWKS: {e}", path.display()))?;
            for jwk in &set.keys {
                let algorithm = match &jwk.algorithm {
                    AlgorithmParameters::RSA(_) => Algorithm::RS256,
                    AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
                    _ => continue,
                };
                external.push(ExternalKey {
                    kid: jwk.common.key_id.clone(),
                    algorithm,
                    key: DecodingKey::from_jwk(jwk)?,
                });
            }
        }
        if !external.is_empty() {
            anyhow::ensure!(
                settings.external_issuer.is_some() && settings.external_audience.is_some(),
                "external JWT keys need SWITCHYARD_JWT_EXTERNAL_ISSUER and SWITCHYARD_JWT_EXTERNAL_AUDIENCE"
            );
        }
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(settings.secret.as_bytes()),
            decoding: DecodingKey::from_secret(settings.secret.as_bytes()),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            external,
            external_issuer: settings.external_issuer.clone(),
            external_audience: settings.external_audience.clone(),
        })
    }

    /// Issues an access token; returns it and its expiry.
    pub fn issue(
        &self,
        tenant: TenantId,
        user: UserId,
        session: &str,
        ttl: Duration,
    ) -> Result<(String, DateTime<Utc>), Error> {
        let now = Utc::now();
        let expires = now + chrono::Duration::from_std(ttl).map_err(Error::internal)?;
        let claims = Claims {
            sub: user.to_string(),
            tid: Some(tenant.to_string()),
            sid: Some(session.to_owned()),
            email: None,
            iat: now.timestamp(),
            exp: expires.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(Error::internal)?;
        Ok((token, expires))
    }

    /// Verifies a token and returns its claims, or UNAUTHENTICATED saying why in general terms.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        let invalid = || Error::unauthenticated("invalid access token");
        let header = decode_header(token).map_err(|_| invalid())?;
        let (key, issuer, audience) = match header.alg {
            Algorithm::HS256 => (&self.decoding, self.issuer.as_str(), self.audience.as_str()),
            Algorithm::RS256 | Algorithm::EdDSA => {
                let key = self
                    .external
                    .iter()
                    .filter(|k| k.algorithm == header.alg)
                    .find(|k| header.kid.is_none() || k.kid.is_none() || k.kid == header.kid)
                    .ok_or_else(invalid)?;
                (
                    &key.key,
                    self.external_issuer.as_deref().ok_or_else(invalid)?,
                    self.external_audience.as_deref().ok_or_else(invalid)?,
                )
            }
            _ => return Err(invalid()),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = 30;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Error::unauthenticated("access token expired")
                }
                _ => invalid(),
            })
    }
}

//! Password hashing (argon2id, OWASP parameters) and the strength rule.

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use switchyard_kernel::Error;

/// Hashes on the blocking pool: argon2id is deliberately slow.
pub async fn hash(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(anyhow::anyhow!("hashing failed: {e}")))
    })
    .await
    .map_err(Error::internal)?
}

/// Checks a password against a stored hash. A missing hash still costs one hash, so that
/// timing does not reveal whether an account exists.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || {
        let stored = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored)
            .map_err(|e| Error::internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && stored != DUMMY_HASH)
    })
    .await
    .map_err(Error::internal)?
}

/// The hash of a random password nobody knows, verified against when the account is missing.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c3dpdGNoeWFyZGR1bW15$3o9TqkUQ0Ez1mhtQLJGyn6DvVFUhWF1cN/5gLzw+9Vs";

const COMMON: &[&str] = &[
    "password",
    "password1",
    "password123",
    "123456789",
    "1234567890",
    "qwertyuiop",
    "iloveyou",
    "letmein123",
    "welcome123",
    "administrator",
    "changeme123",
    "switchyard",
    "qwerty123",
];

/// Why a password is too weak, or `None` when it is acceptable: at least 10 characters, at
/// most 256, not a common password, not the email, and either 16+ characters or three of
/// lower case, upper case, digits and symbols.
pub fn weakness(password: &str, email: &str) -> Option<&'static str> {
    let len = password.chars().count();
    if len < 10 {
        return Some("must be at least 10 characters long");
    }
    if len > 256 {
        return Some("must be at most 256 characters long");
    }
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Some("is too common");
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && lower.contains(&local) {
        return Some("must not contain your email address");
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .into_iter()
    .filter(|b| *b)
    .count();
    if len < 16 && classes < 3 {
        return Some("needs three of: lower case, upper case, digits, symbols (or 16+ characters)");
    }
    None
}

/// A random password that passes [`weakness`], for bootstrap and demo accounts.
pub fn generate() -> String {
    format!("Sy-{}-9", super::secrets::random_token(12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_rule() {
        assert!(weakness("short1A!", "a@b.co").is_some());
        assert!(weakness("password123", "a@b.co").is_some());
        assert!(weakness("alllowercaseletters", "a@b.co").is_none());
        assert!(weakness("abcdefghij", "a@b.co").is_some());
        assert!(weakness("Tr0ub4dour&3", "a@b.co").is_none());
        assert!(weakness("Annalisa-2024!", "annalisa@example.com").is_some());
        assert!(weakness(&generate(), "a@b.co").is_none());
    }

    #[tokio::test]
    async fn hashes_verify_and_the_dummy_never_matches() {
        let hashed = hash("Tr0ub4dour&3".into()).await.unwrap();
        assert!(
            verify("Tr0ub4dour&3".into(), Some(hashed.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong-Passw0rd".into(), Some(hashed)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
    }
}

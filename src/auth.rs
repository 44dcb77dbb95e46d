//! Bearer tokens for operators, agents and FAQ authors.
//!
//! Tokens are 256 random bits, shown once when created and stored only as
//! their SHA-256. They never appear in logs. The REST handlers learn who
//! calls them through `transport`'s `Caller` extractor.

use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::crm::{Credential, Role, Store, StoreError};
use crate::error::{Coded, ErrorCode};

/// A fresh random token with a readable prefix.
pub(crate) fn new_token() -> String {
    format!("fd_{}", hex::encode(random_bytes()))
}

pub(crate) fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not recoverable for a server that
    // must issue secrets.
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    bytes
}

/// Whether `signature` (hex) is the HMAC-SHA256 of `external_id` under
/// the site's identity `secret`: the host site's proof that the visitor
/// is its customer `external_id`. Compared in constant time.
pub(crate) fn identity_verified(secret: &str, external_id: &str, signature: &str) -> bool {
    use hmac::{Hmac, Mac};
    let Ok(signature) = hex::decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(external_id.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

pub(crate) fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Make sure an operator credential exists. A configured token replaces any
/// earlier one; without one, a token is generated on first start and
/// returned so the caller can show it once.
pub(crate) async fn bootstrap_operator(
    store: &Store,
    configured: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let operator = |name: &str| Credential {
        id: "operator".into(),
        role: Role::Operator,
        name: name.into(),
        created_at: Utc::now(),
    };
    if let Some(token) = configured {
        if store.credential(hash(token)).await?.is_none() {
            store.remove_credentials(Role::Operator).await?;
            store
                .put_credential(hash(token), operator("configured operator"))
                .await?;
        }
        return Ok(None);
    }
    if !store.credentials(Role::Operator).await?.is_empty() {
        return Ok(None);
    }
    let token = new_token();
    store
        .put_credential(hash(&token), operator("generated operator"))
        .await?;
    Ok(Some(token))
}

/// Issue a new token for an agent or author named `name`.
pub(crate) async fn issue(
    store: &Store,
    role: Role,
    name: String,
) -> Result<(Credential, String), StoreError> {
    let token = new_token();
    let credential = Credential {
        id: uuid::Uuid::new_v4().to_string(),
        role,
        name,
        created_at: Utc::now(),
    };
    store
        .put_credential(hash(&token), credential.clone())
        .await?;
    Ok((credential, token))
}

/// Why a presented token was not accepted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("the token is not valid")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Coded for AuthError {
    fn code(&self) -> ErrorCode {
        match self {
            AuthError::Invalid => ErrorCode::Unauthorized,
            AuthError::Store(e) => e.code(),
        }
    }
}

/// Look a presented token up.
pub(crate) async fn authenticate(store: &Store, token: &str) -> Result<Credential, AuthError> {
    store
        .credential(hash(token))
        .await?
        .ok_or(AuthError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_verified_only_with_the_right_signature() {
        use hmac::{Hmac, Mac};
        let secret = "site-secret-0123456789-0123456789";
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"shop-4711");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(identity_verified(secret, "shop-4711", &good));
        assert!(!identity_verified(secret, "shop-4712", &good));
        assert!(!identity_verified(
            "another-secret-0123456789-012345",
            "shop-4711",
            &good
        ));
        assert!(!identity_verified(secret, "shop-4711", "not hex"));
        assert!(!identity_verified(secret, "shop-4711", ""));
    }
}

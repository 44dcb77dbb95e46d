//! Bearer-token credentials, stored by the SHA-256 of the token so the
//! store never holds a usable secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store::{decode_record, encode_record, Store, StoreError};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// Runs the installation: everything, including creating other tokens.
    Operator,
    /// Answers customers from the console.
    Agent,
    /// Edits the FAQ.
    Author,
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Credential {
    /// The agent or author id; `operator` for the operator.
    pub id: String,
    pub role: Role,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Store a credential under its token hash. Durable on return.
    pub(crate) async fn put_credential(
        &self,
        token_hash: [u8; 32],
        credential: Credential,
    ) -> Result<(), StoreError> {
        self.blocking(move |s| {
            s.trees
                .credentials
                .insert(token_hash, encode_record("credential", &credential)?)?;
            Ok(())
        })
        .await?;
        self.durable().await
    }

    pub(crate) async fn credential(
        &self,
        token_hash: [u8; 32],
    ) -> Result<Option<Credential>, StoreError> {
        self.point(move |s| {
            s.trees
                .credentials
                .get(token_hash)?
                .map(|b| decode_record("credential", &b))
                .transpose()
        })
    }

    /// Every credential with `role`, oldest first.
    pub(crate) async fn credentials(&self, role: Role) -> Result<Vec<Credential>, StoreError> {
        self.blocking(move |s| {
            let mut out = Vec::new();
            for entry in s.trees.credentials.iter() {
                let c: Credential = decode_record("credential", &entry?.1)?;
                if c.role == role {
                    out.push(c);
                }
            }
            out.sort_by_key(|c| c.created_at);
            Ok(out)
        })
        .await
    }

    /// Remove every credential with `role` (used when the configured
    /// operator token replaces a generated one).
    pub(crate) async fn remove_credentials(&self, role: Role) -> Result<(), StoreError> {
        self.blocking(move |s| {
            for entry in s.trees.credentials.iter() {
                let (key, value) = entry?;
                if decode_record::<Credential>("credential", &value)?.role == role {
                    s.trees.credentials.remove(key)?;
                }
            }
            Ok(())
        })
        .await?;
        self.durable().await
    }
}

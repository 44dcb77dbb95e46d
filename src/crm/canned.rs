//! Canned replies: snippets the whole team shares and inserts in the
//! console with `/shortcut`. Team content, not customer data, so they are
//! stored as they are; each shortcut names one reply.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::store::{decode_record, encode_record, Store, StoreError};
use crate::input::CannedReply;

/// A canned reply as stored and listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Canned {
    pub id: String,
    pub shortcut: String,
    pub title: String,
    pub text: String,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// Every canned reply, by shortcut.
    pub(crate) async fn canned_replies(&self) -> Result<Vec<Canned>, StoreError> {
        self.blocking(|s| {
            let mut all = s
                .trees
                .canned
                .iter()
                .values()
                .map(|v| decode_record::<Canned>("canned reply", &v?))
                .collect::<Result<Vec<_>, _>>()?;
            all.sort_by(|a, b| a.shortcut.cmp(&b.shortcut));
            Ok(all)
        })
        .await
    }

    /// Store a new reply (`id` `None`) or replace reply `id`. Refused if
    /// another reply has the shortcut. Durable on return.
    pub(crate) async fn put_canned(
        &self,
        id: Option<String>,
        reply: CannedReply,
    ) -> Result<Canned, StoreError> {
        let canned = self
            .blocking(move |s| {
                let t = &s.trees;
                let old: Option<Canned> = match &id {
                    Some(id) => Some(
                        t.canned
                            .get(id.as_bytes())?
                            .map(|b| decode_record("canned reply", &b))
                            .transpose()?
                            .ok_or(StoreError::NotFound("canned reply"))?,
                    ),
                    None => None,
                };
                let canned = Canned {
                    id: id.unwrap_or_else(|| {
                        format!("cr_{}", hex::encode(&crate::auth::random_bytes()[..8]))
                    }),
                    shortcut: reply.shortcut,
                    title: reply.title,
                    text: reply.text,
                    updated_at: Utc::now(),
                };
                let bytes = encode_record("canned reply", &canned)?;
                let r = (&t.canned, &t.canned_shortcuts).transaction(|(replies, shortcuts)| {
                    if let Some(owner) = shortcuts.get(canned.shortcut.as_bytes())? {
                        if owner != canned.id.as_bytes() {
                            return Err(ConflictableTransactionError::Abort(()));
                        }
                    }
                    if let Some(old) = &old {
                        shortcuts.remove(old.shortcut.as_bytes())?;
                    }
                    shortcuts.insert(canned.shortcut.as_bytes(), canned.id.as_bytes())?;
                    replies.insert(canned.id.as_bytes(), bytes.as_slice())?;
                    Ok(())
                });
                match r {
                    Ok(()) => Ok(canned),
                    Err(TransactionError::Abort(())) => {
                        Err(StoreError::ShortcutTaken(canned.shortcut))
                    }
                    Err(TransactionError::Storage(e)) => Err(e.into()),
                }
            })
            .await?;
        self.durable().await?;
        Ok(canned)
    }

    /// Remove reply `id`. Durable on return.
    pub(crate) async fn delete_canned(&self, id: String) -> Result<(), StoreError> {
        self.blocking(move |s| {
            let t = &s.trees;
            let r = (&t.canned, &t.canned_shortcuts).transaction(|(replies, shortcuts)| {
                let Some(old) = replies.remove(id.as_bytes())? else {
                    return Err(ConflictableTransactionError::Abort(()));
                };
                let old: Canned = decode_record("canned reply", &old)
                    .map_err(|_| ConflictableTransactionError::Abort(()))?;
                shortcuts.remove(old.shortcut.as_bytes())?;
                Ok(())
            });
            match r {
                Ok(()) => Ok(()),
                Err(TransactionError::Abort(())) => Err(StoreError::NotFound("canned reply")),
                Err(TransactionError::Storage(e)) => Err(e.into()),
            }
        })
        .await?;
        self.durable().await
    }
}

//! The access audit: who read or removed which customer's data, and when.
//!
//! An entry names the actor (role, id, name), the action and the ids it
//! touched; never a customer's name, email or words. Entries are keyed by
//! time, so the log reads in order and pages by cursor.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credentials::{Credential, Role};
use super::model::{ConversationId, CustomerId};
use super::store::{decode_record, encode_record, Store, StoreError};

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Actor {
    pub role: Role,
    pub id: String,
    pub name: String,
}

impl From<&Credential> for Actor {
    fn from(c: &Credential) -> Self {
        Self {
            role: c.role,
            id: c.id.clone(),
            name: c.name.clone(),
        }
    }
}

impl Actor {
    /// The server itself (retention) or the command line.
    pub(crate) fn system(name: &str) -> Self {
        Self {
            role: Role::Operator,
            id: "system".into(),
            name: name.into(),
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AuditAction {
    /// `GET /v1/customers/{id}/timeline`.
    ReadTimeline,
    /// A transcript over REST, or a conversation opened in the console.
    ReadConversation,
    /// `GET /v1/customers/{id}/export` or `frontdesk customer export`.
    Export,
    /// A customer looked up by email or external id.
    Lookup,
    /// A conversation shown in transcript search results.
    Search,
    /// A customer erased on request.
    Erase,
    /// A customer erased by retention (inactive too long).
    RetentionErase,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<ConversationId>,
}

impl AuditEntry {
    pub(crate) fn new(actor: Actor, action: AuditAction) -> Self {
        Self {
            at: Utc::now(),
            actor,
            action,
            customer_id: None,
            conversation_id: None,
        }
    }

    pub(crate) fn customer(mut self, id: CustomerId) -> Self {
        self.customer_id = Some(id);
        self
    }

    pub(crate) fn conversation(mut self, id: ConversationId) -> Self {
        self.conversation_id = Some(id);
        self
    }
}

/// One page of the audit log, oldest first.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl Store {
    /// Record `entry`. Durable on return: the read it records happens
    /// only after.
    pub(crate) async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        self.audit_all(vec![entry]).await
    }

    /// Record `entries` with one wait for the disk.
    pub(crate) async fn audit_all(&self, entries: Vec<AuditEntry>) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        self.point(move |s| entries.iter().try_for_each(|e| s.audit_now(e)))?;
        self.durable().await
    }

    fn audit_now(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let mut key = (entry.at.timestamp_millis().max(0) as u64)
            .to_be_bytes()
            .to_vec();
        key.extend_from_slice(&crate::auth::random_bytes()[..8]);
        self.trees
            .audit
            .insert(key, encode_record("audit entry", entry)?)?;
        Ok(())
    }

    /// Entries after `cursor` (or from `since`), oldest first.
    pub(crate) async fn audit_log(
        &self,
        since: Option<DateTime<Utc>>,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<AuditPage, StoreError> {
        self.blocking(move |s| {
            let start = match cursor {
                Some(c) => {
                    let mut k = hex::decode(c).map_err(|_| StoreError::NotFound("cursor"))?;
                    k.push(0);
                    k
                }
                None => (since.map_or(0, |t| t.timestamp_millis().max(0)) as u64)
                    .to_be_bytes()
                    .to_vec(),
            };
            let mut entries = Vec::with_capacity(limit);
            let mut last = None;
            let mut next_cursor = None;
            for entry in s.trees.audit.range(start..) {
                let (key, bytes) = entry?;
                if entries.len() == limit {
                    next_cursor = last.map(hex::encode);
                    break;
                }
                entries.push(decode_record("audit entry", &bytes)?);
                last = Some(key.to_vec());
            }
            Ok(AuditPage {
                entries,
                next_cursor,
            })
        })
        .await
    }
}

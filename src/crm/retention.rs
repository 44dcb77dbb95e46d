//! What retention finds due: closed conversations and inactive customers
//! older than the configured ages. Removing them is `erase`'s job.

use chrono::{DateTime, Duration, Utc};

use super::conversations::EVENTS;
use super::model::*;
use super::store::{decode_record, Store, StoreError};

/// How long data is kept; `None` keeps it for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Ages {
    pub closed_conversations: Option<Duration>,
    pub inactive_customers: Option<Duration>,
}

/// Due for removal at one moment, at most a batch of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Due {
    pub conversations: Vec<ConversationId>,
    pub customers: Vec<CustomerId>,
}

impl Store {
    /// Up to `batch` closed conversations and `batch` customers that are
    /// due at `now`. A customer is inactive when the last thing that
    /// happened in any of their conversations (or their creation, if they
    /// have none) is older than the age.
    pub(crate) async fn retention_due(
        &self,
        now: DateTime<Utc>,
        ages: Ages,
        batch: usize,
    ) -> Result<Due, StoreError> {
        self.blocking(move |s| {
            let mut due = Due::default();
            if let Some(age) = ages.closed_conversations {
                let cutoff = now - age;
                for entry in s.trees.conversations.iter() {
                    if due.conversations.len() == batch {
                        break;
                    }
                    let c: Conversation = decode_record("conversation", &entry?.1)?;
                    if c.status == ConversationStatus::Closed
                        && c.closed_at.is_some_and(|at| at < cutoff)
                    {
                        due.conversations.push(c.id);
                    }
                }
            }
            if let Some(age) = ages.inactive_customers {
                let cutoff = now - age;
                for entry in s.trees.customers.iter() {
                    if due.customers.len() == batch {
                        break;
                    }
                    let (key, _) = entry?;
                    let Ok(id) = uuid::Uuid::from_slice(&key).map(CustomerId) else {
                        continue;
                    };
                    if s.last_activity_now(id)?.is_some_and(|at| at < cutoff) {
                        due.customers.push(id);
                    }
                }
            }
            Ok(due)
        })
        .await
    }

    /// Conversations still with the bot in which nothing has happened
    /// since `cutoff`, at most `batch`.
    pub(crate) async fn idle_bot_conversations(
        &self,
        cutoff: DateTime<Utc>,
        batch: usize,
    ) -> Result<Vec<ConversationId>, StoreError> {
        self.blocking(move |s| {
            let mut idle = Vec::new();
            for entry in s.trees.conversations.iter() {
                if idle.len() == batch {
                    break;
                }
                let c: Conversation = decode_record("conversation", &entry?.1)?;
                if c.status != ConversationStatus::Bot {
                    continue;
                }
                if let Some(entry) = s.trees.events.scan_prefix(c.id.as_bytes()).next_back() {
                    let (key, bytes) = entry?;
                    let last: Option<TimelineEvent> =
                        s.unseal("timeline event", EVENTS, &key, &bytes)?;
                    if last.is_some_and(|e| e.at < cutoff) {
                        idle.push(c.id);
                    }
                }
            }
            Ok(idle)
        })
        .await
    }

    /// When anything last happened for `customer`; `None` if they are
    /// already erased.
    fn last_activity_now(&self, customer: CustomerId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let Some(record) = self.customer_now(customer)? else {
            return Ok(None);
        };
        let mut last = record.created_at;
        for id in self.conversation_ids_now(customer)? {
            if let Some(entry) = self.trees.events.scan_prefix(id.as_bytes()).next_back() {
                let (key, bytes) = entry?;
                let event: Option<TimelineEvent> =
                    self.unseal("timeline event", EVENTS, &key, &bytes)?;
                if let Some(e) = event {
                    last = last.max(e.at);
                }
            }
        }
        Ok(Some(last))
    }

    /// Remove one conversation (retention). Durable on return.
    pub(crate) async fn delete_conversation(&self, id: ConversationId) -> Result<(), StoreError> {
        self.blocking(move |s| s.delete_conversation_now(id))
            .await?;
        self.durable().await
    }
}

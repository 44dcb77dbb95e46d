//! Conversation changes of hands: every transition of the state machine
//! bot → queued → agent → (bot | closed) is one transaction that updates
//! the header, appends its timeline events and keeps the `handoffs` index
//! (conversations `queued` or `agent`) in step.

use chrono::Utc;
use sled::Transactional;

use super::conversations::EVENTS;
use super::keys;
use super::model::*;
use super::store::{decode_record, Store, StoreError};
use super::tx::{abort, encode_tx, tx_try, unwrap_tx, TxResult};

/// A conversation after a change, with the events the change recorded
/// (none when it was already in the asked state).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Updated {
    pub conversation: Conversation,
    pub events: Vec<TimelineEvent>,
}

impl Updated {
    /// Whether anything changed.
    pub(crate) fn changed(&self) -> bool {
        !self.events.is_empty()
    }
}

impl Store {
    /// Apply `change` to a conversation's header in one transaction. The
    /// closure gets the current header to modify and returns the events
    /// to record, or refuses with its own error `E`; returning no events
    /// leaves everything as it was (a repeated transition is a no-op).
    /// Durable on return.
    pub(crate) async fn update_conversation<E, F>(
        &self,
        id: ConversationId,
        change: F,
    ) -> Result<Updated, E>
    where
        E: From<StoreError> + Send + 'static,
        F: Fn(&mut Conversation) -> Result<Vec<EventKind>, E> + Send + 'static,
    {
        let updated = self.point(move |s| {
            let t = &s.trees;
            let trees = (&t.conversations, &t.events, &t.handoffs);
            let r = trees.transaction(|(convs, events, handoffs)| {
                let Some(bytes) = convs.get(id.as_bytes())? else {
                    return abort(StoreError::NotFound("conversation"));
                };
                let mut conv: Conversation = match decode_record("conversation", &bytes) {
                    Ok(c) => c,
                    Err(e) => return abort::<_, E>(e),
                };
                let kinds = match change(&mut conv) {
                    Ok(k) => k,
                    Err(e) => return abort(e),
                };
                if kinds.is_empty() {
                    return Ok(Updated {
                        conversation: conv,
                        events: Vec::new(),
                    });
                }
                let at = Utc::now();
                let mut recorded = Vec::with_capacity(kinds.len());
                for kind in kinds {
                    if matches!(kind, EventKind::ConversationClosed { .. }) {
                        conv.closed_at = Some(at);
                    }
                    let event = TimelineEvent {
                        conversation_id: id,
                        at,
                        kind,
                    };
                    let (event_key, sealed) = s.seal_event(&conv, conv.events, &event);
                    events.insert(&event_key[..], tx_try::<_, E>(sealed)?)?;
                    conv.events += 1;
                    recorded.push(event);
                }
                match conv.status {
                    ConversationStatus::Queued | ConversationStatus::Agent => {
                        handoffs.insert(&id.as_bytes()[..], &[][..])?;
                    }
                    ConversationStatus::Bot | ConversationStatus::Closed => {
                        handoffs.remove(&id.as_bytes()[..])?;
                    }
                }
                convs.insert(
                    &id.as_bytes()[..],
                    encode_tx::<_, E>("conversation", &conv)?,
                )?;
                TxResult::<_, E>::Ok(Updated {
                    conversation: conv,
                    events: recorded,
                })
            });
            Ok(unwrap_tx(r))
        })??;
        if updated.changed() {
            self.durable().await?;
        }
        Ok(updated)
    }

    /// Every conversation that is `queued` or `agent`.
    pub(crate) async fn handoffs(&self) -> Result<Vec<Conversation>, StoreError> {
        self.blocking(|s| {
            let mut out = Vec::new();
            for entry in s.trees.handoffs.iter() {
                let (key, _) = entry?;
                if let Some(id) = keys::conversation_of(&key) {
                    match s.conversation_now(id) {
                        Ok(c) => out.push(c),
                        Err(StoreError::NotFound(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    /// The last `n` events of a conversation, oldest first.
    pub(crate) async fn recent_events(
        &self,
        id: ConversationId,
        n: usize,
    ) -> Result<Vec<TimelineEvent>, StoreError> {
        self.point(move |s| {
            let mut out = Vec::with_capacity(n);
            for entry in s.trees.events.scan_prefix(id.as_bytes()).rev().take(n) {
                let (key, bytes) = entry?;
                out.extend(s.unseal("timeline event", EVENTS, &key, &bytes)?);
            }
            out.reverse();
            Ok(out)
        })
    }
}

//! Conversations and their timeline events.

use chrono::Utc;
use sled::Transactional;

use super::keys;
use super::model::*;
use super::store::{decode_record, encode_record, Store, StoreError};
use super::tx::{abort, encode_tx, tx_try, unwrap_tx, TxResult};

/// The name sealed events are bound to.
pub(super) const EVENTS: &str = "events";

/// The result of appending a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Appended {
    /// Newly stored.
    New(Message),
    /// The `client_id` was stored before; this is the original message.
    Duplicate(Message),
}

impl Appended {
    pub(crate) fn message(&self) -> &Message {
        match self {
            Appended::New(m) | Appended::Duplicate(m) => m,
        }
    }
}

/// One page of the conversation list, newest first.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ConversationPage {
    pub conversations: Vec<Conversation>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl Store {
    /// Open a new conversation for `customer`; `resume_hash` is the hash of
    /// the resume token handed to the client. Durable on return.
    pub(crate) async fn open_conversation(
        &self,
        id: ConversationId,
        customer: CustomerId,
        resume_hash: [u8; 32],
    ) -> Result<Conversation, StoreError> {
        let conversation = self.point(move |s| {
            let now = Utc::now();
            let conversation = Conversation::new(id, customer, now);
            let opened = TimelineEvent {
                conversation_id: id,
                at: now,
                kind: EventKind::ConversationOpened,
            };
            let t = &s.trees;
            let millis = now.timestamp_millis();
            let trees = (
                &t.conversations,
                &t.events,
                &t.resume_tokens,
                &t.conversations_by_time,
                &t.customer_conversations,
                &t.conversation_resume,
            );
            let conversation_bytes = encode_record("conversation", &conversation)?;
            let opened_key = keys::conversation_seq(id, 0);
            let opened_bytes = s.seal("timeline event", customer, EVENTS, &opened_key, &opened)?;
            let r =
                trees.transaction(|(convs, events, resume, by_time, by_customer, resume_of)| {
                    convs.insert(&id.as_bytes()[..], conversation_bytes.as_slice())?;
                    events.insert(&opened_key[..], opened_bytes.as_slice())?;
                    resume.insert(&resume_hash[..], &id.as_bytes()[..])?;
                    resume_of.insert(&id.as_bytes()[..], &resume_hash[..])?;
                    by_time.insert(&keys::by_time(millis, id)[..], &[][..])?;
                    by_customer.insert(
                        &keys::customer_conversation(customer, millis, id)[..],
                        &[][..],
                    )?;
                    TxResult::Ok(())
                });
            unwrap_tx::<_, StoreError>(r)?;
            Ok(conversation)
        })?;
        self.durable().await?;
        Ok(conversation)
    }

    pub(crate) async fn conversation(
        &self,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        self.point(move |s| s.conversation_now(id))
    }

    pub(super) fn conversation_now(&self, id: ConversationId) -> Result<Conversation, StoreError> {
        let bytes = self
            .trees
            .conversations
            .get(id.as_bytes())?
            .ok_or(StoreError::NotFound("conversation"))?;
        decode_record("conversation", &bytes)
    }

    /// The conversation a resume token (by its hash) belongs to.
    pub(crate) async fn conversation_by_resume(
        &self,
        resume_hash: [u8; 32],
    ) -> Result<Option<Conversation>, StoreError> {
        self.point(move |s| match s.trees.resume_tokens.get(resume_hash)? {
            Some(id) => {
                let id = keys::conversation_of(&id).ok_or(StoreError::Corrupt {
                    what: "resume token",
                    message: "bad conversation id".into(),
                })?;
                s.conversation_now(id).map(Some)
            }
            None => Ok(None),
        })
    }

    /// Append a message with the next `seq`, once per `client_id`.
    /// Durable on return.
    pub(crate) async fn append_message(
        &self,
        id: ConversationId,
        message: NewMessage,
    ) -> Result<Appended, StoreError> {
        let appended = self.point(move |s| s.append_message_now(id, message))?;
        self.durable().await?;
        Ok(appended)
    }

    fn append_message_now(
        &self,
        id: ConversationId,
        new: NewMessage,
    ) -> Result<Appended, StoreError> {
        let t = &self.trees;
        let client_key = new.client_id.as_deref().map(|c| match &new.agent {
            Some(agent) => keys::agent_client_id(id, &agent.id, c),
            None => keys::client_id(id, c),
        });
        let trees = (&t.conversations, &t.events, &t.messages, &t.client_ids);
        let r = trees.transaction(|(convs, events, messages, client_ids)| {
            if let Some(key) = &client_key {
                if let Some(seq) = client_ids.get(key)? {
                    return Ok(Err(keys::u64_value(&seq).unwrap_or(0)));
                }
            }
            let Some(bytes) = convs.get(id.as_bytes())? else {
                return abort(StoreError::NotFound("conversation"));
            };
            let mut conv: Conversation = match decode_record("conversation", &bytes) {
                Ok(c) => c,
                Err(e) => return abort(e),
            };
            if let Err(e) = may_speak(&conv, &new) {
                return abort(e);
            }
            conv.last_seq += 1;
            let event_no = conv.events;
            conv.events += 1;
            let message = Message {
                seq: conv.last_seq,
                from: new.from,
                text: new.text.clone(),
                at: Utc::now(),
                client_id: new.client_id.clone(),
                agent_id: new.agent.as_ref().map(|a| a.id.clone()),
                agent_name: new.agent.as_ref().map(|a| a.name.clone()),
                suggestions: new.suggestions.clone(),
                faq_id: new.faq_id.clone(),
                reason: new.reason.clone(),
                analysis: new.analysis.clone(),
            };
            let event = TimelineEvent {
                conversation_id: id,
                at: message.at,
                kind: EventKind::Message {
                    message: message.clone(),
                },
            };
            let (event_key, sealed) = self.seal_event(&conv, event_no, &event);
            events.insert(&event_key[..], tx_try::<_, StoreError>(sealed)?)?;
            messages.insert(
                &keys::conversation_seq(id, message.seq)[..],
                &event_no.to_be_bytes()[..],
            )?;
            if let Some(key) = &client_key {
                client_ids.insert(key.as_slice(), &message.seq.to_be_bytes()[..])?;
            }
            convs.insert(&id.as_bytes()[..], encode_tx("conversation", &conv)?)?;
            TxResult::Ok(Ok(message))
        });
        match unwrap_tx::<_, StoreError>(r)? {
            Ok(message) => Ok(Appended::New(message)),
            Err(seq) => {
                let message = self.message_now(id, seq)?.ok_or(StoreError::Corrupt {
                    what: "message index",
                    message: format!("client id points at missing seq {seq}"),
                })?;
                Ok(Appended::Duplicate(message))
            }
        }
    }

    /// Append an event that changes nothing else (feedback, rating, a
    /// note). Durable on return.
    pub(crate) async fn record_event(
        &self,
        id: ConversationId,
        kind: EventKind,
    ) -> Result<TimelineEvent, StoreError> {
        let updated = self
            .update_conversation(id, move |_| Ok::<_, StoreError>(vec![kind.clone()]))
            .await?;
        updated
            .events
            .into_iter()
            .next()
            .ok_or(StoreError::NotFound("event"))
    }

    /// One message by `seq`.
    pub(crate) async fn message(
        &self,
        id: ConversationId,
        seq: u64,
    ) -> Result<Option<Message>, StoreError> {
        self.point(move |s| s.message_now(id, seq))
    }

    fn message_now(&self, id: ConversationId, seq: u64) -> Result<Option<Message>, StoreError> {
        let t = &self.trees;
        let Some(event_no) = t.messages.get(keys::conversation_seq(id, seq))? else {
            return Ok(None);
        };
        let event_no = keys::u64_value(&event_no).unwrap_or(u64::MAX);
        let Some(event) = self.event_now(id, event_no)? else {
            return Ok(None);
        };
        match event.kind {
            EventKind::Message { message: m } => Ok(Some(m)),
            _ => Err(StoreError::Corrupt {
                what: "message index",
                message: format!("seq {seq} does not point at a message"),
            }),
        }
    }

    /// Up to `limit` messages with `seq > after`, in order.
    pub(crate) async fn messages_after(
        &self,
        id: ConversationId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.point(move |s| {
            let t = &s.trees;
            let start = keys::conversation_seq(id, after.saturating_add(1));
            let end = keys::conversation_seq(id, u64::MAX);
            let mut out = Vec::new();
            for entry in t.messages.range(start..=end).take(limit) {
                let (_, event_no) = entry?;
                let event_no = keys::u64_value(&event_no).unwrap_or(u64::MAX);
                if let Some(TimelineEvent {
                    kind: EventKind::Message { message: m },
                    ..
                }) = s.event_now(id, event_no)?
                {
                    out.push(m);
                }
            }
            Ok(out)
        })
    }

    /// Every event of one conversation, in the order they happened.
    pub(crate) async fn conversation_events(
        &self,
        id: ConversationId,
    ) -> Result<Vec<TimelineEvent>, StoreError> {
        self.blocking(move |s| s.events_now(id)).await
    }

    pub(super) fn events_now(&self, id: ConversationId) -> Result<Vec<TimelineEvent>, StoreError> {
        let mut out = Vec::new();
        for entry in self.trees.events.scan_prefix(id.as_bytes()) {
            let (key, bytes) = entry?;
            out.extend(self.unseal("timeline event", EVENTS, &key, &bytes)?);
        }
        Ok(out)
    }

    /// The key and the sealed bytes of event `n` of `conv`.
    pub(super) fn seal_event(
        &self,
        conv: &Conversation,
        n: u64,
        event: &TimelineEvent,
    ) -> ([u8; 24], Result<Vec<u8>, StoreError>) {
        let key = keys::conversation_seq(conv.id, n);
        let sealed = self.seal("timeline event", conv.customer_id, EVENTS, &key, event);
        (key, sealed)
    }

    /// Event `n` of a conversation; `None` if absent or erased.
    fn event_now(&self, id: ConversationId, n: u64) -> Result<Option<TimelineEvent>, StoreError> {
        let key = keys::conversation_seq(id, n);
        match self.trees.events.get(key)? {
            Some(bytes) => self.unseal("timeline event", EVENTS, &key, &bytes),
            None => Ok(None),
        }
    }

    /// A customer's whole timeline across conversations, oldest first.
    pub(crate) async fn timeline(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<TimelineEvent>, StoreError> {
        self.blocking(move |s| {
            if !s.trees.customers.contains_key(customer.as_bytes())? || !s.keys.has(customer) {
                return Err(StoreError::NotFound("customer"));
            }
            let mut out = Vec::new();
            for entry in s
                .trees
                .customer_conversations
                .scan_prefix(customer.as_bytes())
            {
                let (key, _) = entry?;
                if let Some(id) = keys::conversation_of(&key) {
                    out.extend(s.events_now(id)?);
                }
            }
            out.sort_by_key(|e| e.at);
            Ok(out)
        })
        .await
    }

    /// Conversations newest first, `limit` at a time.
    pub(crate) async fn list_conversations(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<ConversationPage, StoreError> {
        self.blocking(move |s| {
            let t = &s.trees;
            let end = match cursor {
                Some(c) => hex::decode(c).map_err(|_| StoreError::NotFound("cursor"))?,
                None => vec![0xff; 25],
            };
            let mut conversations = Vec::with_capacity(limit);
            let mut next_cursor = None;
            for entry in t.conversations_by_time.range(..end).rev() {
                let (key, _) = entry?;
                if conversations.len() == limit {
                    next_cursor = Some(hex::encode(conversations_last_key(&conversations)));
                    break;
                }
                if let Some(id) = keys::conversation_of(&key) {
                    conversations.push(s.conversation_now(id)?);
                }
            }
            Ok(ConversationPage {
                conversations,
                next_cursor,
            })
        })
        .await
    }
}

/// Whether `new` may be added to `conv`: nobody speaks in a closed
/// conversation, the bot only while it owns the conversation, an agent
/// only in a conversation assigned to them.
fn may_speak(conv: &Conversation, new: &NewMessage) -> Result<(), StoreError> {
    if conv.status == ConversationStatus::Closed {
        return Err(StoreError::Closed);
    }
    match new.from {
        Sender::Bot if conv.status != ConversationStatus::Bot => Err(StoreError::BotNotInCharge),
        Sender::Agent => match (&conv.assigned, &new.agent) {
            (Some(owner), Some(agent))
                if conv.status == ConversationStatus::Agent && owner.id == agent.id =>
            {
                Ok(())
            }
            _ => Err(StoreError::NotAssigned),
        },
        _ => Ok(()),
    }
}

fn conversations_last_key(page: &[Conversation]) -> Vec<u8> {
    page.last()
        .map(|c| keys::by_time(c.opened_at.timestamp_millis(), c.id).to_vec())
        .unwrap_or_default()
}

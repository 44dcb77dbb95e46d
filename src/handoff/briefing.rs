//! What an agent gets when they open a conversation: the transcript with
//! each customer message's analysis, why it escalated, the notes, a
//! summary of the customer's history, and suggested replies.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::config::BotPolicy;
use crate::crm::{
    AgentRef, Conversation, ConversationId, Customer, Escalation, EventKind, Message, Sender,
    Store, StoreError, TimelineEvent,
};
use crate::faq::{Faq, FaqCandidate};
use crate::nlu::multilingual;
use crate::nlu::Understanding;
use crate::turn::understand::{across_languages, retrieve, Across};

/// Suggested replies offered to the agent.
const SUGGESTIONS: usize = 3;
/// Customer messages the suggestions are drawn from.
const SUGGESTION_SOURCES: usize = 3;
/// Earlier conversations listed in the summary.
const PREVIOUS: usize = 5;

/// Where the suggested replies come from: the FAQ searched with the
/// recent customer messages, and the lowest confidence worth showing.
pub(crate) struct Suggester<'a> {
    pub faq: &'a Faq,
    pub understanding: &'a Understanding,
    /// Which confidence is worth suggesting (`bot.suggestion_confidence`).
    pub policy: &'a BotPolicy,
}

#[derive(Debug, Clone)]
pub(crate) struct Briefing {
    pub conversation: Conversation,
    pub customer: Customer,
    pub messages: Vec<Message>,
    /// The latest escalation, also after the conversation went back to
    /// the bot.
    pub escalation: Option<Escalation>,
    pub notes: Vec<NoteView>,
    pub timeline: TimelineSummary,
    pub suggestions: Vec<SuggestedReply>,
}

#[derive(Debug, Clone)]
pub(crate) struct NoteView {
    pub agent_id: String,
    pub agent_name: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// The customer's history across conversations.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimelineSummary {
    pub conversations: usize,
    pub escalations: usize,
    pub ratings: usize,
    pub average_rating: Option<f32>,
    pub first_seen: Option<DateTime<Utc>>,
    /// The most recent other conversations, newest first.
    pub previous: Vec<PastConversation>,
}

#[derive(Debug, Clone)]
pub(crate) struct PastConversation {
    pub conversation_id: ConversationId,
    pub opened_at: DateTime<Utc>,
    pub messages: usize,
    pub escalated: bool,
    pub closed: bool,
    pub rating: Option<u8>,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SuggestedReply {
    pub faq_id: String,
    pub question: String,
    pub answer: String,
    pub confidence: f32,
}

/// Gather the briefing of conversation `id`.
pub(crate) async fn brief(
    store: &Store,
    suggester: &Suggester<'_>,
    id: ConversationId,
) -> Result<Briefing, StoreError> {
    let conversation = store.conversation(id).await?;
    let customer = store.customer(conversation.customer_id).await?;
    let events = store.conversation_events(id).await?;
    let history = store.timeline(customer.id).await?;
    let mut messages = Vec::new();
    let mut notes = Vec::new();
    let mut escalation = None;
    for e in events {
        match e.kind {
            EventKind::Message { message } => messages.push(message),
            EventKind::Note {
                agent: AgentRef { id, name },
                text,
            } => notes.push(NoteView {
                agent_id: id,
                agent_name: name,
                text,
                at: e.at,
            }),
            EventKind::Escalated { escalation: x } => escalation = Some(x),
            _ => {}
        }
    }
    let suggestions = suggester.suggest(&messages).await;
    Ok(Briefing {
        timeline: summarise(&history, id),
        conversation,
        customer,
        messages,
        escalation,
        notes,
        suggestions,
    })
}

impl Suggester<'_> {
    /// The FAQ entries that answer what the customer has been asking: the
    /// last few customer messages searched as one text (newest first, so
    /// a long conversation loses its oldest words to the model's length
    /// limit), ranked by the calibrated confidence, none below the floor.
    /// A complaint spread over several messages ("still nothing", "the
    /// tent was meant for Friday") finds its topic this way, where each
    /// message alone may not. Messages in one of the multilingual model's
    /// languages are searched with it, as the bot searched them. Busy
    /// models leave keyword search alone.
    async fn suggest(&self, messages: &[Message]) -> Vec<SuggestedReply> {
        let recent: Vec<&str> = messages
            .iter()
            .rev()
            .filter(|m| m.from == Sender::Customer)
            .take(SUGGESTION_SOURCES)
            .map(|m| m.text.as_str())
            .collect();
        if recent.is_empty() {
            return Vec::new();
        }
        let text = recent.join("\n");
        let language = crate::nlu::language::detect(&text);
        if language.as_deref().is_some_and(multilingual::answers_in) {
            match across_languages(self.understanding, self.faq, &text).await {
                Ok(Some(Across { candidates, .. })) => return self.offer(candidates),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "suggested replies in English"),
            }
        }
        // Only the embedding ranks the entries: no intent or sentiment.
        let embedding = match self.understanding.nlu.encode(text.clone()).await {
            Ok((embedding, _)) => Some(embedding),
            Err(e) => {
                tracing::warn!(error = %e, "suggested replies by keywords only");
                None
            }
        };
        let found = match retrieve(self.faq, &text, None, embedding).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "no suggested replies");
                return Vec::new();
            }
        };
        self.offer(found.candidates)
    }

    /// The candidates worth suggesting, best first.
    fn offer(&self, candidates: Vec<FaqCandidate>) -> Vec<SuggestedReply> {
        candidates
            .into_iter()
            .filter(|c| self.policy.suggests(c.confidence))
            .take(SUGGESTIONS)
            .map(|c| SuggestedReply {
                faq_id: c.id,
                question: c.question,
                answer: c.answer,
                confidence: c.confidence,
            })
            .collect()
    }
}

/// Summarise a customer's timeline, leaving out conversation `current`.
fn summarise(events: &[TimelineEvent], current: ConversationId) -> TimelineSummary {
    let mut by_conversation: BTreeMap<ConversationId, PastConversation> = BTreeMap::new();
    let mut escalations = 0;
    for e in events {
        let past = by_conversation
            .entry(e.conversation_id)
            .or_insert(PastConversation {
                conversation_id: e.conversation_id,
                opened_at: e.at,
                messages: 0,
                escalated: false,
                closed: false,
                rating: None,
                resolution: None,
            });
        match &e.kind {
            EventKind::ConversationOpened => past.opened_at = e.at,
            EventKind::Message { .. } => past.messages += 1,
            EventKind::Escalated { .. } => {
                past.escalated = true;
                escalations += 1;
            }
            // The last rating of a conversation is the one that counts.
            EventKind::Rating { score, .. } => past.rating = Some(*score),
            EventKind::ConversationClosed { resolution, .. } => {
                past.closed = true;
                past.resolution = resolution.clone();
            }
            _ => {}
        }
    }
    let first_seen = by_conversation.values().map(|p| p.opened_at).min();
    let ratings: Vec<f32> = by_conversation
        .values()
        .filter_map(|p| p.rating.map(f32::from))
        .collect();
    let conversations = by_conversation.len();
    let mut previous: Vec<PastConversation> = by_conversation
        .into_values()
        .filter(|p| p.conversation_id != current)
        .collect();
    previous.sort_by_key(|p| std::cmp::Reverse(p.opened_at));
    previous.truncate(PREVIOUS);
    TimelineSummary {
        conversations,
        escalations,
        ratings: ratings.len(),
        average_rating: (!ratings.is_empty())
            .then(|| ratings.iter().sum::<f32>() / ratings.len() as f32),
        first_seen,
        previous,
    }
}

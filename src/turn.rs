//! One customer turn, the hot path: store the message, acknowledge it,
//! then let the bot retrieve, decide and answer.
//!
//! The caller holds the room's turn lock, so the bot's reply always
//! follows the message it answers. Every step that a client is told about
//! is durable first.

use std::time::Instant;

use crate::app::AppState;
use crate::crm::{
    Appended, ConversationId, ConversationStatus, Message, NewMessage, Sender, StoreError,
};
use crate::dialogue::{self, Decision, FaqCandidate, TurnInput};
use crate::faq::ScoredEntry;
use crate::protocol::ServerFrame;
use crate::room::Room;

/// FAQ candidates fetched per turn.
const CANDIDATES: usize = 5;

/// Store a customer message; publish it if new. The caller acks with the
/// returned message's `seq`.
pub async fn record_customer_message(
    state: &AppState,
    room: &Room,
    client_id: String,
    text: String,
) -> Result<Appended, StoreError> {
    let started = Instant::now();
    let appended = state
        .store
        .append_message(room.id, NewMessage::customer(client_id, text))
        .await?;
    if let Appended::New(m) = &appended {
        room.publish(&ServerFrame::message(m));
        tracing::debug!(
            seq = m.seq,
            store_ms = started.elapsed().as_millis() as u64,
            "customer message stored"
        );
    }
    Ok(appended)
}

/// The bot's answer to `customer_text`, stored and published. Does
/// nothing unless the bot owns the conversation.
pub async fn bot_reply(
    state: &AppState,
    room: &Room,
    customer_text: &str,
) -> Result<Option<Message>, TurnError> {
    let conversation = state.store.conversation(room.id).await?;
    if conversation.status != ConversationStatus::Bot {
        return Ok(None);
    }
    room.publish(&ServerFrame::Typing { from: Sender::Bot });

    let started = Instant::now();
    let found = state
        .faq
        .search(customer_text.to_owned(), CANDIDATES)
        .await
        .map_err(|e| TurnError::Faq(e.to_string()))?;
    let search_ms = started.elapsed().as_millis() as u64;
    let candidates = candidates(&found);
    let decision = dialogue::decide(&TurnInput { faq: &candidates }, &state.config.bot);
    tracing::info!(reason = decision.reason(), search_ms, "bot decided");

    let reply = match decision {
        Decision::Answer { faq_id, text, .. } => NewMessage {
            faq_id: Some(faq_id),
            ..NewMessage::bot(text)
        },
        Decision::Clarify { text, suggestions } => NewMessage {
            suggestions,
            ..NewMessage::bot(text)
        },
    };
    let stored = store_bot_message(state, room.id, reply).await?;
    room.publish(&ServerFrame::message(&stored));
    Ok(Some(stored))
}

async fn store_bot_message(
    state: &AppState,
    id: ConversationId,
    m: NewMessage,
) -> Result<Message, StoreError> {
    Ok(state.store.append_message(id, m).await?.message().clone())
}

/// BM25 score at which the absolute part of the confidence is 0.5.
pub const FAQ_SCORE_HALF: f32 = 6.0;

/// Turn BM25 hits (best first) into candidates with a 0..1 confidence.
///
/// BM25 scores are unbounded and say nothing about ambiguity: "account"
/// scores the same for three account questions. The confidence is the
/// score squashed to 0..1, times a factor for the lead over the next hit,
/// so a hit that barely beats its neighbour is offered as a suggestion
/// rather than answered.
fn candidates(found: &[ScoredEntry]) -> Vec<FaqCandidate> {
    found
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let absolute = s.score / (s.score + FAQ_SCORE_HALF);
            let lead = match found.get(i + 1) {
                Some(next) if s.score > 0.0 => (s.score - next.score) / s.score,
                _ => 0.5,
            };
            FaqCandidate {
                id: s.entry.id.clone(),
                question: s.entry.question.clone(),
                answer: s.entry.answer.clone(),
                confidence: absolute * (0.5 + lead).min(1.0),
            }
        })
        .collect()
}

/// Why the bot could not answer.
#[derive(Debug, thiserror::Error)]
pub enum TurnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("FAQ search failed: {0}")]
    Faq(String),
}

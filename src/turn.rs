//! One customer turn, the hot path: understand the message, store it with
//! its analysis, acknowledge it, then let the bot decide, answer and,
//! when the escalation rules say so, hand the conversation to a person.
//!
//! The caller holds the room's turn lock, so the bot's reply always
//! follows the message it answers. Every step that a client is told about
//! is durable first. If the models are busy or down the message is still
//! stored and acknowledged, without analysis, and the bot falls back to
//! BM25 retrieval.

use std::time::Instant;

use crate::app::AppState;
use crate::crm::{
    Appended, ConversationStatus, FaqScore, Message, MessageAnalysis, NewMessage, Sender,
    StoreError,
};
use crate::dialogue::escalation::{self, History, IntentSignal, TurnSignals};
use crate::dialogue::{self, Decision, FaqCandidate, IntentCandidate, TurnInput};
use crate::faq::{hybrid_score, FaqError, ScoredEntry, BM25_HALF};
use crate::handoff::HandoffError;
use crate::nlu::Analysis;
use crate::room::Room;

/// FAQ candidates fetched per turn.
const CANDIDATES: usize = 5;
/// FAQ scores kept with the message in the timeline.
const STORED_SCORES: usize = 3;

/// What a turn learned about a customer message before storing it.
#[derive(Debug, Clone)]
pub struct Understood {
    pub analysis: Option<Analysis>,
    pub faq: Vec<ScoredEntry>,
    pub candidates: Vec<FaqCandidate>,
}

impl Understood {
    /// The FAQ scores kept with the message, best first.
    pub fn scores(&self) -> Vec<FaqScore> {
        self.faq
            .iter()
            .zip(&self.candidates)
            .take(STORED_SCORES)
            .map(|(s, c)| FaqScore {
                id: s.entry.id.clone(),
                bm25: s.score,
                similarity: s.similarity,
                confidence: c.confidence,
            })
            .collect()
    }

    /// The analysis as stored with the message.
    pub fn stored(&self) -> Option<MessageAnalysis> {
        self.analysis.as_ref().map(|a| MessageAnalysis {
            sentiment: a.sentiment,
            intent: a.intent.clone(),
            faq: self.scores(),
        })
    }
}

/// Run the models and the FAQ search over `text`. Busy or failing models
/// are logged and leave the analysis empty; the FAQ search then ranks by
/// BM25 alone.
pub async fn understand(state: &AppState, text: &str) -> Result<Understood, FaqError> {
    let started = Instant::now();
    let analyzed = match state.understanding.analyze(text).await {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::warn!(error = %e, "message analysis unavailable");
            None
        }
    };
    let infer_ms = started.elapsed().as_millis() as u64;
    let (analysis, embedding) = analyzed.unzip();
    let understood = retrieve(state, text, analysis, embedding).await?;
    tracing::debug!(
        infer_ms,
        search_ms = started.elapsed().as_millis() as u64 - infer_ms,
        "message understood"
    );
    Ok(understood)
}

/// The FAQ search for `text`, re-ranked by meaning when its embedding is
/// there.
pub async fn retrieve(
    state: &AppState,
    text: &str,
    analysis: Option<Analysis>,
    embedding: Option<Vec<f32>>,
) -> Result<Understood, FaqError> {
    let faq = state
        .faq
        .search_hybrid(text.to_owned(), embedding, CANDIDATES)
        .await?;
    let candidates = candidates(&faq);
    Ok(Understood {
        analysis,
        faq,
        candidates,
    })
}

/// Store a customer message with its analysis; publish it if new. The
/// caller acks with the returned message's `seq`.
pub async fn record_customer_message(
    state: &AppState,
    room: &Room,
    client_id: String,
    text: String,
    understood: &Understood,
) -> Result<Appended, StoreError> {
    let message = NewMessage::customer(client_id, text, understood.stored());
    let appended = state.store.append_message(room.id, message).await?;
    if let Appended::New(m) = &appended {
        room.message(m);
    }
    Ok(appended)
}

/// The bot's answer to `customer` (the message just stored), and the
/// escalation it may trigger. Does nothing but keep the queue's sentiment
/// current unless the bot owns the conversation.
pub async fn bot_reply(
    state: &AppState,
    room: &Room,
    customer: &Message,
    understood: &Understood,
) -> Result<Option<Message>, StoreError> {
    let conversation = state.store.conversation(room.id).await?;
    if conversation.status != ConversationStatus::Bot {
        state.handoff.customer_said(room.id, customer).await;
        return Ok(None);
    }
    room.typing(Sender::Bot);
    let analysis = understood.analysis.as_ref();
    let intent = analysis.and_then(|a| {
        let name = a.intent.name.as_deref()?;
        Some((a, state.understanding.intents.get(name)?))
    });
    let input = TurnInput {
        faq: &understood.candidates,
        intent: intent.map(|(a, def)| IntentCandidate {
            name: &def.name,
            confidence: a.intent.confidence,
            responses: &def.responses,
            needs_human: def.escalate || def.handoff,
        }),
    };
    let decision = dialogue::decide(&input, &state.config.bot);
    let policy = &state.config.escalation;
    let history = History::from_events(
        &state
            .store
            .recent_events(room.id, policy.history_events())
            .await?,
        customer.seq,
    );
    let signals = TurnSignals {
        sentiment: analysis.map(|a| a.sentiment),
        intent: intent.map(|(a, def)| IntentSignal {
            name: &def.name,
            confidence: a.intent.confidence,
            handoff: def.handoff,
            escalate: def.escalate,
        }),
        resolved: matches!(decision, Decision::Answer { .. } | Decision::Intent { .. }),
    };
    let trigger = escalation::assess(&history, &signals, policy);
    tracing::info!(
        reason = decision.reason(),
        escalation = trigger.as_ref().map(|t| t.code.as_str()),
        "bot decided"
    );
    // Escalating, the bot still gives a confident answer but not an
    // unsure one: the person who takes over will.
    let reason = decision.reason();
    let reply = match decision {
        Decision::Answer { faq_id, text, .. } => Some(NewMessage {
            faq_id: Some(faq_id),
            ..NewMessage::bot(text, reason)
        }),
        Decision::Intent { text, .. } => Some(NewMessage::bot(text, reason)),
        Decision::Clarify { .. } if trigger.is_some() => None,
        Decision::Clarify { text, suggestions } => Some(NewMessage {
            suggestions,
            ..NewMessage::bot(text, reason)
        }),
    };
    let mut stored = None;
    if let Some(reply) = reply {
        match state.store.append_message(room.id, reply).await {
            Ok(appended) => {
                let m = appended.message().clone();
                room.message(&m);
                stored = Some(m);
            }
            // An agent took over while the bot was thinking: it stays quiet.
            Err(StoreError::Conflict(_)) => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    if let Some(trigger) = trigger {
        let sentiment = analysis.map(|a| a.sentiment);
        match state.handoff.escalate(room.id, trigger, sentiment).await {
            Ok(_) => {}
            Err(HandoffError::Store(e)) => return Err(e),
            Err(HandoffError::Refused(m)) => tracing::warn!(message = %m, "escalation refused"),
        }
    }
    Ok(stored)
}

/// Ranking score at which the semantic confidence starts to rise, and the
/// width of the rise to 1.
const SCORE_FLOOR: f32 = 0.4;
const SCORE_SPAN: f32 = 0.4;
/// How much a lead over the next entry counts: a lead of 0.1 in ranking
/// score gives full confidence.
const LEAD_WEIGHT: f32 = 5.0;

/// Turn search hits (best first) into candidates with a 0..1 confidence.
///
/// With embeddings the confidence comes from the hybrid ranking score
/// (cosine similarity plus a little BM25); without, BM25 is squashed to
/// 0..1. Either is scaled down when the next entry is nearly as close, so
/// an ambiguous question is offered as suggestions rather than answered.
pub fn candidates(found: &[ScoredEntry]) -> Vec<FaqCandidate> {
    let rank = |s: &ScoredEntry| match s.similarity {
        Some(_) => hybrid_score(s.score, s.similarity),
        None => s.score / (s.score + BM25_HALF),
    };
    found
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let own = match s.similarity {
                Some(_) => ((rank(s) - SCORE_FLOOR) / SCORE_SPAN).clamp(0.0, 1.0),
                None => rank(s),
            };
            let lead = match found.get(i + 1) {
                Some(next) => ((rank(s) - rank(next)) * LEAD_WEIGHT).max(0.0),
                None => 0.5,
            };
            FaqCandidate {
                id: s.entry.id.clone(),
                question: s.entry.question.clone(),
                answer: s.entry.answer.clone(),
                confidence: own * (0.5 + lead).min(1.0),
            }
        })
        .collect()
}

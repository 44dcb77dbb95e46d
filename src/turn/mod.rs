//! One customer turn, the hot path, from the message the socket parsed to
//! the bot's reply, in the order it happens:
//!
//! 1. [`Turn::begin`] takes the conversation's turn lock, understands the
//!    message ([`understand`]: the models and the FAQ search), and stores
//!    it, masked (`privacy::redact`), with its analysis. The caller acknowledges it with
//!    [`Turn::seq`]: the message is durable by then.
//! 2. [`Turn::finish`] does the rest: a message left for the team with an
//!    email is recorded as such; otherwise, while the bot owns the
//!    conversation, [`plan`] decides the reply and any escalation from the
//!    conversation's history and what the intents say about escalating
//!    ([`IntentSignals`]), and the turn stores the reply, publishes it
//!    and hands the conversation to the queue if it must.
//!
//! The lock is held from begin to finish, so the bot's reply always
//! follows the message it answers and the turns of one conversation never
//! interleave. If the models are busy or down the message is still stored
//! and acknowledged, without analysis, and the bot falls back to BM25.

mod plan;
mod signals;
pub(crate) mod understand;

use std::sync::Arc;

use tokio::sync::OwnedMutexGuard;

use crate::app::AppState;
use crate::crm::{
    Appended, ConversationId, ConversationStatus, EventKind, Message, NewMessage, Sender,
    StoreError,
};
use crate::dialogue::escalation::History;
use crate::error::{Coded, ErrorCode};
use crate::faq::FaqError;
use crate::handoff::HandoffError;
use crate::input::{ClientId, Email, MessageText};
use crate::privacy::redact::redact;
use crate::room::Room;

pub(crate) use plan::{plan, Plan};
pub(crate) use signals::IntentSignals;
pub(crate) use understand::{retrieve, understand, Understood};

/// Why a turn stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TurnError {
    /// The message was not stored: the conversation is closed.
    #[error("this conversation is closed; start a new one")]
    Closed,
    /// The message was not stored: the FAQ search failed.
    #[error(transparent)]
    Search(#[from] FaqError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The message is stored but the bot could not answer it.
    #[error("the assistant cannot answer right now; please try again")]
    NoReply(#[source] StoreError),
}

impl Coded for TurnError {
    fn code(&self) -> ErrorCode {
        match self {
            TurnError::Closed => ErrorCode::Conflict,
            TurnError::Search(e) => e.code(),
            TurnError::Store(e) => e.code(),
            TurnError::NoReply(_) => ErrorCode::Unavailable,
        }
    }
}

/// A customer message, checked at the edge.
#[derive(Debug, Clone)]
pub(crate) struct CustomerMessage {
    pub client_id: ClientId,
    pub text: MessageText,
    /// Left for the team while nobody is online: the email to answer to.
    pub contact: Option<Email>,
}

/// A turn between storing the customer's message and the bot's reply.
pub(crate) struct Turn {
    state: AppState,
    room: Arc<Room>,
    /// The room's turn lock, held until the turn is finished.
    _lock: OwnedMutexGuard<()>,
    understood: Understood,
    appended: Appended,
    contact: Option<Email>,
}

impl Turn {
    /// Take the room's turn, understand `said` and store it. The message is
    /// durable on return; acknowledge it with [`Turn::seq`].
    pub(crate) async fn begin(
        state: &AppState,
        room: Arc<Room>,
        said: CustomerMessage,
    ) -> Result<Turn, TurnError> {
        let lock = room.turn.clone().lock_owned().await;
        let understood = understand(
            &state.understanding,
            &state.faq,
            said.text.as_str(),
            room.language(),
        )
        .await?;
        if let Some(language) = &understood.language {
            room.set_language(language);
        }
        // The models saw the original; what is kept is masked.
        let text = redact(said.text.as_str(), state.config.redaction).into_owned();
        let message = NewMessage::customer(said.client_id.into_string(), text, understood.stored());
        let appended = match state.store.append_message(room.id, message).await {
            Ok(a) => a,
            Err(StoreError::Closed) => return Err(TurnError::Closed),
            Err(e) => return Err(e.into()),
        };
        if let Appended::New(m) = &appended {
            room.message(m);
        }
        Ok(Turn {
            state: state.clone(),
            room,
            _lock: lock,
            understood,
            appended,
            contact: said.contact,
        })
    }

    /// The stored message's `seq`, for the ack.
    pub(crate) fn seq(&self) -> u64 {
        self.appended.message().seq
    }

    /// Record a message left for the team, or let the bot answer.
    pub(crate) async fn finish(self) -> Result<(), TurnError> {
        let id = self.room.id;
        if let Some(email) = &self.contact {
            if let Appended::New(m) = &self.appended {
                self.record_contact(id, email.clone(), m.seq).await?;
                self.state.handoff.said(id, m).await;
            }
            return Ok(());
        }
        let message = match &self.appended {
            Appended::New(m) => m,
            // A resend is answered again only if the bot never answered it
            // (the server stopped between the ack and the reply).
            Appended::Duplicate(m) => {
                let unanswered =
                    matches!(self.state.store.conversation(id).await, Ok(c) if c.last_seq == m.seq);
                if !unanswered {
                    return Ok(());
                }
                m
            }
        };
        self.reply(message).await.map_err(|e| {
            tracing::error!(error = %e, "bot turn failed");
            TurnError::NoReply(e)
        })
    }

    async fn record_contact(
        &self,
        id: ConversationId,
        email: Email,
        seq: u64,
    ) -> Result<(), StoreError> {
        let store = &self.state.store;
        let email = email.into_string();
        let conversation = store.conversation(id).await?;
        store
            .set_customer_email(conversation.customer_id, email.clone())
            .await?;
        store
            .record_event(id, EventKind::ContactLeft { email, seq })
            .await?;
        tracing::info!("contact details left");
        Ok(())
    }

    /// The bot's answer to `customer` and the escalation it may raise.
    /// Only keeps the queue's sentiment current unless the bot owns the
    /// conversation.
    async fn reply(&self, customer: &Message) -> Result<(), StoreError> {
        let (state, room) = (&self.state, &self.room);
        let conversation = state.store.conversation(room.id).await?;
        if conversation.status != ConversationStatus::Bot {
            state.handoff.said(room.id, customer).await;
            return Ok(());
        }
        room.typing(Sender::Bot);
        let policy = &state.config.escalation;
        let history = History::from_events(
            &state
                .store
                .recent_events(room.id, policy.history_events())
                .await?,
            customer.seq,
        );
        let intents = &state.understanding.intents;
        let intent = self
            .understood
            .analysis
            .as_ref()
            .and_then(|a| intents.get(a.intent.name.as_deref()?));
        let escalating = IntentSignals::read(
            &customer.text,
            &self.understood,
            &history,
            |name| intents.get(name),
            policy,
        );
        let plan = plan(
            &customer.text,
            &self.understood,
            intent,
            escalating,
            &history,
            &state.config.bot,
            policy,
        );
        tracing::info!(
            reason = plan.reason,
            escalation = plan.escalation.as_ref().map(|t| t.code.as_str()),
            "bot decided"
        );
        self.apply(plan).await
    }

    /// Store and publish the planned reply, then escalate.
    async fn apply(&self, plan: Plan) -> Result<(), StoreError> {
        let (state, room) = (&self.state, &self.room);
        if let Some(reply) = plan.reply {
            match state.store.append_message(room.id, reply).await {
                Ok(appended) => room.message(appended.message()),
                // An agent took over while the bot was thinking: it stays quiet.
                Err(StoreError::BotNotInCharge) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        if let Some(trigger) = plan.escalation {
            let sentiment = self.understood.analysis.as_ref().map(|a| a.sentiment);
            match state.handoff.escalate(room.id, trigger, sentiment).await {
                Ok(_) => {}
                Err(HandoffError::Store(e)) => return Err(e),
                Err(HandoffError::Refused(r)) => {
                    tracing::warn!(refusal = %r, "escalation refused")
                }
            }
        }
        Ok(())
    }
}

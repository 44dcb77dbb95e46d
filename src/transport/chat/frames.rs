//! What the customer socket does with each protocol frame: open or resume
//! a conversation, run a turn, record feedback, ratings and closing.

use super::{render, ChatSession, Joined, Pending};
use crate::auth;
use crate::crm::{Conversation, ConversationId, CustomerProfile, EventKind, Sender, StoreError};
use crate::error::{ApiError, ErrorCode};
use crate::input::{self, ClientId, Email, InputError, MessageText, Rating};
use crate::protocol::{ClientFrame, HelloCustomer, ServerFrame};
use crate::transport::socket::{About, Flow, Line};
use crate::turn::{CustomerMessage, Turn, TurnError};

impl ChatSession {
    pub(super) async fn on_frame(&mut self, line: &mut Line, frame: ClientFrame) -> Flow {
        if self.joined.is_none() {
            return match frame {
                ClientFrame::Hello {
                    resume_token,
                    last_seq,
                    customer,
                } => {
                    self.on_hello(line, resume_token, last_seq, customer.unwrap_or_default())
                        .await
                }
                _ => line.reject(
                    ApiError::bad_request("the first frame must be hello"),
                    About::default(),
                ),
            };
        }
        match frame {
            ClientFrame::Hello { .. } => line.reject(
                ApiError::new(ErrorCode::Conflict, "hello was already received"),
                About::default(),
            ),
            ClientFrame::Message { client_id, text } => {
                self.on_message(line, client_id, text, None).await
            }
            ClientFrame::Contact {
                client_id,
                email,
                text,
            } => self.on_message(line, client_id, text, Some(email)).await,
            ClientFrame::Typing => {
                if let Some(j) = &self.joined {
                    j.room.typing(Sender::Customer);
                }
                line.accepted()
            }
            ClientFrame::Feedback { seq, helpful } => self.on_feedback(line, seq, helpful).await,
            ClientFrame::Rating { score, comment } => self.on_rating(line, score, comment).await,
            ClientFrame::Close => self.on_close(line).await,
        }
    }

    async fn on_hello(
        &mut self,
        line: &mut Line,
        resume_token: Option<String>,
        last_seq: Option<u64>,
        customer: HelloCustomer,
    ) -> Flow {
        let customer = match clean_customer(customer) {
            Ok(c) => c,
            Err(e) => return line.reject(e, About::default()),
        };
        let profile = self.profile(customer);
        let store = &self.state.store;
        let resumed = match resume_token {
            Some(token) if token.len() <= 128 => {
                match store.conversation_by_resume(auth::hash(&token)).await {
                    Ok(found) => found.map(|c| (c, token)),
                    Err(e) => return line.error(e, About::default()),
                }
            }
            _ => None,
        };
        let is_resumed = resumed.is_some();
        let mut pending = None;
        let (conversation, token) = match resumed {
            Some(found) => found,
            None => {
                if !self.state.conversation_starts.allow(self.peer) {
                    tracing::info!(reason = "conversation_rate", "new conversation refused");
                    return line.reject(
                        ApiError::new(
                            ErrorCode::RateLimited,
                            "too many new conversations from this address; wait a minute and try again",
                        ),
                        About::default(),
                    );
                }
                // Stored with the first message: a visitor who only opens
                // the widget costs no storage.
                let token = format!("rt_{}", hex::encode(auth::random_bytes()));
                let known = match &profile.external_id {
                    Some(ext) => match store.customer_by_external(ext.clone()).await {
                        Ok(found) => found,
                        Err(e) => return line.error(e, About::default()),
                    },
                    None => None,
                };
                let conversation = Conversation::new(
                    ConversationId::new(),
                    known.unwrap_or_default(),
                    chrono::Utc::now(),
                );
                pending = Some(Pending {
                    profile,
                    resume_hash: auth::hash(&token),
                });
                (conversation, token)
            }
        };
        tracing::Span::current()
            .record("conversation_id", tracing::field::display(conversation.id));
        tracing::info!(resumed = is_resumed, "chat joined");
        let room = self.state.hub.join(conversation.id);
        let events = room.subscribe();
        self.joined = Some(Joined {
            room,
            events,
            last_sent: last_seq.unwrap_or(0).min(conversation.last_seq),
            customer_id: conversation.customer_id,
            pending,
        });
        line.accepted();
        let welcome = ServerFrame::Welcome {
            conversation_id: conversation.id,
            customer_id: conversation.customer_id,
            resume_token: token,
            resumed: is_resumed,
            status: conversation.status,
            disclosure: self.state.config.bot.disclosure.clone(),
            availability: self.state.handoff.availability().await.into(),
        };
        let flow = line.send_json(welcome.to_json());
        if !flow.goes_on() {
            return flow;
        }
        let flow = self.replay(line).await;
        if !flow.goes_on() {
            return flow;
        }
        match self.state.handoff.standing(&conversation).await {
            Some(standing) => {
                let language = self.joined.as_ref().and_then(|j| j.room.language());
                line.send_json(render::standing(&standing, language).to_json())
            }
            None => Flow::Continue,
        }
    }

    /// The customer record `hello` asks for: linked to the host site's
    /// customer only if the site signed their `external_id`; otherwise
    /// anonymous, so nobody can reach someone else's record by naming
    /// their id.
    fn profile(&self, customer: HelloCustomer) -> CustomerProfile {
        let secret = self.state.config.identity_secret.as_deref();
        let external_id = match (&customer.external_id, &customer.signature, secret) {
            (Some(id), Some(signature), Some(secret))
                if auth::identity_verified(secret, id, signature) =>
            {
                Some(id.clone())
            }
            (Some(_), _, _) => {
                tracing::info!(reason = "unverified_identity", "customer joins anonymously");
                None
            }
            (None, _, _) => None,
        };
        CustomerProfile {
            external_id,
            name: customer.name,
            email: customer.email,
        }
    }

    /// A customer message (with `email`: one left for the team while
    /// nobody is online): check it, run the turn, ack once it is stored.
    async fn on_message(
        &mut self,
        line: &mut Line,
        client_id: String,
        text: String,
        email: Option<String>,
    ) -> Flow {
        let client_id = match ClientId::parse(client_id) {
            Ok(id) => id,
            Err(e) => return line.reject(e, About::default()),
        };
        let about = About::message(client_id.as_ref());
        let contact = match email.as_deref().map(Email::parse).transpose() {
            Ok(c) => c,
            Err(e) => return line.reject(e, about),
        };
        let max = self.state.config.limits.max_message_chars;
        let text = match MessageText::parse(&text, max) {
            Ok(t) => t,
            Err(e) => return line.reject(e, about),
        };
        let Some(room) = self.joined.as_ref().map(|j| j.room.clone()) else {
            return Flow::Continue;
        };
        if let Err(e) = self.open_pending().await {
            return line.error(e, about);
        }
        let said = CustomerMessage {
            client_id: client_id.clone(),
            text,
            contact,
        };
        let turn = match Turn::begin(&self.state, room, said).await {
            Ok(t) => t,
            Err(e @ TurnError::Closed) => return line.reject(e, about),
            Err(e) => return line.error(e, about),
        };
        line.accepted();
        let ack = ServerFrame::Ack {
            client_id: client_id.into_string(),
            seq: turn.seq(),
        };
        let flow = line.send_json(ack.to_json());
        if !flow.goes_on() {
            return flow;
        }
        match turn.finish().await {
            Ok(()) => Flow::Continue,
            Err(e) => line.error(e, About::default()),
        }
    }

    /// Store the conversation `hello` opened, with its customer, if this
    /// is its first message.
    async fn open_pending(&mut self) -> Result<(), StoreError> {
        let Some(joined) = &mut self.joined else {
            return Ok(());
        };
        let Some(pending) = joined.pending.take() else {
            return Ok(());
        };
        let store = &self.state.store;
        let id = joined.room.id;
        let customer_id = joined.customer_id;
        let opened = async {
            let customer = store
                .upsert_customer(pending.profile.clone(), customer_id)
                .await?;
            store
                .open_conversation(id, customer.id, pending.resume_hash)
                .await
        };
        if let Err(e) = opened.await {
            joined.pending = Some(pending);
            return Err(e);
        }
        Ok(())
    }

    /// Whether the conversation is not stored yet (no message so far).
    fn unopened(&self) -> bool {
        self.joined.as_ref().is_some_and(|j| j.pending.is_some())
    }

    async fn on_feedback(&mut self, line: &mut Line, seq: u64, helpful: bool) -> Flow {
        let Some(id) = self.joined.as_ref().map(|j| j.room.id) else {
            return Flow::Continue;
        };
        let store = &self.state.store;
        match store.message(id, seq).await {
            Ok(Some(m)) if m.from == Sender::Bot => {}
            Ok(_) => {
                return line.reject(
                    ApiError::not_found(format!("there is no bot message with seq {seq}")),
                    About::default(),
                )
            }
            Err(e) => return line.error(e, About::default()),
        }
        match store
            .record_event(id, EventKind::Feedback { seq, helpful })
            .await
        {
            Ok(_) => line.accepted(),
            Err(e) => line.error(e, About::default()),
        }
    }

    async fn on_rating(&mut self, line: &mut Line, score: u8, comment: Option<String>) -> Flow {
        let rating = match Rating::parse(score, comment) {
            Ok(r) => r,
            Err(e) => return line.reject(e, About::default()),
        };
        if self.unopened() {
            return line.reject(
                ApiError::bad_request("there is nothing to rate yet; send a message first"),
                About::default(),
            );
        }
        let Some(id) = self.joined.as_ref().map(|j| j.room.id) else {
            return Flow::Continue;
        };
        let event = EventKind::Rating {
            score: rating.score,
            comment: rating.comment,
        };
        match self.state.store.record_event(id, event).await {
            Ok(_) => line.accepted(),
            Err(e) => line.error(e, About::default()),
        }
    }

    async fn on_close(&mut self, line: &mut Line) -> Flow {
        let Some(room) = self.joined.as_ref().map(|j| j.room.clone()) else {
            return Flow::Continue;
        };
        // Nothing was said: there is nothing to store, and a new `hello`
        // starts afresh.
        if self.unopened() {
            return line.send_json(render::closed().to_json());
        }
        let _turn = room.turn.lock().await;
        let closed = self
            .state
            .handoff
            .close(room.id, Sender::Customer, None, None)
            .await;
        match closed {
            Ok(u) if u.changed() => {
                tracing::info!("conversation closed by the customer");
                line.accepted()
            }
            // Closing twice is not an error; tell this socket again.
            Ok(_) => line.send_json(render::closed().to_json()),
            Err(e) => line.error(e, About::default()),
        }
    }
}

/// The customer's profile fields, checked and cleaned.
fn clean_customer(c: HelloCustomer) -> Result<HelloCustomer, InputError> {
    Ok(HelloCustomer {
        external_id: input::profile_field(c.external_id)?,
        name: input::profile_field(c.name)?,
        email: input::profile_field(c.email)?,
        signature: c.signature,
    })
}

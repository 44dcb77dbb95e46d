//! What the customer socket does with each protocol frame after `hello`
//! checks: open or resume a conversation, run a turn, record feedback,
//! ratings and closing.

use super::{Connection, Joined};
use crate::auth;
use crate::crm::{Appended, ConversationStatus, CustomerProfile, EventKind, Sender, StoreError};
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{self, ServerFrame};
use crate::transport::socket::Flow;
use crate::turn;

const MAX_PROFILE_FIELD: usize = 254;
const MAX_COMMENT: usize = 2000;

impl Connection {
    pub(super) async fn on_hello(
        &mut self,
        resume_token: Option<String>,
        last_seq: Option<u64>,
        profile: CustomerProfile,
    ) -> Flow {
        let too_long = [&profile.external_id, &profile.name, &profile.email]
            .into_iter()
            .flatten()
            .any(|f| f.chars().count() > MAX_PROFILE_FIELD);
        if too_long {
            return self.reject(
                ApiError::bad_request(format!(
                    "customer fields are limited to {MAX_PROFILE_FIELD} characters"
                )),
                None,
            );
        }
        let store = &self.state.store;
        let resumed = match resume_token {
            Some(token) if token.len() <= 128 => {
                match store.conversation_by_resume(auth::hash(&token)).await {
                    Ok(found) => found.map(|c| (c, token)),
                    Err(e) => return self.send(&ServerFrame::error(e.into(), None)),
                }
            }
            _ => None,
        };
        let is_resumed = resumed.is_some();
        let (conversation, token) = match resumed {
            Some(found) => found,
            None => {
                let token = format!("rt_{}", hex::encode(auth::random_bytes()));
                let opened = async {
                    let customer = store.upsert_customer(profile).await?;
                    store
                        .open_conversation(customer.id, auth::hash(&token))
                        .await
                };
                match opened.await {
                    Ok(c) => (c, token),
                    Err(e) => return self.send(&ServerFrame::error(e.into(), None)),
                }
            }
        };
        tracing::Span::current()
            .record("conversation_id", tracing::field::display(conversation.id));
        tracing::info!(resumed = is_resumed, "chat joined");
        let room = self.state.hub.join(conversation.id);
        let events = room.subscribe();
        let last_sent = last_seq.unwrap_or(0).min(conversation.last_seq);
        self.joined = Some(Joined {
            room,
            events,
            last_sent,
        });
        self.strikes = 0;
        let welcome = ServerFrame::Welcome {
            conversation_id: conversation.id,
            customer_id: conversation.customer_id,
            resume_token: token,
            resumed: is_resumed,
            status: conversation.status,
        };
        if let f @ (Flow::Close(..) | Flow::Drop) = self.send(&welcome) {
            return f;
        }
        if let f @ (Flow::Close(..) | Flow::Drop) = self.replay().await {
            return f;
        }
        match self.state.handoff.status_for(&conversation).await {
            Some(status) => self.send(&status),
            None => Flow::Continue,
        }
    }

    pub(super) async fn on_message(&mut self, client_id: String, text: String) -> Flow {
        self.customer_turn(client_id, text, None).await
    }

    /// Leave an email and a message for the team (offered while no agent
    /// is online): a customer message, the email on the customer record
    /// and a `contact_left` event; the bot does not answer it.
    pub(super) async fn on_contact(
        &mut self,
        client_id: String,
        email: String,
        text: String,
    ) -> Flow {
        if !protocol::valid_client_id(&client_id) {
            return self.reject(
                ApiError::bad_request("client_id must be 1-64 printable characters"),
                None,
            );
        }
        let email = email.trim().to_owned();
        let plausible = email.chars().count() <= MAX_PROFILE_FIELD
            && email
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
            && !email.chars().any(char::is_whitespace);
        if !plausible {
            return self.reject(
                ApiError::bad_request("the email address does not look valid"),
                Some(client_id),
            );
        }
        self.customer_turn(client_id, text, Some(email)).await
    }

    async fn customer_turn(
        &mut self,
        client_id: String,
        text: String,
        contact: Option<String>,
    ) -> Flow {
        if !protocol::valid_client_id(&client_id) {
            return self.reject(
                ApiError::bad_request("client_id must be 1-64 printable characters"),
                None,
            );
        }
        let text = text.trim().to_owned();
        if text.is_empty() {
            return self.reject(
                ApiError::bad_request("the message text is empty"),
                Some(client_id),
            );
        }
        let max = self.state.config.limits.max_message_chars;
        if text.chars().count() > max {
            return self.reject(
                ApiError::new(
                    ErrorCode::TooLarge,
                    format!("messages are limited to {max} characters"),
                ),
                Some(client_id),
            );
        }
        let Some(room) = self.joined.as_ref().map(|j| j.room.clone()) else {
            return Flow::Continue;
        };
        let _turn = room.turn.lock().await;
        let understood = match turn::understand(&self.state, &text).await {
            Ok(u) => u,
            Err(e) => return self.send(&ServerFrame::error(e.into(), Some(client_id))),
        };
        let appended = match turn::record_customer_message(
            &self.state,
            &room,
            client_id.clone(),
            text,
            &understood,
        )
        .await
        {
            Ok(a) => a,
            Err(StoreError::Closed) => {
                return self.reject(
                    ApiError::new(
                        ErrorCode::Conflict,
                        "this conversation is closed; start a new one",
                    ),
                    Some(client_id),
                )
            }
            Err(e) => return self.send(&ServerFrame::error(e.into(), Some(client_id))),
        };
        self.strikes = 0;
        let seq = appended.message().seq;
        if let f @ (Flow::Close(..) | Flow::Drop) = self.send(&ServerFrame::Ack { client_id, seq })
        {
            return f;
        }
        if let Some(email) = contact {
            if let Appended::New(m) = &appended {
                if let Err(e) = self.record_contact(room.id, email, m.seq).await {
                    return self.send(&ServerFrame::error(e.into(), None));
                }
                self.state.handoff.customer_said(room.id, m).await;
            }
            return Flow::Continue;
        }
        if let Appended::Duplicate(m) = &appended {
            // A resend is answered again only if the bot never answered it
            // (the server stopped between the ack and the reply).
            let unanswered = matches!(self.state.store.conversation(room.id).await, Ok(c) if c.last_seq == m.seq);
            if !unanswered {
                return Flow::Continue;
            }
        }
        match turn::bot_reply(&self.state, &room, appended.message(), &understood).await {
            Ok(_) => Flow::Continue,
            Err(e) => {
                tracing::error!(error = %e, "bot turn failed");
                self.send(&ServerFrame::error(
                    ApiError::new(
                        ErrorCode::Unavailable,
                        "the assistant cannot answer right now; please try again",
                    ),
                    None,
                ))
            }
        }
    }

    async fn record_contact(
        &self,
        id: crate::crm::ConversationId,
        email: String,
        seq: u64,
    ) -> Result<(), StoreError> {
        let store = &self.state.store;
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

    pub(super) async fn on_feedback(&mut self, seq: u64, helpful: bool) -> Flow {
        let Some(id) = self.joined.as_ref().map(|j| j.room.id) else {
            return Flow::Continue;
        };
        let store = &self.state.store;
        match store.message(id, seq).await {
            Ok(Some(m)) if m.from == Sender::Bot => {}
            Ok(_) => {
                return self.reject(
                    ApiError::not_found(format!("there is no bot message with seq {seq}")),
                    None,
                )
            }
            Err(e) => return self.send(&ServerFrame::error(e.into(), None)),
        }
        match store
            .record_event(id, EventKind::Feedback { seq, helpful })
            .await
        {
            Ok(_) => self.accepted(),
            Err(e) => self.send(&ServerFrame::error(e.into(), None)),
        }
    }

    pub(super) async fn on_rating(&mut self, score: u8, comment: Option<String>) -> Flow {
        if !(1..=5).contains(&score) {
            return self.reject(ApiError::bad_request("score must be 1 to 5"), None);
        }
        let comment = comment
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() > MAX_COMMENT)
        {
            return self.reject(
                ApiError::new(
                    ErrorCode::TooLarge,
                    format!("comments are limited to {MAX_COMMENT} characters"),
                ),
                None,
            );
        }
        let Some(id) = self.joined.as_ref().map(|j| j.room.id) else {
            return Flow::Continue;
        };
        match self
            .state
            .store
            .record_event(id, EventKind::Rating { score, comment })
            .await
        {
            Ok(_) => self.accepted(),
            Err(e) => self.send(&ServerFrame::error(e.into(), None)),
        }
    }

    pub(super) async fn on_close(&mut self) -> Flow {
        let Some(room) = self.joined.as_ref().map(|j| j.room.clone()) else {
            return Flow::Continue;
        };
        let _turn = room.turn.lock().await;
        let closed = self
            .state
            .handoff
            .close(room.id, Sender::Customer, None, None)
            .await;
        match closed {
            Ok(u) if u.changed() => {
                tracing::info!("conversation closed by the customer");
                self.accepted()
            }
            // Closing twice is not an error; tell this socket again.
            Ok(_) => self.send(&ServerFrame::Status {
                status: ConversationStatus::Closed,
                position: None,
                reason: None,
                agent_name: None,
                agents_online: None,
            }),
            Err(e) => self.send(&ServerFrame::error(e.into(), None)),
        }
    }
}

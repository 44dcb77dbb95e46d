//! What the agent socket does with each frame after signing in.

use axum::extract::ws::close_code;

use super::AgentConnection;
use crate::auth;
use crate::crm::{
    AgentRef, Appended, ConversationId, ConversationStatus, NewMessage, Role, Sender,
};
use crate::error::{ApiError, ErrorCode};
use crate::protocol::agent::{AgentClientFrame, AgentServerFrame};
use crate::protocol::valid_client_id;
use crate::transport::socket::Flow;

/// Longest note or resolution, in characters.
const MAX_NOTE: usize = 2000;

impl AgentConnection {
    pub(super) async fn on_hello(&mut self, token: String) -> Flow {
        let credential = match auth::authenticate(&self.state.store, token.trim()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(reason = "token", "agent sign-in refused");
                let _ = self.send(&AgentServerFrame::error(e, None, None));
                return Flow::Close(close_code::POLICY, "unauthorized");
            }
        };
        if !matches!(credential.role, Role::Agent | Role::Operator) {
            tracing::info!(reason = "role", "agent sign-in refused");
            let _ = self.send(&AgentServerFrame::error(
                ApiError::new(
                    ErrorCode::Forbidden,
                    "only agent and operator tokens may open the agent console",
                ),
                None,
                None,
            ));
            return Flow::Close(close_code::POLICY, "forbidden");
        }
        let agent = AgentRef {
            id: credential.id,
            name: credential.name,
        };
        tracing::Span::current().record("agent_id", tracing::field::display(&agent.id));
        tracing::info!("agent signed in");
        let handoff = self.state.handoff.clone();
        handoff.connect(&agent).await;
        let welcome = AgentServerFrame::Welcome {
            agent_id: agent.id.clone(),
            agent_name: agent.name.clone(),
            presence: handoff.presence(&agent.id).await,
            capacity: handoff.settings().agent_capacity,
        };
        self.agent = Some(agent);
        let mut queue = handoff.subscribe();
        queue.mark_changed();
        self.queue = Some(queue);
        self.strikes = 0;
        match self.send(&welcome) {
            Flow::Continue => self.send_queue(),
            other => other,
        }
    }

    pub(super) async fn on_frame(&mut self, agent: AgentRef, frame: AgentClientFrame) -> Flow {
        use AgentClientFrame as F;
        let handoff = self.state.handoff.clone();
        let id = frame.conversation_id();
        let done = match frame {
            F::Hello { .. } => {
                return self.reject(
                    ApiError::new(ErrorCode::Conflict, "hello was already received"),
                    None,
                )
            }
            F::Presence { status } => handoff.set_presence(&agent, status).await.map(|_| ()),
            F::Claim { conversation_id } => match handoff.claim(conversation_id, &agent).await {
                Ok(_) => return self.watch(conversation_id).await,
                Err(e) => Err(e),
            },
            F::Watch { conversation_id } => return self.watch(conversation_id).await,
            F::Unwatch { conversation_id } => return self.unwatch(conversation_id),
            F::Message {
                conversation_id,
                client_id,
                text,
            } => {
                return self
                    .on_message(agent, conversation_id, client_id, text)
                    .await
            }
            F::Typing { conversation_id } => {
                return self.on_typing(&agent, conversation_id).await;
            }
            F::Note {
                conversation_id,
                text,
            } => match self.checked_text(text, MAX_NOTE, "notes") {
                Ok(text) => handoff.note(conversation_id, &agent, text).await,
                Err(e) => return self.reject(e, id),
            },
            F::Release { conversation_id } => {
                handoff.release(conversation_id, &agent).await.map(|_| ())
            }
            F::Transfer {
                conversation_id,
                agent_id,
            } => handoff
                .transfer(conversation_id, &agent, &agent_id)
                .await
                .map(|_| ()),
            F::HandBack { conversation_id } => {
                handoff.hand_back(conversation_id, &agent).await.map(|_| ())
            }
            F::Close {
                conversation_id,
                resolution,
            } => {
                let resolution = resolution
                    .map(|r| r.trim().to_owned())
                    .filter(|r| !r.is_empty());
                if resolution
                    .as_ref()
                    .is_some_and(|r| r.chars().count() > MAX_NOTE)
                {
                    return self.reject(
                        ApiError::new(
                            ErrorCode::TooLarge,
                            format!("resolutions are limited to {MAX_NOTE} characters"),
                        ),
                        id,
                    );
                }
                handoff
                    .close(conversation_id, Sender::Agent, Some(&agent), resolution)
                    .await
                    .map(|_| ())
            }
        };
        match done {
            Ok(()) => self.accepted(),
            Err(e) => self.refuse(e.into(), id, None),
        }
    }

    /// Trim `text` and check it is 1..=`max` characters.
    fn checked_text(&self, text: String, max: usize, what: &str) -> Result<String, ApiError> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(ApiError::bad_request(format!("{what} may not be empty")));
        }
        if text.chars().count() > max {
            return Err(ApiError::new(
                ErrorCode::TooLarge,
                format!("{what} are limited to {max} characters"),
            ));
        }
        Ok(text)
    }

    async fn on_message(
        &mut self,
        agent: AgentRef,
        id: ConversationId,
        client_id: String,
        text: String,
    ) -> Flow {
        if !valid_client_id(&client_id) {
            return self.reject(
                ApiError::bad_request("client_id must be 1-64 printable characters"),
                Some(id),
            );
        }
        let max = self.state.config.limits.max_message_chars;
        let text = match self.checked_text(text, max, "messages") {
            Ok(t) => t,
            Err(e) => return self.reject_message(e, Some(id), Some(client_id)),
        };
        let message = NewMessage::agent(agent, client_id.clone(), text);
        match self.state.store.append_message(id, message).await {
            Ok(appended) => {
                if let Appended::New(m) = &appended {
                    self.state.hub.join(id).message(m);
                }
                self.strikes = 0;
                self.send(&AgentServerFrame::Ack {
                    conversation_id: id,
                    client_id,
                    seq: appended.message().seq,
                })
            }
            Err(e) => self.refuse(e.into(), Some(id), Some(client_id)),
        }
    }

    async fn on_typing(&mut self, agent: &AgentRef, id: ConversationId) -> Flow {
        match self.state.store.conversation(id).await {
            Ok(c)
                if c.status == ConversationStatus::Agent
                    && c.assigned.as_ref().is_some_and(|a| a.id == agent.id) =>
            {
                if let Some(room) = self.state.hub.get(id) {
                    room.typing(Sender::Agent);
                }
                self.accepted()
            }
            Ok(_) => self.refuse(
                ApiError::new(
                    ErrorCode::Conflict,
                    "this conversation is not assigned to you; claim it first",
                ),
                Some(id),
                None,
            ),
            Err(e) => self.refuse(e.into(), Some(id), None),
        }
    }
}

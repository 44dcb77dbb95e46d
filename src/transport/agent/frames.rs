//! What the agent socket does with each frame after signing in.

use axum::extract::ws::close_code;

use super::AgentSession;
use crate::auth;
use crate::crm::{
    Actor, AgentRef, Appended, ConversationId, ConversationStatus, NewMessage, Role, Sender,
};
use crate::error::{ApiError, ErrorCode};
use crate::input::{ClientId, Labels, MessageText, Note};
use crate::protocol::agent::{AgentClientFrame, AgentServerFrame};
use crate::transport::socket::{About, Flow, Line};

impl AgentSession {
    pub(super) async fn on_hello(&mut self, line: &mut Line, token: String) -> Flow {
        let credential = match auth::authenticate(&self.state.store, token.trim()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(reason = "token", "agent sign-in refused");
                let _ = line.error(e, About::default());
                return Flow::Close(close_code::POLICY, "unauthorized");
            }
        };
        if !matches!(credential.role, Role::Agent | Role::Operator) {
            tracing::info!(reason = "role", "agent sign-in refused");
            let _ = line.error(
                ApiError::new(
                    ErrorCode::Forbidden,
                    "only agent and operator tokens may open the agent console",
                ),
                About::default(),
            );
            return Flow::Close(close_code::POLICY, "forbidden");
        }
        self.actor = Some(Actor::from(&credential));
        let agent = AgentRef {
            id: credential.id,
            name: credential.name,
        };
        tracing::Span::current().record("agent_id", tracing::field::display(&agent.id));
        tracing::info!("agent signed in");
        let handoff = self.state.handoff.clone();
        // Before connecting: connecting may assign this agent a
        // conversation at once.
        self.assignments = Some(handoff.assignments());
        handoff.connect(&agent).await;
        let welcome = AgentServerFrame::Welcome {
            agent_id: agent.id.clone(),
            agent_name: agent.name.clone(),
            presence: handoff.presence(&agent.id).await,
            capacity: handoff.settings().agent_capacity,
            assignment: handoff.settings().assignment,
        };
        self.agent = Some(agent);
        let mut queue = handoff.subscribe();
        queue.mark_changed();
        self.queue = Some(queue);
        line.accepted();
        let flow = line.send_json(welcome.to_json());
        match flow.goes_on() {
            true => self.send_queue(line),
            false => flow,
        }
    }

    pub(super) async fn on_frame(
        &mut self,
        line: &mut Line,
        agent: AgentRef,
        frame: AgentClientFrame,
    ) -> Flow {
        use AgentClientFrame as F;
        let handoff = self.state.handoff.clone();
        let about = About {
            client_id: None,
            conversation_id: frame.conversation_id(),
        };
        let done = match frame {
            F::Hello { .. } => {
                return line.reject(
                    ApiError::new(ErrorCode::Conflict, "hello was already received"),
                    About::default(),
                )
            }
            F::Presence { status } => handoff.set_presence(&agent, status).await.map(|_| ()),
            F::Claim { conversation_id } => match handoff.claim(conversation_id, &agent).await {
                Ok(_) => return self.watch(line, conversation_id).await,
                Err(e) => Err(e),
            },
            F::Watch { conversation_id } => return self.watch(line, conversation_id).await,
            F::Unwatch { conversation_id } => return self.unwatch(line, conversation_id).await,
            F::Message {
                conversation_id,
                client_id,
                text,
            } => {
                return self
                    .on_message(line, agent, conversation_id, client_id, text)
                    .await
            }
            F::Typing { conversation_id } => {
                return self.on_typing(line, &agent, conversation_id).await;
            }
            F::Note {
                conversation_id,
                text,
            } => match Note::parse(&text, "notes") {
                Ok(note) => {
                    handoff
                        .note(conversation_id, &agent, note.into_string())
                        .await
                }
                Err(e) => return line.reject(e, about),
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
            } => match Note::optional(resolution, "resolutions") {
                Ok(resolution) => handoff
                    .close(
                        conversation_id,
                        Sender::Agent,
                        Some(&agent),
                        resolution.map(Note::into_string),
                    )
                    .await
                    .map(|_| ()),
                Err(e) => return line.reject(e, about),
            },
            F::Label {
                conversation_id,
                labels,
            } => match Labels::parse(labels) {
                Ok(labels) => handoff
                    .label(conversation_id, &agent, labels)
                    .await
                    .map(|_| ()),
                Err(e) => return line.reject(e, about),
            },
        };
        match done {
            Ok(()) => line.accepted(),
            Err(e) => line.refuse(e, about),
        }
    }

    async fn on_message(
        &mut self,
        line: &mut Line,
        agent: AgentRef,
        id: ConversationId,
        client_id: String,
        text: String,
    ) -> Flow {
        let client_id = match ClientId::parse(client_id) {
            Ok(c) => c,
            Err(e) => return line.reject(e, About::conversation(id)),
        };
        let about = About {
            client_id: Some(client_id.as_ref().to_owned()),
            conversation_id: Some(id),
        };
        let max = self.state.config.limits.max_message_chars;
        let text = match MessageText::parse(&text, max) {
            Ok(t) => t,
            Err(e) => return line.reject(e, about),
        };
        let message = NewMessage::agent(agent, client_id.as_ref().to_owned(), text.into_string());
        match self.state.store.append_message(id, message).await {
            Ok(appended) => {
                if let Appended::New(m) = &appended {
                    self.state.hub.join(id).message(m);
                    self.state.handoff.said(id, m).await;
                }
                line.accepted();
                line.send_json(
                    AgentServerFrame::Ack {
                        conversation_id: id,
                        client_id: client_id.into_string(),
                        seq: appended.message().seq,
                    }
                    .to_json(),
                )
            }
            Err(e) => line.refuse(e, about),
        }
    }

    async fn on_typing(&mut self, line: &mut Line, agent: &AgentRef, id: ConversationId) -> Flow {
        match self.state.store.conversation(id).await {
            Ok(c)
                if c.status == ConversationStatus::Agent
                    && c.assigned.as_ref().is_some_and(|a| a.id == agent.id) =>
            {
                if let Some(room) = self.state.hub.get(id) {
                    room.typing(Sender::Agent);
                }
                line.accepted()
            }
            Ok(_) => line.refuse(crate::crm::StoreError::NotAssigned, About::conversation(id)),
            Err(e) => line.refuse(e, About::conversation(id)),
        }
    }
}

//! The agent socket, `GET /v1/agent`: the console's live line to the
//! queue and to the conversations an agent claims or watches.
//!
//! The first frame signs in with an agent (or operator) token. The
//! session then follows the queue through the handoff's `watch` channel
//! and, for each conversation it claims or watches, a forwarding task
//! that turns the room's events into agent frames (messages with their
//! analysis, typing, notes, changes of hands). Everything goes out
//! through one bounded queue; a console that does not read is dropped.
//! [`frames`] handles each client frame.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::guard::{too_many_connections, RateLimiter};
use super::socket::{self, About, Flow, Line, Outgoing, Session};
use crate::app::AppState;
use crate::crm::{Actor, AgentRef, AuditAction, AuditEntry, ConversationId, Sender};
use crate::error::ApiError;
use crate::handoff::{brief, Assigned, QueueSnapshot};
use crate::protocol::agent::{AgentClientFrame, AgentServerFrame, BriefingView, QueueView};
use crate::room::{Published, RoomEvent};

mod frames;

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// An agent console sees more traffic than a customer: several
/// conversations and the queue.
const QUEUE_FACTOR: usize = 4;

/// Agent sockets count towards `limits.connections_per_ip` with the
/// customer sockets; over it the upgrade is refused with HTTP 429.
pub(super) async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<AppState>,
) -> Response {
    let limits = state.config.limits.clone();
    let Some(slot) = state
        .connections
        .try_acquire(peer.ip(), limits.connections_per_ip)
    else {
        tracing::info!(reason = "connections_per_ip", "agent connection rejected");
        return too_many_connections().into_response();
    };
    let conn = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("agent", conn, agent_id = tracing::field::Empty);
    socket::limited(ws, &limits).on_upgrade(move |ws| {
        // Consoles send a few frames per action; allow bursts of actions.
        let limiter = RateLimiter::new(limits.messages_per_second * 4.0, limits.message_burst * 4);
        let queue = limits.outbound_queue * QUEUE_FACTOR;
        let config = state.config.clone();
        let shutdown = state.shutdown.clone();
        let session = AgentSession {
            state,
            agent: None,
            actor: None,
            queue: None,
            assignments: None,
            watching: HashMap::new(),
            dropped: CancellationToken::new(),
        };
        socket::serve(ws, session, config, queue, limiter, shutdown, slot).instrument(span)
    })
}

pub(super) enum AgentEvent {
    /// The queue changed.
    Queue,
    /// A conversation became this agent's without a claim.
    Assigned(Arc<Assigned>),
    /// A forwarding task found the console too slow.
    Dropped,
}

struct AgentSession {
    state: AppState,
    /// Who signed in; `None` until `hello`.
    agent: Option<AgentRef>,
    /// The same, as the audit log names them.
    actor: Option<Actor>,
    queue: Option<watch::Receiver<Arc<QueueSnapshot>>>,
    assignments: Option<broadcast::Receiver<Arc<Assigned>>>,
    /// Forwarding tasks of the conversations this console follows.
    watching: HashMap<ConversationId, JoinHandle<()>>,
    /// Cancelled by a forwarding task that finds the console too slow.
    dropped: CancellationToken,
}

impl Session for AgentSession {
    type Frame = AgentClientFrame;
    type Event = AgentEvent;

    fn error_frame(error: ApiError, about: About) -> String {
        AgentServerFrame::error(error, about.conversation_id, about.client_id).to_json()
    }

    fn about(frame: &AgentClientFrame) -> About {
        About {
            client_id: match frame {
                AgentClientFrame::Message { client_id, .. } => Some(client_id.clone()),
                _ => None,
            },
            conversation_id: frame.conversation_id(),
        }
    }

    fn greeted(&self) -> bool {
        self.agent.is_some()
    }

    async fn next_event(&mut self) -> AgentEvent {
        loop {
            tokio::select! {
                _ = self.dropped.cancelled() => return AgentEvent::Dropped,
                changed = queue_changed(&mut self.queue) => match changed {
                    true => return AgentEvent::Queue,
                    // The desk is gone (shutting down): follow nothing.
                    false => self.queue = None,
                },
                assigned = next_assignment(&mut self.assignments) => match assigned {
                    Some(a) if self.agent.as_ref().is_some_and(|me| me.id == a.agent_id) => {
                        return AgentEvent::Assigned(a)
                    }
                    Some(_) => {}
                    None => self.assignments = None,
                },
            }
        }
    }

    async fn on_event(&mut self, line: &mut Line, event: AgentEvent) -> Flow {
        match event {
            AgentEvent::Queue => self.send_queue(line),
            AgentEvent::Assigned(a) => line.send_json(AgentServerFrame::assigned(&a).to_json()),
            AgentEvent::Dropped => Flow::Drop,
        }
    }

    async fn on_frame(&mut self, line: &mut Line, frame: AgentClientFrame) -> Flow {
        let Some(agent) = self.agent.clone() else {
            return match frame {
                AgentClientFrame::Hello { token } => self.on_hello(line, token).await,
                _ => line.reject(
                    ApiError::bad_request("the first frame must be hello"),
                    About::default(),
                ),
            };
        };
        self.on_frame(line, agent, frame).await
    }

    async fn on_end(&mut self) {
        let watched: Vec<_> = self.watching.drain().collect();
        for (id, task) in watched {
            task.abort();
            if let Some(agent) = &self.agent {
                self.state.handoff.viewing(id, agent, false).await;
            }
        }
        if let Some(agent) = &self.agent {
            self.state.handoff.disconnect(agent).await;
        }
    }
}

impl AgentSession {
    /// The latest queue snapshot.
    fn send_queue(&mut self, line: &mut Line) -> Flow {
        let Some(rx) = &mut self.queue else {
            return Flow::Continue;
        };
        let snapshot = rx.borrow_and_update().clone();
        line.send_json(AgentServerFrame::Queue(QueueView::from(&*snapshot)).to_json())
    }

    /// Follow conversation `id`: send its briefing, then its live events.
    async fn watch(&mut self, line: &mut Line, id: ConversationId) -> Flow {
        let room = self.state.hub.join(id);
        let events = room.subscribe();
        let briefing = match brief(&self.state.store, &self.state.suggester(), id).await {
            Ok(b) => b,
            Err(e) => return line.refuse(e, About::conversation(id)),
        };
        if let Some(actor) = self.actor.clone() {
            let read = AuditEntry::new(actor, AuditAction::ReadConversation)
                .customer(briefing.customer.id)
                .conversation(id);
            if let Err(e) = self.state.store.audit(read).await {
                return line.refuse(e, About::conversation(id));
            }
        }
        let last_seq = briefing.messages.last().map_or(0, |m| m.seq);
        let frame = AgentServerFrame::Conversation(Box::new(BriefingView::from(briefing)));
        let flow = line.send_json(frame.to_json());
        if !flow.goes_on() {
            return flow;
        }
        let Some(out) = line.sender() else {
            return Flow::Drop;
        };
        let forward = Forward {
            state: self.state.clone(),
            id,
            out,
            dropped: self.dropped.clone(),
            last_seq,
        };
        let task = tokio::spawn(
            async move {
                // The room lives as long as someone follows it.
                let _room = room;
                forward.run(events).await
            }
            .in_current_span(),
        );
        match self.watching.insert(id, task) {
            Some(old) => old.abort(),
            None => {
                if let Some(agent) = &self.agent {
                    self.state.handoff.viewing(id, agent, true).await;
                }
            }
        }
        line.accepted()
    }

    async fn unwatch(&mut self, line: &mut Line, id: ConversationId) -> Flow {
        if let Some(task) = self.watching.remove(&id) {
            task.abort();
            if let Some(agent) = &self.agent {
                self.state.handoff.viewing(id, agent, false).await;
            }
        }
        line.accepted()
    }
}

/// The next assignment to anyone; `None` once the handoff is gone. A
/// console that fell behind skips what it missed (the queue shows it).
async fn next_assignment(
    rx: &mut Option<broadcast::Receiver<Arc<Assigned>>>,
) -> Option<Arc<Assigned>> {
    let Some(rx) = rx else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(a) => return Some(a),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}

/// Wait for the next queue change; `false` once the handoff is gone.
async fn queue_changed(rx: &mut Option<watch::Receiver<Arc<QueueSnapshot>>>) -> bool {
    match rx {
        Some(rx) => rx.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Turns one room's events into agent frames.
struct Forward {
    state: AppState,
    id: ConversationId,
    out: mpsc::Sender<Outgoing>,
    dropped: CancellationToken,
    /// Highest message `seq` sent; never sent twice.
    last_seq: u64,
}

impl Forward {
    async fn run(mut self, mut events: broadcast::Receiver<Arc<Published>>) {
        loop {
            let frame = match events.recv().await {
                Ok(p) if matches!(p.event, RoomEvent::Erased) => {
                    // Gone from the store: the console shows it closed and
                    // stops following it.
                    let closed = AgentServerFrame::Status {
                        conversation_id: self.id,
                        status: crate::crm::ConversationStatus::Closed,
                        agent: None,
                    };
                    let _ = self.out.try_send(socket::text(closed.to_json()));
                    return;
                }
                Ok(p) => match self.frame(&p.event) {
                    Some(f) => f,
                    None => continue,
                },
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Fell behind: send the whole conversation again.
                    match brief(&self.state.store, &self.state.suggester(), self.id).await {
                        Ok(b) => {
                            self.last_seq = b.messages.last().map_or(0, |m| m.seq);
                            AgentServerFrame::Conversation(Box::new(BriefingView::from(b)))
                        }
                        Err(e) => AgentServerFrame::error(e.into(), Some(self.id), None),
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if self.out.try_send(socket::text(frame.to_json())).is_err() {
                self.dropped.cancel();
                return;
            }
        }
    }

    fn frame(&mut self, event: &RoomEvent) -> Option<AgentServerFrame> {
        let conversation_id = self.id;
        Some(match event {
            RoomEvent::Message(m) => {
                if m.seq <= self.last_seq {
                    return None;
                }
                self.last_seq = m.seq;
                AgentServerFrame::Message {
                    conversation_id,
                    message: Box::new((**m).clone()),
                }
            }
            RoomEvent::Typing(from @ Sender::Customer) => AgentServerFrame::Typing {
                conversation_id,
                from: *from,
            },
            RoomEvent::Typing(_) | RoomEvent::Place(_) | RoomEvent::Erased => return None,
            RoomEvent::Handover(h) => AgentServerFrame::Status {
                conversation_id,
                status: h.status,
                agent: h.agent.clone(),
            },
            RoomEvent::Labels(labels) => AgentServerFrame::Labels {
                conversation_id,
                labels: labels.clone(),
            },
            RoomEvent::Viewers(agents) => AgentServerFrame::Viewers {
                conversation_id,
                agents: agents.clone(),
            },
            RoomEvent::Note { agent, text, at } => AgentServerFrame::Note {
                conversation_id,
                agent_id: agent.id.clone(),
                agent_name: agent.name.clone(),
                text: text.clone(),
                at: *at,
            },
        })
    }
}

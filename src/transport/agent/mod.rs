//! The agent socket, `GET /v1/agent`: the console's live line to the
//! queue and to the conversations an agent claims or watches.
//!
//! The first frame signs in with an agent (or operator) token. The
//! connection then follows the queue through the handoff's `watch`
//! channel and, for each conversation it claims or watches, a forwarding
//! task that turns the room's events into agent frames (messages with
//! their analysis, typing, notes, changes of hands). Everything goes out
//! through one bounded queue; a console that does not read is dropped.
//! [`frames`] handles each client frame.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{close_code, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::guard::RateLimiter;
use super::socket::{self, read_error, Flow, Heartbeat, Outbox};
use crate::app::AppState;
use crate::crm::{AgentRef, ConversationId, Sender};
use crate::error::{ApiError, ErrorCode};
use crate::handoff::{brief, QueueSnapshot};
use crate::protocol::agent::{AgentClientFrame, AgentServerFrame};
use crate::protocol::parse_frame;
use crate::room::{Published, RoomEvent};

mod frames;

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// An agent console sees more traffic than a customer: several
/// conversations and the queue.
const QUEUE_FACTOR: usize = 4;

/// Agent sockets count towards `limits.connections_per_ip` with the
/// customer sockets; over it the upgrade is refused with HTTP 429.
pub async fn upgrade(
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
        return ApiError::new(
            ErrorCode::RateLimited,
            "too many open connections from this address",
        )
        .into_response();
    };
    let conn = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("agent", conn, agent_id = tracing::field::Empty);
    socket::limited(ws, &limits).on_upgrade(move |socket| {
        async move {
            let _slot = slot;
            AgentConnection::new(state).run(socket).await
        }
        .instrument(span)
    })
}

enum Event {
    Shutdown,
    Tick,
    Queue,
    Frame(Option<Result<WsMessage, axum::Error>>),
}

struct AgentConnection {
    state: AppState,
    out: Outbox,
    agent: Option<AgentRef>,
    queue: Option<watch::Receiver<Arc<QueueSnapshot>>>,
    /// Forwarding tasks of the conversations this console follows.
    watching: HashMap<ConversationId, JoinHandle<()>>,
    /// Cancelled by a forwarding task that finds the console too slow.
    dropped: CancellationToken,
    limiter: RateLimiter,
    strikes: u32,
}

impl AgentConnection {
    fn new(state: AppState) -> Self {
        let l = &state.config.limits;
        // Consoles send a few frames per action; allow bursts of actions.
        let limiter = RateLimiter::new(l.messages_per_second * 4.0, l.message_burst * 4);
        Self {
            state,
            out: Outbox::none(),
            agent: None,
            queue: None,
            watching: HashMap::new(),
            dropped: CancellationToken::new(),
            limiter,
            strikes: 0,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let limits = self.state.config.limits.clone();
        let (out, mut stream, writer) = Outbox::start(socket, limits.outbound_queue * QUEUE_FACTOR);
        self.out = out;
        let mut heartbeat = Heartbeat::start(&limits).await;
        let shutdown = self.state.shutdown.clone();
        let dropped = self.dropped.clone();

        let end = loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => Event::Shutdown,
                _ = dropped.cancelled() => break Flow::Drop,
                _ = heartbeat.due() => Event::Tick,
                changed = queue_changed(&mut self.queue) => match changed {
                    true => Event::Queue,
                    false => continue,
                },
                f = stream.next() => Event::Frame(f),
            };
            let flow = match event {
                Event::Shutdown => Flow::Close(close_code::AWAY, "server shutting down"),
                Event::Tick => heartbeat.beat(&self.out),
                Event::Queue => self.send_queue(),
                Event::Frame(None) => Flow::Drop,
                Event::Frame(Some(Err(e))) => read_error(e),
                Event::Frame(Some(Ok(message))) => {
                    heartbeat.heard();
                    self.on_ws_message(message).await
                }
            };
            match flow {
                Flow::Continue => {}
                other => break other,
            }
        };

        self.out.finish(&end);
        for (_, task) in self.watching.drain() {
            task.abort();
        }
        if let Some(agent) = &self.agent {
            self.state.handoff.disconnect(agent).await;
        }
        socket::wind_down(end, writer, limits.ping_interval).await;
        tracing::debug!("agent disconnected");
    }

    fn send(&self, frame: &AgentServerFrame) -> Flow {
        self.out.text(frame.to_json())
    }

    /// The latest queue snapshot.
    fn send_queue(&mut self) -> Flow {
        let Some(rx) = &mut self.queue else {
            return Flow::Continue;
        };
        let snapshot = rx.borrow_and_update().clone();
        self.send(&AgentServerFrame::Queue((*snapshot).clone()))
    }

    /// An error frame for a refused client frame; too many in a row close
    /// the socket.
    fn reject(&mut self, error: ApiError, conversation_id: Option<ConversationId>) -> Flow {
        self.reject_message(error, conversation_id, None)
    }

    fn reject_message(
        &mut self,
        error: ApiError,
        conversation_id: Option<ConversationId>,
        client_id: Option<String>,
    ) -> Flow {
        self.strikes += 1;
        tracing::debug!(code = ?error.code, strikes = self.strikes, "agent frame rejected");
        let flow = self.send(&AgentServerFrame::error(error, conversation_id, client_id));
        if self.strikes >= self.state.config.limits.max_strikes {
            return Flow::Close(close_code::POLICY, "too many rejected frames");
        }
        flow
    }

    /// An error frame for a well-formed frame the server could not carry
    /// out (a lost claim race, a conversation that is not yours): no
    /// strike, the console did nothing wrong in sending it.
    fn refuse(
        &mut self,
        error: ApiError,
        conversation_id: Option<ConversationId>,
        client_id: Option<String>,
    ) -> Flow {
        tracing::debug!(code = ?error.code, "agent action refused");
        self.strikes = 0;
        self.send(&AgentServerFrame::error(error, conversation_id, client_id))
    }

    fn accepted(&mut self) -> Flow {
        self.strikes = 0;
        Flow::Continue
    }

    async fn on_ws_message(&mut self, message: WsMessage) -> Flow {
        let text = match message {
            WsMessage::Text(t) => t,
            WsMessage::Binary(_) => {
                return self.reject(
                    ApiError::bad_request("binary frames are not supported; send JSON text"),
                    None,
                )
            }
            WsMessage::Ping(_) | WsMessage::Pong(_) => return Flow::Continue,
            WsMessage::Close(_) => return Flow::Drop,
        };
        let limit = self.state.config.limits.max_frame_bytes;
        if text.len() > limit {
            return self.reject(
                ApiError::new(
                    ErrorCode::TooLarge,
                    format!("frames are limited to {limit} bytes"),
                ),
                None,
            );
        }
        let frame: AgentClientFrame = match parse_frame(text.as_str()) {
            Ok(f) => f,
            Err(bad) => {
                return self.reject_message(ApiError::bad_request(bad.message), None, bad.client_id)
            }
        };
        if !self.limiter.allow(Instant::now()) {
            let client_id = match &frame {
                AgentClientFrame::Message { client_id, .. } => Some(client_id.clone()),
                _ => None,
            };
            return self.reject_message(
                ApiError::new(
                    ErrorCode::RateLimited,
                    "you are sending too fast; wait a moment and resend",
                ),
                frame.conversation_id(),
                client_id,
            );
        }
        let Some(agent) = self.agent.clone() else {
            return match frame {
                AgentClientFrame::Hello { token } => self.on_hello(token).await,
                _ => self.reject(ApiError::bad_request("the first frame must be hello"), None),
            };
        };
        self.on_frame(agent, frame).await
    }

    /// Follow conversation `id`: send its briefing, then its live events.
    async fn watch(&mut self, id: ConversationId) -> Flow {
        let room = self.state.hub.join(id);
        let events = room.subscribe();
        let briefing = match brief(&self.state.store, &self.state.faq, id).await {
            Ok(b) => b,
            Err(e) => return self.refuse(e, Some(id), None),
        };
        let last_seq = briefing.messages.last().map_or(0, |m| m.seq);
        if let f @ (Flow::Close(..) | Flow::Drop) =
            self.send(&AgentServerFrame::Conversation(Box::new(briefing)))
        {
            return f;
        }
        let Some(out) = self.out.sender() else {
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
        if let Some(old) = self.watching.insert(id, task) {
            old.abort();
        }
        self.accepted()
    }

    fn unwatch(&mut self, id: ConversationId) -> Flow {
        if let Some(task) = self.watching.remove(&id) {
            task.abort();
        }
        self.accepted()
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
    out: mpsc::Sender<WsMessage>,
    dropped: CancellationToken,
    /// Highest message `seq` sent; never sent twice.
    last_seq: u64,
}

impl Forward {
    async fn run(mut self, mut events: broadcast::Receiver<Published>) {
        loop {
            let frame = match events.recv().await {
                Ok(p) => match self.frame(p) {
                    Some(f) => f,
                    None => continue,
                },
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Fell behind: send the whole conversation again.
                    match brief(&self.state.store, &self.state.faq, self.id).await {
                        Ok(b) => {
                            self.last_seq = b.messages.last().map_or(0, |m| m.seq);
                            AgentServerFrame::Conversation(Box::new(b))
                        }
                        Err(e) => AgentServerFrame::error(e, Some(self.id), None),
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if self
                .out
                .try_send(WsMessage::Text(frame.to_json().into()))
                .is_err()
            {
                self.dropped.cancel();
                return;
            }
        }
    }

    fn frame(&mut self, published: Published) -> Option<AgentServerFrame> {
        let conversation_id = self.id;
        Some(match published.event? {
            RoomEvent::Message(m) => {
                if m.seq <= self.last_seq {
                    return None;
                }
                self.last_seq = m.seq;
                AgentServerFrame::Message {
                    conversation_id,
                    message: Box::new((*m).clone()),
                }
            }
            RoomEvent::Typing(from @ Sender::Customer) => AgentServerFrame::Typing {
                conversation_id,
                from,
            },
            RoomEvent::Typing(_) => return None,
            RoomEvent::Status { status, agent } => AgentServerFrame::Status {
                conversation_id,
                status,
                agent,
            },
            RoomEvent::Note { agent, text, at } => AgentServerFrame::Note {
                conversation_id,
                agent_id: agent.id,
                agent_name: agent.name,
                text,
                at,
            },
        })
    }
}

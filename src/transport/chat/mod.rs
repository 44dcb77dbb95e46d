//! The customer socket, `GET /v1/chat`.
//!
//! Admission (origin, connections per IP) happens before the upgrade;
//! then the socket is a [`Session`] on the shared skeleton. It handles
//! one frame at a time: a `message` frame runs the whole turn (store, ack,
//! bot reply) before the next frame is read, which keeps a connection's
//! frames in order and is the backpressure on a client that sends faster
//! than turns complete. After `hello` it also follows its conversation's
//! room and forwards what the customer should see ([`render`]).
//! [`frames`] handles each protocol frame.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast;
use tracing::Instrument;

use super::guard::{origin_allowed, too_many_connections, RateLimiter};
use super::socket::{self, About, Flow, Line, Session};
use crate::app::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{ClientFrame, ServerFrame};
use crate::room::{Published, Room, RoomEvent};

mod frames;
mod render;

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// The close code of a socket whose conversation was erased: the client
/// forgets its resume token and does not reconnect to it.
const ERASED: u16 = 4001;

/// Messages read from the store at a time while replaying.
const REPLAY_PAGE: usize = 128;

pub(super) async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    if !origin_allowed(&headers, &state.config.origins, &state.own_origins) {
        tracing::info!(reason = "origin", "chat connection rejected");
        return ApiError::new(
            ErrorCode::Forbidden,
            "this origin may not open a chat; the operator can add it to origins.allow",
        )
        .into_response();
    }
    let limits = &state.config.limits;
    let Some(slot) = state
        .connections
        .try_acquire(peer.ip(), limits.connections_per_ip)
    else {
        tracing::info!(reason = "connections_per_ip", "chat connection rejected");
        return too_many_connections().into_response();
    };
    let conn = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("chat", conn, conversation_id = tracing::field::Empty);
    socket::limited(ws, limits).on_upgrade(move |ws| {
        let limits = &state.config.limits;
        let limiter = RateLimiter::new(limits.messages_per_second, limits.message_burst);
        let queue = limits.outbound_queue;
        let config = state.config.clone();
        let shutdown = state.shutdown.clone();
        let session = ChatSession {
            state,
            peer: peer.ip(),
            joined: None,
        };
        socket::serve(ws, session, config, queue, limiter, shutdown, slot).instrument(span)
    })
}

/// The conversation a socket joined with `hello`.
struct Joined {
    room: Arc<Room>,
    events: broadcast::Receiver<Arc<Published>>,
    /// Highest message `seq` this socket has sent; never sent twice.
    last_sent: u64,
    /// The customer the conversation belongs to.
    customer_id: crate::crm::CustomerId,
    /// A new conversation not stored yet: it is with its first message.
    pending: Option<Pending>,
}

/// What storing a new conversation needs.
struct Pending {
    profile: crate::crm::CustomerProfile,
    resume_hash: [u8; 32],
}

struct ChatSession {
    state: AppState,
    /// The client's address, for limits per address.
    peer: std::net::IpAddr,
    /// `None` until `hello`.
    joined: Option<Joined>,
}

impl Session for ChatSession {
    type Frame = ClientFrame;
    type Event = Result<Arc<Published>, broadcast::error::RecvError>;

    fn error_frame(error: ApiError, about: About) -> String {
        ServerFrame::error(error, about.client_id).to_json()
    }

    fn about(frame: &ClientFrame) -> About {
        match frame {
            ClientFrame::Message { client_id, .. } | ClientFrame::Contact { client_id, .. } => {
                About::message(client_id.clone())
            }
            _ => About::default(),
        }
    }

    fn greeted(&self) -> bool {
        self.joined.is_some()
    }

    async fn next_event(&mut self) -> Self::Event {
        match &mut self.joined {
            Some(j) => j.events.recv().await,
            None => std::future::pending().await,
        }
    }

    async fn on_event(&mut self, line: &mut Line, event: Self::Event) -> Flow {
        self.forward(line, event).await
    }

    async fn on_frame(&mut self, line: &mut Line, frame: ClientFrame) -> Flow {
        self.on_frame(line, frame).await
    }

    async fn on_end(&mut self) {}
}

impl ChatSession {
    /// Forward an event published to the conversation, or catch up from
    /// the store if this socket fell behind.
    async fn forward(
        &mut self,
        line: &mut Line,
        published: Result<Arc<Published>, broadcast::error::RecvError>,
    ) -> Flow {
        let Some(joined) = &mut self.joined else {
            return Flow::Continue;
        };
        match published {
            Ok(p) if matches!(p.event, RoomEvent::Erased) => {
                Flow::Close(ERASED, "conversation erased")
            }
            Ok(p) => {
                if let Some(seq) = p.seq() {
                    if seq <= joined.last_sent {
                        return Flow::Continue;
                    }
                }
                let room = &joined.room;
                let Some(json) = p.customer_frame(|e| {
                    render::event(e, room.language()).map(|f| f.to_json().into())
                }) else {
                    return Flow::Continue;
                };
                if let Some(seq) = p.seq() {
                    joined.last_sent = seq;
                }
                line.send_json(json)
            }
            Err(broadcast::error::RecvError::Lagged(_)) => self.replay(line).await,
            Err(broadcast::error::RecvError::Closed) => Flow::Drop,
        }
    }

    /// Send every stored message after the last one sent, a page at a
    /// time, waiting for the client to read: however long the
    /// conversation, the replay streams at the client's pace.
    async fn replay(&mut self, line: &mut Line) -> Flow {
        let Some(joined) = &mut self.joined else {
            return Flow::Continue;
        };
        let patience = self.state.config.limits.idle_timeout;
        loop {
            let page = match self
                .state
                .store
                .messages_after(joined.room.id, joined.last_sent, REPLAY_PAGE)
                .await
            {
                Ok(m) => m,
                Err(e) => return line.error(e, About::default()),
            };
            let full = page.len() == REPLAY_PAGE;
            for m in &page {
                let json = ServerFrame::message(m).to_json();
                let flow = line.send_json_waiting(json, patience).await;
                if !flow.goes_on() {
                    return flow;
                }
                joined.last_sent = m.seq;
            }
            if !full {
                return Flow::Continue;
            }
        }
    }
}

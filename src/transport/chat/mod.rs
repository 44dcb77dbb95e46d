//! The customer socket, `GET /v1/chat`.
//!
//! Each connection is one task reading frames and one task writing them,
//! joined by a bounded queue: a client that does not read its frames fills
//! the queue and is disconnected rather than buffered without bound. The
//! reading task handles one frame at a time; a `message` frame runs the
//! whole turn (store, ack, bot reply) before the next frame is read, which
//! keeps a connection's frames in order and is the backpressure on a
//! client that sends faster than turns complete. This file is the socket
//! plumbing (admission, the read/write loop, delivery of published
//! frames); [`frames`] handles each protocol frame.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{close_code, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tracing::Instrument;

use super::guard::{origin_allowed, RateLimiter};
use super::socket::{self, close, read_error, Flow, Heartbeat, Outbox};
use crate::app::AppState;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{self, ClientFrame, ServerFrame};
use crate::room::{Published, Room};

mod frames;

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    if !origin_allowed(&headers, &state.config.origins) {
        tracing::info!(reason = "origin", "chat connection rejected");
        return ApiError::new(
            ErrorCode::Forbidden,
            "this origin may not open a chat; the operator can add it to origins.allow",
        )
        .into_response();
    }
    let limits = &state.config.limits;
    let slot = state
        .connections
        .try_acquire(peer.ip(), limits.connections_per_ip);
    let conn = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("chat", conn, conversation_id = tracing::field::Empty);
    socket::limited(ws, limits).on_upgrade(move |socket| {
        async move {
            match slot {
                Some(_slot) => Connection::new(state).run(socket).await,
                None => {
                    tracing::info!(reason = "connections_per_ip", "chat connection rejected");
                    refuse(socket).await;
                }
            }
        }
        .instrument(span)
    })
}

/// Tell a client over its connection limit why, and close.
async fn refuse(mut socket: WebSocket) {
    let frame = ServerFrame::error(
        ApiError::new(
            ErrorCode::RateLimited,
            "too many open chats from this address",
        ),
        None,
    );
    let _ = socket.send(WsMessage::Text(frame.to_json().into())).await;
    let _ = socket
        .send(close(close_code::POLICY, "too many connections"))
        .await;
}

enum Event {
    Shutdown,
    Tick,
    Room(Result<Published, broadcast::error::RecvError>),
    Frame(Option<Result<WsMessage, axum::Error>>),
}

struct Joined {
    room: Arc<Room>,
    events: broadcast::Receiver<Published>,
    /// Highest message `seq` this socket has sent; never sent twice.
    last_sent: u64,
}

struct Connection {
    state: AppState,
    out: Outbox,
    joined: Option<Joined>,
    limiter: RateLimiter,
    /// Rejected frames in a row.
    strikes: u32,
}

impl Connection {
    fn new(state: AppState) -> Self {
        let l = &state.config.limits;
        let limiter = RateLimiter::new(l.messages_per_second, l.message_burst);
        Self {
            state,
            out: Outbox::none(),
            joined: None,
            limiter,
            strikes: 0,
        }
    }

    async fn run(mut self, socket: WebSocket) {
        let limits = self.state.config.limits.clone();
        let (out, mut stream, writer) = Outbox::start(socket, limits.outbound_queue);
        self.out = out;
        let mut heartbeat = Heartbeat::start(&limits).await;
        let shutdown = self.state.shutdown.clone();
        tracing::debug!("chat connected");

        let end = loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => Event::Shutdown,
                _ = heartbeat.due() => Event::Tick,
                r = next_published(&mut self.joined) => Event::Room(r),
                f = stream.next() => Event::Frame(f),
            };
            let flow = match event {
                Event::Shutdown => Flow::Close(close_code::AWAY, "server shutting down"),
                Event::Tick => heartbeat.beat(&self.out),
                Event::Room(r) => self.forward(r).await,
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
        socket::wind_down(end, writer, limits.ping_interval).await;
        tracing::debug!("chat disconnected");
    }

    fn send_raw(&self, message: WsMessage) -> Flow {
        self.out.send(message)
    }

    fn send(&self, frame: &ServerFrame) -> Flow {
        self.send_raw(WsMessage::Text(frame.to_json().into()))
    }

    /// An error frame for a rejected client frame; too many in a row close
    /// the socket.
    fn reject(&mut self, error: ApiError, client_id: Option<String>) -> Flow {
        self.strikes += 1;
        tracing::debug!(code = ?error.code, strikes = self.strikes, "frame rejected");
        if self.strikes >= self.state.config.limits.max_strikes {
            let _ = self.send(&ServerFrame::error(error, client_id));
            return Flow::Close(close_code::POLICY, "too many rejected frames");
        }
        self.send(&ServerFrame::error(error, client_id))
    }

    /// Forward a frame published to the conversation, or catch up from the
    /// store if this socket fell behind.
    async fn forward(&mut self, published: Result<Published, broadcast::error::RecvError>) -> Flow {
        let Some(joined) = &mut self.joined else {
            return Flow::Continue;
        };
        match published {
            Ok(p) => match (p.seq(), p.customer) {
                (_, None) => Flow::Continue,
                (Some(seq), Some(_)) if seq <= joined.last_sent => Flow::Continue,
                (Some(seq), Some(json)) => {
                    joined.last_sent = seq;
                    self.send_raw(WsMessage::Text(json))
                }
                (None, Some(json)) => self.send_raw(WsMessage::Text(json)),
            },
            Err(broadcast::error::RecvError::Lagged(_)) => self.replay().await,
            Err(broadcast::error::RecvError::Closed) => Flow::Drop,
        }
    }

    /// Send every stored message after the last one sent.
    async fn replay(&mut self) -> Flow {
        let Some(joined) = &mut self.joined else {
            return Flow::Continue;
        };
        let missed = match self
            .state
            .store
            .messages_after(joined.room.id, joined.last_sent)
            .await
        {
            Ok(m) => m,
            Err(e) => return self.send(&ServerFrame::error(ApiError::from(e), None)),
        };
        if let Some(last) = missed.last() {
            joined.last_sent = last.seq;
        }
        for m in &missed {
            if let f @ (Flow::Close(..) | Flow::Drop) = self.send(&ServerFrame::message(m)) {
                return f;
            }
        }
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
        let limits = &self.state.config.limits;
        if text.len() > limits.max_frame_bytes {
            let limit = limits.max_frame_bytes;
            return self.reject(
                ApiError::new(
                    ErrorCode::TooLarge,
                    format!("frames are limited to {limit} bytes"),
                ),
                None,
            );
        }
        let frame = match protocol::parse(text.as_str()) {
            Ok(f) => f,
            Err(bad) => return self.reject(ApiError::bad_request(bad.message), bad.client_id),
        };
        if !self.limiter.allow(Instant::now()) {
            let client_id = match &frame {
                ClientFrame::Message { client_id, .. } | ClientFrame::Contact { client_id, .. } => {
                    Some(client_id.clone())
                }
                _ => None,
            };
            return self.reject(
                ApiError::new(
                    ErrorCode::RateLimited,
                    "you are sending too fast; wait a moment and resend",
                ),
                client_id,
            );
        }
        match (frame, self.joined.is_some()) {
            (
                ClientFrame::Hello {
                    resume_token,
                    last_seq,
                    customer,
                },
                false,
            ) => {
                self.on_hello(resume_token, last_seq, customer.unwrap_or_default())
                    .await
            }
            (ClientFrame::Hello { .. }, true) => self.reject(
                ApiError::new(ErrorCode::Conflict, "hello was already received"),
                None,
            ),
            (_, false) => self.reject(ApiError::bad_request("the first frame must be hello"), None),
            (ClientFrame::Message { client_id, text }, true) => {
                self.on_message(client_id, text).await
            }
            (ClientFrame::Typing, true) => {
                if let Some(j) = &self.joined {
                    j.room.typing(crate::crm::Sender::Customer);
                }
                self.accepted()
            }
            (ClientFrame::Feedback { seq, helpful }, true) => self.on_feedback(seq, helpful).await,
            (ClientFrame::Rating { score, comment }, true) => self.on_rating(score, comment).await,
            (ClientFrame::Close, true) => self.on_close().await,
            (
                ClientFrame::Contact {
                    client_id,
                    email,
                    text,
                },
                true,
            ) => self.on_contact(client_id, email, text).await,
        }
    }

    fn accepted(&mut self) -> Flow {
        self.strikes = 0;
        Flow::Continue
    }
}

/// The next frame published to the joined room; pending before `hello`.
async fn next_published(
    joined: &mut Option<Joined>,
) -> Result<Published, broadcast::error::RecvError> {
    match joined {
        Some(j) => j.events.recv().await,
        None => std::future::pending().await,
    }
}

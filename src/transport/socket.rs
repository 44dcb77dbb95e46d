//! The skeleton both sockets share: a reading task and a writing task
//! joined by a bounded queue, the heartbeat, the deadline for `hello`, the
//! checks every client frame passes (text, size, protocol, rate) and the
//! strikes that close a socket sending too many bad frames. A socket kind
//! is a [`Session`]: its frame type, the events it follows besides its
//! client's frames, and what it does with each.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{
    close_code, CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade,
};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::guard::{ConnectionSlot, RateLimiter};
use crate::config::{Config, Limits};
use crate::crm::ConversationId;
use crate::error::{ApiError, ErrorCode};
use crate::protocol::{parse_frame, BadFrame};

/// What the connection does after a frame.
pub(super) enum Flow {
    Continue,
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
    /// The peer is gone or too slow; stop without a close handshake.
    Drop,
}

impl Flow {
    /// Whether the connection goes on.
    pub(super) fn goes_on(&self) -> bool {
        matches!(self, Flow::Continue)
    }
}

/// What an error frame is about, so the client can tie it to its cause.
#[derive(Debug, Clone, Default)]
pub(super) struct About {
    pub client_id: Option<String>,
    pub conversation_id: Option<ConversationId>,
}

impl About {
    pub(super) fn message(client_id: impl Into<String>) -> Self {
        Self {
            client_id: Some(client_id.into()),
            conversation_id: None,
        }
    }

    pub(super) fn conversation(id: ConversationId) -> Self {
        Self {
            client_id: None,
            conversation_id: Some(id),
        }
    }
}

/// One kind of socket: what it reads and what it follows.
pub(super) trait Session: Send {
    /// A client frame of this socket's protocol.
    type Frame: DeserializeOwned + Send;
    /// Something the session follows besides its client (a room, the
    /// queue).
    type Event: Send;

    /// This protocol's `error` frame.
    fn error_frame(error: ApiError, about: About) -> String;

    /// What a frame is about, for errors before it is handled.
    fn about(frame: &Self::Frame) -> About;

    /// Whether the client has said `hello`; until it has, the socket is
    /// closed at `limits.hello_timeout`.
    fn greeted(&self) -> bool;

    /// The next event; pending while there is nothing to follow.
    fn next_event(&mut self) -> impl Future<Output = Self::Event> + Send;

    fn on_event(
        &mut self,
        line: &mut Line,
        event: Self::Event,
    ) -> impl Future<Output = Flow> + Send;

    fn on_frame(
        &mut self,
        line: &mut Line,
        frame: Self::Frame,
    ) -> impl Future<Output = Flow> + Send;

    /// The connection is over; let go of what the session holds.
    fn on_end(&mut self) -> impl Future<Output = ()> + Send;
}

/// The client's end of a socket as the session sees it: sending, and the
/// count of rejected frames in a row.
pub(super) struct Line {
    out: Outbox,
    error_frame: fn(ApiError, About) -> String,
    /// Rejected frames in a row.
    strikes: u32,
    max_strikes: u32,
}

impl Line {
    pub(super) fn send_json(&self, json: impl Into<Utf8Bytes>) -> Flow {
        self.out.send(text(json))
    }

    /// Send, waiting while the outbox is full: for a burst the client
    /// asked for (a replay), where a full queue means "not yet", not "too
    /// slow". A client that reads nothing for `patience` is dropped.
    pub(super) async fn send_json_waiting(
        &self,
        json: impl Into<Utf8Bytes>,
        patience: std::time::Duration,
    ) -> Flow {
        let Some(out) = &self.out.0 else {
            return Flow::Drop;
        };
        match tokio::time::timeout(patience, out.send(text(json))).await {
            Ok(Ok(())) => Flow::Continue,
            Ok(Err(_)) => Flow::Drop,
            Err(_) => {
                tracing::info!(reason = "slow_reader", "socket disconnected");
                Flow::Drop
            }
        }
    }

    /// A queue to send on from another task; `None` once closing.
    pub(super) fn sender(&self) -> Option<mpsc::Sender<Outgoing>> {
        self.out.0.clone()
    }

    /// An error frame for a client frame the client should not have sent;
    /// too many in a row close the socket.
    pub(super) fn reject(&mut self, error: impl Into<ApiError>, about: About) -> Flow {
        let error = error.into();
        self.strikes += 1;
        tracing::debug!(code = ?error.code, strikes = self.strikes, "frame rejected");
        let flow = self.error(error, about);
        if self.strikes >= self.max_strikes {
            return Flow::Close(close_code::POLICY, "too many rejected frames");
        }
        flow
    }

    /// An error frame for a well-formed frame the server could not carry
    /// out (a lost race, a failed store): no strike, the client did
    /// nothing wrong in sending it.
    pub(super) fn refuse(&mut self, error: impl Into<ApiError>, about: About) -> Flow {
        let error = error.into();
        tracing::debug!(code = ?error.code, "frame refused");
        self.strikes = 0;
        self.error(error, about)
    }

    /// An error frame that leaves the strikes as they are.
    pub(super) fn error(&self, error: impl Into<ApiError>, about: About) -> Flow {
        self.send_json((self.error_frame)(error.into(), about))
    }

    /// A frame was handled well.
    pub(super) fn accepted(&mut self) -> Flow {
        self.strikes = 0;
        Flow::Continue
    }
}

enum Next<E> {
    Flow(Flow),
    Event(E),
    Frame(WsMessage),
}

/// Serve `session` on `socket` until either side ends it, the server
/// shuts down or the client goes quiet; `queue` bounds its outbox and
/// `limiter` its frame rate; `slot` counts the connection until it ends.
///
/// Everything the socket holds for its lifetime moves in here, so that
/// the caller's task holds only this future: an idle socket's memory is
/// what waiting needs (docs/benchmarks.md, "Idle sockets").
pub(super) async fn serve<S: Session>(
    socket: WebSocket,
    mut session: S,
    config: Arc<Config>,
    queue: usize,
    mut limiter: RateLimiter,
    shutdown: CancellationToken,
    slot: ConnectionSlot,
) {
    let _slot = slot;
    let limits = &config.limits;
    let (out, mut stream, writer) = Outbox::start(socket, queue);
    let mut line = Line {
        out,
        error_frame: S::error_frame,
        strikes: 0,
        max_strikes: limits.max_strikes,
    };
    let mut heartbeat = Heartbeat::start(limits).await;
    // A socket that never says hello would otherwise live on pongs alone.
    let mut hello_due = pin!(tokio::time::sleep(limits.hello_timeout));
    tracing::debug!("socket connected");
    let end = loop {
        let greeted = session.greeted();
        let next = tokio::select! {
            _ = shutdown.cancelled() => Next::Flow(Flow::Close(close_code::AWAY, "server shutting down")),
            _ = heartbeat.due() => Next::Flow(heartbeat.beat(&line.out)),
            _ = hello_due.as_mut(), if !greeted => Next::Flow(no_hello(&line, limits)),
            e = session.next_event() => Next::Event(e),
            f = stream.next() => match f {
                None => Next::Flow(Flow::Drop),
                Some(Err(e)) => Next::Flow(read_error(e)),
                Some(Ok(message)) => Next::Frame(message),
            },
        };
        // The work of one event or frame (a whole turn, for a message) is
        // boxed while it runs: inline, its state would make every
        // socket's task as large as the largest turn, idle or not.
        let flow = match next {
            Next::Flow(flow) => flow,
            Next::Event(e) => Box::pin(session.on_event(&mut line, e)).await,
            Next::Frame(message) => {
                heartbeat.heard();
                match admit::<S>(&mut line, &mut limiter, limits, message) {
                    Ok(frame) => Box::pin(session.on_frame(&mut line, frame)).await,
                    Err(flow) => flow,
                }
            }
        };
        if !flow.goes_on() {
            break flow;
        }
    };
    line.out.finish(&end);
    if let Flow::Close(..) = end {
        drain(&mut stream).await;
    }
    Box::pin(session.on_end()).await;
    wind_down(end, writer, limits.ping_interval).await;
    tracing::debug!("socket disconnected");
}

/// `hello` did not come in time: say so and close.
fn no_hello(line: &Line, limits: &Limits) -> Flow {
    tracing::info!(reason = "hello_timeout", "socket closed");
    let error = ApiError::bad_request(format!(
        "no hello within {:?} of connecting; reconnect and send hello first",
        limits.hello_timeout
    ));
    match line.error(error, About::default()) {
        Flow::Continue => Flow::Close(close_code::POLICY, "hello timeout"),
        other => other,
    }
}

/// The checks every client frame passes before its session sees it.
fn admit<S: Session>(
    line: &mut Line,
    limiter: &mut RateLimiter,
    limits: &Limits,
    message: WsMessage,
) -> Result<S::Frame, Flow> {
    let text = match message {
        WsMessage::Text(t) => t,
        WsMessage::Binary(_) => {
            return Err(line.reject(
                ApiError::bad_request("binary frames are not supported; send JSON text"),
                About::default(),
            ))
        }
        WsMessage::Ping(_) | WsMessage::Pong(_) => return Err(Flow::Continue),
        WsMessage::Close(_) => return Err(Flow::Drop),
    };
    let limit = limits.max_frame_bytes;
    if text.len() > limit {
        return Err(line.reject(
            ApiError::new(
                ErrorCode::TooLarge,
                format!("frames are limited to {limit} bytes"),
            ),
            About::default(),
        ));
    }
    let frame: S::Frame = match parse_frame(text.as_str()) {
        Ok(f) => f,
        Err(BadFrame { message, client_id }) => {
            return Err(line.reject(
                ApiError::bad_request(message),
                About {
                    client_id,
                    conversation_id: None,
                },
            ))
        }
    };
    if !limiter.allow(Instant::now()) {
        let wait = limiter.wait().as_millis() as u64 + 1;
        return Err(line.reject(
            ApiError::new(
                ErrorCode::RateLimited,
                "you are sending too fast; wait a moment and resend",
            )
            .retry_after(wait),
            S::about(&frame),
        ));
    }
    Ok(frame)
}

/// How long a closing socket keeps reading for the client's close frame.
const CLOSE_DRAIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Read and discard what the client still sends until its close frame
/// (or [`CLOSE_DRAIN`]), while the writer sends our error and close
/// frames. Closing with unread data would make the kernel reset the
/// connection, and the client would lose the frames explaining why.
async fn drain(stream: &mut futures_util::stream::SplitStream<WebSocket>) {
    let until_close = async {
        while let Some(Ok(message)) = stream.next().await {
            if let WsMessage::Close(_) = message {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_DRAIN, until_close).await;
}

/// A close frame for an outbox.
fn close(code: u16, reason: &'static str) -> Outgoing {
    Box::new(WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    })))
}

/// Pings a quiet peer and tells when it has been silent too long.
struct Heartbeat {
    ping: tokio::time::Interval,
    last_heard: std::time::Instant,
    idle_timeout: std::time::Duration,
}

impl Heartbeat {
    async fn start(limits: &Limits) -> Self {
        let mut ping = tokio::time::interval(limits.ping_interval);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ping.tick().await;
        Self {
            ping,
            last_heard: std::time::Instant::now(),
            idle_timeout: limits.idle_timeout,
        }
    }

    /// Wait for the next ping time.
    async fn due(&mut self) {
        self.ping.tick().await;
    }

    /// At ping time: close an idle socket, ping any other.
    fn beat(&self, out: &Outbox) -> Flow {
        if self.last_heard.elapsed() >= self.idle_timeout {
            Flow::Close(close_code::AWAY, "idle timeout")
        } else {
            out.send(Box::new(WsMessage::Ping(Default::default())))
        }
    }

    /// The peer sent something.
    fn heard(&mut self) {
        self.last_heard = std::time::Instant::now();
    }
}

/// After the loop: let the writer send the close frame (bounded by
/// `grace`), or stop it at once if the peer is gone.
async fn wind_down(end: Flow, writer: tokio::task::JoinHandle<()>, grace: std::time::Duration) {
    match end {
        Flow::Drop => writer.abort(),
        _ => {
            let _ = tokio::time::timeout(grace, writer).await;
        }
    }
}

/// Apply the frame and buffer limits to an upgrade.
pub(super) fn limited(ws: WebSocketUpgrade, limits: &Limits) -> WebSocketUpgrade {
    ws.max_message_size(limits.hard_max_frame_bytes)
        .max_frame_size(limits.hard_max_frame_bytes)
        .read_buffer_size(limits.socket_buffer_bytes)
        .write_buffer_size(limits.socket_buffer_bytes)
        .max_write_buffer_size(limits.socket_buffer_bytes.max(limits.hard_max_frame_bytes) * 4)
}

/// A frame waiting in a socket's outbox. Boxed because the queue
/// allocates its first block of 32 slots when it is created: 256 bytes
/// of pointers instead of 1.5 KiB of frames for every socket, idle or not.
pub(super) type Outgoing = Box<WsMessage>;

/// A JSON text frame for an outbox.
pub(super) fn text(json: impl Into<Utf8Bytes>) -> Outgoing {
    Box::new(WsMessage::Text(json.into()))
}

/// The sending half of a socket: frames queue for the writer task; a
/// full queue means a client that does not read, which is dropped.
struct Outbox(Option<mpsc::Sender<Outgoing>>);

impl Outbox {
    /// Split `socket`, start its writer and return the outbox with the
    /// reading half and the writer's handle.
    fn start(
        socket: WebSocket,
        queue: usize,
    ) -> (
        Self,
        futures_util::stream::SplitStream<WebSocket>,
        tokio::task::JoinHandle<()>,
    ) {
        let (sink, stream) = socket.split();
        let (out, rx) = mpsc::channel(queue);
        (Self(Some(out)), stream, tokio::spawn(write_loop(sink, rx)))
    }

    fn send(&self, message: Outgoing) -> Flow {
        let Some(out) = &self.0 else {
            return Flow::Drop;
        };
        match out.try_send(message) {
            Ok(()) => Flow::Continue,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::info!(reason = "slow_reader", "socket disconnected");
                Flow::Drop
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Flow::Drop,
        }
    }

    /// Send the close frame for `end` (if it is one) and stop sending.
    fn finish(&mut self, end: &Flow) {
        if let (Flow::Close(code, reason), Some(out)) = (end, &self.0) {
            tracing::debug!(code, reason, "closing socket");
            let _ = out.try_send(close(*code, reason));
        }
        self.0 = None;
    }
}

/// A read error: frames over the hard limit close with 1009, text that
/// is not UTF-8 with 1007, anything else means the connection is gone.
fn read_error(e: axum::Error) -> Flow {
    let text = e.to_string();
    if text.contains("Space limit exceeded")
        || text.contains("too long")
        || text.contains("Message too big")
    {
        Flow::Close(close_code::SIZE, "frame too large")
    } else if text.contains("UTF-8") || text.contains("utf-8") {
        Flow::Close(close_code::INVALID, "text frames must be UTF-8")
    } else {
        tracing::debug!(error = %text, "socket read failed");
        Flow::Drop
    }
}

async fn write_loop(mut sink: SplitSink<WebSocket, WsMessage>, mut rx: mpsc::Receiver<Outgoing>) {
    while let Some(message) = rx.recv().await {
        let closing = matches!(*message, WsMessage::Close(_));
        if sink.send(*message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

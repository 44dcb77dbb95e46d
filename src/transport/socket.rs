//! Plumbing shared by the customer and agent sockets: the writer task
//! behind a bounded queue, close frames, read errors and the size
//! settings of an upgrade.

use axum::extract::ws::{
    close_code, CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade,
};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use tokio::sync::mpsc;

use crate::config::Limits;

/// What the connection does after a frame.
pub(super) enum Flow {
    Continue,
    /// Close the socket with this code and reason.
    Close(u16, &'static str),
    /// The peer is gone or too slow; stop without a close handshake.
    Drop,
}

pub(super) fn close(code: u16, reason: &'static str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// Pings a quiet peer and tells when it has been silent too long.
pub(super) struct Heartbeat {
    ping: tokio::time::Interval,
    last_heard: std::time::Instant,
    idle_timeout: std::time::Duration,
}

impl Heartbeat {
    pub(super) async fn start(limits: &Limits) -> Self {
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
    pub(super) async fn due(&mut self) {
        self.ping.tick().await;
    }

    /// At ping time: close an idle socket, ping any other.
    pub(super) fn beat(&self, out: &Outbox) -> Flow {
        if self.last_heard.elapsed() >= self.idle_timeout {
            Flow::Close(close_code::AWAY, "idle timeout")
        } else {
            out.send(WsMessage::Ping(Default::default()))
        }
    }

    /// The peer sent something.
    pub(super) fn heard(&mut self) {
        self.last_heard = std::time::Instant::now();
    }
}

/// After the loop: let the writer send the close frame (bounded by
/// `grace`), or stop it at once if the peer is gone.
pub(super) async fn wind_down(
    end: Flow,
    writer: tokio::task::JoinHandle<()>,
    grace: std::time::Duration,
) {
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

/// The sending half of a socket: frames queue for the writer task; a
/// full queue means a client that does not read, which is dropped.
pub(super) struct Outbox(Option<mpsc::Sender<WsMessage>>);

impl Outbox {
    /// Split `socket`, start its writer and return the outbox with the
    /// reading half and the writer's handle.
    pub(super) fn start(
        socket: WebSocket,
        queue: usize,
    ) -> (
        Self,
        futures_util::stream::SplitStream<WebSocket>,
        tokio::task::JoinHandle<()>,
    ) {
        use futures_util::StreamExt;
        let (sink, stream) = socket.split();
        let (out, rx) = mpsc::channel(queue);
        (Self(Some(out)), stream, tokio::spawn(write_loop(sink, rx)))
    }

    pub(super) fn none() -> Self {
        Self(None)
    }

    pub(super) fn sender(&self) -> Option<mpsc::Sender<WsMessage>> {
        self.0.clone()
    }

    pub(super) fn send(&self, message: WsMessage) -> Flow {
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

    pub(super) fn text(&self, json: String) -> Flow {
        self.send(WsMessage::Text(json.into()))
    }

    /// Send the close frame for `end` (if it is one) and stop sending.
    pub(super) fn finish(&mut self, end: &Flow) {
        if let (Flow::Close(code, reason), Some(out)) = (end, &self.0) {
            tracing::debug!(code, reason, "closing socket");
            let _ = out.try_send(close(*code, reason));
        }
        self.0 = None;
    }
}

/// A read error: frames over the hard limit close with 1009, anything else
/// means the connection is gone.
pub(super) fn read_error(e: axum::Error) -> Flow {
    let text = e.to_string();
    if text.contains("Space limit exceeded")
        || text.contains("too long")
        || text.contains("Message too big")
    {
        Flow::Close(close_code::SIZE, "frame too large")
    } else {
        tracing::debug!(error = %text, "chat read failed");
        Flow::Drop
    }
}

async fn write_loop(mut sink: SplitSink<WebSocket, WsMessage>, mut rx: mpsc::Receiver<WsMessage>) {
    while let Some(message) = rx.recv().await {
        let closing = matches!(message, WsMessage::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
    let _ = sink.close().await;
}

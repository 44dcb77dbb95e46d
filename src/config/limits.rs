//! Limits on what one client may send and how long it may take.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Limits on what one client may send. All have safe defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest text frame (bytes) the chat socket accepts; larger frames get
    /// a `too_large` error frame.
    pub max_frame_bytes: usize,
    /// Frames above this many bytes close the socket with 1009.
    pub hard_max_frame_bytes: usize,
    /// Largest message text (characters) a customer may send.
    pub max_message_chars: usize,
    /// Sustained chat messages per second per connection.
    pub messages_per_second: f64,
    /// Burst allowance on top of the sustained rate.
    pub message_burst: u32,
    /// Rejected frames in a row before the socket is closed with 1008.
    pub max_strikes: u32,
    /// Concurrent websocket connections per client IP; the upgrade over it
    /// is refused with HTTP 429.
    pub connections_per_ip: usize,
    /// New conversations one client IP may open per minute, sustained.
    pub conversations_per_minute: f64,
    /// New conversations one client IP may open at once.
    pub conversation_burst: u32,
    /// Open TCP connections at once, HTTP and websockets together. One
    /// over it gets a 503 and is closed, so a flood of connections meets a
    /// clear refusal instead of running the process out of file
    /// descriptors. Lowered at start if the open-file limit is lower.
    pub max_connections: usize,
    /// A connection must send a whole request head (a websocket handshake
    /// is one) within this long; an idle keep-alive connection is closed
    /// after it.
    #[serde(with = "super::humantime_secs")]
    pub header_read_timeout: Duration,
    /// A socket must say `hello` within this long of its upgrade, or it is
    /// closed with 1008.
    #[serde(with = "super::humantime_secs")]
    pub hello_timeout: Duration,
    /// How often the server pings an idle socket.
    #[serde(with = "super::humantime_secs")]
    pub ping_interval: Duration,
    /// A socket that sends nothing (not even a pong) for this long is closed.
    #[serde(with = "super::humantime_secs")]
    pub idle_timeout: Duration,
    /// Websocket read/write buffer size in bytes.
    pub socket_buffer_bytes: usize,
    /// Frames queued for a slow reader before it is disconnected.
    pub outbound_queue: usize,
    /// Largest REST request body in bytes.
    pub max_body_bytes: usize,
}

/// The most `limits.max_connections` may be: about what Linux lets one
/// process open (`fs.nr_open`, 1048576 by default).
pub(super) const MAX_CONNECTIONS: usize = 1_000_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 8 * 1024,
            hard_max_frame_bytes: 64 * 1024,
            max_message_chars: 2000,
            messages_per_second: 2.0,
            message_burst: 8,
            max_strikes: 10,
            connections_per_ip: 16,
            conversations_per_minute: 30.0,
            conversation_burst: 20,
            // Ten thousand open widgets take tens of MB (docs/benchmarks.md,
            // "Idle sockets") and fit in the open-file limit that start-up
            // raises; they are far more than the ~280 turns/s one server
            // answers (docs/benchmarks.md) could keep busy.
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            socket_buffer_bytes: 512,
            outbound_queue: 64,
            max_body_bytes: 256 * 1024,
        }
    }
}

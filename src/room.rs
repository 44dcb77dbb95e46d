//! Live conversations: the sockets connected to each one.
//!
//! A [`Room`] exists while at least one socket holds it. Everything said in
//! a conversation is stored first, then published to its room; each socket
//! forwards what it receives, skipping messages it already sent (by `seq`),
//! so a client sees every message exactly once. A room's `turn` lock makes
//! the turns of one conversation run one after another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

use crate::crm::ConversationId;
use crate::protocol::ServerFrame;

/// Frames a lagging socket may fall behind before it replays from the store.
const ROOM_BUFFER: usize = 256;

/// A frame published to a room, serialised once for every socket.
#[derive(Debug, Clone)]
pub struct Published {
    /// The message `seq`, for frames that carry a stored message.
    pub seq: Option<u64>,
    pub json: Utf8Bytes,
}

pub struct Room {
    pub id: ConversationId,
    events: broadcast::Sender<Published>,
    /// Held for the length of one turn (store the customer message, decide,
    /// store the reply) so turns of a conversation never interleave.
    pub turn: tokio::sync::Mutex<()>,
}

impl Room {
    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.events.subscribe()
    }

    pub fn publish(&self, frame: &ServerFrame) {
        let seq = match frame {
            ServerFrame::Message { seq, .. } => Some(*seq),
            _ => None,
        };
        // No receivers just means nobody is connected right now.
        let _ = self.events.send(Published {
            seq,
            json: frame.to_json().into(),
        });
    }
}

/// Every live room, by conversation.
#[derive(Default)]
pub struct Hub {
    /// Weak so a room goes away with its last socket; dead entries are
    /// swept when the map doubles. Held only for map lookups.
    rooms: Mutex<Rooms>,
}

#[derive(Default)]
struct Rooms {
    map: HashMap<ConversationId, Weak<Room>>,
    sweep_at: usize,
}

impl Hub {
    /// The room of `id`, created if nobody is in it.
    pub fn join(&self, id: ConversationId) -> Arc<Room> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(room) = rooms.map.get(&id).and_then(Weak::upgrade) {
            return room;
        }
        let room = Arc::new(Room {
            id,
            events: broadcast::channel(ROOM_BUFFER).0,
            turn: tokio::sync::Mutex::new(()),
        });
        rooms.map.insert(id, Arc::downgrade(&room));
        if rooms.map.len() > rooms.sweep_at {
            rooms.map.retain(|_, w| w.strong_count() > 0);
            rooms.sweep_at = (rooms.map.len() * 2).max(64);
        }
        room
    }
}

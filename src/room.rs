//! Live conversations: the sockets connected to each one.
//!
//! A [`Room`] exists while at least one socket (the customer's or an
//! agent's) holds it. Everything said in a conversation is stored first,
//! then published to its room; each socket forwards what it receives,
//! skipping messages it already sent (by `seq`), so a client sees every
//! message exactly once. Customers get the protocol frame of each event
//! (none for notes and their own typing); agents get the event itself. A
//! room's `turn` lock makes the turns of one conversation run one after
//! another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

use chrono::{DateTime, Utc};

use crate::crm::{AgentRef, ConversationId, ConversationStatus, Message, Sender};
use crate::protocol::ServerFrame;

/// Frames a lagging socket may fall behind before it replays from the store.
const ROOM_BUFFER: usize = 256;

/// Something that happened in a conversation, as the agent console sees
/// it.
#[derive(Debug, Clone)]
pub enum RoomEvent {
    Message(Arc<Message>),
    Typing(Sender),
    /// The conversation changed hands.
    Status {
        status: ConversationStatus,
        agent: Option<AgentRef>,
    },
    /// An internal note; never shown to the customer.
    Note {
        agent: AgentRef,
        text: String,
        at: DateTime<Utc>,
    },
}

/// One published event: what agents see (if anything) and the frame
/// customers get (if any), serialised once for every socket.
#[derive(Debug, Clone)]
pub struct Published {
    pub event: Option<RoomEvent>,
    pub customer: Option<Utf8Bytes>,
}

impl Published {
    /// The message `seq`, for events that carry a stored message.
    pub fn seq(&self) -> Option<u64> {
        match &self.event {
            Some(RoomEvent::Message(m)) => Some(m.seq),
            _ => None,
        }
    }
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

    fn publish(&self, event: Option<RoomEvent>, customer: Option<&ServerFrame>) {
        // No receivers just means nobody is connected right now.
        let _ = self.events.send(Published {
            event,
            customer: customer.map(|f| f.to_json().into()),
        });
    }

    /// A stored message, for everyone.
    pub fn message(&self, m: &Message) {
        self.publish(
            Some(RoomEvent::Message(Arc::new(m.clone()))),
            Some(&ServerFrame::message(m)),
        );
    }

    /// Someone is typing; the customer sees the bot and agents typing,
    /// agents see the customer.
    pub fn typing(&self, from: Sender) {
        let frame = (from != Sender::Customer).then_some(ServerFrame::Typing { from });
        self.publish(Some(RoomEvent::Typing(from)), frame.as_ref());
    }

    /// The conversation changed hands; `frame` is the customer's `status`.
    pub fn status(&self, status: ConversationStatus, agent: Option<AgentRef>, frame: &ServerFrame) {
        self.publish(Some(RoomEvent::Status { status, agent }), Some(frame));
    }

    /// The conversation changed hands with nothing to tell the customer
    /// yet (their queue position follows separately).
    pub fn agents_status(&self, status: ConversationStatus, agent: Option<AgentRef>) {
        self.publish(Some(RoomEvent::Status { status, agent }), None);
    }

    /// A frame for the customer only (a queue position update).
    pub fn to_customer(&self, frame: &ServerFrame) {
        self.publish(None, Some(frame));
    }

    /// An internal note, for agents only.
    pub fn note(&self, agent: AgentRef, text: String, at: DateTime<Utc>) {
        self.publish(Some(RoomEvent::Note { agent, text, at }), None);
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
    /// The room of `id` if anyone is in it.
    pub fn get(&self, id: ConversationId) -> Option<Arc<Room>> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.map.get(&id).and_then(Weak::upgrade)
    }

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

//! Live conversations: the sockets connected to each one.
//!
//! A [`Room`] exists while at least one socket (the customer's or an
//! agent's) holds it. Everything said in a conversation is stored first,
//! then published to its room as a typed [`RoomEvent`]; each socket turns
//! the events it cares about into frames of its own protocol, skipping
//! messages it already sent (by `seq`), so a client sees every message
//! exactly once. The customer frame of an event is rendered once per room,
//! by the first customer socket that forwards it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};

use crate::crm::{AgentRef, ConversationId, ConversationStatus, EscalationCode, Message, Sender};
use crate::nlu::multilingual::LANGUAGES;
use crate::transcripts::Feed;

/// Events a lagging socket may fall behind before it replays from the
/// store. Every room allocates this many slots (about 40 bytes each) when
/// it opens, idle or not; a customer socket falls behind by the events of
/// its own turn (echo, typing, reply, perhaps a handover and a place in
/// line) while it runs it, and a socket that lags replays the messages
/// it missed from the store.
const ROOM_BUFFER: usize = 16;

/// Something that happened in a conversation.
#[derive(Debug, Clone)]
pub(crate) enum RoomEvent {
    Message(Arc<Message>),
    Typing(Sender),
    /// The conversation changed hands.
    Handover(Handover),
    /// A queued customer's place in line; for the customer only.
    Place(Place),
    /// An internal note; never shown to the customer.
    Note {
        agent: AgentRef,
        text: String,
        at: DateTime<Utc>,
    },
    /// The conversation's labels changed; for agents only.
    Labels(Vec<String>),
    /// Who has the conversation open in a console; for agents only.
    Viewers(Vec<AgentRef>),
    /// The conversation was erased (or removed by retention): every
    /// socket lets go of it.
    Erased,
}

/// A change of hands: who has the conversation now, and how it came to
/// them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Handover {
    pub status: ConversationStatus,
    /// The owner while it is `agent`.
    pub agent: Option<AgentRef>,
    pub how: HandoverKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HandoverKind {
    /// Into the queue (escalated or released); the customer hears their
    /// place separately.
    Queued,
    /// An agent took it from the queue or from the bot.
    Joined,
    /// Transferred from another agent.
    TakenOver,
    /// Back to the bot.
    BackToBot,
    /// Closed, by the agent named, by the customer, or by the server
    /// after a while without messages (`idle`).
    Closed {
        by_agent: Option<AgentRef>,
        idle: bool,
    },
}

/// Where a queued customer stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Place {
    /// 1-based.
    pub position: Option<usize>,
    pub agents_online: bool,
    pub news: PlaceNews,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PlaceNews {
    /// The customer hears of their place for the first time (just
    /// escalated, or joining while queued), with the reason they wait.
    Waiting(Option<EscalationCode>),
    /// Their place changed.
    Moved,
}

/// One published event, shared by every socket of the room.
#[derive(Debug)]
pub(crate) struct Published {
    pub event: RoomEvent,
    /// The customer protocol's frame of `event` (`None`: nothing to
    /// send), rendered once by the first customer socket.
    customer_frame: OnceLock<Option<Utf8Bytes>>,
}

impl Published {
    /// The message `seq`, for events that carry a stored message.
    pub(crate) fn seq(&self) -> Option<u64> {
        match &self.event {
            RoomEvent::Message(m) => Some(m.seq),
            _ => None,
        }
    }

    /// The customer frame, rendered by `render` the first time it is
    /// asked for.
    pub(crate) fn customer_frame(
        &self,
        render: impl FnOnce(&RoomEvent) -> Option<Utf8Bytes>,
    ) -> Option<Utf8Bytes> {
        self.customer_frame
            .get_or_init(|| render(&self.event))
            .clone()
    }
}

pub(crate) struct Room {
    pub id: ConversationId,
    events: broadcast::Sender<Arc<Published>>,
    /// Held for the length of one turn (store the customer message, decide,
    /// store the reply) so turns of a conversation never interleave.
    pub turn: Arc<tokio::sync::Mutex<()>>,
    /// The language of the customer's last message whose language was
    /// detected, if the multilingual model reads it (`None` for English),
    /// while the room is open (not stored): a message too short to tell
    /// ("Danke!", "allô ?") is read in it, and what the customer is told
    /// of the queue is said in it. Written by the turn holding
    /// [`Room::turn`].
    language: Mutex<Option<&'static str>>,
    feed: Option<mpsc::Sender<Feed>>,
}

impl Room {
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.events.subscribe()
    }

    pub(crate) fn publish(&self, event: RoomEvent) {
        // No receivers just means nobody is connected right now.
        let _ = self.events.send(Arc::new(Published {
            event,
            customer_frame: OnceLock::new(),
        }));
    }

    /// A stored message, for everyone.
    pub(crate) fn message(&self, m: &Message) {
        let m = Arc::new(m.clone());
        if let Some(feed) = &self.feed {
            if feed.try_send(Feed::Message(self.id, m.clone())).is_err() {
                tracing::warn!(conversation_id = %self.id, "transcript index behind; message not indexed until restart");
            }
        }
        self.publish(RoomEvent::Message(m));
    }

    pub(crate) fn typing(&self, from: Sender) {
        self.publish(RoomEvent::Typing(from));
    }

    /// The customer's language, if a message of theirs told it and it is
    /// one the multilingual model reads.
    pub(crate) fn language(&self) -> Option<&'static str> {
        *self.language.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remember the language of the customer's latest message.
    pub(crate) fn set_language(&self, language: &str) {
        *self.language.lock().unwrap_or_else(|p| p.into_inner()) =
            LANGUAGES.iter().copied().find(|l| *l == language);
    }
}

/// Every live room, by conversation.
#[derive(Default)]
pub(crate) struct Hub {
    /// Weak so a room goes away with its last socket; dead entries are
    /// swept when the map doubles. Held only for map lookups.
    rooms: Mutex<Rooms>,
    /// Where every stored message also goes: the transcript index.
    feed: Option<mpsc::Sender<Feed>>,
}

#[derive(Default)]
struct Rooms {
    map: HashMap<ConversationId, Weak<Room>>,
    sweep_at: usize,
}

impl Hub {
    /// A hub that feeds every stored message (and every conversation
    /// that is gone) to `feed`.
    pub(crate) fn with_feed(feed: mpsc::Sender<Feed>) -> Self {
        Self {
            rooms: Mutex::default(),
            feed: Some(feed),
        }
    }

    /// Conversation `id` no longer exists: it leaves the feed's index.
    pub(crate) fn forgotten(&self, id: ConversationId) {
        if let Some(feed) = &self.feed {
            let _ = feed.try_send(Feed::Forget(id));
        }
    }

    /// The room of `id` if anyone is in it.
    pub(crate) fn get(&self, id: ConversationId) -> Option<Arc<Room>> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.map.get(&id).and_then(Weak::upgrade)
    }

    /// The room of `id`, created if nobody is in it.
    pub(crate) fn join(&self, id: ConversationId) -> Arc<Room> {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(room) = rooms.map.get(&id).and_then(Weak::upgrade) {
            return room;
        }
        let room = Arc::new(Room {
            id,
            events: broadcast::channel(ROOM_BUFFER).0,
            turn: Arc::default(),
            language: Mutex::default(),
            feed: self.feed.clone(),
        });
        rooms.map.insert(id, Arc::downgrade(&room));
        if rooms.map.len() > rooms.sweep_at {
            rooms.map.retain(|_, w| w.strong_count() > 0);
            rooms.map.shrink_to_fit();
            rooms.sweep_at = (rooms.map.len() * 2).max(64);
        }
        room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_socket_busy_with_a_turn_misses_nothing_of_it() {
        let hub = Hub::default();
        let room = hub.join(ConversationId::new());
        let mut events = room.subscribe();
        // More than one turn publishes: echo, typing, reply, handover,
        // place in line.
        for _ in 0..8 {
            room.typing(Sender::Bot);
        }
        for _ in 0..8 {
            assert!(events.recv().await.is_ok(), "the socket lagged");
        }
    }

    #[test]
    fn a_room_lives_as_long_as_a_socket_holds_it() {
        let hub = Hub::default();
        let id = ConversationId::new();
        let room = hub.join(id);
        assert!(Arc::ptr_eq(&room, &hub.join(id)));
        drop(room);
        assert!(hub.get(id).is_none());
    }
}

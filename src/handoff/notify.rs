//! After a change of hands: keep the queue in step with the store, tell
//! the conversation's room, move the customers whose place changed, and
//! send consoles the new snapshot.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::queue::{Preview, QueueSnapshot, Waiting};
use super::{takeover, Desk, Handoff};
use crate::crm::{
    Conversation, ConversationStatus as Status, EventKind, Store, StoreError, Updated,
};
use crate::nlu::Sentiment;
use crate::room::{Handover, HandoverKind, Place, PlaceNews, RoomEvent};

impl Handoff {
    /// After a change of hands: update the queue, tell the conversation's
    /// sockets, then everyone whose position moved and every console.
    pub(super) async fn changed(
        &self,
        desk: &mut Desk,
        updated: &Updated,
        sentiment: Option<Sentiment>,
    ) -> Result<(), StoreError> {
        let c = &updated.conversation;
        match c.status {
            Status::Queued | Status::Agent => {
                let known = desk.waiting.get(&c.id).cloned();
                let mut w = match known {
                    Some(mut w) => {
                        w.status = c.status;
                        w.assigned = c.assigned.clone();
                        if let Some(e) = &c.escalation {
                            w.escalation = e.clone();
                        }
                        w
                    }
                    None => waiting_of(&self.store, c, sentiment).await?,
                };
                if sentiment.is_some() {
                    w.sentiment = sentiment;
                }
                desk.waiting.insert(c.id, w);
            }
            Status::Bot | Status::Closed => {
                desk.waiting.remove(&c.id);
            }
        }
        desk.told.remove(&c.id);
        if let Some(room) = self.hub.get(c.id) {
            let how = match c.status {
                Status::Queued => HandoverKind::Queued,
                Status::Agent => {
                    let transferred = updated
                        .events
                        .iter()
                        .any(|e| matches!(e.kind, EventKind::Assigned { from: Some(_), .. }));
                    match transferred {
                        true => HandoverKind::TakenOver,
                        false => HandoverKind::Joined,
                    }
                }
                Status::Bot => HandoverKind::BackToBot,
                Status::Closed => HandoverKind::Closed {
                    by_agent: updated.events.iter().find_map(|e| match &e.kind {
                        EventKind::ConversationClosed { agent, .. } => agent.clone(),
                        _ => None,
                    }),
                    idle: updated.events.iter().any(|e| {
                        matches!(
                            &e.kind,
                            EventKind::ConversationClosed {
                                by: crate::crm::Sender::System,
                                ..
                            }
                        )
                    }),
                },
            };
            room.publish(RoomEvent::Handover(Handover {
                status: c.status,
                agent: c.assigned.clone(),
                how,
            }));
        }
        self.publish(desk);
        Ok(())
    }

    /// Send the snapshot to consoles if it changed, and queued customers
    /// their position if it moved.
    pub(super) fn publish(&self, desk: &mut Desk) {
        let items = desk.items(&self.settings);
        let online = self.agents_available(desk);
        for item in &items {
            let Some(position) = item.position else {
                continue;
            };
            let before = desk.told.insert(item.conversation_id, (position, online));
            if before == Some((position, online)) {
                continue;
            }
            let Some(room) = self.hub.get(item.conversation_id) else {
                continue;
            };
            room.publish(RoomEvent::Place(Place {
                position: Some(position),
                agents_online: online,
                news: match before {
                    None => PlaceNews::Waiting(Some(item.reason.code)),
                    Some(_) => PlaceNews::Moved,
                },
            }));
        }
        desk.told.retain(|id, _| desk.waiting.contains_key(id));
        let snapshot = QueueSnapshot {
            items,
            agents: self.agent_views(desk),
        };
        self.updates.send_if_modified(|current| {
            if current.same_order(&snapshot) {
                return false;
            }
            *current = Arc::new(snapshot);
            true
        });
    }

    /// Re-order for the overdue flags; called by the periodic check.
    async fn refresh(&self) {
        let mut desk = self.desk.lock().await;
        self.publish(&mut desk);
    }
}

/// The queue entry of a conversation with a person.
pub(super) async fn waiting_of(
    store: &Store,
    c: &Conversation,
    sentiment: Option<Sentiment>,
) -> Result<Waiting, StoreError> {
    let customer = store.customer(c.customer_id).await.ok();
    let recent = store.recent_events(c.id, 20).await?;
    let messages = || {
        recent.iter().rev().filter_map(|e| match &e.kind {
            EventKind::Message { message } => Some(message),
            _ => None,
        })
    };
    let sentiment =
        sentiment.or_else(|| messages().find_map(|m| m.analysis.as_ref().map(|a| a.sentiment)));
    let escalation = c
        .escalation
        .clone()
        .unwrap_or_else(|| takeover(c.opened_at));
    Ok(Waiting {
        conversation_id: c.id,
        customer_id: c.customer_id,
        customer_name: customer.as_ref().and_then(|c| c.name.clone()),
        customer_email: customer.and_then(|c| c.email),
        status: c.status,
        escalation,
        assigned: c.assigned.clone(),
        sentiment,
        labels: c.labels.clone(),
        last_message: messages().next().map(Preview::of),
    })
}

pub(super) async fn overdue_check(
    handoff: std::sync::Weak<Handoff>,
    tick: Duration,
    shutdown: CancellationToken,
) {
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let Some(handoff) = handoff.upgrade() else {
            return;
        };
        handoff.refresh().await;
    }
}

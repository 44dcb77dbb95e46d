//! What happens around a conversation with a person besides changes of
//! hands: its latest message, its labels, and who has it open.

use chrono::Utc;

use super::queue::Preview;
use super::{Handoff, HandoffError};
use crate::crm::{AgentRef, ConversationId, EventKind, Message, Sender};
use crate::input::Labels;
use crate::room::RoomEvent;

/// Whether the team takes conversations now, as customers are told.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Availability {
    /// Inside business hours (always, when none are set).
    pub open: bool,
    /// Someone can answer now: inside hours (or queueing out of hours)
    /// and an agent online.
    pub agents_online: bool,
    pub reply_time: Option<String>,
    pub opens_at: Option<chrono::DateTime<Utc>>,
}

impl Handoff {
    /// A message was stored in conversation `id`: keep its queue line's
    /// preview (and, for a customer's, sentiment) current.
    pub(crate) async fn said(&self, id: ConversationId, message: &Message) {
        let mut desk = self.desk.lock().await;
        let Some(w) = desk.waiting.get_mut(&id) else {
            return;
        };
        w.last_message = Some(Preview::of(message));
        if message.from == Sender::Customer {
            if let Some(a) = &message.analysis {
                w.sentiment = Some(a.sentiment);
            }
        }
        self.publish(&mut desk);
    }

    /// Set the labels of conversation `id`; the labels as stored.
    pub(crate) async fn label(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        labels: Labels,
    ) -> Result<Vec<String>, HandoffError> {
        let labels = labels.into_vec();
        let mut desk = self.desk.lock().await;
        let (a, l) = (agent.clone(), labels.clone());
        let updated = self
            .store
            .update_conversation(id, move |c| {
                if c.labels == l {
                    return Ok::<_, HandoffError>(Vec::new());
                }
                c.labels = l.clone();
                Ok(vec![EventKind::Labeled {
                    agent: a.clone(),
                    labels: l.clone(),
                }])
            })
            .await?;
        if updated.changed() {
            if let Some(w) = desk.waiting.get_mut(&id) {
                w.labels = labels.clone();
            }
            if let Some(room) = self.hub.get(id) {
                room.publish(RoomEvent::Labels(labels.clone()));
            }
            self.publish(&mut desk);
        }
        Ok(labels)
    }

    /// `agent` opened (`true`) or closed (`false`) conversation `id` in
    /// a console; everyone watching it hears who is there.
    pub(crate) async fn viewing(&self, id: ConversationId, agent: &AgentRef, open: bool) {
        let mut desk = self.desk.lock().await;
        if !desk.viewers.set(id, agent, open) {
            return;
        }
        if let Some(room) = self.hub.get(id) {
            room.publish(RoomEvent::Viewers(desk.viewers.of(id)));
        }
        if desk.waiting.contains_key(&id) {
            self.publish(&mut desk);
        }
    }

    /// Whether business hours are on now, and who can answer.
    pub(crate) async fn availability(&self) -> Availability {
        let desk = self.desk.lock().await;
        let now = Utc::now();
        Availability {
            open: self.schedule.is_open(now),
            agents_online: self.agents_available(&desk),
            reply_time: self.schedule.reply_time.clone(),
            opens_at: self.schedule.opens_at(now),
        }
    }
}

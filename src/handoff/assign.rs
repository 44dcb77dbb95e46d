//! Conversations that become an agent's without them claiming it: a
//! colleague's transfer, or automatic assignment (`handoff.assignment =
//! "auto"`), which gives each queued conversation, in queue order, to the
//! online agent with the fewest conversations who has room.

use std::sync::Arc;

use chrono::Utc;

use super::{active, takeover, transitions, Desk, Handoff, HandoffError};
use crate::config::{Assignment, OutOfHours};
use crate::crm::{AgentRef, ConversationId, ConversationStatus};
use crate::handoff::Presence;

/// How a conversation came to an agent unasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HowAssigned {
    Transfer,
    Auto,
}

/// Told to the agent who received a conversation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assigned {
    pub agent_id: String,
    pub conversation_id: ConversationId,
    pub how: HowAssigned,
    /// The colleague who transferred it.
    pub by: Option<AgentRef>,
    pub customer_name: Option<String>,
}

impl Handoff {
    /// Follow what becomes whose; each agent session keeps its own.
    pub(crate) fn assignments(&self) -> tokio::sync::broadcast::Receiver<Arc<Assigned>> {
        self.assignments.subscribe()
    }

    pub(super) fn tell_assigned(&self, desk: &Desk, assigned: Assigned) {
        let customer_name = desk
            .waiting
            .get(&assigned.conversation_id)
            .and_then(|w| w.customer_name.clone());
        let _ = self.assignments.send(Arc::new(Assigned {
            customer_name,
            ..assigned
        }));
    }

    /// Someone can answer a queued customer now.
    pub(super) fn agents_available(&self, desk: &Desk) -> bool {
        desk.roster.anyone_online()
            && (self.schedule.out_of_hours == OutOfHours::Queue
                || self.schedule.is_open(Utc::now()))
    }

    /// With automatic assignment: hand out queued conversations while an
    /// online agent has room. A conversation that cannot be assigned (it
    /// changed meanwhile) ends the round; the next change starts another.
    pub(super) async fn assign_waiting(&self, desk: &mut Desk) {
        if self.settings.assignment != Assignment::Auto || !self.agents_available(desk) {
            return;
        }
        loop {
            let Some(id) = desk
                .items(&self.settings)
                .iter()
                .find(|i| i.status == ConversationStatus::Queued)
                .map(|i| i.conversation_id)
            else {
                return;
            };
            let Some(agent) = self.least_loaded(desk) else {
                return;
            };
            let (a, t) = (agent.clone(), takeover(Utc::now()));
            let updated = match self
                .store
                .update_conversation(id, move |c| {
                    transitions::claim(c, &a, &t).map_err(HandoffError::from)
                })
                .await
            {
                Ok(u) if u.changed() => u,
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(conversation_id = %id, error = %e, "automatic assignment failed");
                    return;
                }
            };
            tracing::info!(conversation_id = %id, agent_id = %agent.id, "conversation assigned");
            if let Err(e) = self.changed(desk, &updated, None).await {
                tracing::warn!(conversation_id = %id, error = %e, "automatic assignment not published");
                return;
            }
            self.tell_assigned(
                desk,
                Assigned {
                    agent_id: agent.id,
                    conversation_id: id,
                    how: HowAssigned::Auto,
                    by: None,
                    customer_name: None,
                },
            );
        }
    }

    /// The online agent with room and the fewest conversations (ties:
    /// the lowest id, so the choice is stable).
    fn least_loaded(&self, desk: &Desk) -> Option<AgentRef> {
        let capacity = self.settings.agent_capacity;
        desk.roster
            .views(|id| active(desk, id), capacity)
            .into_iter()
            .filter(|a| a.presence == Presence::Online && a.active < capacity)
            .min_by(|a, b| (a.active, &a.id).cmp(&(b.active, &b.id)))
            .map(|a| AgentRef {
                id: a.id,
                name: a.name,
            })
    }
}

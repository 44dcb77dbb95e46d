//! Human handoff: the queue of escalated conversations, agent presence,
//! and every change of hands (escalate, claim, release, transfer, hand
//! back, close) with the notifications each one sends.
//!
//! The store is the source of truth: each change is one transaction over
//! the conversation's header and timeline ([`transitions`]), and the queue
//! in memory is rebuilt from it at start. Changes run one at a time under
//! the desk lock, so the queue, the places told to customers and the
//! snapshot sent to consoles always agree. Consoles follow the queue
//! through a `watch` channel that holds the latest [`QueueSnapshot`].
//!
//! What happens is published to the conversation's room as typed events
//! ([`Handover`], [`Place`]); the sockets decide what each of their
//! clients sees and in which words.

mod activity;
mod assign;
mod briefing;
mod error;
mod idle;
mod notify;
mod presence;
mod queue;
mod transitions;
mod viewers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{broadcast, watch, Mutex};
use tokio_util::sync::CancellationToken;

pub(crate) use activity::Availability;
pub(crate) use assign::{Assigned, HowAssigned};
pub(crate) use briefing::{brief, Briefing, Suggester};
pub(crate) use error::{HandoffError, Refusal, Who};
pub(crate) use presence::{AgentView, Presence};
pub(crate) use queue::{QueueItem, QueueSnapshot};

use crate::config::{HandoffSettings, Schedule};
use crate::copy;
use crate::crm::{
    AgentRef, Conversation, ConversationId, ConversationStatus as Status, Escalation,
    EscalationCode, EventKind, Sender, Store, StoreError, Updated,
};
use crate::dialogue::escalation::Trigger;
use crate::nlu::Sentiment;
use crate::room::{Hub, Place, PlaceNews, RoomEvent};
use notify::{overdue_check, waiting_of};
use presence::Roster;
use queue::Waiting;
use viewers::Viewers;

/// Where a customer joining a conversation with a person stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Standing {
    Queued(Place),
    WithAgent(Option<AgentRef>),
}

pub(crate) struct Handoff {
    store: Store,
    hub: Arc<Hub>,
    settings: HandoffSettings,
    schedule: Schedule,
    desk: Mutex<Desk>,
    updates: watch::Sender<Arc<QueueSnapshot>>,
    /// Conversations that became an agent's without them claiming it.
    assignments: broadcast::Sender<Arc<Assigned>>,
}

#[derive(Default)]
struct Desk {
    waiting: HashMap<ConversationId, Waiting>,
    roster: Roster,
    viewers: Viewers,
    /// The last (position, agents online) told to each queued customer.
    told: HashMap<ConversationId, (usize, bool)>,
}

impl Desk {
    /// The queue in order, as of `now`.
    fn items(&self, settings: &HandoffSettings) -> Vec<QueueItem> {
        queue::order(self.waiting.values(), Utc::now(), settings, |id| {
            self.viewers.of(id)
        })
    }
}

impl Handoff {
    /// Rebuild the queue from the store and start the overdue check.
    pub(crate) async fn start(
        store: Store,
        hub: Arc<Hub>,
        settings: HandoffSettings,
        schedule: Schedule,
        close_idle_after: Duration,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, StoreError> {
        let mut desk = Desk::default();
        for c in store.handoffs().await? {
            let w = waiting_of(&store, &c, None).await?;
            desk.waiting.insert(c.id, w);
        }
        let handoff = Arc::new(Self {
            store,
            hub,
            settings,
            schedule,
            desk: Mutex::new(desk),
            updates: watch::channel(Arc::new(QueueSnapshot::default())).0,
            assignments: broadcast::channel(64).0,
        });
        {
            let mut desk = handoff.desk.lock().await;
            handoff.publish(&mut desk);
            handoff.assign_waiting(&mut desk).await;
        }
        let tick = (handoff.settings.overdue_after / 10)
            .clamp(Duration::from_millis(100), Duration::from_secs(5));
        tokio::spawn(overdue_check(
            Arc::downgrade(&handoff),
            tick,
            shutdown.clone(),
        ));
        tokio::spawn(idle::close_idle(
            Arc::downgrade(&handoff),
            close_idle_after,
            shutdown,
        ));
        Ok(handoff)
    }

    pub(crate) fn settings(&self) -> &HandoffSettings {
        &self.settings
    }

    /// Follow the queue: the receiver always holds the latest snapshot.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<QueueSnapshot>> {
        self.updates.subscribe()
    }

    /// The queue now, with fresh waiting times.
    pub(crate) async fn queue(&self) -> QueueSnapshot {
        let desk = self.desk.lock().await;
        QueueSnapshot {
            items: desk.items(&self.settings),
            agents: self.agent_views(&desk),
        }
    }

    /// Put a conversation the bot is answering in the queue. Returns
    /// whether it changed (it may already be queued or closed).
    pub(crate) async fn escalate(
        &self,
        id: ConversationId,
        trigger: Trigger,
        sentiment: Option<Sentiment>,
    ) -> Result<bool, HandoffError> {
        let escalation = Escalation {
            code: trigger.code,
            message: copy::escalation(trigger.code).to_owned(),
            scores: trigger.scores,
            at: Utc::now(),
        };
        let mut desk = self.desk.lock().await;
        let updated = self
            .store
            .update_conversation(id, move |c| {
                transitions::escalate(c, &escalation).map_err(HandoffError::from)
            })
            .await?;
        if !updated.changed() {
            return Ok(false);
        }
        tracing::info!(conversation_id = %id, reason = trigger.code.as_str(), "conversation escalated");
        self.changed(&mut desk, &updated, sentiment).await?;
        self.assign_waiting(&mut desk).await;
        Ok(true)
    }

    /// An agent takes a conversation: from the queue, or over from the bot.
    pub(crate) async fn claim(
        &self,
        id: ConversationId,
        agent: &AgentRef,
    ) -> Result<Updated, HandoffError> {
        let mut desk = self.desk.lock().await;
        let owned = desk
            .waiting
            .get(&id)
            .is_some_and(|w| w.assigned.as_ref().is_some_and(|a| a.id == agent.id));
        if !owned {
            self.may_take(&desk, &agent.id, Who::You, &agent.name)?;
        }
        let takeover = takeover(Utc::now());
        let a = agent.clone();
        let updated = self
            .store
            .update_conversation(id, move |c| {
                transitions::claim(c, &a, &takeover).map_err(HandoffError::from)
            })
            .await?;
        if updated.changed() {
            tracing::info!(conversation_id = %id, agent_id = %agent.id, "conversation claimed");
            self.changed(&mut desk, &updated, None).await?;
        }
        Ok(updated)
    }

    pub(crate) async fn release(
        &self,
        id: ConversationId,
        agent: &AgentRef,
    ) -> Result<Updated, HandoffError> {
        let a = agent.clone();
        self.apply(id, move |c| transitions::release(c, &a)).await
    }

    pub(crate) async fn transfer(
        &self,
        id: ConversationId,
        from: &AgentRef,
        to: &str,
    ) -> Result<Updated, HandoffError> {
        let mut desk = self.desk.lock().await;
        let Some(target) = desk.roster.online(to) else {
            return Err(Refusal::TargetOffline.into());
        };
        if target.id != from.id {
            self.may_take(&desk, &target.id, Who::Them, &target.name)?;
        }
        let a = from.clone();
        let updated = self
            .store
            .update_conversation(id, move |c| {
                transitions::transfer(c, &a, &target).map_err(HandoffError::from)
            })
            .await?;
        if updated.changed() {
            self.changed(&mut desk, &updated, None).await?;
            if let Some(to) = &updated.conversation.assigned {
                self.tell_assigned(
                    &desk,
                    Assigned {
                        agent_id: to.id.clone(),
                        conversation_id: id,
                        how: HowAssigned::Transfer,
                        by: Some(from.clone()),
                        customer_name: None,
                    },
                );
            }
        }
        Ok(updated)
    }

    pub(crate) async fn hand_back(
        &self,
        id: ConversationId,
        agent: &AgentRef,
    ) -> Result<Updated, HandoffError> {
        let a = agent.clone();
        self.apply(id, move |c| transitions::hand_back(c, &a)).await
    }

    /// Close a conversation: by the customer, or by the agent who owns it
    /// with a resolution.
    pub(crate) async fn close(
        &self,
        id: ConversationId,
        by: Sender,
        agent: Option<&AgentRef>,
        resolution: Option<String>,
    ) -> Result<Updated, HandoffError> {
        let a = agent.cloned();
        self.apply(id, move |c| {
            transitions::close(c, by, a.as_ref(), resolution.as_deref())
        })
        .await
    }

    async fn apply<F>(&self, id: ConversationId, change: F) -> Result<Updated, HandoffError>
    where
        F: Fn(&mut Conversation) -> Result<Vec<EventKind>, Refusal> + Send + 'static,
    {
        let mut desk = self.desk.lock().await;
        let updated = self
            .store
            .update_conversation(id, move |c| change(c).map_err(HandoffError::from))
            .await?;
        if updated.changed() {
            self.changed(&mut desk, &updated, None).await?;
            // Released or closed: an agent may have room now.
            self.assign_waiting(&mut desk).await;
        }
        Ok(updated)
    }

    /// An internal note on a conversation, for agents only.
    pub(crate) async fn note(
        &self,
        id: ConversationId,
        agent: &AgentRef,
        text: String,
    ) -> Result<(), HandoffError> {
        let event = self
            .store
            .record_event(
                id,
                EventKind::Note {
                    agent: agent.clone(),
                    text: text.clone(),
                },
            )
            .await?;
        if let Some(room) = self.hub.get(id) {
            room.publish(RoomEvent::Note {
                agent: agent.clone(),
                text,
                at: event.at,
            });
        }
        Ok(())
    }

    /// Conversations that no longer exist (erased or removed by
    /// retention) leave the queue and the agents' load.
    pub(crate) async fn forget(&self, ids: &[ConversationId]) {
        let mut desk = self.desk.lock().await;
        let before = desk.waiting.len();
        for id in ids {
            desk.waiting.remove(id);
            desk.viewers.forget(*id);
        }
        if desk.waiting.len() != before {
            self.publish(&mut desk);
            self.assign_waiting(&mut desk).await;
        }
    }

    /// A socket of `agent` connected.
    pub(crate) async fn connect(&self, agent: &AgentRef) {
        let mut desk = self.desk.lock().await;
        desk.roster.connect(agent);
        self.publish(&mut desk);
        self.assign_waiting(&mut desk).await;
    }

    pub(crate) async fn disconnect(&self, agent: &AgentRef) {
        let mut desk = self.desk.lock().await;
        desk.roster.disconnect(&agent.id);
        self.publish(&mut desk);
    }

    pub(crate) async fn set_presence(
        &self,
        agent: &AgentRef,
        presence: Presence,
    ) -> Result<(), HandoffError> {
        let away = match presence {
            Presence::Online => false,
            Presence::Away => true,
            Presence::Offline => return Err(Refusal::OfflinePresence.into()),
        };
        let mut desk = self.desk.lock().await;
        desk.roster.set_away(&agent.id, away);
        self.publish(&mut desk);
        self.assign_waiting(&mut desk).await;
        Ok(())
    }

    pub(crate) async fn presence(&self, agent_id: &str) -> Presence {
        self.desk.lock().await.roster.presence(agent_id)
    }

    /// Where a customer joining conversation `c` stands, if a person is
    /// involved.
    pub(crate) async fn standing(&self, c: &Conversation) -> Option<Standing> {
        match c.status {
            Status::Queued => {
                let desk = self.desk.lock().await;
                let items = desk.items(&self.settings);
                let position = items
                    .iter()
                    .find(|i| i.conversation_id == c.id)
                    .and_then(|i| i.position);
                Some(Standing::Queued(Place {
                    position,
                    agents_online: self.agents_available(&desk),
                    news: PlaceNews::Waiting(c.escalation.as_ref().map(|e| e.code)),
                }))
            }
            Status::Agent => Some(Standing::WithAgent(c.assigned.clone())),
            Status::Bot | Status::Closed => None,
        }
    }

    /// Every agent seen since start, with presence and load.
    pub(crate) async fn agents(&self) -> Vec<AgentView> {
        let desk = self.desk.lock().await;
        self.agent_views(&desk)
    }

    fn agent_views(&self, desk: &Desk) -> Vec<AgentView> {
        desk.roster
            .views(|id| active(desk, id), self.settings.agent_capacity)
    }

    /// Refuse an agent who is away, offline or at capacity.
    fn may_take(&self, desk: &Desk, agent_id: &str, who: Who, name: &str) -> Result<(), Refusal> {
        match desk.roster.presence(agent_id) {
            Presence::Online => {}
            Presence::Away => return Err(Refusal::Away(who)),
            Presence::Offline => return Err(Refusal::NotConnected),
        }
        let capacity = self.settings.agent_capacity;
        if active(desk, agent_id) >= capacity {
            return Err(Refusal::AtCapacity {
                who,
                name: name.to_owned(),
                capacity,
            });
        }
        Ok(())
    }
}

fn active(desk: &Desk, agent_id: &str) -> usize {
    desk.waiting
        .values()
        .filter(|w| w.assigned.as_ref().is_some_and(|a| a.id == agent_id))
        .count()
}

/// The escalation recorded when an agent takes over from the bot.
fn takeover(at: chrono::DateTime<Utc>) -> Escalation {
    Escalation {
        code: EscalationCode::AgentTakeover,
        message: copy::escalation(EscalationCode::AgentTakeover).to_owned(),
        scores: Default::default(),
        at,
    }
}

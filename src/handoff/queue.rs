//! The order of the agent queue: a pure function of the conversations
//! waiting, the time and the settings.
//!
//! Queued conversations come first, highest priority first and, at equal
//! priority, first escalated first served. A conversation's priority is
//! that of its escalation reason, raised by `overdue_boost` once it has
//! waited longer than `overdue_after`. Conversations an agent owns follow
//! in the same order.

use chrono::{DateTime, Utc};

use super::presence::AgentView;
use crate::config::HandoffSettings;
use crate::crm::{
    AgentRef, ConversationId, ConversationStatus, CustomerId, Escalation, Message, Sender,
};
use crate::nlu::Sentiment;

/// Characters of a message shown as a queue line's preview.
const PREVIEW_CHARS: usize = 140;

/// A conversation with a person, waiting or being answered.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Waiting {
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub status: ConversationStatus,
    pub escalation: Escalation,
    pub assigned: Option<AgentRef>,
    /// Of the latest analysed customer message.
    pub sentiment: Option<Sentiment>,
    pub labels: Vec<String>,
    pub last_message: Option<Preview>,
}

/// The start of the latest message of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Preview {
    pub from: Sender,
    pub text: String,
    pub at: DateTime<Utc>,
}

impl Preview {
    pub(crate) fn of(m: &Message) -> Self {
        let mut text: String = m.text.chars().take(PREVIEW_CHARS).collect();
        if text.len() < m.text.len() {
            text.push('…');
        }
        Self {
            from: m.from,
            text,
            at: m.at,
        }
    }
}

/// One line of the queue as agents see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueueItem {
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub status: ConversationStatus,
    /// 1-based, while queued.
    pub position: Option<usize>,
    pub escalated_at: DateTime<Utc>,
    pub waiting_secs: u64,
    pub priority: u32,
    pub overdue: bool,
    pub reason: Escalation,
    pub sentiment: Option<Sentiment>,
    pub assigned: Option<AgentRef>,
    pub labels: Vec<String>,
    pub last_message: Option<Preview>,
    /// Agents who have the conversation open.
    pub viewers: Vec<AgentRef>,
}

/// The whole queue and the agents, as sent to consoles.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QueueSnapshot {
    pub items: Vec<QueueItem>,
    pub agents: Vec<AgentView>,
}

impl QueueSnapshot {
    /// Equal but for the waiting times, which tick by themselves.
    pub(crate) fn same_order(&self, other: &QueueSnapshot) -> bool {
        self.agents == other.agents
            && self.items.len() == other.items.len()
            && self.items.iter().zip(&other.items).all(|(a, b)| {
                QueueItem {
                    waiting_secs: 0,
                    ..a.clone()
                } == QueueItem {
                    waiting_secs: 0,
                    ..b.clone()
                }
            })
    }
}

/// Order `waiting` into queue items; `viewers` says who has each open.
pub(crate) fn order<'a>(
    waiting: impl IntoIterator<Item = &'a Waiting>,
    now: DateTime<Utc>,
    settings: &HandoffSettings,
    viewers: impl Fn(ConversationId) -> Vec<AgentRef>,
) -> Vec<QueueItem> {
    let mut items: Vec<QueueItem> = waiting
        .into_iter()
        .map(|w| {
            let waited = (now - w.escalation.at).to_std().unwrap_or_default();
            let queued = w.status == ConversationStatus::Queued;
            let overdue = queued && waited >= settings.overdue_after;
            let priority = settings.priority.of(w.escalation.code)
                + if overdue { settings.overdue_boost } else { 0 };
            QueueItem {
                conversation_id: w.conversation_id,
                customer_id: w.customer_id,
                customer_name: w.customer_name.clone(),
                customer_email: w.customer_email.clone(),
                status: w.status,
                position: None,
                escalated_at: w.escalation.at,
                waiting_secs: waited.as_secs(),
                priority,
                overdue,
                reason: w.escalation.clone(),
                sentiment: w.sentiment,
                assigned: w.assigned.clone(),
                labels: w.labels.clone(),
                last_message: w.last_message.clone(),
                viewers: viewers(w.conversation_id),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        let queued = |i: &QueueItem| i.status != ConversationStatus::Queued;
        (
            queued(a),
            std::cmp::Reverse(a.priority),
            a.escalated_at,
            a.conversation_id,
        )
            .cmp(&(
                queued(b),
                std::cmp::Reverse(b.priority),
                b.escalated_at,
                b.conversation_id,
            ))
    });
    for (i, item) in items
        .iter_mut()
        .filter(|i| i.status == ConversationStatus::Queued)
        .enumerate()
    {
        item.position = Some(i + 1);
    }
    items
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::crm::EscalationCode;

    fn waiting(code: EscalationCode, secs_ago: i64, status: ConversationStatus) -> Waiting {
        Waiting {
            conversation_id: ConversationId::new(),
            customer_id: CustomerId::new(),
            customer_name: None,
            customer_email: None,
            status,
            escalation: Escalation {
                code,
                message: String::new(),
                scores: Default::default(),
                at: Utc::now() - chrono::Duration::seconds(secs_ago),
            },
            assigned: None,
            sentiment: None,
            labels: Vec::new(),
            last_message: None,
        }
    }

    #[test]
    fn priority_then_first_come_first_served_then_owned() {
        use ConversationStatus::*;
        use EscalationCode::*;
        let w = [
            waiting(Unresolved, 50, Queued),
            waiting(NegativeSentiment, 10, Queued),
            waiting(Unresolved, 60, Queued),
            waiting(NegativeSentiment, 100, Agent),
        ];
        let items = order(&w, Utc::now(), &HandoffSettings::default(), |_| Vec::new());
        let ids: Vec<_> = items.iter().map(|i| i.conversation_id).collect();
        assert_eq!(
            ids,
            vec![
                w[1].conversation_id,
                w[2].conversation_id,
                w[0].conversation_id,
                w[3].conversation_id
            ]
        );
        let positions: Vec<_> = items.iter().map(|i| i.position).collect();
        assert_eq!(positions, vec![Some(1), Some(2), Some(3), None]);
    }

    #[test]
    fn an_overdue_conversation_is_flagged_and_moves_up() {
        let settings = HandoffSettings {
            overdue_after: Duration::from_secs(30),
            ..Default::default()
        };
        let w = [
            waiting(
                EscalationCode::NegativeSentiment,
                5,
                ConversationStatus::Queued,
            ),
            waiting(EscalationCode::Unresolved, 31, ConversationStatus::Queued),
        ];
        let items = order(&w, Utc::now(), &settings, |_| Vec::new());
        assert_eq!(items[0].conversation_id, w[1].conversation_id);
        assert!(items[0].overdue);
        assert!(!items[1].overdue);
    }
}

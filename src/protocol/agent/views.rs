//! The queue and the conversation briefing as the agent protocol (and the
//! REST API) carries them.
//!
//! These are wire types, separate from the handoff desk's own structs so
//! that changing the desk cannot silently change the protocol; each is
//! built from its domain counterpart with `From`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::crm::{
    AgentRef, Conversation, ConversationId, ConversationStatus, Customer, CustomerId, Escalation,
    Message, Sender,
};
use crate::handoff::{self, Presence};
use crate::nlu::Sentiment;

/// The whole queue and the agents.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct QueueView {
    pub items: Vec<QueueLine>,
    pub agents: Vec<AgentLine>,
}

/// One line of the queue.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct QueueLine {
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    pub status: ConversationStatus,
    /// 1-based, while queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    pub escalated_at: DateTime<Utc>,
    pub waiting_secs: u64,
    pub priority: u32,
    pub overdue: bool,
    pub reason: Escalation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    pub assigned: Option<AgentRef>,
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_message: Option<PreviewLine>,
    /// Agents who have the conversation open.
    pub viewers: Vec<AgentRef>,
}

/// The start of a conversation's latest message.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PreviewLine {
    pub from: Sender,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// An agent with presence and load.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AgentLine {
    pub id: String,
    pub name: String,
    pub presence: Presence,
    pub active: usize,
    pub capacity: usize,
}

/// What an agent gets when they open a conversation.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BriefingView {
    pub conversation: Conversation,
    pub customer: Customer,
    pub messages: Vec<Message>,
    pub escalation: Option<Escalation>,
    pub notes: Vec<NoteLine>,
    pub timeline: TimelineLine,
    pub suggestions: Vec<SuggestionLine>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct NoteLine {
    pub agent_id: String,
    pub agent_name: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// The customer's history across conversations.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TimelineLine {
    pub conversations: usize,
    pub escalations: usize,
    pub ratings: usize,
    pub average_rating: Option<f32>,
    pub first_seen: Option<DateTime<Utc>>,
    pub previous: Vec<PastLine>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PastLine {
    pub conversation_id: ConversationId,
    pub opened_at: DateTime<Utc>,
    pub messages: usize,
    pub escalated: bool,
    pub closed: bool,
    pub rating: Option<u8>,
    pub resolution: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SuggestionLine {
    pub faq_id: String,
    pub question: String,
    pub answer: String,
    pub confidence: f32,
}

impl From<&handoff::QueueSnapshot> for QueueView {
    fn from(s: &handoff::QueueSnapshot) -> Self {
        Self {
            items: s.items.iter().map(QueueLine::from).collect(),
            agents: s.agents.iter().map(AgentLine::from).collect(),
        }
    }
}

impl From<&handoff::QueueItem> for QueueLine {
    fn from(i: &handoff::QueueItem) -> Self {
        Self {
            conversation_id: i.conversation_id,
            customer_id: i.customer_id,
            customer_name: i.customer_name.clone(),
            customer_email: i.customer_email.clone(),
            status: i.status,
            position: i.position,
            escalated_at: i.escalated_at,
            waiting_secs: i.waiting_secs,
            priority: i.priority,
            overdue: i.overdue,
            reason: i.reason.clone(),
            sentiment: i.sentiment,
            assigned: i.assigned.clone(),
            labels: i.labels.clone(),
            last_message: i.last_message.as_ref().map(|p| PreviewLine {
                from: p.from,
                text: p.text.clone(),
                at: p.at,
            }),
            viewers: i.viewers.clone(),
        }
    }
}

impl From<&handoff::AgentView> for AgentLine {
    fn from(a: &handoff::AgentView) -> Self {
        Self {
            id: a.id.clone(),
            name: a.name.clone(),
            presence: a.presence,
            active: a.active,
            capacity: a.capacity,
        }
    }
}

impl From<handoff::Briefing> for BriefingView {
    fn from(b: handoff::Briefing) -> Self {
        let t = b.timeline;
        Self {
            conversation: b.conversation,
            customer: b.customer,
            messages: b.messages,
            escalation: b.escalation,
            notes: b
                .notes
                .into_iter()
                .map(|n| NoteLine {
                    agent_id: n.agent_id,
                    agent_name: n.agent_name,
                    text: n.text,
                    at: n.at,
                })
                .collect(),
            timeline: TimelineLine {
                conversations: t.conversations,
                escalations: t.escalations,
                ratings: t.ratings,
                average_rating: t.average_rating,
                first_seen: t.first_seen,
                previous: t
                    .previous
                    .into_iter()
                    .map(|p| PastLine {
                        conversation_id: p.conversation_id,
                        opened_at: p.opened_at,
                        messages: p.messages,
                        escalated: p.escalated,
                        closed: p.closed,
                        rating: p.rating,
                        resolution: p.resolution,
                    })
                    .collect(),
            },
            suggestions: b
                .suggestions
                .into_iter()
                .map(|s| SuggestionLine {
                    faq_id: s.faq_id,
                    question: s.question,
                    answer: s.answer,
                    confidence: s.confidence,
                })
                .collect(),
        }
    }
}

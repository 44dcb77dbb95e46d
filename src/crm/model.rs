//! The records of the CRM timeline: customers, conversations, messages and
//! the events that make up a customer's history.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub(crate) struct $name(pub Uuid);

        impl $name {
            pub(crate) fn new() -> Self {
                Self(Uuid::new_v4())
            }

            pub(crate) fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A customer of the shop, across all their conversations.
    CustomerId
);
id_type!(
    /// One chat conversation between a customer and the bot or an agent.
    ConversationId
);

/// A customer record. `external_id` is the host site's own id for the
/// customer, when the widget passes one; it links conversations together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Customer {
    pub id: CustomerId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a customer tells about themselves in `hello`. Unknown fields are
/// ignored, like everywhere in protocol v1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct CustomerProfile {
    pub external_id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// Who currently speaks for the shop in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConversationStatus {
    Bot,
    Queued,
    Agent,
    Closed,
}

/// A conversation's header. Its messages and events live beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Conversation {
    pub id: ConversationId,
    pub customer_id: CustomerId,
    pub status: ConversationStatus,
    pub opened_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// Highest message `seq` stored; 0 before the first message.
    pub last_seq: u64,
    /// Number of timeline events stored for this conversation.
    pub events: u64,
    /// Why the conversation was handed to a person; set on escalation,
    /// cleared when an agent hands it back to the bot, kept on close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// The agent who owns it while it is `agent`; kept on close as the
    /// last owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned: Option<AgentRef>,
    /// Set by agents to sort and count conversations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

impl Conversation {
    /// The header of a new conversation `id` of `customer_id` with the
    /// bot, opened at `opened_at`.
    pub(crate) fn new(
        id: ConversationId,
        customer_id: CustomerId,
        opened_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            customer_id,
            status: ConversationStatus::Bot,
            opened_at,
            closed_at: None,
            last_seq: 0,
            events: 1,
            escalation: None,
            assigned: None,
            labels: Vec::new(),
        }
    }
}

/// An agent as the timeline names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AgentRef {
    pub id: String,
    pub name: String,
}

/// Why a conversation went to a person. Stored in the timeline as the
/// machine code, a sentence a customer may read and the scores that
/// triggered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Escalation {
    pub code: EscalationCode,
    pub message: String,
    pub scores: EscalationScores,
    pub at: DateTime<Utc>,
}

/// The escalation triggers. Adding a variant is backwards compatible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EscalationCode {
    /// The customer asked for a person (an intent flagged `handoff`).
    HandoffRequested,
    /// An intent flagged `escalate` (a complaint, deleting an account).
    IntentNeedsHuman,
    /// One strongly negative message.
    NegativeSentiment,
    /// The recent customer messages are negative on average.
    NegativeTrend,
    /// A bot answer was marked not helpful and the next turn was not
    /// answered either.
    NotHelpful,
    /// Several turns in a row without a confident answer.
    Unresolved,
    /// An agent took over a conversation the bot was answering.
    AgentTakeover,
    /// The customer threatens to leave: close the account, never order
    /// again, go to a competitor (an intent raising this code).
    ChurnRisk,
    /// Lawyers, a chargeback, consumer protection, the authorities.
    LegalThreat,
    /// Someone got hurt or could have: fire, gas, a failed strap, injury.
    SafetyIncident,
    /// Orders or payments the customer did not make, a taken-over
    /// account, phishing in the shop's name.
    FraudSuspected,
    /// The customer asks again what the bot did not settle: it would
    /// give the same answer once more, they say they asked before, or they
    /// ask again in other words after a reply that missed the question.
    RepeatedQuestion,
    /// The customer pings ("anyone there?") several times in a row.
    CustomerWaiting,
}

impl EscalationCode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            EscalationCode::HandoffRequested => "handoff_requested",
            EscalationCode::IntentNeedsHuman => "intent_needs_human",
            EscalationCode::NegativeSentiment => "negative_sentiment",
            EscalationCode::NegativeTrend => "negative_trend",
            EscalationCode::NotHelpful => "not_helpful",
            EscalationCode::Unresolved => "unresolved",
            EscalationCode::AgentTakeover => "agent_takeover",
            EscalationCode::ChurnRisk => "churn_risk",
            EscalationCode::LegalThreat => "legal_threat",
            EscalationCode::SafetyIncident => "safety_incident",
            EscalationCode::FraudSuspected => "fraud_suspected",
            EscalationCode::RepeatedQuestion => "repeated_question",
            EscalationCode::CustomerWaiting => "customer_waiting",
        }
    }
}

/// The values that triggered an escalation; only those that apply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct EscalationScores {
    /// Negative probability of the message that triggered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative: Option<f32>,
    /// Mean negative probability over the recent customer messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend: Option<f32>,
    /// Customer messages in the trend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trend_turns: Option<u32>,
    /// Turns in a row without a confident answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unresolved_turns: Option<u32>,
    /// Times the same answer was given before this turn asked again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeated_answers: Option<u32>,
    /// Pings in a row, this one included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pings: Option<u32>,
    /// The words that triggered it, when they were phrases rather than
    /// an intent: `handoff:<language>` (a request for a person),
    /// `asked_before`, `leaving`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_confidence: Option<f32>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Sender {
    Customer,
    Bot,
    Agent,
    System,
}

/// A stored chat message. `seq` numbers the messages of one conversation
/// from 1 without gaps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Message {
    pub seq: u64,
    pub from: Sender,
    pub text: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faq_id: Option<String>,
    /// Why the bot said this (`faq_match`, `intent_match`,
    /// `low_confidence`, `no_match`); bot messages only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the models made of a customer message; absent when the models
    /// were unavailable (the message is stored all the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<MessageAnalysis>,
}

/// The analysis stored with a customer message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MessageAnalysis {
    pub sentiment: crate::nlu::Sentiment,
    pub intent: crate::nlu::IntentMatch,
    /// The best FAQ entries and how sure the search was of each.
    pub faq: Vec<FaqScore>,
    /// The message's language (ISO 639-1), when detected reliably.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// One FAQ entry's scores for a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FaqScore {
    pub id: String,
    /// BM25 score (0 if only the semantic search found it).
    pub bm25: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
    /// The policy's 0..1 confidence.
    pub confidence: f32,
}

/// A message before the store has given it a `seq` and a time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NewMessage {
    pub from: Sender,
    pub text: String,
    pub client_id: Option<String>,
    pub agent: Option<AgentRef>,
    pub suggestions: Vec<String>,
    pub faq_id: Option<String>,
    pub reason: Option<String>,
    pub analysis: Option<MessageAnalysis>,
}

impl NewMessage {
    pub(crate) fn customer(
        client_id: String,
        text: String,
        analysis: Option<MessageAnalysis>,
    ) -> Self {
        Self {
            from: Sender::Customer,
            text,
            client_id: Some(client_id),
            agent: None,
            suggestions: Vec::new(),
            faq_id: None,
            reason: None,
            analysis,
        }
    }

    /// A bot message and the decision's reason.
    pub(crate) fn bot(text: String, reason: &str) -> Self {
        Self {
            from: Sender::Bot,
            text,
            client_id: None,
            agent: None,
            suggestions: Vec::new(),
            faq_id: None,
            reason: Some(reason.to_owned()),
            analysis: None,
        }
    }

    pub(crate) fn agent(agent: AgentRef, client_id: String, text: String) -> Self {
        Self {
            from: Sender::Agent,
            text,
            client_id: Some(client_id),
            agent: Some(agent),
            suggestions: Vec::new(),
            faq_id: None,
            reason: None,
            analysis: None,
        }
    }
}

/// One entry of a customer's CRM timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TimelineEvent {
    pub conversation_id: ConversationId,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Adding a variant is backwards compatible; renaming one
/// is not (the store keeps them as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum EventKind {
    ConversationOpened,
    Message {
        message: Message,
    },
    Feedback {
        seq: u64,
        helpful: bool,
    },
    Rating {
        score: u8,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    ConversationClosed {
        by: Sender,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentRef>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resolution: Option<String>,
    },
    /// The conversation went to the agent queue.
    Escalated {
        escalation: Escalation,
    },
    /// An agent took the conversation (`from`: the agent who transferred it).
    Assigned {
        agent: AgentRef,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<AgentRef>,
    },
    /// The agent put the conversation back in the queue.
    Released {
        agent: AgentRef,
    },
    /// The agent gave the conversation back to the bot.
    HandedBack {
        agent: AgentRef,
    },
    /// An internal note; never shown to the customer.
    Note {
        agent: AgentRef,
        text: String,
    },
    /// An agent set the conversation's labels (all of them, as now).
    Labeled {
        agent: AgentRef,
        labels: Vec<String>,
    },
    /// While no agent was online the customer left an email and a
    /// message (the message is `seq`).
    ContactLeft {
        email: String,
        seq: u64,
    },
}

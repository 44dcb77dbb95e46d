//! Frames of the agent socket, `GET /v1/agent` (see the "Agent socket"
//! section of `docs/protocol.md`); [`views`] holds the queue and briefing
//! shapes they carry.

mod views;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Assignment;
use crate::crm::{AgentRef, ConversationId, ConversationStatus, Message, Sender};
use crate::error::{ApiError, ErrorCode};
use crate::handoff::{Assigned, HowAssigned, Presence};
pub(crate) use views::{BriefingView, QueueView};

/// A frame from the agent console.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum AgentClientFrame {
    Hello {
        token: String,
    },
    Presence {
        status: Presence,
    },
    Claim {
        conversation_id: ConversationId,
    },
    Watch {
        conversation_id: ConversationId,
    },
    Unwatch {
        conversation_id: ConversationId,
    },
    Message {
        conversation_id: ConversationId,
        client_id: String,
        text: String,
    },
    Typing {
        conversation_id: ConversationId,
    },
    Note {
        conversation_id: ConversationId,
        text: String,
    },
    Release {
        conversation_id: ConversationId,
    },
    Transfer {
        conversation_id: ConversationId,
        agent_id: String,
    },
    HandBack {
        conversation_id: ConversationId,
    },
    Close {
        conversation_id: ConversationId,
        #[serde(default)]
        resolution: Option<String>,
    },
    /// Replace the conversation's labels.
    Label {
        conversation_id: ConversationId,
        labels: Vec<String>,
    },
}

impl AgentClientFrame {
    /// The conversation a frame is about.
    pub(crate) fn conversation_id(&self) -> Option<ConversationId> {
        use AgentClientFrame as F;
        match self {
            F::Hello { .. } | F::Presence { .. } => None,
            F::Claim { conversation_id }
            | F::Watch { conversation_id }
            | F::Unwatch { conversation_id }
            | F::Message {
                conversation_id, ..
            }
            | F::Typing { conversation_id }
            | F::Note {
                conversation_id, ..
            }
            | F::Release { conversation_id }
            | F::Transfer {
                conversation_id, ..
            }
            | F::HandBack { conversation_id }
            | F::Close {
                conversation_id, ..
            }
            | F::Label {
                conversation_id, ..
            } => Some(*conversation_id),
        }
    }
}

/// A frame to the agent console.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum AgentServerFrame {
    Welcome {
        agent_id: String,
        agent_name: String,
        presence: Presence,
        capacity: usize,
        assignment: Assignment,
    },
    Queue(QueueView),
    Conversation(Box<BriefingView>),
    Message {
        conversation_id: ConversationId,
        #[serde(flatten)]
        message: Box<Message>,
    },
    Typing {
        conversation_id: ConversationId,
        from: Sender,
    },
    Note {
        conversation_id: ConversationId,
        agent_id: String,
        agent_name: String,
        text: String,
        at: DateTime<Utc>,
    },
    Status {
        conversation_id: ConversationId,
        status: ConversationStatus,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent: Option<AgentRef>,
    },
    Ack {
        conversation_id: ConversationId,
        client_id: String,
        seq: u64,
    },
    Labels {
        conversation_id: ConversationId,
        labels: Vec<String>,
    },
    /// Agents who have the conversation open in a console now.
    Viewers {
        conversation_id: ConversationId,
        agents: Vec<AgentRef>,
    },
    /// The conversation became the receiving agent's without a claim.
    Assigned {
        conversation_id: ConversationId,
        how: &'static str,
        by: Option<AgentRef>,
        customer_name: Option<String>,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation_id: Option<ConversationId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// For refused changes of hands: which refusal (`taken` is a lost
        /// claim race, `at_capacity`, `away`, …).
        #[serde(skip_serializing_if = "Option::is_none")]
        refusal: Option<&'static str>,
    },
}

impl AgentServerFrame {
    pub(crate) fn error(
        e: ApiError,
        conversation_id: Option<ConversationId>,
        client_id: Option<String>,
    ) -> Self {
        AgentServerFrame::Error {
            code: e.code,
            message: e.message,
            conversation_id,
            client_id,
            refusal: e.reason,
        }
    }

    pub(crate) fn assigned(a: &Assigned) -> Self {
        AgentServerFrame::Assigned {
            conversation_id: a.conversation_id,
            how: match a.how {
                HowAssigned::Transfer => "transfer",
                HowAssigned::Auto => "auto",
            },
            by: a.by.clone(),
            customer_name: a.customer_name.clone(),
        }
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

//! Frames of the agent socket, `GET /v1/agent` (see the "Agent socket"
//! section of `docs/protocol.md`); [`views`] holds the queue and briefing
//! shapes they carry.

mod views;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crm::{AgentRef, ConversationId, ConversationStatus, Message, Sender};
use crate::error::{ApiError, ErrorCode};
use crate::handoff::Presence;
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
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation_id: Option<ConversationId>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
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
        }
    }

    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

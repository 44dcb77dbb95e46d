//! Protocol v1 frames of the customer socket, parsed at the edge; the
//! agent socket's frames are in [`agent`].
//!
//! Client frames become [`ClientFrame`]; anything that does not parse is a
//! `bad_frame` error that names the problem. Unknown fields are ignored so
//! newer clients can add optional fields; unknown frame types are errors.
//! See `docs/protocol.md` for the contract with examples.

pub(crate) mod agent;
#[cfg(test)]
mod fuzz;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crm::{ConversationId, ConversationStatus, CustomerId, Message, Sender};
use crate::error::{ApiError, ErrorCode};
use crate::input::ClientId;

/// A frame from the customer's widget.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ClientFrame {
    Hello {
        #[serde(default)]
        resume_token: Option<String>,
        #[serde(default)]
        last_seq: Option<u64>,
        #[serde(default)]
        customer: Option<HelloCustomer>,
    },
    Message {
        client_id: String,
        text: String,
    },
    Typing,
    Feedback {
        seq: u64,
        helpful: bool,
    },
    Rating {
        score: u8,
        #[serde(default)]
        comment: Option<String>,
    },
    Close,
    /// With no agent online: an email to be reached at and a message.
    Contact {
        client_id: String,
        email: String,
        text: String,
    },
}

/// Who the visitor is, as the widget says in `hello`. The host site
/// vouches for `external_id` with `signature`, the hex HMAC-SHA256 of the
/// id under the identity secret; an unsigned id is ignored.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct HelloCustomer {
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub signature: Option<String>,
}

/// A frame to the customer's widget.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerFrame {
    Welcome {
        conversation_id: ConversationId,
        customer_id: CustomerId,
        resume_token: String,
        resumed: bool,
        status: ConversationStatus,
        /// What the widget shows first: the customer talks to an
        /// automated assistant and may ask for a person (`bot.disclosure`).
        disclosure: String,
        /// Whether the team is in and how soon it replies.
        availability: AvailabilityView,
    },
    Ack {
        client_id: String,
        seq: u64,
    },
    Message {
        seq: u64,
        from: Sender,
        text: String,
        at: DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        suggestions: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        faq_id: Option<String>,
    },
    Typing {
        from: Sender,
    },
    Status {
        status: ConversationStatus,
        #[serde(skip_serializing_if = "Option::is_none")]
        position: Option<usize>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_name: Option<String>,
        /// While queued: whether any agent is online.
        #[serde(skip_serializing_if = "Option::is_none")]
        agents_online: Option<bool>,
    },
    Error {
        code: ErrorCode,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// With `rate_limited`: wait this long before sending again.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

/// Business hours and who can answer, as the widget shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AvailabilityView {
    pub open: bool,
    pub agents_online: bool,
    pub reply_time: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
}

impl From<crate::handoff::Availability> for AvailabilityView {
    fn from(a: crate::handoff::Availability) -> Self {
        Self {
            open: a.open,
            agents_online: a.agents_online,
            reply_time: a.reply_time,
            opens_at: a.opens_at,
        }
    }
}

impl ServerFrame {
    /// The customer-facing view of a stored message (internal fields such
    /// as analysis stay out).
    pub(crate) fn message(m: &Message) -> Self {
        ServerFrame::Message {
            seq: m.seq,
            from: m.from,
            text: m.text.clone(),
            at: m.at,
            client_id: m.client_id.clone(),
            agent_name: m.agent_name.clone(),
            suggestions: m.suggestions.clone(),
            faq_id: m.faq_id.clone(),
        }
    }

    pub(crate) fn error(e: ApiError, client_id: Option<String>) -> Self {
        ServerFrame::Error {
            code: e.code,
            message: e.message,
            client_id,
            retry_after_ms: e.retry_after_ms,
        }
    }

    pub(crate) fn to_json(&self) -> String {
        // Our frames hold only strings, numbers and enums: serialising
        // cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A frame that could not be parsed, with the `client_id` if one was
/// readable so the widget can tie the error to its message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BadFrame {
    pub message: String,
    pub client_id: Option<String>,
}

/// Parse a text frame into `T`, saying what is wrong if it does not fit.
pub(crate) fn parse_frame<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, BadFrame> {
    serde_json::from_str(text).map_err(|e| {
        let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
        let client_id = value
            .as_ref()
            .and_then(|v| v.get("client_id"))
            .and_then(|c| c.as_str())
            .filter(|c| ClientId::is_valid(c))
            .map(String::from);
        let message = match value.as_ref().map(|v| v.get("type")) {
            None => format!("frame is not valid JSON: {e}"),
            Some(None) => "frame has no \"type\" field".to_owned(),
            Some(Some(_)) => format!("frame does not match protocol v1: {e}"),
        };
        BadFrame { message, client_id }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClientFrame, BadFrame> {
        parse_frame(text)
    }

    #[test]
    fn frames_parse() {
        assert_eq!(parse(r#"{"type":"typing"}"#), Ok(ClientFrame::Typing));
        assert_eq!(
            parse(r#"{"type":"message","client_id":"c1","text":"hi","extra":1}"#),
            Ok(ClientFrame::Message {
                client_id: "c1".into(),
                text: "hi".into()
            })
        );
        assert!(matches!(
            parse(r#"{"type":"hello"}"#),
            Ok(ClientFrame::Hello { .. })
        ));
    }

    #[test]
    fn bad_frames_say_what_is_wrong() {
        assert!(parse("{").unwrap_err().message.contains("not valid JSON"));
        assert!(parse("{}").unwrap_err().message.contains("no \"type\""));
        let e = parse(r#"{"type":"dance"}"#).unwrap_err();
        assert!(e.message.contains("unknown variant"), "{}", e.message);
        let e = parse(r#"{"type":"message","client_id":"c9"}"#).unwrap_err();
        assert_eq!(e.client_id.as_deref(), Some("c9"));
    }

    #[test]
    fn server_frames_serialize_with_their_type() {
        let json = ServerFrame::Ack {
            client_id: "c".into(),
            seq: 3,
        }
        .to_json();
        assert_eq!(json, r#"{"type":"ack","client_id":"c","seq":3}"#);
    }
}

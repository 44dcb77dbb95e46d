//! Why a change of hands did not happen.

use crate::crm::StoreError;
use crate::error::{Coded, ErrorCode};

/// Why a handoff action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandoffError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Refused(#[from] Refusal),
}

impl Coded for HandoffError {
    fn code(&self) -> ErrorCode {
        match self {
            HandoffError::Store(e) => e.code(),
            HandoffError::Refused(r) => r.code(),
        }
    }

    fn reason(&self) -> Option<&'static str> {
        match self {
            HandoffError::Store(e) => e.reason(),
            HandoffError::Refused(r) => r.reason(),
        }
    }
}

/// Who a refusal is about: the agent asking, or the agent they named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Who {
    You,
    Them,
}

/// An action that does not fit the conversation's state or the agent's.
/// Each says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("the conversation is closed")]
    Closed,
    #[error("{0} already took this conversation")]
    TakenBy(String),
    #[error("this conversation is not assigned to you; claim it first")]
    NotYours,
    #[error("{} away; only online agents take conversations", match .0 { Who::You => "you are", Who::Them => "they are" })]
    Away(Who),
    #[error("that agent is not connected")]
    NotConnected,
    #[error("that agent is not online; transfer to an online agent")]
    TargetOffline,
    #[error(
        "{} already {} {capacity} conversations, the most one agent may own; close, release or transfer one first",
        match .who { Who::You => "you", Who::Them => .name.as_str() },
        match .who { Who::You => "have", Who::Them => "has" }
    )]
    AtCapacity {
        who: Who,
        name: String,
        capacity: usize,
    },
    #[error("presence is online or away; disconnect to go offline")]
    OfflinePresence,
}

impl Coded for Refusal {
    fn code(&self) -> ErrorCode {
        ErrorCode::Conflict
    }

    fn reason(&self) -> Option<&'static str> {
        Some(match self {
            Refusal::Closed => "closed",
            Refusal::TakenBy(_) => "taken",
            Refusal::NotYours => "not_yours",
            Refusal::Away(_) => "away",
            Refusal::NotConnected => "not_connected",
            Refusal::TargetOffline => "target_offline",
            Refusal::AtCapacity { .. } => "at_capacity",
            Refusal::OfflinePresence => "offline_presence",
        })
    }
}

//! What a customer sees of what happens in their conversation: room
//! events and standings rendered as protocol frames, in the words of
//! [`crate::copy`].

use crate::copy;
use crate::crm::{ConversationStatus, Sender};
use crate::handoff::Standing;
use crate::protocol::ServerFrame;
use crate::room::{Handover, HandoverKind, Place, PlaceNews, RoomEvent};

/// The customer's frame for a room event, if they see it at all (not
/// their own typing, not notes); what the bot says of the queue in the
/// customer's `language`.
pub(super) fn event(event: &RoomEvent, language: Option<&str>) -> Option<ServerFrame> {
    match event {
        RoomEvent::Message(m) => Some(ServerFrame::message(m)),
        RoomEvent::Typing(Sender::Customer) => None,
        RoomEvent::Typing(from) => Some(ServerFrame::Typing { from: *from }),
        RoomEvent::Handover(h) => handover(h),
        RoomEvent::Place(p) => Some(place(p, language)),
        RoomEvent::Note { .. }
        | RoomEvent::Labels(_)
        | RoomEvent::Viewers(_)
        | RoomEvent::Erased => None,
    }
}

/// The `status` frame for a customer joining while a person is involved.
pub(super) fn standing(standing: &Standing, language: Option<&str>) -> ServerFrame {
    match standing {
        Standing::Queued(p) => place(p, language),
        Standing::WithAgent(agent) => {
            let name = agent.as_ref().map(|a| a.name.clone());
            status(
                ConversationStatus::Agent,
                name.as_deref().map(copy::agent_with_you),
                name,
            )
        }
    }
}

/// The `status` frame of a closed conversation, with no news.
pub(super) fn closed() -> ServerFrame {
    status(ConversationStatus::Closed, None, None)
}

fn handover(h: &Handover) -> Option<ServerFrame> {
    let name = h.agent.as_ref().map(|a| a.name.clone());
    let reason = match &h.how {
        // The customer hears their place in line instead.
        HandoverKind::Queued => return None,
        HandoverKind::Joined => name.as_deref().map(copy::agent_joined),
        HandoverKind::TakenOver => name.as_deref().map(copy::agent_taking_over),
        HandoverKind::BackToBot => Some(copy::BACK_TO_BOT.to_owned()),
        HandoverKind::Closed { by_agent, idle } => match (by_agent, idle) {
            (Some(a), _) => Some(copy::closed_by(&a.name)),
            (None, true) => Some(copy::CLOSED_IDLE.to_owned()),
            (None, false) => None,
        },
    };
    let agent_name = match h.status {
        ConversationStatus::Agent => name,
        _ => None,
    };
    Some(status(h.status, reason, agent_name))
}

fn place(p: &Place, language: Option<&str>) -> ServerFrame {
    let reason = match (p.agents_online, p.news) {
        (false, _) => copy::nobody_online(language).to_owned(),
        (true, PlaceNews::Waiting(Some(code))) => copy::escalation_in(code, language).to_owned(),
        (true, PlaceNews::Waiting(None)) => copy::waiting(language).to_owned(),
        (true, PlaceNews::Moved) => copy::moved_in_line(p.position.unwrap_or(0), language),
    };
    ServerFrame::Status {
        status: ConversationStatus::Queued,
        position: p.position,
        reason: Some(reason),
        agent_name: None,
        agents_online: Some(p.agents_online),
    }
}

fn status(
    status: ConversationStatus,
    reason: Option<String>,
    agent_name: Option<String>,
) -> ServerFrame {
    ServerFrame::Status {
        status,
        position: None,
        reason,
        agent_name,
        agents_online: None,
    }
}

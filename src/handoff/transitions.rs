//! The state machine of a conversation's ownership, as pure changes to
//! its header: bot → queued → agent → (bot | closed), with release back
//! to the queue and transfer between agents.
//!
//! Each function changes the header and returns the timeline events to
//! record, or none when the conversation is already where the call would
//! take it (every transition is idempotent). They run inside the store's
//! transaction, so two agents racing to claim see each other's result and
//! exactly one wins.

use super::error::Refusal;
use crate::crm::{
    AgentRef, Conversation, ConversationStatus as Status, Escalation, EventKind, Sender,
};

type Change = Result<Vec<EventKind>, Refusal>;

/// The bot hands the conversation to the queue.
pub(crate) fn escalate(c: &mut Conversation, escalation: &Escalation) -> Change {
    match c.status {
        Status::Closed => Err(Refusal::Closed),
        Status::Queued | Status::Agent => Ok(vec![]),
        Status::Bot => {
            c.status = Status::Queued;
            c.escalation = Some(escalation.clone());
            Ok(vec![EventKind::Escalated {
                escalation: escalation.clone(),
            }])
        }
    }
}

/// An agent takes a queued conversation, or takes over one the bot is
/// answering (recorded as the `takeover` escalation first).
pub(crate) fn claim(c: &mut Conversation, agent: &AgentRef, takeover: &Escalation) -> Change {
    let mut events = Vec::new();
    match (c.status, &c.assigned) {
        (Status::Closed, _) => return Err(Refusal::Closed),
        (Status::Agent, Some(owner)) if owner.id == agent.id => return Ok(vec![]),
        (Status::Agent, owner) => {
            let who = owner.as_ref().map_or("another agent", |o| o.name.as_str());
            return Err(Refusal::TakenBy(who.to_owned()));
        }
        (Status::Bot, _) => {
            c.escalation = Some(takeover.clone());
            events.push(EventKind::Escalated {
                escalation: takeover.clone(),
            });
        }
        (Status::Queued, _) => {}
    }
    c.status = Status::Agent;
    c.assigned = Some(agent.clone());
    events.push(EventKind::Assigned {
        agent: agent.clone(),
        from: None,
    });
    Ok(events)
}

fn owned_by(c: &Conversation, agent: &AgentRef) -> Result<(), Refusal> {
    match (c.status, &c.assigned) {
        (Status::Closed, _) => Err(Refusal::Closed),
        (Status::Agent, Some(owner)) if owner.id == agent.id => Ok(()),
        _ => Err(Refusal::NotYours),
    }
}

/// The owner puts the conversation back in the queue.
pub(crate) fn release(c: &mut Conversation, agent: &AgentRef) -> Change {
    if c.status == Status::Queued {
        return Ok(vec![]);
    }
    owned_by(c, agent)?;
    c.status = Status::Queued;
    c.assigned = None;
    Ok(vec![EventKind::Released {
        agent: agent.clone(),
    }])
}

/// The owner hands the conversation to another agent.
pub(crate) fn transfer(c: &mut Conversation, from: &AgentRef, to: &AgentRef) -> Change {
    if c.status == Status::Agent && c.assigned.as_ref().is_some_and(|a| a.id == to.id) {
        return Ok(vec![]);
    }
    owned_by(c, from)?;
    c.assigned = Some(to.clone());
    Ok(vec![EventKind::Assigned {
        agent: to.clone(),
        from: Some(from.clone()),
    }])
}

/// The owner gives the conversation back to the bot.
pub(crate) fn hand_back(c: &mut Conversation, agent: &AgentRef) -> Change {
    if c.status == Status::Bot {
        return Ok(vec![]);
    }
    owned_by(c, agent)?;
    c.status = Status::Bot;
    c.assigned = None;
    c.escalation = None;
    Ok(vec![EventKind::HandedBack {
        agent: agent.clone(),
    }])
}

/// Close the conversation: the customer at any time, an agent only their
/// own. The header keeps who handled it and why it escalated.
pub(crate) fn close(
    c: &mut Conversation,
    by: Sender,
    agent: Option<&AgentRef>,
    resolution: Option<&str>,
) -> Change {
    if c.status == Status::Closed {
        return Ok(vec![]);
    }
    if let Some(agent) = agent {
        owned_by(c, agent)?;
    }
    c.status = Status::Closed;
    Ok(vec![EventKind::ConversationClosed {
        by,
        agent: agent.cloned(),
        resolution: resolution.map(str::to_owned),
    }])
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::crm::{ConversationId, CustomerId, EscalationCode};

    fn conversation() -> Conversation {
        Conversation::new(ConversationId::new(), CustomerId::new(), Utc::now())
    }

    fn agent(id: &str) -> AgentRef {
        AgentRef {
            id: id.into(),
            name: id.to_uppercase(),
        }
    }

    fn escalation(code: EscalationCode) -> Escalation {
        Escalation {
            code,
            message: "m".into(),
            scores: Default::default(),
            at: Utc::now(),
        }
    }

    #[test]
    fn the_happy_path_records_every_step_once() {
        let mut c = conversation();
        let e = escalation(EscalationCode::NegativeSentiment);
        assert_eq!(escalate(&mut c, &e).unwrap().len(), 1);
        assert_eq!(escalate(&mut c, &e).unwrap(), vec![]);
        assert_eq!(c.status, Status::Queued);
        let takeover = escalation(EscalationCode::AgentTakeover);
        assert_eq!(claim(&mut c, &agent("a"), &takeover).unwrap().len(), 1);
        assert_eq!(claim(&mut c, &agent("a"), &takeover).unwrap(), vec![]);
        assert!(matches!(
            claim(&mut c, &agent("b"), &takeover),
            Err(Refusal::TakenBy(m)) if m == "A"
        ));
        assert_eq!(transfer(&mut c, &agent("a"), &agent("b")).unwrap().len(), 1);
        assert_eq!(transfer(&mut c, &agent("a"), &agent("b")).unwrap(), vec![]);
        assert!(hand_back(&mut c, &agent("a")).is_err());
        assert_eq!(hand_back(&mut c, &agent("b")).unwrap().len(), 1);
        assert_eq!(hand_back(&mut c, &agent("b")).unwrap(), vec![]);
        assert_eq!(c.status, Status::Bot);
        assert_eq!(c.escalation, None);
    }

    #[test]
    fn taking_over_from_the_bot_records_why() {
        let mut c = conversation();
        let events = claim(
            &mut c,
            &agent("a"),
            &escalation(EscalationCode::AgentTakeover),
        )
        .unwrap();
        assert!(
            matches!(&events[0], EventKind::Escalated { escalation } if escalation.code == EscalationCode::AgentTakeover)
        );
        assert!(matches!(&events[1], EventKind::Assigned { .. }));
    }

    #[test]
    fn only_the_owner_releases_or_closes() {
        let mut c = conversation();
        escalate(&mut c, &escalation(EscalationCode::Unresolved)).unwrap();
        claim(
            &mut c,
            &agent("a"),
            &escalation(EscalationCode::AgentTakeover),
        )
        .unwrap();
        assert!(release(&mut c, &agent("b")).is_err());
        assert!(close(&mut c, Sender::Agent, Some(&agent("b")), None).is_err());
        assert_eq!(release(&mut c, &agent("a")).unwrap().len(), 1);
        assert_eq!(release(&mut c, &agent("a")).unwrap(), vec![]);
        assert_eq!(c.assigned, None);
        // The customer may close whatever the state.
        assert_eq!(
            close(&mut c, Sender::Customer, None, None).unwrap().len(),
            1
        );
        assert_eq!(close(&mut c, Sender::Customer, None, None).unwrap(), vec![]);
        assert!(matches!(
            escalate(&mut c, &escalation(EscalationCode::Unresolved)),
            Err(Refusal::Closed)
        ));
    }

    /// One change of hands, by one of two agents or the customer.
    #[derive(Debug, Clone)]
    enum Op {
        Escalate,
        Claim(usize),
        Release(usize),
        Transfer(usize, usize),
        HandBack(usize),
        CloseByCustomer,
        CloseByAgent(usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Op::Escalate),
            (0usize..2).prop_map(Op::Claim),
            (0usize..2).prop_map(Op::Release),
            (0usize..2, 0usize..2).prop_map(|(a, b)| Op::Transfer(a, b)),
            (0usize..2).prop_map(Op::HandBack),
            Just(Op::CloseByCustomer),
            (0usize..2).prop_map(Op::CloseByAgent),
        ]
    }

    fn apply(c: &mut Conversation, op: &Op) -> Change {
        let agents = [agent("a"), agent("b")];
        match op {
            Op::Escalate => escalate(c, &escalation(EscalationCode::Unresolved)),
            Op::Claim(a) => claim(c, &agents[*a], &escalation(EscalationCode::AgentTakeover)),
            Op::Release(a) => release(c, &agents[*a]),
            Op::Transfer(a, b) => transfer(c, &agents[*a], &agents[*b]),
            Op::HandBack(a) => hand_back(c, &agents[*a]),
            Op::CloseByCustomer => close(c, Sender::Customer, None, None),
            Op::CloseByAgent(a) => close(c, Sender::Agent, Some(&agents[*a]), Some("done")),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("FRONTDESK_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
            ..Default::default()
        })]

        /// Any sequence of changes keeps the header consistent: an owner
        /// exactly while `agent` (a closed one keeps its last), refusals
        /// change nothing, a repeat records nothing, closed is final.
        #[test]
        fn any_sequence_of_changes_keeps_the_state_machine_whole(ops in proptest::collection::vec(op(), 1..40)) {
            let mut c = conversation();
            for op in &ops {
                let before = c.clone();
                match apply(&mut c, op) {
                    Err(_) => proptest::prop_assert_eq!(&c, &before, "{:?} refused but changed", op),
                    Ok(events) => {
                        if !events.is_empty() {
                            let mut again = c.clone();
                            let repeat = apply(&mut again, op);
                            proptest::prop_assert!(
                                matches!(&repeat, Ok(e) if e.is_empty()),
                                "{:?} repeated recorded {:?}", op, repeat
                            );
                        } else {
                            proptest::prop_assert_eq!(&c, &before);
                        }
                    }
                }
                match c.status {
                    Status::Agent => proptest::prop_assert!(c.assigned.is_some()),
                    Status::Bot | Status::Queued => proptest::prop_assert!(c.assigned.is_none()),
                    Status::Closed => {}
                }
                if before.status == Status::Closed {
                    proptest::prop_assert_eq!(c.status, Status::Closed);
                }
            }
        }
    }
}

//! What the escalation rules know of a conversation's turns before this
//! one, read from its recent timeline events: the customer messages'
//! negativity, the bot's answers, the streak of unanswered turns, pings.

use crate::crm::{EventKind, Sender, TimelineEvent};
use crate::nlu::IntentMatch;

/// The reason of the bot's reply that says, in the customer's language,
/// that it answers in English and a person can help (`turn::plan`).
pub(crate) const OTHER_LANGUAGE: &str = "other_language";

/// Bot decision reasons that count as a confident answer.
const RESOLVED: [&str; 2] = ["faq_match", "intent_match"];

/// A message that only asks whether anyone is there: the intent for it,
/// or, after the conversation began, a greeting with a question mark or
/// of one or two words ("helloo"), asking whether this is a bot or a
/// person (the first time it is curiosity, later it checks whether a
/// person is there), or the words for it in another language or a
/// drawn-out greeting (`phrases`).
pub(crate) fn is_ping(intent: Option<&str>, text: &str, earlier_customer_turns: u32) -> bool {
    let began = earlier_customer_turns > 0;
    let bare = text.split_whitespace().count() <= 2;
    match intent {
        Some("anyone_there") => true,
        Some("greeting") if began && (bare || text.contains('?')) => true,
        Some("bot_or_person") if began => true,
        _ => began && super::phrases::asks_if_anyone_is_there(text),
    }
}

/// The best intent of a customer message that asks nothing (holds no
/// question mark), recognised or only nearest, with its probability: what
/// the tone rule reads (`turn::signals`). Sarcasm that builds is a run of
/// remarks; a question asked twice that reads as sarcasm is not.
pub(crate) fn remark_intent<'m>(text: &str, intent: &'m IntentMatch) -> Option<(&'m str, f32)> {
    if super::phrases::asks_something(text) {
        return None;
    }
    let name = intent.name.as_deref().or(intent.nearest.as_deref())?;
    Some((name, intent.confidence))
}

/// What a confident answer was, to tell when the bot repeats itself:
/// `faq:<id>` or `intent:<name>`.
pub(crate) fn answer_key(faq_id: Option<&str>, intent: Option<&str>) -> Option<String> {
    match (faq_id, intent) {
        (Some(id), _) => Some(format!("faq:{id}")),
        (None, Some(name)) => Some(format!("intent:{name}")),
        (None, None) => None,
    }
}

/// What the policy needs to know about the turns before this one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct History {
    /// Negative probabilities of the earlier analysed customer messages,
    /// oldest first.
    pub negatives: Vec<f32>,
    /// Bot replies in a row, up to now, that were not confident answers.
    pub unresolved_streak: u32,
    /// A bot answer was marked not helpful and no confident answer
    /// followed yet.
    pub not_helpful: bool,
    /// The bot's replies, oldest first: the [`answer_key`] of each
    /// confident answer, `None` for any other reply.
    pub answers: Vec<Option<String>>,
    /// Customer messages so far.
    pub customer_turns: u32,
    /// The latest customer messages that were pings, in a row.
    pub pings: u32,
    /// The best intent of each earlier customer message that asks nothing
    /// (a remark), recognised or only nearest, with its probability,
    /// oldest first; `None` for a message that asks something or was not
    /// analysed (what the tone rule reads).
    pub intents: Vec<Option<(String, f32)>>,
}

impl History {
    /// How many times the bot gave the answer `key` in the recent
    /// history.
    pub(super) fn times_answered(&self, key: &str) -> u32 {
        self.answers
            .iter()
            .filter(|a| a.as_deref() == Some(key))
            .count() as u32
    }

    /// Read the history from a conversation's events (oldest first),
    /// leaving out the customer message with `current_seq`.
    pub(crate) fn from_events(events: &[TimelineEvent], current_seq: u64) -> Self {
        let mut h = History::default();
        // The intent of the customer message the next bot reply answers.
        let mut asked: Option<&str> = None;
        for event in events {
            match &event.kind {
                EventKind::Message { message: m } if m.seq == current_seq => {}
                EventKind::Message { message: m } => match m.from {
                    Sender::Customer => {
                        asked = None;
                        let best = m
                            .analysis
                            .as_ref()
                            .and_then(|a| remark_intent(&m.text, &a.intent))
                            .map(|(name, confidence)| (name.to_owned(), confidence));
                        h.intents.push(best);
                        if let Some(a) = &m.analysis {
                            h.negatives.push(a.sentiment.negative);
                            asked = a.intent.name.as_deref();
                        }
                        h.pings = match is_ping(asked, &m.text, h.customer_turns) {
                            true => h.pings + 1,
                            false => 0,
                        };
                        h.customer_turns += 1;
                    }
                    // Saying it answers in English is no failed answer.
                    Sender::Bot if m.reason.as_deref() == Some(OTHER_LANGUAGE) => {
                        h.answers.push(None);
                    }
                    Sender::Bot => {
                        let resolved = m.reason.as_deref().is_some_and(|r| RESOLVED.contains(&r));
                        if resolved {
                            h.unresolved_streak = 0;
                            h.not_helpful = false;
                            let intent = (m.reason.as_deref() == Some("intent_match"))
                                .then_some(asked)
                                .flatten();
                            h.answers.push(answer_key(m.faq_id.as_deref(), intent));
                        } else {
                            h.unresolved_streak += 1;
                            h.answers.push(None);
                        }
                    }
                    Sender::Agent | Sender::System => {}
                },
                EventKind::Feedback { helpful: false, .. } => h.not_helpful = true,
                EventKind::HandedBack { .. } => h = History::default(),
                _ => {}
            }
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::is_ping;

    #[test]
    fn a_greeting_after_the_conversation_began_is_a_ping_when_bare_or_asking() {
        assert!(is_ping(Some("anyone_there"), "is the chat working?", 0));
        assert!(is_ping(Some("greeting"), "helloo", 1));
        assert!(is_ping(Some("greeting"), "hello? hi?", 2));
        // The first message greets; a longer greeting later says more.
        assert!(!is_ping(Some("greeting"), "hello", 0));
        assert!(!is_ping(
            Some("greeting"),
            "hi again, good morning to you",
            1
        ));
        assert!(!is_ping(Some("returns"), "hello", 1));
    }
}

//! The bot's turn policy: a pure function from what a turn found to what
//! the bot says.
//!
//! Nothing here does I/O or keeps state, so every decision can be tested
//! and explained from its inputs alone; nor does it word anything (the
//! turn takes its sentences from [`crate::copy`]). [`escalation`]
//! decides, just as purely, when a person takes over.

pub(crate) mod escalation;
pub(crate) mod history;
pub(crate) mod phrases;

use crate::config::BotPolicy;
use crate::faq::FaqCandidate;

/// The recognised intent of the customer's message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IntentCandidate<'a> {
    pub name: &'a str,
    pub confidence: f32,
    /// Replies the intent's author wrote; the first is used.
    pub responses: &'a [String],
    /// The intent needs a human (`escalate`) or asks for one (`handoff`).
    pub needs_human: bool,
}

/// Everything the policy looks at for one customer message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TurnInput<'a> {
    /// FAQ candidates, best first.
    pub faq: &'a [FaqCandidate],
    /// The intent, if the message was in scope.
    pub intent: Option<IntentCandidate<'a>>,
}

/// What the bot does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Answer with an FAQ entry.
    Answer {
        faq_id: String,
        text: String,
        confidence: f32,
    },
    /// Answer with the recognised intent's response.
    Intent { name: String, text: String },
    /// Not sure: say so and offer questions the customer may have meant.
    Clarify { suggestions: Vec<String> },
}

impl Decision {
    /// A short machine-readable reason for the timeline and the logs.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Decision::Answer { .. } => "faq_match",
            Decision::Intent { .. } => "intent_match",
            Decision::Clarify { suggestions } if suggestions.is_empty() => "no_match",
            Decision::Clarify { .. } => "low_confidence",
        }
    }
}

/// Decide the bot's reply to one customer message.
///
/// An intent that needs a human wins; then a confident FAQ answer; then any
/// other in-scope intent with a response, unless an FAQ entry nearly
/// qualified (`bot.suggest_over_intent`): an intent's reply can only ask
/// for details, an entry the customer may have meant answers; otherwise
/// the bot says it is not sure and offers the closest questions.
pub(crate) fn decide(input: &TurnInput<'_>, policy: &BotPolicy) -> Decision {
    let intent_reply = input.intent.as_ref().and_then(|i| {
        i.responses.first().map(|text| Decision::Intent {
            name: i.name.to_owned(),
            text: text.clone(),
        })
    });
    if input.intent.as_ref().is_some_and(|i| i.needs_human) {
        if let Some(reply) = intent_reply {
            return reply;
        }
    }
    if let Some(best) = input.faq.first() {
        if best.confidence >= policy.answer_confidence {
            return Decision::Answer {
                faq_id: best.id.clone(),
                text: best.answer.clone(),
                confidence: best.confidence,
            };
        }
    }
    // An FAQ entry that nearly qualified is a better lead than an
    // intent's reply, which can only ask for details.
    let near_answer = input
        .faq
        .first()
        .is_some_and(|best| best.confidence >= policy.suggest_over_intent);
    if let Some(reply) = intent_reply.filter(|_| !near_answer) {
        return reply;
    }
    // Entries below the floor are unrelated, not suggestions.
    let suggestions: Vec<String> = input
        .faq
        .iter()
        .filter(|c| policy.suggests(c.confidence))
        .take(policy.suggestions)
        .map(|c| c.question.clone())
        .collect();
    Decision::Clarify { suggestions }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, confidence: f32) -> FaqCandidate {
        FaqCandidate {
            id: id.into(),
            question: format!("question {id}?"),
            answer: format!("answer {id}"),
            confidence,
        }
    }

    #[test]
    fn a_confident_match_is_answered() {
        let faq = [candidate("a", 0.9), candidate("b", 0.4)];
        let d = decide(
            &TurnInput {
                faq: &faq,
                intent: None,
            },
            &BotPolicy::default(),
        );
        assert_eq!(
            d,
            Decision::Answer {
                faq_id: "a".into(),
                text: "answer a".into(),
                confidence: 0.9
            }
        );
        assert_eq!(d.reason(), "faq_match");
    }

    #[test]
    fn an_unsure_match_offers_the_top_questions() {
        let faq = [
            candidate("a", 0.3),
            candidate("b", 0.2),
            candidate("c", 0.1),
            candidate("d", 0.1),
        ];
        let policy = BotPolicy::default();
        let d = decide(
            &TurnInput {
                faq: &faq,
                intent: None,
            },
            &policy,
        );
        let Decision::Clarify { suggestions } = &d else {
            panic!("expected clarify, got {d:?}");
        };
        assert_eq!(suggestions.len(), policy.suggestions);
        assert_eq!(suggestions[0], "question a?");
        assert_eq!(d.reason(), "low_confidence");
    }

    #[test]
    fn nothing_found_asks_to_rephrase() {
        let d = decide(
            &TurnInput {
                faq: &[],
                intent: None,
            },
            &BotPolicy::default(),
        );
        assert_eq!(d.reason(), "no_match");
    }

    fn intent<'a>(
        name: &'a str,
        responses: &'a [String],
        needs_human: bool,
    ) -> Option<IntentCandidate<'a>> {
        Some(IntentCandidate {
            name,
            confidence: 0.9,
            responses,
            needs_human,
        })
    }

    #[test]
    fn a_confident_faq_answer_beats_a_plain_intent() {
        let faq = [candidate("a", 0.9)];
        let responses = ["Hi!".to_owned()];
        let d = decide(
            &TurnInput {
                faq: &faq,
                intent: intent("greeting", &responses, false),
            },
            &BotPolicy::default(),
        );
        assert_eq!(d.reason(), "faq_match");
    }

    #[test]
    fn an_intent_answers_when_the_faq_is_unsure() {
        let faq = [candidate("a", 0.1)];
        let responses = ["Hi!".to_owned()];
        let d = decide(
            &TurnInput {
                faq: &faq,
                intent: intent("greeting", &responses, false),
            },
            &BotPolicy::default(),
        );
        assert_eq!(
            d,
            Decision::Intent {
                name: "greeting".into(),
                text: "Hi!".into()
            }
        );
    }

    #[test]
    fn a_near_faq_answer_is_suggested_rather_than_a_plain_intent_reply() {
        let policy = BotPolicy::default();
        let faq = [
            candidate("a", policy.suggest_over_intent),
            candidate("b", 0.05),
        ];
        let responses = ["What is your order number?".to_owned()];
        let d = decide(
            &TurnInput {
                faq: &faq,
                intent: intent("order_status", &responses, false),
            },
            &policy,
        );
        assert_eq!(
            d,
            Decision::Clarify {
                suggestions: vec!["question a?".into(), "question b?".into()]
            }
        );
    }

    #[test]
    fn an_intent_that_needs_a_human_beats_the_faq() {
        let faq = [candidate("a", 0.99)];
        let responses = ["Getting a person.".to_owned()];
        let d = decide(
            &TurnInput {
                faq: &faq,
                intent: intent("human_agent", &responses, true),
            },
            &BotPolicy::default(),
        );
        assert_eq!(d.reason(), "intent_match");
    }

    #[test]
    fn the_threshold_is_inclusive() {
        let policy = BotPolicy::default();
        let faq = [candidate("a", policy.answer_confidence)];
        assert_eq!(
            decide(
                &TurnInput {
                    faq: &faq,
                    intent: None
                },
                &policy
            )
            .reason(),
            "faq_match"
        );
    }
}

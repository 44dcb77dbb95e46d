//! The bot's turn policy: a pure function from what a turn found to what
//! the bot says.
//!
//! Nothing here does I/O or keeps state, so every decision can be tested
//! and explained from its inputs alone. Later signals (sentiment, intents,
//! escalation) extend [`TurnInput`] and [`Decision`].

use crate::config::BotPolicy;

/// An FAQ entry the search found for the customer's text.
#[derive(Debug, Clone, PartialEq)]
pub struct FaqCandidate {
    pub id: String,
    pub question: String,
    pub answer: String,
    /// How sure the search is, 0..1.
    pub confidence: f32,
}

/// Everything the policy looks at for one customer message.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnInput<'a> {
    /// FAQ candidates, best first.
    pub faq: &'a [FaqCandidate],
}

/// What the bot does.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Answer with an FAQ entry.
    Answer {
        faq_id: String,
        text: String,
        confidence: f32,
    },
    /// Not sure: say so and offer questions the customer may have meant.
    Clarify {
        text: String,
        suggestions: Vec<String>,
    },
}

impl Decision {
    /// A short machine-readable reason for the timeline and the logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Decision::Answer { .. } => "faq_match",
            Decision::Clarify { suggestions, .. } if suggestions.is_empty() => "no_match",
            Decision::Clarify { .. } => "low_confidence",
        }
    }
}

pub const CLARIFY_WITH_SUGGESTIONS: &str =
    "I'm not sure I understood. Did you mean one of these questions?";
pub const CLARIFY_WITHOUT_SUGGESTIONS: &str =
    "I'm not sure I can answer that. Could you say it in other words?";

/// Decide the bot's reply to one customer message.
pub fn decide(input: &TurnInput<'_>, policy: &BotPolicy) -> Decision {
    if let Some(best) = input.faq.first() {
        if best.confidence >= policy.answer_confidence {
            return Decision::Answer {
                faq_id: best.id.clone(),
                text: best.answer.clone(),
                confidence: best.confidence,
            };
        }
    }
    let suggestions: Vec<String> = input
        .faq
        .iter()
        .take(policy.suggestions)
        .map(|c| c.question.clone())
        .collect();
    let text = if suggestions.is_empty() {
        CLARIFY_WITHOUT_SUGGESTIONS
    } else {
        CLARIFY_WITH_SUGGESTIONS
    };
    Decision::Clarify {
        text: text.to_owned(),
        suggestions,
    }
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
        let d = decide(&TurnInput { faq: &faq }, &BotPolicy::default());
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
        let d = decide(&TurnInput { faq: &faq }, &policy);
        let Decision::Clarify { suggestions, .. } = &d else {
            panic!("expected clarify, got {d:?}");
        };
        assert_eq!(suggestions.len(), policy.suggestions);
        assert_eq!(suggestions[0], "question a?");
        assert_eq!(d.reason(), "low_confidence");
    }

    #[test]
    fn nothing_found_asks_to_rephrase() {
        let d = decide(&TurnInput { faq: &[] }, &BotPolicy::default());
        assert_eq!(d.reason(), "no_match");
    }

    #[test]
    fn the_threshold_is_inclusive() {
        let policy = BotPolicy::default();
        let faq = [candidate("a", policy.answer_confidence)];
        assert_eq!(
            decide(&TurnInput { faq: &faq }, &policy).reason(),
            "faq_match"
        );
    }
}

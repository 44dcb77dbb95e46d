//! When a conversation goes to a person: a pure function from the
//! conversation's recent history and this turn's signals to an optional
//! escalation with its reason.
//!
//! The rules, first match wins:
//! 1. the customer asked for a person: an intent flagged `handoff`, or a
//!    request for a person in another language (`phrases`);
//! 2. an intent flagged `escalate`, with the code it names (churn,
//!    legal threats, safety incidents, fraud, "I asked three times") or
//!    `intent_needs_human`;
//! 3. reporting harm, threatening legal steps, reporting fraud,
//!    threatening to leave, or saying one asked before, in so many words
//!    (`phrases`);
//! 4. anger in so many words in a language the sentiment model does not
//!    read (`phrases`), or one strongly negative message (`strong_negative`, or the higher
//!    `strong_negative_answered` when the bot has a confident answer or
//!    the customer blames themselves, `phrases`);
//! 5. a negative trend: the mean negative probability of the last
//!    `trend_turns` customer messages;
//! 6. tone building: `tone_turns` customer messages in a row that read as
//!    a tone intent (sarcasm), each below the bar that escalates one
//!    message at once;
//! 7. `pings` messages in a row that only ask whether anyone is there;
//! 8. the bot would give, once more, an answer it already gave
//!    `repeated_answers` times in the recent history;
//! 9. the customer asks again in other words, or says the reply missed
//!    the question ("I mean the vents under the arms", "yes or no",
//!    "that's the returns page", `phrases`), after an earlier reply, and
//!    this turn is unanswered too;
//! 10. a bot answer marked not helpful, and this turn unanswered too;
//! 11. `unresolved_turns` turns in a row without a confident answer; a
//!     reply that says, in the customer's language, that the bot answers
//!     in English does not count.
//!
//! An agent taking over is one more reason; it comes from the console,
//! not from a turn. Handing a conversation back to the bot starts its
//! history afresh, so it does not bounce straight back to the queue.

pub(crate) use super::history::{answer_key, is_ping, History};
use crate::config::EscalationPolicy;
use crate::crm::{EscalationCode, EscalationScores};
use crate::nlu::Sentiment;

/// What one turn found, as far as escalation cares.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct TurnSignals<'a> {
    /// The message's sentiment, if the models ran.
    pub sentiment: Option<Sentiment>,
    /// The recognised intent, if in scope.
    pub intent: Option<IntentSignal<'a>>,
    /// The bot found a confident answer (FAQ or intent response).
    pub resolved: bool,
    /// That answer's [`answer_key`].
    pub answer: Option<&'a str>,
    /// The message only asks whether anyone is there.
    pub ping: bool,
    /// The message asks for a person in this language (`phrases`).
    pub asks_for_person: Option<&'static str>,
    /// The message is in a language the bot does not answer in, and it
    /// says so: not an unresolved turn.
    pub other_language: bool,
    /// The message says the customer asked before (`phrases`).
    pub says_asked_before: bool,
    /// The message asks again in other words, or says the reply missed
    /// its question (`phrases`).
    pub restates_question: bool,
    /// The message threatens to stop being a customer (`phrases`).
    pub threatens_to_leave: bool,
    /// The message blames the customer, not the shop (`phrases`): "my
    /// fault, I typed the wrong house number".
    pub blames_self: bool,
    /// The message threatens legal steps (`phrases`).
    pub threatens_legal_steps: bool,
    /// The message reports fraud (`phrases`).
    pub reports_fraud: bool,
    /// The message reports that a product hurt someone or put them in
    /// danger (`phrases`).
    pub reports_harm: bool,
    /// The language in which the message says, in so many words, that
    /// the customer is angry: one the sentiment model does not read
    /// (`phrases`).
    pub angry_in_words: Option<&'static str>,
    /// The message reads as a tone intent (sarcasm), and so did the
    /// customer messages just before it.
    pub tone: Option<Tone<'a>>,
}

/// A tone intent read in this message and the ones just before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tone<'a> {
    /// The intent this message reads as.
    pub name: &'a str,
    pub confidence: f32,
    /// Customer messages in a row, this one included, that read as a tone
    /// intent.
    pub turns: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IntentSignal<'a> {
    pub name: &'a str,
    pub confidence: f32,
    /// The intent asks for a person.
    pub handoff: bool,
    /// The intent needs a person.
    pub escalate: bool,
    /// The code an `escalate` intent raises.
    pub code: EscalationCode,
}

/// Why the policy escalates, before it gets a time stamp.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trigger {
    pub code: EscalationCode,
    pub scores: EscalationScores,
}

/// Decide whether this turn escalates, and why.
pub(crate) fn assess(
    history: &History,
    turn: &TurnSignals<'_>,
    policy: &EscalationPolicy,
) -> Option<Trigger> {
    let intent_scores = |i: &IntentSignal<'_>| EscalationScores {
        intent: Some(i.name.to_owned()),
        intent_confidence: Some(i.confidence),
        ..Default::default()
    };
    if let Some(i) = turn.intent.as_ref().filter(|i| i.handoff) {
        return Some(Trigger {
            code: EscalationCode::HandoffRequested,
            scores: intent_scores(i),
        });
    }
    let phrase = |code, phrase: String| Trigger {
        code,
        scores: EscalationScores {
            phrase: Some(phrase),
            ..Default::default()
        },
    };
    if let Some(language) = turn.asks_for_person {
        return Some(phrase(
            EscalationCode::HandoffRequested,
            format!("handoff:{language}"),
        ));
    }
    if let Some(i) = turn.intent.as_ref().filter(|i| i.escalate) {
        return Some(Trigger {
            code: i.code,
            scores: intent_scores(i),
        });
    }
    if turn.reports_harm {
        return Some(phrase(EscalationCode::SafetyIncident, "safety".into()));
    }
    if turn.threatens_legal_steps {
        return Some(phrase(EscalationCode::LegalThreat, "legal".into()));
    }
    if turn.reports_fraud {
        return Some(phrase(EscalationCode::FraudSuspected, "fraud".into()));
    }
    if turn.threatens_to_leave {
        return Some(phrase(EscalationCode::ChurnRisk, "leaving".into()));
    }
    if turn.says_asked_before {
        return Some(phrase(
            EscalationCode::RepeatedQuestion,
            "asked_before".into(),
        ));
    }
    if let Some(language) = turn.angry_in_words {
        return Some(Trigger {
            code: EscalationCode::NegativeSentiment,
            scores: EscalationScores {
                phrase: Some(format!("anger:{language}")),
                negative: turn.sentiment.map(|s| s.negative),
                ..Default::default()
            },
        });
    }
    if let Some(s) = &turn.sentiment {
        // A strongly negative message the bot can answer is usually a
        // problem with a known remedy (late, damaged, the wrong size), and
        // one that blames the customer ("I hate when I order the wrong
        // size, my own fault") is not about the shop: the answer comes
        // first, and anger that persists is caught by the trend.
        let threshold = match turn.resolved || turn.blames_self {
            true => policy.strong_negative_answered,
            false => policy.strong_negative,
        };
        if s.negative >= threshold {
            return Some(Trigger {
                code: EscalationCode::NegativeSentiment,
                scores: EscalationScores {
                    negative: Some(s.negative),
                    ..Default::default()
                },
            });
        }
        let earlier = policy.trend_turns.saturating_sub(1);
        if history.negatives.len() >= earlier {
            let recent = &history.negatives[history.negatives.len() - earlier..];
            let mean = (recent.iter().sum::<f32>() + s.negative) / (recent.len() as f32 + 1.0);
            if mean >= policy.trend_negative {
                return Some(Trigger {
                    code: EscalationCode::NegativeTrend,
                    scores: EscalationScores {
                        negative: Some(s.negative),
                        trend: Some(mean),
                        trend_turns: Some(policy.trend_turns as u32),
                        ..Default::default()
                    },
                });
            }
        }
    }
    if let Some(t) = turn.tone.filter(|t| t.turns >= policy.tone_turns) {
        return Some(Trigger {
            code: EscalationCode::NegativeTrend,
            scores: EscalationScores {
                intent: Some(t.name.to_owned()),
                intent_confidence: Some(t.confidence),
                trend_turns: Some(t.turns),
                ..Default::default()
            },
        });
    }
    if turn.ping && history.pings + 1 >= policy.pings {
        return Some(Trigger {
            code: EscalationCode::CustomerWaiting,
            scores: EscalationScores {
                pings: Some(history.pings + 1),
                ..Default::default()
            },
        });
    }
    if let Some(key) = turn.answer {
        let given = history.times_answered(key);
        if given >= policy.repeated_answers {
            return Some(Trigger {
                code: EscalationCode::RepeatedQuestion,
                scores: EscalationScores {
                    repeated_answers: Some(given),
                    ..Default::default()
                },
            });
        }
    }
    if turn.resolved {
        return None;
    }
    let streak = history.unresolved_streak + 1;
    // Asked again, in any language, after a reply that did not settle it:
    // waiting for the streak to reach its limit would make the customer
    // ask a third time.
    if turn.restates_question && history.customer_turns > 0 {
        return Some(Trigger {
            code: EscalationCode::RepeatedQuestion,
            scores: EscalationScores {
                phrase: Some("restated".into()),
                unresolved_turns: Some(streak),
                ..Default::default()
            },
        });
    }
    if turn.other_language {
        return None;
    }
    if history.not_helpful {
        return Some(Trigger {
            code: EscalationCode::NotHelpful,
            scores: EscalationScores {
                unresolved_turns: Some(streak),
                ..Default::default()
            },
        });
    }
    (streak >= policy.unresolved_turns).then(|| Trigger {
        code: EscalationCode::Unresolved,
        scores: EscalationScores {
            unresolved_turns: Some(streak),
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn sentiment(negative: f32) -> Sentiment {
        let rest = (1.0 - negative) / 2.0;
        Sentiment::from_probabilities([negative, rest, rest])
    }

    pub(super) fn calm(resolved: bool) -> TurnSignals<'static> {
        TurnSignals {
            sentiment: Some(sentiment(0.05)),
            resolved,
            ..Default::default()
        }
    }

    pub(super) fn intent(handoff: bool, escalate: bool) -> Option<IntentSignal<'static>> {
        Some(IntentSignal {
            name: "human_agent",
            confidence: 0.9,
            handoff,
            escalate,
            code: EscalationCode::IntentNeedsHuman,
        })
    }

    #[test]
    fn each_trigger_has_its_code_and_scores() {
        let p = EscalationPolicy::default();
        let h = History::default();
        let t = assess(
            &h,
            &TurnSignals {
                intent: intent(true, false),
                ..calm(true)
            },
            &p,
        )
        .unwrap();
        assert_eq!(t.code, EscalationCode::HandoffRequested);
        assert_eq!(t.scores.intent.as_deref(), Some("human_agent"));

        let t = assess(
            &h,
            &TurnSignals {
                intent: intent(false, true),
                ..calm(true)
            },
            &p,
        )
        .unwrap();
        assert_eq!(t.code, EscalationCode::IntentNeedsHuman);

        let angry = TurnSignals {
            sentiment: Some(sentiment(0.99)),
            ..calm(true)
        };
        let t = assess(&h, &angry, &p).unwrap();
        assert_eq!(t.code, EscalationCode::NegativeSentiment);
        assert_eq!(t.scores.negative, Some(0.99));

        let trend = History {
            negatives: vec![0.85, 0.85],
            ..Default::default()
        };
        let grumpy = TurnSignals {
            sentiment: Some(sentiment(0.85)),
            ..calm(true)
        };
        let t = assess(&trend, &grumpy, &p).unwrap();
        assert_eq!(t.code, EscalationCode::NegativeTrend);
        assert!((t.scores.trend.unwrap() - 0.85).abs() < 1e-6);

        let unhelped = History {
            not_helpful: true,
            ..Default::default()
        };
        let t = assess(&unhelped, &calm(false), &p).unwrap();
        assert_eq!(t.code, EscalationCode::NotHelpful);
        assert_eq!(assess(&unhelped, &calm(true), &p), None);

        let stuck = History {
            unresolved_streak: 2,
            ..Default::default()
        };
        let t = assess(&stuck, &calm(false), &p).unwrap();
        assert_eq!(t.code, EscalationCode::Unresolved);
        assert_eq!(t.scores.unresolved_turns, Some(3));
    }

    #[test]
    fn asking_again_in_other_words_goes_to_a_person_unless_answered_now() {
        let p = EscalationPolicy::default();
        let again = TurnSignals {
            restates_question: true,
            ..calm(false)
        };
        let after_a_reply = History {
            customer_turns: 1,
            answers: vec![Some("faq:warranty".into())],
            ..Default::default()
        };
        let t = assess(&after_a_reply, &again, &p).unwrap();
        assert_eq!(t.code, EscalationCode::RepeatedQuestion);
        assert_eq!(t.scores.phrase.as_deref(), Some("restated"));
        assert_eq!(t.scores.unresolved_turns, Some(1));
        // In another language too, where the reply said it answers in
        // English.
        let foreign = TurnSignals {
            other_language: true,
            ..again
        };
        assert!(assess(&after_a_reply, &foreign, &p).is_some());
        // Answered now, or nothing asked before: nothing was restated.
        let answered = TurnSignals {
            resolved: true,
            ..again
        };
        assert_eq!(assess(&after_a_reply, &answered, &p), None);
        assert_eq!(assess(&History::default(), &again, &p), None);
    }

    #[test]
    fn blaming_oneself_needs_the_higher_bar() {
        let p = EscalationPolicy::default();
        let between = (p.strong_negative + p.strong_negative_answered) / 2.0;
        let upset = |negative: f32, blames_self: bool| TurnSignals {
            sentiment: Some(sentiment(negative)),
            blames_self,
            ..calm(false)
        };
        let code = |t: &TurnSignals<'_>| assess(&History::default(), t, &p).map(|t| t.code);
        assert_eq!(
            code(&upset(between, false)),
            Some(EscalationCode::NegativeSentiment)
        );
        assert_eq!(code(&upset(between, true)), None);
        assert_eq!(
            code(&upset(p.strong_negative_answered, true)),
            Some(EscalationCode::NegativeSentiment)
        );
    }

    #[test]
    fn a_short_history_has_no_trend() {
        let p = EscalationPolicy::default();
        let h = History {
            negatives: vec![0.9],
            ..Default::default()
        };
        let grumpy = TurnSignals {
            sentiment: Some(sentiment(0.9)),
            ..calm(true)
        };
        assert_eq!(assess(&h, &grumpy, &p), None);
    }
}

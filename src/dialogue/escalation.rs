//! When a conversation goes to a person: a pure function from the
//! conversation's recent history and this turn's signals to an optional
//! escalation with its reason.
//!
//! The rules, first match wins:
//! 1. the customer asked for a person (an intent flagged `handoff`);
//! 2. an intent flagged `escalate`;
//! 3. one strongly negative message;
//! 4. a negative trend: the mean negative probability of the last
//!    `trend_turns` customer messages;
//! 5. a bot answer marked not helpful, and this turn unanswered too;
//! 6. `unresolved_turns` turns in a row without a confident answer.
//!
//! An agent taking over is the seventh reason; it comes from the console,
//! not from a turn. Handing a conversation back to the bot starts its
//! history afresh, so it does not bounce straight back to the queue.

use crate::config::EscalationPolicy;
use crate::crm::{EscalationCode, EscalationScores, EventKind, Sender, TimelineEvent};
use crate::nlu::Sentiment;

/// Bot decision reasons that count as a confident answer.
const RESOLVED: [&str; 2] = ["faq_match", "intent_match"];

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
}

impl History {
    /// Read the history from a conversation's events (oldest first),
    /// leaving out the customer message with `current_seq`.
    pub(crate) fn from_events(events: &[TimelineEvent], current_seq: u64) -> Self {
        let mut h = History::default();
        for event in events {
            match &event.kind {
                EventKind::Message { message: m } if m.seq == current_seq => {}
                EventKind::Message { message: m } => match m.from {
                    Sender::Customer => {
                        if let Some(a) = &m.analysis {
                            h.negatives.push(a.sentiment.negative);
                        }
                    }
                    Sender::Bot => {
                        let resolved = m.reason.as_deref().is_some_and(|r| RESOLVED.contains(&r));
                        if resolved {
                            h.unresolved_streak = 0;
                            h.not_helpful = false;
                        } else {
                            h.unresolved_streak += 1;
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

/// What one turn found, as far as escalation cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TurnSignals<'a> {
    /// The message's sentiment, if the models ran.
    pub sentiment: Option<Sentiment>,
    /// The recognised intent, if in scope.
    pub intent: Option<IntentSignal<'a>>,
    /// The bot found a confident answer (FAQ or intent response).
    pub resolved: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IntentSignal<'a> {
    pub name: &'a str,
    pub confidence: f32,
    /// The intent asks for a person.
    pub handoff: bool,
    /// The intent needs a person.
    pub escalate: bool,
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
    if let Some(i) = turn.intent.as_ref().filter(|i| i.escalate) {
        return Some(Trigger {
            code: EscalationCode::IntentNeedsHuman,
            scores: intent_scores(i),
        });
    }
    if let Some(s) = &turn.sentiment {
        if s.negative >= policy.strong_negative {
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
    if turn.resolved {
        return None;
    }
    let streak = history.unresolved_streak + 1;
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
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sentiment(negative: f32) -> Sentiment {
        let rest = (1.0 - negative) / 2.0;
        Sentiment::from_probabilities([negative, rest, rest])
    }

    fn calm(resolved: bool) -> TurnSignals<'static> {
        TurnSignals {
            sentiment: Some(sentiment(0.05)),
            intent: None,
            resolved,
        }
    }

    fn intent(handoff: bool, escalate: bool) -> Option<IntentSignal<'static>> {
        Some(IntentSignal {
            name: "human_agent",
            confidence: 0.9,
            handoff,
            escalate,
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

    fn arb_sentiment() -> impl Strategy<Value = Option<Sentiment>> {
        prop::option::of((0.0f32..=1.0).prop_map(sentiment))
    }

    fn arb_history() -> impl Strategy<Value = History> {
        (
            prop::collection::vec(0.0f32..=1.0, 0..6),
            0u32..6,
            any::<bool>(),
        )
            .prop_map(|(negatives, unresolved_streak, not_helpful)| History {
                negatives,
                unresolved_streak,
                not_helpful,
            })
    }

    proptest! {
        #[test]
        fn asking_for_a_person_always_escalates(h in arb_history(), s in arb_sentiment(), resolved: bool) {
            let turn = TurnSignals { sentiment: s, intent: intent(true, false), resolved };
            let t = assess(&h, &turn, &EscalationPolicy::default()).unwrap();
            prop_assert_eq!(t.code, EscalationCode::HandoffRequested);
        }

        #[test]
        fn a_calm_answered_turn_after_a_calm_history_never_escalates(
            negatives in prop::collection::vec(0.0f32..0.5, 0..6),
            streak in 0u32..6,
            negative in 0.0f32..0.5,
        ) {
            let h = History { negatives, unresolved_streak: streak, not_helpful: false };
            let turn = TurnSignals { sentiment: Some(sentiment(negative)), intent: None, resolved: true };
            prop_assert_eq!(assess(&h, &turn, &EscalationPolicy::default()), None);
        }

        #[test]
        fn more_negative_never_calms_things_down(h in arb_history(), a in 0.0f32..=1.0, b in 0.0f32..=1.0, resolved: bool) {
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            let p = EscalationPolicy::default();
            let at = |n: f32| assess(&h, &TurnSignals { sentiment: Some(sentiment(n)), intent: None, resolved }, &p);
            if at(low).is_some() {
                prop_assert!(at(high).is_some());
            }
        }

        #[test]
        fn unresolved_escalates_exactly_at_the_threshold(streak in 0u32..10, limit in 1u32..6) {
            let p = EscalationPolicy { unresolved_turns: limit, ..Default::default() };
            let h = History { unresolved_streak: streak, ..Default::default() };
            let t = assess(&h, &calm(false), &p);
            prop_assert_eq!(t.is_some(), streak + 1 >= limit);
        }

        #[test]
        fn every_escalation_says_why_with_the_scores_behind_it(h in arb_history(), s in arb_sentiment(), resolved: bool) {
            let turn = TurnSignals { sentiment: s, intent: None, resolved };
            if let Some(t) = assess(&h, &turn, &EscalationPolicy::default()) {
                prop_assert!(!crate::copy::escalation(t.code).is_empty());
                let scored = t.scores.negative.is_some() || t.scores.unresolved_turns.is_some();
                prop_assert!(scored, "{:?}", t);
            }
        }
    }
}

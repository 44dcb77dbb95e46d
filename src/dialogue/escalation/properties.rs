//! Properties every escalation keeps, over random histories and
//! sentiments: asking for a person always escalates, more negative never
//! calms things down, blaming oneself only raises a bar, and each rule
//! fires exactly at its limit.

use proptest::prelude::*;

use super::tests::{calm, intent, sentiment};
use super::*;

fn arb_sentiment() -> impl Strategy<Value = Option<Sentiment>> {
    prop::option::of((0.0f32..=1.0).prop_map(sentiment))
}

fn arb_history() -> impl Strategy<Value = History> {
    (
        prop::collection::vec(0.0f32..=1.0, 0..6),
        0u32..6,
        any::<bool>(),
        prop::collection::vec(
            prop::option::of(prop::sample::select(vec!["faq:returns", "intent:refund"])),
            0..6,
        ),
        0u32..4,
    )
        .prop_map(
            |(negatives, unresolved_streak, not_helpful, answers, pings)| History {
                customer_turns: negatives.len() as u32,
                negatives,
                unresolved_streak,
                not_helpful,
                answers: answers.into_iter().map(|a| a.map(str::to_owned)).collect(),
                pings,
                intents: Vec::new(),
            },
        )
}

/// A signal that escalates `with` it when `due`, and otherwise changes
/// nothing; it never removes an escalation the turn had `without` it.
fn only_adds_an_escalation(
    due: bool,
    with: &Option<Trigger>,
    without: &Option<Trigger>,
) -> Result<(), TestCaseError> {
    if due {
        prop_assert!(with.is_some());
    } else {
        prop_assert_eq!(with, without);
    }
    if without.is_some() {
        prop_assert!(with.is_some());
    }
    Ok(())
}

proptest! {
    #[test]
    fn asking_for_a_person_always_escalates(h in arb_history(), s in arb_sentiment(), resolved: bool) {
        let turn = TurnSignals { sentiment: s, intent: intent(true, false), resolved, ..Default::default() };
        let t = assess(&h, &turn, &EscalationPolicy::default()).unwrap();
        prop_assert_eq!(t.code, EscalationCode::HandoffRequested);
    }

    #[test]
    fn a_calm_answered_turn_after_a_calm_history_never_escalates(
        negatives in prop::collection::vec(0.0f32..0.5, 0..6),
        streak in 0u32..6,
        negative in 0.0f32..0.5,
    ) {
        let h = History { negatives, unresolved_streak: streak, ..Default::default() };
        let turn = TurnSignals { sentiment: Some(sentiment(negative)), resolved: true, ..Default::default() };
        prop_assert_eq!(assess(&h, &turn, &EscalationPolicy::default()), None);
    }

    #[test]
    fn more_negative_never_calms_things_down(h in arb_history(), a in 0.0f32..=1.0, b in 0.0f32..=1.0, resolved: bool) {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let p = EscalationPolicy::default();
        let at = |n: f32| assess(&h, &TurnSignals { sentiment: Some(sentiment(n)), resolved, ..Default::default() }, &p);
        if at(low).is_some() {
            prop_assert!(at(high).is_some());
        }
    }

    #[test]
    fn blaming_oneself_never_adds_an_escalation_and_never_hides_a_very_negative_one(h in arb_history(), n in 0.0f32..=1.0, resolved: bool) {
        let p = EscalationPolicy::default();
        let turn = TurnSignals { sentiment: Some(sentiment(n)), resolved, ..Default::default() };
        let without = assess(&h, &turn, &p);
        let with = assess(&h, &TurnSignals { blames_self: true, ..turn }, &p);
        if with.is_some() {
            prop_assert!(without.is_some());
        }
        if n >= p.strong_negative_answered {
            prop_assert!(with.is_some());
        }
    }

    #[test]
    fn asking_for_a_person_in_another_language_always_escalates(h in arb_history(), s in arb_sentiment(), resolved: bool, lang in prop::sample::select(vec!["de", "fr", "es", "it", "nl"])) {
        let turn = TurnSignals { sentiment: s, resolved, asks_for_person: Some(lang), ..Default::default() };
        let t = assess(&h, &turn, &EscalationPolicy::default()).unwrap();
        prop_assert_eq!(t.code, EscalationCode::HandoffRequested);
        prop_assert_eq!(t.scores.phrase, Some(format!("handoff:{lang}")));
    }

    #[test]
    fn reporting_fraud_in_so_many_words_always_escalates_as_fraud(h in arb_history(), s in arb_sentiment(), resolved: bool, blames_self: bool) {
        let turn = TurnSignals { sentiment: s, resolved, blames_self, reports_fraud: true, ..Default::default() };
        let t = assess(&h, &turn, &EscalationPolicy::default()).unwrap();
        prop_assert_eq!(t.code, EscalationCode::FraudSuspected);
        prop_assert_eq!(t.scores.phrase, Some("fraud".to_owned()));
    }

    #[test]
    fn reporting_harm_in_so_many_words_always_escalates_as_a_safety_incident(h in arb_history(), s in arb_sentiment(), resolved: bool, blames_self: bool, reports_fraud: bool) {
        let turn = TurnSignals { sentiment: s, resolved, blames_self, reports_fraud, reports_harm: true, ..Default::default() };
        let t = assess(&h, &turn, &EscalationPolicy::default()).unwrap();
        prop_assert_eq!(t.code, EscalationCode::SafetyIncident);
        prop_assert_eq!(t.scores.phrase, Some("safety".to_owned()));
    }

    #[test]
    fn anger_in_words_the_model_cannot_read_always_escalates(h in arb_history(), s in arb_sentiment(), resolved: bool, blames_self: bool, lang in prop::sample::select(vec!["de", "fr", "es", "it", "nl"])) {
        let turn = TurnSignals { sentiment: s, resolved, blames_self, angry_in_words: Some(lang), ..Default::default() };
        let t = assess(&h, &turn, &EscalationPolicy::default()).unwrap();
        prop_assert_eq!(t.code, EscalationCode::NegativeSentiment);
        prop_assert_eq!(t.scores.phrase, Some(format!("anger:{lang}")));
    }

    #[test]
    fn the_same_answer_goes_to_a_person_exactly_after_the_limit(given in 0u32..6, limit in 1u32..5, other_before: bool) {
        let mut answers: Vec<Option<String>> = Vec::new();
        if other_before {
            answers.push(Some("faq:shipping".into()));
        }
        answers.extend((0..given).map(|_| Some("faq:returns".to_owned())));
        let h = History { answers, ..Default::default() };
        let p = EscalationPolicy { repeated_answers: limit, ..Default::default() };
        let turn = TurnSignals { answer: Some("faq:returns"), ..calm(true) };
        let t = assess(&h, &turn, &p);
        prop_assert_eq!(t.is_some(), given >= limit);
        if let Some(t) = t {
            prop_assert_eq!(t.code, EscalationCode::RepeatedQuestion);
            prop_assert_eq!(t.scores.repeated_answers, Some(given));
        }
        // Another answer never counts as a repeat.
        let other = TurnSignals { answer: Some("faq:warranty"), ..calm(true) };
        prop_assert_eq!(assess(&h, &other, &p), None);
    }

    #[test]
    fn sarcasm_in_a_row_goes_to_a_person_at_the_limit_and_never_calms_things_down(h in arb_history(), turns in 1u32..5, limit in 1u32..5, s in arb_sentiment(), resolved: bool) {
        let p = EscalationPolicy { tone_turns: limit, ..Default::default() };
        let tone = Tone { name: "sarcasm", confidence: 0.6, turns };
        let with = assess(&h, &TurnSignals { sentiment: s, resolved, tone: Some(tone), ..Default::default() }, &p);
        let without = assess(&h, &TurnSignals { sentiment: s, resolved, ..Default::default() }, &p);
        only_adds_an_escalation(turns >= limit, &with, &without)?;
    }

    #[test]
    fn pings_go_to_a_person_exactly_at_the_limit(before in 0u32..5, limit in 1u32..5, resolved: bool) {
        let h = History { pings: before, customer_turns: before + 1, ..Default::default() };
        let p = EscalationPolicy { pings: limit, ..Default::default() };
        let t = assess(&h, &TurnSignals { ping: true, ..calm(resolved) }, &p);
        let due = before + 1 >= limit;
        prop_assert_eq!(t.as_ref().map(|t| t.code), due.then_some(EscalationCode::CustomerWaiting));
        // A message that is not a ping never counts as waiting.
        let t = assess(&h, &calm(resolved), &p);
        prop_assert!(t.is_none_or(|t| t.code != EscalationCode::CustomerWaiting));
    }

    #[test]
    fn asking_again_unanswered_always_escalates_and_never_calms_things_down(h in arb_history(), s in arb_sentiment(), other_language: bool) {
        let p = EscalationPolicy::default();
        let turn = TurnSignals { sentiment: s, other_language, ..Default::default() };
        let without = assess(&h, &turn, &p);
        let with = assess(&h, &TurnSignals { restates_question: true, ..turn }, &p);
        only_adds_an_escalation(h.customer_turns > 0, &with, &without)?;
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
        let turn = TurnSignals { sentiment: s, resolved, ..Default::default() };
        if let Some(t) = assess(&h, &turn, &EscalationPolicy::default()) {
            prop_assert!(!crate::copy::escalation(t.code).is_empty());
            let s = &t.scores;
            let scored = s.negative.is_some()
                || s.unresolved_turns.is_some()
                || s.repeated_answers.is_some()
                || s.pings.is_some()
                || s.phrase.is_some();
            prop_assert!(scored, "{:?}", t);
        }
    }
}

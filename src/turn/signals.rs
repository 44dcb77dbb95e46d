//! What the intents say about escalating one customer message: an
//! intent that needs a person in it, and a tone (sarcasm) that builds over
//! the messages before it. Pure functions of what the turn understood,
//! the intents' definitions and the conversation's history; `plan` weighs
//! them with the other signals.

use crate::config::EscalationPolicy;
use crate::crm::EscalationCode;
use crate::dialogue::escalation::{History, Tone};
use crate::dialogue::history::remark_intent;
use crate::nlu::{IntentDef, IntentMatch};

use super::Understood;

/// What the intents say about escalating one message: the intent that
/// needs a person in it ([`escalating_intent`]) and the tone building up
/// over the messages before it ([`tone_building`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IntentSignals<'a> {
    pub needs_person: Option<(&'a IntentDef, f32)>,
    pub tone: Option<Tone<'a>>,
}

impl<'a> IntentSignals<'a> {
    pub(crate) fn read(
        text: &str,
        understood: &Understood,
        history: &History,
        definition: impl Fn(&str) -> Option<&'a IntentDef> + Copy,
        policy: &EscalationPolicy,
    ) -> Self {
        Self {
            needs_person: escalating_intent(understood, definition, policy),
            tone: tone_building(text, understood, history, definition, policy),
        }
    }
}

/// An intent that sets the tone rather than asks for something: one that
/// raises negative sentiment (sarcasm).
fn is_tone(def: &IntentDef) -> bool {
    matches!(
        def.escalation,
        Some(EscalationCode::NegativeSentiment | EscalationCode::NegativeTrend)
    )
}

/// The intent that needs a person (flagged `escalate` or `handoff`) in
/// the whole message, else in one of its sentences, with its probability.
/// Out of scope, it counts when at least `intent_min_probability`
/// probable and `intent_min_similarity` similar; read through the
/// multilingual model, only when in scope by that classifier's own
/// thresholds. Tone (an intent raising negative sentiment: sarcasm) is
/// read from the whole message only: one sentence of a thank-you ("thank
/// you so much, super helpful") reads as sarcasm where the message does
/// not.
pub(crate) fn escalating_intent<'a>(
    understood: &Understood,
    definition: impl Fn(&str) -> Option<&'a IntentDef>,
    policy: &EscalationPolicy,
) -> Option<(&'a IntentDef, f32)> {
    let across = understood.intent_across_languages;
    let needs_person = |m: &IntentMatch| {
        let near = !across
            && m.confidence >= policy.intent_min_probability
            && m.similarity >= policy.intent_min_similarity;
        let name = m
            .name
            .as_deref()
            .or(m.nearest.as_deref().filter(|_| near))?;
        let def = definition(name)?;
        (def.escalate || def.handoff).then_some((def, m.confidence))
    };
    understood
        .analysis
        .iter()
        .find_map(|a| needs_person(&a.intent))
        .or_else(|| {
            understood
                .sentences
                .iter()
                .filter_map(|a| needs_person(&a.intent))
                .find(|(def, _)| !is_tone(def))
        })
}

/// Tone building: the whole message, a remark that asks nothing (no
/// question mark), reads as a tone intent, recognised or only nearest, at least
/// `tone_min_probability` probable, and so did the customer messages
/// just before it. Each may be too unsure to escalate alone; in a row
/// they are sarcasm that builds. A question asked twice that happens to
/// read as sarcasm ("Can I bring my dog to the store?", 0.53) is no tone.
/// A message in another language counts only when the multilingual model
/// read it.
pub(crate) fn tone_building<'a>(
    text: &str,
    understood: &Understood,
    history: &History,
    definition: impl Fn(&str) -> Option<&'a IntentDef>,
    policy: &EscalationPolicy,
) -> Option<Tone<'a>> {
    let tone = |name: &str, confidence: f32| {
        definition(name).filter(|def| is_tone(def) && confidence >= policy.tone_min_probability)
    };
    let foreign = understood.language.as_deref().is_some_and(|l| l != "en");
    if foreign && !understood.intent_across_languages {
        return None;
    }
    let (name, confidence) = remark_intent(text, &understood.analysis.as_ref()?.intent)?;
    let def = tone(name, confidence)?;
    let before = history
        .intents
        .iter()
        .rev()
        .take_while(|i| matches!(i, Some((name, confidence)) if tone(name, *confidence).is_some()))
        .count();
    Some(Tone {
        name: &def.name,
        confidence,
        turns: before as u32 + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turn::plan::tests::{intent_def, reading, understood};

    #[test]
    fn tone_counts_from_the_whole_message_and_what_it_says_from_any_sentence() {
        let defs = [
            intent_def("sarcasm", Some(EscalationCode::NegativeSentiment)),
            intent_def("fraud_report", Some(EscalationCode::FraudSuspected)),
        ];
        let find = |name: &str| defs.iter().find(|d| d.name == name);
        let policy = EscalationPolicy::default();
        let name = |u: &Understood| {
            escalating_intent(u, find, &policy).map(|(d, confidence)| (d.name.clone(), confidence))
        };
        // A thank-you with one sentence that reads as sarcasm alone.
        let mut u = understood(0.1, 0.0);
        u.sentences = vec![reading("thanks", 0.9), reading("sarcasm", 0.96)];
        assert_eq!(name(&u), None);
        // The whole message read as sarcasm.
        u.analysis = Some(reading("sarcasm", 0.97));
        assert_eq!(name(&u), Some(("sarcasm".into(), 0.97)));
        // A fraud report in one sentence of a long message.
        u.analysis = Some(reading("order_status", 0.8));
        u.sentences = vec![reading("sarcasm", 0.9), reading("fraud_report", 0.95)];
        assert_eq!(name(&u), Some(("fraud_report".into(), 0.95)));
    }
}

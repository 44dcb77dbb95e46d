//! The bot's side of a turn as a pure function: from what the turn
//! understood and the conversation's history to the reply to store and
//! the escalation to raise. [`super::Turn::finish`] only carries it out.

use crate::config::{BotPolicy, EscalationPolicy};
use crate::copy;
use crate::crm::{EscalationCode, NewMessage};
use crate::dialogue::escalation::{self, History, IntentSignal, Trigger, TurnSignals};
use crate::dialogue::history::OTHER_LANGUAGE;
use crate::dialogue::phrases;
use crate::dialogue::{self, Decision, IntentCandidate, TurnInput};
use crate::nlu::IntentDef;

use super::signals::IntentSignals;
use super::Understood;

/// What the bot does with one customer message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// Why the bot answers as it does (`faq_match`, `intent_match`,
    /// `low_confidence`, `no_match`).
    pub reason: &'static str,
    pub reply: Option<NewMessage>,
    pub escalation: Option<Trigger>,
}

/// Plan the bot's reply. `intent` is the definition of the recognised
/// intent, if the message was in scope; `escalating`, what the intents
/// say about escalating ([`IntentSignals::read`]).
pub(crate) fn plan(
    text: &str,
    understood: &Understood,
    intent: Option<&IntentDef>,
    escalating: IntentSignals<'_>,
    history: &History,
    bot: &BotPolicy,
    policy: &EscalationPolicy,
) -> Plan {
    let analysis = understood.analysis.as_ref();
    let confidence = analysis.map_or(0.0, |a| a.intent.confidence);
    // The intents are learnt from English examples. A message in another
    // language gets their replies only when the multilingual model read
    // its intent; the understanding model's guess at it only raises
    // escalations.
    let replying_intent =
        intent.filter(|_| !understood.across_languages || understood.intent_across_languages);
    let decision = dialogue::decide(
        &TurnInput {
            faq: &understood.candidates,
            intent: replying_intent.map(|def| IntentCandidate {
                name: &def.name,
                confidence,
                responses: &def.responses,
                needs_human: def.escalate || def.handoff,
            }),
        },
        bot,
    );
    // The FAQ is in English: a message in another language that the bot
    // cannot answer from it gets, in that language, the offer of a person;
    // an answer found across languages comes with a line in the customer's
    // language that says it is in English.
    let other_language = understood.language.as_deref().filter(|l| *l != "en");
    let answer = match &decision {
        Decision::Answer { faq_id, .. } => escalation::answer_key(Some(faq_id), None),
        Decision::Intent { name, .. } => escalation::answer_key(None, Some(name)),
        Decision::Clarify { .. } => None,
    };
    // Saying thanks or hello again is no question asked again.
    let small_talk = matches!(decision, Decision::Intent { .. })
        && replying_intent.is_some_and(|def| def.small_talk);
    let signals = TurnSignals {
        sentiment: analysis.map(|a| a.sentiment),
        intent: escalating
            .needs_person
            .or(intent.map(|def| (def, confidence)))
            .map(|(def, confidence)| IntentSignal {
                name: &def.name,
                confidence,
                handoff: def.handoff,
                escalate: def.escalate,
                code: def.escalation.unwrap_or(EscalationCode::IntentNeedsHuman),
            }),
        resolved: answer.is_some(),
        answer: answer.as_deref().filter(|_| !small_talk),
        ping: escalation::is_ping(
            intent.map(|d| d.name.as_str()),
            text,
            history.customer_turns,
        ),
        asks_for_person: phrases::asks_for_person(text),
        other_language: other_language.is_some() && answer.is_none(),
        says_asked_before: phrases::says_asked_before(text),
        restates_question: phrases::restates_question(text),
        threatens_to_leave: phrases::threatens_to_leave(text),
        blames_self: phrases::blames_self(text),
        threatens_legal_steps: phrases::threatens_legal_steps(text),
        reports_fraud: phrases::reports_fraud(text),
        reports_harm: phrases::reports_harm(text),
        angry_in_words: phrases::angry_in_words(text),
        tone: escalating.tone,
    };
    let escalation = escalation::assess(history, &signals, policy);
    let mut reason = decision.reason();
    // Escalating, the bot still gives a confident answer but not an
    // unsure one: the person who takes over will.
    let reply = match decision {
        Decision::Answer { faq_id, text, .. } => {
            let text = match other_language {
                Some(language) if understood.across_languages => {
                    format!("{}\n\n{text}", copy::answer_in_english(language))
                }
                _ => text,
            };
            Some(NewMessage {
                faq_id: Some(faq_id),
                ..NewMessage::bot(text, reason)
            })
        }
        Decision::Intent { text, .. } => {
            let text = match other_language {
                Some(language) if understood.intent_across_languages => {
                    format!("{}\n\n{text}", copy::reply_in_english(language))
                }
                _ => text,
            };
            Some(NewMessage::bot(text, reason))
        }
        Decision::Clarify { .. } if escalation.is_some() => None,
        Decision::Clarify { suggestions } if other_language.is_some() => {
            reason = OTHER_LANGUAGE;
            let text = copy::english_only(other_language.unwrap_or_default());
            // Entries found across languages are offered too.
            Some(NewMessage {
                suggestions: match understood.across_languages {
                    true => suggestions,
                    false => Vec::new(),
                },
                ..NewMessage::bot(text.to_owned(), reason)
            })
        }
        Decision::Clarify { suggestions } => {
            let text = match suggestions.is_empty() {
                true => copy::CLARIFY_WITHOUT_SUGGESTIONS,
                false => copy::CLARIFY_WITH_SUGGESTIONS,
            };
            Some(NewMessage {
                suggestions,
                ..NewMessage::bot(text.to_owned(), reason)
            })
        }
    };
    Plan {
        reason,
        reply,
        escalation,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::faq::FaqCandidate;
    use crate::nlu::{IntentMatch, Sentiment};

    pub(in crate::turn) fn understood(confidence: f32, negative: f32) -> Understood {
        Understood {
            analysis: Some(crate::nlu::Analysis {
                sentiment: Sentiment::from_probabilities([negative, 1.0 - negative, 0.0]),
                intent: IntentMatch {
                    name: None,
                    confidence: 0.0,
                    similarity: 0.0,
                    nearest: None,
                },
            }),
            faq: Vec::new(),
            candidates: vec![FaqCandidate {
                id: "returns".into(),
                question: "How do I return an item?".into(),
                answer: "Within 30 days.".into(),
                confidence,
            }],
            sentences: Vec::new(),
            language: None,
            across_languages: false,
            intent_across_languages: false,
        }
    }

    fn run(u: &Understood, history: &History) -> Plan {
        plan(
            "How do I return an item?",
            u,
            None,
            IntentSignals::default(),
            history,
            &BotPolicy::default(),
            &EscalationPolicy::default(),
        )
    }

    #[test]
    fn a_confident_answer_is_the_reply() {
        let p = run(&understood(0.95, 0.1), &History::default());
        let reply = p.reply.unwrap();
        assert_eq!(reply.text, "Within 30 days.");
        assert_eq!(reply.faq_id.as_deref(), Some("returns"));
        assert_eq!(p.reason, "faq_match");
        assert_eq!(p.escalation, None);
    }

    #[test]
    fn an_unsure_reply_offers_suggestions_in_the_bots_words() {
        let p = run(&understood(0.2, 0.1), &History::default());
        let reply = p.reply.unwrap();
        assert_eq!(reply.text, copy::CLARIFY_WITH_SUGGESTIONS);
        assert_eq!(reply.suggestions, vec!["How do I return an item?"]);
    }

    #[test]
    fn a_message_in_another_language_gets_the_offer_of_a_person_and_no_unresolved_count() {
        let mut u = understood(0.2, 0.1);
        u.language = Some("de".into());
        let stuck = History {
            unresolved_streak: 5,
            ..Default::default()
        };
        let p = run(&u, &stuck);
        let reply = p.reply.unwrap();
        assert_eq!(reply.text, copy::english_only("de"));
        assert_eq!(p.reason, OTHER_LANGUAGE);
        assert_eq!(p.escalation, None);
        // Its own offer is a request for a person the phrases recognise.
        assert_eq!(
            phrases::asks_for_person(copy::english_only("de")),
            Some("de")
        );
        // Understood after all: answered as usual.
        let mut u = understood(0.95, 0.1);
        u.language = Some("de".into());
        assert_eq!(run(&u, &History::default()).reason, "faq_match");
    }

    #[test]
    fn an_answer_found_across_languages_says_in_the_customers_language_that_it_is_english() {
        let mut u = understood(0.95, 0.1);
        u.language = Some("fr".into());
        u.across_languages = true;
        let p = run(&u, &History::default());
        let reply = p.reply.unwrap();
        assert_eq!(p.reason, "faq_match");
        assert!(reply.text.starts_with(copy::answer_in_english("fr")));
        assert!(reply.text.ends_with(&u.candidates[0].answer));
        // Unsure: the offer of a person, with the entries found.
        let mut u = understood(0.2, 0.1);
        u.language = Some("fr".into());
        u.across_languages = true;
        let p = run(&u, &History::default());
        let reply = p.reply.unwrap();
        assert_eq!(p.reason, OTHER_LANGUAGE);
        assert_eq!(reply.text, copy::english_only("fr"));
        assert_eq!(reply.suggestions, vec!["How do I return an item?"]);
    }

    #[test]
    fn an_intent_read_across_languages_is_answered_in_english_after_a_line_that_says_so() {
        let thanks = crate::nlu::IntentDef {
            name: "thanks".into(),
            description: String::new(),
            examples: vec!["thanks".into()],
            responses: vec!["You're welcome!".into()],
            escalate: false,
            handoff: false,
            escalation: None,
            small_talk: true,
        };
        let mut u = understood(0.1, 0.0);
        u.language = Some("de".into());
        u.across_languages = true;
        if let Some(a) = u.analysis.as_mut() {
            a.intent.name = Some("thanks".into());
            a.intent.confidence = 0.95;
        }
        let reply = |u: &Understood| {
            let policy = (BotPolicy::default(), EscalationPolicy::default());
            let history = History::default();
            plan(
                "Danke!",
                u,
                Some(&thanks),
                IntentSignals::default(),
                &history,
                &policy.0,
                &policy.1,
            )
        };
        // The understanding model's guess at German text gives no reply.
        assert_eq!(reply(&u).reason, OTHER_LANGUAGE);
        // The multilingual model's reading does, in English, said so.
        u.intent_across_languages = true;
        let p = reply(&u);
        assert_eq!(p.reason, "intent_match");
        let text = p.reply.unwrap().text;
        assert_eq!(
            text,
            format!("{}\n\nYou're welcome!", copy::reply_in_english("de"))
        );
    }

    pub(in crate::turn) fn intent_def(name: &str, escalation: Option<EscalationCode>) -> IntentDef {
        IntentDef {
            name: name.into(),
            description: String::new(),
            examples: vec![name.into()],
            responses: Vec::new(),
            escalate: true,
            handoff: false,
            escalation,
            small_talk: false,
        }
    }

    pub(in crate::turn) fn reading(name: &str, confidence: f32) -> crate::nlu::Analysis {
        let mut a = understood(0.0, 0.0).analysis.unwrap();
        a.intent.name = Some(name.into());
        a.intent.confidence = confidence;
        a
    }

    #[test]
    fn sarcasm_too_unsure_alone_escalates_when_it_builds_over_messages() {
        let defs = [
            intent_def("sarcasm", Some(EscalationCode::NegativeSentiment)),
            intent_def("order_status", None),
        ];
        let find = |name: &str| defs.iter().find(|d| d.name == name);
        let policy = EscalationPolicy::default();
        // Out of scope, only nearest to sarcasm: too unsure to escalate alone.
        let mut u = understood(0.1, 0.0);
        let mut a = reading("sarcasm", 0.8);
        a.intent.nearest = a.intent.name.take();
        u.analysis = Some(a);
        let code = |history: &History| {
            let signals = IntentSignals::read("cool cool", &u, history, find, &policy);
            let p = plan(
                "cool cool",
                &u,
                None,
                signals,
                history,
                &BotPolicy::default(),
                &policy,
            );
            p.escalation.map(|t| (t.code, t.scores.trend_turns))
        };
        let sarcastic = Some(("sarcasm".to_owned(), 0.7));
        let first = History {
            customer_turns: 1,
            intents: vec![Some(("order_status".to_owned(), 0.9))],
            ..Default::default()
        };
        assert_eq!(code(&first), None);
        let second = History {
            customer_turns: 2,
            intents: vec![Some(("order_status".to_owned(), 0.9)), sarcastic.clone()],
            ..Default::default()
        };
        assert_eq!(
            code(&second),
            Some((EscalationCode::NegativeTrend, Some(2)))
        );
        // A question that reads as sarcasm is no tone.
        let asked = IntentSignals::read("can I bring my dog?", &u, &second, find, &policy);
        assert_eq!(asked.tone, None);
        // Too unsure the first time, or broken by another message: calm.
        let unsure = History {
            intents: vec![Some(("sarcasm".to_owned(), 0.3))],
            ..second.clone()
        };
        assert_eq!(code(&unsure), None);
        let broken = History {
            intents: vec![sarcastic, Some(("order_status".to_owned(), 0.9))],
            ..second
        };
        assert_eq!(code(&broken), None);
    }

    #[test]
    fn thanks_said_again_is_no_question_asked_again() {
        let mut thanks = intent_def("thanks", None);
        thanks.escalate = false;
        thanks.responses = vec!["You're welcome!".into()];
        thanks.small_talk = true;
        let mut u = understood(0.1, 0.0);
        u.analysis = Some(reading("thanks", 0.95));
        let history = History {
            answers: vec![Some("intent:thanks".into()), None],
            customer_turns: 2,
            ..Default::default()
        };
        let policy = (BotPolicy::default(), EscalationPolicy::default());
        let reply = |def: &IntentDef| {
            plan(
                "thanks again",
                &u,
                Some(def),
                IntentSignals::default(),
                &history,
                &policy.0,
                &policy.1,
            )
        };
        let p = reply(&thanks);
        assert_eq!(p.reason, "intent_match");
        assert_eq!(p.escalation, None);
        // An intent that answers a question, given again: a person instead.
        thanks.small_talk = false;
        assert_eq!(
            reply(&thanks).escalation.map(|t| t.code),
            Some(EscalationCode::RepeatedQuestion)
        );
    }

    #[test]
    fn escalating_drops_an_unsure_reply_but_keeps_a_confident_one() {
        let stuck = History {
            unresolved_streak: 5,
            ..Default::default()
        };
        let p = run(&understood(0.2, 0.1), &stuck);
        assert_eq!(p.reply, None);
        assert_eq!(
            p.escalation.map(|t| t.code),
            Some(EscalationCode::Unresolved)
        );
        let p = run(&understood(0.95, 0.999), &History::default());
        assert!(p.reply.is_some());
        assert_eq!(
            p.escalation.map(|t| t.code),
            Some(EscalationCode::NegativeSentiment)
        );
    }
}

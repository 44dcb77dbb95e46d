//! Every sentence frontdesk itself says to a customer, in one place so
//! the wording can be reviewed, and one day translated, together.
//!
//! What the bot answers from the FAQ and the intents is the authors'
//! text, not copy; error messages belong to the errors that carry them.

use crate::crm::EscalationCode;

/// The default of `bot.disclosure`, the first thing a customer reads.
pub(crate) const DISCLOSURE: &str =
    "You are chatting with our automated assistant. You can ask for a person at any time.";

/// The bot is unsure and offers the questions it found closest.
pub(crate) const CLARIFY_WITH_SUGGESTIONS: &str =
    "I'm not sure I understood. Did you mean one of these questions?";
/// The bot found nothing close to the question.
pub(crate) const CLARIFY_WITHOUT_SUGGESTIONS: &str =
    "I'm not sure I can answer that. Could you say it in other words?";

/// The bot did not understand a message in another language: it answers
/// in English, and a person can help. `language` is an ISO 639-1 code.
/// Each text asks for a person in words the handoff phrases recognise.
pub(crate) fn english_only(language: &str) -> &'static str {
    match language {
        "de" => "Entschuldigung, ich kann nur auf Englisch antworten. Eine Person aus unserem Team hilft Ihnen gern auf Deutsch: Schreiben Sie einfach, dass Sie mit einem Mitarbeiter sprechen möchten.",
        "fr" => "Désolé, je ne peux répondre qu'en anglais. Une personne de notre équipe peut vous aider en français : écrivez simplement que vous souhaitez parler à un conseiller.",
        "es" => "Lo siento, solo puedo responder en inglés. Una persona de nuestro equipo puede ayudarle en español: escriba que quiere hablar con una persona.",
        "it" => "Mi dispiace, posso rispondere solo in inglese. Una persona del nostro team può aiutarla in italiano: scriva che desidera parlare con un operatore.",
        "nl" => "Sorry, ik kan alleen in het Engels antwoorden. Iemand van ons team helpt u graag in het Nederlands: schrijf gewoon dat u een medewerker wilt spreken.",
        _ => "Sorry, I can only answer in English. A person from our team can help you: just ask to talk to a person.",
    }
}

/// Said before an English FAQ answer to a question asked in `language`.
pub(crate) fn answer_in_english(language: &str) -> &'static str {
    match language {
        "de" => "Ich kann nur auf Englisch antworten. Das steht in unserer Hilfe dazu:",
        "fr" => "Je ne peux répondre qu'en anglais. Voici ce que dit notre aide à ce sujet :",
        "es" => "Solo puedo responder en inglés. Esto es lo que dice nuestra ayuda al respecto:",
        "it" => "Posso rispondere solo in inglese. Ecco cosa dice la nostra guida in proposito:",
        "nl" => "Ik kan alleen in het Engels antwoorden. Dit staat er in onze hulp over:",
        _ => "I can only answer in English. Here is what our help says about it:",
    }
}

/// The line before an intent's (English) reply to a message in another
/// language.
pub(crate) fn reply_in_english(language: &str) -> &'static str {
    match language {
        "de" => "Ich kann nur auf Englisch antworten:",
        "fr" => "Je ne peux répondre qu'en anglais :",
        "es" => "Solo puedo responder en inglés:",
        "it" => "Posso rispondere solo in inglese:",
        "nl" => "Ik kan alleen in het Engels antwoorden:",
        _ => "I can only answer in English:",
    }
}

/// Why the conversation goes to a person, as told to the customer and
/// kept with the escalation in the timeline.
pub(crate) fn escalation(code: EscalationCode) -> &'static str {
    match code {
        EscalationCode::HandoffRequested => {
            "You asked for a person, so I'm bringing in someone from our team."
        }
        EscalationCode::IntentNeedsHuman => {
            "This needs a person from our team, so I'm bringing one in."
        }
        EscalationCode::NegativeSentiment | EscalationCode::NegativeTrend => {
            "I'm sorry this has been frustrating. I'm bringing in a person from our team."
        }
        EscalationCode::NotHelpful => {
            "My answers haven't helped, so I'm bringing in a person from our team."
        }
        EscalationCode::Unresolved => {
            "I haven't been able to answer your questions, so I'm bringing in a person from our team."
        }
        EscalationCode::AgentTakeover => "A person from our team is joining the conversation.",
        EscalationCode::ChurnRisk | EscalationCode::LegalThreat => {
            "I understand this is serious, so I'm bringing in a person from our team."
        }
        EscalationCode::SafetyIncident => {
            "Thank you for telling us. Safety comes first, so I'm bringing in a person from our team right away."
        }
        EscalationCode::FraudSuspected => {
            "This needs a careful look from a person, so I'm bringing one in. Please don't share passwords or card numbers here."
        }
        EscalationCode::RepeatedQuestion => {
            "I'm sorry I keep giving you the same answer. I'm bringing in a person from our team."
        }
        EscalationCode::CustomerWaiting => {
            "I'm here, and I'm bringing in a person from our team to help you."
        }
    }
}

/// Queued, with nobody from the team online.
pub(crate) const NOBODY_ONLINE: &str =
    "No one from our team is online right now. Leave your email and a message and we will get back to you.";

/// Queued, for a reason the customer was not told yet.
pub(crate) const WAITING: &str = "You are waiting for a person from our team.";

pub(crate) fn moved_in_line(position: usize) -> String {
    format!("You are now number {position} in line.")
}

pub(crate) fn agent_joined(name: &str) -> String {
    format!("{name} joined the conversation.")
}

pub(crate) fn agent_taking_over(name: &str) -> String {
    format!("{name} is taking over the conversation.")
}

/// Said to a customer who comes back while an agent has the conversation.
pub(crate) fn agent_with_you(name: &str) -> String {
    format!("{name} from our team is with you.")
}

pub(crate) const BACK_TO_BOT: &str = "You are chatting with our assistant again.";

/// Said when the server closes a conversation nobody wrote in for a while.
pub(crate) const CLOSED_IDLE: &str =
    "This conversation was closed after a while without messages. Write again any time.";

pub(crate) fn closed_by(name: &str) -> String {
    format!("{name} closed the conversation.")
}

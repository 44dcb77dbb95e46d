//! Every sentence frontdesk itself says to a customer, in one place so
//! the wording can be reviewed and translated together. What the bot says
//! about the English it answers in, and about the queue, is also in
//! German, French, Spanish, Italian and Dutch, the languages it detects;
//! the rest is English.
//!
//! What the bot answers from the FAQ and the intents is the authors'
//! text, not copy; error messages belong to the errors that carry them.

use crate::crm::EscalationCode;
use crate::nlu::multilingual::LANGUAGES;

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
            "I'm sorry your question still isn't answered. I'm bringing in a person from our team."
        }
        EscalationCode::CustomerWaiting => {
            "I'm here, and I'm bringing in a person from our team to help you."
        }
    }
}

/// Where `language` stands among the languages the queue's sentences are
/// translated into, those the multilingual model reads
/// ([`LANGUAGES`]: German, French, Spanish, Italian, Dutch); `None` for
/// English and any other.
fn translated(language: Option<&str>) -> Option<usize> {
    language.and_then(|l| LANGUAGES.iter().position(|t| *t == l))
}

/// [`escalation`] as told to a customer writing in `language` (German,
/// French, Spanish, Italian or Dutch; English otherwise). The timeline
/// keeps the English sentence, for the team.
pub(crate) fn escalation_in(code: EscalationCode, language: Option<&str>) -> &'static str {
    use EscalationCode as C;
    let Some(i) = translated(language) else {
        return escalation(code);
    };
    // In the order of LANGUAGES.
    let said: [&str; 5] = match code {
        C::HandoffRequested => [
            "Sie möchten mit einer Person sprechen, deshalb hole ich jemanden aus unserem Team dazu.",
            "Vous avez demandé à parler à une personne : je fais venir quelqu'un de notre équipe.",
            "Ha pedido hablar con una persona, así que le paso con alguien de nuestro equipo.",
            "Ha chiesto di parlare con una persona, quindi coinvolgo qualcuno del nostro team.",
            "U wilt iemand spreken, dus ik haal iemand van ons team erbij.",
        ],
        C::IntentNeedsHuman => [
            "Dafür braucht es eine Person aus unserem Team, ich hole jemanden dazu.",
            "Cela demande l'aide d'une personne de notre équipe, je fais venir quelqu'un.",
            "Esto necesita a una persona de nuestro equipo, así que le paso con alguien.",
            "Per questo serve una persona del nostro team, quindi ne coinvolgo una.",
            "Hiervoor is iemand van ons team nodig, dus ik haal iemand erbij.",
        ],
        C::NegativeSentiment | C::NegativeTrend => [
            "Es tut mir leid, dass das so ärgerlich war. Ich hole eine Person aus unserem Team dazu.",
            "Je suis désolé que ce soit si frustrant. Je fais venir une personne de notre équipe.",
            "Siento que esto haya sido tan frustrante. Le paso con una persona de nuestro equipo.",
            "Mi dispiace che sia stato così frustrante. Coinvolgo una persona del nostro team.",
            "Het spijt me dat dit zo vervelend is. Ik haal iemand van ons team erbij.",
        ],
        C::NotHelpful => [
            "Meine Antworten haben nicht geholfen, deshalb hole ich eine Person aus unserem Team dazu.",
            "Mes réponses ne vous ont pas aidé, je fais donc venir une personne de notre équipe.",
            "Mis respuestas no le han ayudado, así que le paso con una persona de nuestro equipo.",
            "Le mie risposte non l'hanno aiutata, quindi coinvolgo una persona del nostro team.",
            "Mijn antwoorden hebben niet geholpen, dus ik haal iemand van ons team erbij.",
        ],
        C::Unresolved => [
            "Ich konnte Ihre Fragen nicht beantworten, deshalb hole ich eine Person aus unserem Team dazu.",
            "Je n'ai pas pu répondre à vos questions, je fais donc venir une personne de notre équipe.",
            "No he podido responder a sus preguntas, así que le paso con una persona de nuestro equipo.",
            "Non sono riuscito a rispondere alle sue domande, quindi coinvolgo una persona del nostro team.",
            "Ik kon uw vragen niet beantwoorden, dus ik haal iemand van ons team erbij.",
        ],
        C::AgentTakeover => [
            "Eine Person aus unserem Team kommt in das Gespräch dazu.",
            "Une personne de notre équipe rejoint la conversation.",
            "Una persona de nuestro equipo se une a la conversación.",
            "Una persona del nostro team si unisce alla conversazione.",
            "Iemand van ons team neemt deel aan het gesprek.",
        ],
        C::ChurnRisk | C::LegalThreat => [
            "Ich verstehe, dass das ernst ist, deshalb hole ich eine Person aus unserem Team dazu.",
            "Je comprends que c'est sérieux, je fais donc venir une personne de notre équipe.",
            "Entiendo que esto es serio, así que le paso con una persona de nuestro equipo.",
            "Capisco che è una cosa seria, quindi coinvolgo una persona del nostro team.",
            "Ik begrijp dat dit ernstig is, dus ik haal iemand van ons team erbij.",
        ],
        C::SafetyIncident => [
            "Danke, dass Sie uns Bescheid geben. Sicherheit geht vor, deshalb hole ich sofort eine Person aus unserem Team dazu.",
            "Merci de nous l'avoir signalé. La sécurité passe avant tout : je fais venir tout de suite une personne de notre équipe.",
            "Gracias por avisarnos. La seguridad es lo primero, así que le paso ahora mismo con una persona de nuestro equipo.",
            "Grazie per avercelo detto. La sicurezza viene prima di tutto, quindi coinvolgo subito una persona del nostro team.",
            "Bedankt dat u het ons laat weten. Veiligheid gaat voor, dus ik haal meteen iemand van ons team erbij.",
        ],
        C::FraudSuspected => [
            "Das sollte sich eine Person genau ansehen, ich hole jemanden dazu. Bitte teilen Sie hier keine Passwörter oder Kartennummern.",
            "Cela mérite l'attention d'une personne, je fais venir quelqu'un. Merci de ne partager ici ni mot de passe ni numéro de carte.",
            "Esto necesita que lo revise una persona, así que le paso con alguien. Por favor, no comparta aquí contraseñas ni números de tarjeta.",
            "Questo richiede l'attenzione di una persona, quindi ne coinvolgo una. Per favore non condivida qui password o numeri di carta.",
            "Hier moet iemand goed naar kijken, dus ik haal iemand erbij. Deel hier alstublieft geen wachtwoorden of kaartnummers.",
        ],
        C::RepeatedQuestion => [
            "Entschuldigung, dass Ihre Frage noch nicht beantwortet ist. Ich hole eine Person aus unserem Team dazu.",
            "Désolé que votre question reste sans réponse. Je fais venir une personne de notre équipe.",
            "Siento que su pregunta siga sin respuesta. Le paso con una persona de nuestro equipo.",
            "Mi scusi se la sua domanda non ha ancora una risposta. Coinvolgo una persona del nostro team.",
            "Sorry dat uw vraag nog niet beantwoord is. Ik haal iemand van ons team erbij.",
        ],
        C::CustomerWaiting => [
            "Ich bin da und hole eine Person aus unserem Team dazu, die Ihnen hilft.",
            "Je suis là, et je fais venir une personne de notre équipe pour vous aider.",
            "Aquí estoy, y le paso con una persona de nuestro equipo para ayudarle.",
            "Sono qui, e coinvolgo una persona del nostro team per aiutarla.",
            "Ik ben er, en ik haal iemand van ons team erbij om u te helpen.",
        ],
    };
    said[i]
}

/// Queued, with nobody from the team online.
pub(crate) fn nobody_online(language: Option<&str>) -> &'static str {
    translated(language).map_or(
        "No one from our team is online right now. Leave your email and a message and we will get back to you.",
        |i| [
            "Gerade ist niemand aus unserem Team online. Hinterlassen Sie Ihre E-Mail-Adresse und eine Nachricht, dann melden wir uns bei Ihnen.",
            "Personne de notre équipe n'est en ligne pour le moment. Laissez votre e-mail et un message, nous vous répondrons.",
            "Ahora mismo no hay nadie de nuestro equipo conectado. Deje su correo electrónico y un mensaje y le responderemos.",
            "Al momento nessuno del nostro team è online. Lasci la sua e-mail e un messaggio e le risponderemo.",
            "Er is op dit moment niemand van ons team online. Laat uw e-mailadres en een bericht achter, dan nemen we contact met u op.",
        ][i],
    )
}

/// Queued, for a reason the customer was not told yet.
pub(crate) fn waiting(language: Option<&str>) -> &'static str {
    translated(language).map_or("You are waiting for a person from our team.", |i| {
        [
            "Sie warten auf eine Person aus unserem Team.",
            "Vous attendez une personne de notre équipe.",
            "Está esperando a una persona de nuestro equipo.",
            "Sta aspettando una persona del nostro team.",
            "U wacht op iemand van ons team.",
        ][i]
    })
}

pub(crate) fn moved_in_line(position: usize, language: Option<&str>) -> String {
    match language.unwrap_or("en") {
        "de" => format!("Sie sind jetzt Nummer {position} in der Warteschlange."),
        "fr" => format!("Vous êtes maintenant numéro {position} dans la file d'attente."),
        "es" => format!("Ahora es el número {position} en la cola."),
        "it" => format!("Ora è il numero {position} in coda."),
        "nl" => format!("U bent nu nummer {position} in de wachtrij."),
        _ => format!("You are now number {position} in line."),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    const CODES: [EscalationCode; 13] = [
        EscalationCode::HandoffRequested,
        EscalationCode::IntentNeedsHuman,
        EscalationCode::NegativeSentiment,
        EscalationCode::NegativeTrend,
        EscalationCode::NotHelpful,
        EscalationCode::Unresolved,
        EscalationCode::AgentTakeover,
        EscalationCode::ChurnRisk,
        EscalationCode::LegalThreat,
        EscalationCode::SafetyIncident,
        EscalationCode::FraudSuspected,
        EscalationCode::RepeatedQuestion,
        EscalationCode::CustomerWaiting,
    ];

    #[test]
    fn the_queue_is_told_in_each_detected_language_and_in_english_otherwise() {
        for code in CODES {
            let english = escalation(code);
            assert_eq!(escalation_in(code, None), english);
            assert_eq!(escalation_in(code, Some("en")), english);
            assert_eq!(escalation_in(code, Some("pt")), english);
            let mut seen = vec![english];
            for language in ["de", "fr", "es", "it", "nl"] {
                let said = escalation_in(code, Some(language));
                assert!(!seen.contains(&said), "{code:?} in {language}: {said}");
                seen.push(said);
            }
        }
        for language in ["de", "fr", "es", "it", "nl"] {
            let l = Some(language);
            assert_ne!(nobody_online(l), nobody_online(None));
            assert_ne!(waiting(l), waiting(None));
            assert!(moved_in_line(3, l).contains('3'));
            assert_ne!(moved_in_line(3, l), moved_in_line(3, None));
        }
    }
}

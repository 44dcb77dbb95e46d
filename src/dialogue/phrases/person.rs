//! Asking for a person, in English and the five other languages the
//! widget meets: a message that names one (a member of staff, a human,
//! someone from customer service) and a way of talking to them or what
//! they should do (speak, call back, go through this with), both in the
//! same language, or a message that is only such a name
//! ("representative", "a human please", "need human help"), or a
//! request to be called back.

use std::sync::LazyLock;

use regex::Regex;

use super::words;

struct Language {
    code: &'static str,
    person: Regex,
    talk: Regex,
    /// Requests that need no second part: a message that is only the
    /// name of a person to talk to ("representative", "a human please",
    /// "need human help"), or a request to be called back, which only a
    /// person can do.
    alone: Regex,
}

static LANGUAGES: LazyLock<Vec<Language>> = LazyLock::new(|| {
    vec![
        Language {
            code: "en",
            person: words(
                r"(?:a|an|some) (?:real |actual |live )?(?:person|human|agent|employee|staff member|team member)\b|(?:any|some|real|actual) humans\b|human (?:being|help|support|assistance)\b|support (?:people|folks|humans)\b|(?:real|actual|live) (?:person|human|people|employee|staff)|(?:someone|somebody|anyone|anybody) (?:from|on|in|at) (?:your |the )?(?:\S+ )?(?:team|staff|support|shop|store|company|customer service|department)|(?:a|an|your|the) (?:customer )?(?:rep|representative|advisor|adviser|operator)\b|your colleagues?\b|(?:speak|talk|chat) (?:to|with) (?:the|your) (?:\S+ )?team\b|(?:someone|somebody) (?:with|who has) (?:the )?(?:authority|power)|(?:speak|talk|chat) (?:to|with) (?:someone|somebody)\b|(?:member|members) of (?:your |the )?staff|(?:with|to) (?:your |some )?(?:staff|support staff|support team)\b|a colleague|customer (?:service|support|care) (?:rep|representative|agent|team|department)|a (?:manager|supervisor)\b",
            ),
            talk: words(
                r"talk\b|speak\b|escalate\b|reach\b|(?:pass|hand) me (?:on |over )?to\b|working (?:today|now|right now|tonight|at the moment)\b|chat(?:ting)? (?:to|with)\b|explain\b|call me\b|call back|callback|ring me\b|phone me\b|connect me|(?:put|get) me in touch|transfer me|put me through|contact me\b|get in touch|deal with\b|put (?:a |an |some )?(?:real |actual |live )?(?:person|human|agent)s? on\b|(?:is|are) (?:there |they )?(?:available|around|online)|around today|on (?:shift|duty)\b|(?:rather than|instead of) (?:the |a |an |this )?(?:bot|assistant|automated|automatic|robot|machine|chatbot)|go(?:ing)? through (?:this|it|that) with|look(?:ing)? (?:at|into) (?:this|it|my)\b|approve\b|sort (?:this|it) out|untangle|check (?:my|this|it)\b",
            ),
            alone: case_insensitive(
                r"^\W*(?:(?:i )?(?:need|want)|get me|give me)?\s*(?:an? )?(?:real |live |actual )?(?:human|person|agent|representative|rep|operator)(?: help| assistance| support| being)?(?: please| pls| now)?\W*$|(?:^|[.!?]\s*)(?:please |pls |kindly )?(?:call|ring|phone) me\b|\b(?:can|could|would|will) (?:you|someone|somebody|one of you)(?: please)? (?:call|ring|phone) me\b|\bgive me a (?:call|ring)\b",
            ),
        },
        Language {
            code: "de",
            person: words(
                r"mitarbeiter(?:in|innen)?\b|menschen?\b|echte[nm]? person|berater(?:in)?\b|kundenservice|kundendienst|support-?team|jemand(?:em|en)?\b|ansprechpartner(?:in)?\b|kolleg(?:e|in|en)\b",
            ),
            talk: words(
                r"sprechen|reden|chatten|verbinden|durchstellen|weiterleiten|zurückruf[a-zäöüß]*|rückruf|anruf(?:en|t)\b|ruft mich|meldet sich|sich (?:bei mir )?meldet|telefonieren|kontakt|am telefon|an den apparat",
            ),
            alone: case_insensitive(
                r"\b(?:rufen sie|ruft) mich (?:bitte )?(?:\S+ )?(?:zurück|an)\b|\bruf mich (?:bitte )?(?:zurück|an)\b|^\W*(?:ich (?:will|möchte|brauche) )?(?:einen |eine )?(?:menschen|mitarbeiter(?:in)?|echte person)(?: bitte)?\W*$",
            ),
        },
        Language {
            code: "fr",
            person: words(
                r"humain|vraie personne|personne réelle|une personne\b|quelqu'un|quelqu’un|conseill(?:er|ère)|agent\b|service client|opérat(?:eur|rice)",
            ),
            talk: words(
                r"parler|discuter|joindre|contacter|mettre en (?:relation|contact)|rappeler|passer|au téléphone",
            ),
            alone: case_insensitive(
                r"\brappelez[- ]moi\b|\b(?:pouvez|pourriez)[- ]vous me (?:rappeler|téléphoner|appeler)\b|^\W*(?:je (?:veux|voudrais) )?(?:un |une )?(?:humain|conseiller|conseillère|vraie personne)(?: svp| s'il vous plaît)?\W*$",
            ),
        },
        Language {
            code: "es",
            person: words(
                r"persona\b|humano|agente\b|alguien|asesor(?:a)?\b|operador(?:a)?\b|atención al cliente|compañer[oa]",
            ),
            talk: words(
                r"hablar|atender|atienda|comunicar|pasar con|pásame|contactar|llamar|chatear|al teléfono",
            ),
            alone: case_insensitive(
                r"\bllám(?:ame|enme|eme)\b|\bme (?:puede|pueden|podría|podrían) (?:llamar|devolver la llamada)\b|\b(?:puede|pueden|podría|podrían) llamarme\b|^\W*(?:necesito|quiero) (?:un |una )?(?:humano|persona|agente)(?: real)?(?: por favor)?\W*$",
            ),
        },
        Language {
            code: "it",
            person: words(
                r"persona\b|operat(?:ore|rice)|umano|qualcuno|consulente|servizio clienti|collega|in carne e ossa",
            ),
            talk: words(
                r"parlare|chattare|contattare|passare|richiamare|mettere in contatto|al telefono|in carne e ossa",
            ),
            alone: case_insensitive(
                r"\brichiamatemi\b|\bmi (?:può|potete|potreste|potrebbe) (?:ri)?chiamare\b|\b(?:può|potete) (?:ri)?chiamarmi\b|^\W*(?:voglio|vorrei) (?:un |una )?(?:operatore|operatrice|persona|umano)(?: per favore)?\W*$",
            ),
        },
        Language {
            code: "nl",
            person: words(
                r"medewerker|een mens\b|echt persoon|persoon\b|iemand|klantenservice|collega",
            ),
            talk: words(
                r"spreken|praten|chatten|doorverbinden|terugbellen|bellen|contact|aan de lijn|aan de telefoon",
            ),
            alone: case_insensitive(
                r"\bbel (?:me|mij) (?:terug|op)\b|\b(?:mag ik|ik wil|graag) een (?:mens|medewerker)\b",
            ),
        },
    ]
});

/// A case-insensitive pattern, anchored as it says (`^`, `\b`).
fn case_insensitive(pattern: &str) -> Regex {
    Regex::new(&format!("(?i){pattern}")).expect("valid pattern")
}

/// The language of a request for a person in `text`, if it is one.
pub(crate) fn asks_for_person(text: &str) -> Option<&'static str> {
    LANGUAGES
        .iter()
        .find(|l| l.alone.is_match(text))
        .or_else(|| {
            LANGUAGES
                .iter()
                .find(|l| l.person.is_match(text) && l.talk.is_match(text))
        })
        .map(|l| l.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_for_a_person_in_five_languages() {
        for (text, code) in [
            ("Kann ich bitte mit einem Menschen sprechen?", "de"),
            ("Bitte verbinden Sie mich mit dem Kundenservice.", "de"),
            (
                "Mir wäre lieber, wenn mich jemand aus Ihrem Team zurückruft.",
                "de",
            ),
            ("Je voudrais parler à un conseiller, s'il vous plaît.", "fr"),
            ("Puis-je discuter avec quelqu'un de votre équipe ?", "fr"),
            ("¿Puedo hablar con una persona real?", "es"),
            ("Quiero que me atienda un agente, por favor", "es"),
            ("Vorrei parlare con un operatore.", "it"),
            ("Posso chattare con qualcuno del servizio clienti?", "it"),
            ("Kan ik met een medewerker praten?", "nl"),
            ("Ik wil graag iemand spreken van de klantenservice", "nl"),
            (
                "it's hard to explain to a bot, is anyone from the team around today?",
                "en",
            ),
            (
                "Could I speak with someone on your team rather than the assistant?",
                "en",
            ),
            (
                "who do I talk to if I want an actual employee to check my refund?",
                "en",
            ),
            (
                "can a human untangle this for me rather than the automated thing",
                "en",
            ),
            (
                "I'd feel better going through this with somebody from your team",
                "en",
            ),
            (
                "I need someone with the authority to approve an exception",
                "en",
            ),
            ("I need to speak to someone about this please", "en"),
            (
                "I'd rather sort this out with staff, it's a long story",
                "en",
            ),
            ("is there a real person on duty tonight?", "en"),
            ("Graag een medewerker aan de lijn, dank u.", "nl"),
            ("representative", "en"),
            ("A real person please!", "en"),
            (
                "could somebody from customer service contact me today?",
                "en",
            ),
            ("enough links, put a human on", "en"),
            ("can one of your colleagues look at my order?", "en"),
            ("I'd rather deal with a person here", "en"),
            ("let me talk to the returns team", "en"),
            ("any humans working today?", "en"),
            ("Please pass me on to your support people", "en"),
            ("Hand me over to one of your colleagues, thanks", "en"),
            ("Please escalate my case to a person", "en"),
            ("need human help", "en"),
            ("May I chat with a representative regarding a refund?", "en"),
            (
                "can you put me in touch with someone in your returns department",
                "en",
            ),
            ("Can you call me back about order 55120?", "en"),
            ("Bitte rufen Sie mich zurück", "de"),
            ("necesito un humano", "es"),
            ("¿Me pueden llamar mañana?", "es"),
            ("c'è qualcuno in carne e ossa?", "it"),
            ("Mi potete richiamare?", "it"),
            ("mag ik een mens?", "nl"),
        ] {
            assert_eq!(asks_for_person(text), Some(code), "{text}");
        }
    }

    #[test]
    fn naming_a_person_or_talking_alone_is_not_a_request() {
        for text in [
            "Wo ist meine Bestellung?",
            "Mein Mann hat die Jacke bestellt, die Größe passt nicht.",
            "Le colis est arrivé abîmé.",
            "¿Cuánto tarda el envío a España?",
            "Il pacco non è ancora arrivato.",
            "Mijn bestelling is te laat.",
            "How long does shipping take?",
            "I talked to my bank and they said the payment went through.",
            "The delivery person left it at the door.",
            "is this an automated chat or a person? doesn't matter either way",
            "a real person at the post office said it was sent back",
            "my wife spoke to someone at the post office",
            "when does the Oslo shop open? I'd like to talk to the staff there",
            "the staff at the Bergen shop were lovely, is the jacket online too?",
            "does your team test the tents in storms?",
            "can you contact me when the XL is back in stock?",
            "how do I contact you if the parcel doesn't arrive?",
            "is the agent for DHL in Norway Posten?",
            "the courier said someone would call me, when will that be?",
            "My brother will talk to you about his own order later",
            "Can a person other than me pick up the parcel?",
            "how do I change the name on my account to my partner's",
            "I'll call my bank and get back to you",
            "The delivery driver called me but I missed it",
            "Kann eine andere Person das Paket annehmen?",
            "Meine Frau ruft später wegen ihrer eigenen Bestellung an",
            "¿Cómo se puede llamar a la tienda de Madrid?",
            "Quante persone entrano nella tenda?",
            "Is de tent geschikt voor twee personen?",
        ] {
            assert_eq!(asks_for_person(text), None, "{text}");
        }
    }
}

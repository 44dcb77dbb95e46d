//! Words that say a conversation needs a person, where the intent model
//! misses them.
//!
//! - Asking for a person in English and in the languages the widget meets
//!   besides it: German, French, Spanish, Italian and Dutch. The intent
//!   model reads English only; a German "Könnte ich bitte mit einem
//!   Mitarbeiter sprechen?" means nothing to it, and an English request
//!   wrapped in a long explanation is diluted in its embedding. A message
//!   asks for a person when it names one (a member of staff, a human,
//!   someone from customer service, an actual employee, someone with the
//!   authority, speaking to someone) and a way of talking to them or what they should do
//!   (speak, chat with, connect, call back, go through this with, rather
//!   than the bot) in the same language. Both are needed, so "the person
//!   at the door", "I talked to my bank" or "is this an automated chat or
//!   a person?" do not match. A message that is only such a name
//!   ("representative", "a human please") or asks to be called back
//!   asks for one too (`person`).
//! - Saying one asked before or was not answered ("this is the third
//!   time I ask", "as I said", "Again:", "that doesn't answer my
//!   question", "the same link both times"; "for the third time" and "that
//!   does not answer my question" in German, French, Spanish, Italian and
//!   Dutch too).
//! - Asking again in other words because the reply did not settle it:
//!   pushing for a plain answer ("yes or no", "does it fit or not"),
//!   saying what the question meant ("I mean the vents", "I was asking
//!   if", "just want to know where it goes"), or that the reply missed it
//!   ("that's the returns page", "it doesn't say", "but not whether",
//!   "fine, but …"). The escalation rule reads it only after the first
//!   message and when the bot cannot answer this one either: an "ok but
//!   do you have it in blue?" that the bot answers is a new question.
//! - Threatening to leave, in six languages ("I'm done with your shop",
//!   "I'll get it on Amazon", "never ordering here again", "Ich bestelle
//!   ab jetzt woanders"), in the present or future, not a story or a
//!   pause with its reason (`leaving`).
//! - Reporting fraud: an account or card someone else used, an order or
//!   charge the customer never made (`fraud`).
//! - Reporting harm: a product that caught fire, leaked gas or hurt
//!   someone (`harm`).
//! - Anger in so many words in the five languages besides English, which
//!   the sentiment model does not read (`anger`).
//! - Threatening legal steps (a chargeback, getting or passing it to a
//!   lawyer, consumer protection, a data protection authority, court);
//!   "my lawyer friend says" is no threat.
//! - Blaming oneself ("my fault, I typed the wrong house number", "my
//!   own fault this time", "silly me", "I picked the wrong size"): the
//!   strong words of such a message are about the customer, not the shop.
//!   "Not my fault" is the opposite.
//! - Asking whether anyone is there ("anyone home?", "is this thing
//!   on?", "Ist da jemand?", "allô ?", "¿hay alguien?"), where the
//!   `anyone_there` intent, which reads English, is unsure. A message
//!   that opens with a drawn-out greeting ("hellooo, it's going to get
//!   packed") or is only dots is a ping too, once the conversation has
//!   begun.

use std::sync::LazyLock;

use regex::Regex;

mod anger;
mod fraud;
mod harm;
mod leaving;
mod person;

pub(crate) use anger::angry_in_words;
pub(crate) use fraud::reports_fraud;
pub(crate) use harm::reports_harm;
pub(crate) use leaving::threatens_to_leave;
pub(crate) use person::asks_for_person;

/// A case-insensitive pattern of alternatives that start at a word. In
/// the lists, skip a word as `\S+`, not `\w+`: under case folding the
/// Unicode word class makes each compiled pattern megabytes large
/// (docs/benchmarks.md, section 0h).
fn words(list: &str) -> Regex {
    Regex::new(&word_pattern(list)).expect("valid pattern")
}

/// The source of [`words`], for a set of such patterns.
fn word_pattern(list: &str) -> String {
    format!(r"(?i)\b(?:{list})")
}

static ASKED_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"(?:second|third|fourth|fifth|2nd|3rd|4th|5th|umpteenth) time (?:i|i'm|i am|that i|asking|now)|as i(?:'ve| have)? (?:already )?(?:said|wrote|written|mentioned|explained)|i(?:'ve| have)? already (?:asked|said|told|explained|written|wrote|emailed|e-mailed|messaged|contacted|called|rang|complained|reported|sent)|(?:asked|wrote|written|emailed|e-mailed|messaged|contacted you|called you|complained|reported (?:it|this)|chased (?:it|this|you)) (?:\S+ ){0,3}(?:twice|three times|four times|several times|multiple times|(?:a )?(?:few|couple of|number of) times)|(?:asked|told) you (?:twice|three times|several times|before)|one more time|once more\b|how many times|like i said|as i said|again:|(?:that|this|it) (?:doesn't|does not|didn't|did not) answer (?:my|the) question|not what i (?:asked|was asking)|(?:got|get|getting|sent me|keep getting) the same (?:answer|reply|link|faq)|(?:yesterday|earlier|this morning|last week) and again|por (?:segunda|tercera|cuarta) vez|(?:eso|esto) no responde a mi pregunta|zum (?:zweiten|dritten|vierten) mal|(?:das|dies) beantwortet meine frage nicht|ich habe (?:schon|bereits) gefragt|pour la (?:deuxième|troisième|quatrième) fois|(?:ça|cela) ne répond pas à ma question|je l'ai déjà demandé|per la (?:seconda|terza|quarta) volta|non risponde alla mia domanda|l'ho già chiesto|voor de (?:tweede|derde|vierde) keer|dat beantwoordt mijn vraag niet|ik heb (?:het )?al gevraagd",
    )
});

static RESTATED: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"yes or no\b|(?:or not|or no|oder nicht|ou pas|o no|of niet)\s*(?:[?!.]|$)|i mean\b|what i mean|i(?:'?m| am| was) (?:asking|wondering) (?:about|if|whether|what|how|where|when|why|for)\b|my question (?:is|was)\b|i asked (?:about|if|whether|what|how|where|when|why|for)\b|to be clear\b|in other words\b|let me (?:rephrase|put it|ask (?:it|that) (?:another|differently))|rephras|(?:ask|put) (?:it |this |that )?(?:differently|another way)|^(?:fine|ok(?:ay)?|right|yes|yeah|sure|sorry)[,.]? but\b|(?:that|this|it) (?:doesn't|does not|didn't|did not) (?:explain|say|tell|help|cover)\b|(?:doesn't|does not) say\b|but not whether|that'?s (?:just )?the (?:\S+ ){0,2}(?:page|link|process|faq)\b|(?:just|all i|i only|i just|i still) (?:want|need|wanted) to know|still (?:don't|do not) know|simple question|straight answer|just tell me\b|ja oder nein|oui ou non|s[ií] o no\b|ja of nee",
    )
});

static LEGAL: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"charge ?back|(?:get|getting|hire|hiring|contact|contacting|call|calling|involve|involving|speak(?:ing)? (?:to|with)|talk(?:ing)? to|consult(?:ing)?|through|(?:pass|passing|hand|handing|forward|forwarding|send|sending|give|giving) (?:this|it|the case|everything)(?: on| over)? to)(?: (?:a|an|my|our))? (?:lawyer|solicitor|attorney)s?|(?:my|our) (?:lawyer|solicitor|attorney)s? (?:has|have|is|are|will|'ll|says you|said you)|(?:lawyer|solicitor|attorney)s? (?:will|is going to|are going to)|\bsue\b|suing|small claims|court\b|consumer (?:protection|rights|centre|center|organi[sz]ation)|verbraucherzentrale|data protection (?:authority|office|regulator|commissioner)|information commissioner|\bthe ico\b|datenschutzbehörde|datenschutzaufsicht|(?:landes)?datenschutzbeauftragten?|\bcnil\b|\baepd\b|agencia (?:española )?de protección de datos|garante (?:della |per la )?(?:privacy|protezione)|autoriteit persoonsgegevens|trading standards|legal (?:action|steps)|report (?:you|this|your \S+) to the (?:police|authorities)|anwalt|anwältin|gericht\b|rechtliche schritte|verklagen|avocat|tribunal\b|porter plainte|médiateur de la consommation|mise en demeure|association de consommateurs|abogad[oa]|juzgado|demandar|oficina (?:municipal )?de consumo|avvocat[oa]|giudice|associazione (?:dei )?consumatori|vie legali|advocaat|rechter\b|rechtbank|geschillencommissie|consumentenbond|juridische stappen",
    )
});

static SELF_BLAME: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"(?:my|our) (?:own )?(?:fault|mistake|bad)\b|(?:mistake|error) on my part|silly me|stupid me|i (?:messed|screwed) up|i (?:typed|entered|picked|chose|selected|ordered|put in|gave you) the wrong|meine schuld|mein fehler|ma faute|culpa m[ií]a|colpa mia|mijn (?:fout|schuld)",
    )
});

static NOT_SELF_BLAME: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"(?:not|n't|no|nicht|pas|non è|niet) (?:\S+ )?(?:my|our|meine?|ma|mia|mijn) (?:own )?(?:fault|mistake|schuld|fehler|faute|colpa|fout)|no fault of (?:my|our)|no es culpa m[ií]a",
    )
});

static PING: LazyLock<Regex> = LazyLock::new(|| {
    words(
        r"^(?:hel+o{2,}|hey{2,}|hi{3,}|hal+o{2,})\b|(?:is )?(?:any|some)(?:one|body) (?:(?:still|actually|even) )?(?:there|here|home|around|reading(?: this)?|listening|awake|alive)\W*$|is this (?:thing|chat) (?:on|working|live)\b|are you (?:still )?there\W*$|did my message (?:go through|arrive)|is (?:anyone|anybody|someone|somebody) (?:going to|gonna) (?:answer|reply|respond)|ist (?:da |hier )?(?:jemand|wer)\b|(?:hallo|haa+llo+|halloo+|hallöchen)\s*\?|bekomme ich (?:noch |hier )?(?:eine |irgendeine )?antwort|antwortet (?:hier |mir )?(?:noch )?(?:jemand|wer|keiner|niemand)|il y a quelqu['’]un|quelqu['’]un (?:est )?(?:là|la)\b|vous êtes (?:là|toujours là)|all[oô]+\s*\?|(?:bonjour|coucou|hello)\s*\?\?|personne ne (?:répond|me répond)|hay alguien|alguien (?:ahí|ahi|me (?:lee|responde|contesta))|(?:hola|oiga)\s*\?|nadie (?:responde|contesta)|c['’]è qualcuno|qualcuno (?:c['’]è|mi (?:risponde|legge))|(?:pronto|ciao|ehi)\s*\?|nessuno (?:risponde|mi risponde)|is (?:daar|er) (?:nog )?iemand|(?:hallo|hoi)\s*\?|krijg ik (?:nog )?(?:een |wel )?antwoord|reageert (?:er )?(?:nog )?(?:iemand|niemand)",
    )
});

/// Whether `text` asks whether anyone is there, opens with a drawn-out
/// greeting, or is only dots or question marks ("...", "??").
pub(crate) fn asks_if_anyone_is_there(text: &str) -> bool {
    let text = text.trim();
    PING.is_match(text)
        || (!text.is_empty()
            && text
                .chars()
                .all(|c| matches!(c, '.' | '…' | '?' | '？' | ' ')))
}

/// Whether `text` asks something: it holds a question mark.
pub(crate) fn asks_something(text: &str) -> bool {
    text.contains(['?', '？'])
}

/// Whether `text` threatens legal steps.
pub(crate) fn threatens_legal_steps(text: &str) -> bool {
    LEGAL.is_match(text)
}

/// Whether `text` says the customer asked the same before.
pub(crate) fn says_asked_before(text: &str) -> bool {
    ASKED_BEFORE.is_match(text)
}

/// Whether `text` asks again in other words, or says the reply missed
/// the question.
pub(crate) fn restates_question(text: &str) -> bool {
    RESTATED.is_match(text)
}

/// Whether `text` blames the customer, not the shop, for what went wrong.
pub(crate) fn blames_self(text: &str) -> bool {
    SELF_BLAME.is_match(text) && !NOT_SELF_BLAME.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asking_whether_anyone_is_there_in_five_languages() {
        for text in [
            "Ist da jemand?",
            "Haaallo??",
            "Hallo? Bekomme ich noch eine Antwort?",
            "il y a quelqu'un ?",
            "allô ?",
            "¿Hay alguien ahí?",
            "c'è qualcuno?",
            "Is daar iemand?",
            "hallo? krijg ik nog antwoord?",
        ] {
            assert!(asks_if_anyone_is_there(text), "{text}");
        }
        for text in [
            "Hallo, wo ist meine Bestellung?",
            "Ist das Paket schon da?",
            "Il y a quelque chose qui cloche avec ma commande",
            "¿Hay algún descuento para estudiantes?",
            "Is er iets mis met mijn bestelling?",
            "Is anyone able to help with a return?",
        ] {
            assert!(!asks_if_anyone_is_there(text), "{text}");
        }
    }

    #[test]
    fn asking_something_takes_a_question_mark() {
        assert!(asks_something("Can I bring my dog to the store?"));
        assert!(asks_something("¿Hay alguien ahí?"));
        assert!(asks_something(
            "or does the warehouse sleep on weekends? :)"
        ));
        assert!(!asks_something("tracking says Monday. cool cool"));
        assert!(!asks_something("is it 30 days from delivery"));
    }

    #[test]
    fn asking_again_and_leaving() {
        for text in [
            "This is the third time I'm asking for my refund.",
            "As I've said twice now: the boots were returned.",
            "One more time: when is the XL back?",
            "I already told you the order number.",
            "I already wrote about this twice: my discount code wasn't applied.",
            "I've emailed you three times about the refund.",
            "Again: the gloves went back by mistake.",
            "That doesn't answer my question.",
            "I got the same FAQ link both times.",
            "Eso no responde a mi pregunta",
            "Por tercera vez: ¿enviáis a Tenerife?",
            "Zum dritten Mal: wo ist mein Paket?",
            "Pour la troisième fois, où est ma commande ?",
        ] {
            assert!(says_asked_before(text), "{text}");
        }
        for text in [
            "Can I order the same jacket again?",
            "I'm asking about the delivery time to Spain.",
            "Is this the second time you ship to Norway this year?",
            "the driver called twice but I was out, can he come again?",
        ] {
            assert!(!says_asked_before(text), "{text}");
        }
        assert!(!says_asked_before(
            "Is this the first time you ship to Norway?"
        ));
        for text in [
            "After this I'm done with your shop.",
            "I'll get the same stuff on Amazon tomorrow.",
            "I will never order from you again.",
            "That's the last euro Northwind gets from me... last order, really",
            "that was my last order with you",
            "This is the last time I order from Northwind.",
        ] {
            assert!(threatens_to_leave(text), "{text}");
        }
        for text in [
            "we'll be getting our ski gear at the outdoor shop down the road",
            "I'm switching to another store for the rest of the gear",
            "from now on we're buying our tents from the outdoor store in town",
            "not sure I want to be a Northwind customer at all after this",
            "the club is moving our group orders to a competitor",
        ] {
            assert!(threatens_to_leave(text), "{text}");
        }
        for text in [
            "Can I order the tent again in green?",
            "last time I ordered a tent from another shop it took 5 weeks",
            "I bought the stove at another shop, do you sell the canisters?",
            "I usually buy my gear at the local store but they don't have it",
            "can I pick up my order at the Bergen store?",
            "this is my last order for a while, the baby is due in May",
            "last order before we're moving abroad, can it arrive by Friday?",
            "Where can I download the invoice for my last order?",
            "my last order arrived with a dented box but everything is fine",
            "can I reorder the socks from my last order?",
        ] {
            assert!(!threatens_to_leave(text), "{text}");
        }
        assert!(threatens_legal_steps(
            "I'm doing a chargeback through my bank."
        ));
        assert!(threatens_legal_steps("My lawyer will write to you."));
        assert!(threatens_legal_steps("I'll get a lawyer involved"));
        assert!(threatens_legal_steps("talking to my solicitor tomorrow"));
        assert!(threatens_legal_steps("I'm passing this on to my lawyer"));
        assert!(!threatens_legal_steps(
            "my lawyer friend says you have to show VAT on the invoice"
        ));
        assert!(!threatens_legal_steps(
            "a lawyer friend of mine swears by your jackets"
        ));
        assert!(!threatens_legal_steps("I'm a lawyer and hike on weekends"));
        assert!(!threatens_legal_steps("Can I pay by bank transfer?"));
        for text in [
            "Sonst schalte ich meinen Anwalt ein.",
            "J'irai au tribunal s'il le faut.",
            "Voy a poner una reclamación en la oficina de consumo.",
            "Mi rivolgo a un avvocato.",
            "Ik stap naar de geschillencommissie.",
        ] {
            assert!(threatens_legal_steps(text), "{text}");
        }
    }

    #[test]
    fn asking_again_in_other_words() {
        for text in [
            "I mean the hood. can it be taken off or not?",
            "so does the Skarven fit two people, yes or no",
            "fine, but when does the money actually arrive?",
            "that's the shipping page, it doesn't say anything about Iceland",
            "you told me the weight, but not whether it packs small",
            "im asking when the new pair ships",
            "i just want to know who pays the customs",
            "let me ask differently: is the stove allowed on a plane?",
            "Also passt das nun oder nicht? Die Antwort war unklar.",
            "Est-ce que c'est étanche, oui ou non ?",
        ] {
            assert!(restates_question(text), "{text}");
        }
        for text in [
            "ok, and how long does delivery to Sweden take?",
            "what about the Trailhead shoes?",
            "thanks, that helped",
            "is the jacket warm enough for Norway?",
            "meine Bestellung ist noch nicht da",
            "ok so up to 7 days, I'll wait then",
        ] {
            assert!(!restates_question(text), "{text}");
        }
    }

    #[test]
    fn blaming_oneself() {
        for text in [
            "my fault, I typed the wrong house number on the order",
            "I hate when I order the wrong size AGAIN, my own fault this time",
            "silly me, I picked the wrong colour. can I still change it?",
            "I messed up the address",
            "Mein Fehler, ich habe die falsche Größe bestellt.",
            "C'est ma faute, j'ai mis la mauvaise adresse.",
        ] {
            assert!(blames_self(text), "{text}");
        }
        for text in [
            "it's not my fault your courier lost the parcel",
            "this was no fault of my own, the box arrived crushed",
            "you sent the wrong size",
            "I hate this jacket, the zip broke after a week",
            "Das ist nicht meine Schuld, das Paket kam beschädigt an.",
        ] {
            assert!(!blames_self(text), "{text}");
        }
    }

    #[test]
    fn a_drawn_out_greeting_is_a_ping() {
        assert!(asks_if_anyone_is_there(
            "hellooo, the parcel is about to leave"
        ));
        assert!(asks_if_anyone_is_there("heyyy?"));
        assert!(!asks_if_anyone_is_there("hello, where is my order?"));
        assert!(!asks_if_anyone_is_there("hi, do you ship to Malta?"));
    }

    #[test]
    fn asking_in_english_or_only_dots_is_a_ping() {
        for text in [
            "anyone home?",
            "is this thing on?",
            "are you still there?",
            "...",
            " ?? ",
            "…",
        ] {
            assert!(asks_if_anyone_is_there(text), "{text}");
        }
        for text in [
            "",
            "is anyone there able to tell me the return address?!",
            "ok.",
        ] {
            assert!(!asks_if_anyone_is_there(text), "{text}");
        }
    }
}

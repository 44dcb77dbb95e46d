//! Anger in so many words, in the five languages besides English that
//! the widget meets. The sentiment model reads English: "Ich bin echt
//! sauer … eine Frechheit!" is 0.2 negative to it. These are the words a
//! customer uses to say they are angry or that the shop's conduct is
//! outrageous ("Estoy harto", "c'est inadmissible", "una vergogna",
//! "schandalig"), not the words of a problem ("kaputt", "en retard"),
//! and a denial ("nicht sauer, nur eine Frage") takes them back. English
//! anger is left to the model.

use std::sync::LazyLock;

use regex::Regex;

use super::words;

struct Language {
    code: &'static str,
    angry: Regex,
    /// "Not angry", "pas fâché": the customer says they are calm.
    calm: Regex,
}

static LANGUAGES: LazyLock<Vec<Language>> = LazyLock::new(|| {
    let language = |code, angry: &str, calm: &str| Language {
        code,
        angry: words(angry),
        calm: words(calm),
    };
    vec![
        language(
            "de",
            r"(?:ich bin|bin) (?:\S+ )?(?:sauer|stinksauer|wütend|verärgert|empört|stocksauer|fassungslos)|stinksauer|frechheit|unverschämt|zumutung|(?:ein|der) witz\b|skandal|inakzeptabel|unakzeptabel|mir reicht'?s|mir reicht es|die nase (?:gestrichen )?voll|verarsch",
            r"(?:nicht|kein(?:e|en)?) (?:\S+ )?(?:sauer|wütend|verärgert|böse)",
        ),
        language(
            "fr",
            r"(?:je suis|suis) (?:\S+ )?(?:furieu[sx]e?|en colère|énervée?|excédée?|outrée?|scandalisée?|hors de moi)|inadmissible|inacceptable|scandal|c['’]est une honte|quelle honte|honteu[sx]|j['’]en ai marre|ras[- ]le[- ]bol|vous (?:vous )?(?:moquez|foutez) de|c['’]est (?:du )?n['’]importe quoi",
            r"(?:pas|ne suis pas) (?:\S+ )?(?:fâchée?|en colère|énervée?|furieu[sx]e?)",
        ),
        language(
            "es",
            r"(?:estoy|estamos) (?:\S+ )?(?:hart[oa]s?|furios[oa]s?|enfadad[oa]s?|cabread[oa]s?|indignad[oa]s?|molest[oa]s?)|(?:es una|qué) vergüenza|vergonzoso|inaceptable|inadmisible|indignante|tomadura de pelo|tomando el pelo|(?:es un|qué) escándalo|escandaloso",
            r"no (?:estoy |estamos )?(?:\S+ )?(?:hart[oa]|furios[oa]|enfadad[oa]|cabread[oa]|molest[oa])",
        ),
        language(
            "it",
            r"(?:sono|siamo) (?:\S+ )?(?:arrabbiat[oaie]|furios[oaie]|furibond[oaie]|stuf[oaie]|indignat[oaie]|incazzat[oaie])|(?:è una|che) vergogna|vergognoso|inaccettabile|inammissibile|scandalo|scandaloso|prendendo in giro|presa in giro|ne ho abbastanza",
            r"non (?:sono |siamo )?(?:\S+ )?(?:arrabbiat|furios|stuf|incazzat)",
        ),
        language(
            "nl",
            r"(?:ik ben|ben) (?:\S+ )?(?:boos|woedend|kwaad|pissig|razend|het zat|het spuugzat)|schandalig|schande\b|onacceptabel|onaanvaardbaar|(?:dit is|is dit|echt|gewoon|te) belachelijk|ik heb er genoeg van",
            r"niet (?:\S+ )?(?:boos|kwaad|woedend|pissig)",
        ),
    ]
});

/// The language, of the five besides English, in which `text` says the
/// customer is angry, if it does.
pub(crate) fn angry_in_words(text: &str) -> Option<&'static str> {
    LANGUAGES
        .iter()
        .find(|l| l.angry.is_match(text) && !l.calm.is_match(text))
        .map(|l| l.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anger_in_five_languages() {
        for (text, code) in [
            ("Ich bin echt sauer. Das ist doch eine Frechheit!", "de"),
            ("C'est inadmissible, trois semaines sans réponse.", "fr"),
            ("Estoy harto. ¡Es una vergüenza!", "es"),
            ("Sono davvero arrabbiata, è una vergogna.", "it"),
            ("Dit is echt belachelijk, ik ben woedend.", "nl"),
        ] {
            assert_eq!(angry_in_words(text), Some(code), "{text}");
        }
        for text in [
            "Ich bin nicht sauer, nur eine Frage: wann kommt das Paket?",
            "Der Reißverschluss ist kaputt, was kann ich tun?",
            "Ma commande est en retard, pouvez-vous vérifier ?",
            "No estoy enfadado, solo quería saber el plazo.",
            "Il pacco è in ritardo, potete controllare?",
            "De jas is belachelijk goedkoop, is hij waterdicht?",
            "I'm so angry right now",
        ] {
            assert_eq!(angry_in_words(text), None, "{text}");
        }
    }
}

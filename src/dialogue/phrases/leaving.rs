//! Threatening to stop being a customer, in English and the five other
//! languages the widget meets: done with the shop, never ordering again,
//! the last order, buying elsewhere or from a competitor, closing the
//! account. A threat is in the present or future: "last time I ordered
//! from another shop" tells a story, "I usually buy my gear at the local
//! store" or "pick up my order at the Bergen store" is none (a named
//! shop counts only after a verb of the future or in progress), and
//! "the invoice for my last order" is the most recent one. A pause with
//! its reason ("my last order for a while, moving abroad") is no threat
//! either.

use std::sync::LazyLock;

use regex::Regex;

use super::words;

struct Language {
    /// Words that threaten to leave.
    threat: Regex,
    /// A pause with its reason, which takes the threat back.
    pause: Regex,
}

static LANGUAGES: LazyLock<Vec<Language>> = LazyLock::new(|| {
    let language = |threat: &str, pause: &str| Language {
        threat: words(threat),
        pause: words(pause),
    };
    vec![
        language(
            r"(?:i'?m|i am|we'?re|we are) done with (?:you|your|this|northwind)|never (?:order|ordering|buy|buying|shop|shopping)(?: \S+){0,3} (?:here|from you|with you|again)|(?:on|from|at) amazon\b|(?:go|going|switch|switching|move|moving|take|taking|get|getting|buy|buying|order|ordering|shop|shopping)\b(?: \S+){0,4} (?:elsewhere|somewhere else|(?:at|from|to|with) (?:another|other|a different|a competitor|your competitors?)\b)|(?:(?:will|'ll|gonna|going to) (?:\S+ )?(?:go|switch|move|take|get|buy|order|shop)|going|switching|moving|taking|getting|buying|ordering|shopping)\b(?: \S+){0,4} (?:at|from|to|with) the \S+ (?:shop|store)\b|take my (?:business|money) elsewhere|(?:this|that|it)(?:'s| is| was| will be|'ll be) (?:\S+ )?(?:my|our|the) (?:very )?(?:last|final) (?:order|purchase|time)\b|last (?:euro|cent|penny)\b|last (?:order|purchase)(?: ever\b|\s*[,.!]+\s*(?:really|ever|seriously|promise|period|i swear)\b)|the last time i (?:order|buy|shop)\b|lost (?:a|me as a) customer|close my (?:customer )?account|want to (?:be|stay) (?:a|your) (?:\S+ )?customer|(?:move|moving|switch|switching) (?:our|my) (?:\S+ ){0,2}(?:orders?|business|account) to|(?:won't|will not|wont|not going to|not gonna|never going to)(?: be)? (?:order|ordering|buy|buying|shop|shopping)\b(?: \S+){0,3} (?:here|from you|with you|(?:at|from|with) northwind|from your (?:shop|store|site))(?: again| anymore| any more)?\b|(?:won't|will not|wont) (?:be )?(?:order|ordering|buy|buying|shop|shopping)(?: \S+){0,4} again\b",
            r"for a while\b|(?:moving|relocating|emigrating) (?:abroad|overseas|away)\b",
        ),
        language(
            r"(?:nie|niemals|nicht) (?:mehr|wieder) (?:\S+ ){0,3}(?:bei (?:euch|ihnen|northwind)|hier) (?:\S+ )?(?:bestellen|bestelle|kaufen|kaufe|einkaufen)|(?:bei (?:euch|ihnen|northwind)|hier) (?:\S+ ){0,2}(?:nie|niemals|nicht) (?:mehr|wieder) (?:\S+ )?(?:bestellen|bestelle|kaufen|kaufe)|(?:das )?letzte (?:mal|bestellung),? (?:dass |die )?ich (?:\S+ ){0,3}(?:bestelle|kaufe)|(?:bestelle|kaufe|bestellen|kaufen) (?:\S+ ){0,3}(?:ab jetzt |künftig |in zukunft |nur noch )?(?:woanders|anderswo|bei der konkurrenz|bei amazon)|(?:ich bin )?fertig mit (?:euch|ihnen|northwind)|kündige (?:mein|das) kundenkonto|kundenkonto (?:kündigen|löschen),? (?:ich|das war)",
            r"eine (?:weile|zeit lang)\b|(?:ziehe|ziehen) (?:ins|nach) ausland|umzug ins ausland",
        ),
        language(
            r"(?:plus jamais|ne \S+ plus jamais|ne \S+ plus rien) (?:\S+ ){0,3}(?:chez vous|ici|chez northwind)|(?:la )?dernière fois que (?:je|j['’]) ?(?:\S+ ){0,2}(?:commande|achète)|(?:commander|acheter|commanderai|achèterai|vais) (?:\S+ ){0,3}ailleurs|chez (?:un |vos )?concurrents?|(?:j['’]en ai|c['’]est) fini avec (?:vous|northwind)|je (?:ferme|clôture) mon compte",
            r"pendant (?:un moment|quelque temps)|(?:je )?(?:déménage|pars vivre) à l['’]étranger",
        ),
        language(
            r"(?:nunca|jamás) (?:más )?(?:vuelvo a |volveré a )?(?:compro|compraré|pido|pediré|comprar|pedir) (?:\S+ ){0,3}(?:aquí|con ustedes|con vosotros|en northwind|a ustedes|a vosotros)|no (?:vuelvo|volveré) a (?:comprar|pedir)|(?:la )?última vez que (?:les |os )?(?:compro|pido)|(?:compraré|pediré|comprar|pedir|me voy) (?:\S+ ){0,3}(?:en otro sitio|en otra tienda|a otra tienda|en otra parte|a la competencia|en amazon)|(?:he )?terminado con ustedes|cierro mi cuenta",
            r"(?:por|durante) un tiempo|(?:me mudo|me voy a vivir) (?:al|fuera del?) (?:extranjero|país)",
        ),
        language(
            r"(?:mai più|non \S+ più) (?:\S+ ){0,3}(?:da voi|qui|su northwind)|(?:da voi|qui) (?:non )?(?:\S+ )?(?:ordino|compro) più|(?:l['’])?ultima volta che (?:\S+ ){0,2}(?:ordino|compro)|(?:ordinerò|comprerò|ordino|compro|vado) (?:\S+ ){0,3}(?:altrove|da un['’]altra parte|dalla concorrenza|su amazon)|(?:ho )?chiuso con voi|chiudo il (?:mio )?account",
            r"per un po['’]|(?:mi trasferisco|vado a vivere) all['’]estero",
        ),
        language(
            r"nooit (?:meer|weer) (?:\S+ ){0,3}(?:bij jullie|hier|bij northwind)|(?:bij jullie|hier) (?:\S+ ){0,2}nooit (?:meer|weer)|(?:de )?laatste keer dat ik (?:\S+ ){0,3}(?:bestel|koop)|(?:bestel|koop|ga) (?:\S+ ){0,4}(?:ergens anders|elders|bij de concurrent(?:ie)?|bij amazon)|klaar met jullie|(?:ik )?(?:zeg|hef) mijn account op",
            r"(?:een tijdje|voorlopig)\b|(?:verhuis|verhuizen|emigreer) naar het buitenland",
        ),
    ]
});

/// Whether `text` threatens to stop being a customer.
pub(crate) fn threatens_to_leave(text: &str) -> bool {
    LANGUAGES
        .iter()
        .any(|l| l.threat.is_match(text) && !l.pause.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaving_in_six_languages() {
        for text in [
            "if this isn't sorted out today I'm cancelling the whole order and I won't be ordering from you again",
            "not going to shop here anymore",
            "I won't be ordering from Northwind anymore",
            "This will be my final order with you, I'm afraid.",
            "Das war das letzte Mal, dass ich bei euch bestelle.",
            "Ich bestelle ab jetzt woanders.",
            "C'est la dernière fois que je commande chez vous.",
            "Je vais commander ailleurs.",
            "Nunca más compro con ustedes.",
            "La próxima vez compraré en otra tienda.",
            "Da voi non ordino più.",
            "Ordinerò altrove.",
            "Dit is echt de laatste keer dat ik bij jullie bestel.",
            "ik ga voortaan ergens anders heen",
        ] {
            assert!(threatens_to_leave(text), "{text}");
        }
        for text in [
            "won't be home for the delivery, can it go to a neighbour?",
            "Kann ich die Jacke woanders abholen?",
            "Ich ziehe ins Ausland, das ist meine letzte Bestellung für eine Weile.",
            "Je commande souvent chez vous, livrez-vous en Suisse ?",
            "¿Puedo pedir otra talla?",
            "Posso ordinare un'altra taglia?",
            "Kan ik de laatste bestelling nog wijzigen?",
        ] {
            assert!(!threatens_to_leave(text), "{text}");
        }
    }
}

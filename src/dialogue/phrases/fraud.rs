//! Reporting fraud, in English and the five other languages the widget
//! meets: words that say so on their own (hacked, phishing, a stolen card,
//! an unauthorised charge), or an order, charge or use the customer says
//! they never made, next to their account, card or a charge. "A colour I
//! never ordered" is a wrong item, not fraud: it names no account, card
//! or charge.

use std::sync::LazyLock;

use regex::Regex;

use super::words;

struct Language {
    /// Words that report fraud on their own.
    alone: Regex,
    /// "I never ordered", "nicht bestellt", …
    not_me: Regex,
    /// The account, card or charge it happened on.
    money: Regex,
}

static LANGUAGES: LazyLock<Vec<Language>> = LazyLock::new(|| {
    let language = |alone: &str, not_me: &str, money: &str| Language {
        alone: words(alone),
        not_me: words(not_me),
        money: words(money),
    };
    vec![
        language(
            r"hack(?:ed|ing)\b|phishing|scammed\b|identity theft|(?:money|euros?|eur|pounds|dollars|€) (?:are |is |has |have |went )?(?:gone|disappeared|missing|taken) (?:from|out of) my (?:account|card|bank)|ask(?:ed|ing)? (?:me )?for my (?:bank |card |online banking )?(?:login|password|pin|card details|card number)|stolen (?:card|credit card|identity|account|details)|unauthori[sz]ed (?:order|charge|payment|purchase|transaction|access|login|use)|(?:someone|somebody|a stranger) (?:has )?(?:used|is using|uses|took|stole|got into|logged into|changed) (?:my|our) (?:card|credit card|account|gift card|details|identity|password|email|login)",
            r"(?:never|didn't|did not|haven't|have not|hadn't|wasn't me|not me)\b(?: \S+){0,2} (?:made|placed|place|make|ordered|order|bought|buy|authori[sz]ed?|spent|spend|used|use)\b",
            r"(?:on|from|to|in) my (?:\S+ )?(?:account|card|statement|bank)|charged|charge\b|debited|payment|balance",
        ),
        language(
            r"gehackt|betrüger|betrügerisch|betrugsversuch|ist das (?:ein )?betrug|phishing|identitätsdiebstahl|(?:karte|kreditkarte|daten|konto) (?:wurde |wurden )?gestohlen|jemand (?:hat )?(?:meine|mein) (?:karte|kreditkarte|konto|gutschein|daten|passwort) (?:benutzt|verwendet|geändert|missbraucht)|jemand (?:benutzt|verwendet|nutzt) (?:meine|mein) (?:karte|kreditkarte|konto|gutschein|daten)",
            r"(?:nicht|nie|niemals)\b(?: \S+){0,2} (?:bestellt|gemacht|getätigt|gekauft|autorisiert|genehmigt)",
            r"konto|karte|kreditkarte|abgebucht|belastet|abbuchung|zahlung",
        ),
        language(
            r"piraté|fraude|frauduleu|phishing|hameçonnage|usurpation d'identité|(?:carte|compte|identité) (?:a été |m'a été )?volée?|quelqu['’]un (?:a utilisé|utilise) (?:ma|mon) (?:carte|compte)",
            r"(?:je n['’]ai|j['’]ai) (?:rien|pas|jamais)\b(?: \S+){0,2} (?:commandé|acheté|passé|autorisé|fait)",
            r"compte|carte|débité|prélevé|prélèvement|paiement",
        ),
        language(
            r"hackead[oa]|hackearon|fraude|phishing|suplantación|(?:me )?(?:robaron|han robado) (?:la|mi) (?:tarjeta|cuenta|identidad)|tarjeta robada|alguien (?:ha usado|está usando|usa|ha entrado en) (?:mi|mis) (?:tarjeta|cuenta|datos)",
            r"(?:yo )?no (?:hice|he hecho|realicé|he realizado|pedí|he pedido|compré|he comprado|autoricé|he autorizado)\b",
            r"cuenta|tarjeta|cobrad[oa]|cobro|cargo|pago",
        ),
        language(
            r"hackerat[oa]|frode|truffa|phishing|furto d['’]identità|(?:carta|account|identità) rubata|mi hanno rubato (?:la|il) (?:carta|account)|qualcuno (?:ha usato|sta usando|usa) (?:la mia|il mio) (?:carta|account)",
            r"non (?:ho )?(?:mai )?(?:fatto|effettuato|ordinato|acquistato|comprato|autorizzato)\b",
            r"conto|account|carta|addebit|pagamento",
        ),
        language(
            r"gehackt|fraude|oplichting|phishing|identiteitsfraude|(?:kaart|account|pas) (?:is )?gestolen|iemand (?:heeft|gebruikt) mijn (?:kaart|account|pas|gegevens)",
            r"(?:niet|nooit)\b(?: \S+){0,2} (?:besteld|geplaatst|gekocht|gedaan|goedgekeurd)",
            r"account|rekening|kaart|afgeschreven|betaling",
        ),
    ]
});

/// Whether `text` reports fraud: an account or card used by someone else,
/// or an order or charge the customer never made.
pub(crate) fn reports_fraud(text: &str) -> bool {
    LANGUAGES
        .iter()
        .any(|l| l.alone.is_match(text) || (l.not_me.is_match(text) && l.money.is_match(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraud_in_six_languages() {
        for text in [
            "there's an order on my account for a 600 euro jacket that I never made",
            "I got charged 349 euros by you but I haven't ordered anything since March",
            "I think my account got hacked, the password was changed and I didn't do it",
            "someone used my gift card, the balance is gone",
            "they asked for my bank login and now 500 eur are gone from my account",
            "Alguien está usando mi cuenta y mi tarjeta. ¿Podéis bloquearlo?",
            "there's an unauthorised charge from Northwind on my statement",
            "Auf meinem Konto ist eine Bestellung, die ich nicht gemacht habe.",
            "Quelqu'un a utilisé ma carte pour commander chez vous, je n'ai rien acheté",
            "Me han cobrado un pedido que yo no hice, creo que me robaron la tarjeta",
            "Mi è stato addebitato un ordine che non ho mai fatto",
            "Er is geld van mijn rekening afgeschreven voor iets wat ik nooit heb besteld",
        ] {
            assert!(reports_fraud(text), "{text}");
        }
    }

    #[test]
    fn a_wrong_item_or_a_declined_card_is_no_fraud() {
        for text in [
            "you sent me a blue jacket, I never ordered blue",
            "my card was declined twice, which other payment methods do you take?",
            "I was charged twice for the same order, can you refund one?",
            "can I cancel an order I placed by mistake five minutes ago?",
            "I changed my password, now how do I update my address?",
            "how can I check the voucher is real and not some scam?",
            "Ich habe die Größe M bestellt, nicht L.",
            "Der Versand betrug 5 Euro, stimmt das?",
            "Kann jemand mein Konto löschen?",
            "Je n'ai pas reçu ma commande.",
            "No he recibido mi pedido todavía.",
            "Non ho ancora ricevuto il pacco.",
            "Ik heb mijn pakket nog niet ontvangen.",
        ] {
            assert!(!reports_fraud(text), "{text}");
        }
    }
}

//! Reporting that a product hurt someone or put them in danger, in
//! English and the five other languages the widget meets: it caught
//! fire, exploded or smoked, gas or carbon monoxide leaked, someone was
//! burnt, injured or taken to hospital, an allergic reaction. Only
//! events count, told in the past or as they happen: "is the stove safe
//! in a tent?" or "do you sell CO alarms?" asks, and "I burnt a hole in
//! the jacket at the campfire" harmed the jacket, not a person.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

static LANGUAGES: LazyLock<RegexSet> = LazyLock::new(|| {
    let languages = [
        // English
        r"caught (?:on )?fire|set (?:\S+ ){0,2}on fire|burst into flames|went up in flames|(?:exploded|blew up)\b|(?:started|began) (?:to )?(?:smok|spark|melt)|(?:was|were|is) smoking\b|(?:carbon monoxide|\bco) (?:alarm|detector|warner) (?:went off|was going off|goes off|is going off|beeped|triggered|sounded)|carbon monoxide poisoning\b(?: \S+)* (?:from|after|because)|(?:smelled|smelt|smell) (?:of )?gas\b|gas (?:leak|leaked|leaking)\b|leak(?:ed|ing) gas|(?:burn(?:ed|t)?|scald(?:ed)?|cut|hurt|injur(?:ed|e)) (?:my|his|her|their|our|my little|my \S+'s) (?:\S+ )?(?:hands?|arms?|legs?|foot|feet|face|fingers?|skin|eyes?|head|back|neck|lips?|son|daughter|kid|child|baby|wife|husband|friend)\b|(?:got|was|were|been|is|are|get) (?:\S+ )?(?:badly |seriously |quite )?(?:injured|burned|burnt|scalded)\b|(?:went|taken|rushed|go|had to go|ended up|were|was) (?:\S+ )?(?:to|in|at) (?:the )?(?:hospital|a&e|er\b|emergency room|emergency department)|needed stitches|allergic reaction|(?:rash|hives|blisters) (?:all )?(?:over|on) (?:my|his|her|their)|(?:headaches?|nause[a-z]*) and (?:\S+ )?dizz|dizzy and (?:\S+ )?(?:headaches?|sick|nause)|(?:fainted|passed out)\b",
        // German
        r"feuer gefangen|in flammen\b|(?:ist|sind) (?:\S+ )?(?:explodiert|geschmolzen)|hat (?:\S+ )?(?:geraucht|gequalmt|funken gesprüht)|(?:hand|finger|arm|haut|gesicht|bein) (?:\S+ )?verbrannt|verbrennung|verbrüht|(?:wurde|wurden|hat sich|habe mich|bin|ist) (?:\S+ ){0,4}verletzt|(?:ins|im) krankenhaus|(?:in die|in der) notaufnahme|allergische reaktion|ausschlag|kohlenmonoxid|co-(?:melder|warner)|gasgeruch|nach gas gerochen|gas (?:ist )?ausgetreten",
        // French
        r"pris feu|(?:a|ont) explosé|en flammes|(?:a|ont) fondu|(?:s'est|me suis|se sont) brûlée?s?|brûlé (?:la|le|les) (?:main|doigt|bras|visage|peau)|brûlure|(?:s'est|me suis|a été|ont été|est) (?:\S+ )?blessée?s?|à l['’]hôpital|aux urgences|réaction allergique|urticaire|monoxyde de carbone|odeur de gaz|fuite de gaz",
        // Spanish
        r"(?:se )?(?:prendió|incendió)|(?:ha prendido|prendió) fuego|(?:ha explotado|explotó)|en llamas|se derritió|me (?:he )?quem(?:é|ado)|se (?:ha )?quem(?:ó|ado) (?:la|el) (?:mano|brazo|dedo|cara|piel)|quemadura|(?:herid[oa]s?|lesionad[oa]s?)\b|me (?:he )?hecho daño|(?:al|en el) hospital|a urgencias|en urgencias|reacción alérgica|sarpullido|ronchas|monóxido de carbono|olor a gas|fuga de gas",
        // Italian
        r"preso fuoco|(?:è|sono) esplos[oaie]|in fiamme|(?:si è|si sono) sciolt[oaie]|mi sono (?:\S+ )?(?:bruciat[oa]|ustionat[oa])|ustion|(?:è|sono|stato|stata|stati) (?:\S+ )?ferit[oaie]|(?:mi sono|si è) fatt[oa] male|(?:all['’]|in )ospedale|al pronto soccorso|reazione allergica|eruzione cutanea|orticaria|monossido di carbonio|odore di gas|fuga di gas",
        // Dutch
        r"vlam gevat|in brand\b|(?:is|zijn) (?:\S+ )?(?:ontploft|gesmolten)|(?:hand|vinger|arm|huid|gezicht) (?:\S+ )?verbrand|brandwond|(?:raakte|is|werd|ben|zijn) (?:\S+ ){0,2}(?:gewond|bezeerd)|(?:in|naar) het ziekenhuis|(?:op|naar) de (?:spoedeisende hulp|eerste hulp)|allergische reactie|uitslag|koolmonoxide|gaslucht|gaslek",
    ];
    RegexSet::new(languages.map(super::word_pattern)).expect("valid patterns")
});

/// Words that take the event back: it did not happen, or nobody was hurt
/// by anything of the shop's.
static NOT_HARM: LazyLock<Regex> = LazyLock::new(|| {
    super::words(
        r"(?:is|was|would|could|can|will|might|does|do) (?:it|this|the \S+|that) (?:\S+ )?(?:catch fire|explode|burn|leak)|in case (?:it|of)|what if|(?:don't|do not|never) want (?:it|that|anyone) to|(?:my own|our own) fault|(?:campfire|bonfire|fire pit) (?:burnt|burned)|at the campfire",
    )
});

/// Whether `text` reports that a product hurt someone or put them in
/// danger.
pub(crate) fn reports_harm(text: &str) -> bool {
    LANGUAGES.is_match(text) && !NOT_HARM.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harm_in_six_languages() {
        for text in [
            "last night it kept hissing after I turned it off, we both woke up with headaches and dizzy and the CO alarm in the camper went off",
            "the stove caught fire on the table",
            "the power bank started smoking in my backpack",
            "my son burned his hand on the burner when it flared up",
            "we had to go to A&E after the carabiner snapped",
            "Der Kocher hat Feuer gefangen!",
            "Meine Tochter hat sich an der Lampe verletzt.",
            "La batterie a pris feu dans la tente.",
            "Mon fils s'est brûlé avec le réchaud.",
            "El hornillo se incendió y mi marido se quemó la mano.",
            "Il fornello ha preso fuoco.",
            "Mijn dochter heeft brandwonden door de lamp.",
            "De powerbank is ontploft.",
        ] {
            assert!(reports_harm(text), "{text}");
        }
        for text in [
            "is the stove safe in a tent or could it catch fire?",
            "do you sell CO alarms for the camper?",
            "I burnt a hole in my jacket at the campfire, can you patch it?",
            "my friend works at the hospital, can you deliver there?",
            "my old tent finally snapped a pole, do you sell single poles?",
            "Brennt der Kocher auch mit Butan?",
            "Est-ce que le réchaud fonctionne au gaz ?",
            "¿El hornillo funciona con gas?",
        ] {
            assert!(!reports_harm(text), "{text}");
        }
    }
}

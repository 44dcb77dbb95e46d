//! Masking payment data and, if configured, contact details in what a
//! customer types, before anything stores, indexes or shows it.
//!
//! - Card numbers: 13 to 19 digits, in groups separated by single spaces
//!   or dashes, that pass the Luhn check; the last four digits stay
//!   (`[card •••• 4242]`), as PCI DSS allows, so an agent can still tell
//!   which card a customer means.
//! - IBANs: a country code, two check digits and 11 to 30 letters or
//!   digits, spaced or not, that pass the ISO 7064 mod-97 check (`[IBAN]`).
//! - Emails (`redaction.emails`): `[email]`.
//! - Phone numbers (`redaction.phones`): a leading `+` and 8 to 15 digits,
//!   or 9 to 15 digits in one run of digits, spaces, dashes, dots and
//!   brackets (`[phone]`). Nine plain digits in a row (an order number)
//!   match too; that is the price of catching local formats.
//!
//! The models see the original text: redaction is about what is kept.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::config::Redaction;

static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}\b").expect("valid pattern")
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[A-Z0-9._%+\-]+@[A-Z0-9\-]+(?:\.[A-Z0-9\-]+)*\.[A-Z]{2,}\b")
        .expect("valid pattern")
});

/// Runs of digits with single separators between them, optionally after
/// a `+` or an opening bracket.
static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\(?[0-9]+(?:(?:[ .\-]|\) ?|[ ]?\()[0-9]+)*").expect("valid pattern")
});

/// `text` with what `rules` mask replaced; borrowed when nothing matched.
pub(crate) fn redact(text: &str, rules: Redaction) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    let ibans = IBAN.replace_all(&out, |c: &regex::Captures<'_>| mask_iban(&c[0]));
    if let Cow::Owned(s) = ibans {
        out = Cow::Owned(s);
    }
    if rules.emails {
        if let Cow::Owned(s) = EMAIL.replace_all(&out, "[email]") {
            out = Cow::Owned(s);
        }
    }
    let numbers = NUMBER.replace_all(&out, |c: &regex::Captures<'_>| {
        mask_number(&c[0], rules.phones)
    });
    if let Cow::Owned(s) = numbers {
        out = Cow::Owned(s);
    }
    out
}

/// The longest IBAN at the start of `found` masked: the pattern may have
/// run on into the next words ("… 0130 00 please").
fn mask_iban(found: &str) -> String {
    let ends = found
        .char_indices()
        .filter(|&(_, c)| c == ' ')
        .map(|(i, _)| i)
        .chain([found.len()]);
    let mut ends: Vec<usize> = ends.collect();
    ends.reverse();
    for end in ends {
        if iban_valid(&found[..end]) {
            return format!("[IBAN]{}", &found[end..]);
        }
    }
    found.to_owned()
}

/// A run of digits: the card numbers in it masked; if none and `phones`,
/// the whole run when it looks like a phone number.
fn mask_number(run: &str, phones: bool) -> String {
    // Digit groups with their byte spans.
    let groups: Vec<(usize, usize)> =
        run.char_indices()
            .fold(Vec::new(), |mut acc: Vec<(usize, usize)>, (i, ch)| {
                if ch.is_ascii_digit() {
                    match acc.last_mut() {
                        Some((_, end)) if *end == i => *end = i + 1,
                        _ => acc.push((i, i + 1)),
                    }
                }
                acc
            });
    let card_separators = |a: usize, b: usize| {
        // Between groups of a card only a single space or dash.
        groups[a..b]
            .windows(2)
            .all(|w| matches!(&run[w[0].1..w[1].0], " " | "-"))
    };
    let mut out = String::new();
    let mut at = 0;
    let mut i = 0;
    let mut found = false;
    while i < groups.len() {
        // The longest card starting at group i.
        let mut best = None;
        let mut digits = 0;
        for j in i..groups.len() {
            digits += groups[j].1 - groups[j].0;
            if digits > 19 || !card_separators(i, j + 1) {
                break;
            }
            if digits >= 13 {
                let number: String = groups[i..=j].iter().map(|&(s, e)| &run[s..e]).collect();
                if luhn_valid(&number) {
                    best = Some((j, number));
                }
            }
        }
        match best {
            Some((j, number)) => {
                out.push_str(&run[at..groups[i].0]);
                out.push_str("[card •••• ");
                out.push_str(&number[number.len() - 4..]);
                out.push(']');
                at = groups[j].1;
                i = j + 1;
                found = true;
            }
            None => i += 1,
        }
    }
    if found {
        out.push_str(&run[at..]);
        return out;
    }
    if phones && phone_like(run, &groups) {
        return "[phone]".to_owned();
    }
    run.to_owned()
}

fn phone_like(run: &str, groups: &[(usize, usize)]) -> bool {
    let digits: usize = groups.iter().map(|(s, e)| e - s).sum();
    if run.starts_with('+') {
        (8..=15).contains(&digits)
    } else {
        (9..=15).contains(&digits)
    }
}

fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0;
    for (n, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if n % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0 && digits.bytes().any(|b| b != b'0')
}

fn iban_valid(candidate: &str) -> bool {
    let compact: String = candidate
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            _ => return false,
        };
        let width = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * width + value) % 97;
    }
    remainder == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Redaction = Redaction {
        emails: true,
        phones: true,
    };
    const DEFAULT: Redaction = Redaction {
        emails: false,
        phones: false,
    };

    #[test]
    fn card_numbers_in_the_formats_people_type() {
        for (text, want) in [
            (
                "my card is 4242424242424242 thanks",
                "my card is [card •••• 4242] thanks",
            ),
            ("4242 4242 4242 4242", "[card •••• 4242]"),
            (
                "card: 4242-4242-4242-4242, exp 12/27",
                "card: [card •••• 4242], exp 12/27",
            ),
            (
                "amex 3782 822463 10005 please",
                "amex [card •••• 0005] please",
            ),
            ("5555 5555 5555 4444 cvc 123", "[card •••• 4444] cvc 123"),
            ("diners 3056 9309 0259 04", "diners [card •••• 5904]"),
        ] {
            assert_eq!(redact(text, DEFAULT), want, "{text}");
        }
    }

    #[test]
    fn numbers_that_are_not_cards_stay() {
        for text in [
            "order 4242424242424241 arrived",
            "tracking 1Z999AA10123456784",
            "order #123456 from 2026-12-06",
            "I paid 1299.00 on 12/11",
            "0000 0000 0000 0000",
        ] {
            assert_eq!(redact(text, DEFAULT), text, "{text}");
        }
    }

    #[test]
    fn ibans_with_and_without_spaces() {
        for (text, want) in [
            (
                "refund to DE89 3704 0044 0532 0130 00 please",
                "refund to [IBAN] please",
            ),
            ("DE89370400440532013000", "[IBAN]"),
            ("iban gb82 west 1234 5698 7654 32.", "iban [IBAN]."),
            ("FR14 2004 1010 0505 0001 3M02 606", "[IBAN]"),
        ] {
            assert_eq!(redact(text, DEFAULT), want, "{text}");
        }
        // A wrong check digit is not an IBAN.
        let text = "DE88 3704 0044 0532 0130 00";
        assert_eq!(redact(text, DEFAULT), text);
    }

    #[test]
    fn emails_and_phones_only_when_configured() {
        let text = "write to jane.doe+shop@example.co.uk or call +49 170 1234567";
        assert_eq!(redact(text, DEFAULT), text);
        assert_eq!(redact(text, ALL), "write to [email] or call [phone]");
        for (text, want) in [
            ("call (555) 123-4567 today", "call [phone] today"),
            ("mobile 0171 1234567", "mobile [phone]"),
            ("ring 020 7946 0958.", "ring [phone]."),
            ("+1-202-555-0143", "[phone]"),
            ("+44 (0)20 7946 0958", "[phone]"),
            ("on 2026-12-06 at 10.30", "on 2026-12-06 at 10.30"),
        ] {
            assert_eq!(redact(text, ALL), want, "{text}");
        }
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            redact("where is my order?", ALL),
            Cow::Borrowed(_)
        ));
    }
}

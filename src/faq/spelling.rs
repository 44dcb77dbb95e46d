//! Typos in a customer's words, corrected against the FAQ's own
//! vocabulary before the keyword search: "retrun", "shiping" and
//! "pasword" find the entries that say "return", "shipping" and
//! "password". A word the FAQ does not use is replaced by the most
//! frequent FAQ word within one edit (two for words of eight letters or
//! more), counting a swap of two neighbouring letters as one edit. Short
//! words, numbers and words the FAQ knows are left alone.

use std::borrow::Cow;
use std::collections::HashMap;

use super::entry::FaqEntry;

/// Words shorter than this are never corrected: too many neighbours.
const MIN_LEN: usize = 4;
/// From this length two edits are allowed.
const LONG: usize = 8;

/// How often each lower-cased word occurs in the FAQ, and the words by
/// length, so a correction compares a word only with words of about its
/// length.
#[derive(Debug, Default)]
pub(crate) struct Vocabulary {
    words: HashMap<String, u32>,
    by_len: HashMap<usize, Vec<(Vec<char>, String, u32)>>,
}

impl Vocabulary {
    pub(crate) fn of(entries: &[FaqEntry]) -> Self {
        let mut words = HashMap::new();
        for e in entries {
            let texts = std::iter::once(&e.question)
                .chain(&e.phrasings)
                .chain(std::iter::once(&e.answer));
            for text in texts {
                for w in words_of(text) {
                    *words.entry(w.to_lowercase()).or_insert(0) += 1;
                }
            }
        }
        let mut by_len: HashMap<usize, Vec<(Vec<char>, String, u32)>> = HashMap::new();
        for (w, &n) in &words {
            let chars: Vec<char> = w.chars().collect();
            by_len
                .entry(chars.len())
                .or_default()
                .push((chars, w.clone(), n));
        }
        Self { words, by_len }
    }

    /// `text` with the words the FAQ does not know corrected, if any.
    pub(crate) fn correct<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = String::new();
        let mut at = 0;
        for (start, word) in word_spans(text) {
            if let Some(fixed) = self.fix(word) {
                out.push_str(&text[at..start]);
                out.push_str(&fixed);
                at = start + word.len();
            }
        }
        if at == 0 {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }

    fn fix(&self, word: &str) -> Option<String> {
        let lower = word.to_lowercase();
        let len = lower.chars().count();
        if len < MIN_LEN
            || self.words.contains_key(&lower)
            || !lower.chars().all(char::is_alphabetic)
        {
            return None;
        }
        let allowed = if len >= LONG { 2 } else { 1 };
        let chars: Vec<char> = lower.chars().collect();
        // A typo seldom changes both of the first two letters; comparing
        // only words that share one of them keeps a large FAQ fast.
        (len.saturating_sub(allowed)..=len + allowed)
            .filter_map(|l| self.by_len.get(&l))
            .flatten()
            .filter(|(w, ..)| w[0] == chars[0] || w.get(1) == chars.get(1))
            .filter_map(|(w, word, n)| {
                let d = distance(&chars, w);
                (d <= allowed).then_some((d, std::cmp::Reverse(*n), word))
            })
            .min()
            .map(|(_, _, w)| w.clone())
    }
}

fn words_of(text: &str) -> impl Iterator<Item = &str> {
    word_spans(text).map(|(_, w)| w)
}

/// Each run of letters and digits with its byte offset.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, &text[s..]));
    }
    spans.into_iter()
}

/// Optimal string alignment distance: insertions, deletions,
/// substitutions and swaps of neighbours each cost one.
fn distance(a: &[char], b: &[char]) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let entries = crate::faq::io::parse(crate::faq::DEMO_FAQ, crate::faq::io::Format::Yaml)
            .unwrap()
            .into_iter()
            .map(|d| {
                let id = d.id.clone().unwrap();
                d.into_entry(id).unwrap()
            })
            .collect::<Vec<_>>();
        Vocabulary::of(&entries)
    }

    #[test]
    fn typos_become_the_faqs_words() {
        let v = vocabulary();
        assert_eq!(
            v.correct("how do i retrun my boots"),
            "how do i return my boots"
        );
        assert_eq!(
            v.correct("shiping to swizerland?"),
            "shipping to switzerland?"
        );
        assert_eq!(v.correct("forgot my pasword"), "forgot my password");
    }

    #[test]
    fn known_words_numbers_and_short_words_stay() {
        let v = vocabulary();
        for text in [
            "Where is my order 10482?",
            "how long does shipping take",
            "hi",
        ] {
            assert!(matches!(v.correct(text), Cow::Borrowed(_)), "{text}");
        }
    }
}

//! A SentencePiece unigram tokenizer for the multilingual model, read
//! from its `tokenizer.json` and equal to what the `tokenizers` crate
//! makes of that file (a test compares the two on every labelled text).
//!
//! Why not the `tokenizers` crate itself: its unigram model keeps the
//! vocabulary in a byte trie with a hash map per node, which costs about
//! 100 MB for the 115,000 pieces of the multilingual model. Here the
//! pieces sit in one hash map (about 6 MB) and the lattice tries every
//! piece length a word allows.
//!
//! The pipeline of that file: control characters dropped, other
//! whitespace made a space, NFKC, runs of spaces collapsed; a `▁` before
//! the text and for every space; the text split before every `▁`; each
//! word cut into the pieces of highest total score (Viterbi), a character
//! no piece covers scoring the lowest piece score minus 10, neighbouring
//! unknown characters fused into one `<unk>`; `<s>` … `</s>` around it.
//! One difference, on purpose: `<s>` typed in a text is text here, where
//! the `tokenizers` crate reads it as the special token.

use std::collections::HashMap;

use serde::Deserialize;
use unicode_normalization_alignments::UnicodeNormalization;

const META: char = '\u{2581}';
/// What an unknown character scores below the lowest piece.
const UNK_PENALTY: f64 = 10.0;

/// The parts of a `tokenizer.json` this reads.
#[derive(Deserialize)]
struct File {
    model: FileModel,
    added_tokens: Vec<AddedToken>,
}

#[derive(Deserialize)]
struct FileModel {
    #[serde(rename = "type")]
    kind: String,
    unk_id: u32,
    vocab: Vec<(String, f64)>,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
}

/// A unigram vocabulary and its special tokens.
pub(crate) struct Unigram {
    pieces: HashMap<Box<str>, (u32, f64)>,
    /// The longest piece, in characters.
    longest: usize,
    unk: u32,
    unk_score: f64,
    bos: u32,
    eos: u32,
}

impl Unigram {
    /// Read a `tokenizer.json` with a unigram model and `<s>`, `</s>`.
    pub(crate) fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let file: File = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.model.kind != "Unigram" {
            return Err(format!(
                "a {} tokenizer, where a Unigram one was expected",
                file.model.kind
            ));
        }
        let special = |name: &str| {
            file.added_tokens
                .iter()
                .find(|t| t.content == name)
                .map(|t| t.id)
                .ok_or_else(|| format!("no {name} token"))
        };
        let (bos, eos) = (special("<s>")?, special("</s>")?);
        let min = file
            .model
            .vocab
            .iter()
            .map(|(_, s)| *s)
            .fold(f64::INFINITY, f64::min);
        let longest = file
            .model
            .vocab
            .iter()
            .map(|(p, _)| p.chars().count())
            .max()
            .unwrap_or(1);
        if file.model.unk_id as usize >= file.model.vocab.len() {
            return Err("unk_id is not in the vocabulary".into());
        }
        // The special tokens are not pieces of text: a customer who types
        // `<s>` gets `<`, `s`, `>`.
        let specials: Vec<u32> = file.added_tokens.iter().map(|t| t.id).collect();
        let pieces = file
            .model
            .vocab
            .into_iter()
            .enumerate()
            .filter(|(id, _)| !specials.contains(&(*id as u32)))
            .map(|(id, (piece, score))| (piece.into_boxed_str(), (id as u32, score)))
            .collect();
        Ok(Self {
            pieces,
            longest,
            unk: file.model.unk_id,
            unk_score: min - UNK_PENALTY,
            bos,
            eos,
        })
    }

    /// The ids of `text`, `<s>` and `</s>` included, at most `max` of them.
    pub(crate) fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        let mut ids = vec![self.bos];
        let content = max.saturating_sub(2);
        let normalized = normalize(text);
        let text = match normalized.is_empty() {
            true => normalized,
            false => metaspaced(&normalized),
        };
        for word in words(&text).filter(|w| !w.is_empty()) {
            if ids.len() > content {
                break;
            }
            self.word(word, &mut ids);
        }
        ids.truncate(content + 1);
        ids.push(self.eos);
        ids
    }

    /// Append the pieces of one word.
    fn word(&self, word: &str, ids: &mut Vec<u32>) {
        // Character boundaries, and per end boundary the best path there:
        // (score, start boundary, piece id or None for unknown).
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain([word.len()])
            .collect();
        let n = bounds.len() - 1;
        let mut best: Vec<Option<(f64, usize, Option<u32>)>> = vec![None; n + 1];
        best[0] = Some((0.0, 0, None));
        for start in 0..n {
            let Some((here, ..)) = best[start] else {
                continue;
            };
            let mut single = false;
            for end in start + 1..=n.min(start + self.longest) {
                let Some(&(id, score)) = self.pieces.get(&word[bounds[start]..bounds[end]]) else {
                    continue;
                };
                single |= end == start + 1;
                let candidate = here + score;
                if best[end].is_none_or(|(s, ..)| candidate > s) {
                    best[end] = Some((candidate, start, Some(id)));
                }
            }
            if !single {
                let candidate = here + self.unk_score;
                if best[start + 1].is_none_or(|(s, ..)| candidate > s) {
                    best[start + 1] = Some((candidate, start, None));
                }
            }
        }
        let mut path = Vec::new();
        let mut end = n;
        while end > 0 {
            let Some((_, start, id)) = best[end] else {
                break;
            };
            // Neighbouring unknown characters make one `<unk>`.
            let id = id.unwrap_or(self.unk);
            if !(id == self.unk && path.last() == Some(&self.unk)) {
                path.push(id);
            }
            end = start;
        }
        ids.extend(path.into_iter().rev());
    }
}

/// The normaliser of the file: controls dropped, other whitespace made a
/// space, NFKC, runs of spaces collapsed.
fn normalize(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter_map(|c| match c {
            '\u{1}'..='\u{8}' | '\u{b}' | '\u{e}'..='\u{1f}' | '\u{7f}' | '\u{8f}' | '\u{9f}' => {
                None
            }
            '\t'
            | '\n'
            | '\r'
            | '\u{c}'
            | '\u{1680}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2581}'
            | '\u{feff}'
            | '\u{fffd}' => Some(' '),
            c => Some(c),
        })
        .collect();
    let mut out = String::with_capacity(cleaned.len());
    for (c, _) in cleaned.nfkc() {
        if !(c == ' ' && out.ends_with(' ')) {
            out.push(c);
        }
    }
    out
}

/// Spaces made `▁`, and one `▁` before the text unless it starts with one.
fn metaspaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 3);
    if !text.starts_with(' ') {
        out.push(META);
    }
    out.extend(text.chars().map(|c| if c == ' ' { META } else { c }));
    out
}

/// The text split before every `▁`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    let mut cuts: Vec<usize> = text
        .char_indices()
        .filter(|&(i, c)| c == META && i > 0)
        .map(|(i, _)| i)
        .collect();
    cuts.insert(0, 0);
    cuts.push(text.len());
    cuts.dedup();
    (0..cuts.len() - 1).map(move |k| &text[cuts[k]..cuts[k + 1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> (Unigram, tokenizers::Tokenizer) {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("models")
            .join(super::super::multilingual::TOKENIZER_FILE);
        let bytes = std::fs::read(&file).unwrap();
        let mut reference = tokenizers::Tokenizer::from_bytes(&bytes).unwrap();
        reference
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: 64,
                ..Default::default()
            }))
            .unwrap();
        (Unigram::from_json(&bytes).unwrap(), reference)
    }

    /// Every labelled text of the repository, the demo FAQ, and texts
    /// that test the edges (odd whitespace, controls, compatibility
    /// characters, scripts the vocabulary does not cover, long texts).
    fn texts() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out: Vec<String> = [
            "Wo ist meine Bestellung?",
            "  two  leading spaces and\ttabs\r\nand lines  ",
            "Control\u{7}chars\u{1b} and zero\u{200b}width",
            "ﬁne ligatures, ｆｕｌｌ width, ① circled, Ⅻ roman, ½",
            "e\u{301}te\u{301} combined accents",
            "Привет, мир! 你好 مرحبا",
            "query: l'ordine è arrivato danneggiato 🙄👍🏽",
            "ends with a space ",
            "",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        out.push("très ".repeat(100));
        for dir in ["tests/data/faq-questions", "tests/data/escalation"] {
            for file in std::fs::read_dir(root.join(dir)).unwrap() {
                let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    if let Some(t) = v["text"].as_str() {
                        out.push(t.to_owned());
                    }
                    for t in v["turns"].as_array().into_iter().flatten() {
                        out.extend(t.as_str().map(String::from));
                    }
                }
            }
        }
        let faq = std::fs::read_to_string(root.join("src/faq/demo.yaml")).unwrap();
        out.extend(faq.lines().map(|l| l.trim().to_owned()));
        out
    }

    #[test]
    fn the_same_ids_as_the_tokenizers_crate() {
        let (unigram, reference) = shipped();
        let texts = texts();
        assert!(texts.len() > 2000, "{}", texts.len());
        for text in &texts {
            let want = reference.encode(text.as_str(), true).unwrap();
            assert_eq!(unigram.encode(text, 64), want.get_ids(), "{text:?}");
        }
    }

    /// Unlike the `tokenizers` crate, which reads `<s>` in a text as the
    /// special token, a customer's `<s>` is text.
    #[test]
    fn special_tokens_in_a_text_are_text() {
        let (unigram, _) = shipped();
        let ids = unigram.encode("<s> hello </s>", 64);
        assert_eq!(ids.iter().filter(|&&i| i == unigram.bos).count(), 1);
        assert_eq!(ids.iter().filter(|&&i| i == unigram.eos).count(), 1);
    }

    #[test]
    fn the_wrong_kind_of_file_is_refused() {
        let english = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tokenizer.json"),
        )
        .unwrap();
        assert!(Unigram::from_json(&english).is_err());
        assert!(Unigram::from_json(b"{}").is_err());
    }
}

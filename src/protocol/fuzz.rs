//! Fuzzing the frame decoding of both sockets, driven by proptest so it
//! runs in every `cargo test` for a bounded number of cases.
//!
//! Inputs are the seed frames in `tests/data/fuzz/` (valid and broken
//! ones), mutated byte-wise and character-wise, plus arbitrary text.
//! Decoding must never panic; a failure must say what is wrong; the
//! edge checks that follow decoding must hold for whatever decoded.
//! `FRONTDESK_FUZZ_CASES` raises the number of cases for a longer run.

use proptest::prelude::*;

use super::agent::AgentClientFrame;
use super::{parse_frame, ClientFrame};
use crate::input::{clean, ClientId, MessageText};

const CHAT_SEEDS: &str = include_str!("../../tests/data/fuzz/chat-frames.txt");
const AGENT_SEEDS: &str = include_str!("../../tests/data/fuzz/agent-frames.txt");

fn cases() -> u32 {
    std::env::var("FRONTDESK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn seeds(corpus: &'static str) -> Vec<&'static str> {
    corpus.lines().filter(|l| !l.is_empty()).collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    Duplicate(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let any_char = prop_oneof![
        any::<char>(),
        prop::sample::select(vec!['"', '{', '}', '[', ']', ':', ',', '\\', '0', '-', 'e']),
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), any_char.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        (any::<usize>(), any_char).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Edit::Duplicate(i, n)),
    ]
}

/// A seed with a few edits applied, at character boundaries.
fn mutated(corpus: &'static str) -> impl Strategy<Value = String> {
    (
        prop::sample::select(seeds(corpus)),
        prop::collection::vec(edit(), 0..6),
    )
        .prop_map(|(seed, edits)| {
            let mut chars: Vec<char> = seed.chars().collect();
            for e in edits {
                let n = chars.len().max(1);
                match e {
                    Edit::Delete(i) if !chars.is_empty() => {
                        chars.remove(i % n);
                    }
                    Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
                    Edit::Replace(i, c) if !chars.is_empty() => chars[i % n] = c,
                    Edit::Duplicate(i, len) if !chars.is_empty() => {
                        let start = i % n;
                        let end = (start + len).min(chars.len());
                        let piece: Vec<char> = chars[start..end].to_vec();
                        chars.splice(end..end, piece);
                    }
                    _ => {}
                }
            }
            chars.into_iter().collect()
        })
}

fn input(corpus: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![4 => mutated(corpus), 1 => any::<String>()]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn chat_frames_decode_or_say_why(text in input(CHAT_SEEDS)) {
        match parse_frame::<ClientFrame>(&text) {
            Ok(ClientFrame::Message { client_id, text }) => {
                // What decoded goes through the edge checks without panicking,
                // and what they let through is clean.
                let _ = ClientId::parse(client_id);
                if let Ok(t) = MessageText::parse(&text, 2000) {
                    prop_assert_eq!(clean(t.as_str()), t.as_str());
                    prop_assert!(!t.as_str().is_empty());
                }
            }
            Ok(_) => {}
            Err(bad) => {
                prop_assert!(!bad.message.is_empty());
                if let Some(id) = bad.client_id {
                    prop_assert!(ClientId::is_valid(&id));
                }
            }
        }
    }

    #[test]
    fn agent_frames_decode_or_say_why(text in input(AGENT_SEEDS)) {
        if let Err(bad) = parse_frame::<AgentClientFrame>(&text) {
            prop_assert!(!bad.message.is_empty());
        }
    }

    #[test]
    fn cleaning_is_idempotent_and_leaves_no_controls(text in any::<String>()) {
        let once = clean(&text);
        prop_assert_eq!(clean(&once), once.clone());
        let spoofing = |c: char| c == '\0' || ('\u{202A}'..='\u{202E}').contains(&c);
        prop_assert!(!once.chars().any(spoofing), "{:?}", once);
    }
}

#[test]
fn every_seed_is_read() {
    assert!(seeds(CHAT_SEEDS).len() >= 10);
    assert!(seeds(AGENT_SEEDS).len() >= 10);
    assert!(parse_frame::<ClientFrame>(seeds(CHAT_SEEDS)[0]).is_ok());
}

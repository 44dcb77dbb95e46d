//! `frontdesk eval faq FILE`: customer questions labelled with the FAQ
//! entry that answers them (or none, for questions the FAQ cannot
//! answer), each asked as the first message of a new conversation through
//! the real turn pipeline of a server on a temporary data directory.
//!
//! A set is JSON Lines: `{"id", "text", "expect": "<faq id>" | null,
//! "traits": [..]}`. Reported: right answers (share of answerable), wrong
//! answers (share of all: an answer from another entry, or any answer to
//! a question the FAQ cannot answer), suggestions offered (and whether the
//! right entry was among them), intent replies, hand-overs, and how often
//! the right entry is among the top three candidates an agent is shown.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::crm::{ConversationStatus, Sender};
use crate::dialogue::history::OTHER_LANGUAGE;
use crate::input::{ClientId, MessageText};
use crate::turn::{CustomerMessage, Turn};
use crate::Application;

/// One labelled question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledQuestion {
    pub id: String,
    pub text: String,
    pub expect: Option<String>,
    #[serde(default)]
    pub traits: Vec<String>,
    /// The question's language (ISO 639-1) if not English; reported as a
    /// group of its own.
    #[serde(default)]
    pub language: Option<String>,
}

pub fn read_questions(path: &Path) -> anyhow::Result<Vec<LabelledQuestion>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).with_context(|| {
                format!("{} line {}: not a labelled question", path.display(), n + 1)
            })
        })
        .collect()
}

/// What the bot did with one question.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An FAQ answer, from this entry.
    Answer(String),
    /// "Did you mean": these entries offered.
    Suggestions(Vec<String>),
    /// An intent's response.
    Intent,
    /// Asked to rephrase, nothing offered.
    NoMatch,
    /// Sent to a person without an answer.
    HandedOver,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub question: LabelledQuestion,
    pub reply: Reply,
    /// The FAQ entries the search ranked first, best first (what the
    /// console suggests to an agent).
    pub top: Vec<String>,
    pub handed_over: bool,
}

/// Ask every question, each in a new conversation.
pub async fn replay(app: &Application, set: &[LabelledQuestion]) -> anyhow::Result<Vec<Outcome>> {
    super::attach_multilingual(app).await?;
    let state = app.state();
    let max = state.config.limits.max_message_chars;
    let faq = state.faq.list().await?;
    let mut out = Vec::with_capacity(set.len());
    for q in set {
        let (id, room) = super::new_conversation(app).await?;
        let said = CustomerMessage {
            client_id: ClientId::parse("q".to_owned()).map_err(|e| anyhow::anyhow!("{e}"))?,
            text: MessageText::parse(&q.text, max).map_err(|e| anyhow::anyhow!("{}: {e}", q.id))?,
            contact: None,
        };
        Turn::begin(state, room, said).await?.finish().await?;
        let messages = state.store.messages_after(id, 0, 10).await?;
        let top = messages
            .iter()
            .find(|m| m.from == Sender::Customer)
            .and_then(|m| m.analysis.as_ref())
            .map(|a| a.faq.iter().map(|s| s.id.clone()).collect())
            .unwrap_or_default();
        let handed_over = state.store.conversation(id).await?.status != ConversationStatus::Bot;
        let suggested = |m: &crate::crm::Message| -> Vec<String> {
            m.suggestions
                .iter()
                .filter_map(|s| faq.iter().find(|e| &e.question == s).map(|e| e.id.clone()))
                .collect()
        };
        let reply = match messages.iter().find(|m| m.from == Sender::Bot) {
            None => Reply::HandedOver,
            Some(m) => match (m.reason.as_deref(), &m.faq_id) {
                (Some("faq_match"), Some(id)) => Reply::Answer(id.clone()),
                (Some("intent_match"), _) => Reply::Intent,
                (Some("low_confidence"), _) => Reply::Suggestions(suggested(m)),
                (Some(OTHER_LANGUAGE), _) if !m.suggestions.is_empty() => {
                    Reply::Suggestions(suggested(m))
                }
                _ => Reply::NoMatch,
            },
        };
        out.push(Outcome {
            question: q.clone(),
            reply,
            top,
            handed_over,
        });
    }
    Ok(out)
}

/// The figures, overall and per trait, then every wrong answer.
pub fn report(outcomes: &[Outcome], verbose: bool) -> String {
    #[derive(Default)]
    struct Tally {
        answerable: usize,
        unanswerable: usize,
        right: usize,
        wrong: usize,
        suggested: usize,
        suggested_right: usize,
        intent: usize,
        abstained_unanswerable: usize,
        handed_over: usize,
        top3: usize,
    }
    let mut groups: BTreeMap<String, Tally> = BTreeMap::new();
    for o in outcomes {
        let mut keys = vec!["all".to_owned()];
        keys.extend(o.question.traits.iter().cloned());
        keys.extend(o.question.language.iter().map(|l| format!("language {l}")));
        if o.question.expect.is_none() {
            keys.push("(cannot be answered)".to_owned());
        }
        for key in keys {
            let t = groups.entry(key).or_default();
            match &o.question.expect {
                Some(want) => {
                    t.answerable += 1;
                    if o.top.iter().take(3).any(|id| id == want) {
                        t.top3 += 1;
                    }
                    match &o.reply {
                        Reply::Answer(id) if id == want => t.right += 1,
                        Reply::Answer(_) => t.wrong += 1,
                        Reply::Suggestions(ids) => {
                            t.suggested += 1;
                            if ids.contains(want) {
                                t.suggested_right += 1;
                            }
                        }
                        Reply::Intent => t.intent += 1,
                        Reply::NoMatch | Reply::HandedOver => {}
                    }
                }
                None => {
                    t.unanswerable += 1;
                    match &o.reply {
                        Reply::Answer(_) => t.wrong += 1,
                        Reply::Suggestions(_) => t.suggested += 1,
                        Reply::Intent => t.intent += 1,
                        Reply::NoMatch | Reply::HandedOver => {}
                    }
                    if !matches!(o.reply, Reply::Answer(_)) {
                        t.abstained_unanswerable += 1;
                    }
                }
            }
            if o.handed_over {
                t.handed_over += 1;
            }
        }
    }
    let pct = |a: usize, b: usize| match b {
        0 => "–".to_owned(),
        _ => format!("{:.1} %", 100.0 * a as f64 / b as f64),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| questions | answerable | right (of answerable) | wrong (of all) | suggestions offered (right entry among them) | intent replies | unanswerable not answered | handed to a person | right entry in the top 3 (of answerable) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    let order = std::iter::once("all".to_owned())
        .chain(groups.keys().filter(|k| *k != "all").cloned())
        .collect::<Vec<_>>();
    for key in order {
        let t = &groups[&key];
        let total = t.answerable + t.unanswerable;
        let _ = writeln!(
            out,
            "| {key} ({total}) | {} | {} | {} | {} ({}) | {} | {} | {} | {} |",
            t.answerable,
            pct(t.right, t.answerable),
            pct(t.wrong, total),
            t.suggested,
            t.suggested_right,
            t.intent,
            pct(t.abstained_unanswerable, t.unanswerable),
            t.handed_over,
            pct(t.top3, t.answerable),
        );
    }
    let wrong: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| match (&o.question.expect, &o.reply) {
            (Some(want), Reply::Answer(id)) => verbose || id != want,
            (None, Reply::Answer(_)) => true,
            _ => verbose,
        })
        .collect();
    if !wrong.is_empty() {
        let _ = writeln!(
            out,
            "\n{}:",
            if verbose {
                "Every question"
            } else {
                "Wrong answers"
            }
        );
        for o in wrong {
            let _ = writeln!(
                out,
                "- {} expected {}, got {:?}, top {:?}: {}",
                o.question.id,
                o.question.expect.as_deref().unwrap_or("none"),
                o.reply,
                o.top,
                o.question.text
            );
        }
    }
    out
}

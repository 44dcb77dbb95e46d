//! `frontdesk eval escalation FILE`: labelled support conversations
//! replayed through the real turn pipeline (models, FAQ, the bot's plan,
//! the escalation rules, the store and the handoff desk of a server built
//! on a temporary data directory), with every miss, late escalation and
//! false escalation reported per reason.
//!
//! A set is JSON Lines, one conversation a line:
//! `{"id", "turns": [customer messages], "escalate": bool, "by_turn":
//! 1-based turn or null, "reason", "lang", "note"}`. `reason` is `calm`
//! exactly for conversations that must stay with the bot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::crm::{ConversationId, ConversationStatus};
use crate::input::{ClientId, MessageText};
use crate::turn::{CustomerMessage, Turn};
use crate::Application;

/// One labelled conversation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledConversation {
    pub id: String,
    pub turns: Vec<String>,
    pub escalate: bool,
    pub by_turn: Option<usize>,
    pub reason: String,
    pub lang: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// Read and check a set.
pub fn read_conversations(path: &Path) -> anyhow::Result<Vec<LabelledConversation>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let c: LabelledConversation = serde_json::from_str(line).with_context(|| {
            format!(
                "{} line {}: not a labelled conversation",
                path.display(),
                n + 1
            )
        })?;
        let bad = if c.turns.is_empty() {
            Some("no turns")
        } else if c.escalate != (c.reason != "calm") {
            Some("escalate must be false exactly for reason \"calm\"")
        } else if c.escalate && !c.by_turn.is_some_and(|t| (1..=c.turns.len()).contains(&t)) {
            Some("by_turn must name one of the turns")
        } else if !c.escalate && c.by_turn.is_some() {
            Some("a calm conversation has no by_turn")
        } else {
            None
        };
        if let Some(why) = bad {
            bail!("{} line {} ({}): {why}", path.display(), n + 1, c.id);
        }
        out.push(c);
    }
    Ok(out)
}

/// What happened to one conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub id: String,
    pub reason: String,
    pub expected_by: Option<usize>,
    /// The turn that escalated and the escalation code.
    pub escalated: Option<(usize, &'static str)>,
    /// What the pipeline made of each turn replayed, for `--verbose`.
    pub trace: Vec<String>,
}

impl Outcome {
    pub fn verdict(&self) -> Verdict {
        match (self.expected_by, self.escalated) {
            (None, None) => Verdict::StayedWithBot,
            (None, Some(_)) => Verdict::FalseEscalation,
            (Some(_), None) => Verdict::Missed,
            (Some(by), Some((at, _))) if at <= by => Verdict::InTime,
            (Some(_), Some(_)) => Verdict::Late,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    InTime,
    Late,
    Missed,
    StayedWithBot,
    FalseEscalation,
}

/// Replay every conversation, one after another, each as a new customer.
pub async fn replay(
    app: &Application,
    set: &[LabelledConversation],
) -> anyhow::Result<Vec<Outcome>> {
    super::attach_multilingual(app).await?;
    let mut out = Vec::with_capacity(set.len());
    for c in set {
        out.push(replay_one(app, c).await?);
    }
    Ok(out)
}

async fn replay_one(app: &Application, c: &LabelledConversation) -> anyhow::Result<Outcome> {
    let state = app.state();
    let (id, room) = super::new_conversation(app).await?;
    let max = state.config.limits.max_message_chars;
    let mut escalated = None;
    for (n, text) in c.turns.iter().enumerate() {
        let said = CustomerMessage {
            client_id: ClientId::parse(format!("turn-{n}"))
                .map_err(|e| anyhow::anyhow!("{}: {e}", c.id))?,
            text: MessageText::parse(text, max)
                .map_err(|e| anyhow::anyhow!("{} turn {}: {e}", c.id, n + 1))?,
            contact: None,
        };
        Turn::begin(state, room.clone(), said)
            .await?
            .finish()
            .await?;
        let conversation = state.store.conversation(id).await?;
        if conversation.status != ConversationStatus::Bot {
            let code = conversation
                .escalation
                .map_or("unknown", |e| e.code.as_str());
            escalated = Some((n + 1, code));
            break;
        }
    }
    Ok(Outcome {
        id: c.id.clone(),
        reason: c.reason.clone(),
        expected_by: c.by_turn,
        escalated,
        trace: describe_turns(app, id).await?,
    })
}

/// One line per customer turn: the message's intent and sentiment, and
/// how the bot replied.
async fn describe_turns(app: &Application, id: ConversationId) -> anyhow::Result<Vec<String>> {
    use crate::crm::Sender;
    let messages = app.state().store.messages_after(id, 0, 1000).await?;
    let customers = messages.iter().filter(|m| m.from == Sender::Customer);
    Ok(customers
        .enumerate()
        .map(|(n, said)| {
            let mut line = format!("turn {}:", n + 1);
            if let Some(a) = &said.analysis {
                let _ = write!(
                    line,
                    " intent {} ({:.2}, sim {:.2}), negative {:.3}",
                    a.intent
                        .name
                        .clone()
                        .or_else(|| a.intent.nearest.as_ref().map(|n| format!("({n})")))
                        .unwrap_or_default(),
                    a.intent.confidence,
                    a.intent.similarity,
                    a.sentiment.negative
                );
                if let Some(best) = a.faq.first() {
                    let _ = write!(line, ", faq {} ({:.2})", best.id, best.confidence);
                }
            }
            if let Some(reply) = messages
                .iter()
                .find(|m| m.seq == said.seq + 1 && m.from == Sender::Bot)
            {
                let _ = write!(
                    line,
                    "; bot {} {}",
                    reply.reason.as_deref().unwrap_or("-"),
                    reply.faq_id.as_deref().unwrap_or("")
                );
            }
            line
        })
        .collect())
}

/// The report: a table per reason, then every conversation that went
/// wrong; `verbose`: every conversation, with each turn's trace.
pub fn report(outcomes: &[Outcome], verbose: bool) -> String {
    #[derive(Default)]
    struct Row {
        n: usize,
        in_time: usize,
        late: usize,
        missed: usize,
        false_escalations: usize,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for o in outcomes {
        let row = rows.entry(o.reason.as_str()).or_default();
        row.n += 1;
        match o.verdict() {
            Verdict::InTime => row.in_time += 1,
            Verdict::Late => row.late += 1,
            Verdict::Missed => row.missed += 1,
            Verdict::FalseEscalation => row.false_escalations += 1,
            Verdict::StayedWithBot => {}
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| reason | conversations | reached a person in time | late | missed | false escalations |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let mut total = Row::default();
    for (reason, r) in &rows {
        let _ = writeln!(
            out,
            "| {reason} | {} | {} | {} | {} | {} |",
            r.n, r.in_time, r.late, r.missed, r.false_escalations
        );
        total.n += r.n;
        total.in_time += r.in_time;
        total.late += r.late;
        total.missed += r.missed;
        total.false_escalations += r.false_escalations;
    }
    let must = outcomes.iter().filter(|o| o.expected_by.is_some()).count();
    let calm = outcomes.len() - must;
    let _ = writeln!(
        out,
        "| **all** | {} | {} of {must} | {} | {} | {} of {calm} ({:.1} %) |",
        total.n,
        total.in_time,
        total.late,
        total.missed,
        total.false_escalations,
        100.0 * total.false_escalations as f64 / calm.max(1) as f64
    );
    let wrong: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| verbose || !matches!(o.verdict(), Verdict::InTime | Verdict::StayedWithBot))
        .collect();
    if !wrong.is_empty() {
        let _ = match verbose {
            true => writeln!(out, "\nEvery conversation:"),
            false => writeln!(out, "\n{} went wrong:", wrong.len()),
        };
        for o in wrong {
            let what = match (o.verdict(), o.escalated) {
                (Verdict::Missed, _) => {
                    format!("missed (expected by turn {})", o.expected_by.unwrap_or(0))
                }
                (Verdict::Late, Some((at, code))) => format!(
                    "late: turn {at} ({code}), expected by turn {}",
                    o.expected_by.unwrap_or(0)
                ),
                (Verdict::FalseEscalation, Some((at, code))) => {
                    format!("false escalation at turn {at} ({code})")
                }
                (Verdict::InTime, Some((at, code))) => format!("in time: turn {at} ({code})"),
                _ => "stayed with the bot".to_owned(),
            };
            let _ = writeln!(out, "- {} [{}]: {what}", o.id, o.reason);
            if verbose {
                for t in &o.trace {
                    let _ = writeln!(out, "    {t}");
                }
            }
        }
    }
    out
}

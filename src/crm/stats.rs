//! Support figures for the console, computed from the timeline: how many
//! conversations the bot handled alone, why others escalated, how
//! customers felt and how they rated the help.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::conversations::EVENTS;
use super::model::{ConversationId, EventKind, Sender, TimelineEvent};
use super::store::{Store, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Stats {
    /// Conversations opened in the period.
    pub conversations: usize,
    /// Of those, closed.
    pub closed: usize,
    /// Share of the closed conversations that never went to a person.
    pub deflection_rate: Option<f32>,
    pub escalations: Escalations,
    pub sentiment: SentimentStats,
    pub csat: Csat,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Escalations {
    pub total: usize,
    pub by_reason: BTreeMap<&'static str, usize>,
}

/// Sentiment of customer messages as positive minus negative
/// probability, -1..1.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct SentimentStats {
    pub average: Option<f32>,
    pub messages: usize,
    pub by_day: Vec<DaySentiment>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DaySentiment {
    pub day: NaiveDate,
    pub average: f32,
    pub messages: usize,
}

/// Customer satisfaction from the 1–5 ratings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Csat {
    pub ratings: usize,
    pub average: Option<f32>,
    /// Share of ratings of 4 or 5.
    pub satisfied_share: Option<f32>,
}

/// Folds timeline events into [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Tally {
    opened: HashSet<ConversationId>,
    escalated: HashSet<ConversationId>,
    closed: HashSet<ConversationId>,
    by_reason: BTreeMap<&'static str, usize>,
    days: BTreeMap<NaiveDate, (f32, usize)>,
    ratings: Vec<u8>,
}

impl Tally {
    pub(crate) fn add(&mut self, e: &TimelineEvent) {
        let id = e.conversation_id;
        match &e.kind {
            EventKind::ConversationOpened => {
                self.opened.insert(id);
            }
            EventKind::Escalated { escalation } => {
                self.escalated.insert(id);
                *self.by_reason.entry(escalation.code.as_str()).or_default() += 1;
            }
            EventKind::ConversationClosed { .. } => {
                self.closed.insert(id);
            }
            EventKind::Message { message } if message.from == Sender::Customer => {
                if let Some(a) = &message.analysis {
                    let day = self.days.entry(e.at.date_naive()).or_default();
                    day.0 += a.sentiment.positive - a.sentiment.negative;
                    day.1 += 1;
                }
            }
            EventKind::Rating { score, .. } => self.ratings.push(*score),
            _ => {}
        }
    }

    pub(crate) fn finish(self) -> Stats {
        let closed: Vec<_> = self.closed.intersection(&self.opened).collect();
        let deflected = closed
            .iter()
            .filter(|id| !self.escalated.contains(id))
            .count();
        let (sum, messages) = self
            .days
            .values()
            .fold((0.0, 0), |(s, n), (ds, dn)| (s + ds, n + dn));
        let ratio = |a: f32, b: usize| (b > 0).then(|| a / b as f32);
        Stats {
            conversations: self.opened.len(),
            closed: closed.len(),
            deflection_rate: ratio(deflected as f32, closed.len()),
            escalations: Escalations {
                total: self.by_reason.values().sum(),
                by_reason: self.by_reason,
            },
            sentiment: SentimentStats {
                average: ratio(sum, messages),
                messages,
                by_day: self
                    .days
                    .into_iter()
                    .map(|(day, (s, n))| DaySentiment {
                        day,
                        average: s / n as f32,
                        messages: n,
                    })
                    .collect(),
            },
            csat: Csat {
                ratings: self.ratings.len(),
                average: ratio(
                    self.ratings.iter().map(|&r| r as f32).sum(),
                    self.ratings.len(),
                ),
                satisfied_share: ratio(
                    self.ratings.iter().filter(|&&r| r >= 4).count() as f32,
                    self.ratings.len(),
                ),
            },
        }
    }
}

impl Store {
    /// Figures over every event since `since`. Reads the whole timeline:
    /// fine for one support team's history; a busy installation would
    /// keep running totals instead.
    pub(crate) async fn stats(&self, since: DateTime<Utc>) -> Result<Stats, StoreError> {
        self.blocking(move |s| {
            let mut tally = Tally::default();
            for entry in s.trees.events.iter() {
                let (key, bytes) = entry?;
                let event: Option<TimelineEvent> =
                    s.unseal("timeline event", EVENTS, &key, &bytes)?;
                if let Some(e) = event.filter(|e| e.at >= since) {
                    tally.add(&e);
                }
            }
            Ok(tally.finish())
        })
        .await
    }
}

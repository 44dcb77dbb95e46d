//! Support figures for the console and `GET /v1/stats`, computed from the
//! timeline over the conversations opened in a range of days: how many
//! the bot resolved alone, why others escalated, how fast people
//! answered and resolved them (per agent and per reason), how customers
//! felt and how they rated the help. Every figure is defined in
//! docs/api.md.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::conversations::EVENTS;
use super::model::{AgentRef, ConversationId, EventKind, Sender, TimelineEvent};
use super::store::{Store, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Stats {
    /// Conversations opened in the range in which the customer wrote.
    pub conversations: usize,
    /// Of those, closed.
    pub closed: usize,
    /// Closed without ever reaching a person.
    pub bot_resolved: usize,
    /// `bot_resolved` ÷ `closed`.
    pub deflection_rate: Option<f32>,
    pub escalations: Escalations,
    pub sentiment: SentimentStats,
    pub csat: Csat,
    /// Conversations per label.
    pub labels: BTreeMap<String, usize>,
    pub reports: Reports,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Escalations {
    /// Escalations (a conversation escalated twice counts twice).
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

/// Customer satisfaction: the last 1–5 rating of each conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Csat {
    pub ratings: usize,
    pub average: Option<f32>,
    /// Share of ratings of 4 or 5.
    pub satisfied_share: Option<f32>,
}

/// How fast people answered and resolved escalated conversations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Reports {
    /// From the first escalation to the first agent message.
    pub first_response: Timing,
    /// From the first escalation to the close.
    pub resolution: Timing,
    pub by_agent: Vec<AgentReport>,
    pub by_reason: Vec<ReasonReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub(crate) struct Timing {
    pub count: usize,
    pub median_secs: Option<f64>,
    pub p90_secs: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct AgentReport {
    pub agent_id: String,
    pub name: String,
    /// Conversations this agent answered first.
    pub conversations: usize,
    pub first_response_median_secs: Option<f64>,
    pub resolution_median_secs: Option<f64>,
    pub csat_average: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ReasonReport {
    pub code: &'static str,
    /// Conversations whose first escalation had this reason.
    pub conversations: usize,
    pub first_response_median_secs: Option<f64>,
    pub resolution_median_secs: Option<f64>,
}

/// What one conversation contributes.
#[derive(Debug, Default)]
struct Conv {
    opened: Option<DateTime<Utc>>,
    customer_wrote: bool,
    escalations: Vec<&'static str>,
    escalated_at: Option<DateTime<Utc>>,
    first_reason: Option<&'static str>,
    first_response: Option<(DateTime<Utc>, AgentRef)>,
    closed_at: Option<DateTime<Utc>>,
    rating: Option<u8>,
    labels: Vec<String>,
    /// (day, positive − negative) of each analysed customer message.
    sentiments: Vec<(NaiveDate, f32)>,
}

/// Folds timeline events into [`Stats`] for conversations opened on the
/// days `from..=to`.
#[derive(Debug)]
pub(crate) struct Tally {
    from: NaiveDate,
    to: NaiveDate,
    convs: HashMap<ConversationId, Conv>,
}

impl Tally {
    pub(crate) fn new(from: NaiveDate, to: NaiveDate) -> Self {
        Self {
            from,
            to,
            convs: HashMap::new(),
        }
    }

    pub(crate) fn add(&mut self, e: &TimelineEvent) {
        let c = self.convs.entry(e.conversation_id).or_default();
        match &e.kind {
            EventKind::ConversationOpened => c.opened = Some(e.at),
            EventKind::Message { message } => match message.from {
                Sender::Customer => {
                    c.customer_wrote = true;
                    if let Some(a) = &message.analysis {
                        let v = a.sentiment.positive - a.sentiment.negative;
                        c.sentiments.push((e.at.date_naive(), v));
                    }
                }
                Sender::Agent if c.escalated_at.is_some() && c.first_response.is_none() => {
                    let agent = AgentRef {
                        id: message.agent_id.clone().unwrap_or_default(),
                        name: message.agent_name.clone().unwrap_or_default(),
                    };
                    c.first_response = Some((e.at, agent));
                }
                _ => {}
            },
            EventKind::Escalated { escalation } => {
                let code = escalation.code.as_str();
                c.escalations.push(code);
                if c.escalated_at.is_none() {
                    c.escalated_at = Some(e.at);
                    c.first_reason = Some(code);
                }
            }
            EventKind::Assigned { .. } if c.escalated_at.is_none() => {
                // Taken over from the bot without an escalation event.
                c.escalated_at = Some(e.at);
                c.first_reason = Some("agent_takeover");
            }
            EventKind::ConversationClosed { .. } => c.closed_at = Some(e.at),
            EventKind::Rating { score, .. } => c.rating = Some(*score),
            EventKind::Labeled { labels, .. } => c.labels = labels.clone(),
            _ => {}
        }
    }

    pub(crate) fn finish(self) -> Stats {
        let (from, to) = (self.from, self.to);
        let convs: Vec<Conv> = self
            .convs
            .into_values()
            .filter(|c| {
                c.customer_wrote
                    && c.opened
                        .is_some_and(|at| (from..=to).contains(&at.date_naive()))
            })
            .collect();
        let mut stats = Stats {
            conversations: convs.len(),
            ..Stats::default()
        };
        let mut days: BTreeMap<NaiveDate, (f32, usize)> = BTreeMap::new();
        let mut ratings = Vec::new();
        let mut first_responses = Vec::new();
        let mut resolutions = Vec::new();
        let mut agents: BTreeMap<String, AgentAcc> = BTreeMap::new();
        let mut reasons: BTreeMap<&'static str, ReasonAcc> = BTreeMap::new();
        for c in &convs {
            let escalated = !c.escalations.is_empty() || c.escalated_at.is_some();
            if c.closed_at.is_some() {
                stats.closed += 1;
                if !escalated {
                    stats.bot_resolved += 1;
                }
            }
            for code in &c.escalations {
                *stats.escalations.by_reason.entry(code).or_default() += 1;
            }
            for (day, v) in &c.sentiments {
                let d = days.entry(*day).or_default();
                d.0 += v;
                d.1 += 1;
            }
            ratings.extend(c.rating);
            for l in &c.labels {
                *stats.labels.entry(l.clone()).or_default() += 1;
            }
            let Some(start) = c.escalated_at else {
                continue;
            };
            let secs = |end: DateTime<Utc>| (end - start).num_milliseconds().max(0) as f64 / 1000.0;
            let response = c.first_response.as_ref().map(|(at, _)| secs(*at));
            let resolution = c.closed_at.map(secs);
            first_responses.extend(response);
            resolutions.extend(resolution);
            if let Some(reason) = c.first_reason {
                let r = reasons.entry(reason).or_default();
                r.conversations += 1;
                r.responses.extend(response);
                r.resolutions.extend(resolution);
            }
            if let Some((_, agent)) = &c.first_response {
                let a = agents.entry(agent.id.clone()).or_default();
                a.name.clone_from(&agent.name);
                a.conversations += 1;
                a.responses.extend(response);
                a.resolutions.extend(resolution);
                a.ratings.extend(c.rating);
            }
        }
        stats.escalations.total = stats.escalations.by_reason.values().sum();
        stats.deflection_rate = ratio(stats.bot_resolved as f32, stats.closed);
        let (sum, messages) = days
            .values()
            .fold((0.0, 0), |(s, n), (ds, dn)| (s + ds, n + dn));
        stats.sentiment = SentimentStats {
            average: ratio(sum, messages),
            messages,
            by_day: days
                .into_iter()
                .map(|(day, (s, n))| DaySentiment {
                    day,
                    average: s / n as f32,
                    messages: n,
                })
                .collect(),
        };
        stats.csat = Csat {
            ratings: ratings.len(),
            average: ratio(ratings.iter().map(|&r| r as f32).sum(), ratings.len()),
            satisfied_share: ratio(
                ratings.iter().filter(|&&r| r >= 4).count() as f32,
                ratings.len(),
            ),
        };
        stats.reports = Reports {
            first_response: timing(&mut first_responses),
            resolution: timing(&mut resolutions),
            by_agent: agents
                .into_iter()
                .map(|(agent_id, mut a)| AgentReport {
                    agent_id,
                    name: a.name,
                    conversations: a.conversations,
                    first_response_median_secs: timing(&mut a.responses).median_secs,
                    resolution_median_secs: timing(&mut a.resolutions).median_secs,
                    csat_average: ratio(a.ratings.iter().map(|&r| r as f32).sum(), a.ratings.len()),
                })
                .collect(),
            by_reason: reasons
                .into_iter()
                .map(|(code, mut r)| ReasonReport {
                    code,
                    conversations: r.conversations,
                    first_response_median_secs: timing(&mut r.responses).median_secs,
                    resolution_median_secs: timing(&mut r.resolutions).median_secs,
                })
                .collect(),
        };
        stats
    }
}

#[derive(Debug, Default)]
struct AgentAcc {
    name: String,
    conversations: usize,
    responses: Vec<f64>,
    resolutions: Vec<f64>,
    ratings: Vec<u8>,
}

#[derive(Debug, Default)]
struct ReasonAcc {
    conversations: usize,
    responses: Vec<f64>,
    resolutions: Vec<f64>,
}

fn ratio(a: f32, b: usize) -> Option<f32> {
    (b > 0).then(|| a / b as f32)
}

/// Count, median and 90th percentile (nearest rank) of `secs`.
fn timing(secs: &mut [f64]) -> Timing {
    secs.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let n = secs.len();
        (n > 0).then(|| secs[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
    };
    Timing {
        count: secs.len(),
        median_secs: rank(0.5),
        p90_secs: rank(0.9),
    }
}

impl Store {
    /// Figures for the conversations opened on the days `from..=to`
    /// (UTC). Reads the whole timeline: fine for one support team's
    /// history; a busy installation would keep running totals instead.
    pub(crate) async fn stats(&self, from: NaiveDate, to: NaiveDate) -> Result<Stats, StoreError> {
        self.blocking(move |s| {
            let mut tally = Tally::new(from, to);
            for entry in s.trees.events.iter() {
                let (key, bytes) = entry?;
                let event: Option<TimelineEvent> =
                    s.unseal("timeline event", EVENTS, &key, &bytes)?;
                if let Some(e) = event {
                    tally.add(&e);
                }
            }
            Ok(tally.finish())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::crm::model::{Escalation, EscalationCode, Message};

    fn event(id: ConversationId, at: DateTime<Utc>, kind: EventKind) -> TimelineEvent {
        TimelineEvent {
            conversation_id: id,
            at,
            kind,
        }
    }

    fn message(from: Sender, agent: Option<&str>) -> EventKind {
        EventKind::Message {
            message: Message {
                seq: 1,
                from,
                text: "x".into(),
                at: Utc::now(),
                client_id: None,
                agent_id: agent.map(String::from),
                agent_name: agent.map(str::to_uppercase),
                suggestions: Vec::new(),
                faq_id: None,
                reason: None,
                analysis: None,
            },
        }
    }

    #[test]
    fn one_rating_per_conversation_and_timings() {
        let t0 = Utc::now() - Duration::hours(1);
        let secs = |s| t0 + Duration::seconds(s);
        let (bot, person, empty) = (
            ConversationId::new(),
            ConversationId::new(),
            ConversationId::new(),
        );
        let mut tally = Tally::new(t0.date_naive(), Utc::now().date_naive());
        let escalation = Escalation {
            code: EscalationCode::HandoffRequested,
            message: String::new(),
            scores: Default::default(),
            at: secs(10),
        };
        let closed = EventKind::ConversationClosed {
            by: Sender::System,
            agent: None,
            resolution: None,
        };
        let rating = |score| EventKind::Rating {
            score,
            comment: None,
        };
        for e in [
            event(bot, t0, EventKind::ConversationOpened),
            event(bot, secs(1), message(Sender::Customer, None)),
            event(bot, secs(2), closed.clone()),
            event(bot, secs(3), rating(5)),
            event(bot, secs(4), rating(1)),
            event(bot, secs(5), rating(3)),
            event(person, t0, EventKind::ConversationOpened),
            event(person, secs(1), message(Sender::Customer, None)),
            event(person, secs(10), EventKind::Escalated { escalation }),
            event(person, secs(40), message(Sender::Agent, Some("ana"))),
            event(person, secs(70), message(Sender::Agent, Some("ana"))),
            event(person, secs(130), closed),
            event(person, secs(131), rating(4)),
            event(empty, t0, EventKind::ConversationOpened),
        ] {
            tally.add(&e);
        }
        let s = tally.finish();
        assert_eq!(s.conversations, 2, "the empty one does not count");
        assert_eq!((s.closed, s.bot_resolved), (2, 1));
        assert_eq!(s.deflection_rate, Some(0.5));
        assert_eq!(s.csat.ratings, 2);
        assert_eq!(s.csat.average, Some(3.5));
        assert_eq!(s.reports.first_response.median_secs, Some(30.0));
        assert_eq!(s.reports.resolution.median_secs, Some(120.0));
        let ana = &s.reports.by_agent[0];
        assert_eq!((ana.agent_id.as_str(), ana.conversations), ("ana", 1));
        assert_eq!(ana.csat_average, Some(4.0));
        assert_eq!(s.reports.by_reason[0].code, "handoff_requested");
        assert_eq!(s.escalations.total, 1);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
        let t = timing(&mut v);
        assert_eq!(
            (t.count, t.median_secs, t.p90_secs),
            (10, Some(5.0), Some(9.0))
        );
        assert_eq!(timing(&mut []).median_secs, None);
    }
}

//! How the desk works: the agent queue and how conversations reach
//! agents, when the team is in, and when a conversation with the bot ends
//! by itself.

use std::time::Duration;

use chrono::{DateTime, Datelike, Duration as Span, FixedOffset, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// The agent queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HandoffSettings {
    /// Conversations one agent may own at once.
    pub agent_capacity: usize,
    /// A conversation queued longer than this is flagged overdue and
    /// raised in priority.
    #[serde(with = "super::humantime_secs")]
    pub overdue_after: Duration,
    /// Priority added to an overdue conversation.
    pub overdue_boost: u32,
    /// Agents claim queued conversations, or the server assigns them.
    pub assignment: Assignment,
    /// Priority of each escalation reason; higher is served first, equal
    /// priorities first come, first served.
    pub priority: ReasonPriority,
}

/// Queue priority per escalation reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReasonPriority {
    pub handoff_requested: u32,
    pub intent_needs_human: u32,
    pub negative_sentiment: u32,
    pub negative_trend: u32,
    pub not_helpful: u32,
    pub unresolved: u32,
    pub agent_takeover: u32,
    pub churn_risk: u32,
    pub legal_threat: u32,
    pub safety_incident: u32,
    pub fraud_suspected: u32,
    pub repeated_question: u32,
    pub customer_waiting: u32,
}

impl ReasonPriority {
    pub(crate) fn of(&self, code: crate::crm::EscalationCode) -> u32 {
        use crate::crm::EscalationCode as C;
        match code {
            C::HandoffRequested => self.handoff_requested,
            C::IntentNeedsHuman => self.intent_needs_human,
            C::NegativeSentiment => self.negative_sentiment,
            C::NegativeTrend => self.negative_trend,
            C::NotHelpful => self.not_helpful,
            C::Unresolved => self.unresolved,
            C::AgentTakeover => self.agent_takeover,
            C::ChurnRisk => self.churn_risk,
            C::LegalThreat => self.legal_threat,
            C::SafetyIncident => self.safety_incident,
            C::FraudSuspected => self.fraud_suspected,
            C::RepeatedQuestion => self.repeated_question,
            C::CustomerWaiting => self.customer_waiting,
        }
    }
}

impl Default for ReasonPriority {
    fn default() -> Self {
        Self {
            handoff_requested: 2,
            intent_needs_human: 2,
            negative_sentiment: 3,
            negative_trend: 3,
            not_helpful: 1,
            unresolved: 1,
            agent_takeover: 0,
            churn_risk: 2,
            legal_threat: 3,
            safety_incident: 4,
            fraud_suspected: 3,
            repeated_question: 2,
            customer_waiting: 2,
        }
    }
}

impl Default for HandoffSettings {
    fn default() -> Self {
        Self {
            agent_capacity: 3,
            overdue_after: Duration::from_secs(300),
            overdue_boost: 10,
            assignment: Assignment::Claim,
            priority: ReasonPriority::default(),
        }
    }
}

/// How queued conversations reach agents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Agents claim conversations from the queue.
    #[default]
    Claim,
    /// Each queued conversation goes to the online agent with the fewest
    /// conversations who has room; agents may still claim.
    Auto,
}

/// Conversations with the bot that nobody writes in any more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Conversations {
    /// Close a conversation still with the bot after this long without a
    /// message, as resolved by the bot; `0` never closes them.
    #[serde(with = "super::humantime_secs")]
    pub close_idle_after: Duration,
}

impl Default for Conversations {
    fn default() -> Self {
        Self {
            close_idle_after: Duration::from_secs(30 * 60),
        }
    }
}

/// What a customer who needs a person is offered outside business hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutOfHours {
    /// The contact form: an email and a message to answer later.
    #[default]
    ContactForm,
    /// The queue, as in hours; whoever is online may answer.
    Queue,
}

/// When the team answers, and what the widget says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusinessHours {
    /// Off: the team is always "in" and only who is online counts.
    pub enabled: bool,
    /// The team's time zone as a fixed offset from UTC, e.g. `"+01:00"`.
    pub utc_offset: String,
    /// Working days: `mon` … `sun`.
    pub days: Vec<String>,
    /// Opening and closing time on a working day, `HH:MM` local time.
    pub open: String,
    pub close: String,
    /// Words for the expected reply time shown in the widget, e.g.
    /// "a few minutes"; empty shows none.
    pub reply_time: String,
    pub out_of_hours: OutOfHours,
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self {
            enabled: false,
            utc_offset: "+00:00".into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            open: "09:00".into(),
            close: "17:00".into(),
            reply_time: "a few minutes".into(),
            out_of_hours: OutOfHours::ContactForm,
        }
    }
}

/// [`BusinessHours`] checked and ready to answer "are we in?".
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    enabled: bool,
    offset: FixedOffset,
    days: Vec<Weekday>,
    open: NaiveTime,
    close: NaiveTime,
    pub reply_time: Option<String>,
    pub out_of_hours: OutOfHours,
}

impl BusinessHours {
    /// The schedule, or what is wrong with the settings.
    pub fn schedule(&self) -> Result<Schedule, String> {
        let offset = parse_offset(&self.utc_offset).ok_or_else(|| {
            format!(
                "business_hours.utc_offset {:?} is not an offset like \"+01:00\" or \"-05:30\"",
                self.utc_offset
            )
        })?;
        let days = self
            .days
            .iter()
            .map(|d| {
                d.parse::<Weekday>().map_err(|_| {
                    format!("business_hours.days: {d:?} is not a day (mon, tue, … sun)")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let time = |what: &str, v: &str| {
            NaiveTime::parse_from_str(v, "%H:%M")
                .map_err(|_| format!("business_hours.{what} {v:?} is not a time like \"09:00\""))
        };
        let (open, close) = (time("open", &self.open)?, time("close", &self.close)?);
        if self.enabled && (days.is_empty() || open >= close) {
            return Err("business_hours needs at least one day and open before close".to_owned());
        }
        Ok(Schedule {
            enabled: self.enabled,
            offset,
            days,
            open,
            close,
            reply_time: Some(self.reply_time.trim().to_owned()).filter(|r| !r.is_empty()),
            out_of_hours: self.out_of_hours,
        })
    }
}

fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

impl Schedule {
    /// Whether the team is in at `now`; always when hours are off.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        if !self.enabled {
            return true;
        }
        let local = now.with_timezone(&self.offset);
        self.days.contains(&local.weekday())
            && local.time() >= self.open
            && local.time() < self.close
    }

    /// When the team is next in, if it is out at `now`.
    pub fn opens_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_open(now) {
            return None;
        }
        let local = now.with_timezone(&self.offset);
        (0..=7).find_map(|ahead| {
            let day = local.date_naive() + Span::days(ahead);
            let at = day
                .and_time(self.open)
                .and_local_timezone(self.offset)
                .single()?;
            (self.days.contains(&day.weekday()) && at > local).then(|| at.with_timezone(&Utc))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn hours_follow_the_offset_and_the_days() {
        let hours = BusinessHours {
            enabled: true,
            utc_offset: "+02:00".into(),
            ..Default::default()
        };
        let s = hours.schedule().unwrap();
        // Monday 2026-12-07 09:30 local = 07:30 UTC.
        assert!(s.is_open(at("2026-12-07T07:30:00Z")));
        assert!(!s.is_open(at("2026-12-07T06:59:00Z")));
        assert!(!s.is_open(at("2026-12-07T15:00:00Z")));
        // Friday evening: next in on Monday 09:00 local.
        assert_eq!(
            s.opens_at(at("2026-12-11T16:00:00Z")),
            Some(at("2026-12-14T07:00:00Z"))
        );
        // Sunday 2026-12-06 is out; Monday morning is next.
        assert_eq!(
            s.opens_at(at("2026-12-06T12:00:00Z")),
            Some(at("2026-12-07T07:00:00Z"))
        );
        assert_eq!(s.opens_at(at("2026-12-07T07:30:00Z")), None);
    }

    #[test]
    fn off_means_always_in_and_bad_values_are_named() {
        let s = BusinessHours::default().schedule().unwrap();
        assert!(s.is_open(at("2026-12-06T03:00:00Z")));
        let bad = |h: BusinessHours| h.schedule().unwrap_err();
        assert!(bad(BusinessHours {
            utc_offset: "CET".into(),
            ..Default::default()
        })
        .contains("utc_offset"));
        assert!(bad(BusinessHours {
            days: vec!["funday".into()],
            ..Default::default()
        })
        .contains("funday"));
        assert!(bad(BusinessHours {
            open: "9am".into(),
            ..Default::default()
        })
        .contains("open"));
        assert!(bad(BusinessHours {
            enabled: true,
            open: "18:00".into(),
            ..Default::default()
        })
        .contains("open before close"));
    }
}

//! One typed configuration tree with working defaults.
//!
//! Layers, later wins: built-in defaults, an optional TOML file
//! (`--config`), then environment variables for the few settings an
//! operator sets per deployment (`FRONTDESK_ADDR`, `FRONTDESK_DATA_DIR`,
//! `FRONTDESK_OPERATOR_TOKEN`). Unknown keys in the file are an error so a
//! typo never silently falls back to a default. Secrets are redacted by
//! [`Config::redacted`] before the effective configuration is logged.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod desk;
mod limits;
mod privacy;

pub use desk::{
    Assignment, BusinessHours, Conversations, HandoffSettings, OutOfHours, ReasonPriority, Schedule,
};
pub use limits::Limits;
use limits::MAX_CONNECTIONS;
pub use privacy::{Encryption, Redaction, Retention};

/// The whole configuration of a frontdesk server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP and websocket server listens on.
    pub addr: SocketAddr,
    /// Directory holding the sled store and the FAQ index.
    pub data_dir: PathBuf,
    /// Operator token; when unset one is generated on first start.
    pub operator_token: Option<String>,
    /// Secret the host site signs its customers' `external_id` with
    /// (HMAC-SHA256, see docs/protocol.md); without it every visitor is
    /// anonymous. Set it through `FRONTDESK_IDENTITY_SECRET`.
    pub identity_secret: Option<String>,
    /// Load the demo FAQ into an empty store on first start.
    pub demo_faq: bool,
    /// The URL browsers reach this server at, e.g.
    /// `https://chat.example.com`; its origin may open sockets. Unset, the
    /// listening address is used (and `localhost` for a loopback one).
    pub public_url: Option<String>,
    pub limits: Limits,
    pub origins: Origins,
    pub bot: BotPolicy,
    pub escalation: EscalationPolicy,
    pub handoff: HandoffSettings,
    pub business_hours: BusinessHours,
    pub conversations: Conversations,
    pub models: ModelSettings,
    pub encryption: Encryption,
    pub redaction: Redaction,
    pub retention: Retention,
}

/// When the bot hands a conversation to a person (see
/// `dialogue::escalation`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Negative probability (0..1) of one message the bot has no
    /// confident answer for that escalates at once.
    pub strong_negative: f32,
    /// The same for a message the bot can answer confidently.
    pub strong_negative_answered: f32,
    /// Customer messages the negative trend is averaged over.
    pub trend_turns: usize,
    /// Mean negative probability over `trend_turns` messages that escalates.
    pub trend_negative: f32,
    /// Turns in a row without a confident answer that escalate.
    pub unresolved_turns: u32,
    /// Times the bot may give the same answer before the customer asking
    /// for it once more goes to a person.
    pub repeated_answers: u32,
    /// Pings in a row ("anyone there?") that escalate.
    pub pings: u32,
    /// Customer messages in a row, remarks that ask nothing, that read as
    /// a tone intent (one whose code is `negative_sentiment` or
    /// `negative_trend`: sarcasm) and escalate.
    pub tone_turns: u32,
    /// How probable the tone intent must be, as each such message's best
    /// match in scope or not, to count.
    pub tone_min_probability: f32,
    /// An intent flagged `escalate` or `handoff` counts for escalation
    /// also when the message (or one of its sentences) is out of scope for
    /// answering, if the intent is this probable...
    pub intent_min_probability: f32,
    /// ...and the message this similar to its nearest example.
    pub intent_min_similarity: f32,
}

impl EscalationPolicy {
    /// Timeline events the rules need to see: a turn is up to three
    /// (message, reply, feedback), with room for notes and changes of
    /// hands.
    pub fn history_events(&self) -> usize {
        let turns = self
            .trend_turns
            .max(self.unresolved_turns as usize)
            .max(self.repeated_answers as usize + 1)
            .max(self.pings as usize)
            .max(self.tone_turns as usize);
        4 * turns + 8
    }
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        Self {
            strong_negative: 0.96,
            strong_negative_answered: 0.99,
            trend_turns: 3,
            trend_negative: 0.8,
            unresolved_turns: 3,
            repeated_answers: 1,
            pings: 2,
            tone_turns: 2,
            tone_min_probability: 0.5,
            intent_min_probability: 0.99,
            intent_min_similarity: 0.53,
        }
    }
}

pub use crate::nlu::ModelSettings;

/// Which browser origins may open a chat socket.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Origins {
    /// Origins allowed besides the server's own, e.g.
    /// `https://shop.example.com`. `*` allows every origin.
    pub allow: Vec<String>,
}

/// Thresholds of the bot's turn policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotPolicy {
    /// Minimum FAQ confidence (0..1) to answer with an entry.
    pub answer_confidence: f32,
    /// How many questions to offer as suggestions when unsure.
    pub suggestions: usize,
    /// Minimum FAQ confidence (0..1) for an entry to be offered as a
    /// suggestion, to a customer when the bot is unsure and to an agent
    /// in the briefing.
    pub suggestion_confidence: f32,
    /// FAQ confidence (0..1) from which an unsure question gets "did you
    /// mean" suggestions rather than a recognised intent's reply; 1
    /// keeps the intent's reply whenever the bot does not answer.
    pub suggest_over_intent: f32,
    /// The first thing a customer reads: that they talk to an automated
    /// assistant and can ask for a person at any time.
    pub disclosure: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("frontdesk-data"),
            operator_token: None,
            identity_secret: None,
            demo_faq: true,
            public_url: None,
            limits: Limits::default(),
            origins: Origins::default(),
            bot: BotPolicy::default(),
            escalation: EscalationPolicy::default(),
            handoff: HandoffSettings::default(),
            business_hours: BusinessHours::default(),
            conversations: Conversations::default(),
            models: ModelSettings::default(),
            encryption: Encryption::default(),
            redaction: Redaction::default(),
            retention: Retention::default(),
        }
    }
}

impl BotPolicy {
    /// Whether an FAQ entry of this confidence is worth offering as a
    /// suggestion (to a customer or an agent): above 0, and at least
    /// `suggestion_confidence`.
    pub(crate) fn suggests(&self, confidence: f32) -> bool {
        confidence > 0.0 && confidence >= self.suggestion_confidence
    }
}

impl Default for BotPolicy {
    fn default() -> Self {
        Self {
            answer_confidence: 0.8,
            suggestions: 3,
            suggestion_confidence: 0.0,
            suggest_over_intent: 0.2,
            disclosure: crate::copy::DISCLOSURE.to_owned(),
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name} is invalid: {message}")]
    Env { name: &'static str, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then the TOML file if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Apply `FRONTDESK_*` overrides read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(addr) = var("FRONTDESK_ADDR") {
            self.addr = addr.parse().map_err(|e| ConfigError::Env {
                name: "FRONTDESK_ADDR",
                message: format!("{e} (expected host:port such as 127.0.0.1:8080)"),
            })?;
        }
        if let Some(dir) = var("FRONTDESK_DATA_DIR") {
            self.data_dir = PathBuf::from(dir);
        }
        if let Some(token) = var("FRONTDESK_OPERATOR_TOKEN").filter(|t| !t.is_empty()) {
            self.operator_token = Some(token);
        }
        if let Some(secret) = var("FRONTDESK_IDENTITY_SECRET").filter(|t| !t.is_empty()) {
            self.identity_secret = Some(secret);
        }
        if let Some(key) = var("FRONTDESK_MASTER_KEY").filter(|t| !t.is_empty()) {
            self.encryption.master_key = Some(key);
        }
        Ok(())
    }

    /// Reject settings that cannot work, with a message naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        // A distance limit must be above 0 (`inf` turns it off).
        let no_distance =
            |t: &crate::nlu::intents::Thresholds| t.max_distance.is_nan() || t.max_distance <= 0.0;
        let l = &self.limits;
        let problem = if l.max_frame_bytes < 256 {
            Some("limits.max_frame_bytes must be at least 256")
        } else if l.hard_max_frame_bytes < l.max_frame_bytes {
            Some("limits.hard_max_frame_bytes must be at least limits.max_frame_bytes")
        } else if l.max_message_chars == 0 {
            Some("limits.max_message_chars must be positive")
        } else if l.messages_per_second.is_nan() || l.messages_per_second <= 0.0 {
            Some("limits.messages_per_second must be positive")
        } else if l.conversations_per_minute.is_nan()
            || l.conversations_per_minute <= 0.0
            || l.conversation_burst == 0
        {
            Some("limits.conversations_per_minute and limits.conversation_burst must be positive")
        } else if l.message_burst == 0 || l.connections_per_ip == 0 || l.outbound_queue == 0 {
            Some("limits.message_burst, connections_per_ip and outbound_queue must be positive")
        } else if !(1..=MAX_CONNECTIONS).contains(&l.max_connections) {
            Some("limits.max_connections must be between 1 and 1000000")
        } else if l.header_read_timeout.is_zero() || l.hello_timeout.is_zero() {
            Some("limits.header_read_timeout and limits.hello_timeout must be above 0")
        } else if l.ping_interval.is_zero() {
            Some("limits.ping_interval must be above 0")
        } else if l.idle_timeout <= l.ping_interval {
            Some("limits.idle_timeout must be longer than limits.ping_interval")
        } else if self.models.queue == 0 {
            Some("models.queue must be positive")
        } else if self.models.workers > 256 || self.models.threads > 256 {
            Some("models.workers and models.threads must be at most 256")
        } else if no_distance(&self.models.intent_thresholds) {
            Some("models.intent_thresholds.max_distance must be above 0: 1 is as far from an intent as its own examples typically are, the default is 1.4, and `inf` turns the distance test off")
        } else if no_distance(&self.models.multilingual_intent_thresholds) {
            Some("models.multilingual_intent_thresholds.max_distance must be above 0; the default, `inf`, turns the distance test off")
        } else if !(0.0..=1.0).contains(&self.bot.answer_confidence)
            || !(0.0..=1.0).contains(&self.bot.suggestion_confidence)
            || !(0.0..=1.0).contains(&self.bot.suggest_over_intent)
        {
            Some("bot.answer_confidence, bot.suggestion_confidence and bot.suggest_over_intent must be between 0 and 1")
        } else if ![
            self.escalation.strong_negative,
            self.escalation.strong_negative_answered,
            self.escalation.trend_negative,
            self.escalation.intent_min_probability,
            self.escalation.intent_min_similarity,
            self.escalation.tone_min_probability,
        ]
        .iter()
        .all(|v| (0.0..=1.0).contains(v))
        {
            Some("escalation.strong_negative, strong_negative_answered, trend_negative, intent_min_probability, intent_min_similarity and tone_min_probability must be between 0 and 1")
        } else if self.escalation.trend_turns == 0
            || self.escalation.unresolved_turns == 0
            || self.escalation.repeated_answers == 0
            || self.escalation.pings == 0
            || self.escalation.tone_turns == 0
        {
            Some("escalation.trend_turns, unresolved_turns, repeated_answers, pings and tone_turns must be positive")
        } else if self.handoff.agent_capacity == 0 {
            Some("handoff.agent_capacity must be positive")
        } else if matches!(&self.operator_token, Some(t) if t.len() < 16) {
            Some("operator_token must be at least 16 characters")
        } else if matches!(&self.identity_secret, Some(t) if t.len() < 32) {
            Some("identity_secret must be at least 32 characters")
        } else if matches!(&self.encryption.master_key, Some(k) if crate::crm::MasterKey::from_hex(k).is_err())
        {
            Some("encryption.master_key (FRONTDESK_MASTER_KEY) must be 64 hexadecimal digits; make one with `openssl rand -hex 32`")
        } else if [
            self.retention.closed_conversations_days,
            self.retention.inactive_customers_days,
        ]
        .into_iter()
        .flatten()
        .any(|d| !(0.0..=36_500.0).contains(&d))
        {
            Some("retention.closed_conversations_days and retention.inactive_customers_days must be between 0 and 36500")
        } else if self.retention.check_every.is_zero() || self.retention.batch == 0 {
            Some("retention.check_every and retention.batch must be positive")
        } else {
            None
        };
        match problem {
            Some(p) => Err(ConfigError::Invalid(p.to_owned())),
            None => self
                .business_hours
                .schedule()
                .map(|_| ())
                .map_err(ConfigError::Invalid),
        }
    }

    /// The configuration with secrets replaced, fit for a log line.
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        if copy.operator_token.is_some() {
            copy.operator_token = Some("<redacted>".to_owned());
        }
        if copy.identity_secret.is_some() {
            copy.identity_secret = Some("<redacted>".to_owned());
        }
        if copy.encryption.master_key.is_some() {
            copy.encryption.master_key = Some("<redacted>".to_owned());
        }
        copy
    }
}

/// Durations are written in the TOML file as seconds (float allowed).
mod humantime_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_documented_example_file_is_valid_and_holds_the_defaults() {
        let doc = include_str!("../docs/configuration.md");
        let example = doc
            .split("## Example file")
            .nth(1)
            .and_then(|rest| rest.split("```toml\n").nth(1))
            .and_then(|block| block.split("```").next())
            .expect("docs/configuration.md has an example file");
        let c: Config = toml::from_str(example).expect("the example parses");
        c.validate().expect("the example is valid");
        let defaults = Config::default();
        assert_eq!(c.business_hours, defaults.business_hours);
        assert_eq!(c.conversations, defaults.conversations);
        assert_eq!(c.handoff.assignment, defaults.handoff.assignment);
        assert_eq!(c.retention, defaults.retention);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<Config>("adress = \"x\"").unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn file_values_override_defaults() {
        let c: Config =
            toml::from_str("[limits]\nidle_timeout = 1.5\nping_interval = 0.5").unwrap();
        assert_eq!(c.limits.idle_timeout, Duration::from_millis(1500));
        assert_eq!(c.limits.max_frame_bytes, Limits::default().max_frame_bytes);
    }

    #[test]
    fn environment_overrides_and_validates() {
        let mut c = Config::default();
        c.apply_env(|n| (n == "FRONTDESK_ADDR").then(|| "0.0.0.0:9".to_owned()))
            .unwrap();
        assert_eq!(c.addr.port(), 9);
        let err = c
            .apply_env(|n| (n == "FRONTDESK_ADDR").then(|| "nope".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("FRONTDESK_ADDR"));
    }

    #[test]
    fn connection_limits_are_checked() {
        let mut c = Config::default();
        c.validate().unwrap();
        c.limits.max_connections = 0;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("limits.max_connections"), "{err}");
        c.limits.max_connections = 3;
        c.limits.header_read_timeout = Duration::ZERO;
        let err = c.validate().unwrap_err();
        assert!(
            err.to_string().contains("limits.header_read_timeout"),
            "{err}"
        );
    }

    #[test]
    fn a_broken_intent_distance_is_refused_with_the_key_named() {
        let c: Config = toml::from_str("[models.intent_thresholds]\nmax_distance = inf").unwrap();
        c.validate().expect("inf turns the test off");
        for bad in ["0", "-1.5", "nan"] {
            let text = format!("[models.intent_thresholds]\nmax_distance = {bad}");
            let c: Config = toml::from_str(&text).unwrap();
            let err = c.validate().unwrap_err().to_string();
            assert!(
                err.contains("models.intent_thresholds.max_distance"),
                "{err}"
            );
        }
        let err = toml::from_str::<Config>("[models.intent_thresholds]\nmax_distance = \"far\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_distance"), "{err}");
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Config {
            operator_token: Some("s3cret-s3cret-s3cret".into()),
            ..Config::default()
        };
        assert!(!format!("{:?}", c.redacted()).contains("s3cret"));
    }
}

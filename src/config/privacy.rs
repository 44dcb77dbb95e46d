//! The data-lifecycle settings: encryption at rest, redaction and
//! retention (docs/privacy.md).

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Encryption at rest (see docs/privacy.md).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Encryption {
    /// The master key as 64 hexadecimal digits. Prefer
    /// `FRONTDESK_MASTER_KEY` or `master_key_file` to writing it here.
    pub master_key: Option<String>,
    /// A file holding the master key. Unset (and no key given), the key
    /// is `<data_dir>/master.key`, generated on first start.
    pub master_key_file: Option<PathBuf>,
}

/// What is masked in customer messages before anything stores, indexes
/// or shows them. Card numbers (Luhn-checked) and IBANs always are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Redaction {
    pub emails: bool,
    pub phones: bool,
}

/// How long data is kept. Both ages are off (kept for ever) by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    /// Remove a closed conversation this many days after it closed.
    pub closed_conversations_days: Option<f64>,
    /// Erase a customer (crypto-shredded like an erasure on request) when
    /// nothing has happened in their conversations for this many days.
    pub inactive_customers_days: Option<f64>,
    /// How often the background task looks for what is due.
    #[serde(with = "super::humantime_secs")]
    pub check_every: Duration,
    /// Conversations and customers removed per step; steps run one after
    /// another on the blocking pool, so turns are never held up long.
    pub batch: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            closed_conversations_days: None,
            inactive_customers_days: None,
            check_every: Duration::from_secs(3600),
            batch: 50,
        }
    }
}

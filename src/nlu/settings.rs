//! Where the models and intents are and how inference runs: the
//! `[models]` section of the configuration.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where the models and intents are, and how inference runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// Directory with `encoder.onnx`, `sentiment.onnx`, `tokenizer.json`.
    pub dir: PathBuf,
    /// Directory of intent definitions (`*.yaml`).
    pub intents_dir: PathBuf,
    /// ONNX Runtime threads per model run.
    pub threads: usize,
    /// Most texts in one batched model run.
    pub max_batch: usize,
    /// Longest wait (ms) for more requests before running a batch.
    pub max_wait_ms: u64,
    /// Requests that may wait for the models; more are refused as busy.
    pub queue: usize,
    /// Out-of-scope thresholds of the intent classifier.
    pub intent_thresholds: super::intents::Thresholds,
}

impl Default for ModelSettings {
    fn default() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Self {
            dir: root.join("models"),
            intents_dir: root.join("intents"),
            threads: 1,
            max_batch: 32,
            max_wait_ms: 2,
            queue: 256,
            intent_thresholds: Default::default(),
        }
    }
}

impl ModelSettings {
    pub fn batching(&self) -> super::worker::Batching {
        super::worker::Batching {
            max_batch: self.max_batch,
            max_wait: Duration::from_millis(self.max_wait_ms),
            queue: self.queue,
        }
    }
}

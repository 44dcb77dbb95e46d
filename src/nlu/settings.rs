//! Where the models and intents are and how inference runs: the
//! `[models]` section of the configuration.
//!
//! Unset directories are found, not compiled in: first `models/` and
//! `intents/` in the working directory, then beside the running binary and
//! up to four directories above it (so `cargo run` and a binary unpacked
//! with its `models/` and `intents/` both work). The server says at start
//! which it loaded.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::MODEL_FILE;
use super::NluError;

/// Where the models and intents are, and how inference runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// Directory with `understanding.onnx` and `tokenizer.json`; found
    /// when unset.
    pub dir: Option<PathBuf>,
    /// Directory of intent definitions (`*.yaml`); found when unset.
    pub intents_dir: Option<PathBuf>,
    /// Model sessions that run side by side, each holding its own copy of
    /// the model in memory; 0 means one per core.
    pub workers: usize,
    /// ONNX Runtime threads per worker; 0 means the machine's cores
    /// divided among the workers.
    pub threads: usize,
    /// Customer messages that may wait for a worker; more are refused as
    /// busy.
    pub queue: usize,
    /// Where the trained intent classifier is kept between starts; the
    /// server uses `<data_dir>/cache` when unset.
    pub cache_dir: Option<PathBuf>,
    /// Out-of-scope thresholds of the intent classifier.
    pub intent_thresholds: super::intents::Thresholds,
    /// Answer messages in German, French, Spanish, Italian and Dutch from
    /// the FAQ through `multilingual.onnx`, loaded with the first such
    /// message. Off, they get the offer of a person in their language.
    pub multilingual: bool,
    /// Out-of-scope thresholds of the intent classifier on the
    /// multilingual model's embeddings, which reads the intents of
    /// messages in its languages.
    pub multilingual_intent_thresholds: super::intents::Thresholds,
}

impl ModelSettings {
    /// The models directory: the configured one, or the first found.
    pub fn models_dir(&self) -> Result<PathBuf, NluError> {
        match &self.dir {
            Some(dir) => Ok(dir.clone()),
            None => find("models", |d| d.join(MODEL_FILE).is_file()).map_err(NluError::Model),
        }
    }

    /// The intents directory: the configured one, or the first found.
    pub fn intents_dir(&self) -> Result<PathBuf, NluError> {
        match &self.intents_dir {
            Some(dir) => Ok(dir.clone()),
            None => find("intents", Path::is_dir).map_err(NluError::Intents),
        }
    }

    /// How inference runs: workers, threads per worker, queue.
    pub fn parallelism(&self) -> Parallelism {
        let workers = match self.workers {
            0 => cores(),
            n => n,
        };
        let threads = match self.threads {
            0 => (cores() / workers).max(1),
            n => n,
        };
        Parallelism {
            workers,
            threads,
            queue: self.queue,
        }
    }
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            dir: None,
            intents_dir: None,
            workers: 0,
            threads: 0,
            queue: 256,
            cache_dir: None,
            intent_thresholds: Default::default(),
            multilingual: true,
            multilingual_intent_thresholds: super::intents::Thresholds::MULTILINGUAL,
        }
    }
}

/// How inference runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Model sessions side by side.
    pub workers: usize,
    /// ONNX Runtime threads per session.
    pub threads: usize,
    /// Customer messages that may wait.
    pub queue: usize,
}

/// The machine's cores (at least 1).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The first `name` directory in the working directory or beside the
/// running binary (and up to four levels above it) that `usable` accepts.
fn find(name: &str, usable: impl Fn(&Path) -> bool) -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        candidates.push(cwd.join(name));
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).take(5).map(|d| d.join(name)));
    }
    candidates
        .iter()
        .find(|d| usable(d))
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            format!(
                "no {name}/ directory found (looked at: {}); run from the repository or next to an unpacked \
                 release, or set models.{} in the configuration",
                looked.join(", "),
                if name == "models" { "dir" } else { "intents_dir" }
            )
        })
}

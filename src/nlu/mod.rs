//! Understanding customer messages: ONNX models run by `ort`.
//!
//! - [`runtime`] finds and loads the ONNX Runtime library.
//! - [`models`] holds the tokenizer, the sentence encoder and the sentiment
//!   model, used only from the inference thread.
//! - [`worker`] is that thread: it batches concurrent requests and refuses
//!   work beyond its bounded queue.
//! - [`classifier`] and [`intents`] turn example phrases into an intent
//!   classifier at start-up.
//!
//! Nothing here runs model code on the async runtime.

pub mod classifier;
pub mod intents;
pub mod models;
pub mod runtime;
pub mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

pub use intents::{IntentDef, IntentMatch, Intents};
use worker::{Batching, Worker};

/// Why understanding failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NluError {
    #[error("{0}")]
    RuntimeMissing(String),
    #[error("cannot load model {0}")]
    Model(String),
    #[error("invalid intents: {0}")]
    Intents(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the models are busy; try again shortly")]
    Overloaded,
    #[error("the inference thread has stopped")]
    Stopped,
}

/// The sentiment of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentLabel {
    Negative,
    Neutral,
    Positive,
}

/// Sentiment label and the three probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub label: SentimentLabel,
    pub negative: f32,
    pub neutral: f32,
    pub positive: f32,
}

impl Sentiment {
    pub fn from_probabilities([negative, neutral, positive]: [f32; 3]) -> Self {
        let label = if negative >= neutral && negative >= positive {
            SentimentLabel::Negative
        } else if positive >= neutral {
            SentimentLabel::Positive
        } else {
            SentimentLabel::Neutral
        };
        Self {
            label,
            negative,
            neutral,
            positive,
        }
    }

    /// Positive minus negative probability, −1..1.
    pub fn score(&self) -> f32 {
        self.positive - self.negative
    }
}

/// Handle to the loaded models; cheap to clone.
#[derive(Clone)]
pub struct Nlu {
    worker: Worker,
}

/// Models already loaded in this process, by directory: loading is the
/// slow part, and ONNX Runtime allows one environment per process anyway.
static LOADED: OnceLock<Mutex<HashMap<PathBuf, Nlu>>> = OnceLock::new();

impl Nlu {
    /// Load the models in `dir` (once per process) and start the inference
    /// thread. Blocks: call from the blocking pool or at start-up.
    pub fn load(dir: &Path, threads: usize, batching: Batching) -> Result<Self, NluError> {
        let key = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        let loaded = LOADED.get_or_init(Default::default);
        let mut loaded = loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(nlu) = loaded.get(&key) {
            return Ok(nlu.clone());
        }
        let models = models::Models::load(dir, threads)?;
        let nlu = Self {
            worker: Worker::start(models, batching)?,
        };
        loaded.insert(key, nlu.clone());
        Ok(nlu)
    }

    /// Sentence embeddings of `texts`.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, NluError> {
        Ok(self
            .worker
            .encode(texts, false)
            .await?
            .into_iter()
            .map(|e| e.embedding)
            .collect())
    }

    /// Embedding and sentiment of one text.
    pub async fn encode(&self, text: String) -> Result<(Vec<f32>, Sentiment), NluError> {
        let mut out = self.worker.encode(vec![text], true).await?;
        let e = out
            .pop()
            .ok_or_else(|| NluError::Inference("no result".into()))?;
        Ok((e.embedding, Sentiment::from_probabilities(e.sentiment)))
    }

    /// Embeddings and sentiments of many texts (evaluation, benchmarks).
    pub async fn encode_many(
        &self,
        texts: Vec<String>,
    ) -> Result<Vec<(Vec<f32>, Sentiment)>, NluError> {
        Ok(self
            .worker
            .encode(texts, true)
            .await?
            .into_iter()
            .map(|e| (e.embedding, Sentiment::from_probabilities(e.sentiment)))
            .collect())
    }
}

/// What the models make of one customer message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub sentiment: Sentiment,
    pub intent: IntentMatch,
}

/// The models plus the intents: everything needed to analyse a message.
#[derive(Clone)]
pub struct Understanding {
    pub nlu: Nlu,
    pub intents: Arc<Intents>,
}

impl Understanding {
    /// Analysis and embedding of `text`.
    pub async fn analyze(&self, text: &str) -> Result<(Analysis, Vec<f32>), NluError> {
        let (embedding, sentiment) = self.nlu.encode(text.to_owned()).await?;
        let intent = self.intents.classify(&embedding);
        Ok((Analysis { sentiment, intent }, embedding))
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

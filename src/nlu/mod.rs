//! Understanding customer messages: ONNX models run by `ort`.
//!
//! - `runtime` finds and loads the ONNX Runtime library.
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
pub(crate) mod runtime;
mod settings;
pub mod worker;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Coded, ErrorCode};

pub(crate) use intents::{IntentDef, IntentMatch, Intents};
pub use settings::ModelSettings;
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

impl Coded for NluError {
    fn code(&self) -> ErrorCode {
        match self {
            NluError::Overloaded => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
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
    /// See [`Nlu::fingerprint`].
    fingerprint: Arc<str>,
}

impl Nlu {
    /// Load the models in `dir` and start the inference thread. Blocks:
    /// call from the blocking pool or at start-up.
    pub fn load(dir: &Path, threads: usize, batching: Batching) -> Result<Self, NluError> {
        let models = models::Models::load(dir, threads)?;
        let fingerprint = models.fingerprint().into();
        Ok(Self {
            worker: Worker::start(models, batching)?,
            fingerprint,
        })
    }

    /// Hex sha256 of the tokenizer and model files loaded: embeddings
    /// stored under one fingerprint are valid only for it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
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
pub(crate) struct Analysis {
    pub sentiment: Sentiment,
    pub intent: IntentMatch,
}

/// The models plus the intents: everything needed to analyse a message.
/// Cheap to clone; one loaded `Understanding` may serve many servers.
#[derive(Clone)]
pub struct Understanding {
    pub(crate) nlu: Nlu,
    pub(crate) intents: Arc<Intents>,
}

impl std::fmt::Debug for Understanding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Understanding")
            .field("intents", &self.intents.defs().len())
            .finish_non_exhaustive()
    }
}

impl Understanding {
    /// Load the models and train the intent classifier from `settings`.
    pub async fn load(settings: &ModelSettings) -> Result<Self, NluError> {
        let s = settings.clone();
        let nlu = tokio::task::spawn_blocking(move || Nlu::load(&s.dir, s.threads, s.batching()))
            .await
            .map_err(|e| NluError::Inference(e.to_string()))??;
        let defs = intents::load_dir(&settings.intents_dir)?;
        let intents = Intents::train(
            &nlu,
            defs,
            classifier::Training::default(),
            settings.intent_thresholds,
        )
        .await?;
        tracing::info!(intents = intents.defs().len(), "models loaded");
        Ok(Self {
            nlu,
            intents: Arc::new(intents),
        })
    }

    /// Analysis and embedding of `text`.
    pub(crate) async fn analyze(&self, text: &str) -> Result<(Analysis, Vec<f32>), NluError> {
        let (embedding, sentiment) = self.nlu.encode(text.to_owned()).await?;
        let intent = self.intents.classify(&embedding);
        Ok((Analysis { sentiment, intent }, embedding))
    }
}

/// Cosine similarity of two unit vectors.
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

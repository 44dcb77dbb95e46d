//! Understanding customer messages: one ONNX model run by `ort`.
//!
//! - `runtime` finds and loads the ONNX Runtime library.
//! - [`model`] reads the tokenizer and `understanding.onnx`, which yields a
//!   text's sentence embedding and its sentiment in one pass.
//! - `workers` runs the model on one thread per core and refuses customer
//!   work beyond its bounded queue.
//! - [`multilingual`] embeds messages in German, French, Spanish, Italian
//!   and Dutch with a second, multilingual model, loaded on first use.
//! - [`classifier`] and [`intents`] turn example phrases into an intent
//!   classifier; `scope` measures how far a text is from an intent;
//!   `cache` keeps the classifier on disk between starts.
//!
//! Nothing here runs model code on the async runtime.

mod cache;
pub mod classifier;
pub mod intents;
pub(crate) mod language;
pub mod model;
pub mod multilingual;
pub(crate) mod runtime;
mod scope;
mod settings;
mod unigram;
mod workers;

use std::path::Path;
use std::sync::Arc;

use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};

use crate::error::{Coded, ErrorCode};

pub use intents::Origin;
pub(crate) use intents::{IntentDef, IntentMatch, Intents};
pub use settings::{cores, ModelSettings, Parallelism};
use workers::Workers;

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

/// Handle to the loaded model; cheap to clone.
#[derive(Clone)]
pub struct Nlu {
    workers: Workers<model::Model>,
    fingerprint: Arc<str>,
    dir: Arc<Path>,
}

impl Nlu {
    /// Read the model in `dir` and start the inference workers `p` asks
    /// for. Blocks: call from the blocking pool or at start-up.
    pub fn load(dir: &Path, p: Parallelism) -> Result<Self, NluError> {
        let files = model::ModelFiles::read(dir)?;
        Ok(Self {
            workers: Workers::start("nlu", p, |threads| files.model(threads))?,
            fingerprint: files.fingerprint().into(),
            dir: files.dir().into(),
        })
    }

    /// Hex SHA-256 of the tokenizer and model: what caches of anything
    /// computed by the model are keyed by.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The directory the model was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sentence embeddings of `texts` (bulk: waits for room).
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, NluError> {
        Ok(self
            .workers
            .bulk(texts)
            .await?
            .into_iter()
            .map(|e| e.embedding)
            .collect())
    }

    /// Embedding and sentiment of one customer's text; refused with
    /// [`NluError::Overloaded`] when too many wait.
    pub async fn encode(&self, text: String) -> Result<(Vec<f32>, Sentiment), NluError> {
        let e = self.workers.turn(text).await?;
        Ok((e.embedding, Sentiment::from_probabilities(e.sentiment)))
    }

    /// Embeddings and sentiments of many texts (bulk: waits for room).
    pub async fn encode_many(
        &self,
        texts: Vec<String>,
    ) -> Result<Vec<(Vec<f32>, Sentiment)>, NluError> {
        Ok(self
            .workers
            .bulk(texts)
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

/// Intents learnt, and where they came from.
type Learnt = (Arc<Intents>, Origin);

/// The model plus the intents: everything needed to analyse a message.
/// Cheap to clone; one loaded `Understanding` may serve many servers.
#[derive(Clone)]
pub struct Understanding {
    pub(crate) nlu: Nlu,
    pub(crate) intents: Arc<Intents>,
    origin: Origin,
    /// The multilingual model's directory (`None`: turned off), and the
    /// model once loaded: `None` in the cell if it could not be.
    multilingual_dir: Option<Arc<Path>>,
    multilingual: Arc<tokio::sync::OnceCell<Option<multilingual::Multilingual>>>,
    /// The intents read through the multilingual model: trained (or read
    /// from the cache) in the background once a turn finds the FAQ's
    /// vectors by it ready; `None` in the cell if that failed.
    multilingual_intents: Arc<tokio::sync::OnceCell<Option<Learnt>>>,
    /// Learning them in the background.
    learning: crate::background::OneRun,
    multilingual_thresholds: intents::Thresholds,
    cache: Option<cache::Cache>,
}

impl std::fmt::Debug for Understanding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Understanding")
            .field("intents", &self.intents.defs().len())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Understanding {
    /// Load the model and the intent classifier `settings` name: from
    /// `settings.cache_dir` when it holds one for the same model and
    /// intents, otherwise trained now.
    pub async fn load(settings: &ModelSettings) -> Result<Self, NluError> {
        let dir = settings.models_dir()?;
        let intents_dir = settings.intents_dir()?;
        let parallelism = settings.parallelism();
        let nlu = tokio::task::spawn_blocking(move || Nlu::load(&dir, parallelism))
            .await
            .map_err(|e| NluError::Inference(e.to_string()))??;
        let defs = intents::load_dir(&intents_dir)?;
        let cache = settings.cache_dir.as_deref().map(cache::Cache::new);
        let (intents, origin) = Intents::load(
            intents::Encoder::Understanding(&nlu),
            defs,
            classifier::Training::default(),
            settings.intent_thresholds,
            cache.as_ref(),
        )
        .await?;
        tracing::info!(
            models = %nlu.dir().display(),
            fingerprint = &nlu.fingerprint()[..12],
            workers = parallelism.workers,
            threads = parallelism.threads,
            intents_dir = %intents_dir.display(),
            intents = intents.defs().len(),
            classifier = ?origin,
            multilingual = if settings.multilingual { "on first use" } else { "off" },
            "models loaded"
        );
        Ok(Self {
            multilingual_dir: settings.multilingual.then(|| nlu.dir().into()),
            nlu,
            intents: Arc::new(intents),
            origin,
            multilingual: Default::default(),
            multilingual_intents: Default::default(),
            learning: Default::default(),
            multilingual_thresholds: settings.multilingual_intent_thresholds,
            cache,
        })
    }

    /// The multilingual model, loaded by the first call. `None` when it is
    /// turned off or cannot be loaded (said once in the log; messages in
    /// other languages then get the offer of a person).
    pub async fn multilingual(&self) -> Option<multilingual::Multilingual> {
        let dir = self.multilingual_dir.clone()?;
        self.multilingual
            .get_or_init(|| async move {
                let loaded =
                    tokio::task::spawn_blocking(move || multilingual::Multilingual::load(&dir))
                        .await
                        .map_err(|e| NluError::Inference(e.to_string()))
                        .and_then(|r| r);
                match loaded {
                    Ok(m) => Some(m),
                    Err(e) => {
                        tracing::warn!(error = %e, "multilingual model not loaded; messages in other languages get the offer of a person");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// The intents read through the multilingual model `model`, trained
    /// on the first call (the others wait for it), or read from the cache.
    /// `None` when that failed (said in the log).
    async fn multilingual_intents(&self, model: &multilingual::Multilingual) -> Option<Learnt> {
        self.multilingual_intents
            .get_or_init(|| async {
                let loaded = Intents::load(
                    intents::Encoder::Multilingual(model),
                    self.intents.defs().to_vec(),
                    classifier::Training::default(),
                    self.multilingual_thresholds,
                    self.cache.as_ref(),
                )
                .await;
                match loaded {
                    Ok((intents, origin)) => {
                        tracing::info!(classifier = ?origin, "intents in other languages ready");
                        Some((Arc::new(intents), origin))
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "intents in other languages not learnt; the English intents and the phrase lists read those messages");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// Load the multilingual model and learn the intents in other
    /// languages now (or read them from the cache), instead of in the
    /// background with the first message in such a language; where they
    /// came from, or `None` when the model is off or either failed.
    pub async fn learn_intents_in_other_languages(&self) -> Option<Origin> {
        let model = self.multilingual().await?;
        self.multilingual_intents(&model)
            .await
            .map(|(_, origin)| origin)
    }

    /// The intents read through the multilingual model `model`, if they
    /// are ready; if not, and nobody is learning them, they are learnt in
    /// the background (again, if an earlier attempt was cancelled).
    pub(crate) fn intents_across_languages(
        &self,
        model: &multilingual::Multilingual,
    ) -> Option<Arc<Intents>> {
        if let Some(ready) = self.multilingual_intents.get() {
            return ready.as_ref().map(|(intents, _)| intents.clone());
        }
        let (this, model) = (self.clone(), model.clone());
        self.learning.start(async move {
            this.multilingual_intents(&model).await;
        });
        None
    }

    /// Where this start's intent classifier came from.
    pub fn classifier_origin(&self) -> Origin {
        self.origin
    }

    /// Analysis and embedding of `text`.
    pub(crate) async fn analyze(&self, text: &str) -> Result<(Analysis, Vec<f32>), NluError> {
        let (embedding, sentiment) = self.nlu.encode(text.to_owned()).await?;
        let intent = self.intents.classify(&embedding);
        Ok((Analysis { sentiment, intent }, embedding))
    }

    /// The analysis of each sentence of a message of several: one
    /// sentence that threatens to leave or reports an injury is diluted
    /// in the embedding of a long message. Empty for a single sentence.
    pub(crate) async fn analyze_sentences(&self, text: &str) -> Result<Vec<Analysis>, NluError> {
        let parts = sentences(text);
        if parts.len() < 2 {
            return Ok(Vec::new());
        }
        // Side by side, on as many workers as are free.
        let analyses = try_join_all(parts.into_iter().map(|part| self.analyze(part))).await?;
        Ok(analyses.into_iter().map(|(a, _)| a).collect())
    }
}

/// Sentences with at least five words, the last four of them: a
/// message's point is usually at its end.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    const MAX: usize = 4;
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '.' | '!' | '?' => chars.peek().is_none_or(|(_, n)| n.is_whitespace()),
            '\n' => true,
            _ => false,
        };
        if end {
            let next = i + c.len_utf8();
            out.push(text[start..next].trim());
            start = next;
        }
    }
    out.push(text[start..].trim());
    out.retain(|s| s.split_whitespace().count() >= 5);
    let skip = out.len().saturating_sub(MAX);
    out.split_off(skip)
}

/// Dot product, written so the compiler vectorises it (eight independent
/// sums instead of one sequential chain).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Cosine similarity of two unit vectors, summed in order (the FAQ
/// ranking's figures were measured with this sum).
pub(crate) fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

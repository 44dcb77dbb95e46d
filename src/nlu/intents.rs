//! Intents: what a customer wants, defined in `intents/*.yaml` and learned
//! from their example phrases at start-up.
//!
//! Adding a file adds an intent on the next start; there is no offline
//! training. The trained classifier is cached, keyed by the model, the
//! intents and the training settings, so a restart with the same inputs
//! trains nothing and a change retrains. A text whose best intent is not
//! probable enough, not similar enough to any of that intent's examples, or
//! too far from that intent's examples as a whole, is out of scope.
//!
//! The same examples also train a second classifier on the multilingual
//! model's embeddings ([`Encoder::Multilingual`]): that model puts a German
//! or Spanish message near the English examples that mean the same, so
//! the intents read messages in its languages too.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::cache::{self, Cache, Lookup};
use super::classifier::{Classifier, Prediction, Training};
use super::model::DIM;
use super::multilingual::Multilingual;
use super::{Nlu, NluError};

/// The model whose embeddings a classifier is trained on.
#[derive(Clone, Copy)]
pub(crate) enum Encoder<'a> {
    /// The understanding model: English messages.
    Understanding(&'a Nlu),
    /// The multilingual model: messages in its languages.
    Multilingual(&'a Multilingual),
}

impl Encoder<'_> {
    /// The cache entry of its classifier.
    fn cache_name(self) -> &'static str {
        match self {
            Encoder::Understanding(_) => "intent-classifier",
            Encoder::Multilingual(_) => "intent-classifier-multilingual",
        }
    }

    fn fingerprint(&self) -> &str {
        match self {
            Encoder::Understanding(nlu) => nlu.fingerprint(),
            Encoder::Multilingual(m) => m.fingerprint(),
        }
    }

    /// Embeddings of example messages (bulk: waits for room).
    async fn embed(self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, NluError> {
        match self {
            Encoder::Understanding(nlu) => nlu.embed(texts).await,
            Encoder::Multilingual(m) => m.embed_messages(texts).await,
        }
    }
}

/// One intent as an author writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntentDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub examples: Vec<String>,
    #[serde(default)]
    pub responses: Vec<String>,
    /// The conversation needs a human.
    #[serde(default)]
    pub escalate: bool,
    /// The customer asked for a human.
    #[serde(default)]
    pub handoff: bool,
    /// With `escalate`: the escalation code the intent raises (for
    /// example `legal_threat`); `intent_needs_human` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<crate::crm::EscalationCode>,
    /// Conversation rather than a question (a greeting, thanks, yes or
    /// no): its reply may be given any number of times without the
    /// customer counting as asking again.
    #[serde(default)]
    pub small_talk: bool,
}

/// The shipped `max_distance`; docs/configuration.md says how it was chosen.
const MAX_DISTANCE: f32 = 1.4;

/// When a prediction counts as out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Lowest probability of the best intent.
    pub min_probability: f32,
    /// Lowest cosine similarity to the nearest example of the best intent.
    pub min_similarity: f32,
    /// Greatest distance from the best intent, in units of a typical
    /// example of an intent (`nlu::scope`).
    pub max_distance: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_probability: 0.5,
            min_similarity: 0.6,
            max_distance: MAX_DISTANCE,
        }
    }
}

impl Thresholds {
    /// The shipped thresholds of the classifier on the multilingual
    /// model's embeddings, whose similarities sit closer together (0.8
    /// and up): tuned on the escalation tuning sets' conversations in
    /// other languages and the translated tuning questions
    /// (docs/quality.md). The distance test is off.
    pub const MULTILINGUAL: Thresholds = Thresholds {
        min_probability: 0.8,
        min_similarity: 0.86,
        max_distance: f32::INFINITY,
    };

    /// Whether a prediction is in scope.
    pub fn admits(&self, p: &Prediction) -> bool {
        p.probability >= self.min_probability
            && p.similarity >= self.min_similarity
            && p.distance <= self.max_distance
    }
}

/// The recognised intent of a text, or out of scope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct IntentMatch {
    /// `None` when the text is out of scope.
    pub name: Option<String>,
    /// Probability of the best intent (also when out of scope).
    pub confidence: f32,
    /// Cosine similarity to the nearest example of the best intent.
    pub similarity: f32,
    /// The best intent of an out-of-scope text: not confident enough to
    /// answer with, but the escalation rules weigh it
    /// (`escalation.intent_min_similarity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nearest: Option<String>,
}

/// Read every `*.yaml` in `dir`, sorted by file name.
pub(crate) fn load_dir(dir: &Path) -> Result<Vec<IntentDef>, NluError> {
    let bad = |m: String| NluError::Intents(m);
    let entries =
        std::fs::read_dir(dir).map_err(|e| bad(format!("cannot read {}: {e}", dir.display())))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut defs: Vec<IntentDef> = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| bad(format!("cannot read {}: {e}", file.display())))?;
        let def: IntentDef =
            serde_yaml::from_str(&text).map_err(|e| bad(format!("{}: {e}", file.display())))?;
        if def.examples.is_empty() {
            return Err(bad(format!(
                "{}: an intent needs at least one example",
                file.display()
            )));
        }
        if def.escalation.is_some() && !def.escalate {
            return Err(bad(format!(
                "{}: `escalation` names the code an intent with `escalate: true` raises; set `escalate: true` or remove it",
                file.display()
            )));
        }
        if defs.iter().any(|d| d.name == def.name) {
            return Err(bad(format!(
                "{}: intent {:?} is defined twice",
                file.display(),
                def.name
            )));
        }
        defs.push(def);
    }
    if defs.len() < 2 {
        return Err(bad(format!(
            "{} holds fewer than two intents",
            dir.display()
        )));
    }
    Ok(defs)
}

/// Where the intent classifier of a start came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Read from the cache: nothing was trained.
    Cache,
    /// Trained: there was no cache entry.
    Trained,
    /// Trained again: the model, intents or settings changed.
    Retrained,
    /// Trained again: the cache entry was damaged.
    Rebuilt,
}

/// Intents with their trained classifier.
pub(crate) struct Intents {
    defs: Vec<IntentDef>,
    classifier: Classifier,
    thresholds: Thresholds,
}

impl Intents {
    /// The classifier for `defs`: from `cache` when it holds one trained
    /// on the same model, intents and settings, otherwise trained now (every
    /// example embedded with `encoder`) and cached.
    pub(crate) async fn load(
        encoder: Encoder<'_>,
        defs: Vec<IntentDef>,
        training: Training,
        thresholds: Thresholds,
        cache: Option<&Cache>,
    ) -> Result<(Self, Origin), NluError> {
        let defs_json = serde_json::to_vec(&defs).map_err(|e| NluError::Intents(e.to_string()))?;
        let training_json =
            serde_json::to_vec(&training).map_err(|e| NluError::Intents(e.to_string()))?;
        let key = cache::key(&[
            encoder.cache_name().as_bytes(),
            encoder.fingerprint().as_bytes(),
            &defs_json,
            &training_json,
        ]);
        let found = cache.map_or(Lookup::Missing, |c| c.get(encoder.cache_name(), &key));
        if let Lookup::Hit(bytes) = &found {
            if let Some(classifier) = Classifier::from_bytes(bytes, DIM, defs.len()) {
                let intents = Self {
                    defs,
                    classifier,
                    thresholds,
                };
                return Ok((intents, Origin::Cache));
            }
        }
        let origin = match found {
            Lookup::Missing => Origin::Trained,
            Lookup::Stale => Origin::Retrained,
            Lookup::Hit(_) | Lookup::Corrupt => Origin::Rebuilt,
        };
        let intents = Self::train(encoder, defs, training, thresholds).await?;
        if let Some(cache) = cache {
            let (cache, bytes) = (cache.clone(), intents.classifier.to_bytes());
            let name = encoder.cache_name();
            let stored = tokio::task::spawn_blocking(move || cache.put(name, &key, &bytes))
                .await
                .map_err(|e| NluError::Inference(e.to_string()))?;
            if let Err(e) = stored {
                tracing::warn!(error = %e, "cannot cache the intent classifier; it will be trained again at the next start");
            }
        }
        Ok((intents, origin))
    }

    /// Embed every example with `encoder` and train the classifier.
    pub(crate) async fn train(
        encoder: Encoder<'_>,
        defs: Vec<IntentDef>,
        training: Training,
        thresholds: Thresholds,
    ) -> Result<Self, NluError> {
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for (class, def) in defs.iter().enumerate() {
            for example in &def.examples {
                texts.push(example.clone());
                labels.push(class);
            }
        }
        let embeddings = encoder.embed(texts).await?;
        let flat: Vec<f32> = embeddings.into_iter().flatten().collect();
        let classes = defs.len();
        let classifier = tokio::task::spawn_blocking(move || {
            Classifier::train(flat, labels, classes, DIM, training)
        })
        .await
        .map_err(|e| NluError::Inference(e.to_string()))?;
        if !classifier.measures_distance() {
            tracing::warn!(
                "no intent has two different examples: the distance from an intent cannot be measured and \
                 models.intent_thresholds.max_distance is not applied; give intents more examples"
            );
        }
        Ok(Self {
            defs,
            classifier,
            thresholds,
        })
    }

    pub(crate) fn defs(&self) -> &[IntentDef] {
        &self.defs
    }

    pub(crate) fn get(&self, name: &str) -> Option<&IntentDef> {
        self.defs.iter().find(|d| d.name == name)
    }

    /// The intent of an embedded text.
    pub(crate) fn classify(&self, embedding: &[f32]) -> IntentMatch {
        let p = self.classifier.predict(embedding);
        let in_scope = self.thresholds.admits(&p);
        let best = self.defs[p.class].name.clone();
        let (name, nearest) = match in_scope {
            true => (Some(best), None),
            false => (None, Some(best)),
        };
        IntentMatch {
            name,
            confidence: p.probability,
            similarity: p.similarity,
            nearest,
        }
    }
}

//! Intents: what a customer wants, defined in `intents/*.yaml` and learned
//! from their example phrases at start-up.
//!
//! Adding a file adds an intent on the next start; there is no offline
//! training. A text whose best intent is not probable enough, or not
//! similar enough to any of that intent's examples, is out of scope.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::classifier::{Classifier, Training};
use super::models::DIM;
use super::{Nlu, NluError};

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
}

/// When a prediction counts as out of scope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Lowest probability of the best intent.
    pub min_probability: f32,
    /// Lowest cosine similarity to the nearest example of the best intent.
    pub min_similarity: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_probability: 0.5,
            min_similarity: 0.6,
        }
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

/// Intents with their trained classifier.
pub(crate) struct Intents {
    defs: Vec<IntentDef>,
    classifier: Classifier,
    thresholds: Thresholds,
}

impl Intents {
    /// Embed every example with `nlu` and train the classifier.
    pub(crate) async fn train(
        nlu: &Nlu,
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
        let embeddings = nlu.embed(texts).await?;
        let flat: Vec<f32> = embeddings.into_iter().flatten().collect();
        let classes = defs.len();
        let classifier = tokio::task::spawn_blocking(move || {
            Classifier::train(flat, labels, classes, DIM, training)
        })
        .await
        .map_err(|e| NluError::Inference(e.to_string()))?;
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
        let in_scope = p.probability >= self.thresholds.min_probability
            && p.similarity >= self.thresholds.min_similarity;
        IntentMatch {
            name: in_scope.then(|| self.defs[p.class].name.clone()),
            confidence: p.probability,
            similarity: p.similarity,
        }
    }
}

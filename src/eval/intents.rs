//! Intent figures on public datasets (`frontdesk eval intents`): a
//! classifier is trained from a training split exactly as the server
//! trains one from `intents/` (same embeddings, same classifier), then
//! scored on a test split; out-of-scope thresholds are chosen on the
//! validation split only.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};

use crate::nlu::classifier::{Classifier, Prediction, Training};
use crate::nlu::intents::Thresholds;
use crate::nlu::model::DIM;
use crate::nlu::Nlu;

/// Labelled texts.
pub struct Labelled {
    pub texts: Vec<String>,
    pub labels: Vec<String>,
}

/// `text,category` CSV (Banking77).
pub fn read_csv(path: &Path) -> anyhow::Result<Labelled> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for row in reader.records() {
        let row = row.with_context(|| format!("{}: bad CSV row", path.display()))?;
        if row.len() < 2 {
            bail!("{}: expected text,category rows", path.display());
        }
        texts.push(row[0].to_owned());
        labels.push(row[1].to_owned());
    }
    Ok(Labelled { texts, labels })
}

/// One split of CLINC150's `data_oos_plus.json` (`[[text, intent], …]`).
pub fn read_clinc(path: &Path, split: &str) -> anyhow::Result<Labelled> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let all: HashMap<String, Vec<(String, String)>> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not CLINC150 JSON", path.display()))?;
    let rows = all
        .get(split)
        .with_context(|| format!("{}: no split {split:?}", path.display()))?;
    Ok(Labelled {
        texts: rows.iter().map(|r| r.0.clone()).collect(),
        labels: rows.iter().map(|r| r.1.clone()).collect(),
    })
}

/// A deterministic shuffle (xorshift) so few-shot samples are repeatable.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in (1..n).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

/// Keep `shots` examples per label, chosen with `seed`.
pub fn few_shot(data: &Labelled, shots: usize, seed: u64) -> Labelled {
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let mut out = Labelled {
        texts: Vec::new(),
        labels: Vec::new(),
    };
    for i in shuffled(data.texts.len(), seed) {
        let n = taken.entry(data.labels[i].as_str()).or_insert(0);
        if *n < shots {
            *n += 1;
            out.texts.push(data.texts[i].clone());
            out.labels.push(data.labels[i].clone());
        }
    }
    out
}

async fn embed(nlu: &Nlu, texts: &[String]) -> anyhow::Result<Vec<f32>> {
    let mut out = Vec::with_capacity(texts.len() * DIM);
    for chunk in texts.chunks(64) {
        for e in nlu.embed(chunk.to_vec()).await? {
            out.extend(e);
        }
    }
    Ok(out)
}

/// A classifier trained on `train`, with its label names.
pub struct Trained {
    classifier: Classifier,
    pub names: Vec<String>,
}

pub async fn train(nlu: &Nlu, train: &Labelled, training: Training) -> anyhow::Result<Trained> {
    let mut names: Vec<String> = train.labels.clone();
    names.sort();
    names.dedup();
    let index: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let labels: Vec<usize> = train.labels.iter().map(|l| index[l.as_str()]).collect();
    let x = embed(nlu, &train.texts).await?;
    let classes = names.len();
    let classifier =
        tokio::task::spawn_blocking(move || Classifier::train(x, labels, classes, DIM, training))
            .await?;
    Ok(Trained { classifier, names })
}

pub async fn predict(
    nlu: &Nlu,
    trained: &Trained,
    texts: &[String],
) -> anyhow::Result<Vec<Prediction>> {
    let x = embed(nlu, texts).await?;
    Ok(x.chunks_exact(DIM)
        .map(|e| trained.classifier.predict(e))
        .collect())
}

/// Share of predictions whose label matches.
pub fn accuracy(trained: &Trained, predictions: &[Prediction], truth: &[String]) -> f64 {
    let right = predictions
        .iter()
        .zip(truth)
        .filter(|(p, t)| trained.names[p.class] == **t)
        .count();
    right as f64 / truth.len().max(1) as f64
}

/// Out-of-scope figures for a set of thresholds.
#[derive(Debug, Clone, Copy)]
pub struct OosScore {
    pub thresholds: Thresholds,
    /// In-scope texts given the right intent (rejections count as wrong).
    pub in_scope_accuracy: f64,
    pub oos_recall: f64,
    pub oos_precision: f64,
}

pub fn oos_score(
    trained: &Trained,
    in_scope: &[Prediction],
    truth: &[String],
    oos: &[Prediction],
    thresholds: Thresholds,
) -> OosScore {
    let rejected = |p: &Prediction| !thresholds.admits(p);
    let right = in_scope
        .iter()
        .zip(truth)
        .filter(|(p, t)| !rejected(p) && trained.names[p.class] == **t)
        .count();
    let false_rejections = in_scope.iter().filter(|p| rejected(p)).count();
    let caught = oos.iter().filter(|p| rejected(p)).count();
    OosScore {
        thresholds,
        in_scope_accuracy: right as f64 / in_scope.len().max(1) as f64,
        oos_recall: caught as f64 / oos.len().max(1) as f64,
        oos_precision: caught as f64 / (caught + false_rejections).max(1) as f64,
    }
}

/// Out-of-scope rules `frontdesk eval intents` chooses thresholds for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OosRule {
    /// `min_probability` and `min_similarity` (no distance).
    ProbabilityAndSimilarity,
    /// `max_distance` alone.
    Distance,
}

impl std::fmt::Display for OosRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::ProbabilityAndSimilarity => "probability and similarity",
            Self::Distance => "distance",
        })
    }
}

impl OosRule {
    /// The thresholds the rule sets, as configuration keys.
    pub fn describe(self, t: &Thresholds) -> String {
        match self {
            Self::ProbabilityAndSimilarity => format!(
                "min_probability {:.3}, min_similarity {:.3}",
                t.min_probability, t.min_similarity
            ),
            Self::Distance => format!("max_distance {:.3}", t.max_distance),
        }
    }

    /// The thresholds the rule tries, from a grid.
    fn candidates(self) -> Vec<Thresholds> {
        let off = Thresholds {
            min_probability: 0.0,
            min_similarity: -1.0,
            max_distance: f32::INFINITY,
        };
        match self {
            Self::ProbabilityAndSimilarity => (0..=40)
                .flat_map(|p| {
                    (0..=40).map(move |s| Thresholds {
                        min_probability: p as f32 / 40.0,
                        min_similarity: 0.2 + s as f32 / 50.0,
                        ..off
                    })
                })
                .collect(),
            // In-scope distances crowd around 1: a fine grid.
            Self::Distance => (100..=800)
                .map(|d| Thresholds {
                    max_distance: d as f32 / 200.0,
                    ..off
                })
                .collect(),
        }
    }
}

/// The thresholds of `rule` with the best out-of-scope recall whose
/// in-scope accuracy stays at or above `floor`; `None` when none does.
pub fn choose_thresholds(
    rule: OosRule,
    trained: &Trained,
    in_scope: &[Prediction],
    truth: &[String],
    oos: &[Prediction],
    floor: f64,
) -> Option<OosScore> {
    rule.candidates()
        .into_iter()
        .map(|t| oos_score(trained, in_scope, truth, oos, t))
        .filter(|s| s.in_scope_accuracy >= floor)
        .fold(None, |best: Option<OosScore>, s| match best {
            Some(b) if b.oos_recall >= s.oos_recall => Some(b),
            _ => Some(s),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distance_rule_rejects_as_much_as_the_floor_allows() {
        let examples = [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]].concat();
        let trained = Trained {
            classifier: Classifier::train(examples, vec![0, 0, 1, 1], 2, 2, Training::default()),
            names: vec!["a".into(), "b".into()],
        };
        let at = |class, distance| Prediction {
            class,
            probability: 1.0,
            similarity: 1.0,
            distance,
        };
        let in_scope = [at(0, 0.7), at(1, 0.9), at(1, 1.2), at(0, 3.0)];
        let truth: Vec<String> = ["a", "b", "a", "a"].map(String::from).into();
        let oos = [at(0, 0.8), at(1, 1.5), at(0, 5.0)];
        // Three of four right needs the one at 3.0: nothing is rejected.
        let score = choose_thresholds(OosRule::Distance, &trained, &in_scope, &truth, &oos, 0.75)
            .expect("reachable");
        assert_eq!(score.thresholds.max_distance, 3.0);
        assert!((score.oos_recall - 1.0 / 3.0).abs() < 1e-9);
        // Two of four: the wrong one at 1.2 may go, and with it two of three
        // out-of-scope texts.
        let score = choose_thresholds(OosRule::Distance, &trained, &in_scope, &truth, &oos, 0.5)
            .expect("reachable");
        assert_eq!(score.thresholds.max_distance, 0.9);
        assert!((score.oos_recall - 2.0 / 3.0).abs() < 1e-9);
        assert!((score.oos_precision - 2.0 / 4.0).abs() < 1e-9);
        assert!(
            choose_thresholds(OosRule::Distance, &trained, &in_scope, &truth, &oos, 0.9).is_none()
        );
    }

    #[test]
    fn few_shot_keeps_n_per_label_repeatably() {
        let data = Labelled {
            texts: (0..20).map(|i| i.to_string()).collect(),
            labels: (0..20).map(|i| (i % 2).to_string()).collect(),
        };
        let a = few_shot(&data, 3, 7);
        assert_eq!(a.texts.len(), 6);
        assert_eq!(a.texts, few_shot(&data, 3, 7).texts);
    }
}

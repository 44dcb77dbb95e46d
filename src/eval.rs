//! Measuring the models against labelled datasets: `frontdesk eval …`.
//!
//! Intents: a classifier is trained from a training split exactly as the
//! server trains one from `intents/` (same embeddings, same classifier),
//! then scored on a test split. Out-of-scope thresholds are chosen on the
//! validation split only. Sentiment: the shipped model is scored on a
//! labelled test set. Escalation ([`escalation`]): labelled support
//! conversations replayed through the whole turn pipeline. The datasets
//! are read from the paths given; nothing is copied.

pub mod escalation;
pub mod faq;

/// The server `frontdesk eval escalation` and `eval faq` replay through:
/// the configured policy and models on a fresh temporary data directory,
/// answering from the demo FAQ or a FAQ file. The directory goes with it.
pub struct EvalServer {
    /// `None` only while dropping.
    app: Option<crate::Application>,
    dir: std::path::PathBuf,
}

impl EvalServer {
    pub async fn start(mut config: crate::Config, faq: Option<&Path>) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("frontdesk-eval-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        config.data_dir = dir.clone();
        config.addr = "127.0.0.1:0".parse()?;
        config.operator_token = Some(crate::auth::new_token());
        config.encryption.master_key = Some(hex::encode(crate::auth::random_bytes()));
        config.retention = Default::default();
        if let Some(path) = faq {
            config.demo_faq = false;
            import_faq(&config, path).await?;
        }
        let app = crate::Application::build(config).await?;
        Ok(Self {
            app: Some(app),
            dir,
        })
    }

    pub fn app(&self) -> &crate::Application {
        self.app.as_ref().expect("present until dropped")
    }
}

impl Drop for EvalServer {
    fn drop(&mut self) {
        // The server lets go of its files first.
        drop(self.app.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Import the FAQ file at `path` into the store of `config.data_dir`.
async fn import_faq(config: &crate::Config, path: &Path) -> anyhow::Result<()> {
    use crate::faq::{io, Faq};
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let drafts = io::parse(&text, io::Format::from_path(path)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let (master, _) = crate::crm::MasterKey::resolve(
        config.encryption.master_key.as_deref(),
        None,
        &config.data_dir,
    )?;
    let store = crate::crm::Store::open(&config.data_dir, &master)?;
    let dir = config.data_dir.clone();
    let faq = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || Faq::open(store, &dir)).await??
    };
    faq.import(drafts).await?;
    drop(faq);
    store.flush()?;
    Ok(())
}

/// A new conversation of a new anonymous customer on `app`, as the
/// replays start each labelled case, and its room.
async fn new_conversation(
    app: &crate::Application,
) -> anyhow::Result<(
    crate::crm::ConversationId,
    std::sync::Arc<crate::room::Room>,
)> {
    use crate::crm::{ConversationId, CustomerId, CustomerProfile};
    let state = app.state();
    let customer = state
        .store
        .upsert_customer(CustomerProfile::default(), CustomerId::new())
        .await?;
    let id = ConversationId::new();
    state
        .store
        .open_conversation(id, customer.id, crate::auth::random_bytes())
        .await?;
    Ok((id, state.hub.join(id)))
}

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context};

use crate::nlu::classifier::{Classifier, Prediction, Training};
use crate::nlu::intents::Thresholds;
use crate::nlu::model::DIM;
use crate::nlu::{Nlu, SentimentLabel};

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

/// Sentiment test data: TweetEval (`*_text.txt` + `*_labels.txt`, 0/1/2)
/// or SemEval TSV (`id<TAB>label<TAB>text`).
pub fn read_sentiment(
    path: &Path,
    labels: Option<&Path>,
) -> anyhow::Result<(Vec<String>, Vec<SentimentLabel>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let parse = |l: &str| match l.trim() {
        "0" | "negative" => Ok(SentimentLabel::Negative),
        "1" | "neutral" | "objective" | "objective-OR-neutral" => Ok(SentimentLabel::Neutral),
        "2" | "positive" => Ok(SentimentLabel::Positive),
        other => bail!("unknown sentiment label {other:?}"),
    };
    match labels {
        Some(labels_path) => {
            let labels = std::fs::read_to_string(labels_path)
                .with_context(|| format!("cannot read {}", labels_path.display()))?;
            let texts: Vec<String> = text.lines().map(String::from).collect();
            let labels = labels
                .lines()
                .map(parse)
                .collect::<anyhow::Result<Vec<_>>>()?;
            if texts.len() != labels.len() {
                bail!("{} texts but {} labels", texts.len(), labels.len());
            }
            Ok((texts, labels))
        }
        None => {
            let (mut texts, mut out) = (Vec::new(), Vec::new());
            // `id<TAB>label<TAB>text`, or with a second id column before
            // the label (the SMS and LiveJournal sets).
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let cols: Vec<&str> = line.split('\t').collect();
                let label = cols
                    .get(1..cols.len().saturating_sub(1))
                    .unwrap_or_default()
                    .iter()
                    .find_map(|c| parse(c).ok());
                let (Some(label), Some(body)) = (label, cols.last().filter(|_| cols.len() >= 3))
                else {
                    bail!(
                        "{}: expected id<TAB>label<TAB>text, got {line:?}",
                        path.display()
                    );
                };
                out.push(label);
                texts.push((*body).to_owned());
            }
            Ok((texts, out))
        }
    }
}

/// Macro-averaged recall, accuracy and the per-class recalls
/// (negative, neutral, positive).
pub fn sentiment_scores(
    predicted: &[SentimentLabel],
    truth: &[SentimentLabel],
) -> (f64, f64, [f64; 3]) {
    let classes = [
        SentimentLabel::Negative,
        SentimentLabel::Neutral,
        SentimentLabel::Positive,
    ];
    let mut recalls = [0.0; 3];
    for (i, c) in classes.iter().enumerate() {
        let total = truth.iter().filter(|t| *t == c).count();
        let hit = predicted
            .iter()
            .zip(truth)
            .filter(|(p, t)| *t == c && p == t)
            .count();
        recalls[i] = hit as f64 / total.max(1) as f64;
    }
    let accuracy = predicted.iter().zip(truth).filter(|(p, t)| p == t).count() as f64
        / truth.len().max(1) as f64;
    (recalls.iter().sum::<f64>() / 3.0, accuracy, recalls)
}

/// How often a negative-probability threshold fires, per true class:
/// for each threshold, the share of negative, neutral and positive texts
/// whose negative probability reaches it. This is how often the
/// `negative_sentiment` escalation rule would hand a message to a person.
pub fn threshold_rates(
    negative: &[f32],
    truth: &[SentimentLabel],
    thresholds: &[f32],
) -> Vec<(f32, [f64; 3])> {
    let classes = [
        SentimentLabel::Negative,
        SentimentLabel::Neutral,
        SentimentLabel::Positive,
    ];
    thresholds
        .iter()
        .map(|&t| {
            let mut rates = [0.0; 3];
            for (i, c) in classes.iter().enumerate() {
                let of_class: Vec<f32> = negative
                    .iter()
                    .zip(truth)
                    .filter(|(_, l)| *l == c)
                    .map(|(n, _)| *n)
                    .collect();
                let fired = of_class.iter().filter(|n| **n >= t).count();
                rates[i] = fired as f64 / of_class.len().max(1) as f64;
            }
            (t, rates)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_rates_count_per_class() {
        use SentimentLabel::*;
        let rates = threshold_rates(
            &[0.99, 0.5, 0.98, 0.1],
            &[Negative, Negative, Neutral, Positive],
            &[0.97],
        );
        assert_eq!(rates, vec![(0.97, [0.5, 1.0, 0.0])]);
    }

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

    #[test]
    fn macro_recall_averages_the_classes() {
        use SentimentLabel::*;
        let truth = [Negative, Negative, Neutral, Positive];
        let predicted = [Negative, Neutral, Neutral, Positive];
        let (macro_recall, accuracy, per) = sentiment_scores(&predicted, &truth);
        assert_eq!(per, [0.5, 1.0, 1.0]);
        assert!((macro_recall - 2.5 / 3.0).abs() < 1e-9);
        assert!((accuracy - 0.75).abs() < 1e-9);
    }
}

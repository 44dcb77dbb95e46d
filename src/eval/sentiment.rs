//! Sentiment figures on public datasets (`frontdesk eval sentiment`):
//! the shipped model scored on a labelled test set, and how often a
//! negative-probability threshold fires per true class.

use std::path::Path;

use anyhow::{bail, Context};

use crate::nlu::SentimentLabel;

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

//! An intent classifier trained from example embeddings in seconds.
//!
//! Multinomial logistic regression over the (L2-normalised) sentence
//! embeddings, trained by full-batch gradient descent with Adam and L2
//! weight decay. It also keeps the examples themselves: the similarity of
//! a text to its nearest example of the predicted intent is an
//! out-of-scope signal, next to the predicted probability and the text's
//! distance from that intent (`nlu::scope`).

use serde::{Deserialize, Serialize};

use super::dot;
use super::scope::Scope;

/// First bytes of a classifier written by [`Classifier::to_bytes`]; a new
/// layout gets a new one, so older bytes are refused and trained again.
const FORMAT: &[u8; 8] = b"intents2";

/// Training settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Training {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    /// Logits are multiplied by this before the softmax: the embeddings are
    /// unit vectors, so the weights alone would need many epochs to grow.
    pub scale: f32,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            epochs: 150,
            learning_rate: 0.05,
            l2: 1e-4,
            scale: 10.0,
        }
    }
}

/// A trained classifier.
#[derive(Debug, Clone)]
pub(crate) struct Classifier {
    dim: usize,
    classes: usize,
    /// `classes × dim`, row-major.
    weights: Vec<f32>,
    bias: Vec<f32>,
    scale: f32,
    /// Training examples (`n × dim`) and their class, for the nearest-
    /// example similarity.
    examples: Vec<f32>,
    labels: Vec<usize>,
    /// `None` when the examples have no spread to measure distances by.
    scope: Option<Scope>,
}

/// A prediction: the best class, its probability, the cosine similarity
/// of the text to the nearest example of that class, and its distance from
/// that class in units of a typical example (0 when the classifier has no
/// `Scope`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub probability: f32,
    pub similarity: f32,
    pub distance: f32,
}

fn softmax_in_place(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

impl Classifier {
    /// Train on `examples` (`labels.len() × dim`, row-major) with labels
    /// `0..classes`.
    pub(crate) fn train(
        examples: Vec<f32>,
        labels: Vec<usize>,
        classes: usize,
        dim: usize,
        t: Training,
    ) -> Self {
        let n = labels.len();
        debug_assert_eq!(examples.len(), n * dim, "one embedding per label");
        let mut weights = vec![0.0f32; classes * dim];
        let mut bias = vec![0.0f32; classes];
        let (mut mw, mut vw) = (vec![0.0f32; weights.len()], vec![0.0f32; weights.len()]);
        let (mut mb, mut vb) = (vec![0.0f32; classes], vec![0.0f32; classes]);
        let (beta1, beta2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let mut grad_w = vec![0.0f32; weights.len()];
        let mut grad_b = vec![0.0f32; classes];
        let mut logits = vec![0.0f32; classes];
        for epoch in 1..=t.epochs {
            grad_w.iter_mut().for_each(|g| *g = 0.0);
            grad_b.iter_mut().for_each(|g| *g = 0.0);
            for (i, &label) in labels.iter().enumerate() {
                let x = &examples[i * dim..(i + 1) * dim];
                for (c, l) in logits.iter_mut().enumerate() {
                    *l = t.scale * (dot(&weights[c * dim..(c + 1) * dim], x) + bias[c]);
                }
                softmax_in_place(&mut logits);
                for (c, &p) in logits.iter().enumerate() {
                    let err = t.scale * (p - if c == label { 1.0 } else { 0.0 }) / n as f32;
                    if err.abs() < 1e-9 {
                        continue;
                    }
                    grad_b[c] += err;
                    for (g, xv) in grad_w[c * dim..(c + 1) * dim].iter_mut().zip(x) {
                        *g += err * xv;
                    }
                }
            }
            for (g, w) in grad_w.iter_mut().zip(&weights) {
                *g += t.l2 * w;
            }
            let (c1, c2) = (
                1.0 - beta1.powi(epoch as i32),
                1.0 - beta2.powi(epoch as i32),
            );
            let adam = |p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]| {
                for i in 0..p.len() {
                    m[i] = beta1 * m[i] + (1.0 - beta1) * g[i];
                    v[i] = beta2 * v[i] + (1.0 - beta2) * g[i] * g[i];
                    p[i] -= t.learning_rate * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
                }
            };
            adam(&mut weights, &grad_w, &mut mw, &mut vw);
            adam(&mut bias, &grad_b, &mut mb, &mut vb);
        }
        let scope = Scope::fit(&examples, &labels, classes, dim);
        Self {
            dim,
            classes,
            weights,
            bias,
            scale: t.scale,
            examples,
            labels,
            scope,
        }
    }

    /// Whether predictions measure their distance from the intent.
    pub(crate) fn measures_distance(&self) -> bool {
        self.scope.is_some()
    }

    /// The classifier as bytes, for the cache: [`FORMAT`], then
    /// little-endian `dim`, `classes`, example count, `scale`, weights,
    /// bias, labels, examples, and 1 with the `Scope` or 0 without.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 * (5 + self.weights.len() + self.examples.len()));
        out.extend(FORMAT);
        let mut u32_ = |v: usize| out.extend((v as u32).to_le_bytes());
        u32_(self.dim);
        u32_(self.classes);
        u32_(self.labels.len());
        out.extend(self.scale.to_le_bytes());
        for v in self.weights.iter().chain(&self.bias) {
            out.extend(v.to_le_bytes());
        }
        for &l in &self.labels {
            out.extend((l as u32).to_le_bytes());
        }
        for v in &self.examples {
            out.extend(v.to_le_bytes());
        }
        out.extend(u32::from(self.scope.is_some()).to_le_bytes());
        if let Some(scope) = &self.scope {
            scope.write(&mut out);
        }
        out
    }

    /// The classifier written by [`Classifier::to_bytes`], or `None` when
    /// the bytes do not hold one of `classes` classes over `dim`.
    pub(crate) fn from_bytes(bytes: &[u8], dim: usize, classes: usize) -> Option<Self> {
        let bytes = bytes.strip_prefix(FORMAT)?;
        let mut words = bytes.chunks_exact(4).map(|w| [w[0], w[1], w[2], w[3]]);
        if !bytes.len().is_multiple_of(4) {
            return None;
        }
        let next_u32 = |words: &mut dyn Iterator<Item = [u8; 4]>| {
            words.next().map(|w| u32::from_le_bytes(w) as usize)
        };
        let (d, c, n) = (
            next_u32(&mut words)?,
            next_u32(&mut words)?,
            next_u32(&mut words)?,
        );
        let without_scope = 4 * (5 + c * d + c + n + n * d);
        if d != dim
            || c != classes
            || ![without_scope, without_scope + Scope::byte_len(d, c)].contains(&bytes.len())
        {
            return None;
        }
        let floats = |k: usize, words: &mut dyn Iterator<Item = [u8; 4]>| -> Vec<f32> {
            words.take(k).map(f32::from_le_bytes).collect()
        };
        let scale = floats(1, &mut words)[0];
        let weights = floats(c * d, &mut words);
        let bias = floats(c, &mut words);
        let labels: Vec<usize> = (&mut words)
            .take(n)
            .map(|w| u32::from_le_bytes(w) as usize)
            .collect();
        let examples = floats(n * d, &mut words);
        let scope = match next_u32(&mut words)? {
            0 => None,
            1 => Some(Scope::read(&mut words, d, c)?),
            _ => return None,
        };
        if words.next().is_some() {
            return None;
        }
        let finite = weights
            .iter()
            .chain(&bias)
            .chain(&examples)
            .all(|v| v.is_finite());
        (finite && scale.is_finite() && labels.iter().all(|&l| l < c)).then_some(Self {
            dim,
            classes,
            weights,
            bias,
            scale,
            examples,
            labels,
            scope,
        })
    }

    /// Class probabilities for one embedding.
    pub(crate) fn probabilities(&self, x: &[f32]) -> Vec<f32> {
        let mut logits: Vec<f32> = (0..self.classes)
            .map(|c| {
                self.scale
                    * (dot(&self.weights[c * self.dim..(c + 1) * self.dim], x) + self.bias[c])
            })
            .collect();
        softmax_in_place(&mut logits);
        logits
    }

    pub(crate) fn predict(&self, x: &[f32]) -> Prediction {
        let p = self.probabilities(x);
        let (class, probability) =
            p.iter()
                .copied()
                .enumerate()
                .fold(
                    (0, f32::MIN),
                    |best, (c, v)| if v > best.1 { (c, v) } else { best },
                );
        let similarity = self
            .labels
            .iter()
            .enumerate()
            .filter(|(_, &l)| l == class)
            .map(|(i, _)| dot(&self.examples[i * self.dim..(i + 1) * self.dim], x))
            .fold(f32::MIN, f32::max);
        let distance = self.scope.as_ref().map_or(0.0, |s| s.distance(x, class));
        Prediction {
            class,
            probability,
            similarity,
            distance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: [f32; 3]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// Three classes of three examples around three corners.
    fn corners() -> Classifier {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for (class, centre) in [[1.0, 0.1, 0.0], [0.0, 1.0, 0.1], [0.1, 0.0, 1.0]]
            .into_iter()
            .enumerate()
        {
            for jitter in [0.0, 0.1, 0.2] {
                xs.extend(unit([
                    centre[0] + jitter,
                    centre[1],
                    centre[2] + jitter / 2.0,
                ]));
                ys.push(class);
            }
        }
        Classifier::train(xs, ys, 3, 3, Training::default())
    }

    #[test]
    fn separable_classes_are_learned() {
        let c = corners();
        let p = c.predict(&unit([0.05, 0.9, 0.1]));
        assert_eq!(p.class, 1);
        assert!(p.probability > 0.8, "{p:?}");
        assert!(p.similarity > 0.9, "{p:?}");
        assert!(p.distance < 1.0, "{p:?}");
        // Between the corners: the best class is far.
        let between = c.predict(&unit([1.0, 1.0, 1.0]));
        assert!(between.distance > 2.0, "{between:?}");
        let total: f32 = c.probabilities(&unit([1.0, 1.0, 1.0])).iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
    }

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        let xs: Vec<f32> = [unit([1.0, 0.0, 0.2]), unit([0.0, 1.0, 0.3])].concat();
        let c = Classifier::train(xs, vec![0, 1], 2, 3, Training::default());
        let bytes = c.to_bytes();
        let back = Classifier::from_bytes(&bytes, 3, 2).expect("round trip");
        let x = unit([0.3, 0.8, 0.1]);
        assert_eq!(back.predict(&x), c.predict(&x));
        assert!(
            Classifier::from_bytes(&bytes, 3, 3).is_none(),
            "other classes"
        );
        assert!(Classifier::from_bytes(&bytes[..bytes.len() - 4], 3, 2).is_none());
        let mut nan = bytes.clone();
        nan[24..28].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Classifier::from_bytes(&nan, 3, 2).is_none());
        let mut longer = bytes.clone();
        longer.extend(1.0f32.to_le_bytes());
        assert!(Classifier::from_bytes(&longer, 3, 2).is_none());
        assert!(
            Classifier::from_bytes(&bytes[FORMAT.len()..], 3, 2).is_none(),
            "the layout before distances"
        );
    }

    #[test]
    fn the_scope_travels_in_the_bytes() {
        let c = corners();
        assert!(c.measures_distance());
        let bytes = c.to_bytes();
        let back = Classifier::from_bytes(&bytes, 3, 3).expect("round trip");
        let x = unit([0.4, 0.5, 0.2]);
        assert_eq!(back.predict(&x), c.predict(&x));
        let mut flag_off = bytes.clone();
        let flag = bytes.len() - Scope::byte_len(3, 3) - 4;
        flag_off[flag..flag + 4].copy_from_slice(&0u32.to_le_bytes());
        assert!(Classifier::from_bytes(&flag_off, 3, 3).is_none());
        let mut typical = bytes;
        typical[flag + 4..flag + 8].copy_from_slice(&0.0f32.to_le_bytes());
        assert!(Classifier::from_bytes(&typical, 3, 3).is_none());
    }
}

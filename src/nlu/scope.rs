//! How far a text lies from the intent it looks most like: the Mahalanobis
//! distance of its embedding to the mean of that intent's examples, under
//! one covariance shared by all intents.
//!
//! The covariance is estimated from the examples' deviations from their
//! intent's mean and shrunk towards a multiple of the identity: with tens
//! of examples per intent in 384 dimensions the raw estimate is singular,
//! and on CLINC150's validation split heavy shrinkage separated
//! out-of-scope queries best (docs/quality.md). Distances are measured in
//! units of a typical example: 1 is the root mean square distance of an
//! example from the mean of the other examples of its intent, so a
//! threshold means the same for a few intents with thirty examples each as
//! for many with a hundred.

/// Weight of the identity in the shrunk covariance, `(1 − a)·S + a·tr(S)/d·I`.
const SHRINKAGE: f64 = 0.9;

/// The intents' spread, fitted on their example embeddings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scope {
    dim: usize,
    /// `L⁻¹` where the shrunk covariance is `L·Lᵀ`, lower triangle packed
    /// by rows (row `i` is `i + 1` values).
    whitening: Vec<f32>,
    /// `classes × dim`: each intent's mean, whitened.
    means: Vec<f32>,
    /// Mean squared whitened distance of an example from the mean of the
    /// other examples of its intent.
    typical: f32,
}

impl Scope {
    /// Fit on `examples` (`labels.len() × dim`, row-major) with labels
    /// `0..classes`; `None` when they have no spread to measure by (no
    /// intent has two different examples).
    pub(crate) fn fit(
        examples: &[f32],
        labels: &[usize],
        classes: usize,
        dim: usize,
    ) -> Option<Self> {
        let mut counts = vec![0usize; classes];
        let mut means = vec![0.0f64; classes * dim];
        for (x, &label) in examples.chunks_exact(dim).zip(labels) {
            counts[label] += 1;
            for (m, v) in means[label * dim..(label + 1) * dim].iter_mut().zip(x) {
                *m += f64::from(*v);
            }
        }
        for (mean, &n) in means.chunks_exact_mut(dim).zip(&counts) {
            mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        }
        let residual = |i: usize| -> Vec<f64> {
            let mean = &means[labels[i] * dim..(labels[i] + 1) * dim];
            examples[i * dim..(i + 1) * dim]
                .iter()
                .zip(mean)
                .map(|(v, m)| f64::from(*v) - m)
                .collect()
        };
        // Lower triangle of the pooled within-intent covariance.
        let mut covariance = vec![0.0f64; dim * dim];
        for i in 0..labels.len() {
            let r = residual(i);
            for (row, &ri) in r.iter().enumerate() {
                for (c, &rj) in covariance[row * dim..row * dim + row + 1]
                    .iter_mut()
                    .zip(&r)
                {
                    *c += ri * rj;
                }
            }
        }
        let freedom = labels.len().checked_sub(classes).filter(|&f| f > 0)?;
        let trace: f64 = (0..dim).map(|i| covariance[i * dim + i]).sum::<f64>() / freedom as f64;
        for row in 0..dim {
            for c in &mut covariance[row * dim..row * dim + row + 1] {
                *c *= (1.0 - SHRINKAGE) / freedom as f64;
            }
            covariance[row * dim + row] += SHRINKAGE * trace / dim as f64;
        }
        let whitening = inverse_cholesky(&covariance, dim)?;
        let whiten = |v: &[f64]| -> Vec<f64> {
            (0..dim)
                .map(|row| {
                    let w = &whitening[row * (row + 1) / 2..][..row + 1];
                    w.iter().zip(v).map(|(a, b)| a * b).sum()
                })
                .collect()
        };
        let (mut total, mut measured) = (0.0f64, 0usize);
        for i in 0..labels.len() {
            let n = counts[labels[i]];
            if n < 2 {
                continue;
            }
            // Leaving an example out of its mean moves the mean away from
            // it: its distance grows by n / (n − 1).
            let stretch = n as f64 / (n - 1) as f64;
            let z = whiten(&residual(i));
            total += z.iter().map(|v| v * v).sum::<f64>() * stretch * stretch;
            measured += 1;
        }
        let typical = total / measured.max(1) as f64;
        if !(typical.is_finite() && typical > 0.0) {
            return None;
        }
        let means = means.chunks_exact(dim).flat_map(whiten).map(|v| v as f32);
        Some(Self {
            dim,
            whitening: whitening.iter().map(|&v| v as f32).collect(),
            means: means.collect(),
            typical: typical as f32,
        })
    }

    /// The distance of embedding `x` from intent `class`, in units of a
    /// typical example of an intent (see the module documentation).
    pub(crate) fn distance(&self, x: &[f32], class: usize) -> f32 {
        let mean = &self.means[class * self.dim..(class + 1) * self.dim];
        let mut squared = 0.0f32;
        for (row, m) in mean.iter().enumerate() {
            let w = &self.whitening[row * (row + 1) / 2..][..row + 1];
            let z = super::dot(w, &x[..=row]);
            squared += (z - m) * (z - m);
        }
        (squared / self.typical).sqrt()
    }

    /// Append the scope to `out`, little-endian: `typical`, the whitening
    /// triangle, the whitened means.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend(self.typical.to_le_bytes());
        for v in self.whitening.iter().chain(&self.means) {
            out.extend(v.to_le_bytes());
        }
    }

    /// The scope [`Scope::write`] wrote for `classes` intents over `dim`,
    /// or `None` when `words` do not hold one.
    pub(crate) fn read(
        words: &mut dyn Iterator<Item = [u8; 4]>,
        dim: usize,
        classes: usize,
    ) -> Option<Self> {
        let mut floats = |k: usize| -> Option<Vec<f32>> {
            let v: Vec<f32> = words.take(k).map(f32::from_le_bytes).collect();
            (v.len() == k && v.iter().all(|x| x.is_finite())).then_some(v)
        };
        let typical = floats(1)?[0];
        let whitening = floats(dim * (dim + 1) / 2)?;
        let means = floats(classes * dim)?;
        (typical > 0.0).then_some(Self {
            dim,
            whitening,
            means,
            typical,
        })
    }

    /// Bytes [`Scope::write`] writes for `classes` intents over `dim`.
    pub(crate) fn byte_len(dim: usize, classes: usize) -> usize {
        4 * (1 + dim * (dim + 1) / 2 + classes * dim)
    }
}

/// `L⁻¹` for the lower triangle of a symmetric positive definite `a`
/// (`dim × dim`, row-major) with `a = L·Lᵀ`, packed by rows; `None` when
/// `a` is not positive definite.
fn inverse_cholesky(a: &[f64], dim: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0f64; dim * dim];
    for i in 0..dim {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * dim + k] * l[j * dim + k]).sum();
            let v = a[i * dim + j] - dot;
            if i == j {
                if v.is_nan() || v <= 0.0 {
                    return None;
                }
                l[i * dim + i] = v.sqrt();
            } else {
                l[i * dim + j] = v / l[j * dim + j];
            }
        }
    }
    // Forward substitution, one column of the identity at a time.
    let mut inverse = vec![0.0f64; dim * (dim + 1) / 2];
    for col in 0..dim {
        for row in col..dim {
            let known: f64 = (col..row)
                .map(|k| l[row * dim + k] * inverse[k * (k + 1) / 2 + col])
                .sum();
            let identity = if row == col { 1.0 } else { 0.0 };
            inverse[row * (row + 1) / 2 + col] = (identity - known) / l[row * dim + row];
        }
    }
    Some(inverse)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two intents in three dimensions, spread along the first axis.
    fn two_intents() -> (Vec<f32>, Vec<usize>) {
        let examples = [
            [1.0, 3.0, 0.0],
            [-1.0, 3.0, 0.0],
            [2.0, 3.0, 0.1],
            [-2.0, 3.0, -0.1],
            [1.0, -3.0, 0.1],
            [-1.0, -3.0, -0.1],
            [2.0, -3.0, 0.0],
            [-2.0, -3.0, 0.0],
        ];
        (examples.concat(), vec![0, 0, 0, 0, 1, 1, 1, 1])
    }

    #[test]
    fn the_mean_is_near_far_points_are_far() {
        let (x, y) = two_intents();
        let scope = Scope::fit(&x, &y, 2, 3).expect("spread to measure by");
        assert!(scope.distance(&[0.0, 3.0, 0.0], 0) < 0.01);
        assert!(scope.distance(&[0.0, -3.0, 0.0], 1) < 0.01);
        // Each example is a typical distance from the mean of the other
        // three, so (4 − 1) / 4 of it from the mean of all four.
        let own: Vec<f32> = x
            .chunks(3)
            .zip(&y)
            .map(|(e, &c)| scope.distance(e, c))
            .collect();
        let rms = (own.iter().map(|d| d * d).sum::<f32>() / own.len() as f32).sqrt();
        assert!((rms - 0.75).abs() < 1e-3, "{own:?}");
        // Along the spread a step costs less than across it.
        let along = scope.distance(&[2.0, 3.0, 0.0], 0);
        let across = scope.distance(&[0.0, 3.0, 2.0], 0);
        assert!(across > 1.1 * along, "{along} {across}");
        // The other intent's mean, and a point away from both, are far.
        assert!(scope.distance(&[0.0, -3.0, 0.0], 0) > 3.0);
        assert!(scope.distance(&[0.0, 0.0, 5.0], 0) > 3.0);
    }

    #[test]
    fn the_shrunk_covariance_is_whitened_exactly() {
        let a = [4.0, 0.0, 0.0, 2.0, 3.0, 0.0, 1.0, 0.5, 2.0];
        let w = inverse_cholesky(&a, 3).expect("positive definite");
        let full = |i: usize, j: usize| if j <= i { w[i * (i + 1) / 2 + j] } else { 0.0 };
        let sym = |i: usize, j: usize| if j <= i { a[i * 3 + j] } else { a[j * 3 + i] };
        // W·A·Wᵀ = I
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3)
                    .flat_map(|k| (0..3).map(move |l| (k, l)))
                    .map(|(k, l)| full(i, k) * sym(k, l) * full(j, l))
                    .sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((v - want).abs() < 1e-9, "({i},{j}) {v}");
            }
        }
        assert!(inverse_cholesky(&[1.0, 0.0, 2.0, -1.0], 2).is_none());
    }

    #[test]
    fn no_spread_no_scope() {
        let x = [[1.0, 0.0], [0.0, 1.0]].concat();
        assert!(Scope::fit(&x, &[0, 1], 2, 2).is_none(), "one example each");
        let x = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]].concat();
        assert!(Scope::fit(&x, &[0, 0, 1], 2, 2).is_none(), "the same twice");
    }

    #[test]
    fn bytes_round_trip_and_damage_is_refused() {
        let (x, y) = two_intents();
        let scope = Scope::fit(&x, &y, 2, 3).expect("fitted");
        let mut bytes = Vec::new();
        scope.write(&mut bytes);
        assert_eq!(bytes.len(), Scope::byte_len(3, 2));
        let words = |b: &[u8]| {
            b.chunks_exact(4)
                .map(|w| [w[0], w[1], w[2], w[3]])
                .collect::<Vec<_>>()
        };
        let back = Scope::read(&mut words(&bytes).into_iter(), 3, 2).expect("round trip");
        assert_eq!(back, scope);
        assert!(Scope::read(&mut words(&bytes[..bytes.len() - 4]).into_iter(), 3, 2).is_none());
        let mut nan = bytes.clone();
        nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Scope::read(&mut words(&nan).into_iter(), 3, 2).is_none());
        let mut negative = bytes;
        negative[..4].copy_from_slice(&(-1.0f32).to_le_bytes());
        assert!(Scope::read(&mut words(&negative).into_iter(), 3, 2).is_none());
    }
}

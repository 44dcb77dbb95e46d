//! 8-bit codes of unit vectors: one byte per dimension and one scale per
//! vector, the largest component mapped to ±127. The dot product of two
//! codes stays within about a hundredth of the vectors' own, at a quarter
//! of the memory to read: what a graph search over tens of thousands of
//! texts waits on.

/// One vector's code.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Code {
    bytes: Vec<i8>,
    /// What turns a byte back into a value.
    scale: f32,
}

impl Code {
    pub(super) fn of(v: &[f32]) -> Self {
        let largest = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        if largest == 0.0 || !largest.is_finite() {
            return Self {
                bytes: vec![0; v.len()],
                scale: 0.0,
            };
        }
        let to_byte = 127.0 / largest;
        Self {
            bytes: v
                .iter()
                .map(|x| (x * to_byte).round().clamp(-127.0, 127.0) as i8)
                .collect(),
            scale: largest / 127.0,
        }
    }

    /// The dot product of the two vectors, from their codes.
    #[cfg(test)]
    fn dot(&self, other: &Code) -> f32 {
        dot(&self.bytes, &other.bytes) as f32 * self.scale * other.scale
    }
}

/// The codes of numbered slots.
#[derive(Debug, Clone)]
pub(super) struct Codes {
    dim: usize,
    /// `dim` bytes per slot.
    bytes: Vec<i8>,
    scales: Vec<f32>,
}

impl Codes {
    pub(super) fn new(dim: usize) -> Self {
        Self {
            dim,
            bytes: Vec::new(),
            scales: Vec::new(),
        }
    }

    /// The codes of `vectors`, `dim` values per slot.
    pub(super) fn of_all(dim: usize, vectors: &[f32]) -> Self {
        let mut codes = Self::new(dim);
        for (slot, v) in vectors.chunks_exact(dim).enumerate() {
            codes.set(slot as u32, v);
        }
        codes
    }

    /// Code `v` into `slot`, which is either taken or the next one.
    pub(super) fn set(&mut self, slot: u32, v: &[f32]) {
        let Code { bytes, scale } = Code::of(v);
        let start = slot as usize * self.dim;
        if start == self.bytes.len() {
            self.bytes.extend(bytes);
            self.scales.push(scale);
        } else {
            self.bytes[start..start + self.dim].copy_from_slice(&bytes);
            self.scales[slot as usize] = scale;
        }
    }

    /// The dot product of `query`'s vector with `slot`'s, from their codes.
    pub(super) fn dot(&self, query: &Code, slot: u32) -> f32 {
        let start = slot as usize * self.dim;
        let bytes = &self.bytes[start..start + self.dim];
        dot(&query.bytes, bytes) as f32 * query.scale * self.scales[slot as usize]
    }
}

/// Dot product of two codes' bytes, in sixteen independent sums so the
/// compiler vectorises it.
fn dot(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 16];
    let (ca, cb) = (a.chunks_exact(16), b.chunks_exact(16));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..16 {
            acc[i] += i32::from(x[i]) * i32::from(y[i]);
        }
    }
    acc.iter().sum::<i32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faq::semantic::hnsw::tests::random_unit;
    use crate::nlu::dot as dot_f32;

    #[test]
    fn codes_keep_the_similarity_to_within_a_hundredth() {
        let mut rng = 11;
        for _ in 0..200 {
            let (a, b) = (random_unit(&mut rng, 384), random_unit(&mut rng, 384));
            let coded = Code::of(&a).dot(&Code::of(&b));
            assert!(
                (coded - dot_f32(&a, &b)).abs() < 0.01,
                "{coded} vs {}",
                dot_f32(&a, &b)
            );
        }
        assert_eq!(
            Code::of(&[0.0; 4]),
            Code {
                bytes: vec![0; 4],
                scale: 0.0
            }
        );
    }

    #[test]
    fn a_slot_is_coded_again_in_place() {
        let mut rng = 3;
        let (a, b) = (random_unit(&mut rng, 32), random_unit(&mut rng, 32));
        let mut codes = Codes::of_all(32, &[a.clone(), a.clone()].concat());
        codes.set(0, &b);
        let query = Code::of(&b);
        assert_eq!(codes.dot(&query, 0), query.dot(&Code::of(&b)));
        assert_eq!(codes.dot(&query, 1), query.dot(&Code::of(&a)));
    }
}

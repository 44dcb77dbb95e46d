//! Editing the graph: inserting a node, linked to its nearest neighbours
//! by the exact vectors, and removing one, its neighbours relinked among
//! themselves.

use super::search::Exact;
use super::{dot, Found, Hnsw, M};

/// Candidates kept while inserting a node.
const EF_CONSTRUCTION: usize = 100;
/// Highest level a node can get; never reached in practice.
const MAX_LEVEL: usize = 16;

impl Hnsw {
    fn random_level(&mut self) -> usize {
        // xorshift; level = floor(-ln(U) / ln(M)).
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let u = ((self.rng >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        ((-u.ln() / (M as f64).ln()) as usize).min(MAX_LEVEL)
    }

    /// Add a vector (of length `dim`, unit length); returns its slot.
    pub(crate) fn insert(&mut self, vector: &[f32]) -> u32 {
        assert_eq!(vector.len(), self.dim, "vector width");
        let level = self.random_level();
        let slot = match self.free.pop() {
            Some(slot) => {
                let start = slot as usize * self.dim;
                self.vectors[start..start + self.dim].copy_from_slice(vector);
                slot
            }
            None => {
                self.vectors.extend_from_slice(vector);
                self.links.push(None);
                (self.links.len() - 1) as u32
            }
        };
        self.codes.set(slot, vector);
        let Some(entry) = self.entry else {
            self.links[slot as usize] = Some(vec![Vec::new(); level + 1]);
            self.entry = Some(slot);
            return slot;
        };
        let top = self.level_of(entry);
        let mut nearest = Found {
            slot: entry,
            similarity: self.similarity(vector, entry),
        };
        for l in (level + 1..=top).rev() {
            nearest = self.greedy(&Exact(vector), nearest, l);
        }
        let mut own: Vec<Vec<u32>> = vec![Vec::new(); level + 1];
        let mut seeds = vec![nearest];
        for l in (0..=level.min(top)).rev() {
            let candidates = self.search_layer(&Exact(vector), &seeds, EF_CONSTRUCTION, l);
            own[l] = self.select(&candidates, max_links(l));
            seeds = candidates;
        }
        self.links[slot as usize] = Some(own.clone());
        for (l, neighbours) in own.iter().enumerate() {
            for &n in neighbours {
                self.link(n, slot, l);
            }
        }
        if level > top {
            self.entry = Some(slot);
        }
        slot
    }

    /// Add `to` to `from`'s links on level `l`, pruning them if full.
    fn link(&mut self, from: u32, to: u32, l: usize) {
        let Some(Some(levels)) = self.links.get_mut(from as usize) else {
            return;
        };
        let Some(list) = levels.get_mut(l) else {
            return;
        };
        if list.contains(&to) {
            return;
        }
        list.push(to);
        if list.len() <= max_links(l) {
            return;
        }
        let list = list.clone();
        self.set_links(from, l, list);
    }

    /// Choose the best links for `node` on level `l` among `candidates`.
    fn set_links(&mut self, node: u32, l: usize, candidates: Vec<u32>) {
        let base = self.vector(node).to_vec();
        let mut scored: Vec<Found> = candidates
            .into_iter()
            .filter(|&c| c != node && self.live(c))
            .map(|c| Found {
                slot: c,
                similarity: self.similarity(&base, c),
            })
            .collect();
        scored.sort_unstable_by(|a, b| b.cmp(a));
        scored.dedup_by_key(|f| f.slot);
        let chosen = self.select(&scored, max_links(l));
        if let Some(Some(levels)) = self.links.get_mut(node as usize) {
            levels[l] = chosen;
        }
    }

    /// The neighbour-selection heuristic: walk the candidates (best
    /// first) and keep one only if it is closer to the base than to every
    /// one kept so far, which spreads links across directions; fill the
    /// remaining places with the best of the rest.
    fn select(&self, candidates: &[Found], max: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(max);
        let mut skipped = Vec::new();
        for c in candidates {
            if kept.len() == max {
                break;
            }
            let v = self.vector(c.slot);
            if kept.iter().all(|&k| dot(v, self.vector(k)) < c.similarity) {
                kept.push(c.slot);
            } else {
                skipped.push(c.slot);
            }
        }
        for s in skipped {
            if kept.len() == max {
                break;
            }
            kept.push(s);
        }
        kept
    }

    /// Remove a node; its neighbours are relinked among themselves.
    pub(crate) fn remove(&mut self, slot: u32) {
        let Some(Some(levels)) = self.links.get_mut(slot as usize).map(Option::take) else {
            return;
        };
        self.free.push(slot);
        for (l, neighbours) in levels.iter().enumerate() {
            for &n in neighbours {
                let Some(Some(theirs)) = self.links.get(n as usize) else {
                    continue;
                };
                let Some(list) = theirs.get(l) else { continue };
                if !list.contains(&slot) {
                    continue;
                }
                let mut candidates: Vec<u32> =
                    list.iter().copied().filter(|&x| x != slot).collect();
                candidates.extend(neighbours.iter().copied().filter(|&x| x != n));
                self.set_links(n, l, candidates);
            }
        }
        if self.entry == Some(slot) {
            self.entry = (0..self.links.len() as u32)
                .filter(|&s| self.live(s))
                .max_by_key(|&s| self.level_of(s));
        }
    }
}

fn max_links(level: usize) -> usize {
    if level == 0 {
        2 * M
    } else {
        M
    }
}

//! A small HNSW graph (Malkov & Yashunin, 2016) over unit vectors,
//! ranked by dot product (the cosine similarity of unit vectors).
//!
//! Nodes live in numbered slots; a removed node's slot is freed and reused
//! by a later insert. Removal repairs the links of the removed node's
//! neighbours from its own neighbours, so the graph stays navigable under
//! edits; a link left pointing at a freed slot is skipped by searches.
//! The graph is a plain value: the caller provides the locking (searches
//! take `&self`, edits `&mut self`).
//!
//! A search walks the graph on 8-bit codes of the vectors
//! ([`super::codes`]), a quarter of the memory to read per visited node.
//! The nodes it keeps are then scored again exactly, so
//! the similarities it returns are the vectors' own. Building the graph
//! uses the exact vectors throughout.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::codes::{Code, Codes};

/// Links per node on the upper levels; twice as many on level 0.
pub(crate) const M: usize = 16;
/// Candidates kept while inserting a node.
const EF_CONSTRUCTION: usize = 100;
/// Highest level a node can get; never reached in practice.
const MAX_LEVEL: usize = 16;

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

/// How a walk through the graph scores a node against its query.
trait Score {
    fn score(&self, graph: &Hnsw, slot: u32) -> f32;
}

/// With the exact vectors: for building the graph.
struct Exact<'a>(&'a [f32]);

impl Score for Exact<'_> {
    fn score(&self, graph: &Hnsw, slot: u32) -> f32 {
        graph.similarity(self.0, slot)
    }
}

/// With the 8-bit codes: for searching it.
impl Score for Code {
    fn score(&self, graph: &Hnsw, slot: u32) -> f32 {
        graph.codes.dot(self, slot)
    }
}

/// A node found by a search: its slot and its similarity to the query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Found {
    pub slot: u32,
    pub similarity: f32,
}

impl Eq for Found {}
impl Ord for Found {
    fn cmp(&self, other: &Self) -> Ordering {
        self.similarity
            .total_cmp(&other.similarity)
            .then(other.slot.cmp(&self.slot))
    }
}
impl PartialOrd for Found {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The graph. `links[slot]` is `None` for a free slot, else the node's
/// neighbour lists, one per level from 0 up to its own level.
#[derive(Debug, Clone)]
pub(crate) struct Hnsw {
    dim: usize,
    vectors: Vec<f32>,
    /// Each slot's vector as an 8-bit code, for searches.
    codes: Codes,
    links: Vec<Option<Vec<Vec<u32>>>>,
    free: Vec<u32>,
    entry: Option<u32>,
    rng: u64,
}

impl Hnsw {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            dim,
            vectors: Vec::new(),
            codes: Codes::new(dim),
            links: Vec::new(),
            free: Vec::new(),
            entry: None,
            rng: 0x2545_F491_4F6C_DD1D,
        }
    }

    /// Rebuild a graph from saved parts; the caller has checked that
    /// every link names a slot below `links.len()`.
    pub(crate) fn from_parts(
        dim: usize,
        vectors: Vec<f32>,
        links: Vec<Option<Vec<Vec<u32>>>>,
        entry: Option<u32>,
    ) -> Self {
        let free = (0..links.len() as u32)
            .rev()
            .filter(|&s| links[s as usize].is_none())
            .collect();
        Self {
            dim,
            codes: Codes::of_all(dim, &vectors),
            vectors,
            links,
            free,
            entry,
            rng: 0x2545_F491_4F6C_DD1D,
        }
    }

    /// Number of slots, used or free.
    pub(crate) fn slots(&self) -> usize {
        self.links.len()
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.links.len() - self.free.len()
    }

    pub(crate) fn entry(&self) -> Option<u32> {
        self.entry
    }

    /// The neighbour lists of a node, or `None` for a free slot.
    pub(crate) fn links(&self, slot: u32) -> Option<&[Vec<u32>]> {
        self.links.get(slot as usize)?.as_deref()
    }

    pub(crate) fn vector(&self, slot: u32) -> &[f32] {
        let start = slot as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    fn live(&self, slot: u32) -> bool {
        matches!(self.links.get(slot as usize), Some(Some(_)))
    }

    fn similarity(&self, query: &[f32], slot: u32) -> f32 {
        dot(query, self.vector(slot))
    }

    fn level_of(&self, slot: u32) -> usize {
        self.links[slot as usize]
            .as_ref()
            .map_or(0, |l| l.len() - 1)
    }

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

    /// Greedy walk to the node closest to `query` on level `l`.
    fn greedy(&self, query: &impl Score, mut best: Found, l: usize) -> Found {
        loop {
            let mut moved = false;
            if let Some(list) = self.links(best.slot).and_then(|ls| ls.get(l)) {
                for &n in list {
                    if !self.live(n) {
                        continue;
                    }
                    let s = query.score(self, n);
                    if s > best.similarity {
                        best = Found {
                            slot: n,
                            similarity: s,
                        };
                        moved = true;
                    }
                }
            }
            if !moved {
                return best;
            }
        }
    }

    /// Best-first search on level `l` from `seeds`, keeping the `ef` best
    /// nodes; returns them best first.
    fn search_layer(&self, query: &impl Score, seeds: &[Found], ef: usize, l: usize) -> Vec<Found> {
        let mut visited = vec![0u64; self.links.len().div_ceil(64)];
        let mut visit = |s: u32| {
            let (w, b) = (s as usize / 64, 1u64 << (s % 64));
            let new = visited[w] & b == 0;
            visited[w] |= b;
            new
        };
        let mut frontier: BinaryHeap<Found> = BinaryHeap::new();
        let mut best: BinaryHeap<Reverse<Found>> = BinaryHeap::new();
        for &s in seeds {
            if visit(s.slot) {
                frontier.push(s);
                best.push(Reverse(s));
            }
        }
        while best.len() > ef {
            best.pop();
        }
        while let Some(c) = frontier.pop() {
            if best.len() >= ef && best.peek().is_some_and(|w| c.similarity < w.0.similarity) {
                break;
            }
            let Some(list) = self.links(c.slot).and_then(|ls| ls.get(l)) else {
                continue;
            };
            for &n in list {
                if !self.live(n) || !visit(n) {
                    continue;
                }
                let f = Found {
                    slot: n,
                    similarity: query.score(self, n),
                };
                if best.len() < ef || best.peek().is_some_and(|w| f.similarity > w.0.similarity) {
                    frontier.push(f);
                    best.push(Reverse(f));
                    if best.len() > ef {
                        best.pop();
                    }
                }
            }
        }
        let mut out: Vec<Found> = best.into_iter().map(|r| r.0).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// The (about) `ef` nodes closest to `query`, best first, with their
    /// exact similarity: found on the codes, then scored again.
    pub(crate) fn search(&self, query: &[f32], ef: usize) -> Vec<Found> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        let coded = Code::of(query);
        let mut nearest = Found {
            slot: entry,
            similarity: coded.score(self, entry),
        };
        for l in (1..=self.level_of(entry)).rev() {
            nearest = self.greedy(&coded, nearest, l);
        }
        let mut found = self.search_layer(&coded, &[nearest], ef.max(1), 0);
        for f in &mut found {
            f.similarity = self.similarity(query, f.slot);
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        found
    }

    /// Every node ranked exactly, best first (for tests and recall checks).
    pub(crate) fn exact(&self, query: &[f32], k: usize) -> Vec<Found> {
        let mut all: Vec<Found> = (0..self.links.len() as u32)
            .filter(|&s| self.live(s))
            .map(|s| Found {
                slot: s,
                similarity: self.similarity(query, s),
            })
            .collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(k);
        all
    }
}

fn max_links(level: usize) -> usize {
    if level == 0 {
        2 * M
    } else {
        M
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::faq::semantic) fn random_unit(rng: &mut u64, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                *rng ^= *rng << 13;
                *rng ^= *rng >> 7;
                *rng ^= *rng << 17;
                (*rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        let norm = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }

    fn recall(g: &Hnsw, queries: &[Vec<f32>], k: usize, ef: usize) -> f64 {
        let mut hit = 0;
        for q in queries {
            let found: Vec<u32> = g.search(q, ef).iter().map(|f| f.slot).collect();
            hit += g
                .exact(q, k)
                .iter()
                .filter(|e| found[..k.min(found.len())].contains(&e.slot))
                .count();
        }
        hit as f64 / (queries.len() * k) as f64
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        let mut rng = 7;
        let (a, b) = (random_unit(&mut rng, 37), random_unit(&mut rng, 37));
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-5);
    }

    #[test]
    fn search_returns_exact_similarities_best_first() {
        let mut rng = 9;
        let mut g = Hnsw::new(64);
        for _ in 0..500 {
            g.insert(&random_unit(&mut rng, 64));
        }
        let q = random_unit(&mut rng, 64);
        let found = g.search(&q, 32);
        assert!(found.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        for f in &found {
            assert_eq!(f.similarity, dot(&q, g.vector(f.slot)));
        }
    }

    #[test]
    fn search_finds_the_exact_top_5_on_random_vectors() {
        let mut rng = 42;
        let mut g = Hnsw::new(32);
        for _ in 0..3_000 {
            g.insert(&random_unit(&mut rng, 32));
        }
        let queries: Vec<_> = (0..100).map(|_| random_unit(&mut rng, 32)).collect();
        let r = recall(&g, &queries, 5, 64);
        assert!(r >= 0.98, "recall@5 {r}");
    }

    #[test]
    fn removed_nodes_are_never_found_and_the_rest_still_are() {
        let mut rng = 3;
        let mut g = Hnsw::new(16);
        let vectors: Vec<_> = (0..1_500).map(|_| random_unit(&mut rng, 16)).collect();
        let slots: Vec<u32> = vectors.iter().map(|v| g.insert(v)).collect();
        for &s in slots.iter().step_by(3) {
            g.remove(s);
        }
        assert_eq!(g.len(), 1_000);
        for (i, v) in vectors.iter().enumerate() {
            let found = g.search(v, 32);
            if i % 3 == 0 {
                assert!(found.iter().all(|f| f.slot != slots[i]));
            } else {
                assert_eq!(found[0].slot, slots[i], "node {i} finds itself");
            }
        }
        // Freed slots are reused, and the new nodes are found.
        let fresh = random_unit(&mut rng, 16);
        let s = g.insert(&fresh);
        assert!(s < 1_500);
        assert_eq!(g.search(&fresh, 16)[0].slot, s);
        let queries: Vec<_> = (0..100).map(|_| random_unit(&mut rng, 16)).collect();
        assert!(recall(&g, &queries, 5, 64) >= 0.98);
    }

    #[test]
    fn removing_everything_leaves_an_empty_graph() {
        let mut rng = 5;
        let mut g = Hnsw::new(8);
        let slots: Vec<u32> = (0..50)
            .map(|_| g.insert(&random_unit(&mut rng, 8)))
            .collect();
        for s in slots {
            g.remove(s);
        }
        assert_eq!(g.len(), 0);
        assert!(g.entry().is_none());
        assert!(g.search(&random_unit(&mut rng, 8), 10).is_empty());
    }
}

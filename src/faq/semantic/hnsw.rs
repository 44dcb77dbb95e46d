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
//!
//! `edit` inserts and removes nodes; `search` walks the graph.

mod edit;
mod search;

use std::cmp::Ordering;

use super::codes::Codes;
use crate::nlu::dot;

/// Links per node on the upper levels; twice as many on level 0.
pub(crate) const M: usize = 16;

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
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::faq::semantic) fn random_unit(rng: &mut u64, dim: usize) -> Vec<f32> {
        unit(
            (0..dim)
                .map(|_| {
                    *rng ^= *rng << 13;
                    *rng ^= *rng >> 7;
                    *rng ^= *rng << 17;
                    (*rng >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect(),
        )
    }

    fn unit(mut v: Vec<f32>) -> Vec<f32> {
        let norm = dot(&v, &v).sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        v
    }

    fn recall(g: &Hnsw, queries: &[Vec<f32>], k: usize, ef: usize) -> f64 {
        let mut hit = 0;
        for q in queries {
            let found: Vec<u32> = g.search(q, ef, &[]).iter().map(|f| f.slot).collect();
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
        let found = g.search(&q, 32, &[]);
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
            let found = g.search(v, 32, &[]);
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
        assert_eq!(g.search(&fresh, 16, &[])[0].slot, s);
        let queries: Vec<_> = (0..100).map(|_| random_unit(&mut rng, 16)).collect();
        assert!(recall(&g, &queries, 5, 64) >= 0.98);
    }

    /// `centre` moved by `spread` in a random direction, made unit again.
    fn near(rng: &mut u64, centre: &[f32], spread: f32) -> Vec<f32> {
        let noise = random_unit(rng, centre.len());
        unit(
            centre
                .iter()
                .zip(&noise)
                .map(|(c, n)| c + spread * n)
                .collect(),
        )
    }

    #[test]
    fn a_walk_from_seeds_reaches_an_island_the_entry_point_does_not() {
        // A small topic inserted first, then a large one beside it: few
        // links lead from the large one into the small one.
        let mut rng = 21;
        let dim = 48;
        let (small, large) = (random_unit(&mut rng, dim), random_unit(&mut rng, dim));
        let beside: Vec<f32> = small.iter().zip(&large).map(|(s, l)| s + 1.5 * l).collect();
        let mut g = Hnsw::new(dim);
        let island: Vec<u32> = (0..30)
            .map(|_| g.insert(&near(&mut rng, &small, 0.6)))
            .collect();
        for _ in 0..4_000 {
            g.insert(&near(&mut rng, &beside, 0.8));
        }
        let queries: Vec<Vec<f32>> = (0..50).map(|_| near(&mut rng, &small, 0.6)).collect();
        let (mut plain, mut seeded) = (0, 0);
        for q in &queries {
            let best = g.exact(q, 1)[0].slot;
            assert!(island.contains(&best), "the query is on the island");
            plain += usize::from(g.search(q, 32, &[])[0].slot == best);
            seeded += usize::from(g.search(q, 32, &island[..5])[0].slot == best);
        }
        // From the entry point the walk finds the island's best node for
        // none of the queries when this was written; from five of its
        // nodes (a keyword search's hits), for all.
        assert_eq!(seeded, queries.len(), "from the entry point alone: {plain}");
        // A freed slot among the seeds is skipped.
        g.remove(island[1]);
        assert!(!g.search(&queries[0], 16, &island[1..2]).is_empty());
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
        assert!(g.search(&random_unit(&mut rng, 8), 10, &[]).is_empty());
    }
}

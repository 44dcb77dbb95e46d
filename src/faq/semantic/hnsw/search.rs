//! Searching the graph: a greedy descent through the upper levels, then
//! a best-first search on level 0, on the 8-bit codes of the vectors
//! and scored again exactly; and the exact ranking it is checked against.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::super::codes::Code;
use super::{Found, Hnsw};

/// How a walk through the graph scores a node against its query.
pub(super) trait Score {
    fn score(&self, graph: &Hnsw, slot: u32) -> f32;
}

/// With the exact vectors: for building the graph.
pub(super) struct Exact<'a>(pub(super) &'a [f32]);

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

impl Hnsw {
    /// Greedy walk to the node closest to `query` on level `l`.
    pub(super) fn greedy(&self, query: &impl Score, mut best: Found, l: usize) -> Found {
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
    pub(super) fn search_layer(
        &self,
        query: &impl Score,
        seeds: &[Found],
        ef: usize,
        l: usize,
    ) -> Vec<Found> {
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
    /// exact similarity: found on the codes, then scored again. The walk
    /// on level 0 starts from where the descent through the upper levels
    /// ends and from `seeds` (free slots among them are skipped).
    pub(crate) fn search(&self, query: &[f32], ef: usize, seeds: &[u32]) -> Vec<Found> {
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
        let mut starts = vec![nearest];
        starts.extend(seeds.iter().filter(|&&s| self.live(s)).map(|&s| Found {
            slot: s,
            similarity: coded.score(self, s),
        }));
        let mut found = self.search_layer(&coded, &starts, ef.max(1), 0);
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

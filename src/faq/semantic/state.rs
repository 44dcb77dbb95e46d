//! The graph and what its nodes stand for: each node a text of an FAQ
//! entry, under the key its vector is stored by.

use std::collections::HashMap;
use std::sync::Arc;

use super::hnsw::Hnsw;
use super::{Key, DIM};

/// What a node stands for: a text of an entry.
#[derive(Debug, Clone)]
pub(super) struct Label {
    pub(super) entry: Arc<str>,
    pub(super) key: Key,
}

/// The graph and what its nodes stand for.
#[derive(Debug)]
pub(super) struct State {
    pub(super) graph: Hnsw,
    /// By slot; `None` for a free slot.
    pub(super) labels: Vec<Option<Label>>,
    pub(super) by_entry: HashMap<Arc<str>, Vec<u32>>,
    /// Nodes per key, so a key shared by two entries outlives one of them.
    uses: HashMap<Key, u32>,
}

impl State {
    pub(super) fn new() -> Self {
        Self {
            graph: Hnsw::new(DIM),
            labels: Vec::new(),
            by_entry: HashMap::new(),
            uses: HashMap::new(),
        }
    }

    pub(super) fn from_graph(graph: Hnsw, labels: Vec<Option<Label>>) -> Self {
        let mut by_entry: HashMap<Arc<str>, Vec<u32>> = HashMap::new();
        let mut uses = HashMap::new();
        for (slot, label) in labels.iter().enumerate() {
            if let Some(l) = label {
                by_entry
                    .entry(l.entry.clone())
                    .or_default()
                    .push(slot as u32);
                *uses.entry(l.key).or_default() += 1;
            }
        }
        Self {
            graph,
            labels,
            by_entry,
            uses,
        }
    }

    /// Add a node; returns whether its key is new to the graph.
    pub(super) fn insert(&mut self, entry: &Arc<str>, key: Key, vector: &[f32]) -> bool {
        let slot = self.graph.insert(vector) as usize;
        if self.labels.len() <= slot {
            self.labels.resize(slot + 1, None);
        }
        self.labels[slot] = Some(Label {
            entry: entry.clone(),
            key,
        });
        self.by_entry
            .entry(entry.clone())
            .or_default()
            .push(slot as u32);
        let n = self.uses.entry(key).or_default();
        *n += 1;
        *n == 1
    }

    /// Remove an entry's nodes; returns the keys no node uses any more.
    pub(super) fn remove_entry(&mut self, id: &str) -> Vec<Key> {
        let mut unused = Vec::new();
        for slot in self.by_entry.remove(id).unwrap_or_default() {
            self.graph.remove(slot);
            if let Some(label) = self.labels[slot as usize].take() {
                if let Some(n) = self.uses.get_mut(&label.key) {
                    *n -= 1;
                    if *n == 0 {
                        self.uses.remove(&label.key);
                        unused.push(label.key);
                    }
                }
            }
        }
        unused
    }
}

//! The FAQ's semantic search: the sentence embeddings of every entry's
//! question and phrasings (with the multilingual model also its question
//! with its answer; [`embedder`]), and an HNSW graph over them. One
//! `Semantic` per model.
//!
//! Embeddings are persisted in a sled tree per model ([`stored`]), so a
//! restart with the same model and entries embeds nothing and an edit
//! embeds only the texts it changes. At start the tree is swept:
//! keys no entry needs (deleted texts, another model) are removed, values
//! of the wrong length are re-embedded. The graph is saved to
//! `<data-dir>/faq-vectors.hnsw` (see [`file`]) at shutdown, after the
//! start and a while after edits; a file that does not match the model
//! and the exact set of texts is rebuilt, never trusted. A rebuild
//! inserts the texts in a fixed shuffled order, and a turn's search walks
//! the graph from its keyword hits as well as from the entry point
//! ([`Walk`]): both keep a small topic beside a large one findable.
//!
//! Concurrency: the graph and its labels sit behind one `RwLock`;
//! searches take it shared, edits exclusively and only for the
//! in-memory change and a few sled writes (no embedding, no disk sync).
//! Edits are applied under the FAQ index's writer lock (see `Faq`), so the
//! store, the tantivy index and the graph change in the same order.
//! Every method blocks except [`Semantic::open`] and
//! [`Semantic::complete`], which embed on the inference threads.

mod codes;
mod embedder;
mod file;
pub(crate) mod hnsw;
mod state;
mod stored;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::{FaqEntry, FaqError};
use crate::crm::StoreError;
use crate::nlu::cosine;
pub(crate) use embedder::Embedder;
use embedder::{answer_text, texts};
use state::{Label, State};
pub(crate) use stored::Key;
use stored::{decode, encode, key, sweep};

/// Width of the sentence embedding.
const DIM: usize = 384;
/// Nodes a search keeps; an entry has several texts, so this is well
/// above the number of entries asked for.
const EF_SEARCH: usize = 96;
/// Texts per embedding request while catching up at start.
const EMBED_CHUNK: usize = 512;

/// How [`Semantic::nearest`] looks for the closest texts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Walk<'a> {
    /// Through the graph, from its entry point and from the texts of
    /// the entries `around` (those a keyword search found): a walk that
    /// starts among them reaches their neighbourhood even where few
    /// links lead into it from elsewhere.
    Graph { around: &'a [&'a str] },
    /// By comparing every text: for tests and recall checks.
    Exact,
}

/// The embeddings of one entry's texts, ready to be applied.
#[derive(Debug, Clone)]
pub(crate) struct EntryVectors {
    id: String,
    texts: Vec<(Key, Vec<f32>)>,
}

impl EntryVectors {
    /// The id of the entry they belong to.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }
}

/// The (entry id, key) pairs of `entries`, sorted: what a graph must hold.
fn expected_labels(fingerprint: &str, entries: &[FaqEntry], answers: bool) -> Vec<(String, Key)> {
    let mut out: Vec<(String, Key)> = entries
        .iter()
        .flat_map(|e| {
            texts(e, answers)
                .into_iter()
                .map(|t| (e.id.clone(), key(fingerprint, &t)))
        })
        .collect();
    out.sort_unstable();
    out
}

/// Embeddings and graph of the FAQ; shared by every clone of `Faq`.
pub(crate) struct Semantic {
    embedder: Embedder,
    tree: sled::Tree,
    graph_file: PathBuf,
    state: RwLock<State>,
    /// Set by every edit, cleared when the graph is saved.
    dirty: AtomicBool,
    /// Set while a delayed save is pending.
    save_scheduled: AtomicBool,
    /// Texts embedded since start (0 after a restart with nothing changed).
    embedded: AtomicU64,
}

impl Semantic {
    /// Load or compute the embeddings of `entries`, sweep the tree, and
    /// load or build the graph.
    pub(crate) async fn open(
        embedder: Embedder,
        tree: sled::Tree,
        graph_file: PathBuf,
        entries: Arc<Vec<FaqEntry>>,
    ) -> Result<Self, FaqError> {
        let fingerprint = embedder.fingerprint().to_owned();
        let answers = embedder.reads_answers();
        let (t, fp, es) = (tree.clone(), fingerprint.clone(), entries.clone());
        let (mut have, missing) = blocking(move || sweep(&t, &fp, &es, answers)).await??;
        let embedded = missing.len();
        for chunk in missing.chunks(EMBED_CHUNK) {
            let vectors = embedder.embed(chunk.to_vec()).await?;
            let t = tree.clone();
            let fp = fingerprint.clone();
            let texts = chunk.to_vec();
            let stored = blocking(move || -> Result<_, FaqError> {
                let mut out = Vec::with_capacity(texts.len());
                for (text, v) in texts.iter().zip(vectors) {
                    let k = key(&fp, text);
                    t.insert(k, encode(&v)).map_err(StoreError::from)?;
                    out.push((k, v));
                }
                Ok(out)
            })
            .await??;
            have.extend(stored);
        }
        let semantic = Self {
            embedder,
            tree,
            graph_file,
            state: RwLock::new(State::new()),
            dirty: AtomicBool::new(false),
            save_scheduled: AtomicBool::new(false),
            embedded: AtomicU64::new(embedded as u64),
        };
        blocking(move || {
            let expected = expected_labels(&fingerprint, &entries, answers);
            let loaded = file::load(&semantic.graph_file, &fingerprint, &expected, &have);
            let source = match loaded {
                Ok(state) => {
                    *semantic.write() = state;
                    "loaded"
                }
                Err(why) => {
                    if semantic.graph_file.exists() {
                        tracing::warn!(path = %semantic.graph_file.display(), reason = %why, "faq vector graph not usable; rebuilding it");
                    }
                    let mut to_insert = Vec::new();
                    for e in entries.iter() {
                        let id: Arc<str> = e.id.as_str().into();
                        for t in texts(e, answers) {
                            let k = key(&fingerprint, &t);
                            if let Some(v) = have.get(&k) {
                                to_insert.push((id.clone(), k, v));
                            }
                        }
                    }
                    // Inserted in entry order, a topic added as a block
                    // (the entries of one kind of question, or a small FAQ
                    // under a large one) ends up an island that the rest
                    // of the graph rarely links into, and searches from
                    // elsewhere miss it (docs/benchmarks.md, section 0i).
                    shuffle(&mut to_insert);
                    let mut state = State::new();
                    for (id, k, v) in to_insert {
                        state.insert(&id, k, v);
                    }
                    *semantic.write() = state;
                    semantic.dirty.store(true, Ordering::Relaxed);
                    semantic.save();
                    "built"
                }
            };
            tracing::info!(
                model = semantic.embedder.name(),
                entries = entries.len(),
                nodes = semantic.read().graph.len(),
                texts = expected.len(),
                embedded,
                graph = source,
                "faq vectors ready"
            );
            Ok(semantic)
        })
        .await?
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The entries whose texts the graph does not hold as they are now,
    /// and the ids it holds that are not among `entries`: what edits made
    /// while the graph was being built changed.
    pub(crate) fn out_of_step(&self, entries: &[FaqEntry]) -> (Vec<FaqEntry>, Vec<String>) {
        let fp = self.embedder.fingerprint();
        let state = self.read();
        let mut stale = Vec::new();
        for e in entries {
            let mut want: Vec<Key> = texts(e, self.embedder.reads_answers())
                .iter()
                .map(|t| key(fp, t))
                .collect();
            let mut have: Vec<Key> = state
                .by_entry
                .get(e.id.as_str())
                .into_iter()
                .flatten()
                .filter_map(|&s| state.labels[s as usize].as_ref().map(|l| l.key))
                .collect();
            want.sort_unstable();
            want.dedup();
            have.sort_unstable();
            have.dedup();
            if want != have {
                stale.push(e.clone());
            }
        }
        let ids: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let gone = state
            .by_entry
            .keys()
            .filter(|id| !ids.contains(&***id))
            .map(|id| id.to_string())
            .collect();
        (stale, gone)
    }

    /// Whether `vectors` were prepared from `entry`'s texts as they are.
    pub(crate) fn prepared_from(&self, vectors: &EntryVectors, entry: &FaqEntry) -> bool {
        let fp = self.embedder.fingerprint();
        vectors.id == entry.id
            && vectors
                .texts
                .iter()
                .map(|(k, _)| *k)
                .eq(texts(entry, self.embedder.reads_answers())
                    .iter()
                    .map(|t| key(fp, t)))
    }

    /// Texts embedded since start.
    pub(crate) fn embedded(&self) -> u64 {
        self.embedded.load(Ordering::Relaxed)
    }

    /// The stored embeddings of `entries`' texts, and the texts (each
    /// once) still to embed with [`Semantic::complete`].
    pub(crate) fn lookup(
        &self,
        entries: &[FaqEntry],
    ) -> Result<(Vec<EntryVectors>, Vec<String>), FaqError> {
        let fp = self.embedder.fingerprint();
        let mut out = Vec::with_capacity(entries.len());
        let mut missing: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for e in entries {
            let mut ev = EntryVectors {
                id: e.id.clone(),
                texts: Vec::new(),
            };
            for t in texts(e, self.embedder.reads_answers()) {
                let k = key(fp, &t);
                let stored = self.tree.get(k).map_err(StoreError::from)?;
                let v = stored.as_deref().and_then(decode).unwrap_or_default();
                if v.is_empty() && seen.insert(k) {
                    missing.push(t.into_owned());
                }
                ev.texts.push((k, v));
            }
            out.push(ev);
        }
        Ok((out, missing))
    }

    /// Embed the `missing` texts [`Semantic::lookup`] found and fill them
    /// in. Nothing is applied yet.
    pub(crate) async fn complete(
        &self,
        prepared: &mut [EntryVectors],
        missing: Vec<String>,
    ) -> Result<(), FaqError> {
        if missing.is_empty() {
            return Ok(());
        }
        let fp = self.embedder.fingerprint();
        let keys: Vec<Key> = missing.iter().map(|t| key(fp, t)).collect();
        let n = missing.len() as u64;
        let vectors = self.embedder.embed(missing).await?;
        self.embedded.fetch_add(n, Ordering::Relaxed);
        let fresh: HashMap<Key, Vec<f32>> = keys.into_iter().zip(vectors).collect();
        for (k, v) in prepared.iter_mut().flat_map(|e| e.texts.iter_mut()) {
            if v.is_empty() {
                if let Some(f) = fresh.get(k) {
                    v.clone_from(f);
                }
            }
        }
        Ok(())
    }

    /// Replace an entry's texts in the graph and the tree.
    pub(crate) fn apply(&self, vectors: EntryVectors) -> Result<(), FaqError> {
        let id: Arc<str> = vectors.id.as_str().into();
        let mut state = self.write();
        let mut unused: HashSet<Key> = state.remove_entry(&id).into_iter().collect();
        for (k, v) in &vectors.texts {
            if v.len() != DIM {
                continue;
            }
            unused.remove(k);
            if state.insert(&id, *k, v) {
                self.tree.insert(k, encode(v)).map_err(StoreError::from)?;
            }
        }
        for k in unused {
            self.tree.remove(k).map_err(StoreError::from)?;
        }
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Remove an entry's texts from the graph, and from the tree those no
    /// other entry uses.
    pub(crate) fn remove(&self, id: &str) -> Result<(), FaqError> {
        let unused = self.write().remove_entry(id);
        for k in unused {
            self.tree.remove(k).map_err(StoreError::from)?;
        }
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Similarity of `query` to the closest of an entry's texts, computed
    /// exactly.
    pub(crate) fn similarity(&self, id: &str, query: &[f32]) -> Option<f32> {
        let state = self.read();
        let slots = state.by_entry.get(id)?;
        // `cosine`, not `nlu::dot`: the same figure the ranking always had.
        slots
            .iter()
            .map(|&s| cosine(query, state.graph.vector(s)))
            .reduce(f32::max)
    }

    /// How close `query`, a message's embedding by the multilingual model,
    /// is to `entry`: the mean of its similarity to the closest of the
    /// entry's question and phrasings and its similarity to the question
    /// with the answer. The answer carries the entry's meaning in more
    /// words, which matters most across languages (docs/quality.md).
    /// `None` if the entry's vectors are not in the graph.
    pub(crate) fn across_languages(&self, entry: &FaqEntry, query: &[f32]) -> Option<f32> {
        let answer = key(self.embedder.fingerprint(), &answer_text(entry));
        let state = self.read();
        let (mut phrasing, mut with_answer) = (None::<f32>, None::<f32>);
        for &slot in state.by_entry.get(entry.id.as_str())? {
            let Some(label) = &state.labels[slot as usize] else {
                continue;
            };
            let s = cosine(query, state.graph.vector(slot));
            match label.key == answer {
                true => with_answer = Some(s),
                false => phrasing = Some(phrasing.map_or(s, |p| p.max(s))),
            }
        }
        Some((phrasing? + with_answer?) / 2.0)
    }

    /// The `limit` entries closest to `query` (by their closest text),
    /// best first, found as `walk` says.
    pub(crate) fn nearest(
        &self,
        query: &[f32],
        limit: usize,
        walk: Walk<'_>,
    ) -> Vec<(String, f32)> {
        let state = self.read();
        let found = match walk {
            Walk::Exact => state.graph.exact(query, usize::MAX),
            Walk::Graph { around } => {
                let seeds: Vec<u32> = around
                    .iter()
                    .filter_map(|&id| state.by_entry.get(id))
                    .flatten()
                    .copied()
                    .collect();
                state.graph.search(query, EF_SEARCH.max(4 * limit), &seeds)
            }
        };
        let mut out: Vec<(String, f32)> = Vec::with_capacity(limit);
        for f in found {
            let Some(label) = &state.labels[f.slot as usize] else {
                continue;
            };
            if !out.iter().any(|(id, _)| **id == *label.entry) {
                out.push((label.entry.to_string(), f.similarity));
                if out.len() == limit {
                    break;
                }
            }
        }
        out
    }

    /// Save the graph if it changed since the last save. Failures are
    /// logged: the graph is rebuilt at the next start.
    pub(crate) fn save(&self) {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return;
        }
        let bytes = {
            let state = self.read();
            file::encode(self.embedder.fingerprint(), &state.graph, &state.labels)
        };
        if let Err(e) = file::write(&self.graph_file, &bytes) {
            self.dirty.store(true, Ordering::Relaxed);
            tracing::warn!(path = %self.graph_file.display(), error = %e, "cannot save the faq vector graph");
        }
    }

    /// Claim the pending delayed save; `false` if one is already pending.
    pub(crate) fn schedule_save(&self) -> bool {
        !self.save_scheduled.swap(true, Ordering::AcqRel)
    }

    /// Run the delayed save claimed with [`Semantic::schedule_save`].
    pub(crate) fn scheduled_save(&self) {
        self.save_scheduled.store(false, Ordering::Release);
        self.save();
    }
}

/// Put `items` in a fixed pseudo-random order (Fisher-Yates with a
/// xorshift generator): the same input always gives the same graph.
fn shuffle<T>(items: &mut [T]) {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..items.len()).rev() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        items.swap(i, (rng % (i as u64 + 1)) as usize);
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, FaqError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FaqError::Task(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::shuffle;

    #[test]
    fn shuffle_is_a_fixed_permutation() {
        let mut a: Vec<u32> = (0..100).collect();
        let mut b = a.clone();
        shuffle(&mut a);
        shuffle(&mut b);
        assert_eq!(a, b, "the same order every time");
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        a.sort_unstable();
        assert_eq!(a, (0..100).collect::<Vec<_>>());
    }
}

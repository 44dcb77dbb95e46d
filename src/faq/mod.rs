//! The FAQ: entries authors write, and the search the bot answers from.
//!
//! The store's `faq` tree is the source of truth; the tantivy index in
//! `<data-dir>/faq-index` is derived from it and rebuilt whenever it is
//! missing, damaged or out of step (and by `frontdesk faq reindex`). Every
//! edit writes the store, flushes it, then updates and commits the index
//! under the index's single writer lock, so once an edit call returns the
//! entry is durable and searchable. All tantivy and sled work runs on the
//! blocking pool.
//!
//! Once the encoder is attached, `semantic` keeps the embeddings of every
//! entry's texts and a nearest-neighbour graph over them; an edit embeds
//! its changed texts first, then changes the store, the graph and the index
//! under that same lock. A second such graph, by the multilingual model,
//! is attached when the first message in another language arrives; from
//! then on edits keep both current (`vectors`).

mod confidence;
mod edit;
mod entry;
mod index;
pub mod io;
mod semantic;
mod spelling;
pub mod synthetic;
mod vectors;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use entry::{FaqDraft, FaqEntry, InvalidEntry};
pub use index::IndexError;

use crate::crm::{Store, StoreError};
use crate::error::{Coded, ErrorCode};
use crate::nlu::NluError;
use confidence::hybrid_score;
pub(crate) use confidence::{calibrate, FaqCandidate, ENGLISH, MULTILINGUAL};
use edit::{entries_of, Mode};
use index::FaqIndex;
use semantic::{Semantic, Walk};
use vectors::{Graph, Prepared};

/// The demo FAQ of a fictional shop, loaded into an empty store once.
pub(crate) const DEMO_FAQ: &str = include_str!("demo.yaml");
const DEMO_LOADED: &[u8] = b"faq.demo_loaded";

/// Why an FAQ operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FaqError {
    #[error("invalid FAQ entry: {0}")]
    Invalid(#[from] InvalidEntry),
    #[error("FAQ entry {0:?} not found")]
    NotFound(String),
    #[error("FAQ entry {0:?} already exists; update it with PUT instead")]
    Exists(String),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("FAQ index write failed: {0}. Run `frontdesk faq reindex` to rebuild the index")]
    Write(#[from] tantivy::TantivyError),
    #[error("FAQ task failed: {0}")]
    Task(String),
    #[error("cannot embed FAQ entries: {0}")]
    Embed(#[from] NluError),
}

impl Coded for FaqError {
    fn code(&self) -> ErrorCode {
        match self {
            FaqError::Invalid(_) => ErrorCode::BadFrame,
            FaqError::NotFound(_) => ErrorCode::NotFound,
            FaqError::Exists(_) => ErrorCode::Conflict,
            FaqError::Store(e) => e.code(),
            FaqError::Embed(e) => e.code(),
            FaqError::Index(_) | FaqError::Write(_) | FaqError::Task(_) => ErrorCode::Internal,
        }
    }
}

/// An entry found by a search: its BM25 score (0 if only the semantic
/// search found it) and, when the encoder is attached, the cosine
/// similarity of the query to the closest of its question and phrasings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredEntry {
    pub entry: FaqEntry,
    pub score: f32,
    pub similarity: Option<f32>,
}

/// BM25 candidates fetched for re-ranking.
const BM25_CANDIDATES: usize = 10;
/// Entries the semantic search adds that BM25 missed.
const SEMANTIC_CANDIDATES: usize = 5;

/// How an import went.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub updated: usize,
}

/// Handle to the FAQ; cheap to clone.
#[derive(Clone)]
pub struct Faq {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    index: FaqIndex,
    /// Where the vector graph is saved.
    graph_file: PathBuf,
    /// Embeddings and their graph, once the encoder is attached; changed
    /// only under the index's writer lock.
    semantic: OnceLock<Semantic>,
    /// Where the multilingual model's graph is saved.
    multilingual_graph_file: PathBuf,
    /// The same by the multilingual model, once attached.
    multilingual: OnceLock<Semantic>,
    /// Attaching the multilingual graph in the background.
    attaching: vectors::Attaching,
    /// The FAQ's words, to correct typos in queries; rebuilt after every
    /// change of entries.
    vocabulary: std::sync::RwLock<spelling::Vocabulary>,
}

impl Inner {
    fn refresh_vocabulary(&self) -> Result<(), FaqError> {
        let fresh = spelling::Vocabulary::of(&self.all()?);
        *self.vocabulary.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }

    /// `text` with typos corrected against the FAQ's words.
    fn corrected(&self, text: &str) -> String {
        let vocabulary = self.vocabulary.read().unwrap_or_else(|p| p.into_inner());
        vocabulary.correct(text).into_owned()
    }
}

impl Faq {
    /// Open the index under `data_dir`, rebuilding it from the store when it
    /// is new, damaged or holds a different number of entries.
    pub fn open(store: Store, data_dir: &Path) -> Result<Self, FaqError> {
        let (index, fresh) = FaqIndex::open(&data_dir.join("faq-index"))?;
        let faq = Self {
            inner: Arc::new(Inner {
                store,
                index,
                graph_file: data_dir.join("faq-vectors.hnsw"),
                semantic: OnceLock::new(),
                multilingual_graph_file: data_dir.join("faq-vectors-multilingual.hnsw"),
                multilingual: OnceLock::new(),
                attaching: Default::default(),
                vocabulary: Default::default(),
            }),
        };
        let stored = faq.inner.store.faq_tree().len() as u64;
        if fresh || faq.inner.index.entries() != stored {
            let n = faq.reindex_now()?;
            tracing::info!(entries = n, "faq index rebuilt from the store");
        }
        faq.inner.refresh_vocabulary()?;
        Ok(faq)
    }

    /// Run `f`, a search or a read of a few entries, here on the caller's
    /// task: a turn's search takes a tenth to a few tenths of a
    /// millisecond, less than the two thread wake-ups a trip to the
    /// blocking pool costs. Edits, imports and scans use
    /// [`Faq::blocking`].
    fn point<T>(&self, f: impl FnOnce(&Inner) -> Result<T, FaqError>) -> Result<T, FaqError> {
        f(&self.inner)
    }

    async fn blocking<T, F>(&self, f: F) -> Result<T, FaqError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, FaqError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|e| FaqError::Task(e.to_string()))?
    }

    /// Rebuild the index from the store; returns the number of entries.
    pub fn reindex_now(&self) -> Result<usize, FaqError> {
        let inner = &self.inner;
        let entries = inner.all()?;
        inner.index.edit(|edit| -> Result<(), FaqError> {
            edit.clear()?;
            for e in &entries {
                edit.upsert(e)?;
            }
            Ok(())
        })??;
        inner.refresh_vocabulary()?;
        Ok(entries.len())
    }

    pub(crate) async fn create(&self, draft: FaqDraft) -> Result<FaqEntry, FaqError> {
        let id = draft.id.clone().unwrap_or_else(entry::new_id);
        let entry = draft.into_entry(id)?;
        if self.get(entry.id.clone()).await.is_ok() {
            return Err(FaqError::Exists(entry.id));
        }
        let vectors = self.prepare(std::slice::from_ref(&entry)).await?;
        let out = self
            .blocking(move |inner| {
                let written = inner.write(entry, Mode::Create, vectors)?;
                inner.refresh_vocabulary()?;
                Ok(written)
            })
            .await;
        self.save_later();
        out
    }

    pub(crate) async fn update(
        &self,
        id: String,
        mut draft: FaqDraft,
    ) -> Result<FaqEntry, FaqError> {
        draft.id = Some(id.clone());
        let entry = draft.into_entry(id)?;
        self.get(entry.id.clone()).await?;
        let vectors = self.prepare(std::slice::from_ref(&entry)).await?;
        let out = self
            .blocking(move |inner| {
                let written = inner.write(entry, Mode::Update, vectors)?;
                inner.refresh_vocabulary()?;
                Ok(written)
            })
            .await;
        self.save_later();
        out
    }

    pub(crate) async fn delete(&self, id: String) -> Result<(), FaqError> {
        let out = self
            .blocking(move |inner| {
                inner.index.edit(|edit| -> Result<(), FaqError> {
                    let tree = inner.store.faq_tree();
                    if tree
                        .remove(id.as_bytes())
                        .map_err(StoreError::from)?
                        .is_none()
                    {
                        return Err(FaqError::NotFound(id.clone()));
                    }
                    for graph in Graph::ALL {
                        if let Some(s) = inner.semantic(graph) {
                            s.remove(&id)?;
                        }
                    }
                    inner.store.flush()?;
                    edit.delete(&id);
                    Ok(())
                })??;
                inner.refresh_vocabulary()
            })
            .await;
        self.save_later();
        out
    }

    pub(crate) async fn get(&self, id: String) -> Result<FaqEntry, FaqError> {
        self.blocking(move |inner| inner.get(&id)?.ok_or(FaqError::NotFound(id)))
            .await
    }

    /// Every entry, ordered by id.
    pub async fn list(&self) -> Result<Vec<FaqEntry>, FaqError> {
        self.blocking(|inner| inner.all()).await
    }

    /// The `limit` best entries for `text`, best first, by BM25 alone.
    pub(crate) async fn search(
        &self,
        text: String,
        limit: usize,
    ) -> Result<Vec<ScoredEntry>, FaqError> {
        self.search_hybrid(text, None, limit).await
    }

    /// The `limit` best entries for `text`. With the text's embedding the
    /// BM25 candidates, plus the entries closest in meaning, are re-ranked
    /// by cosine similarity; without it, BM25 alone ranks.
    pub async fn search_hybrid(
        &self,
        text: String,
        embedding: Option<Vec<f32>>,
        limit: usize,
    ) -> Result<Vec<ScoredEntry>, FaqError> {
        self.point(move |inner| {
            let hits = inner
                .index
                .search(&inner.corrected(&text), BM25_CANDIDATES.max(limit))?;
            let mut scored: Vec<(String, f32, Option<f32>)> = Vec::new();
            match &embedding {
                None => scored.extend(hits.into_iter().map(|h| (h.id, h.score, None))),
                Some(query) => {
                    // Without the encoder attached nothing has a similarity.
                    let semantic = inner.semantic.get();
                    for h in hits {
                        let s = semantic.and_then(|s| s.similarity(&h.id, query));
                        scored.push((h.id, h.score, s));
                    }
                    let around: Vec<&str> = scored.iter().map(|(id, ..)| id.as_str()).collect();
                    let walk = Walk::Graph { around: &around };
                    let by_meaning = semantic
                        .map(|s| s.nearest(query, SEMANTIC_CANDIDATES, walk))
                        .unwrap_or_default();
                    for (id, _) in by_meaning {
                        if !scored.iter().any(|(known, ..)| *known == id) {
                            let s = semantic.and_then(|s| s.similarity(&id, query));
                            scored.push((id, 0.0, s));
                        }
                    }
                    scored
                        .sort_by(|a, b| hybrid_score(b.1, b.2).total_cmp(&hybrid_score(a.1, a.2)));
                }
            }
            let mut out = Vec::with_capacity(limit);
            for (id, score, similarity) in scored.into_iter().take(limit) {
                // An entry deleted between search and read is skipped.
                if let Some(entry) = inner.get(&id)? {
                    out.push(ScoredEntry {
                        entry,
                        score,
                        similarity,
                    });
                }
            }
            Ok(out)
        })
    }

    /// Create or update every draft (by id) in one index commit.
    pub async fn import(&self, drafts: Vec<FaqDraft>) -> Result<ImportReport, FaqError> {
        let entries = entries_of(drafts)?;
        let vectors = self.prepare(&entries).await?;
        let out = self
            .blocking(move |inner| {
                let report = inner.import(entries, vectors)?;
                inner.refresh_vocabulary()?;
                Ok(report)
            })
            .await;
        self.save_later();
        out
    }

    /// Load the demo FAQ if this store never had it and holds no entries.
    pub async fn load_demo_if_new(&self) -> Result<Option<ImportReport>, FaqError> {
        self.blocking(|inner| {
            let meta = inner.store.meta_tree();
            if meta.contains_key(DEMO_LOADED).map_err(StoreError::from)?
                || !inner.store.faq_tree().is_empty()
            {
                return Ok(None);
            }
            let drafts =
                io::parse(DEMO_FAQ, io::Format::Yaml).map_err(|e| InvalidEntry(e.to_string()))?;
            let report = inner.import(entries_of(drafts)?, Prepared::default())?;
            inner.refresh_vocabulary()?;
            meta.insert(DEMO_LOADED, &[1u8][..])
                .map_err(StoreError::from)?;
            inner.store.flush()?;
            Ok(Some(report))
        })
        .await
    }
}

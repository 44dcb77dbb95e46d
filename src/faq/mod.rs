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
//! then on edits keep both current.

mod confidence;
mod edit;
mod entry;
mod index;
pub mod io;
mod semantic;
mod spelling;
pub mod synthetic;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use entry::{FaqDraft, FaqEntry, InvalidEntry};
pub use index::IndexError;

use crate::crm::{Store, StoreError};
use crate::error::{Coded, ErrorCode};
use crate::nlu::multilingual::Multilingual;
use crate::nlu::{Nlu, NluError};
use confidence::hybrid_score;
pub(crate) use confidence::{calibrate, FaqCandidate, ENGLISH, MULTILINGUAL};
use edit::{entries_of, Mode};
use index::FaqIndex;
use semantic::{Embedder, EntryVectors, Semantic};

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
/// Entries the multilingual search ranks (see `search_multilingual`).
const MULTILINGUAL_CANDIDATES: usize = 20;
/// Entries the semantic search adds that BM25 missed.
const SEMANTIC_CANDIDATES: usize = 5;

/// How long after an edit the vector graph is saved (it is saved at
/// shutdown too; a graph that missed edits is rebuilt at start).
const SAVE_DELAY: Duration = Duration::from_secs(10);

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
    /// Set when attaching the multilingual model has begun; `true` on the
    /// channel once it is attached.
    multilingual_started: AtomicBool,
    multilingual_attached: tokio::sync::watch::Sender<bool>,
    /// When the first attempt to attach it began.
    multilingual_since: OnceLock<std::time::Instant>,
    /// The FAQ's words, to correct typos in queries; rebuilt after every
    /// change of entries.
    vocabulary: std::sync::RwLock<spelling::Vocabulary>,
}

/// Which of the FAQ's two vector graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Graph {
    Understanding,
    Multilingual,
}

impl Graph {
    const ALL: [Graph; 2] = [Graph::Understanding, Graph::Multilingual];
}

/// Embeddings prepared for an edit, per graph attached.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    understanding: Option<Vec<EntryVectors>>,
    multilingual: Option<Vec<EntryVectors>>,
}

impl Inner {
    fn semantic(&self, graph: Graph) -> Option<&Semantic> {
        match graph {
            Graph::Understanding => self.semantic.get(),
            Graph::Multilingual => self.multilingual.get(),
        }
    }

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
                multilingual_started: AtomicBool::new(false),
                multilingual_attached: tokio::sync::watch::Sender::new(false),
                multilingual_since: OnceLock::new(),
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

    /// Attach the encoder: load (or compute) the embeddings of every
    /// entry and their graph now, and embed every changed entry from now
    /// on, so searches re-rank by meaning. Attaching a second time does
    /// nothing.
    pub async fn attach_encoder(&self, nlu: Nlu) -> Result<(), FaqError> {
        self.attach(Graph::Understanding, Embedder::Understanding(nlu))
            .await?;
        Ok(())
    }

    /// Load (or compute) the embeddings of every entry by `embedder` and
    /// their graph; `false` if the graph was attached already.
    async fn attach(&self, graph: Graph, embedder: Embedder) -> Result<bool, FaqError> {
        if self.inner.semantic(graph).is_some() {
            return Ok(false);
        }
        let entries = Arc::new(self.list().await?);
        let inner = &self.inner;
        let (tree, file, cell) = match graph {
            Graph::Understanding => (
                inner.store.faq_vectors_tree(),
                &inner.graph_file,
                &inner.semantic,
            ),
            Graph::Multilingual => (
                inner.store.faq_multilingual_vectors_tree(),
                &inner.multilingual_graph_file,
                &inner.multilingual,
            ),
        };
        let semantic = Semantic::open(embedder, tree.clone(), file.clone(), entries).await?;
        Ok(cell.set(semantic).is_ok())
    }

    /// Attach the multilingual model: load (or compute) the embeddings of
    /// every entry by it and their graph, then catch up with edits made
    /// meanwhile, so [`Faq::search_multilingual`] finds entries by meaning
    /// across languages. Attaching a second time does nothing.
    pub async fn attach_multilingual(&self, model: Multilingual) -> Result<(), FaqError> {
        if !self
            .attach(Graph::Multilingual, Embedder::Multilingual(model))
            .await?
        {
            return Ok(());
        }
        // Edits made while the graph was built did not reach it; from now
        // on they do. Bring it up to date with what they changed.
        for _ in 0..3 {
            let entries = self.list().await?;
            let Some(s) = self.inner.multilingual.get() else {
                break;
            };
            let (stale, gone) = s.out_of_step(&entries);
            if stale.is_empty() && gone.is_empty() {
                break;
            }
            let (mut prepared, missing) = s.lookup(&stale)?;
            s.complete(&mut prepared, missing).await?;
            self.blocking(move |inner| {
                let Some(s) = inner.multilingual.get() else {
                    return Ok(());
                };
                inner.index.edit(|_| -> Result<(), FaqError> {
                    for id in &gone {
                        if inner.get(id)?.is_none() {
                            s.remove(id)?;
                        }
                    }
                    for v in prepared {
                        // An edit since the listing has applied its own.
                        let current = inner.get(v.id())?;
                        if current.is_some_and(|e| s.prepared_from(&v, &e)) {
                            s.apply(v)?;
                        }
                    }
                    Ok(())
                })?
            })
            .await?;
        }
        self.save_later();
        Ok(())
    }

    /// Texts the multilingual model embedded since it was attached: 0
    /// after a restart with the same model and entries.
    pub fn multilingual_texts_embedded(&self) -> u64 {
        self.inner.multilingual.get().map_or(0, Semantic::embedded)
    }

    /// Whether the multilingual model is attached.
    pub fn multilingual_attached(&self) -> bool {
        self.inner.multilingual.get().is_some()
    }

    /// Whether the multilingual model is attached, waiting up to `wait`
    /// for it, and only within `window` of the first call: a large FAQ
    /// takes minutes, and its messages should not each wait meanwhile. The
    /// first call starts attaching `model` in the background, where it
    /// goes on past both; a failure is logged and the next call tries
    /// again.
    pub(crate) async fn multilingual_ready(
        &self,
        model: &Multilingual,
        wait: Duration,
        window: Duration,
    ) -> bool {
        if self.multilingual_attached() {
            return true;
        }
        let mut attached = self.inner.multilingual_attached.subscribe();
        if !self.inner.multilingual_started.swap(true, Ordering::AcqRel) {
            let (faq, model) = (self.clone(), model.clone());
            tokio::spawn(async move {
                match faq.attach_multilingual(model).await {
                    Ok(()) => {
                        faq.inner.multilingual_attached.send_replace(true);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot attach the multilingual model to the faq; will try again");
                        faq.inner
                            .multilingual_started
                            .store(false, Ordering::Release);
                    }
                }
            });
        }
        let since = *self
            .inner
            .multilingual_since
            .get_or_init(std::time::Instant::now);
        let left = (since + window).saturating_duration_since(std::time::Instant::now());
        let _ = tokio::time::timeout(wait.min(left), attached.wait_for(|a| *a)).await;
        self.multilingual_attached()
    }

    /// Texts embedded since the encoder was attached: 0 after a restart
    /// with the same model and entries.
    pub fn texts_embedded(&self) -> u64 {
        self.inner.semantic.get().map_or(0, Semantic::embedded)
    }

    /// Save the vector graph if it changed; for shutdown.
    pub async fn save_vectors(&self) -> Result<(), FaqError> {
        self.blocking(|inner| {
            for graph in Graph::ALL {
                if let Some(s) = inner.semantic(graph) {
                    s.save();
                }
            }
            Ok(())
        })
        .await
    }

    /// The `limit` entries closest in meaning to `embedding` (by their
    /// closest text) with that similarity, best first: from the graph, or
    /// with `exact` by comparing every text. Empty without the encoder.
    pub async fn nearest(
        &self,
        embedding: Vec<f32>,
        limit: usize,
        exact: bool,
    ) -> Result<Vec<(String, f32)>, FaqError> {
        self.blocking(move |inner| {
            Ok(inner
                .semantic
                .get()
                .map(|s| s.nearest(&embedding, limit, exact))
                .unwrap_or_default())
        })
        .await
    }

    /// Embed entries before they are written (reusing stored embeddings
    /// of unchanged texts), so an entry is never searchable without its
    /// vectors: by each model attached.
    async fn prepare(&self, entries: &[FaqEntry]) -> Result<Prepared, FaqError> {
        Ok(Prepared {
            understanding: self.prepare_for(Graph::Understanding, entries).await?,
            multilingual: self.prepare_for(Graph::Multilingual, entries).await?,
        })
    }

    /// [`Faq::prepare`] for one graph; `None` if it is not attached.
    async fn prepare_for(
        &self,
        graph: Graph,
        entries: &[FaqEntry],
    ) -> Result<Option<Vec<EntryVectors>>, FaqError> {
        if self.inner.semantic(graph).is_none() {
            return Ok(None);
        }
        let list = entries.to_vec();
        let (mut prepared, missing) = self
            .blocking(move |inner| match inner.semantic(graph) {
                Some(s) => s.lookup(&list),
                None => Ok(Default::default()),
            })
            .await?;
        if let Some(s) = self.inner.semantic(graph) {
            s.complete(&mut prepared, missing).await?;
        }
        Ok(Some(prepared))
    }

    /// Save the graphs a while after an edit, once per burst of edits.
    fn save_later(&self) {
        for graph in Graph::ALL {
            let Some(s) = self.inner.semantic(graph) else {
                continue;
            };
            if s.schedule_save() {
                // Weak: a pending save must not keep a stopped server's
                // store open.
                let inner = Arc::downgrade(&self.inner);
                tokio::spawn(async move {
                    tokio::time::sleep(SAVE_DELAY).await;
                    let _ = tokio::task::spawn_blocking(move || {
                        if let Some(s) = inner.upgrade().as_ref().and_then(|i| i.semantic(graph)) {
                            s.scheduled_save();
                        }
                    })
                    .await;
                });
            }
        }
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
        self.blocking(move |inner| {
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
                    let by_meaning = semantic
                        .map(|s| s.nearest(query, SEMANTIC_CANDIDATES, false))
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
        .await
    }

    /// The `limit` entries closest in meaning to `embedding`, a message's
    /// embedding by the multilingual model, best first; no BM25 (the
    /// FAQ's words are English). Empty until the model is attached.
    pub(crate) async fn search_multilingual(
        &self,
        embedding: Vec<f32>,
        limit: usize,
    ) -> Result<Vec<ScoredEntry>, FaqError> {
        self.blocking(move |inner| {
            let Some(s) = inner.multilingual.get() else {
                return Ok(Vec::new());
            };
            // The closest by any text, then ranked by phrasings and answer.
            let mut out = Vec::with_capacity(MULTILINGUAL_CANDIDATES);
            for (id, _) in s.nearest(&embedding, MULTILINGUAL_CANDIDATES.max(limit), false) {
                if let Some(entry) = inner.get(&id)? {
                    if let Some(similarity) = s.across_languages(&entry, &embedding) {
                        out.push(ScoredEntry {
                            entry,
                            score: 0.0,
                            similarity: Some(similarity),
                        });
                    }
                }
            }
            out.sort_by(|a, b| {
                b.similarity
                    .unwrap_or(0.0)
                    .total_cmp(&a.similarity.unwrap_or(0.0))
            });
            out.truncate(limit);
            Ok(out)
        })
        .await
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

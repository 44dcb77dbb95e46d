//! The FAQ: entries authors write, and the search the bot answers from.
//!
//! The store's `faq` tree is the source of truth; the tantivy index in
//! `<data-dir>/faq-index` is derived from it and rebuilt whenever it is
//! missing, damaged or out of step (and by `frontdesk faq reindex`). Every
//! edit writes the store, flushes it, then updates and commits the index
//! under the index's single writer lock, so once an edit call returns the
//! entry is durable and searchable. All tantivy and sled work runs on the
//! blocking pool.

mod confidence;
mod entry;
mod index;
pub mod io;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

pub use entry::{FaqDraft, FaqEntry, InvalidEntry};
pub use index::IndexError;

use crate::crm::{Store, StoreError};
use crate::error::{Coded, ErrorCode};
use crate::nlu::{cosine, Nlu, NluError};
use confidence::hybrid_score;
pub(crate) use confidence::{calibrate, FaqCandidate};
use index::FaqIndex;

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
    /// Embeddings of each entry's question and phrasings, by entry id;
    /// computed when entries change, read by every search. Locked only to
    /// copy in or read out, never across an await.
    vectors: RwLock<HashMap<String, Vec<Vec<f32>>>>,
    /// The encoder, once attached.
    encoder: RwLock<Option<Nlu>>,
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
                vectors: RwLock::default(),
                encoder: RwLock::default(),
            }),
        };
        let stored = faq.inner.store.faq_tree().len() as u64;
        if fresh || faq.inner.index.entries() != stored {
            let n = faq.reindex_now()?;
            tracing::info!(entries = n, "faq index rebuilt from the store");
        }
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
        Ok(entries.len())
    }

    /// Attach the encoder: embed every entry now, and every changed entry
    /// from now on, so searches re-rank by meaning.
    pub async fn attach_encoder(&self, nlu: Nlu) -> Result<(), FaqError> {
        let entries = self.list().await?;
        let vectors = embed_entries(&nlu, &entries).await?;
        *self
            .inner
            .vectors
            .write()
            .unwrap_or_else(|p| p.into_inner()) = vectors;
        *self
            .inner
            .encoder
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Some(nlu);
        Ok(())
    }

    fn encoder(&self) -> Option<Nlu> {
        self.inner
            .encoder
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Embed entries before they are written, so an entry is never
    /// searchable without its vectors.
    async fn prepare(&self, entries: &[FaqEntry]) -> Result<(), FaqError> {
        if let Some(nlu) = self.encoder() {
            let vectors = embed_entries(&nlu, entries).await?;
            self.inner
                .vectors
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .extend(vectors);
        }
        Ok(())
    }

    pub(crate) async fn create(&self, draft: FaqDraft) -> Result<FaqEntry, FaqError> {
        let id = draft.id.clone().unwrap_or_else(entry::new_id);
        let entry = draft.into_entry(id)?;
        if self.get(entry.id.clone()).await.is_ok() {
            return Err(FaqError::Exists(entry.id));
        }
        self.prepare(std::slice::from_ref(&entry)).await?;
        self.blocking(move |inner| inner.write(entry, Mode::Create))
            .await
    }

    pub(crate) async fn update(
        &self,
        id: String,
        mut draft: FaqDraft,
    ) -> Result<FaqEntry, FaqError> {
        draft.id = Some(id.clone());
        let entry = draft.into_entry(id)?;
        self.get(entry.id.clone()).await?;
        self.prepare(std::slice::from_ref(&entry)).await?;
        self.blocking(move |inner| inner.write(entry, Mode::Update))
            .await
    }

    pub(crate) async fn delete(&self, id: String) -> Result<(), FaqError> {
        self.blocking(move |inner| {
            inner
                .vectors
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            inner.index.edit(|edit| -> Result<(), FaqError> {
                let tree = inner.store.faq_tree();
                if tree
                    .remove(id.as_bytes())
                    .map_err(StoreError::from)?
                    .is_none()
                {
                    return Err(FaqError::NotFound(id.clone()));
                }
                inner.store.flush()?;
                edit.delete(&id);
                Ok(())
            })?
        })
        .await
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
            let hits = inner.index.search(&text, BM25_CANDIDATES.max(limit))?;
            let mut scored: Vec<(String, f32, Option<f32>)> = Vec::new();
            match &embedding {
                None => scored.extend(hits.into_iter().map(|h| (h.id, h.score, None))),
                Some(query) => {
                    let vectors = inner.vectors.read().unwrap_or_else(|p| p.into_inner());
                    let similarity = |id: &str| {
                        vectors
                            .get(id)
                            .map(|vs| vs.iter().map(|v| cosine(query, v)).fold(f32::MIN, f32::max))
                    };
                    let mut by_meaning: Vec<(&String, f32)> = vectors
                        .keys()
                        .filter_map(|id| similarity(id).map(|s| (id, s)))
                        .collect();
                    by_meaning.sort_by(|a, b| b.1.total_cmp(&a.1));
                    for h in hits {
                        let s = similarity(&h.id);
                        scored.push((h.id, h.score, s));
                    }
                    for (id, s) in by_meaning.into_iter().take(SEMANTIC_CANDIDATES) {
                        if !scored.iter().any(|(known, ..)| known == id) {
                            scored.push((id.clone(), 0.0, Some(s)));
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

    /// Create or update every draft (by id) in one index commit.
    pub async fn import(&self, drafts: Vec<FaqDraft>) -> Result<ImportReport, FaqError> {
        let entries = entries_of(drafts)?;
        self.prepare(&entries).await?;
        self.blocking(move |inner| inner.import(entries)).await
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
            let report = inner.import(entries_of(drafts)?)?;
            meta.insert(DEMO_LOADED, &[1u8][..])
                .map_err(StoreError::from)?;
            inner.store.flush()?;
            Ok(Some(report))
        })
        .await
    }
}

#[derive(PartialEq)]
enum Mode {
    Create,
    Update,
}

impl Inner {
    fn get(&self, id: &str) -> Result<Option<FaqEntry>, FaqError> {
        let bytes = self
            .store
            .faq_tree()
            .get(id.as_bytes())
            .map_err(StoreError::from)?;
        Ok(bytes
            .map(|b| crate::crm::decode_record::<FaqEntry>("faq entry", &b))
            .transpose()?)
    }

    fn all(&self) -> Result<Vec<FaqEntry>, FaqError> {
        self.store
            .faq_tree()
            .iter()
            .map(|kv| {
                let (_, v) = kv.map_err(StoreError::from)?;
                Ok(crate::crm::decode_record("faq entry", &v)?)
            })
            .collect()
    }

    fn write(&self, entry: FaqEntry, mode: Mode) -> Result<FaqEntry, FaqError> {
        self.index.edit(|edit| {
            let tree = self.store.faq_tree();
            let exists = tree
                .contains_key(entry.id.as_bytes())
                .map_err(StoreError::from)?;
            match mode {
                Mode::Create if exists => return Err(FaqError::Exists(entry.id.clone())),
                Mode::Update if !exists => return Err(FaqError::NotFound(entry.id.clone())),
                _ => {}
            }
            tree.insert(
                entry.id.as_bytes(),
                crate::crm::encode_record("faq entry", &entry)?,
            )
            .map_err(StoreError::from)?;
            self.store.flush()?;
            edit.upsert(&entry)?;
            Ok(entry)
        })?
    }

    fn import(&self, entries: Vec<FaqEntry>) -> Result<ImportReport, FaqError> {
        self.index.edit(|edit| {
            let tree = self.store.faq_tree();
            let mut report = ImportReport::default();
            for entry in &entries {
                let old = tree
                    .insert(
                        entry.id.as_bytes(),
                        crate::crm::encode_record("faq entry", entry)?,
                    )
                    .map_err(StoreError::from)?;
                if old.is_some() {
                    report.updated += 1;
                } else {
                    report.created += 1;
                }
                edit.upsert(entry)?;
            }
            self.store.flush()?;
            Ok(report)
        })?
    }
}

/// Validate drafts, numbering the first bad one.
fn entries_of(drafts: Vec<FaqDraft>) -> Result<Vec<FaqEntry>, FaqError> {
    Ok(drafts
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let id = d.id.clone().unwrap_or_else(|| entry::slug_id(&d.question));
            d.into_entry(id)
                .map_err(|e| InvalidEntry(format!("entry {}: {e}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?)
}

/// The texts a customer's question is compared with: the question and
/// every phrasing.
async fn embed_entries(
    nlu: &Nlu,
    entries: &[FaqEntry],
) -> Result<HashMap<String, Vec<Vec<f32>>>, FaqError> {
    let mut texts = Vec::new();
    let mut owners = Vec::new();
    for e in entries {
        for t in std::iter::once(&e.question).chain(&e.phrasings) {
            texts.push(t.clone());
            owners.push(e.id.clone());
        }
    }
    let embeddings = nlu.embed(texts).await?;
    let mut out: HashMap<String, Vec<Vec<f32>>> = HashMap::new();
    for (id, v) in owners.into_iter().zip(embeddings) {
        out.entry(id).or_default().push(v);
    }
    Ok(out)
}

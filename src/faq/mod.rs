//! The FAQ: entries authors write, and the search the bot answers from.
//!
//! The store's `faq` tree is the source of truth; the tantivy index in
//! `<data-dir>/faq-index` is derived from it and rebuilt whenever it is
//! missing, damaged or out of step (and by `frontdesk faq reindex`). Every
//! edit writes the store, flushes it, then updates and commits the index
//! under the index's single writer lock, so once an edit call returns the
//! entry is durable and searchable. All tantivy and sled work runs on the
//! blocking pool.

mod entry;
mod index;
pub mod io;

use std::path::Path;
use std::sync::Arc;

pub use entry::{valid_id, FaqDraft, FaqEntry, InvalidEntry};
pub use index::IndexError;

use crate::crm::{Store, StoreError};
use index::FaqIndex;

/// The demo FAQ of a fictional shop, loaded into an empty store once.
pub const DEMO_FAQ: &str = include_str!("demo.yaml");
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
}

/// An entry found by a search, with its BM25 score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredEntry {
    pub entry: FaqEntry,
    pub score: f32,
}

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
}

impl Faq {
    /// Open the index under `data_dir`, rebuilding it from the store when it
    /// is new, damaged or holds a different number of entries.
    pub fn open(store: Store, data_dir: &Path) -> Result<Self, FaqError> {
        let (index, fresh) = FaqIndex::open(&data_dir.join("faq-index"))?;
        let faq = Self {
            inner: Arc::new(Inner { store, index }),
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

    pub async fn create(&self, draft: FaqDraft) -> Result<FaqEntry, FaqError> {
        self.blocking(move |inner| {
            let id = draft.id.clone().unwrap_or_else(entry::new_id);
            let entry = draft.into_entry(id)?;
            inner.write(entry, Mode::Create)
        })
        .await
    }

    pub async fn update(&self, id: String, mut draft: FaqDraft) -> Result<FaqEntry, FaqError> {
        self.blocking(move |inner| {
            draft.id = Some(id.clone());
            let entry = draft.into_entry(id)?;
            inner.write(entry, Mode::Update)
        })
        .await
    }

    pub async fn delete(&self, id: String) -> Result<(), FaqError> {
        self.blocking(move |inner| {
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

    pub async fn get(&self, id: String) -> Result<FaqEntry, FaqError> {
        self.blocking(move |inner| inner.get(&id)?.ok_or(FaqError::NotFound(id)))
            .await
    }

    /// Every entry, ordered by id.
    pub async fn list(&self) -> Result<Vec<FaqEntry>, FaqError> {
        self.blocking(|inner| inner.all()).await
    }

    /// The `limit` best entries for `text`, best first.
    pub async fn search(&self, text: String, limit: usize) -> Result<Vec<ScoredEntry>, FaqError> {
        self.blocking(move |inner| {
            let hits = inner.index.search(&text, limit)?;
            let mut out = Vec::with_capacity(hits.len());
            for hit in hits {
                // An entry deleted between search and read is skipped.
                if let Some(entry) = inner.get(&hit.id)? {
                    out.push(ScoredEntry {
                        entry,
                        score: hit.score,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    /// Create or update every draft (by id) in one index commit.
    pub async fn import(&self, drafts: Vec<FaqDraft>) -> Result<ImportReport, FaqError> {
        self.blocking(move |inner| inner.import(drafts)).await
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
            let report = inner.import(drafts)?;
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
            tree.insert(entry.id.as_bytes(), crate::crm::encode_record(&entry))
                .map_err(StoreError::from)?;
            self.store.flush()?;
            edit.upsert(&entry)?;
            Ok(entry)
        })?
    }

    fn import(&self, drafts: Vec<FaqDraft>) -> Result<ImportReport, FaqError> {
        let entries = drafts
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                let id = d.id.clone().unwrap_or_else(entry::new_id);
                d.into_entry(id)
                    .map_err(|e| InvalidEntry(format!("entry {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.index.edit(|edit| {
            let tree = self.store.faq_tree();
            let mut report = ImportReport::default();
            for entry in &entries {
                let old = tree
                    .insert(entry.id.as_bytes(), crate::crm::encode_record(entry))
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

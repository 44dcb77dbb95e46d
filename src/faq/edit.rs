//! Writes to the FAQ's source of truth, its index and its vector graph,
//! always together under the index's single writer lock (see
//! `FaqIndex::edit`), so concurrent edits reach all three in one order.
//! Every function here blocks: call it from the blocking pool.

use super::entry::{self, FaqDraft, FaqEntry, InvalidEntry};
use super::{FaqError, Graph, ImportReport, Inner, Prepared};
use crate::crm::StoreError;

#[derive(PartialEq)]
pub(super) enum Mode {
    Create,
    Update,
}

impl Inner {
    pub(super) fn get(&self, id: &str) -> Result<Option<FaqEntry>, FaqError> {
        let bytes = self
            .store
            .faq_tree()
            .get(id.as_bytes())
            .map_err(StoreError::from)?;
        Ok(bytes
            .map(|b| crate::crm::decode_record::<FaqEntry>("faq entry", &b))
            .transpose()?)
    }

    pub(super) fn all(&self) -> Result<Vec<FaqEntry>, FaqError> {
        self.store
            .faq_tree()
            .iter()
            .map(|kv| {
                let (_, v) = kv.map_err(StoreError::from)?;
                Ok(crate::crm::decode_record("faq entry", &v)?)
            })
            .collect()
    }

    /// Apply prepared vectors to the graphs attached.
    pub(super) fn apply(&self, vectors: Prepared) -> Result<(), FaqError> {
        for (graph, vectors) in [
            (Graph::Understanding, vectors.understanding),
            (Graph::Multilingual, vectors.multilingual),
        ] {
            if let Some(s) = self.semantic(graph) {
                for v in vectors.into_iter().flatten() {
                    s.apply(v)?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn write(
        &self,
        entry: FaqEntry,
        mode: Mode,
        vectors: Prepared,
    ) -> Result<FaqEntry, FaqError> {
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
            self.apply(vectors)?;
            self.store.flush()?;
            edit.upsert(&entry)?;
            Ok(entry)
        })?
    }

    pub(super) fn import(
        &self,
        entries: Vec<FaqEntry>,
        vectors: Prepared,
    ) -> Result<ImportReport, FaqError> {
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
            self.apply(vectors)?;
            self.store.flush()?;
            Ok(report)
        })?
    }
}

/// Validate drafts, numbering the first bad one.
pub(super) fn entries_of(drafts: Vec<FaqDraft>) -> Result<Vec<FaqEntry>, FaqError> {
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

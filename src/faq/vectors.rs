//! The FAQ's vector graphs: the understanding model's, attached at
//! start, and the multilingual model's, attached in the background with
//! the first message in another language. Attaching them, embedding an
//! edit's texts for each before it is written, saving them, and the
//! searches that only they answer.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::semantic::{Embedder, EntryVectors, Semantic, Walk};
use super::{Faq, FaqEntry, FaqError, Inner, ScoredEntry};
use crate::nlu::multilingual::Multilingual;
use crate::nlu::Nlu;

/// Entries the multilingual search ranks (see `search_multilingual`).
const MULTILINGUAL_CANDIDATES: usize = 20;
/// How long after an edit the vector graph is saved (it is saved at
/// shutdown too; a graph that missed edits is rebuilt at start).
const SAVE_DELAY: Duration = Duration::from_secs(10);

/// Which of the FAQ's two vector graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Graph {
    Understanding,
    Multilingual,
}

impl Graph {
    pub(super) const ALL: [Graph; 2] = [Graph::Understanding, Graph::Multilingual];
}

/// Embeddings prepared for an edit, per graph attached.
#[derive(Debug, Default)]
pub(super) struct Prepared {
    pub(super) understanding: Option<Vec<EntryVectors>>,
    pub(super) multilingual: Option<Vec<EntryVectors>>,
}

/// Attaching the multilingual graph, which happens once, in the
/// background, started by the first message that needs it.
#[derive(Default)]
pub(super) struct Attaching {
    /// An attempt in the background.
    attempt: crate::background::OneRun,
    /// Told when an attempt ends.
    done: Notify,
    /// When the first attempt began.
    since: OnceLock<Instant>,
}

impl Inner {
    pub(super) fn semantic(&self, graph: Graph) -> Option<&Semantic> {
        match graph {
            Graph::Understanding => self.semantic.get(),
            Graph::Multilingual => self.multilingual.get(),
        }
    }
}

impl Faq {
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
    /// meanwhile, so `Faq::search_multilingual` finds entries by meaning
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
        let attaching = &self.inner.attaching;
        // Before the check, so that an attempt ending in between is heard.
        let ended = attaching.done.notified();
        if self.multilingual_attached() {
            return true;
        }
        let (faq, model) = (self.clone(), model.clone());
        attaching.attempt.start(async move {
            if let Err(e) = faq.attach_multilingual(model).await {
                tracing::warn!(error = %e, "cannot attach the multilingual model to the faq; will try again");
            }
            faq.inner.attaching.done.notify_waiters();
        });
        let since = *attaching.since.get_or_init(Instant::now);
        let left = (since + window).saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(wait.min(left), ended).await;
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
        self.walk(embedding, limit, (!exact).then(Vec::new)).await
    }

    /// The graph walk of a turn's hybrid search: the `limit` entries
    /// closest in meaning to `embedding`, walked to also from the texts of
    /// the entries `around` (its keyword hits).
    pub async fn nearest_around(
        &self,
        embedding: Vec<f32>,
        limit: usize,
        around: Vec<String>,
    ) -> Result<Vec<(String, f32)>, FaqError> {
        self.walk(embedding, limit, Some(around)).await
    }

    /// [`Faq::nearest`] through the graph walked from `around`, or
    /// exactly when `None`.
    async fn walk(
        &self,
        embedding: Vec<f32>,
        limit: usize,
        around: Option<Vec<String>>,
    ) -> Result<Vec<(String, f32)>, FaqError> {
        self.blocking(move |inner| {
            let ids: Vec<&str> = around.iter().flatten().map(String::as_str).collect();
            let walk = match around {
                Some(_) => Walk::Graph { around: &ids },
                None => Walk::Exact,
            };
            Ok(inner
                .semantic
                .get()
                .map(|s| s.nearest(&embedding, limit, walk))
                .unwrap_or_default())
        })
        .await
    }

    /// Embed entries before they are written (reusing stored embeddings
    /// of unchanged texts), so an entry is never searchable without its
    /// vectors: by each model attached.
    pub(super) async fn prepare(&self, entries: &[FaqEntry]) -> Result<Prepared, FaqError> {
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
    pub(super) fn save_later(&self) {
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

    /// The `limit` entries closest in meaning to `embedding`, a message's
    /// embedding by the multilingual model, best first; no BM25 (the
    /// FAQ's words are English). Empty until the model is attached.
    pub(crate) async fn search_multilingual(
        &self,
        embedding: Vec<f32>,
        limit: usize,
    ) -> Result<Vec<ScoredEntry>, FaqError> {
        self.point(move |inner| {
            let Some(s) = inner.multilingual.get() else {
                return Ok(Vec::new());
            };
            // The closest by any text, then ranked by phrasings and answer.
            let mut out = Vec::with_capacity(MULTILINGUAL_CANDIDATES);
            for (id, _) in s.nearest(
                &embedding,
                MULTILINGUAL_CANDIDATES.max(limit),
                Walk::Graph { around: &[] },
            ) {
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
    }
}

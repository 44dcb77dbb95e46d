//! Transcript search for agents: find conversations by the customer's
//! name or email or by words said in them, with filters on what the
//! conversation is now (status, reason, agent, label, date).
//!
//! Every stored message reaches the index through the hub's feed
//! ([`crate::room::Hub::feed`]); a background task adds them in batches,
//! so search is current within moments of a message and never holds up a
//! turn. The index is in memory ([`index`]) and rebuilt from the store at
//! start; conversations that are erased or removed leave it at once.

mod index;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::crm::{
    AgentRef, CommitError, Conversation, ConversationId, ConversationStatus, CustomerId, EventKind,
    Message, Store, StoreError, WeakStore,
};
use index::TranscriptIndex;

/// Messages waiting for the indexer; beyond this the feed drops them
/// (logged) rather than slow a turn down.
pub(crate) const FEED_BUFFER: usize = 16_384;
/// The least time between two commits of the index.
const COMMIT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// Most conversations the index scores before the filters apply.
const CANDIDATES: usize = 500;

/// What the indexer is told.
#[derive(Debug, Clone)]
pub(crate) enum Feed {
    Message(ConversationId, Arc<Message>),
    Forget(ConversationId),
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SearchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("transcript index failed: {0}")]
    Index(#[from] tantivy::TantivyError),
}

impl crate::error::Coded for SearchError {
    fn code(&self) -> crate::error::ErrorCode {
        match self {
            SearchError::Store(e) => e.code(),
            SearchError::Index(_) => crate::error::ErrorCode::Internal,
        }
    }
}

/// What to look for; every part optional.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchQuery {
    pub words: String,
    pub status: Option<ConversationStatus>,
    pub reason: Option<String>,
    pub agent: Option<String>,
    pub label: Option<String>,
    /// Opened on or after this day, on or before that (UTC).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub limit: usize,
}

/// One conversation found.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Hit {
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    pub status: ConversationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    pub labels: Vec<String>,
    pub opened_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    pub snippet: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SearchResults {
    pub total: usize,
    pub hits: Vec<Hit>,
}

/// The search, shared by the REST handlers. It does not keep the store
/// open: the indexer stops when the server lets go of it.
#[derive(Clone)]
pub(crate) struct Transcripts {
    store: WeakStore,
    index: Arc<Mutex<TranscriptIndex>>,
}

impl Transcripts {
    /// An empty index over `store`; [`start`](Self::start) fills it.
    pub(crate) fn new(store: &Store) -> Result<Self, SearchError> {
        Ok(Self {
            store: store.downgrade(),
            index: Arc::new(Mutex::new(TranscriptIndex::new()?)),
        })
    }

    /// Start the indexer on `feed`: it first indexes every stored
    /// conversation, then follows the feed until shutdown.
    pub(crate) fn start(
        &self,
        feed: mpsc::Receiver<Feed>,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.clone().run(feed, shutdown))
    }

    /// The store, or `unavailable` once the server has let go of it.
    fn store(&self) -> Result<Store, StoreError> {
        self.store
            .upgrade()
            .ok_or(StoreError::Commit(CommitError::Closed))
    }

    async fn run(self, mut feed: mpsc::Receiver<Feed>, shutdown: CancellationToken) {
        let mut known = HashSet::new();
        let rebuilt = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = self.rebuild(&mut known) => r,
        };
        match rebuilt {
            Ok(n) => tracing::info!(conversations = n, "transcript index built"),
            Err(e) => {
                tracing::error!(error = %e, "transcript index not built; search finds only new messages")
            }
        }
        loop {
            let first = tokio::select! {
                _ = shutdown.cancelled() => return,
                f = feed.recv() => match f { Some(f) => f, None => return },
            };
            let mut batch = vec![first];
            while batch.len() < 1024 {
                match feed.try_recv() {
                    Ok(f) => batch.push(f),
                    Err(_) => break,
                }
            }
            if let Err(e) = self.apply(batch, &mut known).await {
                tracing::warn!(error = %e, "transcript index update failed");
            }
            // Under load, messages gather meanwhile: one commit a while
            // rather than one per message.
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(COMMIT_EVERY) => {}
            }
        }
    }

    /// Index every stored conversation; how many.
    async fn rebuild(&self, known: &mut HashSet<ConversationId>) -> Result<usize, SearchError> {
        let mut cursor = None;
        let mut n = 0;
        loop {
            let store = self.store()?;
            let page = store.list_conversations(cursor, 200).await?;
            for c in &page.conversations {
                let events = store.conversation_events(c.id).await?;
                let who = customer_words(&store, c.customer_id).await;
                let index = self.index.clone();
                let id = c.id;
                tokio::task::spawn_blocking(move || -> tantivy::Result<()> {
                    let mut ix = index.lock().unwrap_or_else(|p| p.into_inner());
                    ix.forget(id);
                    if let Some(who) = who {
                        ix.add_customer(id, &who)?;
                    }
                    for e in events {
                        if let EventKind::Message { message } = e.kind {
                            ix.add_message(id, &message.text)?;
                        }
                    }
                    Ok(())
                })
                .await
                .map_err(|e| StoreError::Task(e.to_string()))??;
                known.insert(c.id);
                n += 1;
            }
            self.commit().await?;
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(n),
            }
        }
    }

    async fn apply(
        &self,
        batch: Vec<Feed>,
        known: &mut HashSet<ConversationId>,
    ) -> Result<(), SearchError> {
        let store = self.store()?;
        let mut people = Vec::new();
        for f in &batch {
            if let Feed::Message(id, _) = f {
                if known.insert(*id) {
                    let who = match store.conversation(*id).await {
                        Ok(c) => customer_words(&store, c.customer_id).await,
                        Err(_) => None,
                    };
                    people.extend(who.map(|w| (*id, w)));
                }
            }
        }
        for f in &batch {
            if let Feed::Forget(id) = f {
                known.remove(id);
            }
        }
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || -> tantivy::Result<()> {
            let mut ix = index.lock().unwrap_or_else(|p| p.into_inner());
            for (id, who) in people {
                ix.add_customer(id, &who)?;
            }
            for f in batch {
                match f {
                    Feed::Message(id, m) => ix.add_message(id, &m.text)?,
                    Feed::Forget(id) => ix.forget(id),
                }
            }
            ix.commit()
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(())
    }

    async fn commit(&self) -> Result<(), SearchError> {
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || {
            index.lock().unwrap_or_else(|p| p.into_inner()).commit()
        })
        .await
        .map_err(|e| StoreError::Task(e.to_string()))??;
        Ok(())
    }

    /// Conversations matching `q`: best match first when there are words,
    /// newest first otherwise.
    pub(crate) async fn search(&self, q: SearchQuery) -> Result<SearchResults, SearchError> {
        let store = self.store()?;
        let limit = q.limit.clamp(1, 200);
        let candidates: Vec<(Conversation, String)> = if q.words.trim().is_empty() {
            newest(&store, &q, limit).await?
        } else {
            let index = self.index.clone();
            let words = q.words.clone();
            let found = tokio::task::spawn_blocking(move || {
                index
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .search(&words, CANDIDATES)
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;
            let mut out = Vec::with_capacity(found.len());
            for f in found {
                match store.conversation(f.conversation_id).await {
                    Ok(c) if matches(&c, &q) => out.push((c, f.snippet)),
                    Ok(_) | Err(StoreError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            out
        };
        let total = candidates.len();
        let mut hits = Vec::with_capacity(limit.min(total));
        for (c, snippet) in candidates.into_iter().take(limit) {
            let customer = store.customer(c.customer_id).await.ok();
            hits.push(Hit {
                conversation_id: c.id,
                customer_id: c.customer_id,
                customer_name: customer.as_ref().and_then(|x| x.name.clone()),
                customer_email: customer.and_then(|x| x.email),
                status: c.status,
                reason: c.escalation.as_ref().map(|e| e.code.as_str()),
                agent: c.assigned.clone(),
                labels: c.labels.clone(),
                opened_at: c.opened_at,
                closed_at: c.closed_at,
                snippet,
            });
        }
        Ok(SearchResults { total, hits })
    }
}

/// The customer's name and email as one searchable text.
async fn customer_words(store: &Store, id: CustomerId) -> Option<String> {
    let c = store.customer(id).await.ok()?;
    let words = [c.name, c.email].into_iter().flatten().collect::<Vec<_>>();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Without words: the newest conversations that pass the filters.
async fn newest(
    store: &Store,
    q: &SearchQuery,
    limit: usize,
) -> Result<Vec<(Conversation, String)>, SearchError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_conversations(cursor, 200).await?;
        for c in page.conversations {
            if q.from.is_some_and(|from| c.opened_at.date_naive() < from) {
                return Ok(out);
            }
            if c.last_seq > 0 && matches(&c, q) {
                out.push((c, String::new()));
            }
        }
        match page.next_cursor {
            Some(next) if out.len() < CANDIDATES.max(limit) => cursor = Some(next),
            _ => return Ok(out),
        }
    }
}

/// Whether conversation `c` passes the filters of `q`.
fn matches(c: &Conversation, q: &SearchQuery) -> bool {
    let day = c.opened_at.date_naive();
    q.status.is_none_or(|s| c.status == s)
        && q.reason
            .as_deref()
            .is_none_or(|r| c.escalation.as_ref().is_some_and(|e| e.code.as_str() == r))
        && q.agent
            .as_deref()
            .is_none_or(|a| c.assigned.as_ref().is_some_and(|x| x.id == a))
        && q.label
            .as_deref()
            .is_none_or(|l| c.labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
        && q.from.is_none_or(|f| day >= f)
        && q.to.is_none_or(|t| day <= t)
}

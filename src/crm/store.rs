//! Opening the database and the plumbing shared by the record types.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::commit::{CommitError, GroupCommit};
use crate::error::{Coded, ErrorCode};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}. If another frontdesk is running on this data directory, stop it; if the files are damaged, restore them from a backup")]
    Open { path: String, source: sled::Error },
    #[error("store I/O failed: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored {what} is unreadable: {message}")]
    Corrupt { what: &'static str, message: String },
    #[error("cannot encode {what} for storage: {message}")]
    Encode { what: &'static str, message: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the conversation is closed")]
    Closed,
    #[error("the bot does not speak while a person handles the conversation")]
    BotNotInCharge,
    #[error("this conversation is not assigned to you; claim it first")]
    NotAssigned,
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error("store task failed: {0}")]
    Task(String),
}

impl Coded for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Closed | StoreError::BotNotInCharge | StoreError::NotAssigned => {
                ErrorCode::Conflict
            }
            StoreError::Commit(CommitError::Closed) => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// The handle to the database. Clones share one sled instance and one
/// committer thread.
#[derive(Clone)]
pub struct Store {
    pub(super) commit: GroupCommit,
    pub(super) trees: Arc<Trees>,
}

/// Every tree of the database, opened once.
pub(super) struct Trees {
    pub customers: sled::Tree,
    pub customers_by_external: sled::Tree,
    pub conversations: sled::Tree,
    pub conversations_by_time: sled::Tree,
    pub customer_conversations: sled::Tree,
    pub resume_tokens: sled::Tree,
    pub events: sled::Tree,
    pub messages: sled::Tree,
    pub client_ids: sled::Tree,
    /// Conversations that are `queued` or `agent`, by id: the agent queue
    /// to rebuild at start.
    pub handoffs: sled::Tree,
    pub credentials: sled::Tree,
    pub faq: sled::Tree,
    /// Embeddings of FAQ texts by `sha256(model fingerprint ‖ text)`.
    pub faq_vectors: sled::Tree,
    pub meta: sled::Tree,
}

impl Store {
    /// Open (or create) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("store");
        let db = sled::Config::new()
            .path(&path)
            .mode(sled::Mode::LowSpace)
            .open()
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let tree = |name: &str| db.open_tree(name);
        let trees = Trees {
            customers: tree("customers")?,
            customers_by_external: tree("customers_by_external")?,
            conversations: tree("conversations")?,
            conversations_by_time: tree("conversations_by_time")?,
            customer_conversations: tree("customer_conversations")?,
            resume_tokens: tree("resume_tokens")?,
            events: tree("events")?,
            messages: tree("messages")?,
            client_ids: tree("client_ids")?,
            handoffs: tree("handoffs")?,
            credentials: tree("credentials")?,
            faq: tree("faq")?,
            faq_vectors: tree("faq_vectors")?,
            meta: tree("meta")?,
        };
        let commit = GroupCommit::start(db, &path).map_err(|e| StoreError::Task(e.to_string()))?;
        Ok(Self {
            commit,
            trees: Arc::new(trees),
        })
    }

    /// Run `f` on the blocking pool with a clone of the store.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
    }

    /// Whether writes can still be made durable (cheap; for readiness).
    pub(crate) fn healthy(&self) -> bool {
        self.commit.healthy()
    }

    /// Wait until every write made so far is on disk.
    pub(crate) async fn durable(&self) -> Result<(), StoreError> {
        Ok(self.commit.durable().await?)
    }

    /// Make every write made so far durable on this thread; for blocking
    /// callers and shutdown.
    pub fn flush(&self) -> Result<(), StoreError> {
        Ok(self.commit.flush()?)
    }

    /// The tree that holds FAQ entries, the source of truth of the index.
    pub(crate) fn faq_tree(&self) -> &sled::Tree {
        &self.trees.faq
    }

    /// The embeddings of FAQ texts (see `faq::semantic`).
    pub(crate) fn faq_vectors_tree(&self) -> &sled::Tree {
        &self.trees.faq_vectors
    }

    pub(crate) fn meta_tree(&self) -> &sled::Tree {
        &self.trees.meta
    }
}

pub(crate) fn encode_record<T: Serialize>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode {
        what,
        message: e.to_string(),
    })
}

pub(crate) fn decode_record<T: DeserializeOwned>(
    what: &'static str,
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what,
        message: e.to_string(),
    })
}

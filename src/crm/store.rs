//! Opening the database and the plumbing shared by the record types.

use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::commit::{CommitError, GroupCommit};
use super::keyring::{KeyError, Keyring, Opened};
use super::master_key::MasterKey;
use super::model::CustomerId;
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
    #[error("the shortcut /{0} is taken by another reply; choose another")]
    ShortcutTaken(String),
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("store task failed: {0}")]
    Task(String),
}

impl Coded for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Closed
            | StoreError::BotNotInCharge
            | StoreError::NotAssigned
            | StoreError::ShortcutTaken(_) => ErrorCode::Conflict,
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
    pub(super) keys: Arc<Keyring>,
}

/// A handle to the store that does not keep it open: for background
/// tasks that must not hold the database past the server's end.
#[derive(Clone)]
pub(crate) struct WeakStore {
    commit: super::commit::WeakGroupCommit,
    trees: std::sync::Weak<Trees>,
    keys: std::sync::Weak<Keyring>,
}

impl WeakStore {
    /// The store, while anything else still holds it.
    pub(crate) fn upgrade(&self) -> Option<Store> {
        Some(Store {
            commit: self.commit.upgrade()?,
            trees: self.trees.upgrade()?,
            keys: self.keys.upgrade()?,
        })
    }
}

/// Every tree of the database, opened once.
pub(super) struct Trees {
    /// Sealed with the customer's key.
    pub customers: sled::Tree,
    /// Keyed hash of the external id → customer id.
    pub customers_by_external: sled::Tree,
    /// Keyed hash of the email ‖ customer id → nothing.
    pub customers_by_email: sled::Tree,
    pub conversations: sled::Tree,
    pub conversations_by_time: sled::Tree,
    pub customer_conversations: sled::Tree,
    pub resume_tokens: sled::Tree,
    /// Conversation id → the hash of its resume token, to remove it with
    /// the conversation.
    pub conversation_resume: sled::Tree,
    /// Sealed with the customer's key.
    pub events: sled::Tree,
    pub messages: sled::Tree,
    pub client_ids: sled::Tree,
    /// Conversations that are `queued` or `agent`, by id: the agent queue
    /// to rebuild at start.
    pub handoffs: sled::Tree,
    pub credentials: sled::Tree,
    /// Canned replies by id, and their shortcuts → id.
    pub canned: sled::Tree,
    pub canned_shortcuts: sled::Tree,
    pub faq: sled::Tree,
    /// Embeddings of FAQ texts by `sha256(model fingerprint ‖ text)`.
    pub faq_vectors: sled::Tree,
    /// The same for the multilingual model, kept apart so that each model's
    /// sweep leaves the other's vectors alone.
    pub faq_vectors_multilingual: sled::Tree,
    pub meta: sled::Tree,
    /// Customers whose erasure has begun and not finished.
    pub erasures: sled::Tree,
    /// Who read or removed what (`crm::audit`).
    pub audit: sled::Tree,
}

impl Store {
    /// Open (or create) the store under `dir`, its records sealed under
    /// data keys that `master` wraps. Finishes any erasure a crash
    /// interrupted and seals records written before sealing existed.
    pub fn open(dir: &Path, master: &MasterKey) -> Result<Self, StoreError> {
        let keys = Arc::new(Keyring::open(dir, master)?);
        let path = dir.join("store");
        super::rewrite::recover(&path)?;
        let mut store = Self::open_db(&path, keys.clone())?;
        if store.seal_legacy_records()? {
            store.flush()?;
            drop(store);
            super::rewrite::rewrite(&path)?;
            tracing::info!("store rewritten without the records from before sealing");
            store = Self::open_db(&path, keys)?;
        }
        store.finish_erasures()?;
        store.forget_orphan_keys()?;
        store.flush()?;
        Ok(store)
    }

    fn open_db(path: &Path, keys: Arc<Keyring>) -> Result<Self, StoreError> {
        let db = open_sled(path)?;
        let tree = |name: &str| db.open_tree(name);
        let trees = Trees {
            customers: tree("customers")?,
            customers_by_external: tree("customers_by_external")?,
            customers_by_email: tree("customers_by_email")?,
            conversations: tree("conversations")?,
            conversations_by_time: tree("conversations_by_time")?,
            customer_conversations: tree("customer_conversations")?,
            resume_tokens: tree("resume_tokens")?,
            conversation_resume: tree("conversation_resume")?,
            events: tree("events")?,
            messages: tree("messages")?,
            client_ids: tree("client_ids")?,
            handoffs: tree("handoffs")?,
            credentials: tree("credentials")?,
            canned: tree("canned")?,
            canned_shortcuts: tree("canned_shortcuts")?,
            faq: tree("faq")?,
            faq_vectors: tree("faq_vectors")?,
            faq_vectors_multilingual: tree("faq_vectors_multilingual")?,
            meta: tree("meta")?,
            erasures: tree("erasures")?,
            audit: tree("audit")?,
        };
        let commit = GroupCommit::start(db, path).map_err(|e| StoreError::Task(e.to_string()))?;
        Ok(Self {
            commit,
            trees: Arc::new(trees),
            keys,
        })
    }

    pub(crate) fn downgrade(&self) -> WeakStore {
        WeakStore {
            commit: self.commit.downgrade(),
            trees: Arc::downgrade(&self.trees),
            keys: Arc::downgrade(&self.keys),
        }
    }

    /// Seal `value` for `customer`, bound to its place (`tree`, `key`).
    pub(super) fn seal<T: Serialize>(
        &self,
        what: &'static str,
        customer: CustomerId,
        tree: &str,
        key: &[u8],
        value: &T,
    ) -> Result<Vec<u8>, StoreError> {
        let plain = encode_record(what, value)?;
        match self.keys.seal(customer, &place(tree, key), &plain) {
            Ok(sealed) => Ok(sealed),
            Err(KeyError::Erased) => Err(StoreError::NotFound("customer")),
            Err(e) => Err(e.into()),
        }
    }

    /// Open a sealed record; `None` if its customer has been erased.
    pub(super) fn unseal<T: DeserializeOwned>(
        &self,
        what: &'static str,
        tree: &str,
        key: &[u8],
        stored: &[u8],
    ) -> Result<Option<T>, StoreError> {
        match self.keys.unseal(&place(tree, key), stored) {
            Ok(Opened::Plain(plain)) => decode_record(what, &plain).map(Some),
            Ok(Opened::Shredded) => Ok(None),
            Err(KeyError::Damaged(why)) => Err(StoreError::Corrupt {
                what,
                message: why.to_owned(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Run `f`, a read or write of a few keys, here on the caller's task.
    /// sled answers those from memory in microseconds, while a trip to the
    /// blocking pool costs two thread wake-ups; a turn makes several.
    /// Durability is separate ([`Store::durable`]): the `fsync` runs on
    /// the committer thread. Scans and bulk work use [`Store::blocking`].
    pub(crate) fn point<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(self)
    }

    /// Run `f` on the blocking pool with a clone of the store: for scans
    /// and bulk work that may take a while.
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

    /// Wait, at most `limit`, until this is the only handle left, so that
    /// dropping it closes the database (and frees its lock) at once;
    /// whether it is. Background tasks hold the store only for a moment
    /// (a [`WeakStore`] upgraded for one step), so at shutdown this is
    /// quick.
    pub(crate) async fn sole_handle(&self, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while Arc::strong_count(&self.trees) > 1 {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        true
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

    /// The embeddings of FAQ texts by the multilingual model.
    pub(crate) fn faq_multilingual_vectors_tree(&self) -> &sled::Tree {
        &self.trees.faq_vectors_multilingual
    }

    pub(crate) fn meta_tree(&self) -> &sled::Tree {
        &self.trees.meta
    }
}

/// The sled database at `path`, as the store configures it.
pub(super) fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path)
        .mode(sled::Mode::LowSpace)
        .open()
        .map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })
}

/// The associated data that binds a sealed record to where it is stored.
fn place(tree: &str, key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(tree.len() + 1 + key.len());
    aad.extend_from_slice(tree.as_bytes());
    aad.push(0);
    aad.extend_from_slice(key);
    aad
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

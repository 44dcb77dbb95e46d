//! Group commit: many writers, one `fsync`.
//!
//! A writer first applies its change to sled (cheap, in memory), then asks
//! the committer for durability and awaits the answer. The committer thread
//! takes every request that is waiting, flushes the database once, and
//! answers them all. A flush covers every write that happened before it
//! started, so concurrent writers share one flush and none is acknowledged
//! before its data is on disk.

use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<(), Arc<sled::Error>>>;

/// Handle to the committer thread; cheap to clone. When the last clone is
/// dropped the thread finishes its flush and is joined, so the database is
/// closed (and its lock released) by the time the drop returns.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    inner: Arc<Committer>,
}

struct Committer {
    /// `None` only while dropping.
    requests: Option<mpsc::Sender<Reply>>,
    /// Taken and joined on drop.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.requests = None;
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// Why a write could not be made durable.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("flushing the store failed: {0}")]
    Flush(Arc<sled::Error>),
    #[error("the server is shutting down")]
    Closed,
}

impl GroupCommit {
    /// Start the committer thread for `db`. It stops when the last handle
    /// is dropped.
    pub(crate) fn start(db: sled::Db) -> std::io::Result<Self> {
        let (requests, mut rx) = mpsc::channel::<Reply>(4096);
        let thread = thread::Builder::new()
            .name("frontdesk-commit".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut waiting = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        waiting.push(more);
                    }
                    let result = db.flush().map(|_| ()).map_err(Arc::new);
                    if let Err(e) = &result {
                        tracing::error!(error = %e, "store flush failed");
                    }
                    for reply in waiting {
                        let _ = reply.send(result.clone());
                    }
                }
            })?;
        Ok(Self {
            inner: Arc::new(Committer {
                requests: Some(requests),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// Wait until everything written before this call is on disk.
    pub(crate) async fn durable(&self) -> Result<(), CommitError> {
        let (tx, rx) = oneshot::channel();
        let requests = self.inner.requests.as_ref().ok_or(CommitError::Closed)?;
        requests.send(tx).await.map_err(|_| CommitError::Closed)?;
        rx.await
            .map_err(|_| CommitError::Closed)?
            .map_err(CommitError::Flush)
    }
}

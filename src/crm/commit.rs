//! Group commit: many writers, one `fsync`.
//!
//! A writer first applies its change to sled (cheap, in memory), then asks
//! the committer for durability and awaits the answer. The committer thread
//! takes every request that is waiting, makes the database durable once,
//! and answers them all. That covers every write that happened before it
//! started, so concurrent writers share one `fsync` and none is
//! acknowledged before its data is on disk.
//!
//! "On disk" means it survives a power cut, not only a crash of the
//! process. sled 0.34's own `flush` writes its log with `sync_file_range`,
//! which starts the write-back but flushes neither the disk's write cache
//! nor the file's size; sled calls `fsync` only when it closes. So after
//! each flush the committer syncs the store's files itself ([`StoreFiles`])
//! and answers only then.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<(), CommitError>>;

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
    /// Shared with the thread, for [`GroupCommit::flush`].
    disk: Arc<Disk>,
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
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommitError {
    #[error("flushing the store failed: {0}")]
    Flush(Arc<sled::Error>),
    #[error("syncing the store to disk failed: {0}. No write is acknowledged until frontdesk restarts: check the disk and the kernel log (dmesg), then restart it")]
    Sync(Arc<io::Error>),
    #[error("the server is shutting down")]
    Closed,
}

/// A handle that does not keep the committer (and so the store) alive.
#[derive(Clone)]
pub(crate) struct WeakGroupCommit {
    inner: std::sync::Weak<Committer>,
}

impl WeakGroupCommit {
    pub(crate) fn upgrade(&self) -> Option<GroupCommit> {
        self.inner.upgrade().map(|inner| GroupCommit { inner })
    }
}

impl GroupCommit {
    pub(crate) fn downgrade(&self) -> WeakGroupCommit {
        WeakGroupCommit {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// Start the committer thread for `db`, which sled opened at `path`.
    /// It syncs the store's files once now (sled does not sync the files it
    /// creates) and stops when the last handle is dropped.
    pub(crate) fn start(db: sled::Db, path: &Path) -> io::Result<Self> {
        let disk = Arc::new(Disk {
            db,
            state: Mutex::new(SyncState {
                files: StoreFiles::open(path)?,
                failed: None,
            }),
            healthy: AtomicBool::new(true),
        });
        let (requests, mut rx) = mpsc::channel::<Reply>(4096);
        let committer = disk.clone();
        let thread = thread::Builder::new()
            .name("frontdesk-commit".into())
            .spawn(move || {
                while let Some(first) = rx.blocking_recv() {
                    let mut waiting = vec![first];
                    while let Ok(more) = rx.try_recv() {
                        waiting.push(more);
                    }
                    let result = committer.make_durable();
                    for reply in waiting {
                        let _ = reply.send(result.clone());
                    }
                }
            })?;
        Ok(Self {
            inner: Arc::new(Committer {
                requests: Some(requests),
                thread: Mutex::new(Some(thread)),
                disk,
            }),
        })
    }

    /// Wait until everything written before this call is on disk.
    pub(crate) async fn durable(&self) -> Result<(), CommitError> {
        let (tx, rx) = oneshot::channel();
        let requests = self.inner.requests.as_ref().ok_or(CommitError::Closed)?;
        requests.send(tx).await.map_err(|_| CommitError::Closed)?;
        rx.await.map_err(|_| CommitError::Closed)?
    }

    /// Whether writes can still be made durable: the committer runs and no
    /// sync has failed. Cheap; for readiness checks.
    pub(crate) fn healthy(&self) -> bool {
        self.inner.disk.healthy.load(Ordering::Relaxed)
            && self.inner.requests.as_ref().is_some_and(|r| !r.is_closed())
    }

    /// Make everything written so far durable on this thread, without
    /// waiting for a batch; for blocking callers.
    pub fn flush(&self) -> Result<(), CommitError> {
        self.inner.disk.make_durable()
    }
}

/// The database and its files, made durable by one caller at a time.
struct Disk {
    db: sled::Db,
    state: Mutex<SyncState>,
    /// False once a sync failed; read without the lock by readiness checks.
    healthy: AtomicBool,
}

struct SyncState {
    files: StoreFiles,
    /// The first failed sync. After it every later one fails too: the
    /// kernel may have dropped the pages it could not write and marked them
    /// clean, so a later `fsync` could succeed over a hole in sled's log.
    /// Only a restart, which recovers from what really is on disk, is safe.
    failed: Option<CommitError>,
}

impl Disk {
    fn make_durable(&self) -> Result<(), CommitError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(failed) = &state.failed {
            return Err(failed.clone());
        }
        if let Err(e) = self.db.flush() {
            tracing::error!(error = %e, "store flush failed");
            return Err(CommitError::Flush(Arc::new(e)));
        }
        if let Err(e) = state.files.sync() {
            let e = CommitError::Sync(Arc::new(e));
            tracing::error!(error = %e, "store sync failed");
            state.failed = Some(e.clone());
            self.healthy.store(false, Ordering::Relaxed);
            return Err(e);
        }
        Ok(())
    }
}

/// The files under sled 0.34's store directory that an acknowledged write
/// depends on, and how each is made durable after `db.flush()`:
///
/// - `db`, the log that holds every write. sled opens it once, never
///   replaces it, and grows it with `pwrite`: one `fdatasync` per batch
///   makes its new data and its size durable. The handle is kept.
/// - `blobs/<lsn>`, one new file for each value too large for the log
///   (over about 128 KiB with the default 512 KiB segments). sled writes
///   it once and never syncs it, and deletes it when the value is
///   replaced. Each new one is synced, then the `blobs` directory so that
///   its name survives; they are opened only for that, never kept.
/// - `conf`, written once when sled creates the store, and the store
///   directory's own entries: synced at start. `snap.<lsn>` files are
///   synced by sled but renamed into place without syncing the directory,
///   so the store directory is synced again whenever its listing changes.
struct StoreFiles {
    db: File,
    store: Listing,
    blobs: Listing,
}

impl StoreFiles {
    fn open(path: &Path) -> io::Result<Self> {
        let db = open(&path.join("db"))?;
        let conf = path.join("conf");
        open(&conf)?.sync_all().map_err(|e| failed(&conf, e))?;
        let mut files = Self {
            db,
            store: Listing::open(path.to_owned(), false)?,
            blobs: Listing::open(path.join("blobs"), true)?,
        };
        // Nothing is known to be synced yet: this syncs every blob and both
        // directories.
        files.sync()?;
        // The store directory's own name, in the data directory.
        if let Some(parent) = path.parent() {
            open(parent)?.sync_all().map_err(|e| failed(parent, e))?;
        }
        Ok(files)
    }

    /// Sync everything sled has written so far; call after `db.flush()`.
    fn sync(&mut self) -> io::Result<()> {
        self.blobs.sync()?;
        self.db.sync_data().map_err(|e| {
            let path = self.store.path.join("db");
            failed(&path, e)
        })?;
        self.store.sync()
    }
}

/// A directory whose entries must survive a power cut. It is listed on
/// every sync and `fsync`ed through a kept handle when its list of names
/// changed; with `sync_entries`, new and grown files are synced too.
struct Listing {
    path: PathBuf,
    dir: File,
    sync_entries: bool,
    /// Each entry's length when it was last synced (0 without
    /// `sync_entries`).
    seen: HashMap<OsString, u64>,
}

impl Listing {
    fn open(path: PathBuf, sync_entries: bool) -> io::Result<Self> {
        Ok(Self {
            dir: open(&path)?,
            path,
            sync_entries,
            seen: HashMap::new(),
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut now = HashMap::with_capacity(self.seen.len());
        let entries = fs::read_dir(&self.path).map_err(|e| failed(&self.path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| failed(&self.path, e))?;
            let path = entry.path();
            let mut len = 0;
            if self.sync_entries {
                // A blob is written in several calls, maybe while a batch
                // that does not wait for it lists the directory: syncing it
                // again whenever its length changed covers the rest. Files
                // deleted meanwhile held no acknowledged data: skip them.
                len = match entry.metadata() {
                    Ok(meta) => meta.len(),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(failed(&path, e)),
                };
                if self.seen.get(&entry.file_name()) != Some(&len) {
                    match File::open(&path) {
                        Ok(file) => file.sync_data().map_err(|e| failed(&path, e))?,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(failed(&path, e)),
                    }
                }
            }
            now.insert(entry.file_name(), len);
        }
        let names_changed =
            now.len() != self.seen.len() || now.keys().any(|k| !self.seen.contains_key(k));
        self.seen = now;
        if names_changed {
            self.dir.sync_all().map_err(|e| failed(&self.path, e))?;
        }
        Ok(())
    }
}

/// Open a file or directory read-only: enough to `fsync` it.
fn open(path: &Path) -> io::Result<File> {
    File::open(path).map_err(|e| failed(path, e))
}

/// `e`, saying which file it happened on.
fn failed(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn start(dir: &Path) -> (sled::Db, GroupCommit) {
        let path = dir.join("store");
        let db = sled::Config::new().path(&path).open().unwrap();
        let commit = GroupCommit::start(db.clone(), &path).unwrap();
        (db, commit)
    }

    #[tokio::test]
    async fn a_large_value_is_synced_with_its_blob_file() {
        let dir = tempfile::tempdir().unwrap();
        let (db, commit) = start(dir.path());
        db.insert("big", vec![7u8; 300 * 1024]).unwrap();
        commit.durable().await.unwrap();
        let blobs = dir.path().join("store/blobs");
        let on_disk: Vec<_> = fs::read_dir(&blobs)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(
            !on_disk.is_empty(),
            "sled wrote no blob for a 300 KiB value"
        );
        let state = commit.inner.disk.state.lock().unwrap();
        for name in on_disk {
            let len = fs::metadata(blobs.join(&name)).unwrap().len();
            assert_eq!(state.files.blobs.seen.get(&name), Some(&len), "{name:?}");
        }
    }

    #[tokio::test]
    async fn a_failed_sync_fails_the_batch_and_every_later_one() {
        let dir = tempfile::tempdir().unwrap();
        let (db, commit) = start(dir.path());
        db.insert("a", "1").unwrap();
        commit.durable().await.unwrap();
        // `fsync` of a character device fails with EINVAL: a stand-in for
        // a disk that cannot write.
        std::os::unix::fs::symlink("/dev/null", dir.path().join("store/blobs/999")).unwrap();
        db.insert("b", "2").unwrap();
        let e = commit.durable().await.unwrap_err();
        assert!(matches!(e, CommitError::Sync(_)), "{e}");
        assert!(e.to_string().contains("blobs/999"), "{e}");
        fs::remove_file(dir.path().join("store/blobs/999")).unwrap();
        db.insert("c", "3").unwrap();
        assert!(matches!(commit.durable().await, Err(CommitError::Sync(_))));
        assert!(matches!(commit.flush(), Err(CommitError::Sync(_))));
    }
}

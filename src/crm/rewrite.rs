//! Rewriting the database into fresh files, once, after the records a
//! store from before encryption at rest held in plain JSON were sealed.
//! sled is log-structured: sealing a record in place leaves the plain
//! bytes in old log segments until sled reuses them. Copying every tree
//! into a new database and deleting the old files leaves none.
//!
//! The copy is built beside the store (`store.rewriting`), synced, then
//! swapped in by two renames; [`recover`] finishes a swap a crash
//! interrupted.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::store::{open_sled, StoreError};

/// The `meta` key that says how far sealing got.
pub(super) const SEALED: &[u8] = b"records_sealed";
/// Every record is sealed but the old files may still hold plain bytes.
pub(super) const SEALED_NOT_REWRITTEN: u8 = 1;
/// Sealed, and no file holds a plain record.
pub(super) const SEALED_AND_CLEAN: u8 = 2;

fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Task(format!("rewriting the store at {}: {e}", path.display()))
}

/// Finish a swap a crash interrupted: the fresh copy is complete once it
/// exists under its own name with the old store gone or moved aside.
pub(super) fn recover(path: &Path) -> Result<(), StoreError> {
    let fresh = beside(path, ".rewritten");
    let old = beside(path, ".before-rewrite");
    if fresh.exists() && !path.exists() {
        fs::rename(&fresh, path).map_err(|e| io_err(path, e))?;
    }
    for leftover in [old, beside(path, ".rewriting"), fresh] {
        if leftover.exists() {
            fs::remove_dir_all(&leftover).map_err(|e| io_err(&leftover, e))?;
        }
    }
    Ok(())
}

/// Copy every tree of the (closed) store at `path` into fresh files and
/// swap them in.
pub(super) fn rewrite(path: &Path) -> Result<(), StoreError> {
    let building = beside(path, ".rewriting");
    let fresh = beside(path, ".rewritten");
    let old = beside(path, ".before-rewrite");
    if building.exists() {
        fs::remove_dir_all(&building).map_err(|e| io_err(&building, e))?;
    }
    {
        let source = open_sled(path)?;
        let target = open_sled(&building)?;
        for name in source.tree_names() {
            let from = source.open_tree(&name)?;
            let to = target.open_tree(&name)?;
            for entry in from.iter() {
                let (k, v) = entry?;
                to.insert(k, v)?;
            }
        }
        target
            .open_tree("meta")?
            .insert(SEALED, &[SEALED_AND_CLEAN][..])?;
        target.flush()?;
    }
    sync_tree(&building).map_err(|e| io_err(&building, e))?;
    // Complete under its final-to-be name before the old one moves.
    fs::rename(&building, &fresh).map_err(|e| io_err(&building, e))?;
    fs::rename(path, &old).map_err(|e| io_err(path, e))?;
    fs::rename(&fresh, path).map_err(|e| io_err(&fresh, e))?;
    if let Some(parent) = path.parent() {
        File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(parent, e))?;
    }
    fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
    Ok(())
}

/// `fsync` every file under `dir`, then the directories.
fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)?.sync_all()?;
        }
    }
    File::open(dir)?.sync_all()
}

//! The embeddings kept in the store: one sled tree per model, keyed by
//! `sha256(model fingerprint ‖ text)`, each value 384 little-endian f32s.

use std::collections::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::embedder::texts;
use super::DIM;
use crate::crm::StoreError;
use crate::faq::{FaqEntry, FaqError};

/// `sha256(fingerprint ‖ text)`: a text's key in its model's tree.
pub(crate) type Key = [u8; 32];

pub(super) fn key(fingerprint: &str, text: &str) -> Key {
    let mut h = Sha256::new();
    h.update(fingerprint.as_bytes());
    h.update(text.as_bytes());
    h.finalize().into()
}

pub(super) fn encode(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A stored value, or `None` if it is not exactly `DIM` floats.
pub(super) fn decode(bytes: &[u8]) -> Option<Vec<f32>> {
    (bytes.len() == DIM * 4).then(|| {
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    })
}

/// Stored vectors by key.
pub(super) type Stored = HashMap<Key, Vec<f32>>;

/// Read every stored vector the entries need, removing the rest; returns
/// them with the texts still to embed (each once).
pub(super) fn sweep(
    tree: &sled::Tree,
    fingerprint: &str,
    entries: &[FaqEntry],
    answers: bool,
) -> Result<(Stored, Vec<String>), FaqError> {
    let mut wanted: HashSet<Key> = HashSet::new();
    for e in entries {
        for t in texts(e, answers) {
            wanted.insert(key(fingerprint, &t));
        }
    }
    let mut have = HashMap::with_capacity(wanted.len());
    let (mut stale, mut corrupt) = (0usize, 0usize);
    for kv in tree.iter() {
        let (raw, v) = kv.map_err(StoreError::from)?;
        let k = Key::try_from(raw.as_ref())
            .ok()
            .filter(|k| wanted.contains(k));
        match (k, decode(&v)) {
            (Some(k), Some(v)) => {
                have.insert(k, v);
            }
            // Re-embedded below, and overwritten.
            (Some(_), None) => corrupt += 1,
            (None, _) => {
                tree.remove(&raw).map_err(StoreError::from)?;
                stale += 1;
            }
        }
    }
    if stale + corrupt > 0 {
        tracing::info!(stale, corrupt, "faq vectors swept");
    }
    // In entry order, as the entries were always embedded: the batches,
    // and so the int8 encoder's rounding, stay the same.
    let mut missing = Vec::new();
    for e in entries {
        for t in texts(e, answers) {
            let k = key(fingerprint, &t);
            if !have.contains_key(&k) && wanted.remove(&k) {
                missing.push(t.into_owned());
            }
        }
    }
    Ok((have, missing))
}

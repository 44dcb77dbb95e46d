//! Results derived from the model, kept on disk so that a restart with
//! unchanged inputs recomputes nothing.
//!
//! Each entry is one file, `<name>.bin`, holding a key (a SHA-256 of every
//! input the result depends on: the model's fingerprint, the intents, the
//! training settings), the payload and a SHA-256 of both. A file
//! whose key differs is stale, one whose checksum fails is corrupt; both
//! are ignored and rewritten, never trusted. Files are replaced atomically
//! (write, then rename), so a crash leaves the old entry or the new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 16] = b"frontdesk-cache1";

/// A directory of cached results.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    Hit(Vec<u8>),
    Missing,
    Stale,
    Corrupt,
}

impl Cache {
    pub(crate) fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.bin"))
    }

    /// The payload stored under `name` for `key`.
    pub(crate) fn get(&self, name: &str, key: &[u8; 32]) -> Lookup {
        let Ok(bytes) = std::fs::read(self.file(name)) else {
            return Lookup::Missing;
        };
        let header = MAGIC.len() + 32;
        if bytes.len() < header + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Lookup::Corrupt;
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if Sha256::digest(&body[MAGIC.len()..]).as_slice() != sum {
            return Lookup::Corrupt;
        }
        let payload = &body[header..];
        if &bytes[MAGIC.len()..header] != key {
            return Lookup::Stale;
        }
        Lookup::Hit(payload.to_vec())
    }

    /// Store `payload` under `name` for `key`, replacing what was there.
    pub(crate) fn put(&self, name: &str, key: &[u8; 32], payload: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let file = self.file(name);
        let tmp = file.with_extension("tmp");
        let mut out = std::fs::File::create(&tmp)?;
        out.write_all(MAGIC)?;
        out.write_all(key)?;
        out.write_all(payload)?;
        let mut sum = Sha256::new();
        sum.update(key);
        sum.update(payload);
        out.write_all(&sum.finalize())?;
        out.sync_all()?;
        std::fs::rename(&tmp, &file)
    }
}

/// The key of a result that depends on `parts`.
pub(crate) fn key(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_stale_corrupt_and_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let cache = Cache::new(&dir.path().join("cache"));
        let k = key(&[b"model", b"intents"]);
        assert_eq!(cache.get("intents", &k), Lookup::Missing);
        cache.put("intents", &k, b"payload").expect("put");
        assert_eq!(cache.get("intents", &k), Lookup::Hit(b"payload".to_vec()));
        assert_eq!(
            cache.get("intents", &key(&[b"model", b"other"])),
            Lookup::Stale
        );
        let file = dir.path().join("cache/intents.bin");
        let mut bytes = std::fs::read(&file).expect("read");
        let last = bytes.len() - 40;
        bytes[last] ^= 1;
        std::fs::write(&file, &bytes).expect("write");
        assert_eq!(cache.get("intents", &k), Lookup::Corrupt);
        std::fs::write(&file, b"short").expect("write");
        assert_eq!(cache.get("intents", &k), Lookup::Corrupt);
    }

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
    }
}

//! The master key: where it comes from (the configuration, the
//! environment, a file, or generated once beside the data) and the keys
//! derived from it for each purpose. It wraps every customer's data key
//! (`keyring`) and is never logged.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::keyring::{KeyError, KEY, KEYS_FILE};

/// The generated master key, in the data directory, when none is configured.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The 256-bit key that wraps every customer's data key. Never logged.
#[derive(Clone)]
pub struct MasterKey([u8; KEY]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl MasterKey {
    /// A key written as 64 hexadecimal digits.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let mut bytes = hex::decode(text.trim())
            .map_err(|_| KeyError::BadMasterKey("expected 64 hexadecimal digits".into()))?;
        let mut key = Self([0; KEY]);
        if bytes.len() != KEY {
            zeroize::Zeroize::zeroize(&mut bytes);
            return Err(KeyError::BadMasterKey(
                "expected 64 hexadecimal digits (32 bytes)".into(),
            ));
        }
        key.0.copy_from_slice(&bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(key)
    }

    /// The master key of `data_dir`: the one given (from the
    /// configuration or the environment), else the one in `key_file`,
    /// else the generated one beside the data. A new key is generated only
    /// for a data directory without customer keys; the returned path says
    /// where, so the caller can tell the operator once.
    pub fn resolve(
        given: Option<&str>,
        key_file: Option<&Path>,
        data_dir: &Path,
    ) -> Result<(Self, Option<PathBuf>), KeyError> {
        if let Some(text) = given {
            return Ok((Self::from_hex(text)?, None));
        }
        let (path, generated_allowed) = match key_file {
            Some(p) => (p.to_owned(), false),
            None => (data_dir.join(MASTER_KEY_FILE), true),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok((Self::from_hex(&text)?, None)),
            Err(e) if e.kind() == io::ErrorKind::NotFound && generated_allowed => {}
            Err(source) => return Err(KeyError::Io { path, source }),
        }
        let keys = data_dir.join(KEYS_FILE);
        if keys.exists() {
            return Err(KeyError::MasterKeyMissing(keys));
        }
        let key = Self(crate::auth::random_bytes());
        let io_err = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io_err)?;
        let tmp = path.with_extension("key.tmp");
        {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err)?;
            use std::io::Write;
            writeln!(f, "{}", hex::encode(key.0)).map_err(io_err)?;
            f.sync_all().map_err(io_err)?;
        }
        std::fs::rename(&tmp, &path).map_err(io_err)?;
        Ok((key, Some(path)))
    }

    /// A key for one purpose, derived so that no two purposes share one.
    pub(super) fn derive(&self, purpose: &str) -> [u8; KEY] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::super::keyring::Keyring;
    use super::*;

    #[test]
    fn a_master_key_is_generated_once_and_never_over_existing_data() {
        let dir = tempfile::tempdir().unwrap();
        let (first, generated) = MasterKey::resolve(None, None, dir.path()).unwrap();
        let path = generated.expect("generated");
        let mode = std::fs::metadata(&path).unwrap().permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600);
        let (again, generated) = MasterKey::resolve(None, None, dir.path()).unwrap();
        assert!(generated.is_none());
        assert_eq!(first.0, again.0);
        Keyring::open(dir.path(), &first).unwrap();
        std::fs::remove_file(&path).unwrap();
        let err = MasterKey::resolve(None, None, dir.path()).err().unwrap();
        assert!(matches!(err, KeyError::MasterKeyMissing(_)), "{err}");
    }
}

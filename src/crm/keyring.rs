//! Per-customer data keys: encryption at rest and crypto-shredding.
//!
//! Every record that holds what a customer said or who they are is sealed
//! with XChaCha20-Poly1305 under that customer's own 256-bit data key.
//! The data keys live in one file of fixed-size slots beside the store,
//! each wrapped by a key derived from the master key. Erasing a customer
//! overwrites their slot in place and syncs it; from then on every copy of
//! their records, in sled's trees or in the old log segments sled has not
//! compacted yet, is noise. The keys live outside sled because sled is
//! log-structured: a key deleted there would stay readable on disk until
//! the segment holding it is reused.
//!
//! A sealed record is `[1][customer id: 16][nonce: 24][ciphertext + tag]`;
//! the caller binds it to where it is stored (tree and key) through the
//! associated data, so a record cannot be moved to another place. Records
//! written before sealing existed are JSON (they begin with `{`) and are
//! read as they are until the start-up migration seals them.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::master_key::MasterKey;
use super::model::CustomerId;

/// The file of data keys, in the data directory.
pub(crate) const KEYS_FILE: &str = "customer-keys";

const MAGIC: &[u8; 16] = b"frontdesk-keys\0\x01";
const HEADER: u64 = 128;
const SLOT: u64 = 128;
const NONCE: usize = 24;
const TAG: usize = 16;
pub(super) const KEY: usize = 32;
const SEALED_VERSION: u8 = 1;
/// Bytes a sealed record adds to its plaintext.
const SEALED_OVERHEAD: usize = 1 + 16 + NONCE + TAG;

/// Why the keys could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the master key is invalid: {0}")]
    BadMasterKey(String),
    #[error("cannot read or write the customer key file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the customer key file {path} is not one (wrong header); restore it from the backup taken with the store")]
    NotAKeyFile { path: PathBuf },
    #[error("the master key does not open the customer key file {path}: it is not the key this data directory was created with. Set the original key (FRONTDESK_MASTER_KEY or encryption.master_key_file)")]
    WrongMasterKey { path: PathBuf },
    #[error("the customer key file {0} exists but no master key was found: set FRONTDESK_MASTER_KEY or encryption.master_key_file to the key this data directory was created with (it is never generated anew over existing data)")]
    MasterKeyMissing(PathBuf),
    #[error("a sealed record is damaged: {0}")]
    Damaged(&'static str),
    #[error("the customer has been erased")]
    Erased,
}

/// What opening a stored record found.
#[derive(Debug)]
pub(crate) enum Opened {
    /// The plaintext.
    Plain(Vec<u8>),
    /// The record belongs to an erased customer: it can never be read.
    Shredded,
}

/// The customers' data keys. One per store.
pub(crate) struct Keyring {
    path: PathBuf,
    file: File,
    wrap: XChaCha20Poly1305,
    index: [u8; KEY],
    slots: Mutex<Slots>,
}

#[derive(Default)]
struct Slots {
    by_customer: HashMap<CustomerId, u64>,
    free: Vec<u64>,
    count: u64,
}

impl Keyring {
    /// Open (or create) the key file at `dir/customer-keys`, checking that
    /// `master` is the key it was created with.
    pub(crate) fn open(dir: &Path, master: &MasterKey) -> Result<Self, KeyError> {
        let path = dir.join(KEYS_FILE);
        let io_err = |source| KeyError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_err)?;
        let wrap = XChaCha20Poly1305::new(&master.derive("frontdesk data-key wrap v1").into());
        let index = master.derive("frontdesk lookup index v1");
        let len = file.metadata().map_err(io_err)?.len();
        if len == 0 {
            let mut header = vec![0u8; HEADER as usize];
            header[..16].copy_from_slice(MAGIC);
            let nonce = random_nonce();
            let check = wrap
                .encrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &[0u8; KEY],
                        aad: MAGIC,
                    },
                )
                .map_err(|_| KeyError::Damaged("cannot seal the key file check"))?;
            header[16..16 + NONCE].copy_from_slice(&nonce);
            header[16 + NONCE..16 + NONCE + check.len()].copy_from_slice(&check);
            file.write_all_at(&header, 0).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
            sync_dir(dir).map_err(io_err)?;
        } else {
            let mut header = [0u8; HEADER as usize];
            file.read_exact_at(&mut header, 0)
                .map_err(|_| KeyError::NotAKeyFile { path: path.clone() })?;
            if &header[..16] != MAGIC {
                return Err(KeyError::NotAKeyFile { path });
            }
            let nonce = XNonce::from_slice(&header[16..16 + NONCE]);
            let check = &header[16 + NONCE..16 + NONCE + KEY + TAG];
            if wrap
                .decrypt(
                    nonce,
                    Payload {
                        msg: check,
                        aad: MAGIC,
                    },
                )
                .is_err()
            {
                return Err(KeyError::WrongMasterKey { path });
            }
        }
        let keyring = Self {
            path,
            file,
            wrap,
            index,
            slots: Mutex::new(Slots::default()),
        };
        keyring.load_slots()?;
        Ok(keyring)
    }

    fn io_err(&self, source: io::Error) -> KeyError {
        KeyError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn load_slots(&self) -> Result<(), KeyError> {
        let len = self.file.metadata().map_err(|e| self.io_err(e))?.len();
        let count = len.saturating_sub(HEADER) / SLOT;
        let mut slots = self.lock();
        let mut buf = vec![0u8; (count * SLOT) as usize];
        self.file
            .read_exact_at(&mut buf, HEADER)
            .map_err(|e| self.io_err(e))?;
        for (n, slot) in buf.chunks_exact(SLOT as usize).enumerate() {
            match slot_owner(slot) {
                Some(customer) => {
                    slots.by_customer.insert(customer, n as u64);
                }
                None => slots.free.push(n as u64),
            }
        }
        slots.free.reverse();
        slots.count = count;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Give `customer` a data key, durably, unless they have one.
    pub(crate) fn create(&self, customer: CustomerId) -> Result<(), KeyError> {
        let mut slots = self.lock();
        if slots.by_customer.contains_key(&customer) {
            return Ok(());
        }
        let n = match slots.free.pop() {
            Some(n) => n,
            None => {
                slots.count += 1;
                slots.count - 1
            }
        };
        let data_key: [u8; KEY] = crate::auth::random_bytes();
        let nonce = random_nonce();
        let wrapped = self
            .wrap
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &data_key,
                    aad: customer.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Damaged("cannot wrap a data key"))?;
        let mut slot = [0u8; SLOT as usize];
        slot[0] = 1;
        slot[1..17].copy_from_slice(customer.as_bytes());
        slot[17..17 + NONCE].copy_from_slice(&nonce);
        slot[17 + NONCE..17 + NONCE + wrapped.len()].copy_from_slice(&wrapped);
        let written = self
            .file
            .write_all_at(&slot, HEADER + n * SLOT)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            slots.free.push(n);
            return Err(self.io_err(e));
        }
        slots.by_customer.insert(customer, n);
        Ok(())
    }

    /// Whether `customer` has a data key (has not been erased).
    pub(crate) fn has(&self, customer: CustomerId) -> bool {
        self.lock().by_customer.contains_key(&customer)
    }

    /// Every customer with a data key.
    pub(crate) fn customers(&self) -> Vec<CustomerId> {
        self.lock().by_customer.keys().copied().collect()
    }

    /// Destroy `customer`'s data key: their slot is overwritten with zeros
    /// and synced before this returns. Idempotent.
    pub(crate) fn destroy(&self, customer: CustomerId) -> Result<(), KeyError> {
        let mut slots = self.lock();
        let Some(&n) = slots.by_customer.get(&customer) else {
            return Ok(());
        };
        self.file
            .write_all_at(&[0u8; SLOT as usize], HEADER + n * SLOT)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| self.io_err(e))?;
        slots.by_customer.remove(&customer);
        slots.free.push(n);
        Ok(())
    }

    fn data_key(&self, customer: CustomerId) -> Result<Option<XChaCha20Poly1305>, KeyError> {
        let Some(n) = self.lock().by_customer.get(&customer).copied() else {
            return Ok(None);
        };
        let mut slot = [0u8; SLOT as usize];
        self.file
            .read_exact_at(&mut slot, HEADER + n * SLOT)
            .map_err(|e| self.io_err(e))?;
        if slot_owner(&slot) != Some(customer) {
            // Destroyed (and perhaps reused) since the lookup.
            return Ok(None);
        }
        let nonce = XNonce::from_slice(&slot[17..17 + NONCE]);
        let key = self
            .wrap
            .decrypt(
                nonce,
                Payload {
                    msg: &slot[17 + NONCE..17 + NONCE + KEY + TAG],
                    aad: customer.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Damaged("a data key does not unwrap"))?;
        Ok(Some(XChaCha20Poly1305::new_from_slice(&key).map_err(
            |_| KeyError::Damaged("a data key has the wrong length"),
        )?))
    }

    /// Seal `plaintext` for `customer`, bound to `aad` (where it is
    /// stored).
    pub(crate) fn seal(
        &self,
        customer: CustomerId,
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let cipher = self.data_key(customer)?.ok_or(KeyError::Erased)?;
        let nonce = random_nonce();
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| KeyError::Damaged("cannot seal a record"))?;
        let mut out = Vec::with_capacity(plaintext.len() + SEALED_OVERHEAD);
        out.push(SEALED_VERSION);
        out.extend_from_slice(customer.as_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Open a stored record: sealed ones with their customer's key;
    /// records from before sealing (JSON) as they are.
    pub(crate) fn unseal(&self, aad: &[u8], stored: &[u8]) -> Result<Opened, KeyError> {
        match stored.first() {
            Some(b'{') => return Ok(Opened::Plain(stored.to_vec())),
            Some(&SEALED_VERSION) if stored.len() >= SEALED_OVERHEAD => {}
            _ => return Err(KeyError::Damaged("unknown record format")),
        }
        let customer = sealed_owner(stored).ok_or(KeyError::Damaged("no owner"))?;
        let Some(cipher) = self.data_key(customer)? else {
            return Ok(Opened::Shredded);
        };
        let nonce = XNonce::from_slice(&stored[17..17 + NONCE]);
        cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &stored[17 + NONCE..],
                    aad,
                },
            )
            .map(Opened::Plain)
            .map_err(|_| KeyError::Damaged("a record does not decrypt (altered or moved)"))
    }

    /// A keyed hash of a lookup value (an email, an external id), so that
    /// indexes find customers without holding the value itself.
    pub(crate) fn lookup_key(&self, kind: &str, value: &str) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index)
            .expect("HMAC accepts keys of any length");
        mac.update(kind.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Whether stored bytes are sealed (as opposed to a record from before
/// sealing).
pub(crate) fn is_sealed(stored: &[u8]) -> bool {
    stored.first() == Some(&SEALED_VERSION)
}

/// The customer a sealed record belongs to.
pub(crate) fn sealed_owner(stored: &[u8]) -> Option<CustomerId> {
    let id: [u8; 16] = stored.get(1..17)?.try_into().ok()?;
    Some(CustomerId(uuid::Uuid::from_bytes(id)))
}

fn slot_owner(slot: &[u8]) -> Option<CustomerId> {
    (slot[0] == 1).then(|| {
        let id: [u8; 16] = slot[1..17].try_into().unwrap_or_default();
        CustomerId(uuid::Uuid::from_bytes(id))
    })
}

fn random_nonce() -> [u8; NONCE] {
    let mut nonce = [0u8; NONCE];
    nonce.copy_from_slice(&crate::auth::random_bytes()[..NONCE]);
    nonce
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> MasterKey {
        MasterKey::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn sealed_records_open_until_the_key_is_destroyed() {
        let dir = tempfile::tempdir().unwrap();
        let keys = Keyring::open(dir.path(), &master()).unwrap();
        let alice = CustomerId::new();
        keys.create(alice).unwrap();
        let sealed = keys.seal(alice, b"events/1", b"{\"hello\":1}").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        match keys.unseal(b"events/1", &sealed).unwrap() {
            Opened::Plain(p) => assert_eq!(p, b"{\"hello\":1}"),
            Opened::Shredded => panic!("shredded too early"),
        }
        // Bound to its place.
        assert!(keys.unseal(b"events/2", &sealed).is_err());
        keys.destroy(alice).unwrap();
        keys.destroy(alice).unwrap();
        assert!(matches!(
            keys.unseal(b"events/1", &sealed).unwrap(),
            Opened::Shredded
        ));
        // A reopened ring agrees, and the slot is reused.
        drop(keys);
        let keys = Keyring::open(dir.path(), &master()).unwrap();
        assert!(matches!(
            keys.unseal(b"events/1", &sealed).unwrap(),
            Opened::Shredded
        ));
        let bob = CustomerId::new();
        keys.create(bob).unwrap();
        assert!(matches!(
            keys.unseal(b"events/1", &sealed).unwrap(),
            Opened::Shredded
        ));
        assert_eq!(
            std::fs::metadata(dir.path().join(KEYS_FILE)).unwrap().len(),
            HEADER + SLOT
        );
    }

    #[test]
    fn another_master_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Keyring::open(dir.path(), &master()).unwrap();
        let other = MasterKey::from_hex(&"cd".repeat(32)).unwrap();
        let err = Keyring::open(dir.path(), &other).err().unwrap();
        assert!(matches!(err, KeyError::WrongMasterKey { .. }), "{err}");
    }
}

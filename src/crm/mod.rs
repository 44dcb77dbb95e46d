//! The CRM store: customers, conversations, the timeline of events,
//! credentials and FAQ entries, on sled.
//!
//! Customer records and timeline events are sealed with each customer's
//! own data key (`keyring`); erasing a customer destroys the key first
//! (`erase`). `export` gathers everything about one customer, `retention`
//! finds what is due for removal, `audit` records who read what.
//!
//! One [`Store`] handle (cheap to clone) is the only way into the database.
//! Reads and writes run on tokio's blocking pool; every write that a client
//! will be told about waits for the group commit so it is on disk first.
//! Multi-record changes (a message, its `seq` and its idempotency key) are
//! one sled transaction, so a crash leaves either all of them or none.

mod audit;
mod canned;
mod commit;
mod conversations;
mod credentials;
mod customers;
mod erase;
mod export;
mod handoff;
mod keyring;
mod keys;
mod master_key;
pub(crate) mod model;
mod retention;
mod rewrite;
mod stats;
mod store;
mod tx;

pub(crate) use audit::{Actor, AuditAction, AuditEntry, AuditPage};
pub(crate) use canned::Canned;
pub use commit::CommitError;
pub(crate) use conversations::{Appended, ConversationPage};
pub(crate) use credentials::{Credential, Role};
pub(crate) use customers::CustomerLookup;
pub(crate) use erase::Erased;
pub(crate) use export::CustomerExport;
pub(crate) use handoff::Updated;
pub use keyring::KeyError;
pub use master_key::{MasterKey, MASTER_KEY_FILE};
pub(crate) use model::*;
pub(crate) use retention::Ages;
pub(crate) use stats::Stats;
pub(crate) use store::{decode_record, encode_record, WeakStore};
pub use store::{Store, StoreError};

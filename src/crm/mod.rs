//! The CRM store: customers, conversations, the timeline of events,
//! credentials and FAQ entries, on sled.
//!
//! One [`Store`] handle (cheap to clone) is the only way into the database.
//! Reads and writes run on tokio's blocking pool; every write that a client
//! will be told about waits for the group commit so it is on disk first.
//! Multi-record changes (a message, its `seq` and its idempotency key) are
//! one sled transaction, so a crash leaves either all of them or none.

mod commit;
mod conversations;
mod credentials;
mod customers;
mod handoff;
mod keys;
pub(crate) mod model;
mod stats;
mod store;
mod tx;

pub use commit::CommitError;
pub(crate) use conversations::{Appended, ConversationPage};
pub(crate) use credentials::{Credential, Role};
pub(crate) use handoff::Updated;
pub(crate) use model::*;
pub(crate) use stats::Stats;
pub(crate) use store::{decode_record, encode_record};
pub use store::{Store, StoreError};

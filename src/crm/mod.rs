//! The CRM store: customers, conversations, the timeline of events,
//! credentials and FAQ entries, on sled.
//!
//! One [`Store`] handle (cheap to clone) is the only way into the database.
//! Reads and writes run on tokio's blocking pool; every write that a client
//! will be told about waits for [`GroupCommit`] so it is on disk first.
//! Multi-record changes (a message, its `seq` and its idempotency key) are
//! one sled transaction, so a crash leaves either all of them or none.

mod commit;
mod conversations;
mod credentials;
mod handoff;
mod keys;
pub mod model;
mod stats;
mod store;

pub use commit::{CommitError, GroupCommit};
pub use conversations::{Appended, ConversationPage};
pub use credentials::{Credential, Role};
pub use handoff::Updated;
pub use model::*;
pub use stats::{Stats, Tally};
pub(crate) use store::{decode_record, encode_record};
pub use store::{Store, StoreError};

//! Key layouts of the sled trees. Big-endian integers keep keys sorted.

use super::model::{ConversationId, CustomerId};

pub(crate) fn conversation_seq(id: ConversationId, n: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(id.as_bytes());
    key[16..].copy_from_slice(&n.to_be_bytes());
    key
}

/// An agent's `client_id`s live apart from the customer's: the separator
/// is a control character, which no valid `client_id` contains.
pub(crate) fn agent_client_id(id: ConversationId, agent_id: &str, client_id: &str) -> Vec<u8> {
    client_id_key(id, &format!("\u{1}{agent_id}\u{1}{client_id}"))
}

pub(crate) fn client_id(id: ConversationId, client_id: &str) -> Vec<u8> {
    client_id_key(id, client_id)
}

fn client_id_key(id: ConversationId, client_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(16 + client_id.len());
    key.extend_from_slice(id.as_bytes());
    key.extend_from_slice(client_id.as_bytes());
    key
}

/// `opened_at` milliseconds then the id: a time-ordered index.
pub(crate) fn by_time(millis: i64, id: ConversationId) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&(millis.max(0) as u64).to_be_bytes());
    key[8..].copy_from_slice(id.as_bytes());
    key
}

pub(crate) fn customer_conversation(
    customer: CustomerId,
    millis: i64,
    id: ConversationId,
) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..16].copy_from_slice(customer.as_bytes());
    key[16..].copy_from_slice(&by_time(millis, id));
    key
}

pub(crate) fn u64_value(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

pub(crate) fn conversation_of(index_key: &[u8]) -> Option<ConversationId> {
    let tail: [u8; 16] = index_key
        .get(index_key.len().checked_sub(16)?..)?
        .try_into()
        .ok()?;
    Some(ConversationId(uuid::Uuid::from_bytes(tail)))
}

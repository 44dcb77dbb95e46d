//! The data lifecycle: what is masked before it is kept (`redact`),
//! erasing a customer on request with everything live that holds them
//! (sockets, the agent queue), and removing what retention says is due.
//!
//! The store does the durable part (`crm::erase`, crypto-shredding
//! first); this module adds the live part and the schedule.

pub mod offline;
pub(crate) mod redact;
mod retention;

pub(crate) use retention::retention_task;

use crate::crm::{Actor, AuditAction, AuditEntry, CustomerId, Erased, Store, StoreError};
use crate::handoff::Handoff;
use crate::room::{Hub, RoomEvent};

/// Erase `customer` on `actor`'s request: the store forgets them (key
/// first), then their conversations leave the agent queue and their
/// sockets are closed, and the audit log records it without personal
/// data. Idempotent.
pub(crate) async fn erase(
    store: &Store,
    handoff: &Handoff,
    hub: &Hub,
    actor: Actor,
    action: AuditAction,
    customer: CustomerId,
) -> Result<Erased, StoreError> {
    let erased = store.erase_customer(customer).await?;
    forget_live(handoff, hub, &erased.conversations).await;
    if erased.existed {
        store
            .audit(AuditEntry::new(actor, action).customer(customer))
            .await?;
        tracing::info!(
            customer_id = %customer,
            conversations = erased.conversations.len(),
            "customer erased"
        );
    }
    Ok(erased)
}

/// Drop conversations that no longer exist from the queue and close the
/// sockets that follow them.
pub(crate) async fn forget_live(
    handoff: &Handoff,
    hub: &Hub,
    conversations: &[crate::crm::ConversationId],
) {
    handoff.forget(conversations).await;
    for &id in conversations {
        hub.forgotten(id);
        if let Some(room) = hub.get(id) {
            room.publish(RoomEvent::Erased);
        }
    }
}

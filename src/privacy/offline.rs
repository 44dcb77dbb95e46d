//! The `frontdesk customer` commands: the same find, export and erase as
//! the REST API, on a store opened by the command (the server stopped).
//! Each leaves an audit entry naming the command line as the actor.

use crate::crm::{Actor, AuditAction, AuditEntry, CustomerId, CustomerLookup, Store};

fn actor() -> Actor {
    Actor::system("command line")
}

fn customer_id(raw: &str) -> anyhow::Result<CustomerId> {
    raw.trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{raw:?} is not a customer id (a UUID)"))
}

/// The customers with this email or external id, as a JSON array.
pub async fn find(
    store: &Store,
    email: Option<String>,
    external_id: Option<String>,
) -> anyhow::Result<String> {
    let lookup = match (email, external_id) {
        (Some(e), None) => CustomerLookup::Email(e),
        (None, Some(x)) => CustomerLookup::ExternalId(x),
        _ => anyhow::bail!("give exactly one of --email and --external-id"),
    };
    let customers = store.find_customers(lookup).await?;
    let lookups = customers
        .iter()
        .map(|c| AuditEntry::new(actor(), AuditAction::Lookup).customer(c.id))
        .collect();
    store.audit_all(lookups).await?;
    Ok(serde_json::to_string_pretty(&customers)?)
}

/// Everything stored about the customer, as the export document.
pub async fn export(store: &Store, id: &str) -> anyhow::Result<String> {
    let id = customer_id(id)?;
    let export = store.export_customer(id).await?;
    store
        .audit(AuditEntry::new(actor(), AuditAction::Export).customer(id))
        .await?;
    Ok(serde_json::to_string_pretty(&export)?)
}

/// Erase the customer; returns whether they existed and how many
/// conversations went with them.
pub async fn erase(store: &Store, id: &str) -> anyhow::Result<(bool, usize)> {
    let id = customer_id(id)?;
    let erased = store.erase_customer(id).await?;
    if erased.existed {
        store
            .audit(AuditEntry::new(actor(), AuditAction::Erase).customer(id))
            .await?;
    }
    Ok((erased.existed, erased.conversations.len()))
}

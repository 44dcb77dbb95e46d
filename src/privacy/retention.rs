//! The retention schedule: every `retention.check_every`, remove closed
//! conversations and erase inactive customers older than the configured
//! ages, a batch at a time, with counts in the log.

use std::sync::Arc;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::config::Retention;
use crate::crm::{Actor, Ages, AuditAction, Store, StoreError};
use crate::handoff::Handoff;
use crate::room::Hub;

fn days(d: f64) -> chrono::Duration {
    chrono::Duration::milliseconds((d * 86_400_000.0) as i64)
}

/// Run until `shutdown`; returns at once when both ages are off.
pub(crate) async fn retention_task(
    store: Store,
    handoff: Arc<Handoff>,
    hub: Arc<Hub>,
    settings: Retention,
    shutdown: CancellationToken,
) {
    let ages = Ages {
        closed_conversations: settings.closed_conversations_days.map(days),
        inactive_customers: settings.inactive_customers_days.map(days),
    };
    if ages == Ages::default() {
        return;
    }
    let mut tick = tokio::time::interval(settings.check_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        match sweep(&store, &handoff, &hub, ages, settings.batch, &shutdown).await {
            Ok((0, 0)) => {}
            Ok((conversations, customers)) => {
                tracing::info!(conversations, customers, "retention removed what was due")
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention sweep failed; it runs again at the next check")
            }
        }
    }
}

/// Remove everything due now, a batch at a time; returns the counts of
/// conversations removed and customers erased.
async fn sweep(
    store: &Store,
    handoff: &Handoff,
    hub: &Hub,
    ages: Ages,
    batch: usize,
    shutdown: &CancellationToken,
) -> Result<(usize, usize), StoreError> {
    let (mut conversations, mut customers) = (0, 0);
    loop {
        let due = store.retention_due(Utc::now(), ages, batch).await?;
        if due.conversations.is_empty() && due.customers.is_empty() {
            return Ok((conversations, customers));
        }
        for &id in &due.conversations {
            store.delete_conversation(id).await?;
            super::forget_live(handoff, hub, &[id]).await;
            conversations += 1;
        }
        for &id in &due.customers {
            let actor = Actor::system("retention");
            super::erase(store, handoff, hub, actor, AuditAction::RetentionErase, id).await?;
            customers += 1;
        }
        if shutdown.is_cancelled() {
            return Ok((conversations, customers));
        }
        tokio::task::yield_now().await;
    }
}

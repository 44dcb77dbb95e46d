//! Conversations the bot handled that nobody writes in any more are
//! closed as resolved by the bot (`conversations.close_idle_after`), so
//! they count in the deflection rate and their customers see the rating
//! card next time.

use std::sync::Weak;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::Handoff;
use crate::crm::Sender;

/// The resolution recorded on a conversation closed this way.
const RESOLVED_BY_BOT: &str = "resolved_by_bot";
/// Conversations closed per step.
const BATCH: usize = 100;

/// Close idle bot conversations every so often until shutdown.
pub(crate) async fn close_idle(
    handoff: Weak<Handoff>,
    after: Duration,
    shutdown: CancellationToken,
) {
    if after.is_zero() {
        return;
    }
    let every = (after / 4).clamp(Duration::from_millis(200), Duration::from_secs(300));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(handoff) = handoff.upgrade() else {
            return;
        };
        let Ok(age) = chrono::Duration::from_std(after) else {
            return;
        };
        let idle = match handoff
            .store
            .idle_bot_conversations(Utc::now() - age, BATCH)
            .await
        {
            Ok(idle) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "looking for idle conversations failed");
                continue;
            }
        };
        let mut closed = 0;
        for id in idle {
            let done = handoff
                .close(id, Sender::System, None, Some(RESOLVED_BY_BOT.to_owned()))
                .await;
            match done {
                Ok(u) if u.changed() => closed += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(conversation_id = %id, error = %e, "closing an idle conversation failed")
                }
            }
        }
        if closed > 0 {
            tracing::info!(closed, "idle bot conversations closed");
        }
    }
}

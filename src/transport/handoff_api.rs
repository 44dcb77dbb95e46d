//! REST for the agent console: the queue, the agents and the figures.

use axum::extract::State;
use axum::Json;
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::json::QueryParams;
use crate::app::AppState;
use crate::crm::{Credential, Role, Stats};
use crate::error::ApiError;
use crate::handoff::Presence;
use crate::protocol::agent::QueueView;

/// `GET /v1/queue`: the queue and the agents, as the agent socket sends it.
pub(super) async fn queue(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<QueueView>, ApiError> {
    caller.require(&[Role::Agent])?;
    Ok(Json(QueueView::from(&state.handoff.queue().await)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatsQuery {
    days: Option<u32>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

/// `GET /v1/stats?from=2026-11-01&to=2026-11-30` (days in UTC, both
/// included; `to` defaults to today), or `?days=30` (the last 30 days,
/// today included; the default).
pub(super) async fn stats(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    caller.require(&[Role::Agent])?;
    let today = Utc::now().date_naive();
    let (from, to) = match (q.days, q.from) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either days or from/to, not both",
            ))
        }
        (days, None) => {
            let days = days.unwrap_or(30);
            if !(1..=3660).contains(&days) {
                return Err(ApiError::bad_request("days must be 1 to 3660"));
            }
            (
                today - chrono::Days::new(u64::from(days) - 1),
                q.to.unwrap_or(today),
            )
        }
        (None, Some(from)) => (from, q.to.unwrap_or(today)),
    };
    if from > to || (to - from).num_days() > 3660 {
        return Err(ApiError::bad_request(
            "from must be on or before to, at most 3660 days apart",
        ));
    }
    Ok(Json(state.store.stats(from, to).await?))
}

#[derive(Serialize)]
pub(super) struct AgentListing {
    #[serde(flatten)]
    credential: Credential,
    presence: Presence,
    active: usize,
    capacity: usize,
}

/// `GET /v1/agents`: every agent with presence and load.
pub(super) async fn agents(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<AgentListing>>, ApiError> {
    caller.require(&[Role::Agent])?;
    let live = state.handoff.agents().await;
    let capacity = state.handoff.settings().agent_capacity;
    let listing = state
        .store
        .credentials(Role::Agent)
        .await?
        .into_iter()
        .map(|credential| {
            let seen = live.iter().find(|a| a.id == credential.id);
            AgentListing {
                presence: seen.map_or(Presence::Offline, |a| a.presence),
                active: seen.map_or(0, |a| a.active),
                capacity,
                credential,
            }
        })
        .collect();
    Ok(Json(listing))
}

//! REST for the agent console: the queue, the agents and the figures.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
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
}

/// `GET /v1/stats?days=30`
pub(super) async fn stats(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<StatsQuery>,
) -> Result<Json<Stats>, ApiError> {
    caller.require(&[Role::Agent])?;
    let days = q.days.unwrap_or(30);
    if !(1..=3660).contains(&days) {
        return Err(ApiError::bad_request("days must be 1 to 3660"));
    }
    let since = Utc::now() - chrono::Duration::days(days.into());
    Ok(Json(state.store.stats(since).await?))
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

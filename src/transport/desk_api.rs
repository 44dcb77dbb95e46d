//! REST for the desk's tools: who a token is, canned replies, and
//! transcript search.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::json::{JsonBody, QueryParams};
use crate::app::AppState;
use crate::crm::{Actor, AuditAction, AuditEntry, Canned, ConversationStatus, Role};
use crate::error::ApiError;
use crate::input::CannedReply;
use crate::transcripts::{SearchQuery, SearchResults};

#[derive(Serialize)]
pub(super) struct Me {
    id: String,
    name: String,
    role: Role,
}

/// `GET /v1/me`: who the token belongs to, so a console can say which
/// page it is for before anything fails.
pub(super) async fn me(caller: Caller) -> Json<Me> {
    let c = caller.0;
    Json(Me {
        id: c.id,
        name: c.name,
        role: c.role,
    })
}

/// `GET /v1/canned`
pub(super) async fn list_canned(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<Canned>>, ApiError> {
    caller.require(&[Role::Agent])?;
    Ok(Json(state.store.canned_replies().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CannedBody {
    shortcut: String,
    title: String,
    text: String,
}

impl CannedBody {
    fn parse(self) -> Result<CannedReply, ApiError> {
        Ok(CannedReply::parse(&self.shortcut, &self.title, &self.text)?)
    }
}

/// `POST /v1/canned {"shortcut","title","text"}`
pub(super) async fn create_canned(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CannedBody>,
) -> Result<(StatusCode, Json<Canned>), ApiError> {
    caller.require(&[Role::Agent])?;
    let canned = state.store.put_canned(None, body.parse()?).await?;
    Ok((StatusCode::CREATED, Json(canned)))
}

/// `PUT /v1/canned/{id}`
pub(super) async fn update_canned(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CannedBody>,
) -> Result<Json<Canned>, ApiError> {
    caller.require(&[Role::Agent])?;
    Ok(Json(state.store.put_canned(Some(id), body.parse()?).await?))
}

/// `DELETE /v1/canned/{id}`
pub(super) async fn delete_canned(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(&[Role::Agent])?;
    state.store.delete_canned(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchParams {
    #[serde(default)]
    q: String,
    status: Option<ConversationStatus>,
    reason: Option<String>,
    agent: Option<String>,
    label: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: Option<usize>,
}

/// `GET /v1/conversations/search?q=…&status=…&reason=…&agent=…&label=…&from=…&to=…`
pub(super) async fn search(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(p): QueryParams<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let who = caller.require(&[Role::Agent])?.clone();
    if p.q.chars().count() > 500 {
        return Err(ApiError::bad_request("q is limited to 500 characters"));
    }
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 200"));
    }
    let results = state
        .transcripts
        .search(SearchQuery {
            words: p.q,
            status: p.status,
            reason: p.reason,
            agent: p.agent,
            label: p.label.map(|l| l.trim().to_lowercase()),
            from: p.from,
            to: p.to,
            limit,
        })
        .await?;
    // Results show names, emails and words of transcripts: recorded
    // before they are returned.
    let seen = results
        .hits
        .iter()
        .map(|h| {
            AuditEntry::new(Actor::from(&who), AuditAction::Search)
                .customer(h.customer_id)
                .conversation(h.conversation_id)
        })
        .collect();
    state.store.audit_all(seen).await?;
    Ok(Json(results))
}

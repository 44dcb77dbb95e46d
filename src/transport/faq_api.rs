//! REST for FAQ authors: `/v1/faq`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::json::{JsonBody, QueryParams};
use crate::app::AppState;
use crate::crm::Role;
use crate::error::ApiError;
use crate::faq::{FaqDraft, FaqEntry};

/// Agents may read the FAQ (for replies); authors and operators edit it.
const READERS: &[Role] = &[Role::Author, Role::Agent];
const WRITERS: &[Role] = &[Role::Author];

pub(super) async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<FaqEntry>>, ApiError> {
    caller.require(READERS)?;
    Ok(Json(state.faq.list().await?))
}

pub(super) async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<FaqEntry>, ApiError> {
    caller.require(READERS)?;
    Ok(Json(state.faq.get(id).await?))
}

pub(super) async fn create(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(draft): JsonBody<FaqDraft>,
) -> Result<(StatusCode, Json<FaqEntry>), ApiError> {
    caller.require(WRITERS)?;
    let entry = state.faq.create(draft).await?;
    tracing::info!(faq_id = %entry.id, "faq entry created");
    Ok((StatusCode::CREATED, Json(entry)))
}

pub(super) async fn update(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(draft): JsonBody<FaqDraft>,
) -> Result<Json<FaqEntry>, ApiError> {
    caller.require(WRITERS)?;
    if draft.id.as_ref().is_some_and(|d| *d != id) {
        return Err(ApiError::bad_request(
            "the body's id differs from the id in the path",
        ));
    }
    let entry = state.faq.update(id, draft).await?;
    tracing::info!(faq_id = %entry.id, "faq entry updated");
    Ok(Json(entry))
}

pub(super) async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    caller.require(WRITERS)?;
    state.faq.delete(id.clone()).await?;
    tracing::info!(faq_id = %id, "faq entry deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchQuery {
    q: String,
    limit: Option<usize>,
}

#[derive(Serialize)]
pub(super) struct SearchHit {
    #[serde(flatten)]
    entry: FaqEntry,
    score: f32,
}

pub(super) async fn search(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<SearchQuery>,
) -> Result<Json<Vec<SearchHit>>, ApiError> {
    caller.require(READERS)?;
    let limit = q.limit.unwrap_or(5);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 50"));
    }
    let hits = state.faq.search(q.q, limit).await?;
    Ok(Json(
        hits.into_iter()
            .map(|h| SearchHit {
                entry: h.entry,
                score: h.score,
            })
            .collect(),
    ))
}

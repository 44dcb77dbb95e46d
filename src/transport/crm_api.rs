//! REST for operators: timelines, transcripts, conversations, tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::json::{JsonBody, QueryParams};
use crate::app::AppState;
use crate::auth;
use crate::crm::{
    Actor, AuditAction, AuditEntry, Conversation, ConversationId, ConversationPage, Credential,
    Customer, CustomerId, EventKind, Message, Role, TimelineEvent,
};
use crate::error::ApiError;

fn parse_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("{what} {raw:?} not found")))
}

#[derive(Serialize)]
pub(super) struct Timeline {
    customer: Customer,
    events: Vec<TimelineEvent>,
}

/// `GET /v1/customers/{id}/timeline`
pub(super) async fn timeline(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Timeline>, ApiError> {
    let who = caller.require(&[Role::Agent])?;
    let id: CustomerId = parse_id(&id, "customer")?;
    let customer = state.store.customer(id).await?;
    let events = state.store.timeline(id).await?;
    let read = AuditEntry::new(Actor::from(who), AuditAction::ReadTimeline).customer(id);
    state.store.audit(read).await?;
    Ok(Json(Timeline { customer, events }))
}

#[derive(Serialize)]
pub(super) struct Transcript {
    conversation: Conversation,
    messages: Vec<Message>,
    events: Vec<TimelineEvent>,
}

/// `GET /v1/conversations/{id}`: the header, the messages and every other
/// event (feedback, rating, close).
pub(super) async fn transcript(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Transcript>, ApiError> {
    let who = caller.require(&[Role::Agent])?;
    let id: ConversationId = parse_id(&id, "conversation")?;
    let conversation = state.store.conversation(id).await?;
    let read = AuditEntry::new(Actor::from(who), AuditAction::ReadConversation)
        .customer(conversation.customer_id)
        .conversation(id);
    state.store.audit(read).await?;
    let (messages, events) = state
        .store
        .conversation_events(id)
        .await?
        .into_iter()
        .partition::<Vec<_>, _>(|e| matches!(e.kind, EventKind::Message { .. }));
    let messages = messages
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Message { message: m } => Some(m),
            _ => None,
        })
        .collect();
    Ok(Json(Transcript {
        conversation,
        messages,
        events,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PageQuery {
    cursor: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/conversations?limit=&cursor=`, newest first.
pub(super) async fn conversations(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PageQuery>,
) -> Result<Json<ConversationPage>, ApiError> {
    caller.require(&[Role::Agent])?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 200"));
    }
    let page = state
        .store
        .list_conversations(q.cursor, limit)
        .await
        .map_err(|e| match e {
            crate::crm::StoreError::NotFound("cursor") => {
                ApiError::bad_request("the cursor is not valid")
            }
            other => other.into(),
        })?;
    Ok(Json(page))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewHolder {
    name: String,
}

#[derive(Serialize)]
pub(super) struct Issued {
    #[serde(flatten)]
    credential: Credential,
    /// Shown once; only its hash is stored.
    token: String,
}

async fn issue(
    state: &AppState,
    role: Role,
    name: String,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    let name = crate::input::clean(&name);
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::bad_request("name must be 1-100 characters"));
    }
    let (credential, token) = auth::issue(&state.store, role, name).await?;
    tracing::info!(role = ?role, id = %credential.id, "token issued");
    Ok((StatusCode::CREATED, Json(Issued { credential, token })))
}

/// `POST /v1/agents {"name"}` → the agent's id and token.
pub(super) async fn create_agent(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewHolder>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    caller.require(&[])?;
    issue(&state, Role::Agent, body.name).await
}

/// `POST /v1/authors {"name"}` → the author's id and token.
pub(super) async fn create_author(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewHolder>,
) -> Result<(StatusCode, Json<Issued>), ApiError> {
    caller.require(&[])?;
    issue(&state, Role::Author, body.name).await
}

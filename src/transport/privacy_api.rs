//! REST for the data lifecycle (operators only): find a customer, export
//! everything about them, erase them, read the access audit.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use super::json::{JsonBody, QueryParams};
use crate::app::AppState;
use crate::crm::{
    Actor, AuditAction, AuditEntry, AuditPage, Customer, CustomerExport, CustomerId,
    CustomerLookup, StoreError,
};
use crate::error::ApiError;
use crate::privacy;

fn customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::not_found(format!("customer {raw:?} not found")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FindQuery {
    email: Option<String>,
    external_id: Option<String>,
}

#[derive(Serialize)]
pub(super) struct Found {
    customers: Vec<Customer>,
}

/// `POST /v1/customers/search {"email"}` or `{"external_id"}`: a body,
/// not a query string, so that the email stays out of URLs and the access
/// logs of proxies.
pub(super) async fn find(
    caller: Caller,
    State(state): State<AppState>,
    JsonBody(q): JsonBody<FindQuery>,
) -> Result<Json<Found>, ApiError> {
    let who = caller.require(&[])?;
    let lookup = match (q.email, q.external_id) {
        (Some(email), None) if !email.trim().is_empty() => CustomerLookup::Email(email),
        (None, Some(ext)) if !ext.is_empty() => CustomerLookup::ExternalId(ext),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of email and external_id",
            ))
        }
    };
    let customers = state.store.find_customers(lookup).await?;
    let lookups = customers
        .iter()
        .map(|c| AuditEntry::new(Actor::from(who), AuditAction::Lookup).customer(c.id))
        .collect();
    state.store.audit_all(lookups).await?;
    Ok(Json(Found { customers }))
}

/// `GET /v1/customers/{id}/export`: the whole document (docs/privacy.md).
pub(super) async fn export(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CustomerExport>, ApiError> {
    let who = caller.require(&[])?;
    let id = customer_id(&id)?;
    let export = state.store.export_customer(id).await?;
    state
        .store
        .audit(AuditEntry::new(Actor::from(who), AuditAction::Export).customer(id))
        .await?;
    Ok(Json(export))
}

#[derive(Serialize)]
pub(super) struct ErasedView {
    customer_id: CustomerId,
    /// False when there was nothing left to erase (a repeated request).
    existed: bool,
    conversations: usize,
}

/// `DELETE /v1/customers/{id}`: idempotent.
pub(super) async fn erase(
    caller: Caller,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ErasedView>, ApiError> {
    let who = caller.require(&[])?;
    let id = customer_id(&id)?;
    let erased = privacy::erase(
        &state.store,
        &state.handoff,
        &state.hub,
        Actor::from(who),
        AuditAction::Erase,
        id,
    )
    .await?;
    Ok(Json(ErasedView {
        customer_id: id,
        existed: erased.existed,
        conversations: erased.conversations.len(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditQuery {
    since: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/audit?since=&cursor=&limit=`, oldest first.
pub(super) async fn audit(
    caller: Caller,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(&[])?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be 1 to 1000"));
    }
    let page = state
        .store
        .audit_log(q.since, q.cursor, limit)
        .await
        .map_err(|e| match e {
            StoreError::NotFound("cursor") => ApiError::bad_request("the cursor is not valid"),
            other => other.into(),
        })?;
    Ok(Json(page))
}

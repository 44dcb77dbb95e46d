//! HTTP surface: the customer socket, REST, health.
//!
//! [`listener`] accepts and serves the connections; [`router`] is the
//! whole route table. Handlers are thin: they check the caller, parse
//! input, call one domain module and map its error through
//! [`crate::error`]. Both sockets run on one skeleton ([`socket`]); what
//! a customer or an agent sees of the domain's events, and in which
//! words, is decided here, never in the domain.

mod agent;
mod analyze_api;
mod assets;
mod caller;
mod chat;
mod crm_api;
mod desk_api;
mod faq_api;
pub(crate) mod guard;
mod handoff_api;
mod json;
pub(crate) mod listener;
mod privacy_api;
mod socket;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::app::AppState;
use crate::error::{ApiError, ErrorCode};

pub(crate) fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    Router::new()
        .route("/v1/chat", get(chat::upgrade))
        .route("/v1/agent", get(agent::upgrade))
        .route("/v1/customers/search", post(privacy_api::find))
        .route("/v1/customers/{id}", delete(privacy_api::erase))
        .route("/v1/customers/{id}/export", get(privacy_api::export))
        .route("/v1/customers/{id}/timeline", get(crm_api::timeline))
        .route("/v1/audit", get(privacy_api::audit))
        .route("/v1/me", get(desk_api::me))
        .route(
            "/v1/canned",
            get(desk_api::list_canned).post(desk_api::create_canned),
        )
        .route(
            "/v1/canned/{id}",
            axum::routing::put(desk_api::update_canned).delete(desk_api::delete_canned),
        )
        .route("/v1/conversations/search", get(desk_api::search))
        .route("/v1/conversations", get(crm_api::conversations))
        .route("/v1/conversations/{id}", get(crm_api::transcript))
        .route(
            "/v1/agents",
            post(crm_api::create_agent).get(handoff_api::agents),
        )
        .route("/v1/queue", get(handoff_api::queue))
        .route("/v1/stats", get(handoff_api::stats))
        .route("/v1/authors", post(crm_api::create_author))
        .route("/v1/faq", get(faq_api::list).post(faq_api::create))
        .route("/v1/faq/search", get(faq_api::search))
        .route(
            "/v1/faq/{id}",
            get(faq_api::get)
                .put(faq_api::update)
                .delete(faq_api::delete),
        )
        .route("/v1/analyze", post(analyze_api::analyze))
        .route("/healthz", get(healthy))
        .merge(assets::routes())
        .route("/readyz", get(ready))
        .fallback(|| async { ApiError::not_found("no such endpoint; see docs/api.md") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                ErrorCode::MethodNotAllowed,
                "this endpoint does not take that method; see docs/api.md",
            )
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Alive: the process answers.
async fn healthy(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<AppState>,
) -> (StatusCode, &'static str) {
    if !state.health_checks.allow(peer.ip()) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many health checks");
    }
    (StatusCode::OK, "ok")
}

/// Ready while the server is not shutting down and the store can still
/// make writes durable. Reads state only: a flood of checks costs the
/// turns nothing.
async fn ready(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(state): State<AppState>,
) -> (StatusCode, &'static str) {
    if !state.health_checks.allow(peer.ip()) {
        return (StatusCode::TOO_MANY_REQUESTS, "too many health checks");
    }
    if state.shutdown.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match state.store.healthy() {
        true => (StatusCode::OK, "ready"),
        false => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the store cannot write; see the log",
        ),
    }
}

//! The one mapping from internal errors to what clients see.
//!
//! Every module has its own error enum; this file turns them into an
//! [`ErrorCode`] (shared by REST responses and websocket `error` frames)
//! and a message safe to show. Internal details go to the log, never to
//! the client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::crm::StoreError;
use crate::faq::FaqError;
use crate::nlu::NluError;

/// Machine-readable error codes of the protocol and the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A frame or body that is not valid JSON of a known shape.
    BadFrame,
    TooLarge,
    RateLimited,
    /// Missing or wrong credentials.
    Unauthorized,
    /// Valid credentials without the role the action needs.
    Forbidden,
    NotFound,
    /// The endpoint exists but not with this HTTP method (REST only).
    MethodNotAllowed,
    Conflict,
    /// Overloaded or shutting down; retry later.
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadFrame => StatusCode::BAD_REQUEST,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadFrame, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// An internal failure: logged in full, shown as a generic message.
    pub fn internal(error: &dyn std::error::Error) -> Self {
        tracing::error!(error = %error, "internal error");
        Self::new(
            ErrorCode::Internal,
            "something went wrong on our side; please try again",
        )
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a ApiError,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.code.status(), Json(Body { error: &self })).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::Closed => ApiError::new(ErrorCode::Conflict, "the conversation is closed"),
            StoreError::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            StoreError::Commit(crate::crm::CommitError::Closed) => {
                ApiError::new(ErrorCode::Unavailable, "the server is shutting down")
            }
            other => ApiError::internal(&other),
        }
    }
}

impl From<crate::handoff::HandoffError> for ApiError {
    fn from(e: crate::handoff::HandoffError) -> Self {
        match e {
            crate::handoff::HandoffError::Store(s) => s.into(),
            crate::handoff::HandoffError::Refused(m) => ApiError::new(ErrorCode::Conflict, m),
        }
    }
}

impl From<FaqError> for ApiError {
    fn from(e: FaqError) -> Self {
        match e {
            FaqError::Invalid(_) => ApiError::bad_request(e.to_string()),
            FaqError::NotFound(_) => ApiError::not_found(e.to_string()),
            FaqError::Exists(_) => ApiError::new(ErrorCode::Conflict, e.to_string()),
            FaqError::Store(s) => s.into(),
            FaqError::Embed(n) => n.into(),
            other => ApiError::internal(&other),
        }
    }
}

impl From<NluError> for ApiError {
    fn from(e: NluError) -> Self {
        match e {
            NluError::Overloaded => ApiError::new(ErrorCode::Unavailable, e.to_string()),
            other => ApiError::internal(&other),
        }
    }
}

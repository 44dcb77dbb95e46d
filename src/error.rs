//! Error codes and the one mapping from internal errors to what clients
//! see.
//!
//! Every module keeps its own error enum and says, by implementing
//! [`Coded`], which [`ErrorCode`] each of its variants is. This file only
//! holds the codes, the HTTP status of each and the client-facing
//! [`ApiError`]; it imports no module's error. Internal failures are
//! logged in full and shown to clients as a generic sentence.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

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
    pub(crate) fn status(self) -> StatusCode {
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

/// An error that knows its code. The `Display` text of every variant that
/// is not [`ErrorCode::Internal`] is shown to clients, so it must say what
/// happened and what to do, in words fit for them.
pub(crate) trait Coded: std::error::Error {
    fn code(&self) -> ErrorCode;

    /// A finer name than the code, where clients tell cases apart.
    fn reason(&self) -> Option<&'static str> {
        None
    }
}

/// An error as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Which refusal of its code this is, for clients that act on it
    /// (agent frames call it `refusal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// With `rate_limited`: how long to wait before sending again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            reason: None,
            retry_after_ms: None,
        }
    }

    pub(crate) fn retry_after(mut self, millis: u64) -> Self {
        self.retry_after_ms = Some(millis);
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadFrame, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
}

impl<E: Coded> From<E> for ApiError {
    fn from(e: E) -> Self {
        match e.code() {
            ErrorCode::Internal => {
                tracing::error!(error = %e, "internal error");
                ApiError::new(
                    ErrorCode::Internal,
                    "something went wrong on our side; please try again",
                )
            }
            code => ApiError {
                reason: e.reason(),
                ..ApiError::new(code, e.to_string())
            },
        }
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

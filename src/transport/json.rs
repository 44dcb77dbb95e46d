//! Body and query extractors whose rejections are typed [`ApiError`]s.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

use crate::error::{ApiError, ErrorCode};

/// Like `axum::Json`, but a bad body answers with the API's error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(super) struct JsonBody<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::BytesRejection(_)
                if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::new(ErrorCode::TooLarge, "the request body is too large")
            }
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::bad_request("send the body as JSON with `Content-Type: application/json`")
            }
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

/// Like `axum::extract::Query`, with the API's error shape.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(super) struct QueryParams<T>(pub T);

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::bad_request(r.body_text())
    }
}

//! A JSON body extractor whose rejections are typed [`ApiError`]s.

use axum::extract::rejection::JsonRejection;
use axum::extract::FromRequest;

use crate::error::{ApiError, ErrorCode};

/// Like `axum::Json`, but a bad body answers with the API's error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

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

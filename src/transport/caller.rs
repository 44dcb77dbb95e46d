//! Who calls a REST endpoint: the bearer token of the request, looked up
//! once by the [`Caller`] extractor; handlers then say which roles they
//! accept.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::auth::authenticate;
use crate::crm::{Credential, Role};
use crate::error::{ApiError, ErrorCode};

/// The authenticated caller of a REST request.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Credential);

impl Caller {
    /// Allow the call if the caller has one of `roles`; operators may do
    /// everything.
    pub(crate) fn require(&self, roles: &[Role]) -> Result<&Credential, ApiError> {
        if self.0.role == Role::Operator || roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                "this token may not do that",
            ))
        }
    }
}

/// The token from an `Authorization: Bearer` header.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthorized,
                "send the token as `Authorization: Bearer <token>`",
            )
        })?;
        Ok(Caller(authenticate(&state.store, token).await?))
    }
}

//! Why a request failed: [`ApiError`], its status, and its JSON body.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use thiserror::Error;

/// What every fallible handler returns.
pub(super) type AppResult = Result<Response, ApiError>;

/// Why a request failed, and its status.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong admin token: send `Authorization: Bearer <ADMIN_TOKEN>`")]
    Unauthorized,
    #[error(
        "this endpoint is disabled: the service has no admin token configured (set ADMIN_TOKEN)"
    )]
    NoTokenConfigured,
    #[error("no such endpoint (see the API table in labs/lab-4-4/README.md)")]
    NotFound,
    /// A path a seed uses that this service spells differently: where to go instead.
    #[error("{0}")]
    Moved(String),
    /// A body over [`super::BODY_LIMIT`]: 413, so a client knows that resending
    /// the same body can never work.
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error(
        "this endpoint does not take that method (see the API table in labs/lab-4-4/README.md)"
    )]
    MethodNotAllowed,
    #[error("Kafka is not answering: {0}")]
    Unavailable(String),
    #[error("{0}")]
    NotImplemented(String),
    /// The request is fine, the service's state refuses it.
    #[error("{0}")]
    Conflict(String),
    /// A bug on our side (a purge plan with a negative cut, a metrics encoder
    /// that fails): a 500 is the honest answer.
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NoTokenConfigured => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::Moved(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let mut response = (
            status,
            Json(json!({"success": false, "error": self.to_string()})),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("static"));
        }
        response
    }
}

pub(super) fn unavailable(error: anyhow::Error) -> ApiError {
    ApiError::Unavailable(format!("{error:#}"))
}

//! Parsing a request: what axum refuses in a query or a JSON body becomes a 400,
//! except a body over the limit, which is a 413.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;

use super::errors::ApiError;

/// Query and JSON rejections become 400s with axum's explanation, as JSON.
pub(super) fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest(rejection.body_text())
}

/// A JSON body axum refused. Too large is told apart from malformed: the
/// rejection's own status says which (axum checks the limit while buffering).
pub(super) fn bad_json(rejection: JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(format!(
            "the request body is over the {} KiB limit: a payment, a filter or a purge request is far smaller",
            super::BODY_LIMIT / 1024
        ));
    }
    ApiError::BadRequest(rejection.body_text())
}

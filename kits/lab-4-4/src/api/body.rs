//! Parsing a request: what axum refuses in a query or a JSON body becomes a 400.

use axum::extract::rejection::{JsonRejection, QueryRejection};

use super::errors::ApiError;

/// Query and JSON rejections become 400s with axum's explanation, as JSON.
pub(super) fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest(rejection.body_text())
}

pub(super) fn bad_json(rejection: JsonRejection) -> ApiError {
    ApiError::BadRequest(rejection.body_text())
}

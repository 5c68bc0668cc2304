//! The DLQ operations 🔒: replay and purge, one at a time, each run to the end.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::auth::Admin;
use super::body::{bad_json, bad_query};
use super::errors::{unavailable, ApiError, AppResult};
use crate::dlq::Filter;
use crate::purge::{run_purge, PurgeFailure, PurgeRequest};
use crate::replay::{run_replay, ReplayFailure, ReplayRequest};
use crate::state::AppState;
use crate::Exercise;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct DryRun {
    dry_run: bool,
}

/// Run an operation in a task of its own. hyper drops a handler's future when
/// the client goes away (a proxy timeout, a Ctrl-C on curl); a replay dropped
/// between a send and its journal record would send that record again next
/// time. In its own task, it runs to the end whoever is still listening.
async fn run_to_completion<T, F, Fut>(state: Arc<AppState>, operation: F) -> Result<T, ApiError>
where
    F: FnOnce(Arc<AppState>) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(operation(state))
        .await
        .map_err(|e| ApiError::Internal(format!("the operation failed: {e}")))
}

/// `POST /api/v1/dlq/replay[?dry_run=true]`, body: a filter (`{}` = everything).
pub(super) async fn replay<E: Exercise>(
    _admin: Admin,
    State(state): State<Arc<AppState>>,
    query: Result<Query<DryRun>, QueryRejection>,
    body: Result<Json<Filter>, JsonRejection>,
) -> AppResult {
    let Query(DryRun { dry_run }) = query.map_err(bad_query)?;
    let Json(filter) = body.map_err(bad_json)?;
    let summary = run_to_completion(state, move |state| async move {
        let _one_at_a_time = state.operations.lock().await;
        run_replay::<E>(
            &state.broker,
            &state.topology,
            &state.forward,
            &ReplayRequest { filter, dry_run },
        )
        .await
    })
    .await?
    .map_err(|failure| match failure {
        ReplayFailure::BadFilter(error) => ApiError::BadRequest(error.to_string()),
        ReplayFailure::Refused(why) => ApiError::Conflict(why),
        ReplayFailure::Kafka(error) => unavailable(error),
    })?;
    Ok(Json(summary).into_response())
}

/// The body of a purge, flat and strict: every field is checked, so a body that
/// means something else (`"dry_run": true` in the body instead of the query, a
/// partition with mode `replayed`) is refused instead of purging more than asked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PurgeBody {
    mode: String,
    partition: Option<i32>,
    offset: Option<i64>,
}

impl PurgeBody {
    fn request(&self) -> Result<PurgeRequest, ApiError> {
        match (self.mode.as_str(), self.partition, self.offset) {
            ("replayed", None, None) => Ok(PurgeRequest::Replayed),
            ("replayed", _, _) => Err(ApiError::BadRequest(
                "mode \"replayed\" takes no partition or offset".into(),
            )),
            ("before", Some(partition), Some(offset)) => PurgeRequest::before(partition, offset)
                .map_err(|e| ApiError::BadRequest(e.to_string())),
            ("before", _, _) => Err(ApiError::BadRequest(
                "mode \"before\" needs a partition and an offset".into(),
            )),
            (other, _, _) => Err(ApiError::BadRequest(format!(
                "unknown purge mode \"{other}\": \"replayed\" or \"before\""
            ))),
        }
    }
}

/// `POST /api/v1/dlq/purge[?dry_run=true]`, body: `{"mode": "replayed"}` or
/// `{"mode": "before", "partition": 0, "offset": 42}`.
pub(super) async fn purge<E: Exercise>(
    _admin: Admin,
    State(state): State<Arc<AppState>>,
    query: Result<Query<DryRun>, QueryRejection>,
    body: Result<Json<PurgeBody>, JsonRejection>,
) -> AppResult {
    let Query(DryRun { dry_run }) = query.map_err(bad_query)?;
    let Json(body) = body.map_err(bad_json)?;
    let request = body.request()?;
    let summary = run_to_completion(state, move |state| async move {
        let _one_at_a_time = state.operations.lock().await;
        run_purge::<E>(
            &state.broker,
            &state.topology.pipeline.dlq_topic,
            &state.journal,
            &request,
            dry_run,
        )
        .await
    })
    .await?
    .map_err(|failure| match failure {
        PurgeFailure::Refused(error) => ApiError::BadRequest(error.to_string()),
        PurgeFailure::BadPlan(why) => ApiError::Internal(format!("refusing the plan: {why}")),
        PurgeFailure::Unsupported => {
            ApiError::NotImplemented(PurgeFailure::Unsupported.to_string())
        }
        PurgeFailure::Kafka(error) => unavailable(error),
    })?;
    Ok(Json(summary).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purge_body(json: &str) -> Result<PurgeRequest, String> {
        let body: PurgeBody = serde_json::from_str(json).map_err(|e| e.to_string())?;
        body.request().map_err(|e| e.to_string())
    }

    #[test]
    fn a_purge_body_means_exactly_one_thing() {
        assert_eq!(
            purge_body(r#"{"mode": "replayed"}"#),
            Ok(PurgeRequest::Replayed)
        );
        assert_eq!(
            purge_body(r#"{"mode": "before", "partition": 1, "offset": 40}"#),
            Ok(PurgeRequest::Before {
                partition: 1,
                offset: 40
            })
        );
        // Each of these would purge more than was meant, if it were accepted.
        for refused in [
            r#"{"mode": "replayed", "dry_run": true}"#,
            r#"{"mode": "replayed", "partition": 0, "offset": 5}"#,
            r#"{"mode": "before", "partition": 0, "offset": -1}"#,
            r#"{"mode": "before", "partition": 0}"#,
            r#"{"mode": "everything"}"#,
        ] {
            assert!(purge_body(refused).is_err(), "accepted {refused}");
        }
    }
}

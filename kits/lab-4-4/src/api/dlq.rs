//! Reading the DLQ over HTTP: seed 001's info and listing, seed 003's count,
//! and our stats (the `dlq list` and `dlq stats` commands' structs).

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::body::bad_query;
use super::errors::{unavailable, ApiError, AppResult};
use super::health::messages_in_retry;
use crate::dlq::{self, CompiledFilter, DlqSnapshot, Filter, Page};
use crate::state::AppState;

/// Seed 001's `GET /api/dlq/info`, same field names.
pub(super) async fn dlq_info(State(state): State<Arc<AppState>>) -> Response {
    let details = messages_in_retry(&state);
    let in_retry: u64 = details.iter().filter_map(|d| d["waiting"].as_u64()).sum();
    Json(json!({
        "success": true,
        "dlqConfig": {
            "dlqTopic": state.topology.pipeline.dlq_topic,
            "maxRetries": state.config.max_retries,
            "initialBackoffMs": state.config.retry_backoff_ms,
            "maxBackoffMs": state.config.max_backoff_ms,
            "parkingTopic": state.topology.parking_topic(),
            "replayJournalTopic": state.journal.topic,
        },
        "consumerStats": {
            "isRunning": state.pipeline_running.load(Ordering::Relaxed),
            "messagesInRetry": in_retry,
            "retryTrackerDetails": details,
        },
    }))
    .into_response()
}

/// Query parameters of the listings: a filter and a page, spelled out (serde's
/// `flatten` loses number types in query strings).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct ListingQuery {
    reason: Option<String>,
    original_partition: Option<i32>,
    from_offset: Option<i64>,
    to_offset: Option<i64>,
    since: Option<String>,
    until: Option<String>,
    payment_id: Option<String>,
    page: Option<usize>,
    page_size: Option<usize>,
}

impl ListingQuery {
    fn filter(&self) -> Filter {
        Filter {
            reason: self.reason.clone(),
            original_partition: self.original_partition,
            from_offset: self.from_offset,
            to_offset: self.to_offset,
            since: self.since.clone(),
            until: self.until.clone(),
            payment_id: self.payment_id.clone(),
        }
    }

    fn page(&self) -> Page {
        let default = Page::default();
        Page {
            page: self.page.unwrap_or(default.page),
            page_size: self.page_size.unwrap_or(default.page_size),
        }
    }
}

/// The query's filter (checked first: a bad one is a 400 before any Kafka call),
/// the DLQ, and which of its records a replay has dealt with.
async fn filtered_dlq(
    state: &AppState,
    query: &ListingQuery,
) -> Result<(CompiledFilter, DlqSnapshot, BTreeSet<(i32, i64)>), ApiError> {
    let filter = query
        .filter()
        .compile()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (snapshot, replayed) = state
        .journal
        .read_dlq(&state.topology.pipeline.dlq_topic)
        .await
        .map_err(unavailable)?;
    Ok((filter, snapshot, replayed))
}

/// Seed 001's `GET /api/dlq/messages`, paged and filtered.
pub(super) async fn dlq_messages(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListingQuery>, QueryRejection>,
) -> AppResult {
    let Query(query) = query.map_err(bad_query)?;
    let (filter, snapshot, replayed) = filtered_dlq(&state, &query).await?;
    let listing = dlq::list(&snapshot, &filter, query.page(), &replayed)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(listing).into_response())
}

/// `GET /api/v1/dlq/stats`: the `dlq stats` command over HTTP.
pub(super) async fn dlq_stats(
    State(state): State<Arc<AppState>>,
    query: Result<Query<ListingQuery>, QueryRejection>,
) -> AppResult {
    let Query(query) = query.map_err(bad_query)?;
    if query.page.is_some() || query.page_size.is_some() {
        return Err(ApiError::BadRequest(
            "stats are not paged: drop page and page_size".into(),
        ));
    }
    let (filter, snapshot, replayed) = filtered_dlq(&state, &query).await?;
    Ok(Json(dlq::stats(&snapshot, &filter, &replayed)).into_response())
}

/// Seed 003's `GET /api/v1/dlt/count`: records in the DLQ right now (purged
/// ones no longer count).
pub(super) async fn dlt_count(State(state): State<Arc<AppState>>) -> AppResult {
    let topic = &state.topology.pipeline.dlq_topic;
    let count = dlq::records_in(&state.broker, topic)
        .await
        .map_err(unavailable)?;
    Ok(Json(json!({"dltTopic": topic, "count": count})).into_response())
}

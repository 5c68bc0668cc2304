//! What the service is doing: `/health`, `/metrics` (Prometheus text) and seed
//! 003's `/api/v1/stats`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use harness::clock::format_rfc3339_ms;
use harness::clock::now_ms;
use serde_json::{json, Value};

use super::errors::{ApiError, AppResult};
use crate::metrics::alerts;
use crate::state::AppState;

pub(super) async fn health(State(state): State<Arc<AppState>>) -> Response {
    let running = state.pipeline_running.load(Ordering::Relaxed);
    let alerts = alerts(&state.metrics, &state.thresholds);
    let status = match (running, alerts.is_empty()) {
        (false, _) => "DOWN",
        (true, false) => "DEGRADED",
        (true, true) => "UP",
    };
    // DEGRADED stays 200: the service works, and a load balancer pulling it
    // would not make the DLQ any smaller. DOWN is 503.
    let code = if running {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": status,
        "pipeline": {"running": running},
        "alerts": alerts,
        "thresholds": state.thresholds,
        "uptimeSeconds": (now_ms() - state.started_at_ms) / 1000,
    });
    (code, Json(body)).into_response()
}

pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> AppResult {
    let text = state
        .metrics
        .render()
        .map_err(|e| ApiError::Internal(format!("encoding the metrics: {e:#}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Records waiting at each retry level: the level group's lag, from Kafka (so it
/// counts replays, and what other instances of the service hold, too).
pub(super) fn messages_in_retry(state: &AppState) -> Vec<Value> {
    let pipeline = &state.topology.pipeline;
    (1..=pipeline.levels())
        .map(|level| {
            json!({
                "level": level,
                "topic": pipeline.retry_topic(level),
                "waiting": state.metrics.lag_of(&pipeline.processor_group(level)).unwrap_or(0),
            })
        })
        .collect()
}

/// Seed 003's `GET /api/v1/stats`: what this service did since it started.
pub(super) async fn stats(State(state): State<Arc<AppState>>) -> Response {
    let m = &state.metrics;
    let (dlq_rate, decided) = m.refresh_dlq_rate();
    let failures = m.failures_by_reason();
    let retries: Vec<Value> = (1..=state.topology.pipeline.levels())
        .map(|level| {
            json!({
                "level": level,
                "sent": m.retries.with_label_values(&[&level.to_string()]).get(),
            })
        })
        .collect();
    Json(json!({
        "processed": m.processed.get(),
        "deadLettered": m.dead_lettered.get(),
        "parked": m.parked.get(),
        "failedAttemptsByReason": failures,
        "retriesByLevel": retries,
        "messagesInRetry": messages_in_retry(&state),
        "dlqRate": {"value": dlq_rate, "window": "5m", "decided": decided},
        "consumerLag": m.lag_total.get(),
        "simulateTransientError": state.switches.simulate_transient_error(),
        "zeroDecimalBug": state.switches.zero_decimal_bug(),
        "since": format_rfc3339_ms(state.started_at_ms),
    }))
    .into_response()
}

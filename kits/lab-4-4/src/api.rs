//! The HTTP admin API (axum).
//!
//! Seed-compatible endpoints (seeds 001 and 003, adapted to payments):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/health` | UP, DEGRADED (an alert threshold crossed) or DOWN (503) |
//! | GET | `/api/dlq/info` | DLQ configuration and consumer stats (seed 001) |
//! | GET | `/api/dlq/messages` | dead letters, paged and filtered (seed 001) |
//! | GET | `/api/v1/dlt/count` | records in the DLQ (seed 003) |
//! | GET | `/api/v1/stats` | processing statistics (seed 003) |
//! | POST | `/api/payments` | create a payment (seed 001's create-order, 003's POST orders) |
//! | POST | `/api/v1/config/simulate-transient-error?enabled=` | seed 003's switch 🔒 |
//!
//! Ours: `POST /api/v1/config/zero-decimal-bug?enabled=` (deploy or fix Lab 4.4's
//! bug) 🔒, `GET /api/v1/dlq/stats`, `POST /api/v1/dlq/replay` 🔒,
//! `POST /api/v1/dlq/purge` 🔒, `GET /metrics` (Prometheus text).
//!
//! JSON: the seed-compatible endpoints keep the seeds' camelCase; ours use the
//! workshop's snake_case (the same structs as `dlq ... --json`).
//!
//! 🔒 = `Authorization: Bearer <ADMIN_TOKEN>`. Without a configured token those
//! endpoints refuse everyone (403): an unprotected purge is a data-loss button.
//! Every bad parameter is a 4xx with a JSON `{"success": false, "error": ...}`;
//! a broker that fails is a 503.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use harness::clock::format_rfc3339_ms;
use harness::clock::now_ms;
use harness::payments::Payment;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use thiserror::Error;

use crate::dlq::{self, CompiledFilter, DlqSnapshot, Filter, Page};
use crate::metrics::alerts;
use crate::purge::{run_purge, PurgeFailure, PurgeRequest};
use crate::replay::{run_replay, ReplayFailure, ReplayRequest};
use crate::service::AppState;
use crate::Exercise;

type AppResult = Result<Response, ApiError>;

/// Every route.
pub fn router<E: Exercise>(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/dlq/info", get(dlq_info))
        .route("/api/dlq/messages", get(dlq_messages))
        .route("/api/v1/dlt/count", get(dlt_count))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/dlq/stats", get(dlq_stats))
        .route("/api/payments", post(create_payment))
        .route(
            "/api/v1/config/simulate-transient-error",
            post(simulate_transient_error),
        )
        .route("/api/v1/config/zero-decimal-bug", post(zero_decimal_bug))
        .route("/api/v1/dlq/replay", post(replay::<E>))
        .route("/api/v1/dlq/purge", post(purge::<E>))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
}

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
    #[error("no such endpoint")]
    NotFound,
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
            ApiError::NotFound => StatusCode::NOT_FOUND,
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

fn unavailable(error: anyhow::Error) -> ApiError {
    ApiError::Unavailable(format!("{error:#}"))
}

/// Query and JSON rejections become 400s with axum's explanation, as JSON.
fn bad_query(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest(rejection.body_text())
}

fn bad_json(rejection: JsonRejection) -> ApiError {
    ApiError::BadRequest(rejection.body_text())
}

/// Proof that the request carried the admin token. Put it first in a handler's
/// arguments and the handler cannot run without it.
pub struct Admin;

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(expected) = state
            .config
            .admin_token
            .as_deref()
            .filter(|t| !t.is_empty())
        else {
            return Err(ApiError::NoTokenConfigured);
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme is case-insensitive (RFC 9110); the token is not.
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim());
        // Constant time: a comparison that stops at the first wrong byte tells
        // an attacker, one timing at a time, how much of the token is right.
        if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            Ok(Admin)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
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

async fn metrics(State(state): State<Arc<AppState>>) -> AppResult {
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
fn messages_in_retry(state: &AppState) -> Vec<Value> {
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

/// Seed 001's `GET /api/dlq/info`, same field names.
async fn dlq_info(State(state): State<Arc<AppState>>) -> Response {
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
struct ListingQuery {
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
async fn dlq_messages(
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
async fn dlq_stats(
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
async fn dlt_count(State(state): State<Arc<AppState>>) -> AppResult {
    let topic = &state.topology.pipeline.dlq_topic;
    let count = dlq::records_in(&state.broker, topic)
        .await
        .map_err(unavailable)?;
    Ok(Json(json!({"dltTopic": topic, "count": count})).into_response())
}

/// Seed 003's `GET /api/v1/stats`: what this service did since it started.
async fn stats(State(state): State<Arc<AppState>>) -> Response {
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

/// The body of `POST /api/payments`: a payment, with defaults for what a quick
/// `curl` leaves out. The seeds' spellings work too (seed 003's `orderId` and
/// `status`, camelCase ids); anything else is refused, so a typo is a 400, not a
/// silently dropped field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPayment {
    #[serde(alias = "paymentId", alias = "orderId")]
    payment_id: Option<String>,
    #[serde(alias = "customerId")]
    customer_id: Option<String>,
    amount: f64,
    currency: Option<String>,
    merchant: Option<String>,
    /// Seed 003 sends `"status": "PENDING"`; a new payment is always pending.
    #[serde(default)]
    #[allow(dead_code)]
    status: Option<String>,
}

async fn create_payment(
    State(state): State<Arc<AppState>>,
    body: Result<Json<NewPayment>, JsonRejection>,
) -> AppResult {
    let Json(new) = body.map_err(bad_json)?;
    if !new.amount.is_finite() {
        return Err(ApiError::BadRequest(
            "amount must be a finite number".into(),
        ));
    }
    let payment_id = new
        .payment_id
        .unwrap_or_else(|| format!("pay-api-{}-{:04x}", now_ms(), rand::random::<u16>()));
    if payment_id.is_empty() || payment_id.len() > 200 {
        return Err(ApiError::BadRequest(
            "payment_id must be 1 to 200 characters".into(),
        ));
    }
    let payment = Payment {
        payment_id: payment_id.clone(),
        customer_id: new.customer_id.unwrap_or_else(|| "cust-api".into()),
        amount: new.amount,
        currency: new.currency.unwrap_or_else(|| "USD".into()),
        merchant: new.merchant.unwrap_or_else(|| "API".into()),
        created_at: format_rfc3339_ms(now_ms()),
    };
    let value = serde_json::to_vec(&payment).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let headers = OwnedHeaders::new().insert(Header {
        key: "payment-id",
        value: Some(payment_id.as_bytes()),
    });
    let rdkafka::producer::future_producer::Delivery {
        partition, offset, ..
    } = state
        .payments
        .send(
            FutureRecord::to(&state.topology.pipeline.topic)
                .key(&payment_id)
                .payload(&value)
                .headers(headers),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(error, _)| ApiError::Unavailable(error.to_string()))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "success": true,
            "paymentId": payment_id,
            "topic": state.topology.pipeline.topic,
            "partition": partition,
            "offset": offset,
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    enabled: bool,
}

async fn simulate_transient_error(
    _admin: Admin,
    State(state): State<Arc<AppState>>,
    query: Result<Query<Switch>, QueryRejection>,
) -> AppResult {
    let Query(switch) = query.map_err(bad_query)?;
    state.switches.set_simulate_transient_error(switch.enabled);
    Ok(Json(json!({"success": true, "simulateTransientError": switch.enabled})).into_response())
}

async fn zero_decimal_bug(
    _admin: Admin,
    State(state): State<Arc<AppState>>,
    query: Result<Query<Switch>, QueryRejection>,
) -> AppResult {
    let Query(switch) = query.map_err(bad_query)?;
    state.switches.set_zero_decimal_bug(switch.enabled);
    Ok(Json(json!({"success": true, "zeroDecimalBug": switch.enabled})).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DryRun {
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
async fn replay<E: Exercise>(
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
struct PurgeBody {
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
                "unknown purge mode {other:?}: \"replayed\" or \"before\""
            ))),
        }
    }
}

/// `POST /api/v1/dlq/purge[?dry_run=true]`, body: `{"mode": "replayed"}` or
/// `{"mode": "before", "partition": 0, "offset": 42}`.
async fn purge<E: Exercise>(
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

    #[test]
    fn payments_accept_the_seeds_spellings_and_refuse_typos() {
        let seed_003: NewPayment =
            serde_json::from_str(r#"{"orderId": "ORD-1", "amount": 100, "status": "PENDING"}"#)
                .unwrap();
        assert_eq!(seed_003.payment_id.as_deref(), Some("ORD-1"));
        assert!(serde_json::from_str::<NewPayment>(r#"{"amount": 1, "ammount": 2}"#).is_err());
    }
}

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
//! | POST | `/api/payments` | create a payment (seed 001's create-order, 003's POST orders); also at seed 003's `/api/v1/orders` |
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
//! Every bad parameter is a 4xx with a JSON `{"success": false, "error": ...}`
//! (a body over [`BODY_LIMIT`] is a 413); a broker that fails is a 503. Seed 001's
//! `POST /api/create-order` answers 404 with a pointer to `/api/payments` (its
//! body, `numItems` and no amount, is not a payment).
//!
//! ## Layout
//!
//! | file | what |
//! |---|---|
//! | `api/mod.rs` | the router: every route, and the 404/405 fallbacks |
//! | `api/health.rs` | `/health`, `/metrics`, `/api/v1/stats` |
//! | `api/dlq.rs` | reading the DLQ: `/api/dlq/info`, `/api/dlq/messages`, `/api/v1/dlt/count`, `/api/v1/dlq/stats` |
//! | `api/payments.rs` | `POST /api/payments` |
//! | `api/switches.rs` | the fault switches under `/api/v1/config/` 🔒 |
//! | `api/operations.rs` | `POST /api/v1/dlq/replay` and `/purge` 🔒, run to completion |
//! | `api/auth.rs` | [`Admin`]: the admin token check |
//! | `api/errors.rs` | [`ApiError`]: every failure, its status and JSON body |
//! | `api/body.rs` | a query or JSON body axum refuses becomes a 400 |
//!
//! The handlers' shared state, [`AppState`], is in [`crate::state`].

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use crate::Exercise;

mod auth;
mod body;
mod dlq;
mod errors;
mod health;
mod operations;
mod payments;
mod switches;

pub use auth::Admin;
pub use errors::ApiError;

use dlq::{dlq_info, dlq_messages, dlq_stats, dlt_count};
use health::{health, metrics, stats};
use operations::{purge, replay};
use payments::create_payment;
use switches::{simulate_transient_error, zero_decimal_bug};

/// The largest request body accepted, in bytes. Every body this API takes (a
/// payment, a filter, a purge request) is well under 1 KiB; axum's default of
/// 2 MiB would only let a runaway client make the service buffer more.
pub const BODY_LIMIT: usize = 64 * 1024;

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
        // Seed 003's path for the same thing, with the same body.
        .route("/api/v1/orders", post(create_payment))
        .route("/api/create-order", post(create_order_moved))
        .route(
            "/api/v1/config/simulate-transient-error",
            post(simulate_transient_error),
        )
        .route("/api/v1/config/zero-decimal-bug", post(zero_decimal_bug))
        .route("/api/v1/dlq/replay", post(replay::<E>))
        .route("/api/v1/dlq/purge", post(purge::<E>))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Seed 001's `POST /api/create-order`: its orders (`numItems`, no amount) are
/// not payments, so rather than guess an amount, say where payments go.
async fn create_order_moved() -> ApiError {
    ApiError::Moved(
        "this service takes payments, not orders: POST /api/payments with {\"orderId\": \"ORD-1\", \"amount\": 100} (seed 003's POST /api/v1/orders works too)".into(),
    )
}

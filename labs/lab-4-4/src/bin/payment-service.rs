//! The payment service (seed 004's "Robust Event Processor"): Lab 4.3's retry
//! pipeline plus the admin API (`/health`, `/api/dlq/*`, `/api/v1/*`, `/metrics`).
//!
//! Delivery guarantee: at-least-once, nothing lost. Every member commits only
//! after a payment was processed or its forward (retry, DLQ, parking) was
//! acknowledged; on SIGTERM each finishes the record in hand and leaves the rest
//! uncommitted for the next member. Limits: the counters are this process's view
//! (lag and `messagesInRetry` come from Kafka); the API binds to loopback unless
//! told otherwise, and replay, purge and the switches need `ADMIN_TOKEN`.
//!
//! The code is given, in `kits/lab-4-4/src/runner.rs` (shared with the reference
//! solution, so both run the same service): there is nothing to edit in this file.
//! Your work is in `src/exercise.rs`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    lab_4_4_kit::runner::service_main::<lab_4_4::Starter>().await
}

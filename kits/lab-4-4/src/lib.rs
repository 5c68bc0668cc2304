//! # Lab 4.4: DLQ operations, replay and the admin API (seeds 001, 002, 003, 004)
//!
//! Labs 4.2 and 4.3 put every payment that could not be processed into the DLQ,
//! with its exact bytes. This lab is what happens next, in production: a bug was
//! deployed, a whole class of payments is in the DLQ, the bug is fixed, and
//! someone has to bring them back. Safely: once each, without touching live
//! traffic, without looping the ones that still fail, and then clean up.
//!
//! ```text
//!                  POST /api/payments         ┌──────────── payment service ─────────────┐
//! payment_requests ─────────────────────────► │ Lab 4.3's pipeline: consumer + 3 levels   │──► processed
//!                                             └───────┬───────────────────────┬───────────┘
//!                                                     │ final failure          │ a *replay* failing again
//!                                                     ▼                        ▼
//!                                           payment_requests-dlq    payment_requests-parking
//!                                                     │
//!          dlq replay (or POST /api/v1/dlq/replay) ───┘──► payment_requests-retry-1   (never the live topic)
//!                                                     └──► payment_requests-dlq-replayed  (the journal)
//!          dlq purge  (or POST /api/v1/dlq/purge)  ──► DeleteRecords on the DLQ
//! ```
//!
//! ## Layout
//!
//! | where | what | whose |
//! |---|---|---|
//! | `labs/lab-4-4/src/exercise.rs` | [`Exercise::replay_record`], [`Exercise::replay`], [`Exercise::purge_plan`]: the replay record, the replay run, the purge plan | **the student's (graded)** |
//! | `kits/lab-4-4/src/lib.rs` | the [`Exercise`] trait | given |
//! | `kits/lab-4-4/src/dlq/` | reading the DLQ: snapshot, filters, pages, stats | given (read it) |
//! | `kits/lab-4-4/src/journal.rs` | the replay journal (what was replayed, in Kafka) | given (read it) |
//! | `kits/lab-4-4/src/replay.rs` | [`replay::Replay`]: your toolbox for a replay run | given (read it) |
//! | `kits/lab-4-4/src/purge.rs` | [`purge::DlqView`], delete-records | given (read it) |
//! | `kits/lab-4-4/src/config.rs` | the service's settings (seed 001's env names) | given |
//! | `kits/lab-4-4/src/topology.rs` | every topic and group, named in one place | given |
//! | `kits/lab-4-4/src/metrics.rs` | Prometheus metrics, lag sampling, alert thresholds | given |
//! | `kits/lab-4-4/src/api/` | the HTTP admin API (axum) | given |
//! | `kits/lab-4-4/src/state.rs` | the shared state every request handler can reach | given |
//! | `kits/lab-4-4/src/service.rs` | the service: pipeline + API + graceful shutdown | given |
//! | `kits/lab-4-4/src/client.rs` | an HTTP client for the admin API | given |
//! | `kits/lab-4-4/src/tool.rs` | the `dlq` command line tool (and the `dlq` binary's `main`) | given |
//! | `kits/lab-4-4/src/runner.rs` | the `payment-service` binary's `main` | given |
//! | `harness/criteria/lab-4-4/src/` | the ground truth (`truth.rs`), the incident as a run (`scenario.rs`), what the topics must show (`verdicts.rs`), and `cargo run -p lab-4-4` with its report (`run.rs`) | the grader's |
//!
//! The student's crate holds only `exercise.rs` (plus one-line binaries that call
//! into this kit and the criteria), so the grader can take that one file from a
//! checkout and grade it in a pristine tree (`grade --submission`).
//!
//! The pipeline is Lab 4.3's, with its reference solution (this kit depends on
//! `lab-4-3-solution`; the student's crate depends on no solution): this lab
//! starts where that one ends.

use std::future::Future;

pub mod api;
pub mod client;
pub mod config;
pub mod dlq;
pub mod journal;
pub mod metrics;
pub mod purge;
pub mod replay;
pub mod runner;
pub mod service;
pub mod state;
pub mod tool;
pub mod topology;

/// The parts of the lab a student writes. The starter ([`exercise::Starter`])
/// and the reference solution each implement it; everything given is generic
/// over it, so the two can never drift apart on anything but the exercise.
pub trait Exercise: Send + Sync + 'static {
    /// TODO 1: the record that brings one dead letter back.
    fn replay_record(
        entry: &dlq::DlqEntry,
        run: &replay::ReplayRun,
    ) -> Result<replay::ReplayRecord, replay::ReplayError>;

    /// TODO 2: one replay run over the dead letters the operator selected.
    fn replay(
        replay: &replay::Replay<'_>,
    ) -> impl Future<Output = anyhow::Result<replay::ReplaySummary>> + Send;

    /// TODO 3: where a purge cuts each partition of the DLQ.
    fn purge_plan(
        request: &purge::PurgeRequest,
        dlq: &purge::DlqView<'_>,
    ) -> Result<purge::PurgePlan, purge::PurgeError>;
}

//! One record's life in the DLQ consumer, in a task of its own: one gateway
//! attempt; a success is reported, a failure goes to the student's
//! `handle_failure` with the [`Failed`] toolbox; then the record's ticket is
//! finished (the window may commit past it) or, if `handle_failure` rewound
//! it, the record is handled again after a back-off.
//!
//! Why a task per record? Because the alternative, one record at a time, waits
//! a produce round trip per record (its outcome report, or its dead letter),
//! and that caps a consumer at a few hundred payments per second (Lab 4.6
//! measures it). Here the poll loop keeps a window of records in flight per
//! partition (`lab_4_6_kit::poll`), and the window commits only the contiguous
//! run of finished records, so a record whose dead letter is not acknowledged
//! yet holds the commit back while the records behind it go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use harness::clock::now_ms;
use harness::outcomes::{payment_id_of, Outcome, OutcomeReporter, OutcomeStatus};
use lab_4_6_kit::record_tasks::FirstError;
use lab_4_6_kit::settle::SettleOnce;
use lab_4_6_kit::window::{Ticket, Window};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;

use crate::config::DlqConsumerConfig;
use crate::failed::{Failed, Handling};
use crate::stats::DlqStats;
use crate::Exercise;

/// The offset tracker the DLQ consumer's window uses: Lab 4.6's reference
/// (the contiguous finished prefix of each partition). Lab 4.6 is where you
/// write one; here it is given.
pub type Tracker = lab_4_6_solution::PrefixTracker;

/// What every record task shares.
pub(crate) struct Shared {
    pub config: DlqConsumerConfig,
    pub window: Arc<Window<Tracker>>,
    pub stats: Arc<DlqStats>,
    pub dlq: FutureProducer,
    pub reporter: OutcomeReporter,
    pub stop: Arc<AtomicBool>,
    /// The first error a record task could not deal with (`handle_failure`
    /// returned `Err`, or a task panicked): the consumer stops, and `run`
    /// returns it.
    pub errors: FirstError,
}

/// One record's ticket in the window, settled exactly once (a ticket dropped
/// unsettled, its task panicked, is abandoned and stops the consumer with an
/// error: see `lab_4_6_kit::settle`).
pub(crate) type Settle<'a> = SettleOnce<'a, Tracker>;

/// Handle `message` until it is settled: processed, dead-lettered, or let go
/// by `handle_failure` (finished); or given up because its partition was
/// revoked, the consumer is stopping, or `handle_failure` returned an error
/// (abandoned: not committed past, so whoever consumes the partition next
/// handles it again; an error also stops the consumer, and `run` returns it).
pub(crate) async fn handle<E: Exercise>(
    shared: Arc<Shared>,
    message: OwnedMessage,
    ticket: Ticket,
) {
    let settle = Settle::new(&shared.window, ticket, &shared.errors);
    let mut attempt = 1;
    let mut first_failure_ms = None;
    loop {
        let processed = shared
            .config
            .gateway
            .process(message.payload(), attempt)
            .await;
        match processed {
            Ok(_payment) => {
                if report_processed(&shared, &message, attempt, &settle).await {
                    settle.finish();
                } else {
                    settle.abandon();
                }
                return;
            }
            Err(error) => {
                let first_failure_ms = *first_failure_ms.get_or_insert_with(now_ms);
                let handling = Handling::default();
                let failed = Failed {
                    message: &message,
                    error: &error,
                    attempts: attempt,
                    first_failure_ms,
                    settle: &settle,
                    handling: &handling,
                    shared: &shared,
                };
                let started = Instant::now();
                let handled = E::handle_failure(failed).await;
                record_own_time(&shared.stats, started, &handling);
                if let Err(error) = handled {
                    settle.abandon();
                    shared.errors.raise(error.context(format!(
                        "handle_failure failed for payment {}",
                        payment_id_of(&message)
                    )));
                    return;
                }
                if !handling.rewound.load(Ordering::Relaxed) {
                    if !handling.dead_lettered.load(Ordering::Relaxed) {
                        // Neither in the DLQ nor coming back: the window moves
                        // past it, as the next commit of a one-at-a-time loop
                        // would. Say so, or the payment vanishes without a trace.
                        shared.stats.lost.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(
                            target: "payment",
                            "payment {} LOST: it failed ({error}), and handle_failure neither dead-lettered nor rewound it",
                            payment_id_of(&message)
                        );
                    }
                    settle.finish();
                    return;
                }
            }
        }
        // Rewound: the record comes back after a back-off, and nothing is
        // committed past it meanwhile (unless handle_failure committed too,
        // which the grader catches). The wait is in this task: the poll loop
        // and the partition's other records go on.
        if !settle.back_off(&shared.stop, attempt).await {
            return;
        }
        attempt += 1;
    }
}

/// Report a processed payment, trying again in place until the outcomes
/// topic acknowledges it. False: given up (revoked or stopping) without it,
/// its ticket abandoned.
async fn report_processed(
    shared: &Shared,
    message: &OwnedMessage,
    attempt: u32,
    settle: &Settle<'_>,
) -> bool {
    let outcome = Outcome::for_message(
        message,
        OutcomeStatus::Processed,
        attempt,
        None,
        &shared.config.member,
    );
    let mut failures = 0;
    loop {
        match shared.reporter.report(&outcome).await {
            Ok(()) => {
                shared.stats.processed.fetch_add(1, Ordering::Relaxed);
                tracing::info!(target: "payment", "payment {} processed", payment_id_of(message));
                return true;
            }
            Err(error) => {
                failures += 1;
                tracing::warn!(
                    "outcome of payment {} not acknowledged ({error:#}); trying again, nothing is committed past it",
                    payment_id_of(message)
                );
                if !settle.back_off(&shared.stop, failures).await {
                    return false;
                }
            }
        }
    }
}

/// `handle_failure`'s own time: its whole time minus what it waited for the
/// broker (see `DlqStats::failure_handling_us`).
fn record_own_time(stats: &DlqStats, started: Instant, handling: &Handling) {
    let own = (started.elapsed().as_micros() as u64)
        .saturating_sub(handling.waited_us.load(Ordering::Relaxed));
    if let Ok(mut samples) = stats.failure_handling_us.lock() {
        // Enough for any report, bounded for a consumer left running.
        if samples.len() < 100_000 {
            samples.push(own);
        }
    }
}

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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::backoff::BackoffPolicy;
use harness::clock::now_ms;
use harness::outcomes::{payment_id_of, Outcome, OutcomeReporter, OutcomeStatus};
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
    /// returned `Err`): the consumer stops, and `run` returns it.
    pub fatal: Mutex<Option<anyhow::Error>>,
}

impl Shared {
    fn give_up(&self, error: anyhow::Error) {
        if let Ok(mut fatal) = self.fatal.lock() {
            fatal.get_or_insert(error);
        }
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Handle `message` until it is settled (processed, dead-lettered, or let go
/// by `handle_failure`), or given up because its partition was revoked or the
/// consumer is stopping (then it is not committed past: whoever consumes the
/// partition next handles it again).
pub(crate) async fn handle<E: Exercise>(
    shared: Arc<Shared>,
    message: OwnedMessage,
    ticket: Ticket,
) {
    let mut attempt = 1;
    let mut first_failure_ms = None;
    // Set once the window has been told the record is finished (by
    // `Failed::commit`, or here): a record is finished once, whatever the
    // student calls.
    let finished = AtomicBool::new(false);
    loop {
        let processed = shared
            .config
            .gateway
            .process(message.payload(), attempt)
            .await;
        match processed {
            Ok(_payment) => {
                if report_processed(&shared, &message, attempt, &ticket).await {
                    finish_once(&shared.window, &ticket, &finished);
                } else {
                    shared.window.abandon(&ticket);
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
                    ticket: &ticket,
                    finished: &finished,
                    handling: &handling,
                    shared: &shared,
                };
                let started = Instant::now();
                let handled = E::handle_failure(failed).await;
                record_own_time(&shared.stats, started, &handling);
                if let Err(error) = handled {
                    shared.window.abandon(&ticket);
                    shared.give_up(error.context(format!(
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
                    finish_once(&shared.window, &ticket, &finished);
                    return;
                }
            }
        }
        // Rewound: the record comes back after a back-off, and nothing is
        // committed past it meanwhile (unless handle_failure committed too,
        // which the grader catches). The wait is in this task: the poll loop
        // and the partition's other records go on.
        if !wait_to_retry(&shared, &ticket, BackoffPolicy::redelivery(attempt)).await {
            shared.window.abandon(&ticket);
            return;
        }
        attempt += 1;
    }
}

/// Tell the window the record is finished, once.
pub(crate) fn finish_once(window: &Window<Tracker>, ticket: &Ticket, finished: &AtomicBool) {
    if !finished.swap(true, Ordering::Relaxed) {
        window.finish(ticket);
    }
}

/// Report a processed payment, trying again in place until the outcomes
/// topic acknowledges it. False: given up (revoked or stopping) without it.
async fn report_processed(
    shared: &Shared,
    message: &OwnedMessage,
    attempt: u32,
    ticket: &Ticket,
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
                if !wait_to_retry(shared, ticket, BackoffPolicy::redelivery(failures)).await {
                    return false;
                }
            }
        }
    }
}

/// Wait `pause`; false if the record should give up instead (its partition
/// was revoked, or the consumer is stopping).
async fn wait_to_retry(shared: &Shared, ticket: &Ticket, pause: Duration) -> bool {
    let step = Duration::from_millis(50);
    let until = Instant::now() + pause;
    loop {
        if shared.stop.load(Ordering::Relaxed) || !shared.window.is_current(ticket) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        tokio::time::sleep(step.min(until - now)).await;
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

//! One record's life, in a task of its own, on the live topic (the retry
//! consumer, level 0) or on a retry level once the record is due: one gateway
//! attempt; a success is reported, a failure goes to your
//! [`Exercise::handle_failure`] with the [`Failed`] toolbox; then the record is
//! finished in the window (the window may commit past it) or, if
//! `handle_failure` rewound it, tried again after a back-off.
//!
//! Why a task per record? A one-at-a-time loop waits a produce round trip per
//! record (its outcome report, or its forward's ack), and that caps it at a
//! few hundred payments per second (Lab 4.6 measures it). Here each consumer
//! keeps a window of records in flight per partition (Lab 4.6's
//! `lab_4_6_kit::window`) and commits only the contiguous run of finished
//! records, so a record whose forward is not acknowledged yet holds the
//! commit back while the records behind it go on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use harness::clock::now_ms;
use harness::outcomes::{payment_id_of, OutcomeReporter, OutcomeStatus};
use harness::retry::RetryState;
use harness::Broker;
use lab_4_6_kit::record_tasks::FirstError;
use lab_4_6_kit::settle::SettleOnce;
use lab_4_6_kit::window::{Ticket, Window};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::FutureProducer;

use crate::failed::Failed;
use crate::pipeline::{forward_producer, Pipeline, PipelineStats};
use crate::retry_consumer::raised;
use crate::settlement::Handled;
use crate::worker::Worker;
use crate::Exercise;

/// The offset tracker of every window here: Lab 4.6's reference
/// (the contiguous finished prefix of each partition). Lab 4.6 is where you
/// write one; here it is given.
pub type Tracker = lab_4_6_solution::PrefixTracker;

/// A record's ticket in the window, settled exactly once (a ticket dropped
/// unsettled, its task panicked, is abandoned and stops the consumer with an
/// error: see `lab_4_6_kit::settle`).
pub(crate) type Settle<'a> = SettleOnce<'a, Tracker>;

/// What every record task of one consumer (the retry consumer, or one level)
/// shares.
pub(crate) struct Shared {
    pub pipeline: Pipeline,
    pub stats: Arc<PipelineStats>,
    pub window: Arc<Window<Tracker>>,
    pub producer: FutureProducer,
    pub reporter: OutcomeReporter,
    pub group: String,
    pub member: String,
    /// 0 for the retry consumer, `N` for retry level `N`.
    pub level: u32,
    pub stop: Arc<AtomicBool>,
    /// The first error a record task could not deal with (`handle_failure`
    /// returned `Err`, an outcome was not acknowledged, a task panicked): the
    /// consumer stops, and its run returns it.
    pub errors: FirstError,
}

impl Shared {
    /// What the record tasks of the consumer `member` of `group` share, at
    /// `level` (0: the retry consumer): its own forward producer among them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        broker: &Broker,
        pipeline: &Pipeline,
        level: u32,
        group: &str,
        member: &str,
        reporter: &OutcomeReporter,
        stats: Arc<PipelineStats>,
        window: Arc<Window<Tracker>>,
        stop: Arc<AtomicBool>,
    ) -> anyhow::Result<Arc<Shared>> {
        Ok(Arc::new(Shared {
            pipeline: pipeline.clone(),
            stats,
            window,
            producer: forward_producer(broker, pipeline.timeouts.forward_timeout())?,
            reporter: reporter.clone(),
            group: group.to_string(),
            member: member.to_string(),
            level,
            errors: FirstError::new(stop.clone()),
            stop,
        }))
    }

    fn worker(&self) -> Worker<'_> {
        Worker {
            producer: &self.producer,
            reporter: &self.reporter,
            pipeline: &self.pipeline,
            stats: &self.stats,
            group: &self.group,
            member: &self.member,
            level: self.level,
        }
    }
}

/// Handle `message` until it is settled: processed, or let go by
/// `handle_failure` (finished); or given up because its partition was revoked,
/// the consumer is stopping, or something failed that the consumer cannot deal
/// with (abandoned: not committed past, so whoever consumes the partition next
/// handles it again). `retry`: the record's retry headers, on a retry level
/// (`None` on the live topic).
pub(crate) async fn handle<E: Exercise>(
    shared: Arc<Shared>,
    message: OwnedMessage,
    ticket: Ticket,
    retry: Option<RetryState>,
) {
    let settle = Settle::new(&shared.window, ticket, &shared.errors);
    let worker = shared.worker();
    let (stats, level) = (&*shared.stats, shared.level);
    PipelineStats::count(&stats.ledger.taken, level);
    // A rewound record is tried again as it was the first time: its forward
    // failed, not its payment's next attempt.
    let attempt = retry.as_ref().map_or(0, RetryState::attempts_so_far) + 1;
    let mut first_failure_ms = retry.as_ref().map(|state| state.first_failure_ms);
    let mut rewinds = 0;
    loop {
        match shared
            .pipeline
            .gateway
            .process(message.payload(), attempt)
            .await
        {
            Ok(_payment) => {
                stats.processed.fetch_add(1, Ordering::Relaxed);
                if level > 0 {
                    PipelineStats::count(&stats.done_at_level, level);
                }
                let reported = worker
                    .report(
                        &message,
                        retry.as_ref(),
                        OutcomeStatus::Processed,
                        attempt,
                        None,
                    )
                    .await;
                if let Err(error) = reported {
                    settle.abandon();
                    shared.errors.raise(error.context(format!(
                        "reporting payment {} processed",
                        payment_id_of(&message)
                    )));
                    return;
                }
                if level == 0 {
                    tracing::info!(target: "payment", "payment {} processed", payment_id_of(&message));
                } else {
                    tracing::info!(
                        target: "payment",
                        "payment {} processed (retry {level}/{})",
                        payment_id_of(&message),
                        shared.pipeline.levels()
                    );
                }
                settle.finish();
                return;
            }
            Err(error) => {
                shared.pipeline.observe(|o| o.failure(level, &error));
                let handled = Handled::default();
                let failed = Failed {
                    message: &message,
                    level,
                    state: retry.as_ref(),
                    attempt: Mutex::new((attempt, error)),
                    first_failure_ms: *first_failure_ms.get_or_insert_with(now_ms),
                    worker: &worker,
                    settle: &settle,
                    handled: &handled,
                };
                let handling =
                    stats
                        .in_exercise
                        .measure(level, "handle_failure", E::handle_failure(failed));
                // Ctrl-C must not wait for a handle_failure that sleeps through
                // its retries in place (the starter's blocking retry: up to 80 s).
                // Abandoning it is safe: nothing is committed past this record,
                // so it is delivered again when the group next runs.
                let finished = tokio::select! {
                    result = handling => Some(result),
                    _ = raised(&shared.stop) => None,
                };
                match finished {
                    None => {
                        PipelineStats::count(&stats.ledger.abandoned, level);
                        tracing::info!(
                            member = %shared.member,
                            "stopped while handle_failure was still busy: payment {} left uncommitted, it will be delivered again",
                            payment_id_of(&message)
                        );
                        settle.abandon();
                        return;
                    }
                    Some(Err(error)) => {
                        settle.abandon();
                        shared.errors.raise(error.context(format!(
                            "handle_failure failed for payment {}",
                            payment_id_of(&message)
                        )));
                        return;
                    }
                    Some(Ok(())) => {}
                }
                if stats.settle_failure(level, &handled) {
                    tracing::warn!(
                        target: "payment",
                        "payment {} LOST{}: handle_failure neither forwarded it (acknowledged) nor rewound it, and it is committed past",
                        payment_id_of(&message),
                        if level == 0 { String::new() } else { format!(" at retry level {level}") }
                    );
                }
                if !handled.rewound() {
                    // Done with it, commit() or not: the window moves past it,
                    // as the next commit of a one-at-a-time loop would.
                    settle.finish();
                    return;
                }
            }
        }
        // Rewound: the record comes back after a back-off (longer with each
        // rewind), and nothing is committed past it meanwhile. The wait is in
        // this task: the poll loop and the partition's other records go on.
        rewinds += 1;
        if !settle.back_off(&shared.stop, rewinds).await {
            return;
        }
    }
}

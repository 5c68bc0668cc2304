//! The fragile consumer: seed 000's Lab 4.1, rebuilt faithfully in Rust.
//!
//! **This is the anti-pattern. Do not copy it into production.** Read it, run it,
//! and measure what it does to a partition and to its consumer group.
//!
//! What it does, exactly like the seed's `fragile_consumer.py`:
//! - poll one record at a time, with manual commits (`enable.auto.commit=false`);
//! - try the payment up to `max_retries` (3) times, **sleeping `2^attempt` seconds
//!   between attempts on the polling thread**;
//! - commit only on success ...
//! - ... and after the last failed attempt, commit anyway "to skip the poison pill".
//!
//! What that costs (the lab measures each):
//! - every record behind a failing one waits out the whole retry loop (head-of-line
//!   blocking);
//! - the committed offset stands still during the loop, so lag grows;
//! - while it sleeps it does not poll, and a sleep longer than
//!   `max.poll.interval.ms` throws it out of the group: a rebalance for everyone,
//!   its commit fails, and another member processes the same payment again;
//! - the skip commit loses the payment for good (nothing is dead-lettered).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use harness::clock::now_ms;
use harness::gateway::Gateway;
use harness::measure::rebalance::{ObservedContext, RebalanceLog};
use harness::outcomes::{payment_id_of, Outcome, OutcomeReporter, OutcomeStatus};
use harness::stoppable::StoppableTask;
use harness::{Broker, TimeScale};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Message};

/// The seed's consumer group.
pub const DEFAULT_GROUP: &str = "fragile-payment-processor";

/// How to run one fragile consumer.
#[derive(Debug, Clone)]
pub struct FragileConsumerConfig {
    pub topic: String,
    pub group_id: String,
    /// This member's name in outcome records and rebalance logs.
    pub member: String,
    /// Attempts per payment (the seed's `max_retries = 3`).
    pub max_retries: u32,
    /// Scales the `2^attempt`-second backoff sleeps (the gateway has its own scale).
    pub time_scale: TimeScale,
    pub gateway: Gateway,
    /// Extra librdkafka settings, e.g. a short `max.poll.interval.ms` for the
    /// group-impact step.
    pub overrides: Vec<(String, String)>,
    /// Print the seed's ✅ / ❌ / 💀 lines.
    pub echo: bool,
}

impl FragileConsumerConfig {
    pub fn new(
        topic: &str,
        group_id: &str,
        member: &str,
        gateway: Gateway,
    ) -> FragileConsumerConfig {
        FragileConsumerConfig {
            topic: topic.to_string(),
            group_id: group_id.to_string(),
            member: member.to_string(),
            max_retries: 3,
            time_scale: gateway.time_scale,
            gateway,
            overrides: Vec::new(),
            echo: false,
        }
    }

    /// The backoff before attempt `attempt + 1` (0-based `attempt`): `2^attempt` s, scaled.
    pub fn backoff(&self, attempt: u32) -> Duration {
        self.time_scale
            .scale(Duration::from_secs(1u64 << attempt.min(16)))
    }
}

/// What one run of the consumer did.
#[derive(Debug, Clone, Default)]
pub struct FragileStats {
    pub processed: u64,
    pub skipped: u64,
    pub failed_attempts: u64,
    /// Commits that failed, typically because the member was thrown out of the
    /// group while it slept.
    pub failed_commits: u64,
    pub time_sleeping: Duration,
    /// When the first record arrived (epoch ms), to measure drain time from.
    pub first_record_at_ms: Option<i64>,
}

/// Run the fragile consumer on the current thread until `stop` is raised.
///
/// Blocking on purpose, like the seed: call it from a thread of its own, or from
/// `tokio::task::spawn_blocking` (outcome reports need a tokio runtime handle).
pub fn run(
    broker: &Broker,
    config: &FragileConsumerConfig,
    reporter: &OutcomeReporter,
    rebalances: RebalanceLog,
    stop: &AtomicBool,
) -> anyhow::Result<FragileStats> {
    let mut client_config = broker.client_config();
    client_config
        .set("group.id", &config.group_id)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    for (key, value) in &config.overrides {
        client_config.set(key, value);
    }
    let consumer: BaseConsumer<ObservedContext> = client_config
        .create_with_context(ObservedContext::new(&config.member, rebalances))
        .context("creating the fragile consumer")?;
    consumer.subscribe(&[&config.topic])?;

    let mut stats = FragileStats::default();
    while !stop.load(Ordering::Relaxed) {
        // The seed polls with a 1 s timeout; 100 ms keeps shutdown snappy and
        // changes nothing else.
        let message = match consumer.poll(Duration::from_millis(100)) {
            None => continue,
            Some(Ok(message)) => message,
            Some(Err(error)) => {
                // Among others, librdkafka reports here that we exceeded
                // max.poll.interval.ms and were removed from the group.
                tracing::warn!(member = %config.member, "consumer error: {error}");
                continue;
            }
        };
        stats.first_record_at_ms.get_or_insert_with(now_ms);
        process_with_blocking_retries(&consumer, &message, config, reporter, &mut stats)?;
    }
    Ok(stats)
}

/// THE WRONG WAY: the seed's blocking retry loop, for one record.
fn process_with_blocking_retries(
    consumer: &BaseConsumer<ObservedContext>,
    message: &BorrowedMessage<'_>,
    config: &FragileConsumerConfig,
    reporter: &OutcomeReporter,
    stats: &mut FragileStats,
) -> anyhow::Result<()> {
    let payment_id = payment_id_of(message);
    for attempt in 0..config.max_retries {
        match config
            .gateway
            .process_blocking(message.payload(), attempt + 1)
        {
            Ok(payment) => {
                if config.echo {
                    println!("✅ Processed payment {}", payment.payment_id);
                }
                tracing::info!(target: "payment", "payment {payment_id} processed");
                report(
                    reporter,
                    message,
                    config,
                    OutcomeStatus::Processed,
                    attempt + 1,
                    None,
                )?;
                stats.processed += 1;
                // Only commit on success.
                commit(consumer, message, config, stats);
                return Ok(());
            }
            Err(error) => {
                stats.failed_attempts += 1;
                if config.echo {
                    println!("❌ Attempt {} failed: {error}", attempt + 1);
                }
                if attempt == config.max_retries - 1 {
                    if config.echo {
                        println!("💀 Message failed permanently: {payment_id}");
                    }
                    // "What do we do now? Skip? Stop?" The seed commits to skip:
                    // the payment is gone, and nobody will ever know but this log.
                    tracing::error!(
                        target: "payment",
                        "payment {payment_id} failed permanently after {} attempts, skipped (lost): {error}",
                        attempt + 1
                    );
                    report(
                        reporter,
                        message,
                        config,
                        OutcomeStatus::Skipped,
                        attempt + 1,
                        Some(error.to_string()),
                    )?;
                    stats.skipped += 1;
                    commit(consumer, message, config, stats);
                } else {
                    // The anti-pattern itself: sleeping on the polling thread.
                    // While we sleep, nothing else on this partition moves, and
                    // librdkafka's max.poll.interval.ms clock keeps ticking.
                    let backoff = config.backoff(attempt);
                    tracing::warn!(
                        target: "payment",
                        "payment {payment_id} will retry in {:?} (attempt {}/{})",
                        harness::clock::whole_ms(backoff),
                        attempt + 2,
                        config.max_retries
                    );
                    let slept = Instant::now();
                    std::thread::sleep(backoff);
                    stats.time_sleeping += slept.elapsed();
                }
            }
        }
    }
    Ok(())
}

fn commit(
    consumer: &BaseConsumer<ObservedContext>,
    message: &BorrowedMessage<'_>,
    config: &FragileConsumerConfig,
    stats: &mut FragileStats,
) {
    if let Err(error) = consumer.commit_message(message, CommitMode::Sync) {
        // Typically: we slept past max.poll.interval.ms, the group moved on, and
        // another member will process this payment again.
        stats.failed_commits += 1;
        tracing::warn!(
            member = %config.member,
            "commit of {}/{} failed: {error} (another member will process it again)",
            message.partition(),
            message.offset()
        );
    }
}

fn report(
    reporter: &OutcomeReporter,
    message: &BorrowedMessage<'_>,
    config: &FragileConsumerConfig,
    status: OutcomeStatus,
    attempts: u32,
    error: Option<String>,
) -> anyhow::Result<()> {
    reporter.report_blocking(&Outcome::for_message(
        message,
        status,
        attempts,
        error,
        &config.member,
    ))
}

/// A fragile consumer running on a blocking thread, stopped on request.
/// Dropping it (say, when a test fails early) stops it too: a tokio runtime
/// waits for its blocking threads when it shuts down, so a consumer left
/// running would hang the program instead of ending it.
pub struct RunningConsumer {
    task: StoppableTask<FragileStats>,
    pub rebalances: RebalanceLog,
}

impl RunningConsumer {
    /// Start `config` against `broker`, reporting outcomes to `outcomes_topic`.
    pub fn spawn(
        broker: &Broker,
        config: FragileConsumerConfig,
        outcomes_topic: &str,
    ) -> anyhow::Result<RunningConsumer> {
        let reporter = OutcomeReporter::new(broker, outcomes_topic)?;
        let rebalances = RebalanceLog::default();
        let (broker, log) = (broker.clone(), rebalances.clone());
        let task = StoppableTask::spawn_blocking("the fragile consumer", move |stop| {
            run(&broker, &config, &reporter, log, &stop)
        });
        Ok(RunningConsumer { task, rebalances })
    }

    /// Ask it to stop, and wait for its stats. A consumer in the middle of a retry
    /// loop finishes that loop first (that is the anti-pattern, too).
    pub async fn stop(mut self) -> anyhow::Result<FragileStats> {
        self.task.stop().await?.context("stopped twice")
    }
}

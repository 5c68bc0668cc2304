//! One member of the group: subscribe, poll, hand each record to its
//! partition's worker, commit what was processed every few seconds, and leave
//! cleanly when asked (the revoke handler then runs for everything it owns).
//!
//! The poll loop runs on a blocking thread of its own: librdkafka runs the
//! rebalance callbacks inside `poll`, and a revoke handler that waits for the
//! records in hand must block somewhere that is not an async worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use harness::gateway::{FailureMix, Gateway};
use harness::outcomes::{outcomes_topic, OutcomeReporter};
use harness::Broker;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::Message;
use serde::{Deserialize, Serialize};

use crate::context::MemberContext;
use crate::events::{events_topic, EventKind, EventSink, MemberEvent};
use crate::group::commit;
use crate::strategy::Strategy;
use crate::work::WorkerKit;
use crate::{Exercise, Partitions};

/// How to run one member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberConfig {
    pub topic: String,
    pub group: String,
    /// The member's name in logs, outcome records (`worker`) and events.
    pub member: String,
    pub strategy: Strategy,
    /// `group.instance.id`: a static member (KIP-345) keeps its partitions
    /// across a restart within the session timeout.
    pub static_id: Option<String>,
    /// The gateway's time per payment, so revocations land mid-record.
    pub processing_ms: u64,
    /// Classic protocol only: how long a silent member keeps its partitions.
    pub session_timeout_ms: u64,
    /// How often processed offsets are committed (librdkafka's auto-commit
    /// default is 5 s): what a crash, or a revoke that does not commit,
    /// redelivers.
    pub commit_interval_ms: u64,
    /// How long the revoke handler may wait for the records in hand.
    pub drain_timeout_ms: u64,
}

impl MemberConfig {
    /// Lab 4.5's defaults: 50 ms per payment, 6 s sessions, commits every 5 s.
    pub fn new(topic: &str, group: &str, member: &str, strategy: Strategy) -> MemberConfig {
        MemberConfig {
            topic: topic.to_string(),
            group: group.to_string(),
            member: member.to_string(),
            strategy,
            static_id: None,
            processing_ms: 50,
            session_timeout_ms: 6000,
            commit_interval_ms: 5000,
            drain_timeout_ms: 5000,
        }
    }
}

/// Run one member until `stop` is raised (then leave gracefully) or the
/// consumer fails fatally.
pub async fn run_member<E: Exercise>(
    broker: &Broker,
    config: &MemberConfig,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let reporter = OutcomeReporter::new(broker, &outcomes_topic(&config.topic))?;
    let events = EventSink::new(broker, &events_topic(&config.topic))?;
    let kit = WorkerKit {
        member: config.member.clone(),
        gateway: Gateway::new(FailureMix::none())
            .with_processing_time(Duration::from_millis(config.processing_ms)),
        reporter,
        runtime: tokio::runtime::Handle::current(),
    };
    let mut client = broker.client_config();
    client
        .set("group.id", &config.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("max.poll.interval.ms", "60000");
    if let Some(id) = &config.static_id {
        client.set("group.instance.id", id);
    }
    config.strategy.configure(
        &mut client,
        Duration::from_millis(config.session_timeout_ms),
    );
    let context = MemberContext {
        member: config.member.clone(),
        topic: config.topic.clone(),
        partitions: Mutex::new(E::Partitions::default()),
        kit,
        events,
        drain_timeout: Duration::from_millis(config.drain_timeout_ms),
    };
    let consumer: BaseConsumer<MemberContext<E::Partitions>> = client
        .create_with_context(context)
        .with_context(|| format!("creating member {} ({})", config.member, config.strategy))?;
    consumer
        .subscribe(&[&config.topic])
        .with_context(|| format!("subscribing to {}", config.topic))?;
    let config = config.clone();
    tokio::task::spawn_blocking(move || poll_loop(consumer, &config, &stop))
        .await
        .context("the poll thread panicked")?
}

fn poll_loop<P: Partitions>(
    consumer: BaseConsumer<MemberContext<P>>,
    config: &MemberConfig,
    stop: &AtomicBool,
) -> anyhow::Result<()> {
    let context = consumer.context().clone();
    let mut started = MemberEvent::new(&config.member, EventKind::Started);
    started.detail = config.strategy.to_string();
    context.events.send(&started);
    let interval = Duration::from_millis(config.commit_interval_ms);
    let mut next_commit = Instant::now() + interval;
    let mut not_owned = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(record)) => {
                let partitions = context.partitions();
                match partitions.owned(record.partition()) {
                    Some(work) => work.hand(record.detach()),
                    None => {
                        // The guard said no: this member does not own the partition
                        // (or forgot that it does). Not processed, not committed.
                        not_owned += 1;
                        if not_owned.is_power_of_two() {
                            tracing::warn!(
                                "{}: {not_owned} records of partitions it does not own were not processed (latest: partition {} offset {})",
                                config.member,
                                record.partition(),
                                record.offset()
                            );
                        }
                    }
                }
            }
            Some(Err(error)) => {
                if let Some((code, reason)) = consumer.client().fatal_error() {
                    // librdkafka 2.12, consumer protocol: a member past
                    // max.poll.interval.ms can get a fatal INVALID_REQUEST instead
                    // of rejoining (fixed in 2.15). Nothing to do but restart.
                    anyhow::bail!(
                        "{}: fatal consumer error {code:?}: {reason}; restart the member",
                        config.member
                    );
                }
                tracing::warn!("{}: {error}", config.member);
            }
        }
        if Instant::now() >= next_commit {
            commit_processed(&consumer, config);
            next_commit = Instant::now() + interval;
        }
    }
    tracing::info!("{}: leaving the group", config.member);
    // Closing the consumer runs the revoke handler for every partition it owns.
    drop(consumer);
    context
        .events
        .send(&MemberEvent::new(&config.member, EventKind::Stopped));
    context.events.flush();
    Ok(())
}

/// The periodic commit: each owned partition's processed offset. Committed
/// again even if it did not move: the commit is asynchronous, and one that
/// failed must not leave an idle partition uncommitted for good.
fn commit_processed<P: Partitions>(
    consumer: &BaseConsumer<MemberContext<P>>,
    config: &MemberConfig,
) {
    let context = consumer.context();
    let offsets: Vec<(i32, i64)> = {
        let partitions = context.partitions();
        partitions
            .owned_partitions()
            .into_iter()
            .filter_map(|p| Some((p, partitions.owned(p)?.next_offset()?)))
            .collect()
    };
    if offsets.is_empty() {
        return;
    }
    let async_commit =
        |list: &rdkafka::TopicPartitionList| consumer.commit(list, CommitMode::Async);
    // A failure is logged by `commit`; the next period tries again.
    let _ = commit(
        &config.topic,
        &config.member,
        &context.events,
        &async_commit,
        &offsets,
        "periodic",
    );
}

/// The variable a member process reads its [`ChildMember`] from.
pub const MEMBER_ENV: &str = "LAB45_MEMBER";

/// What a member process started by a scenario needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildMember {
    pub bootstrap_servers: String,
    pub config: MemberConfig,
}

/// In a process started with [`MEMBER_ENV`]: run that member until SIGTERM or
/// Ctrl-C (then leave gracefully), and return `Some`. Without it, `None`.
pub async fn serve_from_env<E: Exercise>() -> Option<anyhow::Result<()>> {
    let json = std::env::var(MEMBER_ENV).ok()?;
    Some(
        async {
            let child: ChildMember =
                serde_json::from_str(&json).context("reading the member's configuration")?;
            let broker = Broker::configured(&child.bootstrap_servers, Vec::new());
            run_member::<E>(&broker, &child.config, stop_on_signal()).await
        }
        .await,
    )
}

/// A flag raised on SIGTERM or Ctrl-C: the member then leaves the group
/// gracefully. (SIGKILL cannot be caught: that is the crash the lab measures.)
pub fn stop_on_signal() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let raised = stop.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate => {}
        }
        raised.store(true, Ordering::Relaxed);
    });
    stop
}

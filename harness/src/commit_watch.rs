//! Watching consumer groups' commits while a forward target is down.
//!
//! "Commit only after the ack" is a rule about a moment, not an end state. A
//! consumer that commits past a record whose forward failed can still end up
//! with nothing lost: its commit may be refused (it was thrown out of its group
//! while it waited) or overtaken (a rebalance brings the record back). An
//! end-of-run count then passes the mistake. So the outage criteria watch the
//! commits themselves: [`CommitWatch`] samples the committed offsets of the
//! groups under test while the outage lasts, and [`CommitsSeen::passed`] names
//! every record that a commit moved past although its forward could not have
//! been acknowledged ([`Guarded`]).
//!
//! The watch never joins a group: fetching committed offsets needs only the
//! group id, so watching disturbs nobody.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use crate::broker::Broker;
use crate::ledger::{Ledger, Route};
use crate::topics::partition_count;

/// A record that no commit may pass while the watch runs, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guarded {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// e.g. `PAY-7 must go to payments-dlq, which does not exist`.
    pub why: String,
}

/// What the watch saw: the highest committed offset per (topic, partition), with
/// the group that committed it, and how many rounds of samples it took.
#[derive(Debug, Clone, Default)]
pub struct CommitsSeen {
    pub highest: BTreeMap<(String, i32), (String, i64)>,
    pub rounds: usize,
}

impl CommitsSeen {
    /// Each guarded record some commit moved past, described for a verdict.
    /// (A committed offset is the next record to read, so `committed > offset`
    /// means the record was passed.)
    pub fn passed(&self, guarded: &[Guarded]) -> Vec<String> {
        guarded
            .iter()
            .filter_map(|record| {
                let (group, committed) = self
                    .highest
                    .get(&(record.topic.clone(), record.partition))?;
                (*committed > record.offset).then(|| {
                    format!(
                        "group {group} committed {}/{} at {committed}, past offset {} ({})",
                        record.topic, record.partition, record.offset, record.why
                    )
                })
            })
            .collect()
    }
}

/// Samples the committed offsets of some (group, topic) pairs in the background.
pub struct CommitWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<CommitsSeen>,
}

impl CommitWatch {
    /// Start sampling every `every`. Each topic must exist.
    pub fn start(
        broker: &Broker,
        watched: &[(String, String)],
        every: Duration,
    ) -> anyhow::Result<CommitWatch> {
        let timeout = Duration::from_secs(5);
        let mut probes = Vec::new();
        for (group, topic) in watched {
            let consumer: BaseConsumer = broker
                .client_config()
                .set("group.id", group)
                .set("enable.auto.commit", "false")
                .create()
                .with_context(|| format!("creating a commit probe for group {group}"))?;
            let partitions = partition_count(&consumer, topic, timeout)?;
            let mut list = TopicPartitionList::new();
            for partition in 0..partitions {
                list.add_partition(topic, partition);
            }
            probes.push((group.clone(), consumer, list));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let stop_seen = stop.clone();
        // Committed-offset fetches block: a thread of its own, not the runtime.
        let thread = std::thread::spawn(move || {
            let mut seen = CommitsSeen::default();
            loop {
                // Read the flag before sampling, so the last round starts after
                // `finish` was called and sees every commit made before it.
                let last_round = stop_seen.load(Ordering::Relaxed);
                for (group, consumer, list) in &probes {
                    // A failed fetch (a broker hiccup) just misses one round.
                    let Ok(committed) = consumer.committed_offsets(list.clone(), timeout) else {
                        continue;
                    };
                    for element in committed.elements() {
                        let Offset::Offset(offset) = element.offset() else {
                            continue;
                        };
                        let key = (element.topic().to_string(), element.partition());
                        let entry = seen.highest.entry(key).or_insert((group.clone(), offset));
                        if offset > entry.1 {
                            *entry = (group.clone(), offset);
                        }
                    }
                }
                seen.rounds += 1;
                if last_round {
                    return seen;
                }
                std::thread::sleep(every);
            }
        });
        Ok(CommitWatch { stop, thread })
    }

    /// Stop after one last round of samples, and say what was seen.
    pub async fn finish(self) -> CommitsSeen {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}

/// One record of a topic under watch, where the payment is at `level` (0: the
/// live topic, N: retry level N).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub topic: String,
    pub level: u32,
    pub partition: i32,
    pub offset: i64,
    pub payment_id: String,
}

/// The records no commit may pass while some topics are down: those whose route
/// ([`Ledger::route_at`]) leads to a topic `down` names, unless the payment was
/// processed meanwhile (a transient failure can clear on a later attempt, and a
/// processed record may be passed).
pub fn guarded(
    ledger: &Ledger,
    records: &[Placed],
    down: impl Fn(Route) -> Option<String>,
    processed: &BTreeSet<String>,
) -> Vec<Guarded> {
    records
        .iter()
        .filter(|record| !processed.contains(&record.payment_id))
        .filter_map(|record| {
            let route = ledger.route_at(&record.payment_id, record.level)?;
            let target = down(route)?;
            Some(Guarded {
                topic: record.topic.clone(),
                partition: record.partition,
                offset: record.offset,
                why: format!(
                    "{} must go to {target}, which did not exist yet",
                    record.payment_id
                ),
            })
        })
        .collect()
}

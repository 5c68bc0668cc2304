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

use crate::grading::Criterion;
use criteria::ledger::{dead_lettered_before, Ledger, Route};
use harness::broker::Broker;
use harness::outcomes::Outcome;
use harness::producer::Delivered;
use harness::topics::partition_count;

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
/// the group that committed it, and whether it really looked the whole time.
#[derive(Debug, Clone, Default)]
pub struct CommitsSeen {
    pub highest: BTreeMap<(String, i32), (String, i64)>,
    /// Rounds of samples taken (each asks every group once).
    pub rounds: usize,
    /// Fetches that failed (a broker hiccup), per group.
    pub failed_fetches: BTreeMap<String, usize>,
    /// Groups whose fetch failed in the last round, the one that started after
    /// [`CommitWatch::finish`] was called.
    pub missed_at_the_end: Vec<String>,
    /// The groups watched.
    pub groups: Vec<String>,
}

impl CommitsSeen {
    /// Why this watch cannot vouch for the whole window, if it cannot: a
    /// sampler that saw nothing must not read as "no bad commit".
    pub fn incomplete(&self) -> Option<String> {
        if self.rounds == 0 || self.groups.is_empty() {
            return Some("the commit watch took no samples".into());
        }
        let blind: Vec<&String> = self
            .groups
            .iter()
            .filter(|g| self.failed_fetches.get(*g).copied().unwrap_or(0) >= self.rounds)
            .collect();
        if !blind.is_empty() {
            let blind: Vec<&str> = blind.iter().map(|g| g.as_str()).collect();
            return Some(format!(
                "no committed offsets could be fetched for {}",
                blind.join(", ")
            ));
        }
        if !self.missed_at_the_end.is_empty() {
            return Some(format!(
                "the last round of samples failed for {}",
                self.missed_at_the_end.join(", ")
            ));
        }
        None
    }

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
    thread: Option<std::thread::JoinHandle<CommitsSeen>>,
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
        let groups = probes.iter().map(|(group, _, _)| group.clone()).collect();
        let thread = std::thread::spawn(move || {
            let mut seen = CommitsSeen {
                groups,
                ..CommitsSeen::default()
            };
            loop {
                // Read the flag before sampling, so the last round starts after
                // `finish` was called and sees every commit made before it.
                let last_round = stop_seen.load(Ordering::Relaxed);
                for (group, consumer, list) in &probes {
                    // A failed fetch (a broker hiccup) misses one round; it is
                    // counted, so a watch that saw nothing cannot pass for one
                    // that saw no bad commit.
                    let Ok(committed) = consumer.committed_offsets(list.clone(), timeout) else {
                        *seen.failed_fetches.entry(group.clone()).or_default() += 1;
                        if last_round {
                            seen.missed_at_the_end.push(group.clone());
                        }
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
        Ok(CommitWatch {
            stop,
            thread: Some(thread),
        })
    }

    /// Stop after one last round of samples, and say what was seen. (A sampler
    /// that died says so through [`CommitsSeen::incomplete`].)
    pub async fn finish(mut self) -> CommitsSeen {
        self.stop.store(true, Ordering::Relaxed);
        let Some(thread) = self.thread.take() else {
            return CommitsSeen::default();
        };
        tokio::task::spawn_blocking(move || thread.join().unwrap_or_default())
            .await
            .unwrap_or_default()
    }
}

impl Drop for CommitWatch {
    /// A criterion that fails before `finish` must not leave a sampler asking
    /// the broker every 100 ms for the rest of the test run.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
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

impl Placed {
    /// The payments as produced to the live topic (level 0).
    pub fn live(topic: &str, delivered: &[Delivered]) -> Vec<Placed> {
        delivered
            .iter()
            .map(|d| Placed {
                topic: topic.to_string(),
                level: 0,
                partition: d.partition,
                offset: d.offset,
                payment_id: d.payment_id.clone(),
            })
            .collect()
    }
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

/// A DLQ outage's checks, for a consumer whose only forward is the dead
/// letter (Labs 4.2 and 4.6): while `dlq` was missing (until
/// `outage_ended_at_ms`), no commit passed a record of `live_topic` (as
/// `delivered` to it) that had to be
/// dead-lettered and was not processed meanwhile. Returns the guarded records,
/// for the criterion's note.
pub fn expect_no_commit_past_a_missing_dlq(
    criterion: &mut Criterion,
    commits: &CommitsSeen,
    ledger: &Ledger,
    (live_topic, delivered): (&str, &[Delivered]),
    dlq: &str,
    outcomes: &[Outcome],
    outage_ended_at_ms: i64,
) -> Vec<Guarded> {
    let placed = Placed::live(live_topic, delivered);
    let guarded = guarded(
        ledger,
        &placed,
        |route| (route == Route::DeadLetter).then(|| dlq.to_string()),
        &criteria::ledger::processed_by(outcomes, outage_ended_at_ms),
    );
    expect_no_commit_past(criterion, commits, &guarded, &[dlq.to_string()]);
    guarded
}

/// The checks every outage criterion makes of a watch: that it looked the whole
/// time (the grader's own setup), that there was something to guard, and that
/// no commit passed a guarded record. `down` names the missing topics.
pub fn expect_no_commit_past(
    criterion: &mut Criterion,
    commits: &CommitsSeen,
    guarded: &[Guarded],
    down: &[String],
) {
    let (down, were) = match down {
        [one] => (one.clone(), "was"),
        many => (many.join(" and "), "were"),
    };
    criterion.expect(
        commits.incomplete().is_none(),
        "the grader's setup: the commit watch samples every group through the whole outage",
        format!(
            "{} (not your code: run the grade again)",
            commits.incomplete().unwrap_or_default()
        ),
    );
    criterion.expect(
        !guarded.is_empty(),
        format!("the grader's setup: records that cannot be passed while {down} {were} missing"),
        "none (not your code: the seeded workload should have some)",
    );
    let passed = commits.passed(guarded);
    criterion.expect(
        passed.is_empty(),
        format!(
            "while {down} {were} missing, no commit past any of the {} records whose forward could not be acknowledged",
            guarded.len()
        ),
        format!(
            "{} such commit(s) in {} rounds of samples, e.g. {}",
            passed.len(),
            commits.rounds,
            passed.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
        ),
    );
}

/// The check every outage criterion makes of the outcomes: no payment reported
/// dead-lettered before `outage_ended_at_ms`, when `dlq` did not exist. A topic
/// that does not exist acknowledges nothing, so such a report came before the ack.
pub fn expect_no_dead_letter_before(
    criterion: &mut Criterion,
    outcomes: &[Outcome],
    outage_ended_at_ms: i64,
    dlq: &str,
) {
    let early = dead_lettered_before(outcomes, outage_ended_at_ms);
    criterion.expect(
        early.is_empty(),
        "no payment reported dead-lettered while the DLQ did not exist (report only after the DLQ's ack)",
        format!(
            "{} reported dead-lettered before {dlq} existed, e.g. {}",
            early.len(),
            early
                .iter()
                .take(3)
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
}

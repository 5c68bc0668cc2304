//! The replay journal: what was replayed, kept in Kafka.
//!
//! A replay is only idempotent if it remembers what it already sent. Keeping that
//! in the replaying process's memory forgets it on restart; committing a consumer
//! group offset on the DLQ cannot say "offsets 3, 7 and 12, but not 4" (filters
//! replay scattered records). So every replayed dead letter gets a journal record
//! on `<dlq>-replayed`, **after** the retry topic acknowledged the replay, keyed by
//! its DLQ coordinates. The topic is compacted: one record per dead letter,
//! forever, whatever the retention of the DLQ.
//!
//! The order (replay acknowledged, then journal) makes a crash in between replay
//! that record again on the next run: at least once, never zero times.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::Context;
use harness::replay::journal_topic;
use harness::topics::{create_topics_with_config, read_all, topic_exists};
use harness::Broker;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use serde::{Deserialize, Serialize};

use crate::dlq::{DlqEntry, DlqSnapshot};

/// One journal record: a dead letter was replayed, and where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub replay_id: String,
    pub dlq_topic: String,
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    /// The dead letter's own Kafka timestamp: with the payment id, what tells this
    /// dead letter from another one at the same coordinates (a DLQ topic that was
    /// deleted and created again starts its offsets at 0 again).
    #[serde(default)]
    pub dlq_timestamp_ms: i64,
    pub payment_id: String,
    /// Where the payment was first consumed (the dead letter's `original_*`): two
    /// dead letters of one record (an at-least-once duplicate) share it.
    #[serde(default)]
    pub original: Option<(String, i32, i64)>,
    pub target_topic: String,
    pub target_partition: i32,
    pub target_offset: i64,
    pub replayed_at_ms: i64,
}

impl JournalEntry {
    /// The compaction key: the dead letter's coordinates.
    pub fn key(&self) -> String {
        format!("{}/{}", self.dlq_partition, self.dlq_offset)
    }
}

/// The original record a dead letter stands for: (topic, partition, offset).
pub fn original_of(entry: &DlqEntry) -> Option<(String, i32, i64)> {
    entry.letter.as_ref().ok().map(|letter| {
        (
            letter.original_topic.clone(),
            letter.original_partition,
            letter.original_offset,
        )
    })
}

/// Every dead letter of one DLQ that was replayed, read from its journal.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    /// (DLQ partition, DLQ offset) -> the journal entry.
    entries: BTreeMap<(i32, i64), JournalEntry>,
    /// Original records replayed (through any of their dead letters) -> the
    /// payment id and when it was replayed.
    originals: BTreeMap<(String, i32, i64), (String, i64)>,
    /// Journal records that did not parse (reported, never trusted).
    pub unreadable: usize,
}

impl Replayed {
    /// Has `entry` been dealt with by a replay: this very dead letter (same
    /// coordinates, same payment, same timestamp), or an at-least-once duplicate
    /// of it (another dead letter of the same original record and payment,
    /// written before that replay; one written after is a new failure)?
    pub fn covers(&self, entry: &DlqEntry) -> bool {
        let same_letter = self
            .entries
            .get(&(entry.partition, entry.offset))
            .is_some_and(|journaled| {
                journaled.payment_id == entry.payment_id()
                    && (journaled.dlq_timestamp_ms == 0
                        || journaled.dlq_timestamp_ms == entry.timestamp_ms)
            });
        let duplicate = original_of(entry)
            .and_then(|original| self.originals.get(&original))
            .is_some_and(|(payment_id, replayed_at_ms)| {
                *payment_id == entry.payment_id() && entry.timestamp_ms <= *replayed_at_ms
            });
        same_letter || duplicate
    }

    /// The DLQ records of `snapshot` that a replay has dealt with.
    pub fn covered_in(&self, snapshot: &DlqSnapshot) -> BTreeSet<(i32, i64)> {
        snapshot
            .entries
            .iter()
            .filter(|e| self.covers(e))
            .map(|e| (e.partition, e.offset))
            .collect()
    }

    pub(crate) fn insert(&mut self, entry: JournalEntry) {
        if let Some(original) = &entry.original {
            self.originals.insert(
                original.clone(),
                (entry.payment_id.clone(), entry.replayed_at_ms),
            );
        }
        self.entries
            .insert((entry.dlq_partition, entry.dlq_offset), entry);
    }
}

/// The `cleanup.policy` of `topic`, as the broker reports it.
async fn cleanup_policy(broker: &Broker, topic: &str) -> anyhow::Result<String> {
    use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        broker.client_config().create()?;
    let options = AdminOptions::new().request_timeout(Some(Duration::from_secs(10)));
    let resources = admin
        .describe_configs(&[ResourceSpecifier::Topic(topic)], &options)
        .await?;
    let resource = resources
        .into_iter()
        .next()
        .context("no answer")?
        .map_err(|code| anyhow::anyhow!("{code}"))?;
    Ok(resource
        .get("cleanup.policy")
        .and_then(|entry| entry.value.clone())
        .unwrap_or_else(|| "delete".into()))
}

/// The journal of one DLQ topic.
#[derive(Clone)]
pub struct ReplayJournal {
    pub topic: String,
    broker: Broker,
    producer: FutureProducer,
}

impl ReplayJournal {
    pub fn new(broker: &Broker, dlq_topic: &str, producer: FutureProducer) -> ReplayJournal {
        ReplayJournal {
            topic: journal_topic(dlq_topic),
            broker: broker.clone(),
            producer,
        }
    }

    /// Create the journal topic (one partition, compacted) if it is missing, and
    /// warn when an existing one is not compacted: with plain retention, its
    /// entries expire after a week and every replayed dead letter looks new again.
    pub async fn create(broker: &Broker, dlq_topic: &str) -> anyhow::Result<()> {
        let topic = journal_topic(dlq_topic);
        create_topics_with_config(
            broker,
            &[(topic.as_str(), 1)],
            &[("cleanup.policy", "compact")],
        )
        .await?;
        if broker.embedded().is_none() {
            match cleanup_policy(broker, &topic).await {
                Ok(policy) if policy.split(',').any(|p| p.trim() == "compact") => {}
                Ok(policy) => tracing::warn!(
                    "replay journal {topic} has cleanup.policy={policy}: its entries will expire, and the dead letters they cover will look unreplayed (set cleanup.policy=compact)"
                ),
                Err(error) => tracing::warn!("cannot check the replay journal's cleanup.policy: {error:#}"),
            }
        }
        Ok(())
    }

    /// Everything replayed so far. A journal topic that does not exist yet means
    /// nothing was ever replayed (reading creates nothing).
    pub async fn load(&self) -> anyhow::Result<Replayed> {
        if !topic_exists(&self.broker, &self.topic).await? {
            return Ok(Replayed::default());
        }
        let records = read_all(&self.broker, &self.topic, Duration::from_secs(60))
            .await
            .with_context(|| format!("reading the replay journal {}", self.topic))?;
        let mut replayed = Replayed::default();
        for record in records {
            match record
                .payload()
                .and_then(|v| serde_json::from_slice::<JournalEntry>(v).ok())
            {
                Some(entry) => replayed.insert(entry),
                None => replayed.unreadable += 1,
            }
        }
        Ok(replayed)
    }

    /// The DLQ as it is now, and which of its records a replay has dealt with
    /// (what listings mark `replayed` and a purge of the replayed may cut).
    pub async fn read_dlq(
        &self,
        dlq_topic: &str,
    ) -> anyhow::Result<(DlqSnapshot, BTreeSet<(i32, i64)>)> {
        let snapshot = DlqSnapshot::read(&self.broker, dlq_topic).await?;
        let covered = self.load().await?.covered_in(&snapshot);
        Ok((snapshot, covered))
    }

    /// Write `entry` and wait for the broker's ack.
    pub async fn record(&self, entry: &JournalEntry) -> anyhow::Result<()> {
        let key = entry.key();
        let value = serde_json::to_vec(entry)?;
        self.producer
            .send(
                FutureRecord::to(&self.topic).key(&key).payload(&value),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(error, _)| {
                anyhow::anyhow!(
                    "the replay journal {} did not acknowledge {key}: {error}",
                    self.topic
                )
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(partition: i32, offset: i64, id: &str, timestamp_ms: i64) -> DlqEntry {
        let letter = crate::dlq::sample_dead_letter(id);
        DlqEntry {
            partition,
            offset,
            timestamp_ms,
            key: Some(id.as_bytes().to_vec()),
            letter: Ok(letter),
        }
    }

    fn journaled(e: &DlqEntry) -> JournalEntry {
        JournalEntry {
            replay_id: "replay-1".into(),
            dlq_topic: "payments-dlq".into(),
            dlq_partition: e.partition,
            dlq_offset: e.offset,
            dlq_timestamp_ms: e.timestamp_ms,
            payment_id: e.payment_id(),
            original: original_of(e),
            target_topic: "payments-retry-1".into(),
            target_partition: 0,
            target_offset: 0,
            replayed_at_ms: 10_000,
        }
    }

    #[test]
    fn a_journal_entry_covers_its_dead_letter_and_its_duplicates_only() {
        let replayed_letter = entry(0, 3, "pay-1", 1_000);
        let mut replayed = Replayed::default();
        replayed.insert(journaled(&replayed_letter));
        assert!(replayed.covers(&replayed_letter));
        // The same record dead-lettered twice (at-least-once): already dealt with.
        assert!(replayed.covers(&entry(1, 8, "pay-1", 2_000)));
        // A DLQ created again: same coordinates (and, live topic recreated too,
        // same original coordinates), another payment. Not replayed.
        assert!(!replayed.covers(&entry(0, 3, "pay-2", 5_000)));
        // The same record failing again *after* the replay (a rewound group): a
        // new failure, not a duplicate.
        assert!(!replayed.covers(&entry(1, 9, "pay-1", 50_000)));
    }
}

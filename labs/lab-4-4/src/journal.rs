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
use harness::topics::{create_topics_with_config, read_all};
use harness::Broker;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use serde::{Deserialize, Serialize};

/// One journal record: a dead letter was replayed, and where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub replay_id: String,
    pub dlq_topic: String,
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    pub payment_id: String,
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

/// Every dead letter of one DLQ that was replayed, read from its journal.
#[derive(Debug, Clone, Default)]
pub struct Replayed {
    /// (DLQ partition, DLQ offset) -> the journal entry.
    entries: BTreeMap<(i32, i64), JournalEntry>,
    /// Journal records that did not parse (reported, never trusted).
    pub unreadable: usize,
}

impl Replayed {
    pub fn contains(&self, partition: i32, offset: i64) -> bool {
        self.entries.contains_key(&(partition, offset))
    }

    pub fn coordinates(&self) -> BTreeSet<(i32, i64)> {
        self.entries.keys().copied().collect()
    }

    pub fn entries(&self) -> impl Iterator<Item = &JournalEntry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn insert(&mut self, entry: JournalEntry) {
        self.entries
            .insert((entry.dlq_partition, entry.dlq_offset), entry);
    }
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

    /// Create the journal topic (one partition, compacted) if it is missing.
    pub async fn create(broker: &Broker, dlq_topic: &str) -> anyhow::Result<()> {
        create_topics_with_config(
            broker,
            &[(journal_topic(dlq_topic).as_str(), 1)],
            &[("cleanup.policy", "compact")],
        )
        .await
    }

    /// Everything replayed so far.
    pub async fn load(&self) -> anyhow::Result<Replayed> {
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

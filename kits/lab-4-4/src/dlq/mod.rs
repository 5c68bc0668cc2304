//! Reading the DLQ: a snapshot of every record up to the end offsets, the filters
//! an operator narrows it with, pages, and statistics.
//!
//! A DLQ is read without joining a consumer group (partitions are assigned, never
//! committed), so `list` can run a hundred times and disturb nothing, and two
//! operators see the same thing.
//!
//! | module | concern |
//! |---|---|
//! | this file | [`DlqEntry`], [`DlqSnapshot`], watermarks and record counts |
//! | `filter` | [`Filter`]: what an operator narrows the DLQ down to |
//! | `listing` | [`Page`], [`Listing`]: pages of dead letters for humans and dashboards |
//! | `stats` | [`DlqStats`]: the DLQ counted by reason, partition, age |

use std::collections::BTreeMap;
use std::time::Duration;

use harness::dead_letter::DeadLetter;
use harness::topics::{group_free_reader, read_all};
use harness::Broker;
use rdkafka::consumer::Consumer;
use rdkafka::Message;

mod filter;
mod listing;
mod stats;

pub use filter::*;
pub use listing::*;
pub use stats::*;

/// One record of the DLQ topic, as read.
#[derive(Debug, Clone)]
pub struct DlqEntry {
    /// Where the record is *in the DLQ* (not where the payment was).
    pub partition: i32,
    pub offset: i64,
    /// When the dead letter was written (its Kafka timestamp, ms).
    pub timestamp_ms: i64,
    /// The DLQ record's key: the original key (the payment id).
    pub key: Option<Vec<u8>>,
    /// The dead letter, or why this record is not one (someone else wrote it, or
    /// an older format): such records are listed, never replayed.
    pub letter: Result<DeadLetter, String>,
}

impl DlqEntry {
    /// The payment id, from the key (every workshop record is keyed by it).
    pub fn payment_id(&self) -> String {
        self.key
            .as_deref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_else(|| "<no key>".into())
    }

    pub fn error_class(&self) -> &str {
        self.letter
            .as_ref()
            .map(|l| l.error_class.as_str())
            .unwrap_or("unreadable")
    }

    pub fn error_type(&self) -> &str {
        self.letter
            .as_ref()
            .map(|l| l.error_type.as_str())
            .unwrap_or("unreadable")
    }
}

/// Every record of a DLQ topic up to the end offsets seen when reading started,
/// with those offsets.
#[derive(Debug, Clone)]
pub struct DlqSnapshot {
    pub topic: String,
    /// partition -> (low watermark, high watermark). Records below the low one
    /// were purged (or expired); the high one is where the next dead letter goes.
    pub watermarks: BTreeMap<i32, (i64, i64)>,
    /// In partition, then offset order.
    pub entries: Vec<DlqEntry>,
}

impl DlqSnapshot {
    /// Read `topic` from its low watermarks to the high watermarks seen now.
    pub async fn read(broker: &Broker, topic: &str) -> anyhow::Result<DlqSnapshot> {
        let watermarks = watermarks(broker, topic).await?;
        let records = read_all(broker, topic, Duration::from_secs(60)).await?;
        let mut entries: Vec<DlqEntry> = records
            .iter()
            // A record written after the watermarks were taken belongs to the next read.
            .filter(|m| {
                watermarks
                    .get(&m.partition())
                    .is_some_and(|(low, high)| m.offset() >= *low && m.offset() < *high)
            })
            .map(|m| DlqEntry {
                partition: m.partition(),
                offset: m.offset(),
                timestamp_ms: m.timestamp().to_millis().unwrap_or(0),
                key: m.key().map(<[u8]>::to_vec),
                letter: DeadLetter::parse(m.payload()).map_err(|e| e.to_string()),
            })
            .collect();
        entries.sort_by_key(|e| (e.partition, e.offset));
        Ok(DlqSnapshot {
            topic: topic.to_string(),
            watermarks,
            entries,
        })
    }

    /// Records physically in the topic: the sum of high - low. (Seed 003's "DLT
    /// count".)
    pub fn count(&self) -> i64 {
        records(&self.watermarks)
    }

    /// The entries of one partition, in offset order.
    pub fn partition(&self, partition: i32) -> impl Iterator<Item = &DlqEntry> {
        self.entries
            .iter()
            .filter(move |e| e.partition == partition)
    }
}

/// Records in partitions with these watermarks: the sum of high - low.
pub fn records(watermarks: &BTreeMap<i32, (i64, i64)>) -> i64 {
    watermarks.values().map(|(low, high)| high - low).sum()
}

/// Records in `topic` now (purged and expired ones no longer count).
pub async fn records_in(broker: &Broker, topic: &str) -> anyhow::Result<i64> {
    Ok(records(&watermarks(broker, topic).await?))
}

/// The low and high watermark of every partition of `topic`.
pub async fn watermarks(broker: &Broker, topic: &str) -> anyhow::Result<BTreeMap<i32, (i64, i64)>> {
    let broker = broker.clone();
    let topic = topic.to_string();
    // librdkafka's metadata and watermark calls block: keep them off the runtime.
    tokio::task::spawn_blocking(move || {
        let (consumer, partitions) = group_free_reader(&broker, &topic)?;
        (0..partitions)
            .map(|p| {
                let marks = consumer.fetch_watermarks(&topic, p, Duration::from_secs(10))?;
                Ok((p, marks))
            })
            .collect()
    })
    .await?
}

/// A dead letter as the workshop writes them (a JPY payment hit by the bug),
/// keyed `key`: the one fixture the DLQ and journal unit tests share.
#[cfg(test)]
pub(crate) fn sample_dead_letter(key: &str) -> DeadLetter {
    serde_json::from_value(serde_json::json!({
        "original_topic": "payments", "original_partition": 2, "original_offset": 17,
        "original_key": key, "original_value": "{}", "error_reason": "bug",
        "error_timestamp": 0, "failed_processing_attempts": 1, "error_type": "defect",
        "error_class": "zero_decimal_currency_bug", "error_detail": null,
        "consumer_group": "g", "first_failure_timestamp": "", "last_failure_timestamp": "",
        "retry_count": 0, "original_timestamp_ms": null, "original_key_base64": null,
        "original_value_base64": null, "original_headers": [], "schema_version": 1
    }))
    .unwrap()
}

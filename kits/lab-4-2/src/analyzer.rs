//! The DLQ analyzer (seed 000 Step 3): reads the DLQ from the beginning and
//! reports what failed, and why.
//!
//! Unlike the seed's (group `dlq-analyzer` with auto-commit, so a second run sees
//! nothing), this one assigns partitions directly and never commits: it disturbs
//! no group's offsets and gives the same answer every time. It stops on its own
//! once it has read up to the end offsets it saw when it started.

use std::collections::BTreeMap;
use std::time::Duration;

use harness::dead_letter::{DeadLetter, DeadLetterError};
use harness::measure::summary::table;
use harness::topics::read_all;
use harness::Broker;
use rdkafka::Message;
use serde::Serialize;

use crate::Exercise;

/// One record read from the DLQ.
#[derive(Debug)]
pub struct DlqRecord {
    pub partition: i32,
    pub offset: i64,
    /// The dead letter, or why this record is not one.
    pub dead_letter: Result<DeadLetter, DeadLetterError>,
}

/// What the analyzer found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DlqReport {
    pub topic: String,
    /// Dead letters read (unreadable records not included).
    pub total: u64,
    pub by_reason: BTreeMap<String, u64>,
    /// error type (`transient`, `permanent`, `poison`) -> original partition -> count.
    pub by_type_and_partition: BTreeMap<String, BTreeMap<i32, u64>>,
    /// Records on the DLQ that are not dead letters in our format.
    pub unreadable: u64,
}

/// Read `dlq_topic` to its end and tally every record with `E::tally`.
pub async fn analyze<E: Exercise>(broker: &Broker, dlq_topic: &str) -> anyhow::Result<DlqReport> {
    let records = read_all(broker, dlq_topic, Duration::from_secs(60)).await?;
    let mut report = DlqReport {
        topic: dlq_topic.to_string(),
        ..DlqReport::default()
    };
    for message in &records {
        E::tally(
            &mut report,
            DlqRecord {
                partition: message.partition(),
                offset: message.offset(),
                dead_letter: DeadLetter::parse(message.payload()),
            },
        );
    }
    Ok(report)
}

impl DlqReport {
    /// For people: the seed's per-reason counts, then type by partition.
    /// (It leaves out the topic name, so the same DLQ content renders the same.)
    pub fn render_table(&self) -> String {
        if self.total == 0 && self.unreadable == 0 {
            return "📊 DLQ Analysis:\n  No messages in DLQ".to_string();
        }
        let mut reasons = table(&["error reason", "messages"]);
        for (reason, count) in &self.by_reason {
            reasons.add_row(vec![reason.clone(), count.to_string()]);
        }
        let partitions: Vec<i32> = {
            let mut all: Vec<i32> = self
                .by_type_and_partition
                .values()
                .flat_map(|p| p.keys().copied())
                .collect();
            all.sort_unstable();
            all.dedup();
            all
        };
        let mut header = vec!["error type".to_string()];
        header.extend(partitions.iter().map(|p| format!("partition {p}")));
        let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut types = table(&header_refs);
        for (error_type, by_partition) in &self.by_type_and_partition {
            let mut row = vec![error_type.clone()];
            row.extend(
                partitions
                    .iter()
                    .map(|p| by_partition.get(p).copied().unwrap_or(0).to_string()),
            );
            types.add_row(row);
        }
        format!(
            "📊 DLQ Analysis: {} dead letters, {} unreadable records\n{reasons}\n{types}",
            self.total, self.unreadable
        )
    }

    /// For machines.
    pub fn render_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

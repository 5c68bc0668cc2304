//! Reading the DLQ: a snapshot of every record up to the end offsets, the filters
//! an operator narrows it with, pages, and statistics.
//!
//! A DLQ is read without joining a consumer group (partitions are assigned, never
//! committed), so `list` can run a hundred times and disturb nothing, and two
//! operators see the same thing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::clock::format_rfc3339_ms;
use harness::clock::now_ms;
use harness::dead_letter::DeadLetter;
use harness::topics::{group_free_reader, read_all};
use harness::Broker;
use rdkafka::consumer::Consumer;
use rdkafka::Message;
use serde::{Deserialize, Serialize};
use thiserror::Error;

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

/// What an operator narrows the DLQ down to. Every field is optional; an empty
/// filter matches every dead letter. The same fields work as CLI flags, HTTP
/// query parameters and JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// An error class (`zero_decimal_currency_bug`, `network_timeout`, ...) or
    /// type (`transient`, `permanent`, `poison`, `defect`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only payments that were first on this partition of the live topic.
    #[arg(long)]
    pub original_partition: Option<i32>,
    /// Only original offsets >= this.
    #[arg(long)]
    pub from_offset: Option<i64>,
    /// Only original offsets <= this.
    #[arg(long)]
    pub to_offset: Option<i64>,
    /// Dead-lettered at or after: RFC 3339 (`2026-11-25T10:00:00Z`) or an age (`15m`).
    #[arg(long)]
    pub since: Option<String>,
    /// Dead-lettered before: RFC 3339 or an age.
    #[arg(long)]
    pub until: Option<String>,
    /// One payment.
    #[arg(long)]
    pub payment_id: Option<String>,
}

/// A filter whose times have been parsed: build one with [`Filter::compile`].
#[derive(Debug, Clone)]
pub struct CompiledFilter {
    filter: Filter,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    #[error(
        "{field}={value:?} is neither an RFC 3339 time (2026-11-25T10:00:00Z) nor an age (15m, 2h)"
    )]
    BadTime { field: &'static str, value: String },
    #[error("from_offset {from} is above to_offset {to}: that range is empty")]
    EmptyOffsetRange { from: i64, to: i64 },
}

impl Filter {
    /// Check the filter and parse its times, relative ones against now.
    pub fn compile(&self) -> Result<CompiledFilter, FilterError> {
        if let (Some(from), Some(to)) = (self.from_offset, self.to_offset) {
            if from > to {
                return Err(FilterError::EmptyOffsetRange { from, to });
            }
        }
        let time = |field, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| {
                    parse_time(v, now_ms()).ok_or_else(|| FilterError::BadTime {
                        field,
                        value: v.to_string(),
                    })
                })
                .transpose()
        };
        Ok(CompiledFilter {
            since_ms: time("since", &self.since)?,
            until_ms: time("until", &self.until)?,
            filter: self.clone(),
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

impl CompiledFilter {
    /// Does `entry` pass? Records that are not dead letters pass only an empty
    /// filter (there is nothing to match them on).
    pub fn matches(&self, entry: &DlqEntry) -> bool {
        let f = &self.filter;
        let Ok(letter) = &entry.letter else {
            return f.is_empty();
        };
        f.reason
            .as_deref()
            .is_none_or(|r| r == letter.error_class || r == letter.error_type)
            && f.original_partition
                .is_none_or(|p| p == letter.original_partition)
            && f.from_offset.is_none_or(|o| letter.original_offset >= o)
            && f.to_offset.is_none_or(|o| letter.original_offset <= o)
            && self.since_ms.is_none_or(|t| entry.timestamp_ms >= t)
            && self.until_ms.is_none_or(|t| entry.timestamp_ms < t)
            && f.payment_id
                .as_deref()
                .is_none_or(|id| id == entry.payment_id())
    }
}

/// `2026-11-25T10:00:00Z`, or an age such as `15m` (that long before `now_ms`).
pub fn parse_time(text: &str, now_ms: i64) -> Option<i64> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp_millis());
    }
    let age = humantime::parse_duration(text).ok()?;
    Some(now_ms.saturating_sub(i64::try_from(age.as_millis()).ok()?))
}

/// Which page of a listing (1-based), and how many entries a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default)]
pub struct Page {
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    #[arg(long, default_value_t = 20)]
    pub page_size: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            page: 1,
            page_size: 20,
        }
    }
}

/// The most a page may hold: a DLQ listing is for humans and dashboards, not for
/// exporting a topic.
pub const MAX_PAGE_SIZE: usize = 500;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE} (got page={page}, page_size={page_size})")]
pub struct PageError {
    page: usize,
    page_size: usize,
}

/// One page of dead letters, in a shape meant for JSON (seed 001's
/// `GET /api/dlq/messages`: `dlqTopic`, `messageCount`, `messages`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub success: bool,
    pub dlq_topic: String,
    /// Dead letters matching the filter (all pages).
    pub message_count: usize,
    pub page: usize,
    pub page_size: usize,
    pub total_pages: usize,
    pub messages: Vec<Listed>,
}

/// One dead letter in a listing: where it is, plus the dead letter itself (in
/// the dead-letter format's own snake_case).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    pub dead_lettered_at: String,
    pub payment_id: String,
    /// Has a replay already sent it back?
    pub replayed: bool,
    /// The dead letter; `null` for a record that is not one (see `unreadable`).
    pub dead_letter: Option<DeadLetter>,
    pub unreadable: Option<String>,
}

impl Listed {
    pub fn of(entry: &DlqEntry, replayed: bool) -> Listed {
        Listed {
            dlq_partition: entry.partition,
            dlq_offset: entry.offset,
            dead_lettered_at: format_rfc3339_ms(entry.timestamp_ms),
            payment_id: entry.payment_id(),
            replayed,
            dead_letter: entry.letter.as_ref().ok().cloned(),
            unreadable: entry.letter.as_ref().err().cloned(),
        }
    }
}

/// The page `page` of the entries of `snapshot` that pass `filter`.
pub fn list(
    snapshot: &DlqSnapshot,
    filter: &CompiledFilter,
    page: Page,
    replayed: &BTreeSet<(i32, i64)>,
) -> Result<Listing, PageError> {
    if page.page == 0 || page.page_size == 0 || page.page_size > MAX_PAGE_SIZE {
        return Err(PageError {
            page: page.page,
            page_size: page.page_size,
        });
    }
    let matching: Vec<&DlqEntry> = snapshot
        .entries
        .iter()
        .filter(|e| filter.matches(e))
        .collect();
    let messages = matching
        .iter()
        .skip((page.page - 1).saturating_mul(page.page_size))
        .take(page.page_size)
        .map(|e| Listed::of(e, replayed.contains(&(e.partition, e.offset))))
        .collect();
    Ok(Listing {
        success: true,
        dlq_topic: snapshot.topic.clone(),
        message_count: matching.len(),
        page: page.page,
        page_size: page.page_size,
        total_pages: matching.len().div_ceil(page.page_size),
        messages,
    })
}

/// What is in the DLQ, counted several ways (seed 003's stats, seed 004's "DLQ
/// inspection").
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DlqStats {
    pub topic: String,
    /// Records in the topic (high - low, summed): seed 003's DLT count.
    pub count: i64,
    /// Dead letters that passed the filter.
    pub matching: usize,
    pub unreadable: usize,
    pub replayed: usize,
    pub by_error_type: BTreeMap<String, usize>,
    pub by_error_class: BTreeMap<String, usize>,
    pub by_original_partition: BTreeMap<i32, usize>,
    pub oldest: Option<String>,
    pub newest: Option<String>,
    /// partition -> [low, high] watermarks.
    pub watermarks: BTreeMap<i32, [i64; 2]>,
}

pub fn stats(
    snapshot: &DlqSnapshot,
    filter: &CompiledFilter,
    replayed: &BTreeSet<(i32, i64)>,
) -> DlqStats {
    let mut stats = DlqStats {
        topic: snapshot.topic.clone(),
        count: snapshot.count(),
        watermarks: snapshot
            .watermarks
            .iter()
            .map(|(p, (low, high))| (*p, [*low, *high]))
            .collect(),
        ..DlqStats::default()
    };
    let mut oldest = i64::MAX;
    let mut newest = i64::MIN;
    for entry in snapshot.entries.iter().filter(|e| filter.matches(e)) {
        stats.matching += 1;
        if replayed.contains(&(entry.partition, entry.offset)) {
            stats.replayed += 1;
        }
        oldest = oldest.min(entry.timestamp_ms);
        newest = newest.max(entry.timestamp_ms);
        match &entry.letter {
            Ok(letter) => {
                *stats
                    .by_error_type
                    .entry(letter.error_type.clone())
                    .or_default() += 1;
                *stats
                    .by_error_class
                    .entry(letter.error_class.clone())
                    .or_default() += 1;
                *stats
                    .by_original_partition
                    .entry(letter.original_partition)
                    .or_default() += 1;
            }
            Err(_) => stats.unreadable += 1,
        }
    }
    if stats.matching > 0 {
        stats.oldest = Some(format_rfc3339_ms(oldest));
        stats.newest = Some(format_rfc3339_ms(newest));
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_ages() {
        let now = 1_767_225_600_000;
        assert_eq!(parse_time("2026-01-01T00:00:00Z", now), Some(now));
        assert_eq!(parse_time("15m", now), Some(now - 15 * 60_000));
        assert_eq!(parse_time("yesterday-ish", now), None);
    }

    #[test]
    fn bad_filters_are_refused_with_a_reason() {
        let filter = Filter {
            since: Some("soon".into()),
            ..Filter::default()
        };
        assert!(matches!(filter.compile(), Err(FilterError::BadTime { .. })));
        let filter = Filter {
            from_offset: Some(9),
            to_offset: Some(3),
            ..Filter::default()
        };
        assert_eq!(
            filter.compile().unwrap_err(),
            FilterError::EmptyOffsetRange { from: 9, to: 3 }
        );
    }
}

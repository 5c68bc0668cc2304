//! What is in the DLQ, counted several ways (seed 003's stats, seed 004's panels).

use std::collections::{BTreeMap, BTreeSet};

use harness::clock::format_rfc3339_ms;
use serde::Serialize;

use super::*;

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

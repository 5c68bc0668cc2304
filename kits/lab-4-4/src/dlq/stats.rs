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
    /// When a filter matched nothing: why, and the reasons the DLQ does hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_match: Option<NoMatch>,
}

/// What to tell an operator whose filter matched nothing: a typo in `reason`
/// (`reason=nope`) must not look like an empty DLQ.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct NoMatch {
    pub hint: String,
    /// Every value `reason` can take right now (error types and error classes of
    /// the dead letters in the DLQ), with how many dead letters have it.
    pub reasons: BTreeMap<String, usize>,
}

/// `Some` when `filter` is not empty and matches none of the dead letters.
pub fn no_match(snapshot: &DlqSnapshot, filter: &CompiledFilter) -> Option<NoMatch> {
    let asked = filter.filter();
    if asked.is_empty() || snapshot.entries.iter().any(|e| filter.matches(e)) {
        return None;
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for letter in snapshot
        .entries
        .iter()
        .filter_map(|e| e.letter.as_ref().ok())
    {
        *reasons.entry(letter.error_type.clone()).or_default() += 1;
        *reasons.entry(letter.error_class.clone()).or_default() += 1;
    }
    let listed = reasons
        .iter()
        .map(|(reason, count)| format!("{reason} ({count})"))
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match &asked.reason {
        _ if reasons.is_empty() => format!("{} holds no dead letters", snapshot.topic),
        Some(reason) if !reasons.contains_key(reason) => format!(
            "no dead letter has reason \"{reason}\"; the reasons in {} are: {listed}",
            snapshot.topic
        ),
        _ => format!(
            "no dead letter matches every part of this filter; the reasons in {} are: {listed}",
            snapshot.topic
        ),
    };
    Some(NoMatch { hint, reasons })
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
    stats.no_match = no_match(snapshot, filter);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> DlqSnapshot {
        let letter = crate::dlq::sample_dead_letter("pay-1");
        DlqSnapshot {
            topic: "payments-dlq".into(),
            watermarks: BTreeMap::from([(0, (0, 1))]),
            entries: vec![DlqEntry {
                partition: 0,
                offset: 0,
                timestamp_ms: 1_000,
                key: Some(b"pay-1".to_vec()),
                letter: Ok(letter),
            }],
        }
    }

    fn compiled(filter: Filter) -> CompiledFilter {
        filter.compile().unwrap()
    }

    #[test]
    fn a_filter_matching_nothing_names_the_reasons_that_exist() {
        let snapshot = snapshot();
        let typo = compiled(Filter {
            reason: Some("nope".into()),
            ..Filter::default()
        });
        let none = no_match(&snapshot, &typo).unwrap();
        assert_eq!(
            none.hint,
            "no dead letter has reason \"nope\"; the reasons in payments-dlq are: defect (1), zero_decimal_currency_bug (1)"
        );
        assert_eq!(none.reasons.get("zero_decimal_currency_bug"), Some(&1));
        assert_eq!(
            stats(&snapshot, &typo, &BTreeSet::new()).no_match,
            Some(none)
        );
        // A filter that matches, or no filter at all: nothing to explain.
        let bug = compiled(Filter {
            reason: Some("defect".into()),
            ..Filter::default()
        });
        assert_eq!(no_match(&snapshot, &bug), None);
        assert_eq!(no_match(&snapshot, &compiled(Filter::default())), None);
        let elsewhere = compiled(Filter {
            original_partition: Some(0),
            ..Filter::default()
        });
        assert!(no_match(&snapshot, &elsewhere)
            .unwrap()
            .hint
            .starts_with("no dead letter matches every part of this filter"));
    }
}

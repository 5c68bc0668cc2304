//! What an operator narrows the DLQ down to: filters, and parsing their times.

use harness::clock::now_ms;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::*;

/// What an operator narrows the DLQ down to. Every field is optional; an empty
/// filter matches every dead letter. The same fields work as CLI flags, HTTP
/// query parameters and JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// An error class (`zero_decimal_currency_bug`, `network_timeout`, ...) or
    /// type (`transient`, `permanent`, `poison`, `defect`, `validation`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Only payments that were first on this partition of the live topic.
    #[arg(long, allow_negative_numbers = true)]
    pub original_partition: Option<i32>,
    /// Only original offsets >= this.
    #[arg(long, allow_negative_numbers = true)]
    pub from_offset: Option<i64>,
    /// Only original offsets <= this.
    #[arg(long, allow_negative_numbers = true)]
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
        "{field}=\"{value}\" is neither an RFC 3339 time (2026-11-25T10:00:00Z) nor an age (15m, 2h)"
    )]
    BadTime { field: &'static str, value: String },
    #[error("from_offset {from} is above to_offset {to}: that range is empty")]
    EmptyOffsetRange { from: i64, to: i64 },
    /// Partitions and offsets start at 0: a negative one is a typo, not a filter
    /// that matches nothing (or, as an offset, everything).
    #[error("{field}={value} is negative: partitions and offsets start at 0")]
    Negative { field: &'static str, value: i64 },
    #[error("{field} is empty: leave it out to match every dead letter")]
    Empty { field: &'static str },
}

impl Filter {
    /// Check the filter and parse its times, relative ones against now.
    pub fn compile(&self) -> Result<CompiledFilter, FilterError> {
        for (field, value) in [
            ("original_partition", self.original_partition.map(i64::from)),
            ("from_offset", self.from_offset),
            ("to_offset", self.to_offset),
        ] {
            if let Some(value) = value.filter(|v| *v < 0) {
                return Err(FilterError::Negative { field, value });
            }
        }
        for (field, value) in [("reason", &self.reason), ("payment_id", &self.payment_id)] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(FilterError::Empty { field });
            }
        }
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
    /// The filter as the operator gave it.
    pub fn filter(&self) -> &Filter {
        &self.filter
    }

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

    #[test]
    fn negative_partitions_and_offsets_and_empty_values_are_refused() {
        let refused = |filter: Filter| filter.compile().unwrap_err().to_string();
        assert_eq!(
            refused(Filter {
                original_partition: Some(-1),
                ..Filter::default()
            }),
            "original_partition=-1 is negative: partitions and offsets start at 0"
        );
        assert!(refused(Filter {
            from_offset: Some(-5),
            ..Filter::default()
        })
        .starts_with("from_offset=-5 is negative"));
        assert!(refused(Filter {
            reason: Some(String::new()),
            ..Filter::default()
        })
        .starts_with("reason is empty"));
        assert!(Filter {
            original_partition: Some(0),
            from_offset: Some(0),
            ..Filter::default()
        }
        .compile()
        .is_ok());
    }
}

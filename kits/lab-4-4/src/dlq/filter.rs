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

//! Wall-clock time as the workshop records it: epoch milliseconds, the unit of
//! Kafka timestamps, and RFC 3339 text for people and for the seeds' JSON.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch, as RFC 3339 UTC with milliseconds.
pub fn format_rfc3339_ms(epoch_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| epoch_ms.to_string())
}

/// A duration cut to whole milliseconds, for a line a person reads: `1.234s`
/// and `250ms` rather than `1.234567891s` (jitter's and timers' nanoseconds
/// dropped, never rounded up).
pub fn whole_ms(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

//! Retry records: the topics and headers of non-blocking retries (Lab 4.3, and
//! Lab 4.4's replay).
//!
//! A retry record is the original record, **byte for byte** (same key, same value,
//! same headers), plus bookkeeping headers. Seed 000 gives three of them:
//!
//! | header | meaning |
//! |---|---|
//! | `retry-count` | which retry this is: `N` on `<topic>-retry-N` (seed 000) |
//! | `original-error` | why the last attempt failed (seed 000) |
//! | `retry-timestamp` | when it failed, seconds since the epoch (seed 000) |
//! | `retry-due-ms` | when it may be tried again, ms since the epoch (ours: no tier guesses) |
//! | `first-failure-ms` | when the first attempt failed (for the dead letter, if it comes to that) |
//! | `original-topic`, `original-partition`, `original-offset`, `original-timestamp-ms` | where the payment first was (the same provenance Spring Kafka's `@RetryableTopic` keeps) |
//!
//! Headers come from other people's code, so reading them never trusts them: a
//! missing or unparseable header falls back to what the record itself says, and a
//! due time is believed only between the shortest and the longest delay the level
//! allows after the record was written. A corrupt header can make a retry neither
//! earlier than its level's shortest delay nor later than its longest; it can
//! never park a record for a year or crash a tier. [`RetryState::read`] lists what it had to repair.

use std::time::Duration;

use rdkafka::message::{Header, Message, OwnedHeaders};

use crate::headers::{raw_headers, RawHeader};

/// The retry topic of one level: seed 000's `payment_requests-retry-1`, `-2`, `-3`.
pub fn retry_topic(input_topic: &str, level: u32) -> String {
    format!("{input_topic}-retry-{level}")
}

pub const RETRY_COUNT: &str = "retry-count";
pub const ORIGINAL_ERROR: &str = "original-error";
pub const RETRY_TIMESTAMP: &str = "retry-timestamp";
pub const RETRY_DUE_MS: &str = "retry-due-ms";
pub const FIRST_FAILURE_MS: &str = "first-failure-ms";
pub const ORIGINAL_TOPIC: &str = "original-topic";
pub const ORIGINAL_PARTITION: &str = "original-partition";
pub const ORIGINAL_OFFSET: &str = "original-offset";
pub const ORIGINAL_TIMESTAMP_MS: &str = "original-timestamp-ms";
/// On a DLQ record: `true` when the payment ran out of retries (seed 000).
pub const FINAL_FAILURE: &str = "final-failure";
/// On a DLQ record: how many attempts the payment had in all.
pub const FAILED_ATTEMPTS: &str = "failed-attempts";

/// Every header the retry machinery writes. They are replaced, never duplicated,
/// when a record moves on, and left out when the original headers are restored.
pub const BOOKKEEPING_HEADERS: [&str; 11] = [
    RETRY_COUNT,
    ORIGINAL_ERROR,
    RETRY_TIMESTAMP,
    RETRY_DUE_MS,
    FIRST_FAILURE_MS,
    ORIGINAL_TOPIC,
    ORIGINAL_PARTITION,
    ORIGINAL_OFFSET,
    ORIGINAL_TIMESTAMP_MS,
    FINAL_FAILURE,
    FAILED_ATTEMPTS,
];

/// Where a payment was before it entered the retry topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
}

/// The retry bookkeeping of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryState {
    /// The retry this is: `N` on `<topic>-retry-N`.
    pub retry_count: u32,
    pub original_error: String,
    /// When the attempt before this retry failed (ms since the epoch). The retry
    /// record is written with this as its Kafka timestamp.
    pub failed_at_ms: i64,
    /// When it may be tried again.
    pub due_ms: i64,
    pub first_failure_ms: i64,
    pub origin: Origin,
}

impl RetryState {
    /// The first retry of a record from the live topic, which failed at `now_ms`.
    pub fn first<M: Message>(message: &M, error: &str, now_ms: i64, delay: Duration) -> RetryState {
        RetryState {
            retry_count: 1,
            original_error: error.to_string(),
            failed_at_ms: now_ms,
            due_ms: now_ms + delay.as_millis() as i64,
            first_failure_ms: now_ms,
            origin: Origin {
                topic: message.topic().to_string(),
                partition: message.partition(),
                offset: message.offset(),
                timestamp_ms: message.timestamp().to_millis(),
            },
        }
    }

    /// The next retry, after this one failed again at `now_ms`.
    pub fn next(&self, error: &str, now_ms: i64, delay: Duration) -> RetryState {
        RetryState {
            retry_count: self.retry_count + 1,
            original_error: error.to_string(),
            failed_at_ms: now_ms,
            due_ms: now_ms + delay.as_millis() as i64,
            first_failure_ms: self.first_failure_ms,
            origin: self.origin.clone(),
        }
    }

    /// Attempts this payment has had before this retry: the first one, plus one
    /// per earlier retry.
    pub fn attempts_so_far(&self) -> u32 {
        self.retry_count
    }

    /// The headers of the retry record: the original headers, byte for byte and
    /// in order (minus any old bookkeeping), then this state's bookkeeping.
    pub fn headers(&self, original: &[RawHeader]) -> OwnedHeaders {
        let mut headers = OwnedHeaders::new_with_capacity(original.len() + 9);
        for (key, value) in original {
            if !BOOKKEEPING_HEADERS.contains(&key.as_str()) {
                headers = headers.insert(Header {
                    key,
                    value: value.as_deref(),
                });
            }
        }
        for (key, value) in self.bookkeeping() {
            headers = headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            });
        }
        headers
    }

    fn bookkeeping(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            (RETRY_COUNT, self.retry_count.to_string()),
            (ORIGINAL_ERROR, self.original_error.clone()),
            (
                RETRY_TIMESTAMP,
                self.failed_at_ms.div_euclid(1000).to_string(),
            ),
            (RETRY_DUE_MS, self.due_ms.to_string()),
            (FIRST_FAILURE_MS, self.first_failure_ms.to_string()),
            (ORIGINAL_TOPIC, self.origin.topic.clone()),
            (ORIGINAL_PARTITION, self.origin.partition.to_string()),
            (ORIGINAL_OFFSET, self.origin.offset.to_string()),
        ];
        if let Some(timestamp) = self.origin.timestamp_ms {
            fields.push((ORIGINAL_TIMESTAMP_MS, timestamp.to_string()));
        }
        fields
    }

    /// Read the state of a record consumed from retry level `level`, whose delay
    /// lies within `delays` (shortest to longest the policy allows there). Never
    /// fails: what is missing or absurd is repaired from the record itself, and
    /// listed in the second value.
    pub fn read<M: Message>(
        message: &M,
        level: u32,
        delays: std::ops::RangeInclusive<Duration>,
    ) -> (RetryState, Vec<String>) {
        let mut repairs = Vec::new();
        let headers = raw_headers(message).unwrap_or_else(|error| {
            repairs.push(format!("headers unreadable ({error})"));
            Vec::new()
        });
        let text = |key: &str| -> Option<String> {
            headers
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.as_deref())
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(|v| v.trim().to_string())
        };
        let number = |key: &str, repairs: &mut Vec<String>| -> Option<i64> {
            let value = text(key)?;
            match value.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    repairs.push(format!("{key}={value:?} is not a number"));
                    None
                }
            }
        };
        // The record's own timestamp is the retry tier's anchor: the forwarder
        // writes the failure time there. Without one, "now" is the safe guess.
        let written_at = message
            .timestamp()
            .to_millis()
            .unwrap_or_else(crate::clock::now_ms);
        let millis = |d: &Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let earliest_due = written_at.saturating_add(millis(delays.start()));
        let latest_due = written_at.saturating_add(millis(delays.end()));

        let retry_count = match number(RETRY_COUNT, &mut repairs) {
            Some(n) if n == level as i64 => level,
            Some(n) => {
                repairs.push(format!(
                    "{RETRY_COUNT}={n} on retry level {level}: the topic wins"
                ));
                level
            }
            None => level,
        };
        let due_ms = match number(RETRY_DUE_MS, &mut repairs) {
            Some(due) if (earliest_due..=latest_due).contains(&due) => due,
            Some(due) => {
                let repaired = due.clamp(earliest_due, latest_due);
                repairs.push(format!(
                    "{RETRY_DUE_MS}={due} is outside the level's delays after the record was written: {repaired} instead"
                ));
                repaired
            }
            None => latest_due,
        };
        let first_failure_ms = number(FIRST_FAILURE_MS, &mut repairs).unwrap_or(written_at);
        let partition = number(ORIGINAL_PARTITION, &mut repairs)
            .and_then(|p| i32::try_from(p).ok())
            .unwrap_or(message.partition());
        let offset = number(ORIGINAL_OFFSET, &mut repairs).unwrap_or(message.offset());
        // An original timestamp after the retry record was written (or before
        // 1970) is not one; latencies are measured from it.
        let timestamp_ms = match number(ORIGINAL_TIMESTAMP_MS, &mut repairs) {
            Some(t) if (0..=written_at).contains(&t) => Some(t),
            Some(t) => {
                repairs.push(format!("{ORIGINAL_TIMESTAMP_MS}={t} is not a past time"));
                Some(written_at)
            }
            None => message.timestamp().to_millis(),
        };
        let state = RetryState {
            retry_count,
            original_error: text(ORIGINAL_ERROR).unwrap_or_default(),
            failed_at_ms: written_at,
            due_ms,
            first_failure_ms,
            origin: Origin {
                topic: text(ORIGINAL_TOPIC).unwrap_or_else(|| message.topic().to_string()),
                partition,
                offset,
                timestamp_ms,
            },
        };
        (state, repairs)
    }
}

/// The original headers of a record, without the retry bookkeeping: what a
/// dead letter keeps, and what a replay restores.
pub fn original_headers(headers: Vec<RawHeader>) -> Vec<RawHeader> {
    headers
        .into_iter()
        .filter(|(key, _)| !BOOKKEEPING_HEADERS.contains(&key.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::message::{OwnedMessage, Timestamp};

    fn record(headers: OwnedHeaders, timestamp: i64) -> OwnedMessage {
        OwnedMessage::new(
            Some(b"{\"payment_id\":\"pay-1\"}".to_vec()),
            Some(b"pay-1".to_vec()),
            "payments-retry-2".into(),
            Timestamp::CreateTime(timestamp),
            1,
            17,
            Some(headers),
        )
    }

    fn live() -> OwnedMessage {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "payment-id",
                value: Some(b"pay-1".as_slice()),
            })
            .insert(Header {
                key: "raw",
                value: Some([0xff, 0x00].as_slice()),
            })
            .insert(Header::<&[u8]> {
                key: "no-value",
                value: None,
            });
        OwnedMessage::new(
            Some(b"{}".to_vec()),
            Some(b"pay-1".to_vec()),
            "payments".into(),
            Timestamp::CreateTime(1_000),
            2,
            40,
            Some(headers),
        )
    }

    #[test]
    fn a_retry_record_keeps_the_original_headers_and_adds_the_bookkeeping() {
        let original = live();
        let state = RetryState::first(&original, "network_timeout", 5_000, Duration::from_secs(5));
        let headers = state.headers(&raw_headers(&original).unwrap());
        let retried = record(headers, state.failed_at_ms);
        let raw = raw_headers(&retried).unwrap();
        assert_eq!(
            original_headers(raw.clone()),
            raw_headers(&original).unwrap()
        );
        let (read, repairs) =
            RetryState::read(&retried, 1, Duration::from_secs(5)..=Duration::from_secs(5));
        assert!(repairs.is_empty(), "{repairs:?}");
        assert_eq!(read, state);
        assert_eq!(read.due_ms, 10_000);
        assert_eq!(read.origin.partition, 2);
        assert_eq!(read.origin.offset, 40);
        // The next hop replaces the bookkeeping instead of piling it up.
        let next = read.next("bank_api_down", 11_000, Duration::from_secs(15));
        let hopped = record(next.headers(&raw), next.failed_at_ms);
        let hopped_raw = raw_headers(&hopped).unwrap();
        assert_eq!(
            hopped_raw.iter().filter(|(k, _)| k == RETRY_COUNT).count(),
            1
        );
        let (read, _) = RetryState::read(
            &hopped,
            2,
            Duration::from_secs(15)..=Duration::from_secs(15),
        );
        assert_eq!(read.retry_count, 2);
        assert_eq!(read.first_failure_ms, 5_000);
        assert_eq!(read.due_ms, 26_000);
    }

    #[test]
    fn absurd_or_missing_headers_are_repaired_never_trusted() {
        let absurd = OwnedHeaders::new()
            .insert(Header {
                key: RETRY_COUNT,
                value: Some(b"9999".as_slice()),
            })
            .insert(Header {
                key: RETRY_DUE_MS,
                value: Some(b"99999999999999".as_slice()),
            })
            .insert(Header {
                key: ORIGINAL_OFFSET,
                value: Some(b"not a number".as_slice()),
            });
        let (state, repairs) = RetryState::read(
            &record(absurd, 50_000),
            2,
            Duration::from_secs(15)..=Duration::from_secs(15),
        );
        assert_eq!(state.retry_count, 2, "the topic's level wins");
        assert_eq!(state.due_ms, 65_000, "capped at written + longest delay");
        assert_eq!(state.origin.offset, 17, "falls back to the record's own");
        assert_eq!(repairs.len(), 3, "{repairs:?}");

        let (state, repairs) = RetryState::read(
            &record(OwnedHeaders::new(), 50_000),
            3,
            Duration::from_secs(60)..=Duration::from_secs(60),
        );
        assert_eq!(state.retry_count, 3);
        assert_eq!(state.due_ms, 110_000);
        assert!(repairs.is_empty(), "missing is not absurd: {repairs:?}");

        // Too early, or at the ends of i64: clamped, no overflow anywhere.
        for due in [
            b"0".as_slice(),
            b"-9223372036854775808",
            b"9223372036854775807",
        ] {
            let headers = OwnedHeaders::new().insert(Header {
                key: RETRY_DUE_MS,
                value: Some(due),
            });
            let (state, repairs) = RetryState::read(
                &record(headers, 50_000),
                1,
                Duration::from_secs(4)..=Duration::from_secs(6),
            );
            assert!((54_000..=56_000).contains(&state.due_ms), "{state:?}");
            assert_eq!(repairs.len(), 1, "{repairs:?}");
        }
    }

    #[test]
    fn retry_topics_follow_the_seed() {
        assert_eq!(
            retry_topic("payment_requests", 1),
            "payment_requests-retry-1"
        );
    }
}

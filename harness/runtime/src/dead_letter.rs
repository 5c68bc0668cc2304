//! The dead-letter record: one format for every lab's DLQ (4.2, 4.3, 4.4).
//!
//! It is seed 000's record, unchanged, so the seed's analyzer reads it as is:
//! `original_topic`, `original_partition`, `original_offset`, `original_key`,
//! `original_value`, `error_reason`, `error_timestamp`, `failed_processing_attempts`.
//! To that it adds, in the same snake_case style, seed 001's and 003's richer
//! fields (error type and class, consumer group, first and last failure times,
//! retry count), and what the seeds forget: the **exact original bytes**.
//!
//! The seed decodes the value as UTF-8 and would crash on anything else; a DLQ is
//! exactly where the bytes that are *not* valid text end up. So the key, the value
//! and every header are also kept as base64, and `null` (absent) is kept apart from
//! `""` (empty). A replay rebuilds the original record byte for byte.
//!
//! The format is documented as a JSON Schema in `harness/schemas/dead-letter.v1.schema.json`
//! and pinned by an insta snapshot.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rdkafka::message::{Header, Message, OwnedHeaders};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::clock::format_rfc3339_ms;
use crate::gateway::PaymentError;
use crate::headers::{raw_headers, RawHeader};

/// Bumped on any incompatible change to the format.
pub const SCHEMA_VERSION: u32 = 1;

/// The default DLQ topic of an input topic (seed 000: `payment_requests-dlq`).
pub fn dlq_topic(input_topic: &str) -> String {
    format!("{input_topic}-dlq")
}

/// One original header, byte-exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginalHeader {
    pub key: String,
    /// Base64 of the value; `null` for a header with no value.
    pub value_base64: Option<String>,
}

/// A dead-letter record's JSON value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    // --- seed 000, unchanged -------------------------------------------------
    pub original_topic: String,
    pub original_partition: i32,
    pub original_offset: i64,
    /// The key as text; `null` when absent or not valid UTF-8 (see `original_key_base64`).
    pub original_key: Option<String>,
    /// The value as text; `null` when absent or not valid UTF-8 (see `original_value_base64`).
    pub original_value: Option<String>,
    /// The error as a message, e.g. `Payment processing failed: network_timeout`.
    pub error_reason: String,
    /// Seconds since the epoch (seed 000's `int(datetime.now().timestamp())`).
    pub error_timestamp: i64,
    pub failed_processing_attempts: u32,
    /// Seed 000 Lab 4.3's field: how many retries the payment had before it was
    /// dead-lettered (the seed's `'failed_after_retries': retry_count - 1`; 0 for
    /// one sent straight to the DLQ), the same number as `retry_count`, kept under
    /// the seed's name too so its tools find it. Always written; a record written
    /// before it existed has none (`None`): read it with
    /// [`DeadLetter::retries_before_dlq`].
    #[serde(default)]
    pub failed_after_retries: Option<u32>,

    // --- seeds 001 and 003, same style ---------------------------------------
    /// `transient`, `permanent` or `poison`.
    pub error_type: String,
    /// The machine-readable cause, e.g. `network_timeout`, `malformed_json`
    /// (seed 001's `errorType`, an exception class there).
    pub error_class: String,
    /// More about the error when there is more to say, e.g. the JSON parser's
    /// message for a malformed payment.
    pub error_detail: Option<String>,
    pub consumer_group: String,
    /// RFC 3339 UTC.
    pub first_failure_timestamp: String,
    pub last_failure_timestamp: String,
    /// Retries after the first attempt: `failed_processing_attempts - 1`.
    pub retry_count: u32,

    // --- the exact original record -------------------------------------------
    /// The original record's Kafka timestamp (ms), if it had one.
    pub original_timestamp_ms: Option<i64>,
    /// Base64 of the key; `null` = the record had no key.
    pub original_key_base64: Option<String>,
    /// Base64 of the value; `null` = no value (a tombstone), `""` = an empty value.
    pub original_value_base64: Option<String>,
    pub original_headers: Vec<OriginalHeader>,
    pub schema_version: u32,
}

/// When and how often a record failed, and who was consuming it.
#[derive(Debug, Clone)]
pub struct FailureContext<'a> {
    pub consumer_group: &'a str,
    pub attempts: u32,
    pub first_failure_ms: i64,
    pub last_failure_ms: i64,
}

#[derive(Debug, Error)]
pub enum DeadLetterError {
    #[error("not a dead-letter record: {0}")]
    NotADeadLetter(String),
    #[error("dead-letter field {field} is not valid base64: {reason}")]
    BadBase64 { field: &'static str, reason: String },
}

impl DeadLetter {
    /// The dead letter of `message`, which failed with `error`.
    pub fn from_message<M: Message>(
        message: &M,
        error: &PaymentError,
        context: &FailureContext<'_>,
    ) -> DeadLetter {
        // rdkafka 0.39 panics on a header key that is not UTF-8 (legal in Kafka,
        // and exactly the kind of record that ends up here). A dead letter must
        // never take the consumer down, so such headers are dropped and said so.
        let (headers, header_note) = match raw_headers(message) {
            Ok(headers) => (encode_headers(headers), None),
            Err(error) => (
                Vec::new(),
                Some(format!("original headers dropped: {error}")),
            ),
        };
        let detail = match (error.detail(), header_note) {
            (Some(detail), Some(note)) => Some(format!("{detail}; {note}")),
            (detail, note) => detail.map(str::to_string).or(note),
        };
        DeadLetter {
            original_topic: message.topic().to_string(),
            original_partition: message.partition(),
            original_offset: message.offset(),
            original_key: message
                .key()
                .and_then(|k| std::str::from_utf8(k).ok())
                .map(str::to_string),
            original_value: message
                .payload()
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::to_string),
            error_reason: error.to_string(),
            error_timestamp: context.last_failure_ms.div_euclid(1000),
            failed_processing_attempts: context.attempts,
            failed_after_retries: Some(context.attempts.saturating_sub(1)),
            error_type: error.error_type().to_string(),
            error_class: error.reason().to_string(),
            error_detail: detail,
            consumer_group: context.consumer_group.to_string(),
            first_failure_timestamp: format_rfc3339_ms(context.first_failure_ms),
            last_failure_timestamp: format_rfc3339_ms(context.last_failure_ms),
            retry_count: context.attempts.saturating_sub(1),
            original_timestamp_ms: message.timestamp().to_millis(),
            original_key_base64: message.key().map(|k| BASE64.encode(k)),
            original_value_base64: message.payload().map(|v| BASE64.encode(v)),
            original_headers: headers,
            schema_version: SCHEMA_VERSION,
        }
    }

    /// For a record that failed on a retry topic: point the dead letter at where
    /// the payment first was (not at the retry topic), date the first failure from
    /// the retry bookkeeping, and keep only the original headers, so a replay
    /// restores the record the producer wrote.
    pub fn with_retry_origin(mut self, state: &crate::retry::RetryState) -> DeadLetter {
        self.original_topic = state.origin.topic.clone();
        self.original_partition = state.origin.partition;
        self.original_offset = state.origin.offset;
        self.original_timestamp_ms = state.origin.timestamp_ms;
        self.first_failure_timestamp = format_rfc3339_ms(state.first_failure_ms);
        self.original_headers
            .retain(|h| !crate::retry::BOOKKEEPING_HEADERS.contains(&h.key.as_str()));
        self
    }

    /// Retries before the DLQ: `failed_after_retries`, or for a record written
    /// before that field existed, `retry_count` (the same number).
    pub fn retries_before_dlq(&self) -> u32 {
        self.failed_after_retries.unwrap_or(self.retry_count)
    }

    /// Parse a DLQ record's value. Anything else (foreign formats, truncated
    /// JSON, bytes that are not text) is an error, never a panic.
    pub fn parse(value: Option<&[u8]>) -> Result<DeadLetter, DeadLetterError> {
        let bytes = value.ok_or_else(|| DeadLetterError::NotADeadLetter("no value".into()))?;
        serde_json::from_slice(bytes)
            .map_err(|error| DeadLetterError::NotADeadLetter(error.to_string()))
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain strings and numbers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The original key, byte for byte (`None`: it had none).
    pub fn original_key_bytes(&self) -> Result<Option<Vec<u8>>, DeadLetterError> {
        decode("original_key_base64", self.original_key_base64.as_deref())
    }

    /// The original value, byte for byte (`None`: it had none).
    pub fn original_value_bytes(&self) -> Result<Option<Vec<u8>>, DeadLetterError> {
        decode(
            "original_value_base64",
            self.original_value_base64.as_deref(),
        )
    }

    /// The original headers, byte for byte, in their original order.
    pub fn original_header_bytes(&self) -> Result<Vec<RawHeader>, DeadLetterError> {
        self.original_headers
            .iter()
            .map(|h| {
                Ok((
                    h.key.clone(),
                    decode("original_headers.value_base64", h.value_base64.as_deref())?,
                ))
            })
            .collect()
    }

    /// The headers of the DLQ record itself: seed 000's three, plus where it came
    /// from, so tools can filter without parsing the value.
    pub fn kafka_headers(&self) -> OwnedHeaders {
        let timestamp = self.error_timestamp.to_string();
        let partition = self.original_partition.to_string();
        let offset = self.original_offset.to_string();
        [
            ("error-reason", self.error_reason.as_str()),
            ("error-timestamp", timestamp.as_str()),
            ("original-topic", self.original_topic.as_str()),
            ("error-type", self.error_type.as_str()),
            ("original-partition", partition.as_str()),
            ("original-offset", offset.as_str()),
        ]
        .into_iter()
        .fold(OwnedHeaders::new(), |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            })
        })
    }
}

fn encode_headers(headers: Vec<RawHeader>) -> Vec<OriginalHeader> {
    headers
        .into_iter()
        .map(|(key, value)| OriginalHeader {
            key,
            value_base64: value.map(|v| BASE64.encode(v)),
        })
        .collect()
}

fn decode(field: &'static str, text: Option<&str>) -> Result<Option<Vec<u8>>, DeadLetterError> {
    text.map(|t| BASE64.decode(t))
        .transpose()
        .map_err(|error| DeadLetterError::BadBase64 {
            field,
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::TransientReason;
    use crate::payments::{PoisonError, PoisonKind};
    use rdkafka::message::{OwnedMessage, Timestamp};

    fn message(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: Option<OwnedHeaders>,
    ) -> OwnedMessage {
        OwnedMessage::new(
            value.map(<[u8]>::to_vec),
            key.map(<[u8]>::to_vec),
            "payment_requests".into(),
            Timestamp::CreateTime(1_767_225_600_123),
            2,
            41,
            headers,
        )
    }

    fn context() -> FailureContext<'static> {
        FailureContext {
            consumer_group: "dlq-payment-processor",
            attempts: 1,
            first_failure_ms: 1_767_225_601_000,
            last_failure_ms: 1_767_225_601_500,
        }
    }

    #[test]
    fn the_record_format_is_stable() {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "payment-id",
                value: Some(b"pay-7-000001".as_slice()),
            })
            .insert(Header::<&[u8]> {
                key: "trace",
                value: None,
            });
        let original = message(
            Some(b"pay-7-000001"),
            Some(br#"{"payment_id":"pay-7-000001"}"#),
            Some(headers),
        );
        let dead = DeadLetter::from_message(
            &original,
            &PaymentError::Transient(TransientReason::BankApiDown),
            &context(),
        );
        insta::assert_json_snapshot!(dead);
    }

    #[test]
    fn a_record_written_before_failed_after_retries_still_parses() {
        let original = message(Some(b"pay-7-000001"), Some(b"{}"), None);
        let error = PaymentError::Transient(TransientReason::BankApiDown);
        let exhausted = FailureContext {
            attempts: 4,
            ..context()
        };
        let new = DeadLetter::from_message(&original, &error, &exhausted);
        assert_eq!(
            new.failed_after_retries,
            Some(3),
            "the seed's retry_count - 1"
        );
        let mut old = serde_json::to_value(&new).unwrap();
        old.as_object_mut().unwrap().remove("failed_after_retries");
        let parsed = DeadLetter::parse(Some(&serde_json::to_vec(&old).unwrap())).unwrap();
        assert_eq!(parsed.failed_after_retries, None);
        assert_eq!(parsed.retries_before_dlq(), 3);
        assert_eq!(DeadLetter::parse(Some(&new.to_json())).unwrap(), new);
    }

    #[test]
    fn bytes_that_are_not_text_come_back_exactly() {
        let value = [b'{', 0xE9, 0xFF, 0x00, b'}'];
        let original = message(Some(&[0x80, 0x81]), Some(&value), None);
        let error = PaymentError::Poison(PoisonError {
            kind: PoisonKind::NotUtf8,
            detail: "x".into(),
        });
        let dead = DeadLetter::from_message(&original, &error, &context());
        assert_eq!(dead.original_value, None, "not UTF-8, so no text form");
        assert_eq!(dead.original_key, None);
        let parsed = DeadLetter::parse(Some(&dead.to_json())).unwrap();
        assert_eq!(parsed.original_value_bytes().unwrap(), Some(value.to_vec()));
        assert_eq!(parsed.original_key_bytes().unwrap(), Some(vec![0x80, 0x81]));
        assert_eq!(parsed.error_type, "poison");
        assert_eq!(parsed.error_class, "not_utf8");
    }

    #[test]
    fn an_empty_value_is_not_a_missing_value() {
        let empty = DeadLetter::from_message(
            &message(None, Some(b""), None),
            &PaymentError::Transient(TransientReason::RateLimited),
            &context(),
        );
        let missing = DeadLetter::from_message(
            &message(None, None, None),
            &PaymentError::Transient(TransientReason::RateLimited),
            &context(),
        );
        assert_eq!(empty.original_value_bytes().unwrap(), Some(Vec::new()));
        assert_eq!(missing.original_value_bytes().unwrap(), None);
        assert_eq!(empty.original_key_base64, None);
    }

    #[test]
    fn foreign_records_are_errors_not_panics() {
        for value in [
            None,
            Some(&b""[..]),
            Some(b"{\"error\": 1}"),
            Some(&[0xFF, 0xFE][..]),
            Some(b"[1,2"),
        ] {
            assert!(DeadLetter::parse(value).is_err(), "{value:?}");
        }
    }

    #[test]
    fn the_json_schema_lists_every_field_as_required() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../schemas/dead-letter.v1.schema.json")).unwrap();
        let mut required: Vec<String> = serde_json::from_value(schema["required"].clone()).unwrap();
        required.sort();
        let dead = DeadLetter::from_message(
            &message(None, None, None),
            &PaymentError::Transient(TransientReason::RateLimited),
            &context(),
        );
        let mut fields: Vec<String> = serde_json::to_value(dead)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        fields.sort();
        // Added after records were written without it: always written, never
        // required of a record (readers fall back, see `retries_before_dlq`).
        let optional = ["failed_after_retries"];
        let must_have: Vec<String> = fields
            .iter()
            .filter(|f| !optional.contains(&f.as_str()))
            .cloned()
            .collect();
        assert_eq!(required, must_have);
        let mut described: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        described.sort();
        assert_eq!(described, fields);
    }
}

//! Record headers as raw bytes, read without trusting them.
//!
//! Headers come from other people's code: a key that is not UTF-8 is legal in
//! Kafka, and rdkafka 0.39 panics on one. Every header the workshop reads goes
//! through [`raw_headers`], which turns that panic into an error, so a consumer
//! never goes down for a header. The dead-letter format, the retry headers and
//! the replay provenance all build on it.

use rdkafka::message::{Headers, Message};

/// A header as raw bytes: its key, and its value (`None`: a header without value).
pub type RawHeader = (String, Option<Vec<u8>>);

/// The headers of a record, byte for byte, in order. `Err` when rdkafka cannot
/// read them: rdkafka 0.39 panics on a header key that is not UTF-8 (legal in
/// Kafka), and a consumer must never go down for a header.
pub fn raw_headers<M: Message>(message: &M) -> Result<Vec<RawHeader>, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default()
    }))
    .map_err(|_| "a header key is not UTF-8".to_string())
}

/// The value of the last header named `key`, if it is there and readable.
pub fn header_value<M: Message>(message: &M, key: &str) -> Option<Vec<u8>> {
    raw_headers(message)
        .ok()?
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v)
}

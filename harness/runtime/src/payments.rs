//! Synthetic payments: a deterministic, seeded stream of realistic payment JSON,
//! with poison pills mixed in at configurable rates.
//!
//! Determinism is the point. The same seed always gives the same bytes, so a test
//! knows in advance which payments are poison and (with the [`crate::gateway`])
//! which will fail, and can account for every single one afterwards.

use crate::clock::format_rfc3339_ms;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A payment request as it travels on `payment_requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub payment_id: String,
    pub customer_id: String,
    pub amount: f64,
    pub currency: String,
    pub merchant: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// The ways a record can be poison: bytes no amount of retrying will ever process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoisonKind {
    MalformedJson,
    NotUtf8,
    EmptyValue,
    MissingFields,
}

impl PoisonKind {
    pub const ALL: [PoisonKind; 4] = [
        PoisonKind::MalformedJson,
        PoisonKind::NotUtf8,
        PoisonKind::EmptyValue,
        PoisonKind::MissingFields,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PoisonKind::MalformedJson => "malformed_json",
            PoisonKind::NotUtf8 => "not_utf8",
            PoisonKind::EmptyValue => "empty_value",
            PoisonKind::MissingFields => "missing_fields",
        }
    }
}

/// Why a value is not a payment. Every consumer in the workshop parses through
/// [`parse_payment`], so poison is recognised the same way everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("poison pill ({}): {detail}", kind.as_str())]
pub struct PoisonError {
    pub kind: PoisonKind,
    pub detail: String,
}

/// Parse a record value into a payment, classifying what is wrong when it is not one.
/// Never panics, whatever the bytes.
pub fn parse_payment(value: Option<&[u8]>) -> Result<Payment, PoisonError> {
    let poison = |kind, detail: String| PoisonError { kind, detail };
    let bytes = match value {
        None | Some([]) => {
            return Err(poison(
                PoisonKind::EmptyValue,
                "the record has no value".into(),
            ))
        }
        Some(bytes) => bytes,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|error| poison(PoisonKind::NotUtf8, format!("value is not UTF-8: {error}")))?;
    let json: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        poison(
            PoisonKind::MalformedJson,
            format!("value is not JSON: {error}"),
        )
    })?;
    serde_json::from_value(json)
        .map_err(|error| poison(PoisonKind::MissingFields, format!("not a payment: {error}")))
}

/// How often each kind of poison pill appears (each a probability in 0..=1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoisonRates {
    pub malformed_json: f64,
    pub not_utf8: f64,
    pub empty_value: f64,
    pub missing_fields: f64,
}

impl PoisonRates {
    pub const NONE: PoisonRates = PoisonRates {
        malformed_json: 0.0,
        not_utf8: 0.0,
        empty_value: 0.0,
        missing_fields: 0.0,
    };

    /// The same rate for each of the four kinds.
    pub fn each(rate: f64) -> PoisonRates {
        PoisonRates {
            malformed_json: rate,
            not_utf8: rate,
            empty_value: rate,
            missing_fields: rate,
        }
    }

    fn rate_of(&self, kind: PoisonKind) -> f64 {
        match kind {
            PoisonKind::MalformedJson => self.malformed_json,
            PoisonKind::NotUtf8 => self.not_utf8,
            PoisonKind::EmptyValue => self.empty_value,
            PoisonKind::MissingFields => self.missing_fields,
        }
    }
}

/// One record ready to produce. The key is always the payment id, even for
/// poison, so every record (and its fate) can be traced back to a payment.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentRecord {
    pub payment_id: String,
    pub value: Vec<u8>,
    pub poison: Option<PoisonKind>,
}

impl PaymentRecord {
    pub fn key(&self) -> &[u8] {
        self.payment_id.as_bytes()
    }
}

const CURRENCIES: [&str; 4] = ["USD", "EUR", "GBP", "JPY"];
const MERCHANTS: [&str; 8] = [
    "Acme Books",
    "Blue Bottle Coffee",
    "City Transit",
    "Globex Electronics",
    "Initech Software",
    "Northwind Grocers",
    "Pied Piper Storage",
    "Umbrella Pharmacy",
];
/// 2026-01-01T00:00:00Z: synthetic payments are created after this instant.
const EPOCH_MS: i64 = 1_767_225_600_000;

/// A seeded payment generator.
#[derive(Debug, Clone)]
pub struct PaymentGenerator {
    pub seed: u64,
    pub poison: PoisonRates,
}

impl PaymentGenerator {
    pub fn new(seed: u64) -> PaymentGenerator {
        PaymentGenerator {
            seed,
            poison: PoisonRates::NONE,
        }
    }

    pub fn with_poison(mut self, poison: PoisonRates) -> PaymentGenerator {
        self.poison = poison;
        self
    }

    /// The payment id of the `index`-th record: unique per seed and stable.
    pub fn payment_id(&self, index: usize) -> String {
        format!("pay-{}-{index:06}", self.seed)
    }

    /// The first `count` records. Record `i` is the same whatever `count` is.
    pub fn records(&self, count: usize) -> Vec<PaymentRecord> {
        (0..count).map(|index| self.record(index)).collect()
    }

    /// The `index`-th record, computed on its own (no shared RNG state), so records
    /// can be generated lazily or in parallel and still agree.
    pub fn record(&self, index: usize) -> PaymentRecord {
        let payment_id = self.payment_id(index);
        let mut rng = ChaCha8Rng::seed_from_u64(stable_hash(self.seed, &payment_id));
        let payment = Payment {
            payment_id: payment_id.clone(),
            customer_id: format!("cust-{:05}", rng.random_range(1..=20_000)),
            amount: (rng.random_range(100..=250_000) as f64) / 100.0,
            currency: (*CURRENCIES.choose(&mut rng).unwrap_or(&"USD")).to_string(),
            merchant: (*MERCHANTS.choose(&mut rng).unwrap_or(&"Acme Books")).to_string(),
            created_at: format_rfc3339_ms(
                EPOCH_MS + index as i64 * 1_000 + rng.random_range(0..1_000),
            ),
        };
        let poison = self.pick_poison(rng.random::<f64>());
        let value = match poison {
            None => serde_json::to_vec(&payment).unwrap_or_default(),
            Some(kind) => poison_bytes(kind, &payment),
        };
        PaymentRecord {
            payment_id,
            value,
            poison,
        }
    }

    fn pick_poison(&self, roll: f64) -> Option<PoisonKind> {
        let mut threshold = 0.0;
        for kind in PoisonKind::ALL {
            threshold += self.poison.rate_of(kind);
            if roll < threshold {
                return Some(kind);
            }
        }
        None
    }
}

/// Realistic poison: the kinds of broken bytes that really reach payment topics.
fn poison_bytes(kind: PoisonKind, payment: &Payment) -> Vec<u8> {
    match kind {
        // A truncated write: valid JSON up to a point, then nothing.
        PoisonKind::MalformedJson => {
            let json = serde_json::to_string(payment).unwrap_or_default();
            json.as_bytes()[..json.len() / 2].to_vec()
        }
        // Latin-1 text from a legacy system: 0xE9 is 'é' there and invalid UTF-8 here.
        PoisonKind::NotUtf8 => {
            let mut bytes = format!(
                "{{\"payment_id\":\"{}\",\"merchant\":\"Caf",
                payment.payment_id
            )
            .into_bytes();
            bytes.extend_from_slice(&[0xE9, 0xFF, 0xFE]);
            bytes.extend_from_slice(b"\"}");
            bytes
        }
        PoisonKind::EmptyValue => Vec::new(),
        // Valid JSON from a producer on an older schema: no amount, no currency.
        PoisonKind::MissingFields => serde_json::to_vec(&serde_json::json!({
            "payment_id": payment.payment_id,
            "customer_id": payment.customer_id,
        }))
        .unwrap_or_default(),
    }
}

/// A hash that is stable across Rust versions and platforms (FNV-1a over the seed
/// and the id), unlike `std`'s `DefaultHasher`. Ground truth must never drift.
pub fn stable_hash(seed: u64, id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.to_le_bytes().iter().chain(id.as_bytes()) {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = PaymentGenerator::new(7)
            .with_poison(PoisonRates::each(0.05))
            .records(200);
        let b = PaymentGenerator::new(7)
            .with_poison(PoisonRates::each(0.05))
            .records(200);
        assert_eq!(a, b);
        let c = PaymentGenerator::new(8).records(200);
        assert_ne!(a[0].value, c[0].value);
    }

    #[test]
    fn a_record_does_not_depend_on_how_many_are_generated() {
        let generator = PaymentGenerator::new(3).with_poison(PoisonRates::each(0.1));
        assert_eq!(generator.records(50)[42], generator.record(42));
    }

    #[test]
    fn healthy_records_parse_and_poison_is_classified_as_generated() {
        let records = PaymentGenerator::new(11)
            .with_poison(PoisonRates::each(0.1))
            .records(1000);
        for kind in PoisonKind::ALL {
            assert!(
                records.iter().any(|r| r.poison == Some(kind)),
                "no {kind:?} in 1000 records"
            );
        }
        for record in &records {
            match (record.poison, parse_payment(Some(&record.value))) {
                (None, Ok(payment)) => assert_eq!(payment.payment_id, record.payment_id),
                (Some(kind), Err(error)) => assert_eq!(error.kind, kind, "{}", record.payment_id),
                (expected, got) => panic!(
                    "{}: expected {expected:?}, parsed {got:?}",
                    record.payment_id
                ),
            }
        }
        let poison = records.iter().filter(|r| r.poison.is_some()).count();
        assert!(
            (300..=500).contains(&poison),
            "{poison} poison of 1000 at 4 x 10%"
        );
    }

    #[test]
    fn a_missing_value_is_empty_poison() {
        assert_eq!(
            parse_payment(None).unwrap_err().kind,
            PoisonKind::EmptyValue
        );
    }

    #[test]
    fn a_payment_snapshot() {
        let record = PaymentGenerator::new(7).record(0);
        insta::assert_snapshot!(String::from_utf8(record.value).unwrap());
    }
}

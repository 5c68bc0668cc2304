//! The simulated payment gateway: for every (payment, attempt) a deterministic
//! verdict, so the expected fate of every payment is known before it is produced.
//!
//! A payment is born into one [`PaymentClass`], decided by a stable hash of its id
//! (which carries the generator's seed). A *transient* payment fails its first `failures` attempts and then
//! succeeds (the bank API came back); a *permanent* one fails every attempt (the
//! customer really is invalid); poison never even parses. A payment that parses
//! but fails validation (a negative amount, an unknown currency) is refused
//! before the bank is called, on every attempt: not retryable.
//!
//! | module | concern |
//! |---|---|
//! | this file | [`PaymentClass`], [`FailureMix`] and the [`Gateway`] itself |
//! | `errors` | [`PaymentError`] and its transient and permanent reasons |
//! | `faults` | [`Defect`] and [`FaultSwitches`]: faults switched on while a service runs |
//! | `validation` | [`validate`]: what no bank would take (amount, ISO 4217 currency) |

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::payments::{parse_payment, stable_hash, Payment, PoisonKind};
use crate::time_scale::TimeScale;

mod errors;
mod faults;
mod validation;

pub use errors::*;
pub use faults::*;
pub use validation::*;

/// What a payment is, from birth. The ground truth every grader compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "snake_case")]
pub enum PaymentClass {
    Healthy,
    /// Fails its first `failures` attempts with `reason`, then succeeds.
    Transient {
        reason: TransientReason,
        failures: u32,
    },
    Permanent {
        reason: PermanentReason,
    },
    Poison {
        kind: PoisonKind,
    },
}

impl PaymentClass {
    /// Will a consumer that makes at most `max_attempts` attempts process it?
    pub fn succeeds_within(self, max_attempts: u32) -> bool {
        match self {
            PaymentClass::Healthy => max_attempts >= 1,
            PaymentClass::Transient { failures, .. } => failures < max_attempts,
            PaymentClass::Permanent { .. } | PaymentClass::Poison { .. } => false,
        }
    }

    /// A short label for tables: `healthy`, `transient`, `permanent`, `poison`.
    pub fn label(self) -> &'static str {
        match self {
            PaymentClass::Healthy => "healthy",
            PaymentClass::Transient { .. } => "transient",
            PaymentClass::Permanent { .. } => "permanent",
            PaymentClass::Poison { .. } => "poison",
        }
    }
}

/// Which failures happen, how often, and how long transient ones last.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureMix {
    /// Share of (parseable) payments that fail transiently at first.
    pub transient_rate: f64,
    /// Share that fail permanently.
    pub permanent_rate: f64,
    pub transient_reasons: Vec<TransientReason>,
    pub permanent_reasons: Vec<PermanentReason>,
    /// A transient payment fails between `min` and `max` attempts (inclusive) before it clears.
    pub transient_failures: (u32, u32),
}

impl FailureMix {
    /// No failures at all: the baseline every slowdown is measured against.
    pub fn none() -> FailureMix {
        FailureMix {
            transient_rate: 0.0,
            permanent_rate: 0.0,
            ..FailureMix::seed_lab_4_1()
        }
    }

    /// Seed 000, Lab 4.1: 30% of payments fail, spread evenly over the seed's four
    /// failure types. Two of them (network_timeout, bank_api_down) are transient,
    /// the other two (invalid_customer, fraud_check_failed) permanent.
    pub fn seed_lab_4_1() -> FailureMix {
        FailureMix {
            transient_rate: 0.15,
            permanent_rate: 0.15,
            transient_reasons: vec![
                TransientReason::NetworkTimeout,
                TransientReason::BankApiDown,
            ],
            permanent_reasons: vec![
                PermanentReason::InvalidCustomer,
                PermanentReason::FraudCheckFailed,
            ],
            transient_failures: (1, 4),
        }
    }

    /// The mix a command line's `--failure-rate` means, the same for every binary so
    /// `produce-payments`' preview agrees with the consumers: seed 000 Lab 4.1's mix
    /// (its four reasons) at 30%, otherwise [`FailureMix::with_failure_rate`].
    pub fn from_rate(rate: f64) -> FailureMix {
        let rate = if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        if (rate - 0.3).abs() < 1e-9 {
            FailureMix::seed_lab_4_1()
        } else {
            FailureMix::with_failure_rate(rate)
        }
    }

    /// A mix with `rate` of failures, half transient and half permanent, over every reason.
    pub fn with_failure_rate(rate: f64) -> FailureMix {
        FailureMix {
            transient_rate: rate / 2.0,
            permanent_rate: rate / 2.0,
            transient_reasons: vec![
                TransientReason::NetworkTimeout,
                TransientReason::BankApiDown,
                TransientReason::FraudServiceUnavailable,
                TransientReason::RateLimited,
            ],
            permanent_reasons: vec![
                PermanentReason::InvalidCustomer,
                PermanentReason::InsufficientFunds,
                PermanentReason::FraudCheckFailed,
                PermanentReason::CurrencyNotSupported,
            ],
            transient_failures: (1, 4),
        }
    }
}

const GATEWAY_SALT: u64 = 0x9e37_79b9_7f4a_7c15;

/// The simulated gateway every lab calls to "charge" a payment.
///
/// It needs no seed of its own: a payment's class is a hash of its id, and ids
/// already carry the generator's seed (`pay-<seed>-<index>`). So a consumer in
/// another process, given only the failure mix, agrees with the producer's ground
/// truth.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub mix: FailureMix,
    /// Real-world time one call takes (seed 000: 100 ms), before scaling.
    pub processing_time: Duration,
    pub time_scale: TimeScale,
    /// Shared by every clone: flip a switch and every worker sees it.
    pub switches: Arc<FaultSwitches>,
}

impl Gateway {
    pub fn new(mix: FailureMix) -> Gateway {
        Gateway {
            mix,
            processing_time: Duration::from_millis(100),
            time_scale: TimeScale::REAL,
            switches: Arc::default(),
        }
    }

    pub fn with_processing_time(mut self, real: Duration) -> Gateway {
        self.processing_time = real;
        self
    }

    pub fn with_time_scale(mut self, time_scale: TimeScale) -> Gateway {
        self.time_scale = time_scale;
        self
    }

    /// The class a *parseable* payment with this id was born into.
    pub fn class_of(&self, payment_id: &str) -> PaymentClass {
        // A constant salt keeps the gateway's roll independent of the generator's
        // rolls for the same payment.
        let mut rng = ChaCha8Rng::seed_from_u64(stable_hash(GATEWAY_SALT, payment_id));
        let roll: f64 = rng.random();
        if roll < self.mix.transient_rate && !self.mix.transient_reasons.is_empty() {
            let reason =
                self.mix.transient_reasons[rng.random_range(0..self.mix.transient_reasons.len())];
            let (min, max) = self.mix.transient_failures;
            let failures = rng.random_range(min.max(1)..=max.max(min.max(1)));
            PaymentClass::Transient { reason, failures }
        } else if roll < self.mix.transient_rate + self.mix.permanent_rate
            && !self.mix.permanent_reasons.is_empty()
        {
            let reason =
                self.mix.permanent_reasons[rng.random_range(0..self.mix.permanent_reasons.len())];
            PaymentClass::Permanent { reason }
        } else {
            PaymentClass::Healthy
        }
    }

    /// The verdict for attempt number `attempt` (1-based) at a parsed payment.
    pub fn verdict(&self, payment: &Payment, attempt: u32) -> Result<(), PaymentError> {
        // Input validation comes first, as in a real service: an invalid payment
        // never reaches the conversion code (the defect) or the bank.
        validate(payment)?;
        // Our own bug fails before we even call the bank; a simulated outage is the
        // bank failing. Neither changes the payment's class (its ground truth).
        if self.switches.zero_decimal_bug() && Defect::ZeroDecimalCurrency.affects(payment) {
            return Err(PaymentError::Defect(Defect::ZeroDecimalCurrency));
        }
        if self.switches.simulate_transient_error() {
            return Err(PaymentError::Transient(TransientReason::BankApiDown));
        }
        match self.class_of(&payment.payment_id) {
            PaymentClass::Transient { reason, failures } if attempt <= failures => {
                Err(PaymentError::Transient(reason))
            }
            PaymentClass::Permanent { reason } => Err(PaymentError::Permanent(reason)),
            _ => Ok(()),
        }
    }

    /// The scaled processing time of one call.
    pub fn call_duration(&self) -> Duration {
        self.time_scale.scale(self.processing_time)
    }

    /// Parse and validate: what is refused before the bank is called (so it costs
    /// no processing time), poison and invalid payments alike.
    pub fn check(value: Option<&[u8]>) -> Result<Payment, PaymentError> {
        let payment = parse_payment(value)?;
        validate(&payment)?;
        Ok(payment)
    }

    /// One call from async code: parse, validate, "talk to the bank" for the
    /// processing time, and return the verdict.
    pub async fn process(
        &self,
        value: Option<&[u8]>,
        attempt: u32,
    ) -> Result<Payment, PaymentError> {
        let payment = Gateway::check(value)?;
        tokio::time::sleep(self.call_duration()).await;
        self.verdict(&payment, attempt).map(|()| payment)
    }

    /// The same call from a blocking thread (Lab 4.1's consumer is deliberately
    /// synchronous, like the seed's Python).
    pub fn process_blocking(
        &self,
        value: Option<&[u8]>,
        attempt: u32,
    ) -> Result<Payment, PaymentError> {
        let payment = Gateway::check(value)?;
        std::thread::sleep(self.call_duration());
        self.verdict(&payment, attempt).map(|()| payment)
    }
}

impl fmt::Display for FailureMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0}% transient + {:.0}% permanent",
            self.transient_rate * 100.0,
            self.permanent_rate * 100.0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::PaymentGenerator;

    fn payment(id: &str) -> Payment {
        Payment {
            payment_id: id.into(),
            customer_id: "c".into(),
            amount: 1.0,
            currency: "EUR".into(),
            merchant: "m".into(),
            created_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[test]
    fn transient_payments_clear_after_their_failures_and_permanent_never_do() {
        let gateway = Gateway::new(FailureMix::with_failure_rate(0.5));
        let ids: Vec<String> = (0..500)
            .map(|i| PaymentGenerator::new(5).payment_id(i))
            .collect();
        let mut seen = (0, 0, 0);
        for id in &ids {
            let p = payment(id);
            match gateway.class_of(id) {
                PaymentClass::Transient { failures, .. } => {
                    seen.0 += 1;
                    for attempt in 1..=failures {
                        assert!(gateway.verdict(&p, attempt).unwrap_err().is_retryable());
                    }
                    assert!(gateway.verdict(&p, failures + 1).is_ok());
                }
                PaymentClass::Permanent { .. } => {
                    seen.1 += 1;
                    assert!(!gateway.verdict(&p, 99).unwrap_err().is_retryable());
                }
                PaymentClass::Healthy => {
                    seen.2 += 1;
                    assert!(gateway.verdict(&p, 1).is_ok());
                }
                PaymentClass::Poison { .. } => unreachable!("the gateway never invents poison"),
            }
        }
        assert!(seen.0 > 80 && seen.1 > 80 && seen.2 > 180, "{seen:?}");
    }

    #[test]
    fn invalid_payments_fail_validation_on_every_attempt_and_are_not_retryable() {
        let gateway = Gateway::new(FailureMix::none());
        // The switch would make a valid payment fail transiently: validation
        // still comes first, so seed 003's payment goes to the DLQ at once.
        gateway.switches.set_simulate_transient_error(true);
        let seed_003 = br#"{"payment_id": "ORD-INVALID", "customer_id": "c", "amount": -50,
            "currency": "EUR", "merchant": "m", "created_at": "2026-01-01T00:00:00.000Z"}"#;
        for attempt in 1..=4 {
            let error = Gateway::check(Some(seed_003)).unwrap_err();
            assert!(!error.is_retryable());
            assert_eq!(
                (error.error_type(), error.reason()),
                ("validation", "invalid_amount")
            );
            assert_eq!(
                error.to_string(),
                "Payment failed validation: invalid_amount"
            );
            assert!(error.detail().is_some_and(|d| d.contains("-50")));
            let mut p = payment("ORD-INVALID");
            p.currency = "ZZZZZZ".into();
            let error = gateway.verdict(&p, attempt).unwrap_err();
            assert_eq!(error.reason(), "invalid_currency");
            assert!(!error.is_retryable());
        }
    }

    #[test]
    fn the_seed_mix_fails_about_thirty_percent_with_the_seeds_four_reasons() {
        let gateway = Gateway::new(FailureMix::seed_lab_4_1());
        let failing = (0..2000)
            .filter(|i| gateway.class_of(&format!("pay-{i}")) != PaymentClass::Healthy)
            .count();
        assert!((500..=700).contains(&failing), "{failing} of 2000");
    }

    #[test]
    fn no_failures_means_every_payment_is_healthy() {
        let gateway = Gateway::new(FailureMix::none());
        assert!((0..500).all(|i| gateway.class_of(&format!("pay-{i}")) == PaymentClass::Healthy));
    }

    #[test]
    fn retry_budgets_decide_the_fate() {
        let transient = PaymentClass::Transient {
            reason: TransientReason::BankApiDown,
            failures: 2,
        };
        assert!(!transient.succeeds_within(2));
        assert!(transient.succeeds_within(3));
        assert!(PaymentClass::Healthy.succeeds_within(1));
        assert!(!PaymentClass::Permanent {
            reason: PermanentReason::InvalidCustomer
        }
        .succeeds_within(100));
    }
}

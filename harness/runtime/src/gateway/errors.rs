//! Why one attempt at one payment failed: transient (worth retrying later) or
//! permanent (no retry will fix it).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::faults::Defect;
use super::validation::ValidationError;
use crate::payments::PoisonError;

/// Failures that clear on their own: worth retrying later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransientReason {
    NetworkTimeout,
    BankApiDown,
    FraudServiceUnavailable,
    RateLimited,
}

/// Failures no retry will fix: they need a human, or a bug fix and a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermanentReason {
    InvalidCustomer,
    InsufficientFunds,
    FraudCheckFailed,
    CurrencyNotSupported,
}

impl TransientReason {
    pub fn as_str(self) -> &'static str {
        match self {
            TransientReason::NetworkTimeout => "network_timeout",
            TransientReason::BankApiDown => "bank_api_down",
            TransientReason::FraudServiceUnavailable => "fraud_service_unavailable",
            TransientReason::RateLimited => "rate_limited",
        }
    }
}

impl PermanentReason {
    pub fn as_str(self) -> &'static str {
        match self {
            PermanentReason::InvalidCustomer => "invalid_customer",
            PermanentReason::InsufficientFunds => "insufficient_funds",
            PermanentReason::FraudCheckFailed => "fraud_check_failed",
            PermanentReason::CurrencyNotSupported => "currency_not_supported",
        }
    }
}

/// Why one attempt at one payment failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PaymentError {
    #[error("Payment processing failed: {}", .0.as_str())]
    Transient(TransientReason),
    #[error("Payment processing failed: {}", .0.as_str())]
    Permanent(PermanentReason),
    /// The message is stable per kind (so a DLQ can be grouped by reason); the
    /// parser's detail is in [`PaymentError::detail`].
    #[error("Payment rejected as a poison pill: {}", .0.kind.as_str())]
    Poison(#[from] PoisonError),
    /// A bug in the service itself ([`FaultSwitches`]): not retryable, because
    /// retrying the same code gives the same answer.
    #[error("Payment rejected by a defect in the service: {}", .0.as_str())]
    Defect(Defect),
    /// It parses, but no bank would take it (seed 003's negative amount): not
    /// retryable, the same payment fails the same way every time. The message
    /// is stable per reason; what was wrong is in [`PaymentError::detail`].
    #[error("Payment failed validation: {}", .0.reason.as_str())]
    Invalid(#[from] ValidationError),
}

impl PaymentError {
    /// Worth retrying? Only transient failures are; retrying poison, an invalid
    /// payment or a permanent failure only burns time (Lab 4.1 shows how much).
    pub fn is_retryable(&self) -> bool {
        matches!(self, PaymentError::Transient(_))
    }

    /// The machine-readable reason, e.g. `network_timeout` or `malformed_json`.
    pub fn reason(&self) -> &'static str {
        match self {
            PaymentError::Transient(reason) => reason.as_str(),
            PaymentError::Permanent(reason) => reason.as_str(),
            PaymentError::Poison(poison) => poison.kind.as_str(),
            PaymentError::Defect(defect) => defect.as_str(),
            PaymentError::Invalid(invalid) => invalid.reason.as_str(),
        }
    }

    /// Extra detail beyond the reason (for poison: what the parser said; for an
    /// invalid payment: which value was refused).
    pub fn detail(&self) -> Option<&str> {
        match self {
            PaymentError::Poison(poison) => Some(&poison.detail),
            PaymentError::Invalid(invalid) => Some(&invalid.detail),
            _ => None,
        }
    }

    /// The failure's type: `transient`, `permanent`, `poison`, `defect` or
    /// `validation`.
    pub fn error_type(&self) -> &'static str {
        match self {
            PaymentError::Transient(_) => "transient",
            PaymentError::Permanent(_) => "permanent",
            PaymentError::Poison(_) => "poison",
            PaymentError::Defect(_) => "defect",
            PaymentError::Invalid(_) => "validation",
        }
    }
}

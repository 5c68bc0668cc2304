//! Faults an operator (or a test) switches on and off while a service runs, and
//! the defect a bad deploy brings (Lab 4.4's incident).

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::payments::Payment;

/// A bug in *our own* service, not an answer from the bank: while it is deployed,
/// every payment it touches fails, on every attempt, and no retry can help. Only a
/// fix and a replay of the dead letters can (seed 002: "if there is a bug in the
/// service, it will affect all incoming events").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// A new minor-units conversion divides by 100 for every currency, and rejects
    /// the zero-decimal ones (JPY) as "amount has fractional minor units".
    ZeroDecimalCurrency,
}

impl Defect {
    pub fn as_str(self) -> &'static str {
        match self {
            Defect::ZeroDecimalCurrency => "zero_decimal_currency_bug",
        }
    }

    /// Does the bug hit this payment?
    pub fn affects(self, payment: &Payment) -> bool {
        match self {
            Defect::ZeroDecimalCurrency => payment.currency == "JPY",
        }
    }
}

/// Faults an operator (or a test) switches on and off while the service runs.
/// One set is shared, through an `Arc`, by every clone of a [`Gateway`].
#[derive(Debug, Default)]
pub struct FaultSwitches {
    /// Seed 003's `simulate-transient-error`: every call fails with
    /// `bank_api_down` while it is on.
    simulate_transient_error: AtomicBool,
    /// The deployed bug of Lab 4.4 ([`Defect::ZeroDecimalCurrency`]).
    zero_decimal_bug: AtomicBool,
}

impl FaultSwitches {
    pub fn simulate_transient_error(&self) -> bool {
        self.simulate_transient_error.load(Ordering::Relaxed)
    }

    pub fn set_simulate_transient_error(&self, enabled: bool) {
        self.simulate_transient_error
            .store(enabled, Ordering::Relaxed);
    }

    pub fn zero_decimal_bug(&self) -> bool {
        self.zero_decimal_bug.load(Ordering::Relaxed)
    }

    pub fn set_zero_decimal_bug(&self, deployed: bool) {
        self.zero_decimal_bug.store(deployed, Ordering::Relaxed);
    }
}

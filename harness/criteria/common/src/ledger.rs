//! Exact accounting: every payment produced is processed, dead-lettered, or lost,
//! and the ledger says which, against the ground truth.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use harness::gateway::PaymentClass;
use harness::outcomes::{Outcome, OutcomeStatus};

/// What a pattern is expected to do with each payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedFate {
    Processed,
    /// It cannot be processed: a DLQ pattern dead-letters it, Lab 4.1 skips (loses) it.
    Unprocessable,
}

/// The ground truth for a run: each payment's class and the expected fate under a
/// consumer that makes at most `max_attempts` attempts.
#[derive(Debug, Clone)]
pub struct Ledger {
    expected: BTreeMap<String, (PaymentClass, ExpectedFate)>,
    /// Attempts a payment gets: 1 + the number of retry levels.
    max_attempts: u32,
}

/// What a correct consumer does with one payment's record, given where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The attempt there succeeds.
    Processed,
    /// The attempt fails and the payment goes on to this retry level.
    Retry(u32),
    /// The attempt fails, and retrying cannot help or no level is left.
    DeadLetter,
}

/// The accounting of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Accounting {
    pub expected: usize,
    /// Processed at least once.
    pub processed: usize,
    pub dead_lettered: usize,
    /// Committed past without processing or dead-lettering: lost for good.
    pub skipped: usize,
    /// No outcome at all (yet).
    pub missing: Vec<String>,
    /// Outcomes beyond the first for the same payment (at-least-once redelivery).
    pub duplicates: usize,
    /// Payments whose final outcome is not the expected fate.
    pub wrong_fate: Vec<String>,
    /// Outcomes for payment ids this run never produced.
    pub unknown: usize,
}

impl Accounting {
    /// Lost payments: skipped plus missing. The number every resilient pattern must keep at zero.
    pub fn lost(&self) -> usize {
        self.skipped + self.missing.len()
    }
}

impl Ledger {
    pub fn new(classes: BTreeMap<String, PaymentClass>, max_attempts: u32) -> Ledger {
        let expected = classes
            .into_iter()
            .map(|(id, class)| {
                let fate = if class.succeeds_within(max_attempts) {
                    ExpectedFate::Processed
                } else {
                    ExpectedFate::Unprocessable
                };
                (id, (class, fate))
            })
            .collect();
        Ledger {
            expected,
            max_attempts,
        }
    }

    /// Where the record of `payment_id` at `level` (0: the live topic, N: retry
    /// level N, where it gets attempt N + 1) must go. The graders use it to know,
    /// while a forward target is down, which records no commit may pass yet.
    pub fn route_at(&self, payment_id: &str, level: u32) -> Option<Route> {
        let class = self.class_of(payment_id)?;
        let attempt = level + 1;
        Some(if class.succeeds_within(attempt) {
            Route::Processed
        } else if matches!(class, PaymentClass::Transient { .. }) && attempt < self.max_attempts {
            Route::Retry(level + 1)
        } else {
            Route::DeadLetter
        })
    }

    pub fn len(&self) -> usize {
        self.expected.len()
    }

    pub fn is_empty(&self) -> bool {
        self.expected.is_empty()
    }

    pub fn class_of(&self, payment_id: &str) -> Option<PaymentClass> {
        self.expected.get(payment_id).map(|(class, _)| *class)
    }

    pub fn expected_fate(&self, payment_id: &str) -> Option<ExpectedFate> {
        self.expected.get(payment_id).map(|(_, fate)| *fate)
    }

    /// Payment ids of one class label.
    pub fn ids_of(&self, label: &str) -> Vec<&str> {
        self.expected
            .iter()
            .filter(|(_, (class, _))| class.label() == label)
            .map(|(id, _)| id.as_str())
            .collect()
    }

    /// Has every payment reached some outcome? `Err` says how far along we are.
    pub fn settled(&self, outcomes: &[Outcome]) -> Result<(), String> {
        let accounting = self.account(outcomes);
        if accounting.missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} payments have an outcome",
                accounting.expected - accounting.missing.len(),
                accounting.expected
            ))
        }
    }

    /// Account for every payment. A payment processed by anyone counts as processed,
    /// even if another attempt later gave up on it (at-least-once).
    pub fn account(&self, outcomes: &[Outcome]) -> Accounting {
        let mut by_payment: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
        let mut accounting = Accounting {
            expected: self.expected.len(),
            ..Accounting::default()
        };
        for outcome in outcomes {
            if self.expected.contains_key(&outcome.payment_id) {
                by_payment
                    .entry(&outcome.payment_id)
                    .or_default()
                    .push(outcome);
            } else {
                accounting.unknown += 1;
            }
        }
        for (id, (_, fate)) in &self.expected {
            let Some(seen) = by_payment.get(id.as_str()) else {
                accounting.missing.push(id.clone());
                continue;
            };
            accounting.duplicates += seen.len() - 1;
            let has = |status| seen.iter().any(|o| o.status == status);
            let final_fate = if has(OutcomeStatus::Processed) {
                accounting.processed += 1;
                ExpectedFate::Processed
            } else if has(OutcomeStatus::DeadLettered) || has(OutcomeStatus::Parked) {
                accounting.dead_lettered += 1;
                ExpectedFate::Unprocessable
            } else {
                accounting.skipped += 1;
                ExpectedFate::Unprocessable
            };
            if final_fate != *fate {
                accounting.wrong_fate.push(id.clone());
            }
        }
        accounting
    }
}

/// Payments reported dead-lettered (decided) before `ms`: while the DLQ did not
/// exist, that is a report made before the DLQ's ack.
pub fn dead_lettered_before(outcomes: &[Outcome], ms: i64) -> Vec<String> {
    let early: BTreeSet<&str> = outcomes
        .iter()
        .filter(|o| o.status == OutcomeStatus::DeadLettered && o.finished_at_ms < ms)
        .map(|o| o.payment_id.as_str())
        .collect();
    early.into_iter().map(str::to_string).collect()
}

/// Payments reported processed (decided) at or before `ms`.
pub fn processed_by(outcomes: &[Outcome], ms: i64) -> BTreeSet<String> {
    outcomes
        .iter()
        .filter(|o| o.status == OutcomeStatus::Processed && o.finished_at_ms <= ms)
        .map(|o| o.payment_id.clone())
        .collect()
}

/// Payments reported dead-lettered more than once from `since_ms` on. With no
/// crash in that time, each dead letter is reported once.
pub fn dead_lettered_twice(outcomes: &[Outcome], since_ms: i64) -> Vec<String> {
    let mut reports: BTreeMap<&str, usize> = BTreeMap::new();
    for outcome in outcomes {
        if outcome.status == OutcomeStatus::DeadLettered && outcome.finished_at_ms >= since_ms {
            *reports.entry(outcome.payment_id.as_str()).or_default() += 1;
        }
    }
    reports
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, _)| id.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use harness::gateway::{PermanentReason, TransientReason};

    fn outcome(id: &str, status: OutcomeStatus) -> Outcome {
        Outcome {
            payment_id: id.into(),
            status,
            attempts: 1,
            error: None,
            worker: "w".into(),
            partition: 0,
            offset: 0,
            produced_at_ms: 0,
            finished_at_ms: 1,
        }
    }

    #[test]
    fn every_payment_is_accounted_for_exactly() {
        let classes = BTreeMap::from([
            ("a".to_string(), PaymentClass::Healthy),
            (
                "b".to_string(),
                PaymentClass::Transient {
                    reason: TransientReason::BankApiDown,
                    failures: 5,
                },
            ),
            (
                "c".to_string(),
                PaymentClass::Permanent {
                    reason: PermanentReason::InvalidCustomer,
                },
            ),
            ("d".to_string(), PaymentClass::Healthy),
        ]);
        let ledger = Ledger::new(classes, 3);
        let outcomes = vec![
            outcome("a", OutcomeStatus::Processed),
            outcome("a", OutcomeStatus::Processed),
            outcome("b", OutcomeStatus::Skipped),
            outcome("c", OutcomeStatus::DeadLettered),
            outcome("zz", OutcomeStatus::Processed),
        ];
        let accounting = ledger.account(&outcomes);
        assert_eq!(accounting.processed, 1);
        assert_eq!(accounting.dead_lettered, 1);
        assert_eq!(accounting.skipped, 1);
        assert_eq!(accounting.missing, vec!["d".to_string()]);
        assert_eq!(accounting.lost(), 2);
        assert_eq!(accounting.duplicates, 1);
        assert_eq!(accounting.unknown, 1);
        assert!(accounting.wrong_fate.is_empty());
        assert!(ledger.settled(&outcomes).is_err());
    }

    #[test]
    fn routes_follow_the_class_and_the_levels_left() {
        let transient = |failures| PaymentClass::Transient {
            reason: TransientReason::NetworkTimeout,
            failures,
        };
        let classes = BTreeMap::from([
            ("healthy".to_string(), PaymentClass::Healthy),
            ("twice".to_string(), transient(2)),
            ("forever".to_string(), transient(9)),
            (
                "permanent".to_string(),
                PaymentClass::Permanent {
                    reason: PermanentReason::InvalidCustomer,
                },
            ),
        ]);
        // Three retry levels: four attempts.
        let ledger = Ledger::new(classes.clone(), 4);
        assert_eq!(ledger.route_at("healthy", 0), Some(Route::Processed));
        assert_eq!(ledger.route_at("twice", 0), Some(Route::Retry(1)));
        assert_eq!(ledger.route_at("twice", 1), Some(Route::Retry(2)));
        assert_eq!(ledger.route_at("twice", 2), Some(Route::Processed));
        assert_eq!(ledger.route_at("forever", 3), Some(Route::DeadLetter));
        assert_eq!(ledger.route_at("permanent", 0), Some(Route::DeadLetter));
        assert_eq!(ledger.route_at("nobody", 0), None);
        // No retry level (Lab 4.2): every failure is a dead letter.
        let dlq_only = Ledger::new(classes, 1);
        assert_eq!(dlq_only.route_at("twice", 0), Some(Route::DeadLetter));
        assert_eq!(dlq_only.route_at("healthy", 0), Some(Route::Processed));
    }
}

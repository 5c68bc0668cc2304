//! The ground truth of a Lab 4.4 run: for every payment, where the first pass
//! (bug deployed) must put it, and where a replay (bug fixed) must take it.
//!
//! It is computed from the seed alone, before anything runs, so a grader can
//! hold the service to it payment by payment.

use std::collections::BTreeMap;

use harness::gateway::{Defect, PaymentClass};
use harness::payments::parse_payment;
use harness::workload::Workload;
use serde::Serialize;

/// Where the first pass must put a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstPass {
    Processed,
    /// Into the DLQ, with this `error_class`.
    DeadLettered {
        error_class: String,
    },
}

/// Where a replay must take a dead-lettered payment, once the bug is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterReplay {
    Processed,
    /// It fails again (poison, a permanent failure, retries exhausted): parked.
    Parked,
}

#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    pub class: PaymentClass,
    /// Hit by the deployed bug on the first pass.
    pub hit_by_bug: bool,
    pub first_pass: FirstPass,
    /// `None` for a payment the first pass processed (nothing to replay).
    pub after_replay: Option<AfterReplay>,
}

/// Every payment's expected fate.
#[derive(Debug, Clone, Serialize)]
pub struct GroundTruth {
    pub payments: BTreeMap<String, Expected>,
}

impl GroundTruth {
    /// For `workload`, run with `levels` retry levels and the bug deployed
    /// throughout the first pass.
    pub fn of(workload: &Workload, levels: u32) -> GroundTruth {
        let attempts = levels + 1;
        let payments = workload
            .records
            .iter()
            .map(|record| {
                let class = workload.class_of(record);
                let hit_by_bug = parse_payment(Some(&record.value))
                    .is_ok_and(|payment| Defect::ZeroDecimalCurrency.affects(&payment));
                // A replay starts at retry level 1 (attempt 2), so it gets the
                // same total number of attempts as a first pass.
                let succeeds = class.succeeds_within(attempts);
                let first_pass = if hit_by_bug {
                    FirstPass::DeadLettered {
                        error_class: Defect::ZeroDecimalCurrency.as_str().into(),
                    }
                } else if succeeds {
                    FirstPass::Processed
                } else {
                    FirstPass::DeadLettered {
                        error_class: error_class(class).into(),
                    }
                };
                let after_replay = match first_pass {
                    FirstPass::Processed => None,
                    FirstPass::DeadLettered { .. } if succeeds => Some(AfterReplay::Processed),
                    FirstPass::DeadLettered { .. } => Some(AfterReplay::Parked),
                };
                (
                    record.payment_id.clone(),
                    Expected {
                        class,
                        hit_by_bug,
                        first_pass,
                        after_replay,
                    },
                )
            })
            .collect();
        GroundTruth { payments }
    }

    /// Payment ids whose expectation passes `keep`.
    pub fn ids(&self, keep: impl Fn(&Expected) -> bool) -> Vec<String> {
        self.payments
            .iter()
            .filter(|(_, e)| keep(e))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Payments the first pass must dead-letter.
    pub fn dead_lettered(&self) -> Vec<String> {
        self.ids(|e| matches!(e.first_pass, FirstPass::DeadLettered { .. }))
    }

    /// Payments hit by the bug: what a replay filtered on the bug brings back.
    pub fn hit_by_bug(&self) -> Vec<String> {
        self.ids(|e| e.hit_by_bug)
    }
}

/// The `error_class` a dead letter of a payment of `class` carries.
fn error_class(class: PaymentClass) -> &'static str {
    match class {
        PaymentClass::Healthy => "none",
        PaymentClass::Transient { reason, .. } => reason.as_str(),
        PaymentClass::Permanent { reason } => reason.as_str(),
        PaymentClass::Poison { kind } => kind.as_str(),
    }
}

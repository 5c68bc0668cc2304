//! A workload: the payments a scenario produces, together with the ground truth
//! of what each one is. Built from a seed, so a grader can recompute it anywhere.

use std::collections::BTreeMap;

use crate::gateway::{FailureMix, Gateway, PaymentClass};
use crate::payments::{PaymentGenerator, PaymentRecord, PoisonRates};
use crate::time_scale::TimeScale;

#[derive(Debug, Clone)]
pub struct Workload {
    pub records: Vec<PaymentRecord>,
    pub gateway: Gateway,
}

impl Workload {
    /// `count` payments from `seed`, with `poison` pills and the gateway's `mix` of failures.
    pub fn new(seed: u64, count: usize, poison: PoisonRates, mix: FailureMix) -> Workload {
        Workload {
            records: PaymentGenerator::new(seed)
                .with_poison(poison)
                .records(count),
            gateway: Gateway::new(mix),
        }
    }

    pub fn with_time_scale(mut self, time_scale: TimeScale) -> Workload {
        self.gateway = self.gateway.with_time_scale(time_scale);
        self
    }

    /// The class of one record: poison if its bytes are, else what the gateway says.
    /// (A generated payment never fails the gateway's validation, so it needs no
    /// class of its own here: `gateway::validation`'s tests hold the generator to that.)
    pub fn class_of(&self, record: &PaymentRecord) -> PaymentClass {
        match record.poison {
            Some(kind) => PaymentClass::Poison { kind },
            None => self.gateway.class_of(&record.payment_id),
        }
    }

    /// Ground truth for every payment, by id.
    pub fn classes(&self) -> BTreeMap<String, PaymentClass> {
        self.records
            .iter()
            .map(|record| (record.payment_id.clone(), self.class_of(record)))
            .collect()
    }

    /// How many payments of each class label (`healthy`, `transient`, ...).
    pub fn class_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for record in &self.records {
            *counts.entry(self.class_of(record).label()).or_insert(0) += 1;
        }
        counts
    }
}

//! What a finished run observed: [`Settled`], the input of every verdict.
//! Its own module so the run (`scenario`) and the readings of it (`lateness`,
//! `paths`, `verdicts`) all depend on it, never on each other.

use std::time::Duration;

use criteria::ledger::{Accounting, Ledger};
use harness::measure::rebalance::RebalanceEvent;
use harness::outcomes::Outcome;
use harness::producer::Delivered;
use harness::workload::Workload;
use lab_4_3_kit::pipeline::Pipeline;

/// What a finished run observed.
pub struct Settled {
    pub pipeline: Pipeline,
    pub workload: Workload,
    pub ledger: Ledger,
    pub delivered: Vec<Delivered>,
    pub outcomes: Vec<Outcome>,
    pub accounting: Accounting,
    /// From the first record the consumer polled to the last outcome.
    pub drain_time: Duration,
    /// How late each retry started after its due time, in µs (the levels' own measurement).
    pub lateness_us: Vec<i64>,
    /// Times a level paused a partition for a record that was not due.
    pub holds: u64,
    pub forward_failures: u64,
    /// Rebalances beyond each member's first assignment.
    pub unexpected_rebalances: Vec<RebalanceEvent>,
    /// Why the run stopped before every payment had an outcome, if it did.
    pub timed_out: Option<String>,
    /// Was the broker Apache Kafka (not the embedded mock)?
    pub real_kafka: bool,
}

impl Settled {
    /// Payments of each class, by id.
    pub fn ids_of(&self, label: &str) -> Vec<String> {
        self.ledger
            .ids_of(label)
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

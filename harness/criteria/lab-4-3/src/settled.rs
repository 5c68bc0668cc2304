//! What a finished run observed: [`Settled`], the input of every verdict.
//! Its own module so the run (`scenario`) and the readings of it (`lateness`,
//! `paths`, `verdicts`) all depend on it, never on each other.

use std::time::Duration;

use criteria::ledger::{Accounting, Ledger};
use harness::measure::rebalance::RebalanceEvent;
use harness::outcomes::Outcome;
use harness::producer::Delivered;
use harness::workload::Workload;
use lab_4_3_kit::exercise_time::ExerciseCall;
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
    /// The calls into the exercise's code that kept a worker from polling for
    /// a while (the kit's measurement): what tells a retry late because the
    /// code waited from one late because the machine was busy.
    pub in_exercise: Vec<ExerciseCall>,
    /// Times a level paused a partition for a record that was not due.
    pub holds: u64,
    pub forward_failures: u64,
    /// Rebalances beyond each member's first assignment.
    pub unexpected_rebalances: Vec<RebalanceEvent>,
    /// Why the run stopped before every payment had an outcome, if it did.
    pub timed_out: Option<String>,
    /// How long it waited then: the payments without an outcome were not
    /// processed within this (not lost: nobody committed past them unseen).
    pub gave_up_after: Option<Duration>,
    /// Was the broker Apache Kafka (not the embedded mock)?
    pub real_kafka: bool,
}

impl Settled {
    /// How many ms the exercise's own code (the toolbox's broker waits taken
    /// out) kept `level`'s worker from polling within `[from_ms, to_ms]`, and
    /// the function that took most of them. Only `hold_until_due` does: a
    /// level calls it in its poll loop, one record at a time, while its
    /// `handle_failure` calls run in their records' tasks, concurrently, and
    /// the loop goes on polling meanwhile.
    pub fn blocked_ms(&self, level: u32, from_ms: i64, to_ms: i64) -> (i64, Option<&'static str>) {
        let calls = self
            .in_exercise
            .iter()
            .filter(|c| c.level == level && c.function == "hold_until_due");
        let longest = calls
            .clone()
            .max_by_key(|c| c.own_overlap_ms(from_ms, to_ms))
            .filter(|c| c.own_overlap_ms(from_ms, to_ms) > 0)
            .map(|c| c.function);
        (
            calls.map(|c| c.own_overlap_ms(from_ms, to_ms)).sum(),
            longest,
        )
    }

    /// The retry consumer's `handle_failure` calls: the longest one's own time,
    /// and the total own time of all of them (ms).
    pub fn consumer_blocked(&self) -> (u128, u128) {
        let own = self
            .in_exercise
            .iter()
            .filter(|c| c.level == 0 && c.function == "handle_failure")
            .map(|c| c.own().as_millis());
        (own.clone().max().unwrap_or(0), own.sum())
    }

    /// The longest single call of `function`, if any was kept.
    pub fn longest_call(&self, function: &str) -> Option<&ExerciseCall> {
        self.in_exercise
            .iter()
            .filter(|c| c.function == function)
            .max_by_key(|c| c.own())
    }

    /// Payments of each class, by id.
    pub fn ids_of(&self, label: &str) -> Vec<String> {
        self.ledger
            .ids_of(label)
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

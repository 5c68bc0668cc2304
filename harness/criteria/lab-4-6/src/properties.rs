//! The tracker's properties, checked against a model.
//!
//! A script of operations on two partitions (start the next record, perhaps
//! after a gap in the offsets; finish any record in flight; revoke a partition,
//! which then starts again from its committed offset, as a new owner would) is
//! played on the student's tracker and on a model that keeps every record since
//! the last revocation. After every step, for both partitions:
//!
//! - **never past an unfinished record**: the committable offset is at most the
//!   lowest started offset that has not finished;
//! - **always up to the prefix**: it is exactly one past the last record of the
//!   contiguous finished run the partition started with (`None` before that).
//!
//! A few named scripts run first (their failures read best), then proptest
//! generates random interleavings, with a fixed seed so a grade is repeatable,
//! and shrinks a failure to a short script.

use std::fmt;

use lab_4_6_kit::OffsetTracker;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

/// Random scripts tried after the named ones.
pub const CASES: u32 = 2_000;

/// One step of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Start the partition's next record, `gap` offsets after the last one.
    Start { partition: i32, gap: i64 },
    /// Finish the `pick`-th (modulo how many) unfinished record of the partition.
    Finish { partition: i32, pick: usize },
    /// Revoke the partition; its next start is at its committed offset.
    Revoke { partition: i32 },
}

/// A property that did not hold, with the script that shows it.
#[derive(Debug, Clone)]
pub struct Violation {
    pub property: &'static str,
    /// The script, as the tracker saw it (`start p0@3`, `finish p0@3`, ...).
    pub script: Vec<String>,
    pub expected: String,
    pub observed: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "after [{}]: {} (expected {})",
            self.script.join(", "),
            self.observed,
            self.expected
        )
    }
}

/// What a passing check covered.
#[derive(Debug, Clone)]
pub struct Covered {
    pub named: usize,
    pub random: u32,
}

/// Check `T` against the model: the named scripts, then [`CASES`] random ones.
pub fn check<T: OffsetTracker>() -> Result<Covered, Violation> {
    let named = named_scripts();
    for script in &named {
        play::<T>(script)?;
    }
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&scripts(), |script| {
        play::<T>(&script).map_err(|violation| TestCaseError::fail(encode(&violation)))
    });
    match result {
        Ok(()) => Ok(Covered {
            named: named.len(),
            random: CASES,
        }),
        Err(TestError::Fail(_, minimal)) => {
            Err(play::<T>(&minimal).err().unwrap_or_else(|| Violation {
                property: "the tracker does not panic",
                script: describe(&minimal),
                expected: "a committable offset after every step".into(),
                observed: "a panic (see the test output)".into(),
            }))
        }
        Err(TestError::Abort(reason)) => Err(Violation {
            property: "the tracker can be checked",
            script: Vec::new(),
            expected: "the random scripts to run".into(),
            observed: format!("proptest aborted: {reason}"),
        }),
    }
}

fn encode(violation: &Violation) -> String {
    format!("{}: {violation}", violation.property)
}

/// Scripts of up to 60 steps on partitions 0 and 1; gaps are rare, as in Kafka.
fn scripts() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        5 => (0..2i32, prop_oneof![8 => Just(0i64), 1 => 1..4i64])
            .prop_map(|(partition, gap)| Step::Start { partition, gap }),
        5 => (0..2i32, 0..8usize).prop_map(|(partition, pick)| Step::Finish { partition, pick }),
        1 => (0..2i32).prop_map(|partition| Step::Revoke { partition }),
    ];
    proptest::collection::vec(step, 1..60)
}

/// The scripts every tracker is shown first: out-of-order finishes, gaps, and
/// a revocation followed by redelivery.
fn named_scripts() -> Vec<Vec<Step>> {
    let start = |partition| Step::Start { partition, gap: 0 };
    let gap = |partition, gap| Step::Start { partition, gap };
    let finish = |partition, pick| Step::Finish { partition, pick };
    vec![
        // 0, 1, 2 in flight; 2 and 1 finish before 0.
        vec![
            start(0),
            start(0),
            start(0),
            finish(0, 2),
            finish(0, 1),
            finish(0, 0),
        ],
        // Offsets 0, 2, 5 (gaps, as after transaction markers), finished 0, 5, 2.
        vec![
            start(0),
            gap(0, 1),
            gap(0, 2),
            finish(0, 0),
            finish(0, 1),
            finish(0, 0),
        ],
        // Revoked with 1 in flight, then redelivered from the commit (offset 1).
        vec![
            start(0),
            start(0),
            finish(0, 0),
            Step::Revoke { partition: 0 },
            start(0),
            start(0),
            finish(0, 1),
            finish(0, 0),
        ],
        // Two partitions do not mix.
        vec![
            start(0),
            start(1),
            finish(1, 0),
            start(1),
            finish(0, 0),
            finish(1, 0),
        ],
    ]
}

/// The model of one partition since its last revocation.
#[derive(Default, Clone)]
struct ModelPartition {
    records: Vec<(i64, bool)>,
    /// Where the next start goes (one past the last started, plus any gap).
    next: i64,
    /// Committed offset (the model's committable when revoked): a new owner
    /// starts there.
    committed: i64,
}

impl ModelPartition {
    fn committable(&self) -> Option<i64> {
        let prefix = self.records.iter().take_while(|(_, done)| *done).last();
        prefix.map(|(offset, _)| offset + 1)
    }

    fn lowest_unfinished(&self) -> Option<i64> {
        self.records.iter().find(|(_, done)| !done).map(|(o, _)| *o)
    }
}

/// Play `script` on a fresh `T` and on the model; the first difference is a violation.
pub fn play<T: OffsetTracker>(script: &[Step]) -> Result<(), Violation> {
    let mut tracker = T::default();
    let mut model = [ModelPartition::default(), ModelPartition::default()];
    let mut seen: Vec<String> = Vec::new();
    for step in script {
        match *step {
            Step::Start { partition, gap } => {
                let m = &mut model[partition as usize];
                let offset = m.next + gap;
                m.records.push((offset, false));
                m.next = offset + 1;
                tracker.started(partition, offset);
                seen.push(format!("start p{partition}@{offset}"));
            }
            Step::Finish { partition, pick } => {
                let m = &mut model[partition as usize];
                let unfinished: Vec<usize> =
                    (0..m.records.len()).filter(|&i| !m.records[i].1).collect();
                if unfinished.is_empty() {
                    continue;
                }
                let index = unfinished[pick % unfinished.len()];
                m.records[index].1 = true;
                let offset = m.records[index].0;
                tracker.finished(partition, offset);
                seen.push(format!("finish p{partition}@{offset}"));
            }
            Step::Revoke { partition } => {
                let m = &mut model[partition as usize];
                let committed = m.committable().unwrap_or(m.committed);
                *m = ModelPartition {
                    records: Vec::new(),
                    next: committed,
                    committed,
                };
                tracker.revoked(partition);
                seen.push(format!("revoke p{partition}"));
            }
        }
        for (partition, m) in model.iter().enumerate() {
            compare(&tracker, partition as i32, m, &seen)?;
        }
    }
    Ok(())
}

fn compare<T: OffsetTracker>(
    tracker: &T,
    partition: i32,
    model: &ModelPartition,
    script: &[String],
) -> Result<(), Violation> {
    let observed = tracker.committable(partition);
    let expected = model.committable();
    if observed == expected {
        return Ok(());
    }
    let show = |value: Option<i64>| match value {
        Some(offset) => format!("{offset}"),
        None => "None".to_string(),
    };
    let violation = |property: &'static str, why: String| Violation {
        property,
        script: script.to_vec(),
        expected: format!("committable(p{partition}) = {}{why}", show(expected)),
        observed: format!("committable(p{partition}) = {}", show(observed)),
    };
    let past_unfinished = match (observed, model.lowest_unfinished()) {
        (Some(commit), Some(unfinished)) => commit > unfinished,
        _ => false,
    };
    if past_unfinished || (observed.is_some() && expected.is_none()) {
        let why = match model.lowest_unfinished() {
            Some(unfinished) => format!(
                ": offset {unfinished} started and is not finished, so no commit may pass it"
            ),
            None => {
                ": nothing of this partition has finished since it was (re)assigned".to_string()
            }
        };
        Err(violation("never commits past an unfinished record", why))
    } else {
        Err(violation(
            "always commits the whole finished prefix",
            ": every record up to there is finished (offsets may skip numbers), so a smaller commit redelivers them".to_string(),
        ))
    }
}

/// The script as the tracker would see it, for a failure found by shrinking.
fn describe(script: &[Step]) -> Vec<String> {
    script.iter().map(|step| format!("{step:?}")).collect()
}

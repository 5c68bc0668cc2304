//! The counters the consumer and the levels of one process keep, readable
//! while they run (the live progress line, the report).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use harness::measure::summary::{table, Summary};

use crate::settlement::Handled;

/// Counters the consumer and the levels of one process keep, readable while they
/// run (the live progress line, the report).
#[derive(Debug)]
pub struct PipelineStats {
    pub processed: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Records forwarded into each retry level (index = level; 0 unused).
    pub sent_to_level: Vec<AtomicU64>,
    /// Records a level finished with: processed, or forwarded on (index = level).
    pub done_at_level: Vec<AtomicU64>,
    /// Forwards the broker did not acknowledge (each one rewound, not lost),
    /// by the level of the worker that forwarded (0: the retry consumer), so a
    /// test can wait for one level to meet an outage; see
    /// [`PipelineStats::forward_failures`] for the total.
    pub forward_failures_at_level: Vec<AtomicU64>,
    /// Where the records each worker took up went (index = level; 0 = the
    /// retry consumer on the live topic), for the table printed on stop. Each
    /// `handle_failure` call is booked from what the toolbox saw that call do
    /// (`settlement::Handled`), so concurrent calls never book each other's records.
    pub ledger: Ledger,
    /// Times a level paused a partition because its head was not due yet.
    pub holds: AtomicU64,
    /// Epoch ms of the first record the retry consumer polled (0: none yet).
    pub first_record_at_ms: AtomicI64,
    /// How late each retry started, in microseconds after its due time (negative:
    /// early, which must never happen).
    lateness_us: Mutex<Vec<i64>>,
    /// The calls into the exercise's code that took a while of their own (a
    /// level polls nothing during `hold_until_due`; a record in
    /// `handle_failure` holds its partition's commit).
    pub in_exercise: crate::exercise_time::ExerciseTime,
    /// The retry consumer's window: records held, parked, pauses, commits.
    pub window: std::sync::Arc<lab_4_6_kit::stats::WindowedStats>,
}

impl PipelineStats {
    pub fn new(levels: u32) -> PipelineStats {
        let counters = || (0..=levels).map(|_| AtomicU64::new(0)).collect();
        PipelineStats {
            processed: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            sent_to_level: counters(),
            done_at_level: counters(),
            forward_failures_at_level: counters(),
            ledger: Ledger::new(levels),
            holds: AtomicU64::new(0),
            first_record_at_ms: AtomicI64::new(0),
            lateness_us: Mutex::new(Vec::new()),
            in_exercise: Default::default(),
            window: Default::default(),
        }
    }

    /// Forwards the broker did not acknowledge, at every level.
    pub fn forward_failures(&self) -> u64 {
        self.forward_failures_at_level
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Records waiting at `level` right now, as far as this process knows.
    pub fn waiting_at(&self, level: u32) -> u64 {
        let get = |v: &Vec<AtomicU64>| {
            v.get(level as usize)
                .map(|c| c.load(Ordering::Relaxed))
                .unwrap_or(0)
        };
        get(&self.sent_to_level).saturating_sub(get(&self.done_at_level))
    }

    pub(crate) fn count(counters: &[AtomicU64], level: u32) {
        if let Some(counter) = counters.get(level as usize) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_lateness(&self, lateness_us: i64) {
        // Enough for any report; a service that runs for weeks must not grow
        // this list forever.
        const MAX_SAMPLES: usize = 100_000;
        if let Ok(mut samples) = self.lateness_us.lock() {
            if samples.len() < MAX_SAMPLES {
                samples.push(lateness_us);
            }
        }
    }

    /// Every lateness sample so far (µs after the due time).
    pub fn lateness_us(&self) -> Vec<i64> {
        self.lateness_us
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    pub(crate) fn note_first_record(&self, now_ms: i64) {
        let _ = self.first_record_at_ms.compare_exchange(
            0,
            now_ms,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    /// `processed 54 · retry-1 8 · retry-2 3 · retry-3 1 · DLQ 12`
    pub fn progress_line(&self, levels: u32) -> String {
        let mut line = format!("processed {}", self.processed.load(Ordering::Relaxed));
        for level in 1..=levels {
            line.push_str(&format!(" · retry-{level} {}", self.waiting_at(level)));
        }
        line.push_str(&format!(
            " · DLQ {}",
            self.dead_lettered.load(Ordering::Relaxed)
        ));
        line
    }
}

/// Per level: the records its worker took up, and what became of them.
#[derive(Debug)]
pub struct Ledger {
    /// Distinct records attempted (a redelivery after a rewind is not counted
    /// twice; a record held until due counts once it is attempted).
    pub taken: Vec<AtomicU64>,
    /// Processed: on the attempt, or by a retry in place in `handle_failure`.
    pub processed: Vec<AtomicU64>,
    /// Dead-lettered, the DLQ's ack received.
    pub dead_lettered: Vec<AtomicU64>,
    /// Failures `handle_failure` returned from with no acknowledged outcome and
    /// no rewind: the worker commits past them, so nobody ever sees them again.
    pub lost: Vec<AtomicU64>,
    /// `handle_failure` calls abandoned on Ctrl-C, their record uncommitted.
    pub abandoned: Vec<AtomicU64>,
}

impl Ledger {
    fn new(levels: u32) -> Ledger {
        let counters = || (0..=levels).map(|_| AtomicU64::new(0)).collect();
        Ledger {
            taken: counters(),
            processed: counters(),
            dead_lettered: counters(),
            lost: counters(),
            abandoned: counters(),
        }
    }
}

/// Counter `level` of `counters` (0 if there is no such level).
fn at(counters: &[AtomicU64], level: u32) -> u64 {
    counters
        .get(level as usize)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

impl PipelineStats {
    /// Book what a finished `handle_failure` call at `level` did with its
    /// record, from what the toolbox saw it do: processed in place, forwarded
    /// to the next level, or dead-lettered (each acknowledged), or rewound (it
    /// comes back). None of these, and the worker moves past it: `true`, lost.
    pub(crate) fn settle_failure(&self, level: u32, handled: &Handled) -> bool {
        let seen = |flag: &std::sync::atomic::AtomicBool| flag.load(Ordering::Relaxed);
        if handled.rewound() || seen(&handled.processed) || seen(&handled.forwarded) {
            return false;
        }
        let dead_lettered = seen(&handled.dead_lettered);
        let counter = if dead_lettered {
            &self.ledger.dead_lettered
        } else {
            &self.ledger.lost
        };
        PipelineStats::count(counter, level);
        !dead_lettered
    }

    /// Per level: taken, and its outcomes; the rest is not settled yet (rewound,
    /// or abandoned on Ctrl-C: uncommitted, so consumed again on the next run).
    fn settled(&self, level: u32) -> [u64; 6] {
        let ledger = &self.ledger;
        let taken = at(&ledger.taken, level);
        let outcomes = [
            at(&ledger.processed, level),
            at(&self.sent_to_level, level + 1),
            at(&ledger.dead_lettered, level),
            at(&ledger.lost, level),
        ];
        let unsettled = taken.saturating_sub(outcomes.iter().sum());
        let [processed, forwarded, dead, lost] = outcomes;
        [taken, processed, forwarded, dead, unsettled, lost]
    }

    /// The table `retry-consumer` prints on stop: where every payment it
    /// consumed went.
    pub fn consumer_summary(&self) -> String {
        let [taken, processed, forwarded, dead, unsettled, lost] = self.settled(0);
        Summary::new("retry-consumer, on stop")
            .row("payments consumed", taken)
            .row("processed (first try, or retried in place)", processed)
            .row("sent to retry level 1 (acknowledged)", forwarded)
            .row("dead-lettered (acknowledged by the DLQ)", dead)
            .row(
                "forwards not acknowledged (rewound, sent again)",
                self.forward_failures(),
            )
            .row(
                "not settled at stop (uncommitted: consumed again next run)",
                unsettled,
            )
            .row(
                "lost (failed, then committed past with no outcome)",
                lost_text(lost),
            )
            .render()
    }

    /// The table `retry-processor` prints on stop: one row per level it ran.
    pub fn levels_summary(&self, levels: &[u32]) -> String {
        let mut summary = table(&[
            "retry-processor, on stop",
            "retried",
            "processed",
            "sent on",
            "dead-lettered",
            "not settled",
            "lost",
        ]);
        for &level in levels {
            let [taken, processed, forwarded, dead, unsettled, lost] = self.settled(level);
            summary.add_row(vec![
                format!("level {level}"),
                taken.to_string(),
                processed.to_string(),
                forwarded.to_string(),
                dead.to_string(),
                unsettled.to_string(),
                lost.to_string(),
            ]);
        }
        let lost: u64 = levels.iter().map(|&l| at(&self.ledger.lost, l)).sum();
        format!(
            "{summary}\nsent on: to the next level (acknowledged); not settled: rewound or \
             stopped mid-retry, uncommitted, so retried again next run\nlost: {}",
            lost_text(lost)
        )
    }
}

/// How the tables word the lost count: a student must know where to look.
fn lost_text(lost: u64) -> String {
    if lost == 0 {
        "0".to_string()
    } else {
        format!(
            "{lost}: handle_failure returned with neither an acknowledged forward nor a \
             rewind (labs/lab-4-3/src/exercise.rs)"
        )
    }
}

//! The counters the consumer and the levels of one process keep, readable
//! while they run (the live progress line, the report).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

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
    /// Forwards the broker did not acknowledge (each one rewound, not lost).
    pub forward_failures: AtomicU64,
    /// Times a level paused a partition because its head was not due yet.
    pub holds: AtomicU64,
    /// Epoch ms of the first record the retry consumer polled (0: none yet).
    pub first_record_at_ms: AtomicI64,
    /// How late each retry started, in microseconds after its due time (negative:
    /// early, which must never happen).
    lateness_us: Mutex<Vec<i64>>,
    /// The calls into the exercise's code that kept a worker from polling a while.
    pub in_exercise: crate::exercise_time::ExerciseTime,
}

impl PipelineStats {
    pub fn new(levels: u32) -> PipelineStats {
        let counters = || (0..=levels).map(|_| AtomicU64::new(0)).collect();
        PipelineStats {
            processed: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            sent_to_level: counters(),
            done_at_level: counters(),
            forward_failures: AtomicU64::new(0),
            holds: AtomicU64::new(0),
            first_record_at_ms: AtomicI64::new(0),
            lateness_us: Mutex::new(Vec::new()),
            in_exercise: Default::default(),
        }
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

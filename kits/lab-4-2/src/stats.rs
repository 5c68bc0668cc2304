//! The counters a running DLQ consumer keeps, readable while it runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use lab_4_6_kit::stats::WindowedStats;

/// Counters a running consumer keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct DlqStats {
    /// The poll loop's and the window's counters: records consumed (a record
    /// handled again after a rewind is not consumed again), parked, pauses,
    /// commits, the first record's time.
    pub window: Arc<WindowedStats>,
    pub processed: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// DLQ produces the broker did not acknowledge (each one rewound, not lost).
    pub dlq_send_failures: AtomicU64,
    /// DLQ sends waiting for their answer right now (records are handled
    /// concurrently, so there can be many).
    pub dlq_sends_in_flight: AtomicU64,
    /// Failures `handle_failure` neither dead-lettered nor rewound: the consumer
    /// moves past them (and commits past them) with no outcome. That is lost.
    pub lost: AtomicU64,
    /// For each failure, the µs `handle_failure` took *of its own*: its whole
    /// time minus what it spent waiting in `send_to_dlq` and the outcome
    /// report. A sleep or a retry in place shows here, whatever the broker's
    /// latency (the velocity criterion's drain ratio cannot see a short one).
    pub failure_handling_us: std::sync::Mutex<Vec<u64>>,
}

impl DlqStats {
    /// The table printed when the consumer stops (Ctrl-C): where every payment
    /// it consumed went. Every consumed payment ends in exactly one of processed,
    /// dead-lettered, lost, or not settled yet (rewound after a DLQ send that was
    /// not acknowledged: this group consumes it again, nothing committed past it).
    pub fn summary(&self) -> String {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let (consumed, processed, dead_lettered, lost) = (
            count(&self.window.consumed),
            count(&self.processed),
            count(&self.dead_lettered),
            count(&self.lost),
        );
        // Counted from the others rather than kept, so the four always add up.
        let unsettled = consumed.saturating_sub(processed + dead_lettered + lost);
        harness::measure::summary::Summary::new("dlq-consumer, on stop")
            .row("payments consumed", consumed)
            .row("processed", processed)
            .row("dead-lettered (acknowledged by the DLQ)", dead_lettered)
            .row(
                "DLQ sends not acknowledged (rewound, sent again)",
                count(&self.dlq_send_failures),
            )
            .row(
                "not settled yet (rewound: consumed again next run)",
                unsettled,
            )
            .row(
                "lost (failed, then committed past with no outcome)",
                if lost == 0 {
                    "0".to_string()
                } else {
                    format!(
                        "{lost}: neither dead-lettered nor rewound by handle_failure \
                         (labs/lab-4-2/src/exercise.rs)"
                    )
                },
            )
            .row(
                "handle_failure's own time per failure (median)",
                match self.failure_handling_median_us() {
                    Some(us) => format!("{:.2} ms", us as f64 / 1000.0),
                    None => "no failure handled".to_string(),
                },
            )
            .render()
    }

    /// The median of [`DlqStats::failure_handling_us`] (`None`: no failure yet).
    pub fn failure_handling_median_us(&self) -> Option<u64> {
        // A copy, so the lock is not held while the median sorts.
        let samples = self.failure_handling_us.lock().ok()?.clone();
        harness::measure::median(samples)
    }
}

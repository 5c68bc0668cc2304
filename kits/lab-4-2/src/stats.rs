//! The counters a running DLQ consumer keeps, readable while it runs.

use std::sync::atomic::{AtomicI64, AtomicU64};

/// Counters a running consumer keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct DlqStats {
    pub processed: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// DLQ produces the broker did not acknowledge (each one rewound, not lost).
    pub dlq_send_failures: AtomicU64,
    /// Epoch ms of the first record polled (0: none yet).
    pub first_record_at_ms: AtomicI64,
    /// For each failure, the µs `handle_failure` took *of its own*: its whole
    /// time minus what it spent waiting in `send_to_dlq` and the outcome
    /// report. A sleep or a retry in place shows here, whatever the broker's
    /// latency (the velocity criterion's drain ratio cannot see a short one).
    pub failure_handling_us: std::sync::Mutex<Vec<u64>>,
}

impl DlqStats {
    /// The median of [`DlqStats::failure_handling_us`] (`None`: no failure yet).
    pub fn failure_handling_median_us(&self) -> Option<u64> {
        let mut samples = self.failure_handling_us.lock().ok()?.clone();
        samples.sort_unstable();
        samples.get(samples.len() / 2).copied()
    }
}

//! The counters a running windowed consumer keeps, readable while it runs.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Counters a running consumer keeps, readable while it runs.
#[derive(Debug, Default)]
pub struct WindowedStats {
    /// Records polled (a redelivery counts again: this is work, not payments).
    pub consumed: AtomicU64,
    pub processed: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Forwards (dead letters, outcome reports) the broker did not acknowledge:
    /// each was tried again in place, none was committed past.
    pub forward_failures: AtomicU64,
    /// Records whose work gave up unacknowledged (revoked or stopping): not
    /// committed past, so the partition's next owner redoes them.
    pub abandoned: AtomicU64,
    /// Records parked in the backlog because their partition's window was full.
    pub parked: AtomicU64,
    /// Times a partition was paused because its window and its backlog were full.
    pub pauses: AtomicU64,
    /// Commits sent (asynchronous ones, and the synchronous ones on revoke and stop).
    pub commits: AtomicU64,
    /// The most records held at once, over all partitions.
    pub max_held: AtomicU64,
    /// Epoch ms of the first record polled (0: none yet).
    pub first_record_at_ms: AtomicI64,
}

impl WindowedStats {
    pub fn count(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The table printed when the consumer stops (Ctrl-C).
    pub fn summary(&self) -> String {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        harness::measure::summary::Summary::new("windowed-consumer, on stop")
            .row("records consumed", count(&self.consumed))
            .row("processed", count(&self.processed))
            .row("dead-lettered", count(&self.dead_lettered))
            .row(
                "forwards not acknowledged (tried again, never committed past)",
                count(&self.forward_failures),
            )
            .row(
                "left unfinished at a revoke or stop (redelivered)",
                count(&self.abandoned),
            )
            .row(
                "records parked (their window was full)",
                count(&self.parked),
            )
            .row(
                "partitions paused (window and backlog full)",
                count(&self.pauses),
            )
            .row("most records held at once", count(&self.max_held))
            .row("commits", count(&self.commits))
            .render()
    }
}

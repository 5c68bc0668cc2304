//! What the toolbox saw one [`crate::Exercise::handle_failure`] call do with
//! its record ([`Handled`]), so the record's task can tell an outcome from a
//! loss call by call.
//!
//! Every consumer here (the retry consumer and each retry level) keeps a
//! window of records in flight per partition, as Lab 4.6 teaches, so
//! [`Failed::commit`](crate::failed::Failed::commit) *finishes* the record in
//! the window, which commits each partition's contiguous run of finished
//! records; and [`Failed::rewind`](crate::failed::Failed::rewind) leaves it
//! unfinished, for its own task to try again after a back-off (see
//! `record.rs`).

use std::sync::atomic::{AtomicBool, Ordering};

/// What the toolbox saw one `handle_failure` call do with its record (records
/// are handled concurrently, so counters would mix them up).
#[derive(Debug, Default)]
pub(crate) struct Handled {
    /// `rewind()` was called: the record comes back.
    pub rewound: AtomicBool,
    /// Forwarded to the next retry level, acknowledged.
    pub forwarded: AtomicBool,
    /// Dead-lettered (or, for a replay, parked), acknowledged.
    pub dead_lettered: AtomicBool,
    /// Processed after all (a retry in place), and reported.
    pub processed: AtomicBool,
}

impl Handled {
    pub fn note(flag: &AtomicBool) {
        flag.store(true, Ordering::Relaxed);
    }

    pub fn rewound(&self) -> bool {
        self.rewound.load(Ordering::Relaxed)
    }
}

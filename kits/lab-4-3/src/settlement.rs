//! What becomes of a failed record once [`crate::Exercise::handle_failure`]
//! is done with it: how [`Failed::commit`](crate::failed::Failed::commit) and
//! [`Failed::rewind`](crate::failed::Failed::rewind) act on it, and what the
//! toolbox saw the call do ([`Handled`]).
//!
//! The retry consumer and the retry levels settle records differently:
//! - the retry consumer keeps a window of records in flight per partition (as
//!   Lab 4.6 teaches), so committing a record *finishes* it in the window, which
//!   commits each partition's contiguous run of finished records; a rewound
//!   record stays unfinished and its own task tries it again after a back-off;
//! - a retry level takes one record at a time in due order, so it commits the
//!   record's offset and, on a rewind, seeks back to it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use harness::measure::rebalance::ObservedContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};

use crate::live_record::Settle;

/// What the toolbox saw one `handle_failure` call do with its record, so the
/// worker can tell an outcome from a loss call by call (records of the retry
/// consumer are handled concurrently, so counters would mix them up).
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

/// How a failed record is committed past, or rewound.
pub(crate) enum Settlement<'a> {
    /// A retry level: commit its offset (asynchronously), or seek back to it.
    Offsets(&'a StreamConsumer<ObservedContext>),
    /// The retry consumer's window: finish its ticket, or leave it unfinished
    /// for its task to try again.
    Window(&'a Settle<'a>),
}

impl Settlement<'_> {
    pub fn commit(&self, message: &OwnedMessage) -> anyhow::Result<()> {
        match self {
            Settlement::Offsets(consumer) => {
                let mut next = TopicPartitionList::new();
                next.add_partition_offset(
                    message.topic(),
                    message.partition(),
                    Offset::Offset(message.offset() + 1),
                )?;
                consumer
                    .commit(&next, CommitMode::Async)
                    .context("committing past the failed record")
            }
            Settlement::Window(settle) => {
                settle.finish();
                Ok(())
            }
        }
    }

    pub fn rewind(&self, message: &OwnedMessage) -> anyhow::Result<()> {
        match self {
            Settlement::Offsets(consumer) => consumer
                .seek(
                    message.topic(),
                    message.partition(),
                    Offset::Offset(message.offset()),
                    // Zero: an asynchronous seek, so the loop is not blocked waiting
                    // for librdkafka's broker thread (see retry_processor::NotYetDue::seek_back).
                    Duration::ZERO,
                )
                .context("rewinding to the failed record"),
            // Nothing to seek: the record is still in its task, unfinished,
            // and the window commits nothing past it meanwhile.
            Settlement::Window(_) => Ok(()),
        }
    }
}

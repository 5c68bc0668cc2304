//! # Lab 4.6: at-least-once at full speed
//!
//! A consumer that handles one record at a time is correct, and slow: every
//! record waits, in turn, for its forward's acknowledgement before the loop
//! commits and polls again, so a consumer that must report or forward every
//! payment runs at one produce round trip per record (a few hundred payments
//! per second, where Kafka can do tens of thousands; Lab 4.3's retry consumer
//! ran so until it moved onto this kit). This lab keeps the guarantee and removes the wait: the consumer
//! keeps a **window** of records in flight per partition, each one's forwards
//! sent at once, and commits only what is safe, the **contiguous prefix** of
//! finished records.
//!
//! ```text
//! partition 0:  10 ✔  11 ✔  12 …  13 ✔  14 ✔  15 …        (✔ finished, … in flight)
//!                          ^ committable: 12 (the next offset to read)
//! committing "the latest finished" (15) would skip 12: a crash now loses it.
//! ```
//!
//! ## Layout
//!
//! | where | what | whose |
//! |---|---|---|
//! | `labs/lab-4-6/src/exercise.rs` | the [`OffsetTracker`] (started, finished, committable, revoked) and the [`Exercise::WINDOW`] | **the student's (graded)** |
//! | `kits/lab-4-6/src/lib.rs` | the [`Exercise`] and [`OffsetTracker`] traits | given |
//! | `kits/lab-4-6/src/window.rs` | [`window::Window`]: the tracker behind a lock, what each partition holds | given (read it) |
//! | `kits/lab-4-6/src/context.rs` | the rebalance callbacks: drain and commit a revoked partition before it goes | given (read it) |
//! | `kits/lab-4-6/src/work.rs` | one record's work: the gateway, then its outcome report or dead letter, retried in place until acknowledged | given (read it) |
//! | `kits/lab-4-6/src/poll.rs` | the poll loop: start records or park them, pause a partition whose backlog is full and resume it at half, commit the committable, drain on shutdown (Lab 4.2's DLQ consumer runs it too) | given (read it) |
//! | `kits/lab-4-6/src/consumer.rs` | the windowed consumer: the poll loop with this lab's record work | given |
//! | `kits/lab-4-6/src/record_tasks.rs` | [`record_tasks::RecordTasks`]: a consumer's record tasks, aborted with it, their panics reported (Labs 4.2 and 4.3 use it) | given |
//! | `kits/lab-4-6/src/settle.rs` | [`settle::SettleOnce`]: a record's ticket, finished or abandoned exactly once, even if its task panics (Labs 4.2 and 4.3 use it) | given |
//! | `kits/lab-4-6/src/backlog.rs` | records that arrived while their window was full, in order, up to a limit | given (read it) |
//! | `kits/lab-4-6/src/config.rs`, `stats.rs`, `running.rs` | a consumer's settings, its counters, a consumer as a task | given |
//! | `kits/lab-4-6/src/runner.rs` | the `windowed-consumer` binary's `main` | given |
//! | `harness/criteria/lab-4-6/src/` | the tracker's properties, the runs the criteria use, the throughput report and `cargo run -p lab-4-6` | the grader's |
//!
//! The student's crate holds only `exercise.rs` (plus one-line binaries), so the
//! grader can grade that one file in a pristine tree (`grade --submission`).
//!
//! Lab 4.2's DLQ consumer and Lab 4.3's retry consumer run this kit's window
//! and poll loop with the reference tracker, through the solution crate (as
//! Lab 4.4's given code runs Lab 4.3's solution); this kit itself never
//! contains the answer.

pub mod backlog;
pub mod config;
pub mod consumer;
pub mod context;
pub mod poll;
pub mod record_tasks;
pub mod runner;
pub mod running;
pub mod settle;
pub mod stats;
pub mod window;
mod work;

/// The heart of the consumer: which offset is safe to commit, per partition.
///
/// The consumer ([`consumer`]) calls it from one place at a time (it lives behind
/// a lock in [`window::Window`]), in this order for each partition:
///
/// - [`started`](OffsetTracker::started) for every record it takes, in the order
///   they were read: for one partition, offsets only grow. They may skip numbers
///   (a compacted topic, a transaction's commit marker): never assume that the
///   record after offset `n` is `n + 1`.
/// - [`finished`](OffsetTracker::finished) once that record's work is
///   acknowledged, **in any order** (a dead letter takes two round trips, a plain
///   success one, so later records often finish first). Each started record
///   finishes at most once; one whose forward never succeeds never finishes.
/// - [`committable`](OffsetTracker::committable) whenever the consumer wants to
///   commit.
/// - [`revoked`](OffsetTracker::revoked) when the partition is taken away. If it
///   comes back later, it starts afresh, from the committed offset, which can be
///   lower than offsets started before.
pub trait OffsetTracker: Default + Send + 'static {
    /// The consumer took the record at `offset` of `partition`; its work begins.
    fn started(&mut self, partition: i32, offset: i64);
    /// The record at `offset` of `partition` is done: its outcome report (and
    /// its dead letter, if it failed) is acknowledged by the broker.
    fn finished(&mut self, partition: i32, offset: i64);
    /// The offset to commit for `partition`: the *next offset to read*, one past
    /// the last record of the contiguous run of finished records the partition
    /// started with. `None` until its first started record has finished (or
    /// after it was revoked). It must never pass a started record that has not
    /// finished: a crash right after that commit loses the record.
    fn committable(&self, partition: i32) -> Option<i64>;
    /// The partition was revoked: forget everything about it.
    fn revoked(&mut self, partition: i32);
}

/// The parts of the lab a student writes. The starter (`exercise::Starter`) and
/// the reference solution each implement it, and everything given is generic over
/// it, so the two can never drift apart on anything but the exercise.
pub trait Exercise: Send + Sync + 'static {
    /// The tracker the consumer keeps its records in.
    type Tracker: OffsetTracker;
    /// How many records of one partition the consumer may hold at once: started
    /// and not yet behind the committable offset. 1 is a one-at-a-time loop
    /// (Lab 4.3's retry consumer: wait for each ack before the next record); more is only safe once the tracker
    /// handles finishes out of order.
    const WINDOW: usize;
}

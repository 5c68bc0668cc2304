//! How long each call into the exercise's code (`handle_failure`,
//! `hold_until_due`) took of its own, as it happens.
//!
//! A retry level polls again only once `hold_until_due` returns (it is
//! called in the level's poll loop). Pausing returns at once; a `sleep` does
//! not, and while it sleeps the level's other partitions wait and its retries
//! start late. (`handle_failure` runs in its record's task, on the retry
//! consumer and on the levels alike, so there a call that waits holds its
//! record, its place in the window and its partition's commit instead.) On a busy machine a retry can
//! start late too, but then the worker kept polling: the grader tells the two
//! apart with these calls (`harness/criteria/lab-4-3/src/verdicts.rs`), rather
//! than by how late a retry was, which a busy machine also makes it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::clock::now_ms;

/// One call into the exercise's code that took a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseCall {
    /// 0: the retry consumer; N: retry level N.
    pub level: u32,
    /// `handle_failure` or `hold_until_due`.
    pub function: &'static str,
    pub started_ms: i64,
    pub took: Duration,
    /// Of `took`, the time the toolbox spent waiting on the broker or the bank
    /// for it (a forward's ack, an outcome report, `try_again`'s gateway call):
    /// waits the exercise cannot avoid, and a busy machine makes longer.
    pub toolbox: Duration,
}

impl ExerciseCall {
    /// The time the exercise's own code took: everything but the toolbox's waits.
    pub fn own(&self) -> Duration {
        self.took.saturating_sub(self.toolbox)
    }

    pub fn ended_ms(&self) -> i64 {
        self.started_ms + self.took.as_millis() as i64
    }

    /// How many ms of this call fall inside `[from_ms, to_ms]`.
    pub fn overlap_ms(&self, from_ms: i64, to_ms: i64) -> i64 {
        (self.ended_ms().min(to_ms) - self.started_ms.max(from_ms)).max(0)
    }

    /// Of [`ExerciseCall::overlap_ms`], the exercise's own share (the toolbox's
    /// waits taken out, in proportion).
    pub fn own_overlap_ms(&self, from_ms: i64, to_ms: i64) -> i64 {
        let took = self.took.as_micros().max(1) as i64;
        self.overlap_ms(from_ms, to_ms) * self.own().as_micros() as i64 / took
    }
}

/// The calls of one process that took at least [`ExerciseTime::RECORDED_FROM`].
#[derive(Debug, Default)]
pub struct ExerciseTime {
    calls: Mutex<Vec<ExerciseCall>>,
}

impl ExerciseTime {
    /// Shorter calls are not kept: a forward's ack takes a few ms, a sleep that
    /// matters takes hundreds.
    pub const RECORDED_FROM: Duration = Duration::from_millis(20);
    /// Enough for any report; a service that runs for weeks must not grow forever.
    const MAX_CALLS: usize = 10_000;

    /// Run `call` (the exercise's `function` on `level`), timing it.
    pub async fn measure<T>(
        &self,
        level: u32,
        function: &'static str,
        call: impl std::future::Future<Output = T>,
    ) -> T {
        let (started_ms, started) = (now_ms(), Instant::now());
        let toolbox = Arc::new(AtomicU64::new(0));
        let result = TOOLBOX_WAIT.scope(toolbox.clone(), call).await;
        let took = started.elapsed();
        let toolbox = Duration::from_micros(toolbox.load(Ordering::Relaxed));
        if took >= Self::RECORDED_FROM {
            if let Ok(mut calls) = self.calls.lock() {
                if calls.len() < Self::MAX_CALLS {
                    calls.push(ExerciseCall {
                        level,
                        function,
                        started_ms,
                        took,
                        toolbox,
                    });
                }
            }
        }
        result
    }

    /// Every call kept so far.
    pub fn calls(&self) -> Vec<ExerciseCall> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

tokio::task_local! {
    /// µs the toolbox waited during the exercise call being measured on this task.
    static TOOLBOX_WAIT: Arc<AtomicU64>;
}

/// Run one of the toolbox's waits (`Failed::forward`, a report, a gateway
/// call), counting it as the toolbox's time, not the exercise's.
pub(crate) async fn toolbox_wait<T>(wait: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let result = wait.await;
    let waited = started.elapsed().as_micros() as u64;
    let _ = TOOLBOX_WAIT.try_with(|total| total.fetch_add(waited, Ordering::Relaxed));
    result
}

//! [`StoppableTask`]: a consumer (or any loop) running as a tokio task that
//! stops when asked: it raises the loop's stop flag, then waits for the task
//! and hands back what the loop returned. Dropping it raises the flag too, so
//! a test that fails early does not leave a consumer running in its group.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinHandle;

/// A loop running as a task, with the stop flag it checks between records.
pub struct StoppableTask<T> {
    stop: Arc<AtomicBool>,
    task: Option<JoinHandle<anyhow::Result<T>>>,
    /// What runs, for the error if it panicked ("the DLQ consumer").
    what: &'static str,
}

impl<T: Send + 'static> StoppableTask<T> {
    /// Spawn the future `run` makes from the stop flag it must watch.
    pub fn spawn<F>(what: &'static str, run: impl FnOnce(Arc<AtomicBool>) -> F) -> Self
    where
        F: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(stop.clone()));
        StoppableTask {
            stop,
            task: Some(task),
            what,
        }
    }

    /// The same for a loop that blocks its thread (it runs on tokio's blocking
    /// pool, so it does not hold a runtime worker).
    pub fn spawn_blocking(
        what: &'static str,
        run: impl FnOnce(Arc<AtomicBool>) -> anyhow::Result<T> + Send + 'static,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::task::spawn_blocking(move || run(flag));
        StoppableTask {
            stop,
            task: Some(task),
            what,
        }
    }

    /// Raise the stop flag and wait for the loop to end. `Ok(None)`: it was
    /// stopped before. An error the loop ended on comes back here.
    pub async fn stop(&mut self) -> anyhow::Result<Option<T>> {
        self.stop.store(true, Ordering::Relaxed);
        match self.task.take() {
            Some(task) => task
                .await
                .with_context(|| format!("{} task panicked", self.what))?
                .map(Some),
            None => Ok(None),
        }
    }
}

impl<T> Drop for StoppableTask<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

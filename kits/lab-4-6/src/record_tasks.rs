//! [`RecordTasks`]: the tasks of one consumer's records, which live as long as
//! the consumer does.
//!
//! Two reasons not to `tokio::spawn` them loose. A consumer killed mid-run (a
//! test aborts its task, as a crash would) must take its records' work with
//! it: a loose task would go on forwarding and reporting for a consumer that
//! is gone. And a task that panics must be reported even when its ticket was
//! settled already (a `commit()`, then an `unwrap()` that fails): its ticket's
//! guard (`settle.rs`) only sees panics that leave the ticket unsettled.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::JoinSet;

/// The first error a consumer's record tasks could not deal with (the
/// student's code returned one, an outcome was refused, a task panicked).
/// Raising one stops the consumer (its stop flag), and the consumer's run
/// returns it; later ones are dropped, the first is the cause.
pub struct FirstError {
    error: Mutex<Option<anyhow::Error>>,
    stop: Arc<AtomicBool>,
}

impl FirstError {
    /// Errors raised here stop the consumer whose flag `stop` is.
    pub fn new(stop: Arc<AtomicBool>) -> FirstError {
        FirstError {
            error: Mutex::new(None),
            stop,
        }
    }

    /// Keep `error` unless one came first, and stop the consumer.
    pub fn raise(&self, error: anyhow::Error) {
        if let Ok(mut first) = self.error.lock() {
            first.get_or_insert(error);
        }
        self.stop.store(true, Ordering::Relaxed);
    }

    /// What the consumer's run returns: the first error raised, if any.
    pub fn take(&self) -> anyhow::Result<()> {
        match self.error.lock().ok().and_then(|mut first| first.take()) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The record tasks of one consumer: aborted when this is dropped.
#[derive(Default)]
pub struct RecordTasks {
    tasks: JoinSet<()>,
}

impl RecordTasks {
    /// Start `task`, first collecting the tasks that are done (a panic among
    /// them is raised in `errors`), so a long run does not keep them all.
    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static, errors: &FirstError) {
        while let Some(joined) = self.tasks.try_join_next() {
            if let Err(error) = joined {
                if error.is_panic() {
                    errors.raise(anyhow::anyhow!(
                        "a record task panicked: {error} (see the panic message above)"
                    ));
                }
            }
        }
        self.tasks.spawn(task);
    }
}

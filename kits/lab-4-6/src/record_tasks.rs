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

use tokio::task::JoinSet;

use crate::settle::OnPanic;

/// The record tasks of one consumer: aborted when this is dropped.
#[derive(Default)]
pub struct RecordTasks {
    tasks: JoinSet<()>,
}

impl RecordTasks {
    /// Start `task`, first collecting the tasks that are done (a panic among
    /// them goes to `on_panic`), so a long run does not keep them all.
    pub fn spawn(
        &mut self,
        task: impl Future<Output = ()> + Send + 'static,
        on_panic: OnPanic<'_>,
    ) {
        while let Some(joined) = self.tasks.try_join_next() {
            if let Err(error) = joined {
                if error.is_panic() {
                    on_panic(anyhow::anyhow!(
                        "a record task panicked: {error} (see the panic message above)"
                    ));
                }
            }
        }
        self.tasks.spawn(task);
    }
}

//! [`SettleOnce`]: one record's ticket, settled exactly once, whatever its task
//! does: finished (the window may commit past it) or abandoned (it may not,
//! and whoever consumes the partition next handles the record again).
//!
//! Why a guard? A record task can end in many ways: its work is done, it gives
//! up (revoked, stopping), the code it runs returns an error, or it panics (a
//! student's `unwrap()`). The first settlement wins and the rest are ignored,
//! so a record is never finished after it was abandoned; and a ticket dropped
//! unsettled is abandoned, so a panicked record neither holds its partition's
//! commit forever nor is committed past. Such a panic is also reported (the
//! labs stop the consumer with an error), so it does not go unnoticed; a panic
//! after the ticket was settled is reported by the task's join instead
//! (`record_tasks.rs`).
//!
//! Lab 4.2's DLQ consumer and Lab 4.3's retry consumer use it for each record.

use std::sync::atomic::{AtomicBool, Ordering};

use harness::backoff::BackoffPolicy;

use crate::record_tasks::FirstError;
use crate::window::{Ticket, Window};
use crate::OffsetTracker;

/// One record's ticket, settled exactly once (see the module docs).
pub struct SettleOnce<'a, T: OffsetTracker> {
    window: &'a Window<T>,
    ticket: Ticket,
    settled: AtomicBool,
    /// Where a panic with the ticket unsettled is raised.
    errors: &'a FirstError,
}

impl<'a, T: OffsetTracker> SettleOnce<'a, T> {
    pub fn new(window: &'a Window<T>, ticket: Ticket, errors: &'a FirstError) -> Self {
        SettleOnce {
            window,
            ticket,
            settled: AtomicBool::new(false),
            errors,
        }
    }

    pub fn ticket(&self) -> &Ticket {
        &self.ticket
    }

    /// The record is done: the window may commit past it (once).
    pub fn finish(&self) {
        if !self.settled.swap(true, Ordering::Relaxed) {
            self.window.finish(&self.ticket);
        }
    }

    /// The record gives up unfinished, unless it was settled already.
    pub fn abandon(&self) {
        if !self.settled.swap(true, Ordering::Relaxed) {
            self.window.abandon(&self.ticket);
        }
    }

    /// Wait before the record tries again after `failures` failed tries (a
    /// forward or report not acknowledged, a rewind): the redelivery back-off,
    /// in this record's task (see [`Window::wait_to_retry`]). False, with the
    /// ticket abandoned, when it should give up instead (revoked, draining or
    /// stopping): the next owner handles the record again.
    pub async fn back_off(&self, stop: &AtomicBool, failures: u32) -> bool {
        let pause = BackoffPolicy::redelivery(failures);
        let keeps_trying = self.window.wait_to_retry(&self.ticket, stop, pause).await;
        if !keeps_trying {
            self.abandon();
        }
        keeps_trying
    }
}

impl<T: OffsetTracker> Drop for SettleOnce<'_, T> {
    fn drop(&mut self) {
        if self.settled.load(Ordering::Relaxed) {
            return;
        }
        self.abandon();
        if std::thread::panicking() {
            self.errors.raise(anyhow::anyhow!(
                "a record task panicked (partition {}, offset {}): see the panic message above",
                self.ticket.partition,
                self.ticket.offset
            ));
        }
    }
}

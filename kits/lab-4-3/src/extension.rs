//! Extension points: what a later lab adds to Lab 4.3's pipeline without
//! forking it. Lab 4.3 itself leaves them empty; Lab 4.4's payment service
//! fills both (`kits/lab-4-4/src/config.rs` and `service.rs`). A later lab that
//! needs another hook adds it here, visibly, rather than a branch in the
//! consumer loop.
//!
//! | hook | what it changes | who uses it |
//! |---|---|---|
//! | [`Extensions::parking_topic`] | a *replay* that fails for good is parked, not dead-lettered again | Lab 4.4 |
//! | [`Extensions::observer`] | sees every failure, retry and outcome as it happens | Lab 4.4's metrics |

use std::sync::Arc;

use harness::gateway::PaymentError;
use harness::outcomes::Outcome;

/// The pipeline's extension points; `Default` is Lab 4.3's pipeline, unchanged.
#[derive(Debug, Clone, Default)]
pub struct Extensions {
    /// Where a *replayed* payment goes when it fails for good (Lab 4.4), instead
    /// of back into the DLQ that the next replay reads. `None`: replays are
    /// dead-lettered like anything else (Lab 4.3 never replays).
    pub parking_topic: Option<String>,
    /// Told about every failure, retry and outcome as it happens (Lab 4.4's
    /// metrics). `None`: nobody is listening.
    pub observer: Option<Arc<dyn PipelineObserver>>,
}

/// Watches the pipeline work, without a say in it: every method is called on the
/// worker's task, so it must be quick and must not block (count, don't do I/O).
pub trait PipelineObserver: Send + Sync + std::fmt::Debug {
    /// An attempt at `level` (0: the live topic) failed with `error`.
    fn failure(&self, _level: u32, _error: &PaymentError) {}
    /// A payment was sent on to retry `level`, and the broker acknowledged it.
    fn retried(&self, _level: u32) {}
    /// A payment's outcome was decided (processed, dead-lettered or parked);
    /// `replayed`: it came from a replay of the DLQ, not from live traffic.
    fn outcome(&self, _outcome: &Outcome, _replayed: bool) {}
}

//! What every request handler can reach: the service's shared state, built by
//! [`crate::service::start`] and read by [`crate::api`]. Its own module so the
//! service and the API both depend on it, not on each other.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use harness::gateway::FaultSwitches;
use harness::Broker;
use rdkafka::producer::FutureProducer;
use tokio::sync::Mutex;

use crate::config::ServiceConfig;
use crate::journal::ReplayJournal;
use crate::metrics::{Metrics, Thresholds};
use crate::topology::Topology;

/// Everything a request handler can reach.
pub struct AppState {
    pub config: ServiceConfig,
    pub broker: Broker,
    pub topology: Topology,
    pub metrics: Arc<Metrics>,
    pub switches: Arc<FaultSwitches>,
    pub thresholds: Thresholds,
    /// Produces `POST /api/payments` to the live topic.
    pub payments: FutureProducer,
    /// Produces replays and journal records (acks=all, idempotent).
    pub forward: FutureProducer,
    pub journal: ReplayJournal,
    /// Cleared by the watchdog when a pipeline member stops on an error.
    pub pipeline_running: AtomicBool,
    pub started_at_ms: i64,
    /// One replay or purge at a time: two replays racing on the same journal
    /// could both send a dead letter before either wrote it down.
    pub operations: Mutex<()>,
}

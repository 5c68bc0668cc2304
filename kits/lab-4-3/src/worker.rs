//! [`Worker`]: what one worker (the retry consumer, or one retry level) works
//! with, and how it reports an outcome.

use harness::outcomes::{Outcome, OutcomeReporter, OutcomeStatus};
use harness::retry::RetryState;
use rdkafka::message::Message;
use rdkafka::producer::FutureProducer;

use crate::pipeline::{Pipeline, PipelineStats};

/// What one worker (the retry consumer, or one level) works with.
pub(crate) struct Worker<'a> {
    pub producer: &'a FutureProducer,
    pub reporter: &'a OutcomeReporter,
    pub pipeline: &'a Pipeline,
    pub stats: &'a PipelineStats,
    pub group: &'a str,
    pub member: &'a str,
    /// The level it works at (0: the retry consumer), for its ledger entries.
    pub level: u32,
}

impl Worker<'_> {
    /// Report that the payment in `message` was processed (or dead-lettered).
    /// For a record from a retry topic, its latency counts from when the payment
    /// was first produced, not from when the retry record was written.
    pub async fn report(
        &self,
        message: &impl Message,
        state: Option<&RetryState>,
        status: OutcomeStatus,
        attempts: u32,
        error: Option<String>,
    ) -> anyhow::Result<()> {
        if status == OutcomeStatus::Processed {
            // Every "processed" goes through here, a retry in place included, so
            // this is where the level's ledger counts it.
            PipelineStats::count(&self.stats.ledger.processed, self.level);
        }
        let mut outcome = Outcome::for_message(message, status, attempts, error, self.member);
        if let Some(produced_at) = state.and_then(|s| s.origin.timestamp_ms) {
            outcome.produced_at_ms = produced_at;
        }
        let replayed = harness::replay::is_replay(message);
        self.pipeline.observe(|o| o.outcome(&outcome, replayed));
        self.reporter.report(&outcome).await
    }
}

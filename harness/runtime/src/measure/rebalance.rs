//! Rebalance events, recorded by a consumer context.
//!
//! librdkafka calls a context's rebalance callbacks on the thread that polls, so
//! recording them costs nothing and shows exactly when a member lost or gained
//! partitions: the heart of Lab 4.1's "consumer group impact" question.

use std::sync::{Arc, Mutex};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use serde::Serialize;

use crate::clock::now_ms;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RebalanceKind {
    Assigned,
    Revoked,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RebalanceEvent {
    pub at_ms: i64,
    pub member: String,
    pub kind: RebalanceKind,
    pub partitions: Vec<i32>,
    pub detail: String,
}

/// A shared, append-only log of rebalance events.
#[derive(Debug, Clone, Default)]
pub struct RebalanceLog(Arc<Mutex<Vec<RebalanceEvent>>>);

impl RebalanceLog {
    pub fn events(&self) -> Vec<RebalanceEvent> {
        self.0
            .lock()
            .map(|events| events.clone())
            .unwrap_or_default()
    }

    /// Record what `member` just went through. For a consumer context of its own
    /// (Lab 4.6's), called from its `post_rebalance`, as [`ObservedContext`] does.
    pub fn record(&self, member: &str, rebalance: &Rebalance<'_>) {
        let (kind, partitions, detail) = match rebalance {
            Rebalance::Assign(list) => (
                RebalanceKind::Assigned,
                list.elements().iter().map(|e| e.partition()).collect(),
                String::new(),
            ),
            Rebalance::Revoke(list) => (
                RebalanceKind::Revoked,
                list.elements().iter().map(|e| e.partition()).collect(),
                String::new(),
            ),
            Rebalance::Error(error) => (RebalanceKind::Failed, Vec::new(), error.to_string()),
        };
        self.push(RebalanceEvent {
            at_ms: now_ms(),
            member: member.to_string(),
            kind,
            partitions,
            detail,
        });
    }

    fn push(&self, event: RebalanceEvent) {
        tracing::info!(member = %event.member, kind = ?event.kind, partitions = ?event.partitions, "rebalance");
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}

/// A consumer context that records its member's rebalances into a [`RebalanceLog`].
pub struct ObservedContext {
    pub member: String,
    pub log: RebalanceLog,
}

impl ObservedContext {
    pub fn new(member: &str, log: RebalanceLog) -> ObservedContext {
        ObservedContext {
            member: member.to_string(),
            log,
        }
    }
}

impl ClientContext for ObservedContext {}

impl ConsumerContext for ObservedContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.log.record(&self.member, rebalance);
    }
}

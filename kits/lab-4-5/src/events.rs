//! Member events: what each member went through, published to
//! `<topic>-member-events` so a grader in another process can rebuild who owned
//! which partition when (the timeline), and catch a zombie write.
//!
//! They go through a [`ThreadedProducer`] with `linger.ms=0`: sending never
//! blocks the poll thread (the rebalance callbacks run on it), and an event is
//! on its way within milliseconds, so even a member killed with SIGKILL has
//! published everything up to its last rebalance.

use std::time::Duration;

use anyhow::Context;
use harness::clock::now_ms;
use harness::Broker;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use serde::{Deserialize, Serialize};

/// The topic of a live topic's member events.
pub fn events_topic(topic: &str) -> String {
    format!("{topic}-member-events")
}

/// What happened to a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The process is up and subscribed.
    Started,
    /// The group gave it `partitions` (after `on_assigned` returned).
    Assigned,
    /// `partitions` left it (after `on_revoked` returned): from here on, any
    /// outcome or commit of theirs from this member is a zombie write.
    Revoked,
    /// Like `Revoked`, but the assignment was *lost* (the member was thrown out
    /// of the group): another member may already own them.
    Lost,
    /// It committed `offsets` (periodic or on revoke).
    Committed,
    /// It closed its consumer and left (or, as a static member, stepped away).
    Stopped,
}

/// One member event, as JSON, keyed by the member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberEvent {
    pub member: String,
    pub at_ms: i64,
    pub kind: EventKind,
    #[serde(default)]
    pub partitions: Vec<i32>,
    /// For `Committed`: `(partition, next offset to read)`.
    #[serde(default)]
    pub offsets: Vec<(i32, i64)>,
    /// For `Revoked` / `Lost`: records of the revoked partitions that were in
    /// the middle of processing when the revocation began. A revoke handler
    /// that finishes them and commits can redeliver at most these.
    #[serde(default)]
    pub in_hand: usize,
    /// For `Revoked` / `Lost`: records fetched but not started yet.
    #[serde(default)]
    pub queued: usize,
    /// For `Revoked` / `Lost`: how long the revoke handler took.
    #[serde(default)]
    pub took_ms: i64,
    /// `periodic` or `on revoke` for commits; the protocol for assignments.
    #[serde(default)]
    pub detail: String,
}

impl MemberEvent {
    pub fn new(member: &str, kind: EventKind) -> MemberEvent {
        MemberEvent {
            member: member.to_string(),
            at_ms: now_ms(),
            kind,
            partitions: Vec::new(),
            offsets: Vec::new(),
            in_hand: 0,
            queued: 0,
            took_ms: 0,
            detail: String::new(),
        }
    }
}

/// Publishes one member's events.
pub struct EventSink {
    producer: ThreadedProducer<DefaultProducerContext>,
    topic: String,
}

impl EventSink {
    pub fn new(broker: &Broker, topic: &str) -> anyhow::Result<EventSink> {
        let producer = broker
            .client_config()
            .set("linger.ms", "0")
            .set("acks", "all")
            .create()
            .context("creating the member-event producer")?;
        Ok(EventSink {
            producer,
            topic: topic.to_string(),
        })
    }

    /// Queue `event` for sending; never blocks. A full queue (it cannot be, at a
    /// few events a second) is logged, not fatal: the event stream is for the
    /// grader's eyes, the member's work does not depend on it.
    pub fn send(&self, event: &MemberEvent) {
        let Ok(value) = serde_json::to_vec(event) else {
            return;
        };
        let record = BaseRecord::to(&self.topic)
            .key(&event.member)
            .payload(&value);
        if let Err((error, _)) = self.producer.send(record) {
            tracing::warn!("could not queue a member event for {}: {error}", self.topic);
        }
    }

    /// Wait for every queued event to be acknowledged (on a graceful stop).
    pub fn flush(&self) {
        if let Err(error) = self.producer.flush(Duration::from_secs(10)) {
            tracing::warn!("member events not all delivered to {}: {error}", self.topic);
        }
    }
}

//! The four ways a member can ask the group to share partitions, and the client
//! settings each one takes.
//!
//! Seed 003's table has four Java assignors (range, round-robin, sticky,
//! cooperative sticky). librdkafka implements three of them, and refuses an eager
//! `sticky`; Kafka 4's new consumer group protocol (KIP-848) is the fourth row
//! here: the *broker* computes the assignment, and only the partitions that
//! change move, as with cooperative-sticky, with no group-wide barrier at all.

use std::fmt;
use std::time::Duration;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};

/// How the group assigns partitions, and with which rebalance protocol.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Classic protocol, eager: contiguous ranges of each topic's partitions.
    Range,
    /// Classic protocol, eager: partitions dealt out one by one.
    Roundrobin,
    /// Classic protocol, incremental: only the partitions that must move are
    /// revoked, in a first round, and assigned in a second.
    CooperativeSticky,
    /// Kafka 4's consumer group protocol (KIP-848, `group.protocol=consumer`):
    /// the broker assigns (`group.remote.assignor=uniform`), incrementally.
    ConsumerProtocol,
}

impl Strategy {
    pub const ALL: [Strategy; 4] = [
        Strategy::Range,
        Strategy::Roundrobin,
        Strategy::CooperativeSticky,
        Strategy::ConsumerProtocol,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Range => "range",
            Strategy::Roundrobin => "roundrobin",
            Strategy::CooperativeSticky => "cooperative-sticky",
            Strategy::ConsumerProtocol => "consumer-protocol",
        }
    }

    /// Does a rebalance move only the partitions that change (and pass only
    /// those to the callbacks), rather than revoking everything first?
    pub fn incremental(self) -> bool {
        matches!(
            self,
            Strategy::CooperativeSticky | Strategy::ConsumerProtocol
        )
    }

    /// Does the strategy run under the new consumer group protocol, where the
    /// broker's `group.consumer.session.timeout.ms` decides when a silent member
    /// is gone (the member's own `session.timeout.ms` does not apply)?
    pub fn broker_side(self) -> bool {
        self == Strategy::ConsumerProtocol
    }

    /// Why librdkafka's embedded mock cluster cannot show this strategy as
    /// Kafka runs it (`None`: it can). The lab skips such a strategy on the
    /// mock, in one line, and CI runs it on a real broker.
    pub fn mock_limits(self) -> Option<&'static str> {
        match self {
            Strategy::Range | Strategy::Roundrobin => Some(
                "the embedded mock refuses commits during an eager rebalance (RebalanceInProgress), which Kafka accepts from a member of the current generation, so every revocation would redeliver",
            ),
            Strategy::CooperativeSticky => None,
            Strategy::ConsumerProtocol => {
                Some("the consumer protocol (KIP-848) needs a real Kafka 4 broker")
            }
        }
    }

    /// Set the group settings of this strategy on a consumer's configuration.
    ///
    /// Under the classic protocol a member sets its own session timeout and
    /// heartbeat (a third of it, the usual ratio). Under the consumer protocol
    /// librdkafka refuses `partition.assignment.strategy`, `session.timeout.ms`
    /// and `heartbeat.interval.ms`: the broker's group settings apply instead.
    pub fn configure(self, config: &mut ClientConfig, session_timeout: Duration) {
        let assignor = match self {
            Strategy::Range => "range",
            Strategy::Roundrobin => "roundrobin",
            Strategy::CooperativeSticky => "cooperative-sticky",
            Strategy::ConsumerProtocol => {
                config
                    .set("group.protocol", "consumer")
                    .set("group.remote.assignor", "uniform");
                return;
            }
        };
        let session_ms = session_timeout.as_millis().max(1000);
        config
            .set("partition.assignment.strategy", assignor)
            .set("session.timeout.ms", session_ms.to_string())
            .set("heartbeat.interval.ms", (session_ms / 3).to_string());
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

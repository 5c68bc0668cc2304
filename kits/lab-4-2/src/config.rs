//! How to run one DLQ consumer: its group, topics, gateway and back-off.

use harness::gateway::Gateway;

/// The seed's consumer group.
pub const DEFAULT_GROUP: &str = "dlq-payment-processor";

/// How to run one DLQ consumer.
#[derive(Debug, Clone)]
pub struct DlqConsumerConfig {
    pub topic: String,
    /// Seed 000: `<topic>-dlq`; seed 001 reads it from `KAFKA_DLQ_TOPIC`; seed 003 calls it `orders.DLT`.
    pub dlq_topic: String,
    pub group_id: String,
    pub member: String,
    pub gateway: Gateway,
}

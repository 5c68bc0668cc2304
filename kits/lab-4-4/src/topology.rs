//! Every topic and group the service uses, named in one place.

use harness::replay::journal_topic;
use harness::topics::create_topics;
use harness::Broker;
use lab_4_3_kit::pipeline::Pipeline;

use crate::journal::ReplayJournal;

/// Lab 4.3's pipeline (live topic, retry levels, DLQ, outcomes) plus what Lab 4.4
/// adds around it: the parking topic and the replay journal.
#[derive(Debug, Clone)]
pub struct Topology {
    pub pipeline: Pipeline,
    pub partitions: i32,
}

impl Topology {
    pub fn new(pipeline: Pipeline, partitions: i32) -> Topology {
        Topology {
            pipeline,
            partitions,
        }
    }

    pub fn parking_topic(&self) -> &str {
        self.pipeline
            .extensions
            .parking_topic
            .as_deref()
            .unwrap_or("<no parking topic>")
    }

    pub fn journal_topic(&self) -> String {
        journal_topic(&self.pipeline.dlq_topic)
    }

    /// Is `topic` one this pipeline consumes (the live topic or a retry level)?
    /// A dead letter from anywhere else belongs to another pipeline.
    pub fn consumes(&self, topic: &str) -> bool {
        topic == self.pipeline.topic
            || (1..=self.pipeline.levels()).any(|level| self.pipeline.retry_topic(level) == topic)
    }

    /// Every consumer group the service runs: the live topic's, then each level's.
    pub fn groups(&self) -> Vec<(String, String)> {
        std::iter::once((
            self.pipeline.consumer_group.clone(),
            self.pipeline.topic.clone(),
        ))
        .chain((1..=self.pipeline.levels()).map(|level| {
            (
                self.pipeline.processor_group(level),
                self.pipeline.retry_topic(level),
            )
        }))
        .collect()
    }

    /// Create every topic that is missing (explicitly, so a typo fails loudly
    /// instead of auto-creating a topic nobody reads).
    pub async fn create_topics(&self, broker: &Broker) -> anyhow::Result<()> {
        let topics = self.pipeline.topics(self.partitions);
        let refs: Vec<(&str, i32)> = topics.iter().map(|(n, p)| (n.as_str(), *p)).collect();
        create_topics(broker, &refs).await?;
        ReplayJournal::create(broker, &self.pipeline.dlq_topic).await
    }
}

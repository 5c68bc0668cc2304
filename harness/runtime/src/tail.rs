//! Reading a topic of JSON records as they arrive, without a consumer group
//! (plain `assign` from the beginning), so a grader never disturbs the group it
//! watches: outcome records ([`crate::outcomes::OutcomeWatcher`]), Lab 4.5's
//! member events.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::broker::Broker;
use crate::topics::group_free_reader;
use rdkafka::consumer::Consumer;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

/// Every record of a topic seen so far, parsed as `T`, in arrival order.
pub struct Tail<T> {
    seen: Arc<Mutex<Vec<T>>>,
    unreadable: Arc<Mutex<usize>>,
    task: JoinHandle<()>,
}

impl<T: DeserializeOwned + Clone + Send + 'static> Tail<T> {
    pub fn start(broker: &Broker, topic: &str) -> anyhow::Result<Tail<T>> {
        let (consumer, partitions) = group_free_reader(broker, topic)?;
        let mut assignment = TopicPartitionList::new();
        for partition in 0..partitions {
            assignment.add_partition_offset(topic, partition, Offset::Beginning)?;
        }
        consumer.assign(&assignment)?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let unreadable = Arc::new(Mutex::new(0));
        let (seen_by_task, unreadable_by_task) = (seen.clone(), unreadable.clone());
        let name = topic.to_string();
        let task = tokio::spawn(async move {
            loop {
                match consumer.recv().await {
                    Ok(message) => match message.payload().map(serde_json::from_slice::<T>) {
                        Some(Ok(record)) => lock(&seen_by_task).push(record),
                        _ => *lock(&unreadable_by_task) += 1,
                    },
                    Err(error) => tracing::warn!("reading {name}: {error}"),
                }
            }
        });
        Ok(Tail {
            seen,
            unreadable,
            task,
        })
    }

    pub fn snapshot(&self) -> Vec<T> {
        lock(&self.seen).clone()
    }

    /// Records that were not a `T` (or had no value).
    pub fn unreadable(&self) -> usize {
        *lock(&self.unreadable)
    }
}

impl<T> Drop for Tail<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

//! The scenario's steady producer: seeded payments at a constant rate, each
//! batch acknowledged before the next, so "produced" means the broker has it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use harness::clock::now_ms;
use harness::payments::PaymentGenerator;
use harness::producer::{payment_producer, produce_payments};
use harness::Broker;

use crate::scenario::RATE_PER_SECOND;

/// Produces [`RATE_PER_SECOND`] seeded payments a second, in small batches,
/// each batch acknowledged before the next.
pub struct SteadyProducer {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<anyhow::Result<Vec<String>>>,
}

impl SteadyProducer {
    pub fn start(broker: &Broker, topic: &str) -> anyhow::Result<SteadyProducer> {
        let producer = payment_producer(broker)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (stop_flag, topic) = (stop.clone(), topic.to_string());
        let task = tokio::spawn(async move {
            // A seed per run: payment ids are unique across strategies and runs.
            let generator = PaymentGenerator::new(now_ms() as u64);
            let per_tick = RATE_PER_SECOND / 20;
            let mut ticks = tokio::time::interval(Duration::from_millis(50));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut produced = Vec::new();
            let mut next = 0;
            while !stop_flag.load(Ordering::Relaxed) {
                ticks.tick().await;
                let batch: Vec<_> = (next..next + per_tick)
                    .map(|i| generator.record(i))
                    .collect();
                next += per_tick;
                let delivered = produce_payments(&producer, &topic, &batch, None, None)
                    .await
                    .context("producing the steady stream")?;
                produced.extend(delivered.into_iter().map(|d| d.payment_id));
            }
            Ok(produced)
        });
        Ok(SteadyProducer { stop, task })
    }

    pub async fn stop(self) -> anyhow::Result<Vec<String>> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.context("the producer task panicked")?
    }
}

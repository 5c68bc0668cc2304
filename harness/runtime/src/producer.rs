//! Producing synthetic payments, with every delivery acknowledged.

use std::time::Duration;

use anyhow::Context;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use crate::broker::Broker;
use crate::headers::RawHeader;
use crate::payments::PaymentRecord;

/// Where one payment landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub payment_id: String,
    pub partition: i32,
    pub offset: i64,
}

/// A producer for payments: idempotent and `acks=all`, so "produced" means the
/// broker has it, and a retry inside librdkafka never duplicates it.
pub fn payment_producer(broker: &Broker) -> anyhow::Result<FutureProducer> {
    broker
        .client_config()
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
        .context("creating the payment producer")
}

/// Produce `records` to `topic`, keyed by payment id, waiting for every ack.
///
/// With `partition`, every record goes to that partition (scenarios use this to put
/// a failing payment in front of a chosen partition); otherwise the key decides.
/// With `pace`, records are sent one every `pace` (a steady arrival rate, for lag
/// observations); without it they go as fast as the broker takes them. The record
/// timestamp (CreateTime) is the start of every end-to-end latency measurement.
pub async fn produce_payments(
    producer: &FutureProducer,
    topic: &str,
    records: &[PaymentRecord],
    partition: Option<i32>,
    pace: Option<Duration>,
) -> anyhow::Result<Vec<Delivered>> {
    produce(producer, topic, records, partition, pace, &[]).await
}

/// [`produce_payments`], with `extra` headers after the `payment-id` one on every
/// record: headers a byte-exact pipeline must carry along untouched (values that
/// are not UTF-8, empty, absent, a repeated key).
pub async fn produce_payments_with_headers(
    producer: &FutureProducer,
    topic: &str,
    records: &[PaymentRecord],
    extra: &[RawHeader],
) -> anyhow::Result<Vec<Delivered>> {
    produce(producer, topic, records, None, None, extra).await
}

async fn produce(
    producer: &FutureProducer,
    topic: &str,
    records: &[PaymentRecord],
    partition: Option<i32>,
    pace: Option<Duration>,
    extra: &[RawHeader],
) -> anyhow::Result<Vec<Delivered>> {
    let mut pending = Vec::with_capacity(records.len());
    for record in records {
        let headers = extra.iter().fold(
            OwnedHeaders::new().insert(Header {
                key: "payment-id",
                value: Some(record.payment_id.as_bytes()),
            }),
            |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: value.as_deref(),
                })
            },
        );
        let mut kafka_record = FutureRecord::to(topic)
            .key(record.key())
            .payload(&record.value)
            .headers(headers);
        if let Some(partition) = partition {
            kafka_record = kafka_record.partition(partition);
        }
        let future = producer
            .send_result(kafka_record)
            .map_err(|(error, _)| anyhow::anyhow!("cannot queue {}: {error}", record.payment_id))?;
        pending.push((record.payment_id.clone(), future));
        if let Some(pace) = pace {
            tokio::time::sleep(pace).await;
        }
    }
    let mut delivered = Vec::with_capacity(pending.len());
    for (payment_id, future) in pending {
        let delivery = future
            .await
            .context("the producer was dropped")?
            .map_err(|(error, _)| anyhow::anyhow!("{payment_id} was not delivered: {error}"))?;
        delivered.push(Delivered {
            payment_id,
            partition: delivery.partition,
            offset: delivery.offset,
        });
    }
    producer.flush(Duration::from_secs(10))?;
    Ok(delivered)
}

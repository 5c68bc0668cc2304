//! Metrics (Prometheus text on `/metrics`) and the alert thresholds `/health`
//! checks: seed 004's "comprehensive metrics" and "alerting thresholds".
//!
//! Counters are fed by Lab 4.3's pipeline through [`PipelineObserver`] as it works;
//! consumer lag is sampled in the background from the groups' committed offsets
//! and the partitions' high watermarks (the same arithmetic as Lab 4.1).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::clock::now_ms;
use harness::gateway::PaymentError;
use harness::outcomes::{Outcome, OutcomeStatus};
use harness::Broker;
use lab_4_3_kit::pipeline::PipelineObserver;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use crate::topology::Topology;

/// The window the DLQ rate is computed over.
pub const DLQ_RATE_WINDOW: Duration = Duration::from_secs(300);

/// Every metric the service exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub processed: IntCounter,
    pub dead_lettered: IntCounter,
    pub parked: IntCounter,
    /// Failed attempts by level, error type and reason.
    pub failures: IntCounterVec,
    /// Records sent on to each retry level.
    pub retries: IntCounterVec,
    /// Produce-to-outcome latency of every decided payment.
    pub latency: Histogram,
    pub dlq_rate: prometheus::Gauge,
    pub lag: IntGaugeVec,
    pub lag_total: IntGauge,
    /// Recent outcomes: (epoch ms, went to the DLQ?), for the windowed DLQ rate.
    recent: Mutex<VecDeque<(i64, bool)>>,
    /// Failed attempts per reason, all levels together (for `/api/v1/stats`).
    by_reason: Mutex<BTreeMap<String, u64>>,
    /// The last lag sampled per group (summed over its partitions).
    group_lag: Mutex<BTreeMap<String, i64>>,
    pub lag_sample_errors: IntCounter,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new();
        let processed = IntCounter::new("payments_processed_total", "Payments processed")?;
        let dead_lettered =
            IntCounter::new("payments_dead_lettered_total", "Payments sent to the DLQ")?;
        let parked = IntCounter::new(
            "payments_parked_total",
            "Replayed payments that failed again and were parked",
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "payment_failures_total",
                "Failed attempts, by level and reason",
            ),
            &["level", "error_type", "reason"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new("payment_retries_total", "Payments sent on to a retry level"),
            &["level"],
        )?;
        let latency = Histogram::with_opts(
            HistogramOpts::new(
                "payment_processing_latency_seconds",
                "From produce to outcome (processed, dead-lettered or parked)",
            )
            .buckets(vec![
                0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
            ]),
        )?;
        let dlq_rate = prometheus::Gauge::new(
            "payments_dlq_rate",
            "Fraction of the payments decided in the last 5 minutes that went to the DLQ",
        )?;
        let lag = IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_lag",
                "High watermark minus committed offset, per group and partition",
            ),
            &["group", "topic", "partition"],
        )?;
        let lag_total = IntGauge::new(
            "kafka_consumer_lag_total",
            "Consumer lag summed over the service's groups",
        )?;
        let lag_sample_errors = IntCounter::new(
            "kafka_consumer_lag_sample_errors_total",
            "Lag samples that failed (the lag gauges keep their last value)",
        )?;
        registry.register(Box::new(lag_sample_errors.clone()))?;
        registry.register(Box::new(processed.clone()))?;
        registry.register(Box::new(dead_lettered.clone()))?;
        registry.register(Box::new(parked.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(retries.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(dlq_rate.clone()))?;
        registry.register(Box::new(lag.clone()))?;
        registry.register(Box::new(lag_total.clone()))?;
        Ok(Metrics {
            registry,
            processed,
            dead_lettered,
            parked,
            failures,
            retries,
            latency,
            dlq_rate,
            lag,
            lag_total,
            recent: Mutex::new(VecDeque::new()),
            by_reason: Mutex::new(BTreeMap::new()),
            group_lag: Mutex::new(BTreeMap::new()),
            lag_sample_errors,
        })
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> anyhow::Result<String> {
        self.refresh_dlq_rate();
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        Ok(String::from_utf8(buffer)?)
    }

    /// Failed attempts per reason, all levels together.
    pub fn failures_by_reason(&self) -> BTreeMap<String, u64> {
        self.by_reason.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The last lag sampled for `group` (records it has yet to commit), if any.
    pub fn lag_of(&self, group: &str) -> Option<i64> {
        self.group_lag.lock().ok()?.get(group).copied()
    }

    /// (DLQ rate, outcomes in the window), and update the gauge.
    pub fn refresh_dlq_rate(&self) -> (f64, u64) {
        let Ok(mut recent) = self.recent.lock() else {
            return (0.0, 0);
        };
        trim_window(&mut recent);
        let decided = recent.len() as u64;
        let dead = recent.iter().filter(|(_, dead)| *dead).count() as f64;
        let rate = if decided == 0 {
            0.0
        } else {
            dead / decided as f64
        };
        self.dlq_rate.set(rate);
        (rate, decided)
    }
}

/// Drop the outcomes older than the window.
fn trim_window(recent: &mut VecDeque<(i64, bool)>) {
    let since = now_ms() - DLQ_RATE_WINDOW.as_millis() as i64;
    while recent.front().is_some_and(|(at, _)| *at < since) {
        recent.pop_front();
    }
}

impl PipelineObserver for Metrics {
    fn failure(&self, level: u32, error: &PaymentError) {
        self.failures
            .with_label_values(&[&level.to_string(), error.error_type(), error.reason()])
            .inc();
        if let Ok(mut by_reason) = self.by_reason.lock() {
            *by_reason.entry(error.reason().to_string()).or_default() += 1;
        }
    }

    fn retried(&self, level: u32) {
        self.retries.with_label_values(&[&level.to_string()]).inc();
    }

    fn outcome(&self, outcome: &Outcome, replayed: bool) {
        // The DLQ rate is about live traffic flowing *into the DLQ*. Replays are
        // left out of both sides: a parked one would page someone for a replay
        // that is shrinking the DLQ, and a thousand processed ones would hide a
        // live outage behind a low rate.
        let into_dlq = match outcome.status {
            OutcomeStatus::Processed => {
                self.processed.inc();
                Some(false)
            }
            OutcomeStatus::DeadLettered => {
                self.dead_lettered.inc();
                Some(true)
            }
            OutcomeStatus::Parked => {
                self.parked.inc();
                None
            }
            OutcomeStatus::Skipped => Some(true),
        };
        self.latency
            .observe(outcome.latency_ms().max(0) as f64 / 1000.0);
        let into_dlq = into_dlq.filter(|_| !replayed);
        if let (Some(dead), Ok(mut recent)) = (into_dlq, self.recent.lock()) {
            recent.push_back((outcome.finished_at_ms, dead));
            // Trimmed here too, so it stays bounded when nobody scrapes.
            trim_window(&mut recent);
        }
    }
}

/// Lag of every group the service runs, sampled every `interval` on a thread of
/// its own (librdkafka's offset queries block). Stops when `stop` is raised.
pub fn sample_lag(
    broker: &Broker,
    topology: &Topology,
    metrics: Arc<Metrics>,
    interval: Duration,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    // One consumer per group, never subscribed: it only asks the group
    // coordinator for committed offsets, so it never joins (or disturbs) the group.
    let mut probes = Vec::new();
    for (group, topic) in topology.groups() {
        let consumer: BaseConsumer = broker
            .client_config()
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .create()?;
        probes.push((group, topic, consumer));
    }
    let partitions = topology.partitions;
    Ok(std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            for (group, topic, consumer) in &probes {
                match group_lag(consumer, topic, partitions) {
                    Ok(lags) => {
                        for (partition, lag) in &lags {
                            metrics
                                .lag
                                .with_label_values(&[group, topic, &partition.to_string()])
                                .set(*lag);
                        }
                        if let Ok(mut groups) = metrics.group_lag.lock() {
                            groups.insert(group.clone(), lags.values().sum());
                        }
                    }
                    // Keep the last value: a broker outage must not clear a lag
                    // alert. The error counter says the figure is getting old.
                    Err(_) => metrics.lag_sample_errors.inc(),
                }
            }
            if let Ok(groups) = metrics.group_lag.lock() {
                metrics.lag_total.set(groups.values().sum());
            }
            // Sleep in short steps so a stop is noticed quickly.
            let until = std::time::Instant::now() + interval;
            while std::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }))
}

/// The lag of every group of `topology`, summed, asked of Kafka now: 0 means
/// every record on the live and retry topics is processed and committed.
pub async fn lag_now(broker: &Broker, topology: &Topology) -> anyhow::Result<i64> {
    let (broker, groups, partitions) = (broker.clone(), topology.groups(), topology.partitions);
    tokio::task::spawn_blocking(move || {
        let mut total = 0;
        for (group, topic) in groups {
            let consumer: BaseConsumer = broker
                .client_config()
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .create()?;
            total += group_lag(&consumer, &topic, partitions)?
                .values()
                .sum::<i64>();
        }
        Ok(total)
    })
    .await?
}

/// partition -> lag of `consumer`'s group on `topic`: high watermark minus the
/// committed offset (from the low watermark when nothing is committed).
fn group_lag(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: i32,
) -> anyhow::Result<BTreeMap<i32, i64>> {
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition(topic, partition);
    }
    let committed = consumer.committed_offsets(list, Duration::from_secs(5))?;
    let mut lags = BTreeMap::new();
    for partition in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(5))?;
        let position = match committed
            .find_partition(topic, partition)
            .map(|e| e.offset())
        {
            Some(Offset::Offset(offset)) if offset >= low => offset,
            _ => low,
        };
        lags.insert(partition, (high - position).max(0));
    }
    Ok(lags)
}

/// The alert thresholds `/health` checks.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Thresholds {
    pub dlq_rate: f64,
    pub min_outcomes: u64,
    pub max_lag: i64,
}

/// One threshold crossed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Alert {
    pub name: &'static str,
    pub value: f64,
    pub threshold: f64,
    pub message: String,
}

/// Which thresholds the current figures cross.
pub fn alerts(metrics: &Metrics, thresholds: &Thresholds) -> Vec<Alert> {
    let mut alerts = Vec::new();
    let (rate, decided) = metrics.refresh_dlq_rate();
    if decided >= thresholds.min_outcomes && rate > thresholds.dlq_rate {
        alerts.push(Alert {
            name: "dlq_rate",
            value: rate,
            threshold: thresholds.dlq_rate,
            message: format!(
                "{:.0}% of the last {decided} payments went to the DLQ (threshold {:.0}%)",
                rate * 100.0,
                thresholds.dlq_rate * 100.0
            ),
        });
    }
    let lag = metrics.lag_total.get();
    if lag > thresholds.max_lag {
        alerts.push(Alert {
            name: "consumer_lag",
            value: lag as f64,
            threshold: thresholds.max_lag as f64,
            message: format!(
                "the service's groups lag {lag} records (threshold {})",
                thresholds.max_lag
            ),
        });
    }
    alerts
}

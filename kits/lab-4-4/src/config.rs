//! The service's configuration: seed 001's environment variables where they
//! apply, with flags for the rest.

use std::net::SocketAddr;
use std::time::Duration;

use harness::args::{fraction, time_scale};
use harness::backoff::{BackoffPolicy, BackoffStrategy};
use harness::gateway::{FailureMix, Gateway};
use harness::labs::Lab;
use harness::replay::parking_topic;
use harness::TimeScale;
use lab_4_3_kit::pipeline::{GroupTimeouts, Pipeline};

/// The payment service's settings. Every one has a flag and an environment
/// variable; seed 001's names are kept (`KAFKA_DLQ_TOPIC`, `DLQ_MAX_RETRIES`,
/// `DLQ_RETRY_BACKOFF_MS`, `DLQ_MAX_BACKOFF_MS`). The defaults are Lab 4.4's
/// own names (`lab-4-4.payment_requests`, group `lab-4-4.payment-service`: see
/// `harness::labs`), so Lab 4.3's records on the same broker are never consumed.
#[derive(Debug, Clone, clap::Args)]
pub struct ServiceConfig {
    /// The live topic (produce to it with `produce-payments --lab lab-4-4`); the
    /// retry, DLQ, parking and journal topics are named after it.
    #[arg(long, env = "KAFKA_TOPIC", default_value_t = LAB.topic())]
    pub topic: String,
    /// The DLQ; default `<topic>-dlq`.
    #[arg(long, env = "KAFKA_DLQ_TOPIC")]
    pub dlq_topic: Option<String>,
    /// Retries before the DLQ: one retry topic (and level) per retry.
    #[arg(long, env = "DLQ_MAX_RETRIES", default_value_t = 3)]
    pub max_retries: u32,
    /// Delay before the first retry; retry n waits min(initial × 2^(n-1), max).
    #[arg(long, env = "DLQ_RETRY_BACKOFF_MS", default_value_t = 1000)]
    pub retry_backoff_ms: u64,
    /// The longest delay before a retry, however many retries came before.
    #[arg(long, env = "DLQ_MAX_BACKOFF_MS", default_value_t = 30_000)]
    pub max_backoff_ms: u64,
    /// Consumer group of the live topic; level N uses `<group>-retry-N`.
    #[arg(long, env = "KAFKA_GROUP_ID", default_value_t = LAB.name("payment-service"))]
    pub group: String,
    /// Partitions of every topic the service creates.
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Where the admin API listens. Loopback by default: an admin API that can
    /// replay and purge is not something to expose by accident.
    #[arg(long, env = "API_LISTEN", default_value = "127.0.0.1:8001")]
    pub listen: SocketAddr,
    /// Bearer token for replay, purge and the config switches. Without one, those
    /// endpoints refuse everyone.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// `/health` degrades when more than this fraction of the payments decided in
    /// the last 5 minutes went to the DLQ (with at least `alert_min_outcomes` decided).
    #[arg(long, env = "ALERT_DLQ_RATE", default_value_t = 0.10, value_parser = fraction)]
    pub alert_dlq_rate: f64,
    /// The fewest payments decided in the last 5 minutes for the DLQ rate to
    /// count (fewer: too few to judge, `/health` stays healthy on that score).
    #[arg(long, env = "ALERT_MIN_OUTCOMES", default_value_t = 10)]
    pub alert_min_outcomes: u64,
    /// `/health` degrades when the service's groups lag more than this many records.
    #[arg(long, env = "ALERT_MAX_LAG", default_value_t = 1000)]
    pub alert_max_lag: i64,
    /// The simulated bank's failure rate, from 0 to 1 (half transient, half
    /// permanent), besides the deployed bug's.
    #[arg(long, default_value_t = LAB.consumer_failure_rate(), value_parser = fraction)]
    pub failure_rate: f64,
    /// A finer failure mix than `failure_rate` (scenarios and tests set this).
    #[arg(skip)]
    pub failure_mix: Option<FailureMix>,
    /// Time scale of the bank's 100 ms calls (backoffs are given in ms already).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 1.0, value_parser = time_scale)]
    pub time_scale: f64,
    /// Start with Lab 4.4's bug deployed (zero-decimal currencies rejected).
    #[arg(long)]
    pub with_bug: bool,
}

/// This lab's namespace on a shared broker.
const LAB: Lab = Lab::Lab44;

impl ServiceConfig {
    /// Seed 001's backoff: retry n waits min(initial × 2^(n-1), max).
    pub fn backoff(&self) -> BackoffPolicy {
        BackoffPolicy {
            strategy: BackoffStrategy::Exponential {
                initial: Duration::from_millis(self.retry_backoff_ms),
                multiplier: 2.0,
                max: Duration::from_millis(self.max_backoff_ms),
            },
            max_retries: self.max_retries,
        }
    }

    /// Lab 4.3's pipeline, set up as this service runs it: its names, its
    /// backoff, parked replays.
    pub fn pipeline(&self) -> Pipeline {
        let scale = TimeScale::new(self.time_scale);
        let mix = self
            .failure_mix
            .clone()
            .unwrap_or_else(|| FailureMix::from_rate(self.failure_rate));
        let gateway = Gateway::new(mix).with_time_scale(scale);
        gateway.switches.set_zero_decimal_bug(self.with_bug);
        let mut pipeline = Pipeline::new(&self.topic, self.backoff(), gateway);
        if let Some(dlq) = &self.dlq_topic {
            pipeline.dlq_topic = dlq.clone();
        }
        pipeline.consumer_group = self.group.clone();
        pipeline.processor_group_prefix = format!("{}-retry", self.group);
        pipeline.extensions.parking_topic = Some(parking_topic(&self.topic));
        pipeline.timeouts = GroupTimeouts::PRODUCTION;
        pipeline
    }

    /// Settings for a test or a scenario: everything named after `topic`, an
    /// ephemeral port, short backoffs, a fast bank.
    pub fn for_run(topic: &str, admin_token: &str) -> ServiceConfig {
        ServiceConfig {
            topic: topic.to_string(),
            dlq_topic: None,
            max_retries: 3,
            retry_backoff_ms: 200,
            max_backoff_ms: 1000,
            group: format!("{topic}-service"),
            partitions: 3,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: Some(admin_token.to_string()),
            alert_dlq_rate: 0.10,
            alert_min_outcomes: 10,
            alert_max_lag: 1000,
            failure_rate: 0.0,
            failure_mix: None,
            time_scale: 0.1,
            with_bug: false,
        }
    }
}

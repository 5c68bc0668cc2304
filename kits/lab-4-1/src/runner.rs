//! The `fragile-consumer` binary's `main`: the seed's `python fragile_consumer.py`
//! terminal. Pair it with `cargo run -p harness --bin produce-payments -- --lab lab-4-1`.
//! Its defaults are Lab 4.1's own names (`lab-4-1.payment_requests`, group
//! `lab-4-1.fragile-payment-processor`: see `harness::labs`), so another lab's
//! records on the same broker are never consumed here.
//!
//! Delivery guarantee: none worth the name. A payment that fails 3 attempts is
//! committed past and lost; a payment in flight when the member is thrown out of
//! its group is processed again by another member. Limits: one record at a time,
//! blocking sleeps on the polling thread. This is the anti-pattern of Lab 4.1.

use crate::fragile_consumer::{run, FragileConsumerConfig, DEFAULT_GROUP};
use clap::Parser;
use harness::args::{exit_on_error, fraction, time_scale, BrokerArgs};
use harness::gateway::{FailureMix, Gateway};
use harness::labs::Lab;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::{outcomes_topic, OutcomeReporter};
use harness::topics::create_topics;
use harness::{Purpose, TimeScale};

/// This lab's namespace on a shared broker.
const LAB: Lab = Lab::Lab41;

#[derive(Parser)]
#[command(about = "Run the seed's fragile consumer (blocking retries) until Ctrl-C")]
struct Args {
    /// The topic to consume (produce to it with `produce-payments --lab lab-4-1`).
    #[arg(long, env = "KAFKA_TOPIC", default_value_t = LAB.topic())]
    topic: String,
    /// The consumer group (the seed's name, in Lab 4.1's namespace).
    #[arg(long, default_value_t = LAB.name(DEFAULT_GROUP))]
    group: String,
    /// Gateway failure rate, from 0 to 1 (the seed: 0.3).
    #[arg(long, default_value_t = LAB.consumer_failure_rate(), value_parser = fraction)]
    failure_rate: f64,
    /// Time scale (1 = the seed's real sleeps).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 1.0, value_parser = time_scale)]
    time_scale: f64,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// Run the fragile consumer until Ctrl-C, then print what it did. An error is
/// printed as one line and ends the process with status 1
/// ([`exit_on_error`]), so this returns only on success.
pub async fn fragile_consumer_main() -> anyhow::Result<()> {
    harness::init_tracing();
    let args = Args::parse();
    exit_on_error(fragile_consumer(args).await);
    Ok(())
}

async fn fragile_consumer(args: Args) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let outcomes = outcomes_topic(&args.topic);
    create_topics(&broker, &[(&args.topic, 3), (&outcomes, 1)]).await?;
    let mix = FailureMix::from_rate(args.failure_rate);
    let gateway = Gateway::new(mix).with_time_scale(TimeScale::new(args.time_scale));
    let mut config =
        FragileConsumerConfig::new(&args.topic, &args.group, "fragile-consumer", gateway);
    config.echo = true;
    let reporter = OutcomeReporter::new(&broker, &outcomes)?;
    let stop = harness::cli::stop_on_ctrl_c();
    println!(
        "fragile consumer: group {}, topic {}; Ctrl-C to stop",
        args.group, args.topic
    );
    let stats = tokio::task::spawn_blocking(move || {
        run(&broker, &config, &reporter, RebalanceLog::default(), &stop)
    })
    .await??;
    println!("{stats:#?}");
    Ok(())
}

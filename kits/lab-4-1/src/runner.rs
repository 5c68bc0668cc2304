//! The `fragile-consumer` binary's `main`: the seed's `python fragile_consumer.py`
//! terminal. Pair it with `cargo run -p harness --bin produce-payments`.
//!
//! Delivery guarantee: none worth the name. A payment that fails 3 attempts is
//! committed past and lost; a payment in flight when the member is thrown out of
//! its group is processed again by another member. Limits: one record at a time,
//! blocking sleeps on the polling thread. This is the anti-pattern of Lab 4.1.

use crate::fragile_consumer::{run, FragileConsumerConfig, DEFAULT_GROUP};
use clap::Parser;
use harness::gateway::{FailureMix, Gateway};
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::{outcomes_topic, OutcomeReporter};
use harness::topics::create_topics;
use harness::{Purpose, TimeScale};

#[derive(Parser)]
#[command(about = "Run the seed's fragile consumer (blocking retries) until Ctrl-C")]
struct Args {
    #[arg(long, default_value = "payment_requests")]
    topic: String,
    #[arg(long, default_value = DEFAULT_GROUP)]
    group: String,
    /// Gateway failure rate (the seed: 30%).
    #[arg(long, default_value_t = 0.3)]
    failure_rate: f64,
    /// Time scale (1 = the seed's real sleeps).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,
}

/// Run the fragile consumer until Ctrl-C, then print what it did.
pub async fn fragile_consumer_main() -> anyhow::Result<()> {
    harness::init_tracing();
    let args = Args::parse();
    let broker = harness::broker::resolve(Purpose::Run).await?;
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

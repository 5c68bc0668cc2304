//! The `main` of the lab's `windowed-consumer` binary, generic over the
//! [`Exercise`], so the starter and the reference solution share it.
//!
//! Its defaults are Lab 4.6's own names (`lab-4-6.payment_requests`, its `-dlq`
//! and `-outcomes`, group `lab-4-6.windowed-payment-processor`: see
//! `harness::labs`). At thousands of payments a second a line per payment would
//! be the bottleneck, so it prints one progress line a second instead (per
//! payment lines: `RUST_LOG=payment=debug`), and the summary table on Ctrl-C.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use harness::args::{exit_on_error, fraction, time_scale, BrokerArgs};
use harness::dead_letter::dlq_topic;
use harness::gateway::{FailureMix, Gateway};
use harness::labs::Lab;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::{outcomes_topic, OutcomeReporter};
use harness::topics::create_topics;
use harness::{Purpose, TimeScale};

use crate::config::{WindowedConfig, DEFAULT_GROUP};
use crate::consumer::run;
use crate::stats::WindowedStats;
use crate::Exercise;

/// This lab's namespace on a shared broker.
const LAB: Lab = Lab::Lab46;

#[derive(Parser)]
#[command(
    about = "Run the windowed consumer (records in flight per partition, the committable prefix committed) until Ctrl-C"
)]
struct ConsumerArgs {
    /// The topic to consume (produce to it with `produce-payments --lab lab-4-6`).
    #[arg(long, env = "KAFKA_TOPIC", default_value_t = LAB.topic())]
    topic: String,
    /// The DLQ topic; default `<topic>-dlq`.
    #[arg(long, env = "KAFKA_DLQ_TOPIC")]
    dlq_topic: Option<String>,
    /// The consumer group (in Lab 4.6's namespace).
    #[arg(long, default_value_t = LAB.name(DEFAULT_GROUP))]
    group: String,
    /// Gateway failure rate, from 0 to 1 (the measurements: 0.3).
    #[arg(long, default_value_t = LAB.consumer_failure_rate(), value_parser = fraction)]
    failure_rate: f64,
    /// Time scale of the gateway's 100 ms processing time (1 = the seed's; 0 = free).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 0.1, value_parser = time_scale)]
    time_scale: f64,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `windowed-consumer`.
pub async fn consumer_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    exit_on_error(consume::<E>(ConsumerArgs::parse()).await);
    Ok(())
}

async fn consume<E: Exercise>(args: ConsumerArgs) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let dlq = args.dlq_topic.unwrap_or_else(|| dlq_topic(&args.topic));
    let outcomes = outcomes_topic(&args.topic);
    create_topics(&broker, &[(&args.topic, 3), (&dlq, 3), (&outcomes, 1)]).await?;
    let gateway = Gateway::new(FailureMix::from_rate(args.failure_rate))
        .with_time_scale(TimeScale::new(args.time_scale));
    let config = WindowedConfig::new(&args.topic, &dlq, &args.group, "windowed-consumer", gateway);
    let reporter = OutcomeReporter::new(&broker, &outcomes)?;
    let stats = Arc::new(WindowedStats::default());
    let stop = harness::cli::stop_on_ctrl_c();
    println!(
        "windowed consumer: group {}, {} -> {} (window {} per partition); Ctrl-C to stop",
        args.group,
        args.topic,
        dlq,
        E::WINDOW
    );
    let progress = tokio::spawn(print_progress(stats.clone()));
    run::<E>(
        &broker,
        &config,
        &reporter,
        stats.clone(),
        RebalanceLog::default(),
        stop,
    )
    .await?;
    progress.abort();
    println!("{}", stats.summary());
    Ok(())
}

/// One line a second while records flow: how many, and how fast.
async fn print_progress(stats: Arc<WindowedStats>) {
    let mut last = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let done =
            stats.processed.load(Ordering::Relaxed) + stats.dead_lettered.load(Ordering::Relaxed);
        if done != last {
            println!(
                "{done} payments done ({} processed, {} dead-lettered), {}/s; {} forwards retried, {} records parked (window full), {} pauses (backlog full too)",
                stats.processed.load(Ordering::Relaxed),
                stats.dead_lettered.load(Ordering::Relaxed),
                done - last,
                stats.forward_failures.load(Ordering::Relaxed),
                stats.parked.load(Ordering::Relaxed),
                stats.pauses.load(Ordering::Relaxed),
            );
            last = done;
        }
    }
}

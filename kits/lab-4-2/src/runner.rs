//! The `main`s of the lab's binaries, generic over the [`Exercise`], so the
//! starter and the reference solution share them.
//!
//! Their defaults are Lab 4.2's own names (`lab-4-2.payment_requests`, its
//! `-dlq`, group `lab-4-2.dlq-payment-processor`: see `harness::labs`), so
//! another lab's records on the same broker are never consumed here. Each `main`
//! prints an error as one line and exits with status 1 ([`exit_on_error`]).

use clap::Parser;
use harness::args::{exit_on_error, fraction, time_scale, BrokerArgs};
use harness::dead_letter::dlq_topic;
use harness::gateway::{FailureMix, Gateway};
use harness::labs::Lab;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::{outcomes_topic, OutcomeReporter};
use harness::topics::create_topics;
use harness::{Purpose, TimeScale};

use crate::analyzer::analyze;
use crate::dlq_consumer::{run, DlqConsumerConfig, DlqStats, DEFAULT_GROUP};

use crate::Exercise;

/// This lab's namespace on a shared broker.
const LAB: Lab = Lab::Lab42;

#[derive(Parser)]
#[command(
    about = "Run the DLQ consumer (one attempt per payment, failures to the DLQ) until Ctrl-C"
)]
struct ConsumerArgs {
    /// The topic to consume (produce to it with `produce-payments --lab lab-4-2`).
    #[arg(long, env = "KAFKA_TOPIC", default_value_t = LAB.topic())]
    topic: String,
    /// The DLQ topic (seed 001's KAFKA_DLQ_TOPIC); default `<topic>-dlq`.
    #[arg(long, env = "KAFKA_DLQ_TOPIC")]
    dlq_topic: Option<String>,
    /// The consumer group (the seed's name, in Lab 4.2's namespace).
    #[arg(long, default_value_t = LAB.name(DEFAULT_GROUP))]
    group: String,
    /// Gateway failure rate, from 0 to 1 (seed 000 Lab 4.2: 0.2).
    #[arg(long, default_value_t = LAB.consumer_failure_rate(), value_parser = fraction)]
    failure_rate: f64,
    /// Time scale of the gateway's 100 ms processing time (1 = the seed's).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 1.0, value_parser = time_scale)]
    time_scale: f64,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `dlq-consumer`: the seed's `python dlq_consumer.py` terminal.
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
    let config = DlqConsumerConfig {
        topic: args.topic.clone(),
        dlq_topic: dlq.clone(),
        group_id: args.group.clone(),
        member: "dlq-consumer".into(),
        gateway: Gateway::new(FailureMix::from_rate(args.failure_rate))
            .with_time_scale(TimeScale::new(args.time_scale)),
    };
    let reporter = OutcomeReporter::new(&broker, &outcomes)?;
    let stats = std::sync::Arc::new(DlqStats::default());
    let stop = harness::cli::stop_on_ctrl_c();
    println!(
        "DLQ consumer: group {}, {} -> {}; Ctrl-C to stop",
        args.group, args.topic, dlq
    );
    run::<E>(
        &broker,
        &config,
        &reporter,
        stats.clone(),
        RebalanceLog::default(),
        stop,
    )
    .await?;
    println!("{}", stats.summary());
    Ok(())
}

#[derive(Parser)]
#[command(about = "Analyze a DLQ from the beginning; stops once drained")]
struct AnalyzerArgs {
    /// The live topic whose DLQ (`<topic>-dlq`) to analyze.
    #[arg(long, env = "KAFKA_TOPIC", default_value_t = LAB.topic())]
    topic: String,
    /// The DLQ to analyze (seed 001's KAFKA_DLQ_TOPIC); default `<topic>-dlq`.
    #[arg(long, env = "KAFKA_DLQ_TOPIC")]
    dlq_topic: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `dlq-analyzer`: the seed's `python dlq_analyzer.py`.
pub async fn analyzer_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    exit_on_error(analyze_dlq::<E>(AnalyzerArgs::parse()).await);
    Ok(())
}

async fn analyze_dlq<E: Exercise>(args: AnalyzerArgs) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let dlq = args.dlq_topic.unwrap_or_else(|| dlq_topic(&args.topic));
    let report = analyze::<E>(&broker, &dlq).await?;
    println!(
        "{}",
        if args.json {
            report.render_json()
        } else {
            report.render_table()
        }
    );
    Ok(())
}

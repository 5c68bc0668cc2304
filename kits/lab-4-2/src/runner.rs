//! The `main`s of the lab's binaries, generic over the [`Exercise`], so the
//! starter and the reference solution share them.

use clap::Parser;
use harness::dead_letter::dlq_topic;
use harness::gateway::{FailureMix, Gateway};
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::{outcomes_topic, OutcomeReporter};
use harness::topics::create_topics;
use harness::{Purpose, TimeScale};

use crate::analyzer::analyze;
use crate::dlq_consumer::{run, DlqConsumerConfig, DlqStats, DEFAULT_GROUP};

use crate::Exercise;

#[derive(Parser)]
#[command(
    about = "Run the DLQ consumer (one attempt per payment, failures to the DLQ) until Ctrl-C"
)]
struct ConsumerArgs {
    #[arg(long, default_value = "payment_requests")]
    topic: String,
    /// The DLQ topic (seed 001's KAFKA_DLQ_TOPIC); default `<topic>-dlq`.
    #[arg(long, env = "KAFKA_DLQ_TOPIC")]
    dlq_topic: Option<String>,
    #[arg(long, default_value = DEFAULT_GROUP)]
    group: String,
    /// Gateway failure rate (seed 000 Lab 4.2: 20%).
    #[arg(long, default_value_t = 0.2)]
    failure_rate: f64,
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 1.0)]
    time_scale: f64,
}

/// `dlq-consumer`: the seed's `python dlq_consumer.py` terminal.
pub async fn consumer_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    let args = ConsumerArgs::parse();
    let broker = harness::broker::resolve(Purpose::Run).await?;
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
        &stats,
        RebalanceLog::default(),
        &stop,
    )
    .await?;
    println!("{stats:#?}");
    Ok(())
}

#[derive(Parser)]
#[command(about = "Analyze a DLQ from the beginning; stops once drained")]
struct AnalyzerArgs {
    #[arg(long, env = "KAFKA_DLQ_TOPIC", default_value = "payment_requests-dlq")]
    dlq_topic: String,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

/// `dlq-analyzer`: the seed's `python dlq_analyzer.py`.
pub async fn analyzer_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    let args = AnalyzerArgs::parse();
    let broker = harness::broker::resolve(Purpose::Run).await?;
    let report = analyze::<E>(&broker, &args.dlq_topic).await?;
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

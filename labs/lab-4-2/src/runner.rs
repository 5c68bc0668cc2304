//! The `main`s of the lab's binaries, generic over the [`Exercise`], so the
//! starter and the reference solution share them.

use std::time::Duration;

use clap::Parser;
use harness::dead_letter::dlq_topic;
use harness::gateway::{FailureMix, Gateway};
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::{outcomes_topic, OutcomeReporter};
use harness::payments::PoisonRates;
use harness::topics::create_topics;
use harness::{Purpose, TimeScale};

use crate::analyzer::analyze;
use crate::dlq_consumer::{run, DlqConsumerConfig, DlqStats, DEFAULT_GROUP};
use crate::scenario::{checklist, DlqRun};
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

#[derive(Parser)]
#[command(about = "Lab 4.2: produce payments, run the DLQ consumer, analyze the DLQ")]
struct ScenarioArgs {
    #[arg(long, default_value_t = 100)]
    count: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Time scale of the gateway's processing time (1 = the seed's 100 ms).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 0.2)]
    time_scale: f64,
}

/// `cargo run -p lab-4-2`: the whole scenario.
pub async fn scenario_main<E: Exercise>(exercise_file: &str) -> anyhow::Result<()> {
    harness::init_tracing();
    let args = ScenarioArgs::parse();
    let broker = harness::broker::resolve(Purpose::Run).await?;
    let progress = harness::cli::spinner();

    progress.set_message(format!(
        "1/3 producing {} payments (20% failures + poison pills) and running the DLQ consumer",
        args.count
    ));
    let run = DlqRun::start::<E>(
        &broker,
        args.seed,
        args.count,
        PoisonRates::each(0.02),
        FailureMix::with_failure_rate(0.2),
        TimeScale::new(args.time_scale),
        true,
    )
    .await?;
    let settled = run.settle(Duration::from_secs(120)).await?;
    progress.set_message("2/3 a failure-free run of the same payments, for the non-blocking ratio");
    let baseline = DlqRun::start::<E>(
        &broker,
        args.seed,
        args.count,
        PoisonRates::NONE,
        FailureMix::none(),
        TimeScale::new(args.time_scale),
        true,
    )
    .await?
    .settle(Duration::from_secs(120))
    .await?;
    progress.set_message("3/3 analyzing the DLQ");
    let report = analyze::<E>(&broker, &settled.dlq_topic).await?;
    progress.finish_and_clear();

    println!("{}", report.render_table());
    println!("{}", checklist(&settled, &baseline, &report, exercise_file));
    Ok(())
}

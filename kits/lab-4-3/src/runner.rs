//! The `main`s of the lab's binaries, generic over the [`Exercise`], so the
//! starter and the reference solution share them.
//!
//! Their defaults are Lab 4.3's own names (`lab-4-3.payment_requests`, its
//! `-retry-N` and `-dlq`, groups `lab-4-3.retry-payment-processor` and
//! `lab-4-3.retry-processor-N`: see `harness::labs`), so another lab's records
//! on the same broker are never consumed here. Each `main` prints an error as
//! one line and exits with status 1 ([`exit_on_error`]).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser};
use harness::args::{exit_on_error, fraction, time_scale, BrokerArgs};
use harness::backoff::BackoffPolicy;
use harness::gateway::{FailureMix, Gateway};
use harness::labs::Lab;
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::topics::create_topics;
use harness::{Broker, Purpose, TimeScale};

use crate::pipeline::{Pipeline, PipelineStats, PARTITIONS};

use crate::{retry_consumer, retry_processor, Exercise};

/// This lab's namespace on a shared broker.
const LAB: Lab = Lab::Lab43;

/// What the seed's terminals share: the topics, the policy, the failure rate.
#[derive(Args, Debug, Clone)]
struct PipelineArgs {
    /// The live topic (produce to it with `produce-payments --lab lab-4-3`); the
    /// retry topics are `<topic>-retry-N`.
    #[arg(long, env = "KAFKA_TOPIC", default_value_t = LAB.topic())]
    topic: String,
    /// The DLQ (seed 001's KAFKA_DLQ_TOPIC); default `<topic>-dlq`.
    #[arg(long, env = "KAFKA_DLQ_TOPIC")]
    dlq_topic: Option<String>,
    /// Backoff policy: one retry level per retry. Seed 000's levels, or one of seed
    /// 003's strategies: immediate, fixed:1s, exponential:1s,x2,max=60s,
    /// jitter:1s,x2,max=60s,20% (three retries unless levels says otherwise).
    #[arg(long, default_value = "levels:5s,15s,60s")]
    backoff: BackoffPolicy,
    /// Gateway failure rate, from 0 to 1 (seed 000 Lab 4.3: 0.2, half permanent,
    /// half transient).
    #[arg(long, default_value_t = LAB.consumer_failure_rate(), value_parser = fraction)]
    failure_rate: f64,
    /// Time scale of the gateway's 100 ms and of every delay (1 = the seed's).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 1.0, value_parser = time_scale)]
    time_scale: f64,
    #[command(flatten)]
    broker: BrokerArgs,
}

impl PipelineArgs {
    fn pipeline(&self) -> Pipeline {
        let scale = TimeScale::new(self.time_scale);
        let gateway = Gateway::new(FailureMix::from_rate(self.failure_rate)).with_time_scale(scale);
        let mut pipeline = Pipeline::new(&self.topic, self.backoff.scaled(scale), gateway);
        if let Some(dlq) = &self.dlq_topic {
            pipeline.dlq_topic = dlq.clone();
        }
        pipeline
    }
}

/// Create every topic of the pipeline that is not there yet.
async fn create_pipeline_topics(broker: &Broker, pipeline: &Pipeline) -> anyhow::Result<()> {
    let topics = pipeline.topics(PARTITIONS);
    let refs: Vec<(&str, i32)> = topics.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    create_topics(broker, &refs).await
}

/// Print the progress line every second until `stop`.
pub fn show_progress(
    stats: Arc<PipelineStats>,
    levels: u32,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    drop(spawn_progress(stats, levels, stop));
}

/// [`show_progress`], with the task to await once `stop` is raised, so the
/// spinner's last line is out before a summary table is printed below it.
fn spawn_progress(
    stats: Arc<PipelineStats>,
    levels: u32,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let progress = harness::cli::spinner();
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            progress.set_message(stats.progress_line(levels));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        harness::cli::finish(&progress, stats.progress_line(levels));
    })
}

#[derive(Parser)]
#[command(
    about = "The retry consumer (seed 000's retry_consumer.py): one attempt per payment, failures to the retry topics or the DLQ, until Ctrl-C"
)]
struct ConsumerArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// The live topic's consumer group (the seed's name, in Lab 4.3's namespace).
    #[arg(long, default_value_t = LAB.name(crate::pipeline::CONSUMER_GROUP))]
    group: String,
}

/// `retry-consumer`: the seed's `python retry_consumer.py` terminal.
pub async fn consumer_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    exit_on_error(consume::<E>(ConsumerArgs::parse()).await);
    Ok(())
}

async fn consume<E: Exercise>(args: ConsumerArgs) -> anyhow::Result<()> {
    let broker = args.pipeline.broker.resolve(Purpose::Run).await?;
    let mut pipeline = args.pipeline.pipeline();
    pipeline.consumer_group = args.group;
    create_pipeline_topics(&broker, &pipeline).await?;
    println!(
        "retry consumer: group {}, {} -> retry levels ({}) or {}; Ctrl-C to stop",
        pipeline.consumer_group, pipeline.topic, pipeline.policy, pipeline.dlq_topic
    );
    let reporter = OutcomeReporter::new(&broker, &pipeline.outcomes_topic())?;
    let stats = Arc::new(PipelineStats::new(pipeline.levels()));
    let stop = harness::cli::stop_on_ctrl_c();
    let progress = spawn_progress(stats.clone(), pipeline.levels(), stop.clone());
    retry_consumer::run::<E>(
        &broker,
        &pipeline,
        "retry-consumer",
        &reporter,
        stats.clone(),
        RebalanceLog::default(),
        stop.clone(),
    )
    .await?;
    let _ = progress.await;
    println!("{}", stats.consumer_summary());
    Ok(())
}

#[derive(Parser)]
#[command(
    about = "The retry processors (seed 000's retry_processor.py): each level waits until a record is due, retries it, and forwards failures on; until Ctrl-C"
)]
struct ProcessorArgs {
    #[command(flatten)]
    pipeline: PipelineArgs,
    /// Run only this level (default: every level, in parallel, like the seed's threads).
    #[arg(long)]
    level: Option<u32>,
    /// Level N consumes in group `<prefix>-N` (seed 000: retry-processor-1, -2,
    /// -3, here in Lab 4.3's namespace).
    #[arg(long, default_value_t = LAB.name(crate::pipeline::PROCESSOR_GROUP_PREFIX))]
    group_prefix: String,
}

/// `retry-processor`: the seed's `python retry_processor.py` terminal.
pub async fn processor_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    exit_on_error(process::<E>(ProcessorArgs::parse()).await);
    Ok(())
}

async fn process<E: Exercise>(args: ProcessorArgs) -> anyhow::Result<()> {
    let broker = args.pipeline.broker.resolve(Purpose::Run).await?;
    let mut pipeline = args.pipeline.pipeline();
    pipeline.processor_group_prefix = args.group_prefix;
    let pipeline = Arc::new(pipeline);
    let levels: Vec<u32> = match args.level {
        Some(level) if (1..=pipeline.levels()).contains(&level) => vec![level],
        Some(level) => anyhow::bail!(
            "--level {level}: the policy {} has levels 1 to {}",
            pipeline.policy,
            pipeline.levels()
        ),
        None => (1..=pipeline.levels()).collect(),
    };
    create_pipeline_topics(&broker, &pipeline).await?;
    let reporter = OutcomeReporter::new(&broker, &pipeline.outcomes_topic())?;
    let stats = Arc::new(PipelineStats::new(pipeline.levels()));
    let stop = harness::cli::stop_on_ctrl_c();
    for &level in &levels {
        println!(
            "🔄 retry processor level {level}: {} (delay {}), group {}",
            pipeline.retry_topic(level),
            humantime::format_duration(pipeline.policy.longest_delay(level).unwrap_or_default()),
            pipeline.processor_group(level)
        );
    }
    let progress = spawn_progress(stats.clone(), pipeline.levels(), stop.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for level in levels.iter().copied() {
        let (broker, pipeline, reporter, stats, stop) = (
            broker.clone(),
            pipeline.clone(),
            reporter.clone(),
            stats.clone(),
            stop.clone(),
        );
        tasks.spawn(async move {
            let member = format!("retry-processor-{level}");
            retry_processor::run_level::<E>(
                &broker,
                &pipeline,
                level,
                &member,
                &reporter,
                stats,
                RebalanceLog::default(),
                stop,
            )
            .await
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    let _ = progress.await;
    println!("{}", stats.levels_summary(&levels));
    Ok(())
}

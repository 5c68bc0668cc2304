//! `cargo run -p lab-4-3`: the lab's whole scenario, its report and its success
//! checklist, generic over the [`Exercise`]. It lives with the grader's judgement
//! (not in the kit) because the checklist must be the very code the criteria use.

use crate::report::{checklist, measurements, outcomes_table};
use crate::scenario::{trace_paths, RetryRun, RunOptions};
use clap::Parser;
use harness::args::{exit_on_error, time_scale, BrokerArgs};
use harness::backoff::BackoffPolicy;
use harness::topics::read_all;
use harness::{Purpose, TimeScale};
use lab_4_3_kit::runner::show_progress;
use lab_4_3_kit::Exercise;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(
    about = "Lab 4.3: non-blocking retries through retry topics; a failure-free baseline, then a run with failures, then the report"
)]
struct ScenarioArgs {
    /// Payments per run.
    #[arg(long, default_value_t = 150)]
    count: usize,
    /// Workload seed: the same seed gives the same payments and the same fates.
    #[arg(long, default_value_t = 43)]
    seed: u64,
    /// Time scale of the gateway's 100 ms and of the 5/15/60 s delays. The default
    /// finishes in about a minute; see --real-delays.
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 0.25, value_parser = time_scale)]
    time_scale: f64,
    /// The seed's real delays (5 s, 15 s, 60 s) and 100 ms gateway: about 3 minutes.
    #[arg(long)]
    real_delays: bool,
    /// Another backoff policy (see `retry-processor --help`).
    #[arg(long, default_value = "levels:5s,15s,60s")]
    backoff: BackoffPolicy,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `cargo run -p lab-4-3`: the whole scenario. An error is printed as one line
/// and ends the process with status 1 ([`exit_on_error`]).
pub async fn scenario_main<E: Exercise>(exercise_file: &str) -> anyhow::Result<()> {
    harness::init_tracing_quiet();
    exit_on_error(scenario::<E>(ScenarioArgs::parse(), exercise_file).await);
    Ok(())
}

async fn scenario<E: Exercise>(args: ScenarioArgs, exercise_file: &str) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let scale = TimeScale::new(if args.real_delays {
        1.0
    } else {
        args.time_scale
    });
    let mut options = RunOptions::seed_lab(args.seed, args.count, scale);
    options.policy = args.backoff.clone();
    println!(
        "Lab 4.3: {} payments, 10% permanent + 10% transient failures + 4% poison, retry levels {} (time scale {})",
        args.count,
        options.policy.scaled(scale),
        scale.factor()
    );

    let progress = harness::cli::spinner();
    progress.set_message("1/3 a failure-free run, for the velocity baseline");
    let baseline = RetryRun::<E>::start(&broker, options.failure_free())
        .await?
        .settle(Duration::from_secs(300))
        .await?;
    harness::cli::finish(
        &progress,
        format!(
            "1/3 baseline: {} payments processed, healthy {}",
            baseline.accounting.processed,
            baseline.healthy_latency().one_line()
        ),
    );

    println!("2/3 the run with failures: processed · waiting per retry level · DLQ");
    let run = RetryRun::<E>::start(&broker, options.clone()).await?;
    let stop_progress = Arc::new(std::sync::atomic::AtomicBool::new(false));
    show_progress(
        run.running.stats.clone(),
        run.pipeline().levels(),
        stop_progress.clone(),
    );
    // Everything has to have gone through every level at worst.
    let longest: Duration = (1..=run.pipeline().levels())
        .filter_map(|level| run.pipeline().policy.longest_delay(level))
        .sum();
    let settled = run.settle(longest * 2 + Duration::from_secs(60)).await;
    stop_progress.store(true, Ordering::Relaxed);
    let settled = settled?;

    if let Some(why) = &settled.timed_out {
        println!("⚠️  stopped waiting: {why}");
    }
    println!("3/3 reading the topics back");
    let paths = trace_paths(&broker, &settled).await?;
    let live = read_all(&broker, &settled.pipeline.topic, Duration::from_secs(60))
        .await?
        .len();
    println!("{}", outcomes_table(&settled));
    println!("{}", measurements(&settled, &baseline));
    let checklist = checklist(
        &settled,
        &baseline,
        &paths,
        live,
        broker.kind.is_real_kafka(),
    );
    println!("{checklist}");
    println!(
        "{}",
        criteria::next::next_step(
            "lab-4-3",
            criteria::next::checklist_passed(&checklist),
            exercise_file
        )
    );
    Ok(())
}

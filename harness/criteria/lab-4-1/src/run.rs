//! `cargo run -p lab-4-1`: the whole scenario with progress output.
//!
//! Shared by the starter and the reference solution's binaries; they differ only
//! in which lag calculation they pass in.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use harness::args::{exit_on_error, time_scale, BrokerArgs};
use harness::gateway::FailureMix;
use harness::{Purpose, TimeScale};
use indicatif::ProgressBar;

use crate::report::Observations;
use crate::scenario::{drain, group_impact, LagFn};
use lab_4_1_kit::Exercise;

#[derive(Parser, Debug)]
#[command(
    about = "Lab 4.1: run the fragile consumer, measure the pain, write problems_observed.md"
)]
pub struct Args {
    /// Payments per run (the seed asks about 10).
    #[arg(long, default_value_t = 10)]
    pub count: usize,
    /// Workload seed; the default gives exactly 3 failing payments in 10.
    #[arg(long, default_value_t = 33)]
    pub seed: u64,
    /// Time scale for processing and backoff (1 = the seed's real seconds).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 1.0, value_parser = time_scale)]
    pub time_scale: f64,
    /// Where to write the report.
    #[arg(long, default_value = "problems_observed.md")]
    pub output: PathBuf,
    /// Skip step 3 (two consumers in one group).
    #[arg(long)]
    pub skip_group_impact: bool,
    #[command(flatten)]
    pub broker: BrokerArgs,
}

fn step(progress: &ProgressBar, message: &str) {
    progress.set_message(message.to_string());
    harness::cli::say(progress, format!("▶ {message}"));
}

/// Run every step, print the summary, write the report. An error is printed as
/// one line and ends the process with status 1 ([`exit_on_error`]).
pub async fn run<E: Exercise>(lag_source: &str) -> anyhow::Result<()> {
    harness::init_tracing_quiet();
    exit_on_error(run_steps::<E>(Args::parse(), lag_source).await);
    Ok(())
}

async fn run_steps<E: Exercise>(args: Args, lag_source: &str) -> anyhow::Result<()> {
    let lag: LagFn = E::consumer_lag;
    let broker = args.broker.resolve(Purpose::Run).await?;
    let time_scale = TimeScale::new(args.time_scale);

    let progress = harness::cli::spinner();

    step(
        &progress,
        &format!(
            "Step 1/3: {} payments, 0% failures (the baseline)",
            args.count
        ),
    );
    let baseline = drain(
        &broker,
        args.seed,
        args.count,
        FailureMix::none(),
        time_scale,
        Some(lag),
    )
    .await?;
    harness::cli::say(
        &progress,
        format!("  drained in {:.2} s", baseline.drain_time.as_secs_f64()),
    );

    step(
        &progress,
        &format!(
            "Step 2/3: the same {} payments, 30% failures, blocking retries",
            args.count
        ),
    );
    let failing = drain(
        &broker,
        args.seed,
        args.count,
        FailureMix::seed_lab_4_1(),
        time_scale,
        Some(lag),
    )
    .await?;
    harness::cli::say(
        &progress,
        format!(
        "  drained in {:.2} s ({} failed attempts, {:.2} s asleep, {} payments skipped for good)",
        failing.drain_time.as_secs_f64(),
        failing.stats.failed_attempts,
        failing.stats.time_sleeping.as_secs_f64(),
        failing.stats.skipped
    ),
    );

    let group = if args.skip_group_impact {
        None
    } else {
        step(
            &progress,
            "Step 3/3: two consumers in one group, max.poll.interval.ms=1500, a 3 s retry loop",
        );
        let impact = group_impact(&broker, args.seed, Duration::from_secs(30)).await?;
        harness::cli::say(
            &progress,
            match impact.takeover_after {
                Some(after) => format!(
                    "  {} took over partition 0 after {:.2} s while {} slept ({} rebalance events)",
                    impact.healthy_member,
                    after.as_secs_f64(),
                    impact.stuck_member,
                    impact.events.len()
                ),
                None => "  no takeover observed within 30 s".to_string(),
            },
        );
        Some(impact)
    };
    progress.finish_and_clear();

    let observations = Observations {
        broker: &broker,
        baseline: &baseline,
        failing: &failing,
        group: group.as_ref(),
        time_scale: time_scale.factor(),
        lag_source,
    };
    println!("{}", observations.summary());
    std::fs::write(&args.output, observations.markdown())?;
    println!(
        "Wrote {} — now add your explanations to it.",
        args.output.display()
    );
    // The graded work of this lab is the lag: until it is measured, that file
    // is the next thing to edit.
    let lag_measured = failing.lag_samples.iter().any(|s| s.total_lag > 0);
    println!(
        "{}",
        criteria::next::next_step("lab-4-1", lag_measured, lag_source)
    );
    Ok(())
}

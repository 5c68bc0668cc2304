//! `cargo run -p lab-4-2`: the lab's whole scenario, its report and its success
//! checklist, generic over the [`Exercise`]. It lives with the grader's judgement
//! (not in the kit) because the checklist must be the very code the criteria use.

use crate::scenario::{checklist, DlqRun};
use clap::Parser;
use harness::args::{exit_on_error, time_scale, BrokerArgs};
use harness::gateway::FailureMix;
use harness::payments::PoisonRates;
use harness::{Purpose, TimeScale};
use lab_4_2_kit::analyzer::analyze;
use lab_4_2_kit::Exercise;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Lab 4.2: produce payments, run the DLQ consumer, analyze the DLQ")]
struct ScenarioArgs {
    /// Payments per run (seed 000 Lab 4.2: 100).
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Workload seed: the same seed gives the same payments and the same fates.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Time scale of the gateway's processing time (1 = the seed's 100 ms).
    #[arg(long, env = "LAB_TIME_SCALE", default_value_t = 0.2, value_parser = time_scale)]
    time_scale: f64,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `cargo run -p lab-4-2`: the whole scenario. An error is printed as one line
/// and ends the process with status 1 ([`exit_on_error`]).
pub async fn scenario_main<E: Exercise>(exercise_file: &str) -> anyhow::Result<()> {
    harness::init_tracing_quiet();
    exit_on_error(scenario::<E>(ScenarioArgs::parse(), exercise_file).await);
    Ok(())
}

async fn scenario<E: Exercise>(args: ScenarioArgs, exercise_file: &str) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
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
    let checklist = checklist(&settled, &baseline, &report);
    println!("{checklist}");
    println!(
        "{}",
        criteria::next::next_step(
            "lab-4-2",
            criteria::next::checklist_passed(&checklist),
            exercise_file
        )
    );
    Ok(())
}

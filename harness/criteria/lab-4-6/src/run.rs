//! `cargo run -p lab-4-6`: the tracker's properties, the throughput against the
//! raw baselines, a run through a DLQ outage, and the success checklist,
//! generic over the [`Exercise`]. It lives with the grader's judgement (not in
//! the kit) because the checklist must be the very code the criteria use.

use std::time::Duration;

use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::topics::create_topics;
use harness::{wait, Purpose, TimeScale};
use lab_4_6_kit::stats::WindowedStats;
use lab_4_6_kit::Exercise;

use crate::properties;
use crate::scenario::{WindowedRun, FAILURE_RATE, PARTITIONS, THROUGHPUT_FLOOR};
use crate::throughput::{self, Throughput};

/// The ratio the issue sets as the target (the floor is what is graded).
pub const THROUGHPUT_TARGET: f64 = 0.5;

#[derive(Parser)]
#[command(
    about = "Lab 4.6: the tracker's properties, throughput against the raw baselines, a DLQ outage"
)]
struct ScenarioArgs {
    /// Payments in the outage run.
    #[arg(long, default_value_t = 2000)]
    count: usize,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `cargo run -p lab-4-6`: the whole scenario. An error is printed as one line
/// and ends the process with status 1 ([`exit_on_error`]).
pub async fn scenario_main<E: Exercise>(exercise_file: &str) -> anyhow::Result<()> {
    harness::init_tracing_quiet();
    exit_on_error(scenario::<E>(ScenarioArgs::parse(), exercise_file).await);
    Ok(())
}

/// What the outage run observed, for the checklist.
struct OutageRun {
    lost: usize,
    duplicates: usize,
    forward_failures: u64,
    payments: usize,
}

async fn scenario<E: Exercise>(args: ScenarioArgs, exercise_file: &str) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let progress = harness::cli::spinner();
    progress.set_message(
        "1/3 checking the tracker against the model (named scripts, then random ones)",
    );
    let tracker = properties::check::<E::Tracker>();
    progress.set_message(format!(
        "2/3 throughput: the raw baselines, then the windowed consumer (window {}), {} payments each",
        E::WINDOW,
        throughput::PAYMENTS
    ));
    let measured = throughput::measure::<E>(&broker, FAILURE_RATE).await?;
    progress.set_message(format!(
        "3/3 {} payments through a DLQ outage (the DLQ appears after the first failed forward)",
        args.count
    ));
    let outage = outage_run::<E>(&broker, args.count).await?;
    progress.finish_and_clear();

    println!("{}", throughput_table(&measured));
    let checklist = checklist::<E>(&tracker, &measured, &outage);
    println!("{checklist}");
    println!(
        "{}",
        criteria::next::next_step(
            "lab-4-6",
            criteria::next::checklist_passed(&checklist),
            exercise_file
        )
    );
    Ok(())
}

async fn outage_run<E: Exercise>(
    broker: &harness::Broker,
    count: usize,
) -> anyhow::Result<OutageRun> {
    let run = WindowedRun::start::<E>(broker, 46, count, TimeScale::new(0.01), false, true).await?;
    wait::until(
        "a forward to fail (the DLQ does not exist yet)",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || match run
            .stats()
            .map(|s| WindowedStats::count(&s.forward_failures))
        {
            Some(n) if n > 0 => Ok(()),
            _ => Err("no failed forward yet".to_string()),
        },
    )
    .await?;
    create_topics(broker, &[(&run.dlq_topic, PARTITIONS)]).await?;
    let settled = run.settle(Duration::from_secs(120)).await?;
    Ok(OutageRun {
        lost: settled.accounting.lost(),
        duplicates: settled.accounting.duplicates,
        forward_failures: settled.forward_failures,
        payments: settled.accounting.expected,
    })
}

fn throughput_table(measured: &Throughput) -> String {
    let mut table = harness::measure::summary::table(&[
        "loop (release build for real figures)",
        "payments/s",
        "ratio",
    ]);
    table.add_row(vec![
        "consume and commit (the ceiling)".to_string(),
        format!("{:.0}", measured.ceiling),
        String::new(),
    ]);
    table.add_row(vec![
        "consume, produce one record each, commit after the acks (the fair baseline)".to_string(),
        format!("{:.0}", measured.fair_baseline),
        "1".to_string(),
    ]);
    table.add_row(vec![
        format!(
            "windowed consumer, window {}, {:.0}% failures, free gateway",
            measured.window,
            measured.failure_rate * 100.0
        ),
        format!("{:.0}", measured.windowed),
        format!(
            "{:.3} (target {THROUGHPUT_TARGET}, floor {THROUGHPUT_FLOOR})",
            measured.ratio()
        ),
    ]);
    table.to_string()
}

fn checklist<E: Exercise>(
    tracker: &Result<properties::Covered, properties::Violation>,
    measured: &Throughput,
    outage: &OutageRun,
) -> String {
    let bound = E::WINDOW * PARTITIONS as usize;
    let items = [
        (
            Some(tracker.is_ok()),
            match tracker {
                Ok(covered) => format!(
                    "the tracker never commits past an unfinished record and always commits the whole finished prefix ({} named scripts, {} random ones)",
                    covered.named, covered.random
                ),
                Err(violation) => format!("the tracker {}: {violation}", violation.property),
            },
        ),
        (
            Some(measured.ratio() >= THROUGHPUT_FLOOR),
            format!(
                "throughput: {:.0}/s, {:.3} of the fair baseline's {:.0}/s (floor {THROUGHPUT_FLOOR}, target {THROUGHPUT_TARGET})",
                measured.windowed,
                measured.ratio(),
                measured.fair_baseline
            ),
        ),
        (
            (outage.payments > 0).then_some(outage.lost == 0),
            format!(
                "through a DLQ outage: zero payments lost ({} lost of {}; {} forwards retried in place)",
                outage.lost, outage.payments, outage.forward_failures
            ),
        ),
        (
            (outage.payments > 0).then_some(outage.duplicates <= bound),
            format!(
                "duplicates bounded by the window: {} (at most {} = window {} x {PARTITIONS} partitions)",
                outage.duplicates,
                bound,
                E::WINDOW
            ),
        ),
    ];
    criteria::next::render_checklist(&items)
}

//! `cargo run --release -p lab-4-4-solution --bin replay-rate`: how fast a replay
//! gets through a DLQ, for two replay loops on the same broker in the same run:
//!
//! - **one at a time**: each dead letter sent, its ack awaited, its journal entry
//!   written and acknowledged, then the next (the reference before issue 14);
//! - **windowed**: the reference solution, up to `REPLAY_WINDOW` replays in
//!   flight, each journaled once its own send is acknowledged.
//!
//! Each run gets a fresh pipeline whose DLQ holds `--dead-letters` seeded dead
//! letters, and is timed from the replay's start (reading the DLQ and the
//! journal) to its summary. It reports records per second and the ratio.
//!
//! Delivery guarantee: both loops replay each dead letter at least once and
//! journal it only after its ack (a crash in between replays it again, never
//! loses it); every topic is the run's own. Limits: the embedded broker's timings
//! are indicative only; set `KAFKA_BOOTSTRAP_SERVERS` for a real one, and build
//! with `--release` for figures worth quoting.

use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::Purpose;
use lab_4_4_criteria::replay_rate::{replay_rate, ReplayRate};
use lab_4_4_kit::dlq::DlqEntry;
use lab_4_4_kit::purge::{DlqView, PurgeError, PurgePlan, PurgeRequest};
use lab_4_4_kit::replay::{Replay, ReplayError, ReplayRecord, ReplayRun, ReplaySummary};
use lab_4_4_kit::Exercise;
use lab_4_4_solution::{Solution, REPLAY_WINDOW};

#[derive(Parser)]
#[command(about = "Measure Lab 4.4's replay rate, one at a time against windowed")]
struct Args {
    /// Dead letters on each run's DLQ. Reading the DLQ and the journal costs
    /// the same whatever the loop, so a small DLQ hides the difference.
    #[arg(long, default_value_t = 20_000)]
    dead_letters: usize,
    /// Runs of each loop (the report shows the median).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// The reference replay as it was before issue 14: the same decisions as
/// [`Solution`], one round trip per send and one per journal entry.
struct OneAtATime;

impl Exercise for OneAtATime {
    fn replay_record(entry: &DlqEntry, run: &ReplayRun) -> Result<ReplayRecord, ReplayError> {
        Solution::replay_record(entry, run)
    }

    async fn replay(replay: &Replay<'_>) -> anyhow::Result<ReplaySummary> {
        let mut summary = replay.summary();
        let target = replay.first_retry_topic();
        for entry in replay.selected() {
            if replay.already_replayed(entry) {
                summary.already_replayed += 1;
                continue;
            }
            let Ok(record) = Self::replay_record(entry, replay.run()) else {
                summary.not_replayable += 1;
                continue;
            };
            if !replay.dry_run() {
                let delivered = replay.send(&target, &record).await?;
                replay.record_replayed(entry, &delivered).await?;
            }
            summary.replayed += 1;
            summary.payment_ids.push(entry.payment_id());
        }
        Ok(summary)
    }

    fn purge_plan(request: &PurgeRequest, dlq: &DlqView<'_>) -> Result<PurgePlan, PurgeError> {
        Solution::purge_plan(request, dlq)
    }
}

#[tokio::main]
async fn main() {
    harness::init_tracing_quiet();
    exit_on_error(measure(Args::parse()).await)
}

async fn measure(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    let broker = args.broker.resolve(Purpose::Run).await?;
    let mut one_at_a_time = Vec::new();
    let mut windowed = Vec::new();
    // Interleaved, so a machine that gets busier halfway slows both alike.
    for run in 1..=args.runs {
        tracing::info!(
            "run {run} of {}: {} dead letters each",
            args.runs,
            args.dead_letters
        );
        one_at_a_time.push(replay_rate::<OneAtATime>(&broker, args.dead_letters).await?);
        windowed.push(replay_rate::<Solution>(&broker, args.dead_letters).await?);
    }
    let (before, after) = (median_rate(&one_at_a_time), median_rate(&windowed));
    let mut table = harness::measure::summary::table(&[
        "replay loop",
        "dead letters/s (median)",
        "every run",
        "÷ one at a time (target: 10)",
    ]);
    table.add_row(vec![
        "one at a time (send, ack, journal, ack)".to_string(),
        format!("{before:.0}"),
        every_run(&one_at_a_time),
        "1".to_string(),
    ]);
    table.add_row(vec![
        format!("windowed ({REPLAY_WINDOW} in flight, journal after each ack)"),
        format!("{after:.0}"),
        every_run(&windowed),
        format!("{:.1}", after / before.max(1e-9)),
    ]);
    println!(
        "Replay rate on {} ({} dead letters per run, {} runs each, from the replay's start to its summary):\n{table}",
        broker.label(),
        args.dead_letters,
        args.runs
    );
    Ok(())
}

fn median_rate(runs: &[ReplayRate]) -> f64 {
    harness::measure::median(runs.iter().map(ReplayRate::per_second)).unwrap_or_default()
}

fn every_run(runs: &[ReplayRate]) -> String {
    runs.iter()
        .map(|run| format!("{:.0}", run.per_second()))
        .collect::<Vec<_>>()
        .join(", ")
}

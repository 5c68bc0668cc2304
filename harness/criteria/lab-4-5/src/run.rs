//! `cargo run -p lab-4-5` (and the report binary): every strategy's run, its
//! timeline, the per-strategy table and the success checklist. It lives with
//! the grader's judgement (not in the kit) because the checklist must be the
//! very code the criteria use.
//!
//! The members are this same binary run again: its `main` comes here first, and
//! serves a member when the scenario started it as one ([`serve_from_env`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::{Broker, Purpose};
use lab_4_5_kit::member::serve_from_env;
use lab_4_5_kit::{Exercise, Strategy};

use crate::analysis::Analysis;
use crate::checks::{self, Check};
use crate::members::Launcher;
use crate::scenario::{self, Observed};
use crate::session::{self, SessionRun};
use crate::{report, timeline};

#[derive(Parser)]
#[command(
    about = "Lab 4.5: members scaled 1 → 2 → 3 → 2 → 1 under each strategy; the timeline, the cost of each rebalance, the checklist"
)]
struct ScenarioArgs {
    /// The strategies to run, in turn (default: all four; the consumer protocol
    /// needs a real Kafka 4 broker).
    #[arg(long = "strategy", value_enum)]
    strategies: Vec<Strategy>,
    /// Where to write each strategy's timeline (SVG) and the measured notes.
    #[arg(long, default_value = "lab-4-5-observed")]
    out_dir: PathBuf,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `cargo run -p lab-4-5`. An error is printed as one line and ends the process
/// with status 1 ([`exit_on_error`]).
pub async fn scenario_main<E: Exercise>(exercise_file: &str) -> anyhow::Result<()> {
    if serve_member::<E>().await {
        return Ok(());
    }
    harness::init_tracing_quiet();
    exit_on_error(scenario(ScenarioArgs::parse(), exercise_file).await);
    Ok(())
}

/// The report binary: the same runs, and only the per-strategy table (also as
/// Markdown, as the README quotes it).
pub async fn report_main<E: Exercise>() -> anyhow::Result<()> {
    if serve_member::<E>().await {
        return Ok(());
    }
    harness::init_tracing_quiet();
    exit_on_error(
        async {
            let args = ScenarioArgs::parse();
            let broker = args.broker.resolve(Purpose::Run).await?;
            let runs = observe_all(&broker, &strategies(&args)).await?;
            let analyses: Vec<Analysis> = runs.into_iter().map(|(_, a)| a).collect();
            let sessions = observe_sessions(&broker).await?;
            println!("{}", report::table(&analyses, false));
            println!("{}", report::table(&analyses, true));
            if let Some(sessions) = sessions {
                println!("{}", session::describe(&sessions));
            }
            anyhow::Ok(())
        }
        .await,
    );
    Ok(())
}

/// Serve a member if this process was started as one; `true` if it was.
async fn serve_member<E: Exercise>() -> bool {
    if std::env::var_os(lab_4_5_kit::member::MEMBER_ENV).is_none() {
        return false;
    }
    harness::init_tracing();
    if let Some(served) = serve_from_env::<E>().await {
        exit_on_error(served);
    }
    true
}

fn strategies(args: &ScenarioArgs) -> Vec<Strategy> {
    if args.strategies.is_empty() {
        Strategy::ALL.to_vec()
    } else {
        args.strategies.clone()
    }
}

/// Run each strategy in turn (skipping, with one line each, the strategies the
/// embedded mock cannot show: [`Strategy::mock_limits`]).
async fn observe_all(
    broker: &Broker,
    strategies: &[Strategy],
) -> anyhow::Result<Vec<(Observed, Analysis)>> {
    let progress = harness::cli::spinner();
    let mut runs = Vec::new();
    for (index, &strategy) in strategies.iter().enumerate() {
        if let (Some(why), false) = (strategy.mock_limits(), broker.kind.is_real_kafka()) {
            harness::cli::say(
                &progress,
                format!("{strategy}: skipped on the embedded mock: {why}; for every strategy, run `scripts/kafka-local start` and set KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092"),
            );
            continue;
        }
        progress.set_message(format!(
            "{}/{} {strategy}: members scaled 1 → 2 → 3 → 2 → 1 under a steady producer (about 20 s; longer if partitions stall)",
            index + 1,
            strategies.len()
        ));
        let observed = scenario::run(broker, strategy, Launcher::this_binary()?)
            .await
            .with_context(|| format!("the {strategy} run"))?;
        let analysis = Analysis::of(&observed);
        runs.push((observed, analysis));
    }
    progress.finish_and_clear();
    Ok(runs)
}

/// Seed 003's troubleshooting, on a real broker: a member frozen longer than a
/// short session, then the same under a long one. `None` on the embedded mock.
async fn observe_sessions(broker: &Broker) -> anyhow::Result<Option<Vec<SessionRun>>> {
    if !broker.kind.is_real_kafka() {
        return Ok(None);
    }
    let progress = harness::cli::spinner();
    let mut runs = Vec::new();
    for session_ms in [session::SHORT_SESSION_MS, session::LONG_SESSION_MS] {
        progress.set_message(format!(
            "session.timeout.ms {session_ms} ms: two members, one frozen {} times for {} s",
            session::FREEZES,
            session::FREEZE.as_secs()
        ));
        runs.push(session::run(broker, Launcher::this_binary()?, session_ms).await?);
    }
    progress.finish_and_clear();
    Ok(Some(runs))
}

async fn scenario(args: ScenarioArgs, exercise_file: &str) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let runs = observe_all(&broker, &strategies(&args)).await?;
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let mut measured =
        String::from("# Lab 4.5: measured (rewritten by every `cargo run -p lab-4-5`)\n\n");
    for (observed, analysis) in &runs {
        let chart = timeline::text(observed, analysis);
        println!("\n== {} ==\n{chart}", observed.strategy);
        let svg = args
            .out_dir
            .join(format!("timeline-{}.svg", observed.strategy));
        std::fs::write(&svg, timeline::svg(observed, analysis))
            .with_context(|| format!("writing {}", svg.display()))?;
        measured.push_str(&format!(
            "## {}\n\n![timeline](timeline-{}.svg)\n\n```text\n{chart}```\n\n",
            observed.strategy, observed.strategy
        ));
    }
    let analyses: Vec<Analysis> = runs.iter().map(|(_, a)| a.clone()).collect();
    let sessions = observe_sessions(&broker).await?;
    let table = report::table(&analyses, false);
    println!("{table}");
    measured.push_str(&report::table(&analyses, true));
    if let Some(sessions) = &sessions {
        let line = session::describe(sessions);
        println!("{line}\n");
        measured.push_str(&format!("\n{line}\n"));
    }
    std::fs::write(args.out_dir.join("measured.md"), &measured)?;
    write_notes_template(&args.out_dir.join("rebalancing_observed.md"))?;
    println!(
        "timelines and numbers: {}/ (measured.md, timeline-*.svg); your answers: {}",
        args.out_dir.display(),
        args.out_dir.join("rebalancing_observed.md").display()
    );
    let real = broker.kind.is_real_kafka();
    let mut items: Vec<(Option<bool>, String)> = [
        (
            "nothing lost across the scale events",
            checks::nothing_lost(&analyses),
        ),
        ("no zombie writes", checks::no_zombie_writes(&analyses)),
        (
            "unmoved partitions keep flowing (incremental)",
            checks::unmoved_keep_flowing(&analyses),
        ),
        (
            "observation: eager rebalances revoke every partition",
            checks::eager_stops_everything(&analyses),
        ),
    ]
    .into_iter()
    .map(|(name, check): (&str, Check)| (check.holds, format!("{name}: {}", check.observed.trim())))
    .collect();
    let duplicates = "duplicates bounded by the records in hand at revoke";
    items.insert(
        1,
        if real {
            let check = checks::duplicates_bounded(&analyses);
            (
                check.holds,
                format!("{duplicates}: {}", check.observed.trim()),
            )
        } else {
            (
                None,
                format!("{duplicates}: {}", lab_4_5_kit::MOCK_COMMITS_UNRELIABLE),
            )
        },
    );
    let short_session = "observation: a too-short session.timeout.ms rebalances at every freeze";
    items.push(match &sessions {
        Some(sessions) => {
            let check = checks::short_session_rebalances(sessions);
            (check.holds, format!("{short_session}: {}", check.observed))
        }
        None => (
            None,
            format!("{short_session}: {}", session::MOCK_NOT_TRIED),
        ),
    });
    let static_restart = "observation: a static restart moves nothing";
    items.push(if real {
        let check = checks::static_restart_moves_nothing(&analyses);
        (
            check.holds,
            format!("{static_restart}: {}", check.observed.trim()),
        )
    } else {
        (
            None,
            format!(
                "{static_restart}: {}",
                lab_4_5_kit::MOCK_HAS_NO_STATIC_MEMBERSHIP
            ),
        )
    });
    let rendered = criteria::next::render_checklist(&items);
    println!("{rendered}");
    println!(
        "{}",
        criteria::next::next_step(
            "lab-4-5",
            criteria::next::checklist_passed(&rendered),
            exercise_file
        )
    );
    Ok(())
}

/// The questions of seed 003's step, for the student to answer; never
/// overwritten (the numbers go to `measured.md`).
fn write_notes_template(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        return Ok(());
    }
    std::fs::write(
        path,
        "# Lab 4.5: rebalancing observed\n\n\
         Answer with the numbers and timelines of `measured.md` (same folder).\n\n\
         1. Under range and roundrobin, how long did the group stop processing during each rebalance? Which partitions paused?\n\
         2. Under cooperative-sticky, which partitions paused, and for how long? Why not the others?\n\
         3. How long did the group take to notice the member killed with SIGKILL? Which setting decides it, under each protocol?\n\
         4. Did the static member's restart cause a rebalance? What would have happened without `group.instance.id`?\n\
         5. How many payments were processed twice, and by whom? Which of them could a revoke handler have prevented?\n\
         6. Seed 003's troubleshooting: what happens to this group if `session.timeout.ms` is shorter than a member's longest pause?\n",
    )
    .with_context(|| format!("writing {}", path.display()))
}

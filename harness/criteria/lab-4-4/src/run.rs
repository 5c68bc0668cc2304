//! `cargo run -p lab-4-4`: the lab's whole scenario, its report and its success
//! checklist, generic over the [`Exercise`]. It lives with the grader's judgement
//! (not in the kit) because the checklist must be the very code the criteria use.

use crate::checklist;
use crate::scenario::{statuses_since, IncidentRun, RunOptions};
use crate::truth::{AfterReplay, FirstPass};
use crate::verdicts;
use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::measure::summary::table;
use harness::outcomes::OutcomeStatus;
use harness::Purpose;
use lab_4_4_kit::Exercise;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Lab 4.4: a bug sends JPY payments to the DLQ; fix it, replay, purge, report")]
struct ScenarioArgs {
    /// Payments in the incident.
    #[arg(long, default_value_t = 100)]
    count: usize,
    /// Workload seed: the same seed gives the same payments and the same fates.
    #[arg(long, default_value_t = crate::scenario::SEED)]
    seed: u64,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `cargo run -p lab-4-4`: the incident, start to finish. An error is printed
/// as one line and ends the process with status 1 ([`exit_on_error`]).
pub async fn scenario_main<E: Exercise>(exercise_file: &str) -> anyhow::Result<()> {
    harness::init_tracing_quiet();
    exit_on_error(scenario::<E>(ScenarioArgs::parse(), exercise_file).await);
    Ok(())
}

async fn scenario<E: Exercise>(args: ScenarioArgs, exercise_file: &str) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let options = RunOptions {
        seed: args.seed,
        payments: args.count,
        ..RunOptions::graded()
    };
    let run = IncidentRun::start::<E>(&broker, &options).await?;
    println!(
        "1/5 the bug is deployed: {} payments, {} of them in JPY; admin API on {}",
        options.payments,
        run.truth.hit_by_bug().len(),
        run.service.base_url()
    );
    let progress = harness::cli::spinner();
    progress.set_message("waiting for every payment's first outcome");
    run.first_pass(Duration::from_secs(120)).await?;
    let stats = run.api.get("/api/v1/dlq/stats").await?.ok()?;
    harness::cli::finish(
        &progress,
        format!(
            "first pass done: DLQ by error class {}",
            counts(&stats["by_error_class"])
        ),
    );
    let health = run.api.get("/health").await?.body;
    println!(
        "    /health: {} {}",
        health["status"].as_str().unwrap_or("(no status)"),
        health["alerts"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|a| a["message"].as_str())
            .unwrap_or_default()
    );

    println!("2/5 the bug is fixed: POST /api/v1/config/zero-decimal-bug?enabled=false");
    run.fix_bug().await?;

    let filter = IncidentRun::bug_filter();
    let (dry, _) = run.replay(filter.clone(), true).await?;
    println!(
        "3/5 replay of {filter}: the dry run would replay {} of {} selected",
        dry["replayed"], dry["selected"]
    );
    let (summary, since) = run.replay(filter.clone(), false).await?;
    println!(
        "    replayed {} ({} already replayed), sent to {}",
        summary["replayed"],
        summary["already_replayed"],
        counts(&summary["sent_to"])
    );
    let ids = run.truth.hit_by_bug();
    let progress = harness::cli::spinner();
    progress.set_message("waiting for the replayed payments' outcomes");
    let outcomes = run
        .replayed_outcomes(&ids, since, Duration::from_secs(120))
        .await;
    progress.finish_and_clear();
    if let Err(error) = outcomes {
        println!("⚠️  {error}");
    }
    // Judge only once every group has committed everything: a duplicate outcome
    // would have arrived by then.
    if let Err(error) = run.idle(Duration::from_secs(60)).await {
        println!("⚠️  {error}");
    }
    let outcomes = run.watcher.snapshot();
    let (again, _) = run.replay(filter.clone(), false).await?;
    println!(
        "4/5 the same replay again: replayed {}, already replayed {}",
        again["replayed"], again["already_replayed"]
    );

    // Checked before the purge: provenance points at DLQ records it deletes.
    let bytes = verdicts::replays_are_byte_exact(&run, &ids).await?;

    // Purge what was replayed: the dry run's plan must cut each partition after
    // its replayed prefix and nowhere else; then, on a real broker, for real.
    let dlq = run.service.state.topology.pipeline.dlq_topic.clone();
    let snapshot = lab_4_4_kit::dlq::DlqSnapshot::read(&broker, &dlq).await?;
    let bug: std::collections::BTreeSet<String> = ids.iter().cloned().collect();
    let expected_cuts = verdicts::replayed_prefix_cuts(&snapshot, &bug);
    let replayed_prefix = serde_json::json!({"mode": "replayed"});
    let plan = run
        .api
        .post("/api/v1/dlq/purge?dry_run=true", Some(&replayed_prefix))
        .await?
        .ok()?;
    let purge = run
        .api
        .post("/api/v1/dlq/purge", Some(&replayed_prefix))
        .await?;
    let purge_line = if purge.status.is_success() {
        format!("deleted per partition {}", purge.body["deleted"])
    } else {
        format!("not done: HTTP {} {}", purge.status, purge.body["error"])
    };
    println!(
        "5/5 purge of what was replayed: planned cuts {} (partition: delete below offset); {purge_line}",
        plan["plan"]
    );
    let planned: BTreeMap<i32, i64> = serde_json::from_value(plan["plan"].clone())?;
    let planned = verdicts::effective_cuts(&planned, &snapshot.watermarks);
    let purge_plan = checklist::purge_plan_findings(&planned, &expected_cuts);

    println!("{}", outcome_table(&run, &outcomes, since));
    let exactly_once = verdicts::replayed_exactly_once(&run, &ids, &outcomes, since);
    let live = verdicts::live_topic_untouched(&run).await?;
    let no_op = checklist::second_replay_findings(
        summary["replayed"].as_u64().unwrap_or(0),
        again["replayed"].as_u64().unwrap_or(u64::MAX),
    );
    println!("Checklist (look at {exercise_file}):");
    let mut passed = true;
    for (label, findings) in [
        ("every fixed payment processed exactly once", &exactly_once),
        ("replays are the original bytes and headers", &bytes),
        ("the live topic is untouched", &live),
        ("a second replay is a no-op", &no_op),
        ("the purge cuts only replayed prefixes", &purge_plan),
    ] {
        // Not checked (nothing to look at) is no pass: see checklist.rs.
        let mark = checklist::Mark::of(findings);
        // Not checked is not the student's failure (see checklist.rs).
        passed &= !matches!(mark, checklist::Mark::Failed { .. });
        println!("{}", mark.line(label));
    }
    run.shutdown().await?;
    println!(
        "{}",
        criteria::next::next_step("lab-4-4", passed, exercise_file)
    );
    Ok(())
}

/// Per class: the first pass, then the replay.
fn outcome_table(
    run: &IncidentRun,
    outcomes: &[harness::outcomes::Outcome],
    since: i64,
) -> comfy_table::Table {
    let after = statuses_since(outcomes, since);
    let mut rows: BTreeMap<(&str, bool), [usize; 6]> = BTreeMap::new();
    for (id, expected) in &run.truth.payments {
        let row = rows
            .entry((expected.class.label(), expected.hit_by_bug))
            .or_default();
        row[0] += 1;
        match expected.first_pass {
            FirstPass::Processed => row[1] += 1,
            FirstPass::DeadLettered { .. } => row[2] += 1,
        }
        if expected.hit_by_bug {
            let seen = after.get(id).cloned().unwrap_or_default();
            row[3] += seen.get(&OutcomeStatus::Processed).copied().unwrap_or(0);
            row[4] += seen.get(&OutcomeStatus::Parked).copied().unwrap_or(0);
            if expected.after_replay == Some(AfterReplay::Parked) {
                row[5] += 1;
            }
        }
    }
    let mut t = table(&[
        "class",
        "JPY (bug)",
        "payments",
        "1st pass processed",
        "1st pass DLQ",
        "replay: processed",
        "replay: parked",
        "parked expected",
    ]);
    for ((label, bug), counts) in rows {
        let mut row = vec![label.to_string(), if bug { "yes" } else { "" }.to_string()];
        row.extend(counts.iter().map(usize::to_string));
        t.add_row(row);
    }
    t
}

/// A JSON object of counts (`{"a": 3, "b": 1}`) as a student reads it: `a 3, b 1`.
fn counts(value: &serde_json::Value) -> String {
    match value.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(key, count)| format!("{key} {count}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "nothing".to_string(),
    }
}

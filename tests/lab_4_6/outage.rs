//! Through a DLQ outage, with a restart in the middle: no commit past a record
//! whose dead letter could not be acknowledged (watched while it happens), zero
//! lost, every dead letter on the DLQ, and duplicates bounded by the window.

use super::*;
use grader::commit_watch::{expect_no_commit_past_a_missing_dlq, CommitWatch};
use harness::clock::now_ms;
use lab_4_6_criteria::scenario::payments_to_fill_windows;
use lab_4_6_kit::stats::WindowedStats;

/// Wait until the in-process consumer has failed `failures` forwards and either
/// a partition's window is full (a record had to be parked behind it) or it has
/// consumed all `payments`. A right tracker fills a window behind its stuck dead
/// letters; a tracker that commits past them releases its window instead, and
/// gets through the whole topic. Either way, this is a moment with records
/// finished behind unacknowledged dead letters, which the commit watch is
/// watching.
async fn wait_for_a_stuck_window(
    run: &WindowedRun,
    failures: u64,
    payments: usize,
) -> Result<(), wait::TimedOut> {
    wait::until(
        "forwards to fail (the DLQ is missing), and a partition's window to fill or every payment to be consumed",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || {
            let Some(stats) = run.stats() else {
                return Err("no consumer running".to_string());
            };
            let (failed, parked, consumed) = (
                WindowedStats::count(&stats.forward_failures),
                WindowedStats::count(&stats.parked),
                WindowedStats::count(&stats.consumed),
            );
            if failed >= failures && (parked > 0 || consumed >= payments as u64) {
                Ok(())
            } else {
                Err(format!(
                    "{failed} failed forwards, {parked} records parked behind a full window, {consumed} of {payments} consumed"
                ))
            }
        },
    )
    .await
}

pub async fn nothing_lost_through_a_dlq_outage<E: Exercise>(mut criterion: Criterion) {
    let broker = shared_test_broker().await;
    let count = payments_to_fill_windows(E::WINDOW);
    // The DLQ does not exist yet, and nothing creates topics implicitly: every
    // dead letter fails until we create it.
    let mut run = WindowedRun::start::<E>(broker, 46, count, scale(), false, true)
        .await
        .unwrap();
    let watch = CommitWatch::start(
        broker,
        &[(run.group.clone(), run.input_topic.clone())],
        Duration::from_millis(50),
    )
    .unwrap();
    let stuck = wait_for_a_stuck_window(&run, 1, count).await;
    criterion.expect(
        stuck.is_ok(),
        "dead letters to fail while the DLQ is missing, and a partition to fill its window (or every payment to be consumed)",
        match &stuck {
            Ok(()) => String::new(),
            Err(timeout) => timeout.to_string(),
        },
    );
    // Restart in the middle of the outage: the new consumer starts from the
    // committed offsets, so a commit past an unacknowledged dead letter is a
    // payment lost right here.
    run.restart::<E>(broker).await.unwrap();
    let _ = wait_for_a_stuck_window(&run, 1, count).await;
    let commits = watch.finish().await;
    let outage_ended_at_ms = now_ms();
    create_topics(broker, &[(&run.dlq_topic, PARTITIONS)])
        .await
        .unwrap();
    let (ledger, dlq) = (run.ledger.clone(), run.dlq_topic.clone());
    let (input_topic, delivered) = (run.input_topic.clone(), run.delivered.clone());
    let snapshot = run.outcomes();
    let settled = run.settle(Duration::from_secs(90)).await;
    let outcomes = settled.as_ref().map_or(snapshot, |s| s.outcomes.clone());
    let guarded = expect_no_commit_past_a_missing_dlq(
        &mut criterion,
        &commits,
        &ledger,
        (&input_topic, &delivered),
        &dlq,
        &outcomes,
        outage_ended_at_ms,
    );
    let settled = match settled {
        Ok(settled) => settled,
        Err(error) => {
            criterion.expect(
                false,
                "after a restart and the DLQ's return, every payment to reach an outcome",
                format!("{error:#} (a commit past an unfinished record skipped them)"),
            );
            return;
        }
    };
    criterion.expect(
        settled.accounting.lost() == 0 && settled.accounting.wrong_fate.is_empty(),
        "after a restart during the outage and the DLQ's return: 0 lost, every payment with its expected fate",
        format!(
            "{} lost, {} with the wrong fate (e.g. {:?})",
            settled.accounting.lost(),
            settled.accounting.wrong_fate.len(),
            settled.accounting.wrong_fate.iter().take(3).collect::<Vec<_>>()
        ),
    );
    expect_dead_letters_on_the_dlq(&mut criterion, &settled).await;
    // One restart: it redelivers at most what the stopped consumer held.
    let bound = E::WINDOW * PARTITIONS as usize;
    criterion.expect(
        settled.accounting.duplicates <= bound,
        format!(
            "at most {bound} duplicate outcomes (one restart, each partition holding at most the window of {})",
            E::WINDOW
        ),
        format!("{} duplicate outcomes", settled.accounting.duplicates),
    );
    criterion.note(format!(
        "{} forwards failed and were retried in place across a restart; no commit passed any of {} guarded records ({} rounds of samples); {} processed, {} dead-lettered, 0 lost, {} duplicates (bound {bound})",
        settled.forward_failures,
        guarded.len(),
        commits.rounds,
        settled.accounting.processed,
        settled.accounting.dead_lettered,
        settled.accounting.duplicates
    ));
}

//! A consumer process killed with SIGKILL mid-window (the DLQ is missing, so
//! dead letters are stuck and later records have finished past them):
//! no drain, no last commit. A fresh consumer in the same group, once the DLQ
//! is back, must leave no payment lost.

use super::*;
use lab_4_6_criteria::child::{self, ChildConfig};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

const COUNT: usize = 3000;

/// Outcomes the child must have reported before it is killed: enough that
/// records finished behind stuck dead letters on every partition. A window
/// smaller than this cannot get there (each partition stops at its first stuck
/// dead letter), so for it the bar is one window's worth.
const DECIDED_BEFORE_KILL: usize = 300;

fn decided_before_kill(window: usize) -> usize {
    DECIDED_BEFORE_KILL.min(window)
}

/// Kills the child if the criterion fails before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The group's committed offsets on `topic`, summed (0 when none).
fn committed_total(broker: &harness::Broker, group: &str, topic: &str) -> i64 {
    let Ok(consumer) = broker
        .client_config()
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create::<BaseConsumer>()
    else {
        return 0;
    };
    let mut list = TopicPartitionList::new();
    for partition in 0..PARTITIONS {
        list.add_partition(topic, partition);
    }
    consumer
        .committed_offsets(list, Duration::from_secs(5))
        .map(|committed| {
            committed
                .elements()
                .iter()
                .filter_map(|e| match e.offset() {
                    Offset::Offset(offset) => Some(offset),
                    _ => None,
                })
                .sum()
        })
        .unwrap_or(0)
}

pub async fn nothing_lost_when_killed<E: Exercise>(mut criterion: Criterion) {
    let broker = shared_test_broker().await;
    let mut run = WindowedRun::start::<E>(broker, 64, COUNT, scale(), false, false)
        .await
        .unwrap();
    let mut process = KillOnDrop(
        child::spawn(&ChildConfig::of(broker, &run.config, &run.outcomes_topic)).unwrap(),
    );
    let working = wait::until(
        "the child process to report outcomes and commit",
        Duration::from_secs(90),
        Duration::from_millis(20),
        || {
            if let Ok(Some(status)) = process.0.try_wait() {
                return Ok(Err(format!(
                    "the child process exited by itself ({status})"
                )));
            }
            let decided = decided(&run.outcomes());
            let committed = committed_total(broker, &run.group, &run.input_topic);
            if decided >= decided_before_kill(E::WINDOW) && committed > 0 {
                Ok(Ok(decided))
            } else {
                Err(format!(
                    "{decided} payments decided, {committed} offsets committed"
                ))
            }
        },
    )
    .await;
    let decided_at_kill = match working {
        Ok(Ok(decided)) => decided,
        Ok(Err(exited)) => {
            criterion.expect(false, "the child consumer to run until killed", exited);
            return;
        }
        Err(timeout) => {
            criterion.expect(
                false,
                "the child consumer to report outcomes and commit (while the DLQ is missing)",
                timeout.to_string(),
            );
            return;
        }
    };
    // SIGKILL: std's Child::kill on Unix. No destructor, no commit, no leave.
    process.0.kill().unwrap();
    let status = process.0.wait().unwrap();
    let decided_after_kill = decided(&run.outcomes());
    criterion.expect(
        decided_after_kill < COUNT,
        "the kill to land mid-run (payments still in flight or waiting)",
        format!("all {COUNT} payments were decided before the kill: this run proves nothing"),
    );
    create_topics(broker, &[(&run.dlq_topic, PARTITIONS)])
        .await
        .unwrap();
    // A fresh consumer in the same group, from the committed offsets.
    run.restart::<E>(broker).await.unwrap();
    let settled = match run.settle(Duration::from_secs(120)).await {
        Ok(settled) => settled,
        Err(error) => {
            criterion.expect(
                false,
                "after the kill, a fresh consumer to bring every payment to an outcome",
                format!("{error:#} (a commit past an unfinished record skipped them)"),
            );
            return;
        }
    };
    criterion.expect(
        settled.accounting.lost() == 0 && settled.accounting.wrong_fate.is_empty(),
        "after a SIGKILL mid-window: 0 lost, every payment with its expected fate",
        format!(
            "{} lost (e.g. {:?}: committed past, never processed nor dead-lettered), {} with the wrong fate (e.g. {:?})",
            settled.accounting.lost(),
            settled.accounting.missing.iter().take(3).collect::<Vec<_>>(),
            settled.accounting.wrong_fate.len(),
            settled
                .accounting
                .wrong_fate
                .iter()
                .take(3)
                .collect::<Vec<_>>()
        ),
    );
    expect_dead_letters_on_the_dlq(&mut criterion, &settled).await;
    criterion.note(format!(
        "killed ({status}) with {decided_at_kill} of {COUNT} payments decided; afterwards {} processed, {} dead-lettered, 0 lost, {} duplicates (a window of {} per partition redelivered)",
        settled.accounting.processed,
        settled.accounting.dead_lettered,
        settled.accounting.duplicates,
        E::WINDOW
    ));
}

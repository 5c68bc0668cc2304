//! Lab 4.1's criteria (seed 000, "Problems to observe" and "Document the pain").
//!
//! Four observations prove the anti-pattern's pain really shows on a real broker
//! (they pass on the starter too: it *is* the anti-pattern), and one graded
//! criterion checks the student's lag calculation. Run against the student's code:
//!
//! ```text
//! cargo grade lab-4-1
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use grader::broker::shared_test_broker;
use grader::grading::{Criterion, Target};
use harness::gateway::{FailureMix, PaymentClass};
use harness::measure::lag::{longest_stall, LagReport};
use harness::outcomes::OutcomeStatus;
use harness::payments::PaymentGenerator;
use harness::producer::{payment_producer, produce_payments};
use harness::topics::{create_topics, unique_name};
use harness::TimeScale;
use lab_4_1_criteria::scenario::{drain, group_impact, outcomes_in_order, DrainRun, LagFn};
use lab_4_1_criteria::truth::reference_lag as measure_lag;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

const LAB: &str = "lab-4-1";
/// Seed 33 gives, in order: H H T3 H T1 H P H H H (3 of 10 failing, as the seed asks).
const SEED: u64 = 33;
const COUNT: usize = 10;
/// Tests shrink the seed's seconds tenfold: backoffs of 100 and 200 ms.
fn scale() -> TimeScale {
    TimeScale::new(0.1)
}

/// Seed 33's ten payments at the seed's 30% failures, drained by one fragile consumer.
async fn drain_with_seed_failures(lag: Option<LagFn>) -> DrainRun {
    drain(
        shared_test_broker().await,
        SEED,
        COUNT,
        FailureMix::seed_lab_4_1(),
        scale(),
        lag,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn partition_blocking() {
    let mut criterion = Criterion::start(LAB, "partition_blocking");
    let run = drain_with_seed_failures(None).await;
    let config_backoff = |class| {
        let config = lab_4_1_kit::fragile_consumer::FragileConsumerConfig::new(
            "t",
            "g",
            "m",
            run.workload.gateway.clone(),
        );
        lab_4_1_criteria::scenario::backoff_for(class, &config)
    };

    let in_order = outcomes_in_order(&run);
    let mut checked = 0;
    // For each (previous, failing, healthy) run of three payments on the partition:
    // the healthy one cannot finish until the failing one's whole retry loop is
    // over, so the gap between the previous payment's outcome and the healthy
    // payment's outcome is at least the failing payment's backoff.
    for triple in in_order.windows(3) {
        let [(_, _, Some(previous_outcome)), (failing, failing_class, Some(_)), (healthy, PaymentClass::Healthy, Some(healthy_outcome))] =
            triple
        else {
            continue;
        };
        if *failing_class == PaymentClass::Healthy {
            continue;
        }
        let backoff = config_backoff(*failing_class);
        let blocked_ms = healthy_outcome.finished_at_ms - previous_outcome.finished_at_ms;
        criterion.expect(
            blocked_ms >= backoff.as_millis() as i64,
            format!(
                "healthy payment {} (right behind failing {}) to be held up for at least its {} ms of backoff",
                healthy.payment_id,
                failing.payment_id,
                backoff.as_millis()
            ),
            format!("it finished {blocked_ms} ms after the payment before the failing one"),
        );
        criterion.note(format!(
            "{} held up {blocked_ms} ms behind {} ({} backoff {} ms)",
            healthy.payment_id,
            failing.payment_id,
            failing_class.label(),
            backoff.as_millis()
        ));
        checked += 1;
    }
    criterion.expect(
        checked >= 2,
        "at least 2 healthy payments right behind a failing one",
        format!("{checked}"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slowdown_at_thirty_percent_failures() {
    let mut criterion = Criterion::start(LAB, "slowdown_at_thirty_percent_failures");
    let broker = shared_test_broker().await;
    let baseline = drain(broker, SEED, COUNT, FailureMix::none(), scale(), None)
        .await
        .unwrap();
    let failing = drain_with_seed_failures(None).await;

    criterion.expect(
        failing.drain_time >= failing.expected_backoff && failing.drain_time > baseline.drain_time,
        format!(
            "draining {COUNT} payments at 30% failures to take at least the {} ms of backoff sleeps, and longer than at 0% ({} ms)",
            failing.expected_backoff.as_millis(),
            baseline.drain_time.as_millis()
        ),
        format!("{} ms", failing.drain_time.as_millis()),
    );
    criterion.note(format!(
        "slowdown {:.1}x ({} ms vs {} ms)",
        harness::measure::ratio(failing.drain_time, baseline.drain_time),
        failing.drain_time.as_millis(),
        baseline.drain_time.as_millis()
    ));

    // Exact accounting: the anti-pattern processes what clears within 3 attempts and
    // skips (loses) the rest, and the ledger knew which in advance.
    let accounting = &failing.accounting;
    let unprocessable = failing
        .workload
        .records
        .iter()
        .filter(|r| !failing.workload.class_of(r).succeeds_within(3))
        .count();
    criterion.expect(
        accounting.missing.is_empty()
            && accounting.wrong_fate.is_empty()
            && accounting.skipped == unprocessable,
        format!(
            "every payment accounted for: {} processed, {unprocessable} skipped (lost)",
            COUNT - unprocessable
        ),
        format!("{accounting:?}"),
    );
    criterion.expect(
        baseline.accounting.processed == COUNT,
        format!("all {COUNT} processed at 0% failures"),
        format!("{:?}", baseline.accounting),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lag_stalls_during_retry_loops() {
    let mut criterion = Criterion::start(LAB, "lag_stalls_during_retry_loops");
    let run = drain_with_seed_failures(Some(measure_lag)).await;
    let (stall_ms, stall_lag) = longest_stall(&run.lag_samples);
    // 80%: the sampler's 20 ms period and a commit round trip nibble at both ends.
    let wanted_ms = run.longest_retry_loop.as_millis() as u64 * 8 / 10;
    criterion.expect(
        stall_ms >= wanted_ms && stall_lag > 0,
        format!("the group's lag to stand still (positive, not shrinking) for at least {wanted_ms} ms: 80% of the longest retry loop"),
        format!("longest stall {stall_ms} ms at lag {stall_lag}, over {} samples", run.lag_samples.len()),
    );
    criterion.note(format!("longest stall {stall_ms} ms at lag {stall_lag}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn group_rebalances_when_poll_interval_exceeded() {
    let mut criterion = Criterion::start(LAB, "group_rebalances_when_poll_interval_exceeded");
    let broker = shared_test_broker().await;
    let impact = group_impact(broker, SEED, Duration::from_secs(30))
        .await
        .unwrap();
    criterion.expect(
        impact.takeover_after.is_some(),
        format!(
            "{} to be assigned partition 0 while {} sleeps past max.poll.interval.ms (1500 ms)",
            impact.healthy_member, impact.stuck_member
        ),
        format!(
            "no takeover within 30 s; rebalance events: {:?}",
            impact.events
        ),
    );
    let stuck_failed_commits = impact
        .stats
        .iter()
        .filter(|(member, _)| *member == impact.stuck_member)
        .map(|(_, stats)| stats.failed_commits)
        .sum::<u64>();
    criterion.expect(
        stuck_failed_commits > 0,
        format!(
            "{} to be out of the group when it woke up: its commit fails",
            impact.stuck_member
        ),
        format!("{stuck_failed_commits} failed commits"),
    );
    let skipped_blocker = impact
        .outcomes
        .iter()
        .filter(|o| o.payment_id == impact.blocker_id && o.status == OutcomeStatus::Skipped)
        .count();
    criterion.note(format!(
        "takeover after {:?}; {} rebalance events; {stuck_failed_commits} failed commits; failing payment given up {skipped_blocker} time(s)",
        impact.takeover_after,
        impact.events.len()
    ));
}

/// The graded piece: the student's `consumer_lag` against the harness's reference,
/// on a topic whose lag is known:
///
/// | partition | records | committed | deleted (DeleteRecords) | low..high | lag |
/// |---|---|---|---|---|---|
/// | 0 | 5 | 2 | none | 0..5 | 3 |
/// | 1 | 3 | none | before 2 | 2..3 | 1 |
/// | 2 | 4 | 1 | before 3 | 3..4 | 1 |
/// | 3 | 0 | none | none | 0..0 | 0 |
///
/// Partitions 1 and 2 catch a lag that ignores the low watermark (it says 3 and
/// 3, or 0 for the one with no commit). The embedded mock has no DeleteRecords:
/// there, both keep low watermark 0, and the criterion says what it could not check.
#[tokio::test(flavor = "multi_thread")]
async fn consumer_lag_matches_watermarks() {
    let mut criterion = Criterion::start(LAB, "consumer_lag_matches_watermarks");
    let broker = shared_test_broker().await;
    let topic = unique_name("lab41-lag");
    let group = unique_name("lab41-lag-group");
    create_topics(broker, &[(&topic, 4)]).await.unwrap();
    let records = PaymentGenerator::new(SEED).records(12);
    let producer = payment_producer(broker).unwrap();
    for (partition, range) in [(0, 0..5), (1, 5..8), (2, 8..12)] {
        produce_payments(&producer, &topic, &records[range], Some(partition), None)
            .await
            .unwrap();
    }
    let real = broker.kind.is_real_kafka();
    if real {
        harness::topics::delete_records(broker, &topic, &BTreeMap::from([(1, 2), (2, 3)]))
            .await
            .unwrap();
    } else {
        criterion.note(
            "embedded mock: no DeleteRecords, so a lag that ignores the low watermark is not checked here (run against Apache Kafka for that)",
        );
    }

    let consumer: BaseConsumer = broker
        .client_config()
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut commit = TopicPartitionList::new();
    commit
        .add_partition_offset(&topic, 0, Offset::Offset(2))
        .unwrap();
    commit
        .add_partition_offset(&topic, 2, Offset::Offset(1))
        .unwrap();
    let (consumer, committed) = commit_retrying(consumer, commit).await;
    if let Err(error) = committed {
        criterion.expect(
            false,
            "the grader's setup: the group's commit accepted by the broker",
            format!("{error} (not your code: the broker was not ready; run the grade again)"),
        );
        return;
    }

    let student_lag: fn(&BaseConsumer, &str, Duration) -> anyhow::Result<LagReport> =
        match criterion.target() {
            Target::Starter => <lab_4_1::Starter as lab_4_1_kit::Exercise>::consumer_lag,
            Target::Solution => <lab_4_1_solution::Solution as lab_4_1_kit::Exercise>::consumer_lag,
        };
    let consumer = std::sync::Arc::new(consumer);
    let timeout = Duration::from_secs(10);
    // The student's function on a thread of its own, so that if it panics the
    // verdict can say it was theirs.
    let (probe, name) = (consumer.clone(), topic.clone());
    let observed = tokio::task::spawn_blocking(move || student_lag(&probe, &name, timeout)).await;
    let observed = match observed {
        Ok(result) => result,
        Err(join) => {
            let payload = join.try_into_panic().ok();
            let message = payload
                .as_ref()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                })
                .unwrap_or_else(|| "no message".into());
            criterion.expect(
                false,
                "consumer_lag to return the lag of every partition, not to panic",
                format!("it panicked: {message}"),
            );
            return;
        }
    };
    let reference = tokio::task::spawn_blocking(move || measure_lag(&consumer, &topic, timeout))
        .await
        .unwrap()
        .unwrap();
    let expected_lags = if real {
        vec![3, 1, 1, 0]
    } else {
        vec![3, 3, 3, 0]
    };
    assert_eq!(
        reference
            .partitions
            .iter()
            .map(|p| p.lag)
            .collect::<Vec<_>>(),
        expected_lags,
        "the harness's own reference is wrong: {reference:?}"
    );
    let describe = |report: &LagReport| {
        format!(
            "total {} = [{}]",
            report.total(),
            report
                .partitions
                .iter()
                .map(|p| format!(
                    "p{}: committed {}, watermarks {}..{}, lag {}",
                    p.partition,
                    p.committed
                        .map_or_else(|| "none".to_string(), |c| c.to_string()),
                    p.low_watermark,
                    p.high_watermark,
                    p.lag
                ))
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    match observed {
        Ok(observed) => criterion.expect(
            observed == reference,
            describe(&reference),
            describe(&observed),
        ),
        Err(error) => criterion.expect(false, describe(&reference), format!("an error: {error:#}")),
    }
}

/// Commit `offsets` synchronously, retrying while the broker says it is not
/// ready (a broker that has just started has no group coordinator yet:
/// `NotCoordinator`, `CoordinatorLoadInProgress`). Other errors are final.
async fn commit_retrying(
    consumer: BaseConsumer,
    offsets: TopicPartitionList,
) -> (BaseConsumer, Result<(), String>) {
    tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        loop {
            let error = match consumer.commit(&offsets, CommitMode::Sync) {
                Ok(()) => return (consumer, Ok(())),
                Err(error) => error,
            };
            let retriable = matches!(
                error.rdkafka_error_code(),
                Some(
                    RDKafkaErrorCode::NotCoordinator
                        | RDKafkaErrorCode::CoordinatorLoadInProgress
                        | RDKafkaErrorCode::CoordinatorNotAvailable
                        | RDKafkaErrorCode::RequestTimedOut
                )
            );
            if !retriable || started.elapsed() > Duration::from_secs(30) {
                return (consumer, Err(format!("commit refused: {error}")));
            }
            // Polling the broker's readiness with a deadline, not a fixed wait.
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap_or_else(|join| panic!("the commit thread panicked: {join}"))
}

//! Lab 4.3's criteria (seed 000 Lab 4.3, with seeds 002 and 003).
//!
//! Every criterion runs against the solution in plain `cargo test`, and against
//! the student's `labs/lab-4-3` with:
//!
//! ```text
//! cargo run -p harness --bin grade -- lab-4-3
//! ```
//!
//! The lab is observed from outside: through the live, retry, DLQ and outcomes
//! topics, and the rebalance callbacks of its consumers. Every run uses the
//! tight group timeouts (`max.poll.interval.ms` 3 s, below the last level's 6 s
//! at this time scale), so a tier that sleeps is thrown out of its group.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Duration;

use harness::broker::shared_test_broker;
use harness::clock::now_ms;
use harness::commit_watch::{
    expect_no_commit_past, expect_no_dead_letter_before, guarded, CommitWatch, Placed,
};
use harness::gateway::FailureMix;
use harness::grading::Criterion;
use harness::ledger::{processed_by, Route};
use harness::outcomes::{payment_id_of, OutcomeStatus};
use harness::payments::PoisonRates;
use harness::topics::read_all;
use harness::{wait, TimeScale};
use lab_4_3::pipeline::GroupTimeouts;
use lab_4_3::running::RunningPipeline;
use lab_4_3::scenario::{
    healthy_ratio, trace_paths, Missing, RetryRun, RunOptions, Settled, HEALTHY_RATIO_LIMIT,
    HOP_TOLERANCE,
};
use lab_4_3::{verdicts, Exercise};
use rdkafka::Message;

const LAB: &str = "lab-4-3";
const SEED: u64 = 43;
const COUNT: usize = 80;
/// The levels at this scale take 0.5 + 1.5 + 6 s; a run that needs much more
/// than that has a blocked or stuck tier.
const SETTLE: Duration = Duration::from_secs(45);

/// 30% failures (half transient, failing 1 to 4 times; half permanent), plus each
/// kind of poison pill; the seed's 5/15/60 s levels at a tenth of the time.
fn options() -> RunOptions {
    RunOptions {
        poison: PoisonRates::each(0.0125),
        mix: FailureMix::with_failure_rate(0.3),
        timeouts: GroupTimeouts::TIGHT,
        ..RunOptions::seed_lab(SEED, COUNT, TimeScale::new(0.1))
    }
}

mod common;

common::criteria!(
    LAB, lab_4_3::Starter, lab_4_3_solution::Solution;
    transient_payments_climb_the_levels_on_time,
    non_retryable_payments_go_straight_to_the_dlq,
    exhausted_retries_are_final_dead_letters,
    every_payment_is_accounted_for,
    healthy_payments_keep_their_velocity,
    retries_never_touch_the_live_topic,
    no_sleep_induced_rebalances,
    nothing_is_lost_when_members_crash,
);

async fn run<E: Exercise>(options: RunOptions) -> Settled {
    RetryRun::<E>::start(shared_test_broker().await, options)
        .await
        .unwrap()
        .settle(SETTLE)
        .await
        .unwrap()
}

/// Payment ids on a topic, with how many records each has there.
async fn ids_on(topic: &str) -> BTreeMap<String, usize> {
    let mut ids = BTreeMap::new();
    for message in read_all(shared_test_broker().await, topic, Duration::from_secs(60))
        .await
        .unwrap()
    {
        *ids.entry(payment_id_of(&message)).or_insert(0) += 1;
    }
    ids
}

/// What the run did if it did not finish, for messages.
fn unfinished(run: &Settled) -> String {
    run.timed_out
        .as_deref()
        .map(|why| format!(" (it did not finish: {why})"))
        .unwrap_or_default()
}

mod checks {
    use super::*;

    pub async fn transient_payments_climb_the_levels_on_time<E: Exercise>(
        mut criterion: Criterion,
    ) {
        let run = run::<E>(options()).await;
        let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
        let findings = verdicts::retried_through_the_levels(&run, &paths);
        criterion.expect(
            findings.ok(),
            format!(
                "every transient payment on retry levels 1..=its failures (at most {}), once each, retry-count = level, each hop between its delay and delay + {} ms",
                run.pipeline.levels(),
                HOP_TOLERANCE.as_millis()
            ),
            format!(
                "{} transient payments: {}{}",
                findings.examined,
                findings.summary(),
                unfinished(&run)
            ),
        );
        // The levels' own measurement: the hop check above includes a gateway
        // call, so a retry a few ms early could hide in it; this cannot.
        let lateness = run.lateness();
        criterion.expect(
            lateness.early == 0,
            "no retry to start before its due time",
            format!(
                "{} of {} retries started early",
                lateness.early, lateness.count
            ),
        );
        criterion.note(format!(
            "{} transient payments; the latest hop started {} ms after its delay (tolerance {} ms); lateness measured by the levels: {}",
            findings.examined,
            findings.max_overshoot_ms,
            HOP_TOLERANCE.as_millis(),
            run.lateness().one_line()
        ));
    }

    pub async fn non_retryable_payments_go_straight_to_the_dlq<E: Exercise>(
        mut criterion: Criterion,
    ) {
        let run = run::<E>(options()).await;
        let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
        let findings = verdicts::non_retryable_straight_to_dlq(&run, &paths);
        criterion.expect(
            findings.ok(),
            "every permanent and poison payment in the DLQ after 1 attempt, with no retry record and no final-failure",
            format!(
                "{} permanent or poison payments: {}{}",
                findings.examined,
                findings.summary(),
                unfinished(&run)
            ),
        );
    }

    pub async fn exhausted_retries_are_final_dead_letters<E: Exercise>(mut criterion: Criterion) {
        let run = run::<E>(options()).await;
        let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
        let findings = verdicts::exhausted_retries_dead_lettered(&run, &paths);
        criterion.expect(
            findings.ok(),
            format!(
                "every payment that fails more than {} retries in the DLQ with final-failure: true and {} attempts, and no processable payment there",
                run.pipeline.levels(),
                run.pipeline.levels() + 1
            ),
            format!(
                "{} such payments: {}{}",
                findings.examined,
                findings.summary(),
                unfinished(&run)
            ),
        );
    }

    pub async fn every_payment_is_accounted_for<E: Exercise>(mut criterion: Criterion) {
        let run = run::<E>(options()).await;
        let accounting = &run.accounting;
        let expected_dead: BTreeSet<String> = run
            .workload
            .records
            .iter()
            .filter(|r| {
                !run.workload
                    .class_of(r)
                    .succeeds_within(1 + run.pipeline.levels())
            })
            .map(|r| r.payment_id.clone())
            .collect();
        criterion.expect(
            accounting.lost() == 0
                && accounting.wrong_fate.is_empty()
                && accounting.duplicates == 0
                && accounting.dead_lettered == expected_dead.len()
                && accounting.processed == COUNT - expected_dead.len(),
            format!(
                "{} processed, {} dead-lettered, 0 lost, 0 duplicate outcomes",
                COUNT - expected_dead.len(),
                expected_dead.len()
            ),
            format!(
                "{} processed, {} dead-lettered, {} lost, {} duplicate outcomes, {} with the wrong fate{}",
                accounting.processed,
                accounting.dead_lettered,
                accounting.lost(),
                accounting.duplicates,
                accounting.wrong_fate.len(),
                unfinished(&run)
            ),
        );
        // The outcomes say "dead-lettered"; the DLQ topic must agree, once each.
        let on_dlq = ids_on(&run.pipeline.dlq_topic).await;
        let ids: BTreeSet<String> = on_dlq.keys().cloned().collect();
        criterion.expect(
            ids == expected_dead && on_dlq.values().all(|&n| n == 1),
            format!(
                "the DLQ to hold each of the {} unprocessable payments once",
                expected_dead.len()
            ),
            format!(
                "{} records for {} payments; missing {:?}; unexpected {:?}",
                on_dlq.values().sum::<usize>(),
                ids.len(),
                expected_dead.difference(&ids).collect::<Vec<_>>(),
                ids.difference(&expected_dead).collect::<Vec<_>>()
            ),
        );
        criterion.note(format!(
            "{} processed, {} dead-lettered, 0 lost",
            accounting.processed, accounting.dead_lettered
        ));
    }

    pub async fn healthy_payments_keep_their_velocity<E: Exercise>(mut criterion: Criterion) {
        let baseline = run::<E>(options().failure_free()).await;
        let with_failures = run::<E>(options()).await;
        let ratio = healthy_ratio(&with_failures, &baseline);
        let transients_processed = with_failures
            .ids_of("transient")
            .iter()
            .filter(|id| !with_failures.accounting.wrong_fate.contains(id))
            .count();
        criterion.expect(
            ratio <= HEALTHY_RATIO_LIMIT && with_failures.accounting.wrong_fate.is_empty(),
            format!(
                "with 30% failures handled (every retryable payment retried to its fate), healthy p99 at most {HEALTHY_RATIO_LIMIT}x the failure-free run"
            ),
            format!(
                "{ratio:.2}x (healthy with failures: {}; failure-free: {}); {} payments with the wrong fate{}",
                with_failures.healthy_latency().one_line(),
                baseline.healthy_latency().one_line(),
                with_failures.accounting.wrong_fate.len(),
                unfinished(&with_failures)
            ),
        );
        criterion.note(format!(
            "healthy p99 ratio {ratio:.2} (target 1.2); {transients_processed} transient payments retried meanwhile"
        ));
    }

    pub async fn retries_never_touch_the_live_topic<E: Exercise>(mut criterion: Criterion) {
        let run = run::<E>(options()).await;
        // An independent reader of the live topic (another team's service).
        let on_live = ids_on(&run.pipeline.topic).await;
        let repeated: Vec<(&String, &usize)> = on_live.iter().filter(|(_, &n)| n != 1).collect();
        criterion.expect(
            on_live.len() == COUNT && repeated.is_empty(),
            format!("an independent reader of the live topic to see each of the {COUNT} payments exactly once"),
            format!(
                "{} payments, {} records; seen more than once: {:?}",
                on_live.len(),
                on_live.values().sum::<usize>(),
                repeated.iter().take(5).collect::<Vec<_>>()
            ),
        );
        // ... because the retries happened elsewhere: on the retry topics.
        let on_retry_1 = ids_on(&run.pipeline.retry_topic(1)).await;
        let transient = run.ids_of("transient");
        let missing: Vec<&String> = transient
            .iter()
            .filter(|id| !on_retry_1.contains_key(*id))
            .collect();
        criterion.expect(
            !transient.is_empty() && missing.is_empty(),
            format!(
                "every one of the {} transient payments retried through {}",
                transient.len(),
                run.pipeline.retry_topic(1)
            ),
            format!(
                "{} never got there, e.g. {:?}",
                missing.len(),
                missing.iter().take(5).collect::<Vec<_>>()
            ),
        );
    }

    pub async fn no_sleep_induced_rebalances<E: Exercise>(mut criterion: Criterion) {
        let run = run::<E>(options()).await;
        let paths = trace_paths(shared_test_broker().await, &run).await.unwrap();
        let last = run.pipeline.levels();
        let reached_last_level = paths
            .values()
            .filter(|p| p.retries.iter().any(|r| r.level == last))
            .count();
        let max_poll = run.pipeline.timeouts.max_poll_interval;
        let longest = run.pipeline.policy.longest_delay(last).unwrap_or_default();
        criterion.expect(
            reached_last_level > 0 && longest > max_poll,
            format!(
                "payments held at level {last} for {} ms, longer than max.poll.interval.ms = {} ms",
                longest.as_millis(),
                max_poll.as_millis()
            ),
            format!(
                "{reached_last_level} payments reached level {last}{}",
                unfinished(&run)
            ),
        );
        criterion.expect(
            run.unexpected_rebalances.is_empty(),
            "no rebalance after each member's first assignment: nobody was thrown out of a group",
            format!(
                "{} rebalance events, e.g. {:?}",
                run.unexpected_rebalances.len(),
                run.unexpected_rebalances
                    .iter()
                    .take(3)
                    .map(|e| format!("{} {:?} {:?}", e.member, e.kind, e.partitions))
                    .collect::<Vec<_>>()
            ),
        );
        criterion.note(format!(
            "{reached_last_level} payments waited {} ms at level {last} with max.poll.interval.ms {} ms; {} partition pauses; 0 rebalances",
            longest.as_millis(),
            max_poll.as_millis(),
            run.holds
        ));
    }

    pub async fn nothing_is_lost_when_members_crash<E: Exercise>(mut criterion: Criterion) {
        let broker = shared_test_broker().await;
        // Retry level 2 and the DLQ do not exist yet: forwards there fail.
        let mut options = options();
        options.missing = vec![Missing::RetryLevel(2), Missing::Dlq];
        let mut run = RetryRun::<E>::start(broker, options).await.unwrap();
        let pipeline = run.pipeline().clone();
        let down = run.missing_topics();
        // Watch every group's commits while the outage lasts: a commit past a
        // record whose forward could not be acknowledged is the mistake itself,
        // even when a refused commit or a rebalance brings the record back.
        let levels: Vec<u32> = (1..=pipeline.levels()).collect();
        let watched: Vec<(String, String)> =
            std::iter::once((pipeline.consumer_group.clone(), pipeline.topic.clone()))
                .chain(
                    levels
                        .iter()
                        .map(|&l| (pipeline.processor_group(l), pipeline.retry_topic(l))),
                )
                .filter(|(_, topic)| !down.contains(topic))
                .collect();
        let watch = CommitWatch::start(broker, &watched, Duration::from_millis(100)).unwrap();
        // Not assertions: wait (up to a deadline) until the outage has bitten a
        // few times, crash every member, and let the new ones meet it too.
        let _ = forward_failures_reach(&run, 3).await;
        for role in RunningPipeline::<E>::all_roles(&pipeline) {
            run.running.kill_and_restart(role).await;
        }
        let before_restart = run.running.stats.forward_failures.load(Ordering::Relaxed);
        let _ = forward_failures_reach(&run, before_restart + 2).await;
        let commits = watch.finish().await;
        let outage_ends_at_ms = now_ms();
        // The DLQ comes back first and retry-2 a little later: a retryable
        // payment must wait for its level, not fall back to the DLQ because
        // that is what answers (it would be dead-lettered with retries left).
        run.end_outage_of(Missing::Dlq).await.unwrap();
        let dlq_back = run.running.stats.forward_failures.load(Ordering::Relaxed);
        let _ = forward_failures_reach(&run, dlq_back + 2).await;
        run.end_outage().await.unwrap();
        let failed_forwards = run.running.stats.forward_failures.load(Ordering::Relaxed);
        let settled = run.settle(SETTLE + Duration::from_secs(30)).await.unwrap();

        // Which records could no commit pass during the outage?
        let mut placed: Vec<Placed> = settled
            .delivered
            .iter()
            .map(|d| Placed {
                topic: pipeline.topic.clone(),
                level: 0,
                partition: d.partition,
                offset: d.offset,
                payment_id: d.payment_id.clone(),
            })
            .collect();
        for &level in &levels {
            let topic = pipeline.retry_topic(level);
            for message in read_all(broker, &topic, Duration::from_secs(60))
                .await
                .unwrap()
            {
                placed.push(Placed {
                    topic: topic.clone(),
                    level,
                    partition: message.partition(),
                    offset: message.offset(),
                    payment_id: payment_id_of(&message),
                });
            }
        }
        let target = |route| match route {
            Route::Processed => None,
            Route::Retry(level) => Some(pipeline.retry_topic(level)),
            Route::DeadLetter => Some(pipeline.dlq_topic.clone()),
        };
        // A record may be passed once it was processed (judged with every
        // outcome the run saw, so none decided during the outage is missed).
        let guarded = guarded(
            &settled.ledger,
            &placed,
            |route| target(route).filter(|topic| down.contains(topic)),
            &processed_by(&settled.outcomes, outage_ends_at_ms),
        );
        expect_no_commit_past(&mut criterion, &commits, &guarded, &down);
        expect_no_dead_letter_before(
            &mut criterion,
            &settled.outcomes,
            outage_ends_at_ms,
            &pipeline.dlq_topic,
        );
        let accounting = &settled.accounting;
        let dead_lettered: BTreeSet<String> =
            harness::outcomes::latest_by_payment(&settled.outcomes)
                .into_iter()
                .filter(|(_, o)| o.status == OutcomeStatus::DeadLettered)
                .map(|(id, _)| id.to_string())
                .collect();
        let on_dlq: BTreeSet<String> = ids_on(&settled.pipeline.dlq_topic)
            .await
            .into_keys()
            .collect();
        let reported_but_absent: Vec<&String> = dead_lettered.difference(&on_dlq).collect();
        criterion.expect(
            accounting.lost() == 0
                && accounting.wrong_fate.is_empty()
                && reported_but_absent.is_empty(),
            "after crashing every member during a retry-topic and DLQ outage: 0 lost, every dead-lettered payment on the DLQ topic",
            format!(
                "{} lost ({} without outcome), {} with the wrong fate, {} reported dead-lettered but not on the DLQ (e.g. {:?}){}",
                accounting.lost(),
                accounting.missing.len(),
                accounting.wrong_fate.len(),
                reported_but_absent.len(),
                reported_but_absent.iter().take(3).collect::<Vec<_>>(),
                unfinished(&settled)
            ),
        );
        criterion.note(format!(
            "{failed_forwards} forwards failed during the outage ({before_restart} before the crash); no commit passed any of {} guarded records ({} rounds of samples); {} processed, {} dead-lettered, 0 lost, {} duplicate outcomes (at-least-once)",
            guarded.len(),
            commits.rounds,
            accounting.processed,
            accounting.dead_lettered,
            accounting.duplicates
        ));
    }
}

/// Wait (up to a deadline) until the pipeline has failed `count` forwards in
/// all; the count reached, or the timeout.
async fn forward_failures_reach<E: Exercise>(
    run: &RetryRun<E>,
    count: u64,
) -> Result<u64, wait::TimedOut> {
    wait::until(
        "forwards to fail during the outage",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || match run.running.stats.forward_failures.load(Ordering::Relaxed) {
            n if n >= count => Ok(n),
            n => Err(format!("{n} failed forwards, waiting for {count}")),
        },
    )
    .await
}

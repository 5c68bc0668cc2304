//! Crashing every member during a retry-topic and DLQ outage: nothing lost, no
//! commit past an unacknowledged forward, no dead letter reported before the ack.

use super::*;

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
    let mut placed = Placed::live(&pipeline.topic, &settled.delivered);
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
    let dead_lettered: BTreeSet<String> = harness::outcomes::latest_by_payment(&settled.outcomes)
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
            "{} lost ({} without outcome), {} with the wrong fate, {} reported dead-lettered but not on the DLQ ({}){}",
            accounting.lost(),
            accounting.missing.len(),
            accounting.wrong_fate.len(),
            reported_but_absent.len(),
            list(&reported_but_absent, 3),
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

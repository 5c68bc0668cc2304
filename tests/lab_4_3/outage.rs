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
    let _ = forward_failures_reach(&run, None, 3).await;
    for role in RunningPipeline::<E>::all_roles(&pipeline) {
        run.running.kill_and_restart(role).await;
    }
    let before_restart = run.running.stats.forward_failures();
    let _ = forward_failures_reach(&run, None, before_restart + 2).await;
    let commits = watch.finish().await;
    let outage_ends_at_ms = now_ms();
    // The DLQ comes back first and retry-2 a little later: a retryable
    // payment must wait for its level, not fall back to the DLQ because
    // that is what answers (it would be dead-lettered with retries left).
    // "A little later" is after level 1 (the one that forwards to retry-2)
    // has failed twice more with the DLQ back: the retry consumer's failures
    // alone would come too fast to give it the chance (it has many records in
    // flight, each retrying its forward).
    run.end_outage_of(Missing::Dlq).await.unwrap();
    let dlq_back = level_failures(&run, 1);
    let met_with_dlq_back = forward_failures_reach(&run, Some(1), dlq_back + 2).await;
    let level_1_failed_with_dlq_back = level_failures(&run, 1).saturating_sub(dlq_back);
    run.end_outage().await.unwrap();
    let failed_forwards = run.running.stats.forward_failures();
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
    let dead_letters = read_all(broker, &pipeline.dlq_topic, Duration::from_secs(60))
        .await
        .unwrap();
    let on_dlq: BTreeSet<String> = dead_letters.iter().map(payment_id_of).collect();
    let reported_but_absent: Vec<&String> = dead_lettered.difference(&on_dlq).collect();
    // A transient payment in the DLQ with levels left is one that fell back to
    // the DLQ because its next level was down: whatever it would have become
    // (processed at a later level, or dead-lettered after the last), its
    // retries were cut short. (The fate alone shows it only for a payment a
    // later level would have processed.)
    let cut_short: Vec<String> = dead_letters
        .iter()
        .filter_map(|message| {
            let dead = DeadLetter::parse(message.payload()).ok()?;
            let retries = dead.retries_before_dlq();
            (dead.error_type == "transient" && retries < pipeline.levels()).then(|| {
                let plural = if retries == 1 { "retry" } else { "retries" };
                format!("{} (after {retries} {plural})", payment_id_of(message))
            })
        })
        .collect();
    // The fall-back check below can only see a mistake level 1 had the
    // chance to make: a forward to retry-2 failing while the DLQ answered.
    // Level 1 works on its due records concurrently, so with a fall-back they
    // may all fall back within the moments the DLQ takes to come back (and
    // none is left to fail after): a payment cut short is the proof of the
    // chance, as well as the mistake.
    criterion.expect(
        met_with_dlq_back.is_ok() || !cut_short.is_empty(),
        format!(
            "retry level 1 to fail forwards to {} while the DLQ was back (twice, within 30 s), so that a fall-back to the DLQ would show",
            pipeline.retry_topic(2)
        ),
        format!(
            "{level_1_failed_with_dlq_back} such failures{}",
            unfinished(&settled)
        ),
    );
    criterion.expect(
        accounting.lost() == 0
            && accounting.wrong_fate.is_empty()
            && reported_but_absent.is_empty()
            && cut_short.is_empty(),
        format!(
            "after crashing every member during a retry-topic and DLQ outage: 0 lost, every dead-lettered payment on the DLQ topic, and no transient payment dead-lettered before its {} retries",
            pipeline.levels()
        ),
        format!(
            "{} lost ({} without outcome), {} with the wrong fate, {} reported dead-lettered but not on the DLQ ({}), {} transient payments dead-lettered with retry levels left ({}){}",
            accounting.lost(),
            accounting.missing.len(),
            accounting.wrong_fate.len(),
            reported_but_absent.len(),
            list(&reported_but_absent, 3),
            cut_short.len(),
            list(&cut_short, 3),
            unfinished(&settled)
        ),
    );
    criterion.note(format!(
        "{failed_forwards} forwards failed during the outage ({before_restart} before the crash, {level_1_failed_with_dlq_back} by retry level 1 with the DLQ back); no commit passed any of {} guarded records ({} rounds of samples); {} processed, {} dead-lettered, 0 lost, {} duplicate outcomes (at-least-once)",
        guarded.len(),
        commits.rounds,
        accounting.processed,
        accounting.dead_lettered,
        accounting.duplicates
    ));
}

/// Wait (up to a deadline) until the pipeline (or, with `level`, that level's
/// worker) has failed `count` forwards in all; the count reached, or the timeout.
async fn forward_failures_reach<E: Exercise>(
    run: &RetryRun<E>,
    level: Option<u32>,
    count: u64,
) -> Result<u64, wait::TimedOut> {
    let failures = || match level {
        None => run.running.stats.forward_failures(),
        Some(level) => level_failures(run, level),
    };
    wait::until(
        "forwards to fail during the outage",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || match failures() {
            n if n >= count => Ok(n),
            n => Err(format!("{n} failed forwards, waiting for {count}")),
        },
    )
    .await
}

/// Forwards `level`'s worker has failed so far (0: the retry consumer).
fn level_failures<E: Exercise>(run: &RetryRun<E>, level: u32) -> u64 {
    run.running
        .stats
        .forward_failures_at_level
        .get(level as usize)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

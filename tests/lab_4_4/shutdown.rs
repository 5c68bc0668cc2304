//! A shutdown mid-stream loses nothing.

use super::*;

pub async fn shutdown_loses_nothing<E: Exercise>(mut criterion: Criterion) {
    let broker = shared_test_broker().await;
    let topic = unique_name("lab44stop");
    let mut config = ServiceConfig::for_run(&topic, RUN_TOKEN);
    config.failure_rate = 0.2;
    config.time_scale = 0.5;
    let first = start::<E>(broker, config.clone()).await.unwrap();
    let watcher =
        OutcomeWatcher::start(broker, &first.state.topology.pipeline.outcomes_topic()).unwrap();
    let workload = Workload::new(
        45,
        60,
        PoisonRates::each(0.02),
        FailureMix::from_rate(config.failure_rate),
    );
    produce_payments(
        &payment_producer(broker).unwrap(),
        &topic,
        &workload.records,
        None,
        None,
    )
    .await
    .unwrap();
    // Stop mid-stream: some payments done, most not.
    watcher
        .wait_for("a few outcomes", SETTLE, |o| {
            if o.len() >= 5 {
                Ok(())
            } else {
                Err(format!("{} outcomes", o.len()))
            }
        })
        .await
        .unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(60), first.shutdown()).await;
    criterion.expect(
        matches!(stopped, Ok(Ok(()))),
        "a clean shutdown within 60 s",
        match &stopped {
            Ok(stopped) => result_text(stopped),
            Err(_) => "still stopping after 60 s".into(),
        },
    );
    let decided_at_stop = watcher.snapshot().len();
    criterion.expect(
        decided_at_stop < workload.records.len(),
        "the shutdown came mid-stream (some payments still undecided)",
        format!("{decided_at_stop} of {} decided", workload.records.len()),
    );
    let second = start::<E>(broker, config.clone()).await.unwrap();
    let ledger = Ledger::new(workload.classes(), config.max_retries + 1);
    let settled = watcher
        .wait_for("every payment accounted for", SETTLE, |o| ledger.settled(o))
        .await;
    let accounting = ledger.account(&watcher.snapshot());
    criterion.expect(
        settled.is_ok() && accounting.lost() == 0 && accounting.wrong_fate.is_empty(),
        "every payment processed or dead-lettered, none lost, after a restart",
        serde_json::to_string(&accounting).unwrap_or_default(),
    );
    let payments: BTreeSet<String> = watcher
        .snapshot()
        .into_iter()
        .map(|o| o.payment_id)
        .collect();
    criterion.note(format!(
        "{decided_at_stop} decided before the shutdown, {} payments in all, {} duplicate outcome(s)",
        payments.len(),
        accounting.duplicates
    ));
    second.shutdown().await.unwrap();
}

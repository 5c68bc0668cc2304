//! The incident, as a run the scenario and the graders share: a bug is deployed,
//! payments pile up in the DLQ, the bug is fixed, the DLQ is replayed and purged.
//!
//! Everything the run does to the service goes through its HTTP API, as an
//! operator's `curl` would.

use std::collections::BTreeMap;
use std::time::Duration;

use harness::clock::now_ms;
use harness::gateway::{Defect, FailureMix};
use harness::headers::RawHeader;
use harness::outcomes::{Outcome, OutcomeStatus, OutcomeWatcher};
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments_with_headers};
use harness::topics::unique_name;
use harness::workload::Workload;
use harness::Broker;
use serde_json::{json, Value};

use crate::truth::GroundTruth;
use lab_4_4_kit::client::ApiClient;
use lab_4_4_kit::config::ServiceConfig;
use lab_4_4_kit::dlq::{records_in, watermarks};
use lab_4_4_kit::service::{start, ServiceHandle};
use lab_4_4_kit::Exercise;

/// The workshop's seed for Lab 4.4.
pub const SEED: u64 = 44;
/// The admin token of scenario and test runs.
pub const RUN_TOKEN: &str = "lab-4-4-admin-token";

/// How big a run is.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub seed: u64,
    pub payments: usize,
    /// The bank's failures: 30%, half transient (failing 1 to 4 times, so some
    /// run out of the 3 retries), half permanent.
    pub mix: FailureMix,
    /// Rate of each of the four poison kinds.
    pub poison_each: f64,
}

impl RunOptions {
    /// The graded run: 120 payments, 30% failures, 2% of each poison kind. The
    /// ones in JPY (10 of them for seed 44) are hit by the bug.
    pub fn graded() -> RunOptions {
        RunOptions {
            seed: SEED,
            payments: 120,
            mix: FailureMix::with_failure_rate(0.3),
            poison_each: 0.02,
        }
    }
}

/// Headers every payment of a run carries besides `payment-id`: the kinds a
/// replay must bring back byte for byte (not UTF-8, empty, absent, a key twice).
pub fn awkward_headers() -> Vec<RawHeader> {
    vec![
        ("trace-context".into(), Some(vec![0xff, 0x00, 0xfe, 0x80])),
        ("empty".into(), Some(Vec::new())),
        ("no-value".into(), None),
        (
            "payment-id".into(),
            Some(b"a second value for the same key".to_vec()),
        ),
    ]
}

/// One run of the incident against a service of its own (own topics, groups).
pub struct IncidentRun {
    pub broker: Broker,
    pub service: ServiceHandle,
    pub api: ApiClient,
    pub workload: Workload,
    pub truth: GroundTruth,
    pub watcher: OutcomeWatcher,
    pub config: ServiceConfig,
    /// The live topic's high watermarks right after the workload was produced.
    pub live_after_produce: BTreeMap<i32, (i64, i64)>,
}

impl IncidentRun {
    /// Start a service with the bug deployed, and produce the workload.
    pub async fn start<E: Exercise>(
        broker: &Broker,
        options: &RunOptions,
    ) -> anyhow::Result<IncidentRun> {
        let topic = unique_name("lab44");
        let mut config = ServiceConfig::for_run(&topic, RUN_TOKEN);
        config.failure_mix = Some(options.mix.clone());
        config.with_bug = true;
        let service = start::<E>(broker, config.clone()).await?;
        let api = ApiClient::new(&service.base_url(), Some(RUN_TOKEN));
        let watcher =
            OutcomeWatcher::start(broker, &service.state.topology.pipeline.outcomes_topic())?;
        let workload = Workload::new(
            options.seed,
            options.payments,
            PoisonRates::each(options.poison_each),
            options.mix.clone(),
        );
        let truth = GroundTruth::of(&workload, config.max_retries);
        let producer = payment_producer(broker)?;
        produce_payments_with_headers(&producer, &topic, &workload.records, &awkward_headers())
            .await?;
        let live_after_produce = watermarks(broker, &topic).await?;
        Ok(IncidentRun {
            broker: broker.clone(),
            service,
            api,
            workload,
            truth,
            watcher,
            config,
            live_after_produce,
        })
    }

    /// Wait until every payment has its first outcome.
    pub async fn first_pass(&self, deadline: Duration) -> anyhow::Result<Vec<Outcome>> {
        let ids = self.truth.ids(|_| true);
        Ok(self
            .watcher
            .wait_for("every payment's first outcome", deadline, |outcomes| {
                missing(&ids, outcomes, 0)
            })
            .await?)
    }

    /// Fix the bug, over the API.
    pub async fn fix_bug(&self) -> anyhow::Result<()> {
        self.api
            .post("/api/v1/config/zero-decimal-bug?enabled=false", None)
            .await?
            .ok()?;
        Ok(())
    }

    /// Replay what `filter` selects, over the API. Returns the summary and when
    /// the replay was asked for (outcomes after that are the replay's).
    pub async fn replay(&self, filter: Value, dry_run: bool) -> anyhow::Result<(Value, i64)> {
        let asked_at = now_ms();
        let path = format!("/api/v1/dlq/replay?dry_run={dry_run}");
        let summary = self.api.post(&path, Some(&filter)).await?.ok()?;
        Ok((summary, asked_at))
    }

    /// Wait until each of `ids` has an outcome decided at or after `since_ms`.
    pub async fn replayed_outcomes(
        &self,
        ids: &[String],
        since_ms: i64,
        deadline: Duration,
    ) -> anyhow::Result<Vec<Outcome>> {
        Ok(self
            .watcher
            .wait_for(
                "an outcome for every replayed payment",
                deadline,
                |outcomes| missing(ids, outcomes, since_ms),
            )
            .await?)
    }

    /// Wait until the service is idle: every group has committed everything on
    /// its topic, and the watcher has read every outcome written (so no outcome
    /// is still on its way, duplicates included).
    pub async fn idle(&self, deadline: Duration) -> anyhow::Result<()> {
        let topology = &self.service.state.topology;
        self.lag_zero(topology, deadline).await?;
        let outcomes = topology.pipeline.outcomes_topic();
        let written = records_in(&self.broker, &outcomes).await?;
        self.watcher
            .wait_for("the watcher to read every outcome", deadline, |seen| {
                let read = (seen.len() + self.watcher.unreadable()) as i64;
                if read >= written {
                    Ok(())
                } else {
                    Err(format!("{read} of {written} read"))
                }
            })
            .await?;
        Ok(())
    }

    async fn lag_zero(
        &self,
        topology: &lab_4_4_kit::topology::Topology,
        deadline: Duration,
    ) -> anyhow::Result<()> {
        harness::wait::until_async(
            "the service to be idle",
            deadline,
            Duration::from_millis(100),
            || async {
                match lab_4_4_kit::metrics::lag_now(&self.broker, topology).await {
                    Ok(0) => Ok(()),
                    Ok(lag) => Err(format!("lag {lag}")),
                    Err(error) => Err(format!("{error:#}")),
                }
            },
        )
        .await?;
        Ok(())
    }

    /// The filter that selects the bug's dead letters.
    pub fn bug_filter() -> Value {
        json!({"reason": Defect::ZeroDecimalCurrency.as_str()})
    }

    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.service.shutdown().await
    }
}

/// `Err(progress)` while some of `ids` have no outcome finished at or after `since_ms`.
fn missing(ids: &[String], outcomes: &[Outcome], since_ms: i64) -> Result<(), String> {
    let decided: std::collections::BTreeSet<&str> = outcomes
        .iter()
        .filter(|o| o.finished_at_ms >= since_ms)
        .map(|o| o.payment_id.as_str())
        .collect();
    let left = ids
        .iter()
        .filter(|id| !decided.contains(id.as_str()))
        .count();
    if left == 0 {
        Ok(())
    } else {
        Err(format!("{} of {} decided", ids.len() - left, ids.len()))
    }
}

/// How many outcomes of each status each payment got at or after `since_ms`.
pub fn statuses_since(
    outcomes: &[Outcome],
    since_ms: i64,
) -> BTreeMap<String, BTreeMap<OutcomeStatus, usize>> {
    let mut statuses: BTreeMap<String, BTreeMap<OutcomeStatus, usize>> = BTreeMap::new();
    for outcome in outcomes.iter().filter(|o| o.finished_at_ms >= since_ms) {
        *statuses
            .entry(outcome.payment_id.clone())
            .or_default()
            .entry(outcome.status)
            .or_default() += 1;
    }
    statuses
}

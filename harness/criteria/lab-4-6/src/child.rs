//! A windowed consumer in a process of its own, so a criterion can kill it with
//! SIGKILL: no drain, no last commit, no goodbye to the group, exactly what a
//! crash or an OOM kill does (a task cannot be killed that way: dropping it
//! still runs destructors, and the process keeps its connections).
//!
//! The child is the criteria's own test binary run again, on one ignored test
//! (`windowed_consumer_child_process` in `tests/lab_4_6/main.rs`), with its
//! configuration in the [`CHILD_ENV`] variable. It inherits `LAB_TARGET`, so it
//! runs the same implementation (starter or solution) as its parent.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use harness::gateway::{FailureMix, Gateway};
use harness::measure::rebalance::RebalanceLog;
use harness::outcomes::OutcomeReporter;
use harness::{Broker, TimeScale};
use lab_4_6_kit::config::WindowedConfig;
use lab_4_6_kit::consumer::run;
use lab_4_6_kit::stats::WindowedStats;
use lab_4_6_kit::Exercise;
use serde::{Deserialize, Serialize};

/// The variable that carries a child's [`ChildConfig`] (JSON).
pub const CHILD_ENV: &str = "LAB46_CHILD_CONSUMER";

/// The test the child runs (ignored in a plain `cargo test`).
pub const CHILD_TEST: &str = "windowed_consumer_child_process";

/// What the child consumes, and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildConfig {
    pub bootstrap_servers: String,
    pub topic: String,
    pub dlq_topic: String,
    pub outcomes_topic: String,
    pub group: String,
    pub failure_rate: f64,
    pub time_scale: f64,
    pub session_timeout_ms: u64,
}

impl ChildConfig {
    pub fn of(broker: &Broker, config: &WindowedConfig, outcomes_topic: &str) -> ChildConfig {
        ChildConfig {
            bootstrap_servers: broker.bootstrap_servers.clone(),
            topic: config.topic.clone(),
            dlq_topic: config.dlq_topic.clone(),
            outcomes_topic: outcomes_topic.to_string(),
            group: config.group_id.clone(),
            // The runs use `FailureMix::with_failure_rate`, which this rebuilds.
            failure_rate: config.gateway.mix.transient_rate + config.gateway.mix.permanent_rate,
            time_scale: config.gateway.time_scale.factor(),
            session_timeout_ms: config.session_timeout.as_millis() as u64,
        }
    }
}

/// Start the child: this test binary again, on [`CHILD_TEST`] only.
pub fn spawn(config: &ChildConfig) -> anyhow::Result<Child> {
    let binary = std::env::current_exe().context("finding the test binary")?;
    Command::new(binary)
        .args([
            "--exact",
            CHILD_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, serde_json::to_string(config)?)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .context("starting the child consumer process")
}

/// The child's side: run the windowed consumer until killed. Without
/// [`CHILD_ENV`] (a plain `cargo test --ignored`) there is nothing to do.
pub async fn serve<E: Exercise>() -> anyhow::Result<()> {
    let Ok(json) = std::env::var(CHILD_ENV) else {
        return Ok(());
    };
    let child: ChildConfig =
        serde_json::from_str(&json).context("reading the child's configuration")?;
    let broker = Broker::configured(&child.bootstrap_servers, Vec::new());
    let gateway = Gateway::new(FailureMix::with_failure_rate(child.failure_rate))
        .with_time_scale(TimeScale::new(child.time_scale));
    let mut config = WindowedConfig::new(
        &child.topic,
        &child.dlq_topic,
        &child.group,
        "killed-child",
        gateway,
    );
    config.session_timeout = Duration::from_millis(child.session_timeout_ms);
    let reporter = OutcomeReporter::new(&broker, &child.outcomes_topic)?;
    // Never raised: this process ends by SIGKILL.
    let stop = Arc::new(AtomicBool::new(false));
    run::<E>(
        &broker,
        &config,
        &reporter,
        Arc::new(WindowedStats::default()),
        RebalanceLog::default(),
        stop,
    )
    .await
}

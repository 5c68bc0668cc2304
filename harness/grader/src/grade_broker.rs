//! Which broker a `grade` runs against, said before the tests run.
//!
//! An instructor who started a broker must be graded on it: `grade` looks for
//! the brokers `cargo run` would find (`KAFKA_BOOTSTRAP_SERVERS`, then
//! `localhost:9092`) and hands the one it finds to its child `cargo test` as
//! `KAFKA_BOOTSTRAP_SERVERS`, so both use exactly it. When there is none, the
//! tests' own ladder decides (a testcontainers broker when Docker answers, else
//! the embedded mock), and `grade` says which to expect; either way the tests
//! write what they actually used to `GRADING_DIR` ([`crate::broker::BrokerRecord`]),
//! and that is what the scorecard records.

use std::path::Path;
use std::process::Command;

use anyhow::Context;
use harness::broker::{docker_answers, find_running, Broker, BrokerChoice};

use crate::broker::{BrokerRecord, BROKER_RECORD};

/// The broker of one `grade` run.
pub enum GradeBroker {
    /// A running broker `grade` found: the child is told to use it.
    Running(BrokerRecord),
    /// None running: the child's ladder decides; what it will most likely do.
    ChildDecides(String),
}

impl GradeBroker {
    /// Find it, and print the line that says which, before any test runs.
    /// A configured broker that does not answer is an error, as everywhere.
    pub fn choose() -> anyhow::Result<GradeBroker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let found: Option<Broker> = runtime
            .block_on(find_running(&BrokerChoice::from_env()))
            .context("the configured broker")?;
        let plan = match found {
            Some(broker) => GradeBroker::Running(runtime.block_on(BrokerRecord::of(&broker))),
            None if docker_answers() => {
                let (name, tag) = crate::broker::test_image();
                GradeBroker::ChildDecides(format!(
                    "a {name}:{tag} container the tests start, one per test binary, removed when it ends \
                     (testcontainers: Docker answers, no KAFKA_BOOTSTRAP_SERVERS, nothing on localhost:9092)"
                ))
            }
            None => GradeBroker::ChildDecides(
                "the embedded librdkafka mock cluster (no KAFKA_BOOTSTRAP_SERVERS, nothing on localhost:9092, \
                 no Docker): numbers are indicative; for a real broker run `scripts/kafka-local start` \
                 or `docker compose up -d`"
                    .into(),
            ),
        };
        match &plan {
            GradeBroker::Running(record) => eprintln!(
                "grade: broker {} ({}), {}; the tests are given KAFKA_BOOTSTRAP_SERVERS={}",
                record.broker, record.kafka_version, record.found_by, record.bootstrap_servers
            ),
            GradeBroker::ChildDecides(what) => eprintln!("grade: broker: {what}"),
        }
        Ok(plan)
    }

    /// Point the child `cargo test` at the broker found, and clear the record
    /// the previous run's tests left.
    pub fn prepare(&self, command: &mut Command, grading_dir: &Path) -> anyhow::Result<()> {
        if let GradeBroker::Running(record) = self {
            command.env("KAFKA_BOOTSTRAP_SERVERS", &record.bootstrap_servers);
        }
        let stale = grading_dir.join(BROKER_RECORD);
        if stale.exists() {
            std::fs::remove_file(&stale)
                .with_context(|| format!("removing the stale {}", stale.display()))?;
        }
        Ok(())
    }

    /// What the tests of the run just finished used, as they wrote it.
    pub fn used(&self, grading_dir: &Path) -> BrokerRecord {
        let written: Option<BrokerRecord> = std::fs::read(grading_dir.join(BROKER_RECORD))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        match (self, written) {
            // The tests saw it as configured; how grade found it says more.
            (GradeBroker::Running(chosen), Some(mut used))
                if used.bootstrap_servers == chosen.bootstrap_servers =>
            {
                used.found_by = format!("{}, by grade, given to the tests", chosen.found_by);
                used
            }
            (_, Some(used)) => used,
            (_, None) => BrokerRecord {
                broker: "not recorded (no test reached the broker)".into(),
                bootstrap_servers: String::new(),
                kafka_version: "unknown".into(),
                found_by: match self {
                    GradeBroker::Running(record) => format!("grade chose {}", record.broker),
                    GradeBroker::ChildDecides(what) => format!("grade expected {what}"),
                },
            },
        }
    }
}

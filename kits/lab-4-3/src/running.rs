//! The retry consumer and every retry level as tokio tasks in one process: what
//! `cargo run -p lab-4-3` and the graded criteria start. Each member can be
//! killed (as a crash would: its task is dropped wherever it is) and restarted,
//! and resumes from its group's committed offsets.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use harness::measure::rebalance::{RebalanceEvent, RebalanceKind, RebalanceLog};
use harness::outcomes::OutcomeReporter;
use harness::Broker;
use tokio::task::JoinHandle;

use crate::pipeline::{Pipeline, PipelineStats};
use crate::{retry_consumer, retry_processor, Exercise};

/// Which member of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Consumer,
    Level(u32),
}

impl Role {
    /// The member name in rebalance logs and outcome records.
    pub fn member_name(self) -> String {
        match self {
            Role::Consumer => "retry-consumer".into(),
            Role::Level(level) => format!("retry-processor-{level}"),
        }
    }
}

struct Member {
    stop: Arc<AtomicBool>,
    task: JoinHandle<anyhow::Result<()>>,
}

/// A running pipeline: the retry consumer and one processor per level.
pub struct RunningPipeline<E: Exercise> {
    broker: Broker,
    pipeline: Arc<Pipeline>,
    reporter: OutcomeReporter,
    pub stats: Arc<PipelineStats>,
    pub rebalances: RebalanceLog,
    members: Vec<(Role, Member)>,
    exercise: PhantomData<E>,
}

impl<E: Exercise> RunningPipeline<E> {
    /// Start the given roles (usually [`RunningPipeline::all_roles`]).
    pub fn start(
        broker: &Broker,
        pipeline: Pipeline,
        roles: &[Role],
    ) -> anyhow::Result<RunningPipeline<E>> {
        let reporter = OutcomeReporter::new(broker, &pipeline.outcomes_topic())?;
        let stats = Arc::new(PipelineStats::new(pipeline.levels()));
        let mut running = RunningPipeline {
            broker: broker.clone(),
            pipeline: Arc::new(pipeline),
            reporter,
            stats,
            rebalances: RebalanceLog::default(),
            members: Vec::new(),
            exercise: PhantomData,
        };
        for &role in roles {
            running.spawn(role);
        }
        Ok(running)
    }

    /// The consumer and every level of `pipeline`.
    pub fn all_roles(pipeline: &Pipeline) -> Vec<Role> {
        std::iter::once(Role::Consumer)
            .chain((1..=pipeline.levels()).map(Role::Level))
            .collect()
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    fn spawn(&mut self, role: Role) {
        let stop = Arc::new(AtomicBool::new(false));
        let (broker, pipeline, reporter, stats, log, flag) = (
            self.broker.clone(),
            self.pipeline.clone(),
            self.reporter.clone(),
            self.stats.clone(),
            self.rebalances.clone(),
            stop.clone(),
        );
        let member = role.member_name();
        let task = tokio::spawn(async move {
            match role {
                Role::Consumer => {
                    retry_consumer::run::<E>(
                        &broker, &pipeline, &member, &reporter, stats, log, flag,
                    )
                    .await
                }
                Role::Level(level) => {
                    retry_processor::run_level::<E>(
                        &broker, &pipeline, level, &member, &reporter, stats, log, flag,
                    )
                    .await
                }
            }
            .with_context(|| format!("{member} stopped on an error"))
        });
        self.members.push((role, Member { stop, task }));
    }

    /// Kill a member as a crash would: its task is dropped at whatever await it
    /// is in (between a forward and its commit, say), with the retry consumer's
    /// record tasks and no last commit (see `lab_4_6_kit::window::Window::crash`),
    /// then start a fresh one.
    pub async fn kill_and_restart(&mut self, role: Role) {
        if let Some(index) = self.members.iter().position(|(r, _)| *r == role) {
            let (_, member) = self.members.remove(index);
            member.task.abort();
            let _ = member.task.await;
        }
        self.spawn(role);
    }

    /// Has a member stopped on an error already? (A healthy member only stops
    /// when asked.)
    pub fn failed_member(&self) -> Option<Role> {
        self.members
            .iter()
            .find(|(_, member)| member.task.is_finished())
            .map(|(role, _)| *role)
    }

    /// Rebalances beyond each member's first assignment: revocations, lost
    /// partitions, reassignments. With nobody joining or leaving, there should be
    /// none: any is a member that was thrown out of its group.
    pub fn unexpected_rebalances(&self) -> Vec<RebalanceEvent> {
        let mut seen_first_assignment = std::collections::BTreeSet::new();
        self.rebalances
            .events()
            .into_iter()
            .filter(|event| {
                !(event.kind == RebalanceKind::Assigned
                    && seen_first_assignment.insert(event.member.clone()))
            })
            .collect()
    }

    /// Stop every member and wait for them; the first error any stopped on is
    /// returned.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        for (_, member) in &self.members {
            member.stop.store(true, Ordering::Relaxed);
        }
        let mut first_error = None;
        for (role, member) in std::mem::take(&mut self.members) {
            let result = match member.task.await {
                Ok(result) => result,
                Err(join_error) => Err(anyhow::anyhow!(
                    "{} panicked: {join_error}",
                    role.member_name()
                )),
            };
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl<E: Exercise> Drop for RunningPipeline<E> {
    fn drop(&mut self) {
        for (_, member) in &self.members {
            member.stop.store(true, Ordering::Relaxed);
        }
    }
}

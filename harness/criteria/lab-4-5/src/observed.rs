//! What a run observed: its steps, as they happened, and everything the
//! members and the producer left on the topics (the analysis reads only this).

use std::path::PathBuf;

use harness::outcomes::{Outcome, OutcomeStatus};
use lab_4_5_kit::events::MemberEvent;
use lab_4_5_kit::Strategy;

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Start,
    Join,
    Leave,
    StaticRestart,
    Kill,
}

/// One step of the run, as it happened.
#[derive(Debug, Clone)]
pub struct Step {
    pub kind: StepKind,
    /// `b1 joins`, for tables and the timeline's legend.
    pub label: String,
    pub member: String,
    pub at_ms: i64,
    /// When the last assignment or revocation that settled it happened.
    pub settled_ms: i64,
    pub live_after: Vec<String>,
    /// Partitions that processed fewer than [`crate::scenario::FLOW_AFTER_STEP`] payments in the
    /// [`crate::scenario::STALL_DEADLINE`] after it settled.
    pub stalled: Vec<i32>,
}

/// Everything one strategy's run observed.
#[derive(Debug, Clone)]
pub struct Observed {
    pub strategy: Strategy,
    pub topic: String,
    pub group: String,
    pub started_ms: i64,
    pub ended_ms: i64,
    pub steps: Vec<Step>,
    pub events: Vec<MemberEvent>,
    pub outcomes: Vec<Outcome>,
    /// Every payment the producer had acknowledged.
    pub produced: Vec<String>,
    pub session_timeout_ms: u64,
    pub logs: PathBuf,
}

impl Observed {
    pub fn step(&self, kind: StepKind) -> Option<&Step> {
        self.steps.iter().find(|s| s.kind == kind)
    }

    /// The processed outcomes (Lab 4.5's gateway never fails).
    pub fn processed(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes
            .iter()
            .filter(|o| o.status == OutcomeStatus::Processed)
    }
}

//! # Lab 4.4's judgement
//!
//! The incident as a run (bug, fix, replay), every payment's expected fate, and
//! what the topics must show after a replay.
//!
//! | module | concern |
//! |---|---|
//! | [`truth`] | the ground truth of a scenario: every payment's expected fate |
//! | [`scenario`] | the incident as a run: bug, fix, replay (shared with the graders) |
//! | [`verdicts`] | what the topics must show after a replay, payment by payment |
//! | [`run`] | `cargo run -p lab-4-4`: the incident, the replay, the report |
//! | [`checklist`] | the report's checklist: passed, failed, or not checked (nothing to check) |
//! | [`replay_rate`] | how fast a replay gets through a seeded DLQ (the `replay-rate` report) |

pub mod checklist;
pub mod replay_rate;
pub mod run;
pub mod scenario;
pub mod truth;
pub mod verdicts;

//! # grader: how grades are taken and recorded
//!
//! The instructor's side of the harness. Nothing here is linked by a lab's
//! binaries: a student's consumer links `harness` (run time), and a lab's
//! self-check links its `lab-4-N-criteria` (judgement), never this crate.
//!
//! | module | concern |
//! |---|---|
//! | [`info`] | `info.toml`: labs, criteria, student files, wrong answers |
//! | [`grading`] | running a criterion, its verdict, and scorecards |
//! | [`child_cargo`] | every child `cargo`, with the environment a user's shell would give it |
//! | [`feature_check`] | `dev check`: every package alone builds its dependencies as the workspace does |
//! | [`grade_broker`] | which broker a `grade` uses, said before the tests run and told to them |
//! | [`grader_check`] | running criteria as a child `cargo test`; proving wrong answers are caught |
//! | [`scorecard`] | the scorecard: one line per criterion, md and json, with warnings |
//! | [`scratch`] | a scratch copy of the workspace, kept in sync cheaply |
//! | [`submission`] | grading a student's checkout in a pristine copy of the workspace |
//! | [`dev_check`] | the maintainers' `dev check`: every lab has the shape `info.toml` promises |
//! | [`broker`] | the tests' broker: the one resolver, with the testcontainers rung plugged in |
//! | [`container_reaper`] | removing the tests' container when the test process ends, however it ends |
//! | [`commit_watch`] | sampling groups' commits during an outage, and the records none may pass |
//!
//! Binaries: `grade` (the instructor's command) and `dev` (`dev check`).

pub mod broker;
pub mod child_cargo;
pub mod commit_watch;
pub mod container_reaper;
pub mod dev_check;
pub mod feature_check;
pub mod grade_broker;
pub mod grader_check;
pub mod grading;
pub mod info;
pub mod scorecard;
pub mod scratch;
pub mod submission;

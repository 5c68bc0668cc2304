//! # Lab 4.5's judgement
//!
//! The scaled scenario with real member processes, the ownership timeline, the
//! measurements per strategy, the verdicts, and `cargo run -p lab-4-5`.
//!
//! | module | concern |
//! |---|---|
//! | [`members`] | member processes: start, SIGTERM (a graceful leave), SIGKILL (a crash) |
//! | [`scenario`] | one strategy's run: members scaled 1 → 2 → 3 → 2 → 1, settling after each step |
//! | [`observed`] | what a run observed: its steps, member events, outcomes, payments produced |
//! | [`producer`] | the steady producer of seeded payments |
//! | [`session`] | seed 003's troubleshooting: a member frozen longer than its session, under a short and a long session timeout |
//! | [`ownership`] | who owned which partition when, from the member events |
//! | [`analysis`] | stop-the-world, unmoved pauses, moves, duplicates, losses, zombie writes, kill detection, the static restart |
//! | [`checks`] | the criteria's verdicts, shared by the tests and the checklist |
//! | [`timeline`] | the timeline as a text chart and an SVG |
//! | [`report`] | the per-strategy table |
//! | [`run`] | `cargo run -p lab-4-5` and the report binary |

pub mod analysis;
pub mod checks;
pub mod members;
pub mod observed;
pub mod ownership;
pub mod producer;
pub mod report;
pub mod run;
pub mod scenario;
pub mod session;
pub mod timeline;

//! # Lab 4.3's judgement
//!
//! The seeded run of the retry pipeline, what the topics should show for each
//! payment, the graded thresholds, and the report and checklist of
//! `cargo run -p lab-4-3`.
//!
//! | module | concern |
//! |---|---|
//! | [`scenario`] | produce, run, settle: the run the criteria also use (re-exports the modules below) |
//! | [`settled`] | what a finished run observed, the input of every verdict |
//! | [`thresholds`] | the graded thresholds, with the measurements behind them |
//! | [`lateness`] | latency and retry lateness of a settled run, the healthy-velocity ratio |
//! | [`paths`] | each payment's path through the topics: retries, dead letters, hops |
//! | [`verdicts`] | what the topics should show for each payment, and where they differ |
//! | [`report`] | the end-of-run report and the success checklist |
//! | [`run`] | `cargo run -p lab-4-3`: baseline, run with failures, report |
//! | [`throughput`] | the retry consumer's rate at zero processing cost, for `targets` and the bench |

pub mod lateness;
pub mod paths;
pub mod report;
pub mod run;
pub mod scenario;
pub mod settled;
pub mod thresholds;
pub mod throughput;
pub mod verdicts;

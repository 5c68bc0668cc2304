//! # Lab 4.1's judgement
//!
//! The measured scenario (drain runs and the group-impact run), the report and
//! `problems_observed.md`, and the grader's own consumer lag ([`truth`]), which
//! the graded criterion compares the student's answer with. None of it lives in
//! the student's crate (`labs/lab-4-1`) or in the given code (`kits/lab-4-1`).
//!
//! | module | concern |
//! |---|---|
//! | [`scenario`] | drain runs, the group-impact run, lag sampling |
//! | [`truth`] | the grader's consumer lag, to compare the student's with |
//! | [`report`] | the summary table and `problems_observed.md` |
//! | [`run`] | `cargo run -p lab-4-1`: every step, then the report |

pub mod report;
pub mod run;
pub mod scenario;
pub mod truth;

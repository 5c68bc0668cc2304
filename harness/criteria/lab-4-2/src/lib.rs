//! # Lab 4.2's judgement
//!
//! The measured run the criteria and `cargo run -p lab-4-2` share, its
//! thresholds and its success checklist.
//!
//! | module | concern |
//! |---|---|
//! | [`scenario`] | produce, consume, settle; thresholds; the checklist |
//! | [`run`] | `cargo run -p lab-4-2`: the scenario, the analysis, the checklist |
//! | [`throughput`] | the DLQ consumer's backlog throughput, for the `patterns` bench |

pub mod run;
pub mod scenario;
pub mod throughput;

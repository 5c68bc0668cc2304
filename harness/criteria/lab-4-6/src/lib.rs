//! # Lab 4.6's judgement
//!
//! The tracker's properties, the runs the criteria use, the throughput
//! measurement, and `cargo run -p lab-4-6`.
//!
//! | module | concern |
//! |---|---|
//! | [`properties`] | the tracker against a model: named scripts, then proptest's random interleavings |
//! | [`scenario`] | produce, consume, settle: the run with a DLQ outage and restarts; the thresholds |
//! | [`child`] | the windowed consumer in a process of its own, for the SIGKILL criterion |
//! | [`throughput`] | the windowed consumer against the raw baselines, in one run |
//! | [`run`] | `cargo run -p lab-4-6`: properties, throughput, an outage, the checklist |

pub mod child;
pub mod properties;
pub mod run;
pub mod scenario;
pub mod throughput;

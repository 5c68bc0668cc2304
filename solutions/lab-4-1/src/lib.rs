//! # Lab 4.1, reference solution
//!
//! Only the files a student solves live here (`src/lag.rs`); the given code (the
//! fragile consumer, the scenario, the report) is reused from `labs/lab-4-1`, so
//! the starter and the solution can never drift apart on anything but the exercise.

pub mod lag;

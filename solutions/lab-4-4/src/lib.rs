//! # Lab 4.4, reference solution
//!
//! Only the solved file lives here (`src/exercise.rs`); the given code is reused
//! from `labs/lab-4-4`, generic over [`lab_4_4::Exercise`].

pub mod exercise;

pub use exercise::Solution;

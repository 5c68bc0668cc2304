//! # Lab 4.3, reference solution
//!
//! Only the solved file lives here (`src/exercise.rs`); the given code is reused
//! from `labs/lab-4-3`, generic over [`lab_4_3::Exercise`].

pub mod exercise;

pub use exercise::Solution;

//! # Lab 4.2, reference solution
//!
//! Only the solved file lives here (`src/exercise.rs`); the given code is reused
//! from `labs/lab-4-2`, generic over [`lab_4_2::Exercise`].

pub mod exercise;

pub use exercise::Solution;

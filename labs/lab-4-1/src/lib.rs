//! # Lab 4.1: the blocking retry anti-pattern (seed 000)
//!
//! An observation lab: the consumer here is *meant* to be wrong. You run it, you
//! measure what its blocking retries do, and you write down what you saw.
//!
//! ## Layout
//!
//! | file | what | yours? |
//! |---|---|---|
//! | `src/fragile_consumer.rs` | the seed's fragile consumer, faithfully | read it |
//! | `src/lag.rs` | consumer lag, committed offsets against high watermarks | **TODO: graded** |
//! | `src/scenario.rs` | the measured steps: drain runs and the group-impact run | given |
//! | `src/report.rs` | the summary table and `problems_observed.md` | given |
//! | `src/main.rs` | `cargo run -p lab-4-1`: the whole scenario | given |
//! | `src/bin/fragile-consumer.rs` | the consumer alone, for the seed's multi-terminal flow | given |

pub mod fragile_consumer;
pub mod lag;
pub mod report;
pub mod runner;
pub mod scenario;

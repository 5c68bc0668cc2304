//! # harness: what every lab of Kafka Resilience Lab shares
//!
//! The harness finds a broker, produces synthetic payments, plays the payment
//! gateway, and observes what a lab did with each payment, so that graders can
//! check the seeds' success criteria against a real broker.
//!
//! ## Layout (one concern per module)
//!
//! | module | concern |
//! |---|---|
//! | [`backoff`] | backoff policies: immediate, fixed, exponential (capped), jitter, explicit levels |
//! | [`broker`] | the one broker resolver: env, testcontainers, localhost:9092, embedded mock |
//! | [`topics`] | unique names, explicit topic creation |
//! | [`payments`] | the seeded payment generator and poison pills; `parse_payment` |
//! | [`gateway`] | the simulated payment gateway: deterministic verdict per (payment, attempt) |
//! | [`workload`] | a generated workload with its ground truth |
//! | [`producer`] | producing payments with acknowledged deliveries |
//! | [`clock`] | epoch milliseconds now, and as RFC 3339 text |
//! | [`headers`] | record headers as raw bytes, read without trusting them |
//! | [`dead_letter`] | the dead-letter record format (seed 000 + 001/003 fields + exact bytes) |
//! | [`retry`] | retry topics and their headers: reading them without trusting them |
//! | [`replay`] | replay provenance headers, the parking and journal topics (Lab 4.4) |
//! | [`outcomes`] | outcome records on `<topic>-outcomes`: how labs report, how graders watch |
//! | [`ledger`] | exact accounting: processed, dead-lettered, lost; where each record must go |
//! | [`commit_watch`] | graders: sampling groups' commits during an outage, and the records none may pass |
//! | [`measure`] | latency percentiles, consumer lag, rebalance events, summary tables |
//! | [`grading`] | criteria, `info.toml`, verdicts and scorecards |
//! | [`grader_check`] | running criteria as a child `cargo test`; proving wrong answers are caught |
//! | [`cli`] | the progress spinner and Ctrl-C flag every lab binary uses |
//! | [`time_scale`] | the one knob that shrinks every delay for tests |
//! | [`wait`] | polling a condition with a deadline (never a fixed sleep) |
//!
//! Binaries: `produce-payments` (the seed's producer terminal) and `grade` (the
//! instructor's command).

pub mod backoff;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod commit_watch;
pub mod dead_letter;
pub mod gateway;
pub mod grader_check;
pub mod grading;
pub mod headers;
pub mod ledger;
pub mod measure;
pub mod outcomes;
pub mod payments;
pub mod producer;
pub mod replay;
pub mod retry;
pub mod time_scale;
pub mod topics;
pub mod wait;
pub mod workload;

pub use broker::{Broker, BrokerKind, Purpose, KAFKA_VERSION};
pub use time_scale::TimeScale;

/// Install a tracing subscriber honouring `RUST_LOG` (default: warnings only, so
/// the labs' own progress output stays readable).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

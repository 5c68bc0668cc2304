//! # harness: what every lab of Kafka Resilience Lab uses at run time
//!
//! The harness finds a broker, produces synthetic payments, plays the payment
//! gateway, writes dead letters and retry headers, and reports what a lab did
//! with each payment on an outcomes topic. It is what a lab's binaries link.
//!
//! What only graders use lives beside it, in two crates of its own, so a
//! student's consumer never links the grader:
//!
//! | crate | path | what |
//! |---|---|---|
//! | `harness` | `harness/runtime` | this crate: the run-time toolbox |
//! | `criteria` | `harness/criteria` | the judgement: ground truth, ledger, verdicts, thresholds, each lab's scenario and checklist |
//! | `grader` | `harness/grader` | `info.toml`, scorecards, the `grade` binary, the testcontainers rung, commit watching, `--submission` |
//!
//! ## Layout (one concern per module)
//!
//! | module | concern |
//! |---|---|
//! | [`backoff`] | backoff policies: immediate, fixed, exponential (capped), jitter, explicit levels |
//! | [`broker`] | the one broker resolver: env, (testcontainers, supplied by the grader), localhost:9092, embedded mock |
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
//! | [`measure`] | latency percentiles, consumer lag, rebalance events, summary tables |
//! | [`cli`] | the progress spinner and Ctrl-C flag every lab binary uses |
//! | [`time_scale`] | the one knob that shrinks every delay for tests |
//! | [`wait`] | polling a condition with a deadline (never a fixed sleep) |
//!
//! Binary: `produce-payments` (the seed's producer terminal).

pub mod backoff;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod dead_letter;
pub mod gateway;
pub mod headers;
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

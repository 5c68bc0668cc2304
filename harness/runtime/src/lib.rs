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
//! | `criteria` | `harness/criteria/common` | the judgement every lab shares: the ledger |
//! | `lab-4-N-criteria` | `harness/criteria/lab-4-N` | each lab's judgement: scenario, truth, verdicts, thresholds, checklist |
//! | `grader` | `harness/grader` | `info.toml`, scorecards, the `grade` binary, the testcontainers rung, commit watching, `--submission` |
//!
//! ## Layout (one concern per module)
//!
//! | module | concern |
//! |---|---|
//! | [`args`] | the broker flags every binary shares (`--bootstrap-servers`, `--client-properties`), and ending on an error in one line |
//! | [`backoff`] | backoff policies: immediate, fixed, exponential (capped), jitter, explicit levels |
//! | [`broker`] | the one broker resolver: env, (testcontainers, supplied by the grader), localhost:9092, embedded mock |
//! | [`topics`] | unique names, explicit topic creation |
//! | [`labs`] | each lab's default topic and group names (`lab-4-N.payment_requests`), so labs on one broker never share data |
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
//! | [`tail`] | reading a topic of JSON records as they arrive, without a group (outcomes, member events) |
//! | [`measure`] | latency percentiles, consumer lag, rebalance events, summary tables |
//! | [`cli`] | the progress spinner and Ctrl-C flag every lab binary uses |
//! | [`stoppable`] | a consumer loop as a task that stops when asked (or dropped) |
//! | [`time_scale`] | the one knob that shrinks every delay for tests |
//! | [`wait`] | polling a condition with a deadline (never a fixed sleep) |
//!
//! Binaries: `produce-payments` (the seed's producer terminal) and `reset-lab`
//! (deletes and recreates one lab's topics and groups, to start it clean).

pub mod args;
pub mod backoff;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod dead_letter;
pub mod gateway;
pub mod headers;
pub mod labs;
pub mod measure;
pub mod outcomes;
pub mod payments;
pub mod producer;
pub mod replay;
pub mod retry;
pub mod stoppable;
pub mod tail;
pub mod time_scale;
pub mod topics;
pub mod wait;
pub mod workload;

pub use broker::{Broker, BrokerKind, Purpose, KAFKA_VERSION};
pub use time_scale::TimeScale;

/// The default filter of [`init_tracing`]: INFO for the labs' own crates (kits,
/// starters, solutions, this harness) and their per-payment events, WARN for
/// everything else (librdkafka's bindings, tokio, hyper, ...).
pub const DEFAULT_LOG_FILTER: &str = "warn,payment=info,harness=info,\
lab_4_1_kit=info,lab_4_2_kit=info,lab_4_3_kit=info,lab_4_4_kit=info,lab_4_5_kit=info,lab_4_6_kit=info,\
lab_4_1=info,lab_4_2=info,lab_4_3=info,lab_4_4=info,lab_4_5=info,lab_4_6=info,\
lab_4_1_solution=info,lab_4_2_solution=info,lab_4_3_solution=info,lab_4_4_solution=info,\
lab_4_5_solution=info,lab_4_6_solution=info";

/// The default filter of [`init_tracing_quiet`]: warnings and errors only, and
/// no per-payment events (target `payment`) at all.
pub const QUIET_LOG_FILTER: &str = "warn,payment=off";

/// Install the tracing subscriber of a consumer binary (the student's terminal).
///
/// Logs go to stderr (stdout keeps the reports and checklists), one compact
/// line per event, coloured only when stderr is a terminal:
///
/// ```text
///  INFO payment pay-17-3 processed
///  WARN payment pay-17-4 will retry in 1s (retry 1/3) via payments-retry-1
/// ERROR sent to DLQ | payment pay-17-9 | error permanent: card_declined | retry count 0
/// ERROR CRITICAL: failed to send payment pay-17-5 to DLQ, will be retried: ...
/// ```
///
/// - Filter: [`DEFAULT_LOG_FILTER`] (INFO for the labs' crates, WARN for the
///   rest). `RUST_LOG` replaces it entirely, e.g. `RUST_LOG=warn` (no
///   per-payment successes), `RUST_LOG=info,rdkafka=debug`, `RUST_LOG=payment=off`.
/// - Per-payment events (processed, will retry, sent to DLQ) use the target
///   `payment`; a failed DLQ or retry-topic send uses the target `CRITICAL`
///   (seed 001's log level), which is the one target always printed.
/// - Timestamps and targets are left out, for readability, unless `RUST_LOG` is
///   set (whoever tunes filters wants both) or `LOG_TIMESTAMPS=1` (timestamps
///   only).
///
/// Installing twice is harmless: the second call does nothing.
pub fn init_tracing() {
    install_tracing(DEFAULT_LOG_FILTER);
}

/// [`init_tracing`] for the lab scenario binaries (`cargo run -p lab-4-N`), which
/// run hundreds of payments under a progress spinner, and for the report
/// binaries (`targets`, `replay-rate`), which run tens of thousands and print
/// their figures to stdout: the default filter is
/// [`QUIET_LOG_FILTER`] (warnings and errors, no per-payment events).
/// `RUST_LOG` and `LOG_TIMESTAMPS` work as in [`init_tracing`].
pub fn init_tracing_quiet() {
    install_tracing(QUIET_LOG_FILTER);
}

fn install_tracing(default_filter: &str) {
    use tracing_subscriber::fmt::time::SystemTime;
    use tracing_subscriber::EnvFilter;

    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|value| !value.trim().is_empty());
    let timestamps = rust_log.is_some()
        || std::env::var("LOG_TIMESTAMPS")
            .is_ok_and(|value| matches!(value.trim(), "1" | "true" | "yes" | "on"));
    let targets = rust_log.is_some();
    let filter = rust_log
        .and_then(|value| EnvFilter::try_new(value).ok())
        .unwrap_or_else(|| EnvFilter::new(default_filter));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if timestamps {
        builder
            .event_format(log_format::StudentFormat::new(SystemTime, targets))
            .try_init()
    } else {
        builder
            .event_format(log_format::StudentFormat::new((), targets))
            .try_init()
    };
}

mod log_format {
    use tracing::{Event, Subscriber};
    use tracing_subscriber::fmt::format::{Compact, Format, Writer};
    use tracing_subscriber::fmt::time::FormatTime;
    use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
    use tracing_subscriber::registry::LookupSpan;

    /// Compact lines; the target is shown when asked for, and always for
    /// `CRITICAL` (there the target is the point).
    pub(super) struct StudentFormat<T> {
        plain: Format<Compact, T>,
        targeted: Format<Compact, T>,
        targets: bool,
    }

    impl<T: FormatTime + Clone> StudentFormat<T> {
        pub(super) fn new(timer: T, targets: bool) -> StudentFormat<T> {
            let base = tracing_subscriber::fmt::format()
                .compact()
                .with_timer(timer);
            StudentFormat {
                plain: base.clone().with_target(false),
                targeted: base.with_target(true),
                targets,
            }
        }
    }

    impl<S, N, T> FormatEvent<S, N> for StudentFormat<T>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        N: for<'a> FormatFields<'a> + 'static,
        T: FormatTime,
    {
        fn format_event(
            &self,
            ctx: &FmtContext<'_, S, N>,
            writer: Writer<'_>,
            event: &Event<'_>,
        ) -> std::fmt::Result {
            if self.targets || event.metadata().target() == "CRITICAL" {
                self.targeted.format_event(ctx, writer, event)
            } else {
                self.plain.format_event(ctx, writer, event)
            }
        }
    }
}

//! The three patterns of the workshop on the same broker and the same payments:
//!
//! | pattern | lab | what a failure costs |
//! |---|---|---|
//! | `blocking` | 4.1, the fragile consumer | `sleep(2^attempt)` in the poll loop, then skip |
//! | `dlq_only` | 4.2, the DLQ consumer (solution) | one DLQ produce; transient failures are given up |
//! | `non_blocking` | 4.3, retry topics (solution) | one retry produce; a level retries after its delay |
//!
//! Two groups compare the patterns, for failure rates of 0%, 10% and 30% (half
//! transient, half permanent):
//! - `drain_100_payments`: from the first record polled to the last payment's final
//!   outcome (processed, dead-lettered, or skipped);
//! - `healthy_p99_latency`: the p99 of produce-to-processed for the healthy payments
//!   of the same runs (criterion reports it as the "time" of an iteration).
//!
//! A third, `throughput` (`patterns/throughput.rs`), measures
//! backlog throughput at zero processing cost: the raw loops, Lab 4.3's retry
//! consumer and Lab 4.6's windowed consumer.
//!
//! Time runs at 5% of the seeds' (gateway 5 ms). Both retrying patterns use Lab
//! 4.1's schedule, three attempts with 1 s and 2 s between them (50 and 100 ms
//! here): the blocking one sleeps them in the poll loop, the non-blocking one
//! waits them on two retry levels. Same payments, same schedule, same broker;
//! only the pattern differs. The embedded broker is the default;
//! `KAFKA_BOOTSTRAP_SERVERS` selects a real one. After the groups it prints the
//! ratios measured in this run. See the README ("Benchmarks") to read the report.
//!
//! ```text
//! cargo bench --bench patterns
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

#[path = "patterns/throughput.rs"]
mod throughput;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion};
use harness::backoff::{BackoffPolicy, BackoffStrategy};
use harness::gateway::FailureMix;
use harness::measure::latency::LatencySummary;
use harness::outcomes::{Outcome, OutcomeStatus};
use harness::payments::PoisonRates;
use harness::workload::Workload;
use harness::{Broker, Purpose, TimeScale};
use lab_4_3_criteria::scenario::{RetryRun, RunOptions};
use lab_4_3_kit::pipeline::GroupTimeouts;

const SEED: u64 = 7;
const PAYMENTS: usize = 100;
const FAILURE_RATES: [f64; 3] = [0.0, 0.1, 0.3];

fn time_scale() -> TimeScale {
    TimeScale::new(0.05)
}

/// Lab 4.1's fragile consumer: three attempts, sleeping 2^0 = 1 s and 2^1 = 2 s
/// between them. As retry levels: two levels, 1 s and 2 s.
fn lab_4_1_schedule() -> BackoffPolicy {
    BackoffPolicy {
        strategy: BackoffStrategy::Levels(vec![Duration::from_secs(1), Duration::from_secs(2)]),
        max_retries: 2,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pattern {
    Blocking,
    DlqOnly,
    NonBlocking,
}

impl Pattern {
    const ALL: [Pattern; 3] = [Pattern::Blocking, Pattern::DlqOnly, Pattern::NonBlocking];

    fn name(self) -> &'static str {
        match self {
            Pattern::Blocking => "blocking",
            Pattern::DlqOnly => "dlq_only",
            Pattern::NonBlocking => "non_blocking",
        }
    }
}

/// What one run of one pattern measured.
#[derive(Debug, Clone, Copy)]
struct Measured {
    drain: Duration,
    healthy_p99: Duration,
}

/// p99 of the healthy payments' produce-to-processed latency.
fn healthy_p99(workload: &Workload, outcomes: &[Outcome]) -> Duration {
    let classes = workload.classes();
    let summary = LatencySummary::from_millis(
        outcomes
            .iter()
            .filter(|o| o.status == OutcomeStatus::Processed)
            .filter(|o| classes.get(&o.payment_id).map(|c| c.label()) == Some("healthy"))
            .map(Outcome::latency_ms),
    );
    Duration::from_millis(summary.p99_ms)
}

async fn run_once(broker: &Broker, pattern: Pattern, rate: f64) -> anyhow::Result<Measured> {
    let mix = FailureMix::with_failure_rate(rate);
    match pattern {
        Pattern::Blocking => {
            let run =
                lab_4_1_criteria::scenario::drain(broker, SEED, PAYMENTS, mix, time_scale(), None)
                    .await?;
            Ok(Measured {
                drain: run.drain_time,
                healthy_p99: healthy_p99(&run.workload, &run.outcomes),
            })
        }
        Pattern::DlqOnly => {
            let run = lab_4_2_criteria::scenario::DlqRun::start::<lab_4_2_solution::Solution>(
                broker,
                SEED,
                PAYMENTS,
                PoisonRates::NONE,
                mix,
                time_scale(),
                true,
            )
            .await?
            .settle(Duration::from_secs(120))
            .await?;
            Ok(Measured {
                drain: run.drain_time,
                healthy_p99: healthy_p99(&run.workload, &run.outcomes),
            })
        }
        Pattern::NonBlocking => {
            let options = RunOptions {
                poison: PoisonRates::NONE,
                mix,
                // Produced all at once, like the other two patterns.
                pace: None,
                policy: lab_4_1_schedule(),
                timeouts: GroupTimeouts::TIGHT,
                ..RunOptions::seed_lab(SEED, PAYMENTS, time_scale())
            };
            let run = RetryRun::<lab_4_3_solution::Solution>::start(broker, options)
                .await?
                .settle(Duration::from_secs(120))
                .await?;
            anyhow::ensure!(run.timed_out.is_none(), "{:?}", run.timed_out);
            Ok(Measured {
                drain: run.drain_time,
                healthy_p99: healthy_p99(&run.workload, &run.outcomes),
            })
        }
    }
}

/// Every measurement of this process, by (pattern, failure rate in %), so the
/// latency group reuses the drain group's runs and the summary can take ratios.
static MEASURED: Mutex<BTreeMap<(Pattern, u32), Vec<Measured>>> = Mutex::new(BTreeMap::new());

/// How many of each key's runs the latency group has used.
static USED_FOR_LATENCY: Mutex<BTreeMap<(Pattern, u32), usize>> = Mutex::new(BTreeMap::new());

fn measured() -> std::sync::MutexGuard<'static, BTreeMap<(Pattern, u32), Vec<Measured>>> {
    MEASURED.lock().unwrap_or_else(|p| p.into_inner())
}

fn patterns(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let broker = runtime
        .block_on(harness::broker::resolve(Purpose::Run))
        .expect("a broker");
    let percent = |rate: f64| (rate * 100.0).round() as u32;

    // One new run, kept for the latency group and the summary.
    let new_run = |pattern: Pattern, rate: f64| {
        let m = runtime
            .block_on(run_once(&broker, pattern, rate))
            .expect("a run");
        measured()
            .entry((pattern, percent(rate)))
            .or_default()
            .push(m);
        m
    };

    let mut drain = slow_group(c, "drain_100_payments");
    for rate in FAILURE_RATES {
        for pattern in Pattern::ALL {
            let id = BenchmarkId::new(pattern.name(), format!("{}pct_failures", percent(rate)));
            drain.bench_function(id, |b| {
                b.iter_custom(|iters| (0..iters).map(|_| new_run(pattern, rate).drain).sum())
            });
        }
    }
    drain.finish();

    let mut latency = slow_group(c, "healthy_p99_latency");
    for rate in FAILURE_RATES {
        for pattern in Pattern::ALL {
            let id = BenchmarkId::new(pattern.name(), format!("{}pct_failures", percent(rate)));
            latency.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    // The drain group's runs first, each used once; new runs
                    // (kept for the summary too) only when they run out.
                    (0..iters)
                        .map(|_| {
                            let key = (pattern, percent(rate));
                            let used = {
                                let mut used =
                                    USED_FOR_LATENCY.lock().unwrap_or_else(|p| p.into_inner());
                                let count = used.entry(key).or_insert(0);
                                *count += 1;
                                *count - 1
                            };
                            let cached = measured()
                                .get(&key)
                                .and_then(|runs| runs.get(used).copied());
                            cached.unwrap_or_else(|| new_run(pattern, rate)).healthy_p99
                        })
                        .sum()
                })
            });
        }
    }
    latency.finish();
    println!("{}", summary());

    throughput::group(c, &runtime, &broker);
}

/// A group whose iterations take seconds: 10 samples of one run each, and a
/// warm-up of a single run.
fn slow_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    group
}

/// Ratios taken in this run: each pattern against itself at 0% failures, and
/// each against DLQ-only at the same rate. A pattern or a baseline that a filter
/// (`cargo bench -- throughput`) left out is "not measured", never a 0.
fn summary() -> String {
    let all = measured();
    let median = |pattern: Pattern, pct: u32, pick: fn(&Measured) -> Duration| {
        harness::measure::median(all.get(&(pattern, pct))?.iter().map(pick))
    };
    let mut table = harness::measure::summary::table(&[
        "pattern",
        "failures",
        "drain (median)",
        "drain ÷ same pattern at 0%",
        "drain ÷ DLQ-only",
        "healthy p99 (median)",
        "healthy p99 ÷ same pattern at 0%",
    ]);
    let ratio = |a: Duration, b: Option<Duration>| match b {
        Some(b) => format!("{:.2}", harness::measure::ratio(a, b)),
        None => "not measured".to_string(),
    };
    for pct in FAILURE_RATES.map(|r| (r * 100.0).round() as u32) {
        for pattern in Pattern::ALL {
            let (Some(drain), Some(p99)) = (
                median(pattern, pct, |m| m.drain),
                median(pattern, pct, |m| m.healthy_p99),
            ) else {
                continue;
            };
            table.add_row(vec![
                pattern.name().to_string(),
                format!("{pct}%"),
                format!("{} ms", drain.as_millis()),
                ratio(drain, median(pattern, 0, |m| m.drain)),
                ratio(drain, median(Pattern::DlqOnly, pct, |m| m.drain)),
                format!("{} ms", p99.as_millis()),
                ratio(p99, median(pattern, 0, |m| m.healthy_p99)),
            ]);
        }
    }
    if table.is_empty() {
        return "Pattern ratios: not measured in this run (no pattern benchmark ran)".to_string();
    }
    format!("Ratios measured in this run ({PAYMENTS} payments per run):\n{table}")
}

criterion_group!(benches, patterns);
criterion_main!(benches);

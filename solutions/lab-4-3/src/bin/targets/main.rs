//! `cargo run --release -p lab-4-3-solution --bin targets`: Lab 4.3's four
//! performance targets, measured on one broker in one run, as ratios against
//! baselines taken in the same run (never asserted; see the README).
//!
//! 1. Healthy velocity: healthy p99 with 30% failures ÷ a failure-free run (≤ 1.2).
//! 2. Delay lateness: when a retry starts after its due time (p99 ≤ 50 ms, never early).
//! 3. Throughput at zero processing cost with 30% failures ÷ a raw loop that
//!    consumes, produces one record per payment and commits once those produces
//!    are acknowledged (≥ 0.5). That is the fair baseline: the pipeline, too, must
//!    report or forward every payment before it may commit it. Also reported: the
//!    pipeline at 0% failures, and both against a bare consume-and-commit loop.
//!    Every member runs once per round (3 rounds of 80,000 payments by default),
//!    and each ratio quoted is the median of the ratios taken within each round,
//!    with every round's beside it.
//! 4. Memory: a `retry-processor --level 3` process holding 100,000 records that
//!    are not due yet keeps its RSS at most 64 MB (the records wait in Kafka).
//!
//! Delivery guarantee: not applicable (it measures; every topic and group is its
//! own). Limits: the embedded broker's timings are indicative only; set
//! `KAFKA_BOOTSTRAP_SERVERS` for a real one. The memory step builds the
//! `retry-processor-solution` binary with cargo and measures it as its own process.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::backoff::BackoffPolicy;
use harness::clock::now_ms;
use harness::gateway::{FailureMix, Gateway};
use harness::measure::summary::Summary;
use harness::payments::PoisonRates;
use harness::retry::RetryState;
use harness::topics::{create_topics, unique_name};
use harness::workload::Workload;
use harness::{Broker, Purpose, TimeScale};
use lab_4_3_criteria::scenario::{healthy_ratio, RetryRun, RunOptions, PARTITIONS};
use lab_4_3_kit::pipeline::Pipeline;
use lab_4_3_solution::Solution;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

mod throughput;
use throughput::{Round, Rounds};

#[derive(Parser)]
#[command(about = "Measure Lab 4.3's performance targets on one broker")]
struct Args {
    /// Payments in the velocity and lateness runs.
    #[arg(long, default_value_t = 300)]
    payments: usize,
    /// Payments in each throughput run. Four times the `patterns` bench's
    /// 20,000: a run of 20,000 lasts a third of a second, and its start and
    /// end swing a ratio by half from round to round (0.34 to 0.73 at 30% in
    /// one run of five rounds); rounds of 80,000 spread less (0.49 to 0.68 at
    /// 30% over three runs of three rounds, each run's median 0.57 to 0.67).
    #[arg(long, default_value_t = 80_000)]
    throughput_payments: usize,
    /// Rounds of the throughput step (each runs every member once); the
    /// report quotes the median of each ratio over the rounds.
    #[arg(long, default_value_t = 3)]
    throughput_rounds: usize,
    /// Records held by the retry level in the memory step.
    #[arg(long, default_value_t = 100_000)]
    held_records: usize,
    /// Skip the memory step (it needs cargo to build `retry-processor`).
    #[arg(long)]
    skip_memory: bool,
    /// Only the memory step.
    #[arg(long)]
    only_memory: bool,
    #[command(flatten)]
    broker: BrokerArgs,
}

#[tokio::main]
async fn main() {
    harness::init_tracing_quiet();
    exit_on_error(measure(Args::parse()).await)
}

async fn measure(args: Args) -> anyhow::Result<()> {
    // Checked before anything runs, not minutes later at the throughput step.
    // An empty topic has no end to commit, so a run of 0 payments would wait
    // out its deadline rather than measure anything.
    anyhow::ensure!(
        args.throughput_rounds > 0,
        "--throughput-rounds must be at least 1"
    );
    anyhow::ensure!(
        args.throughput_payments > 0,
        "--throughput-payments must be at least 1"
    );
    let broker = args.broker.resolve(Purpose::Run).await?;
    let properties = args.broker.client_properties.as_deref();
    let mut summary = Summary::new(&format!("Lab 4.3 targets on {}", broker.label()));

    if args.only_memory {
        let (idle, held) = level_memory(&broker, properties, args.held_records).await?;
        println!(
            "retry-processor RSS: {:.1} MB holding {} records not due (idle before: {:.1} MB)",
            held as f64 / 1024.0,
            args.held_records,
            idle as f64 / 1024.0
        );
        return Ok(());
    }
    // 1 and 2: velocity and lateness.
    let options = RunOptions {
        mix: FailureMix::with_failure_rate(0.3),
        poison: PoisonRates::each(0.0125),
        ..RunOptions::seed_lab(11, args.payments, TimeScale::new(0.1))
    };
    eprintln!(
        "1/4 velocity: a failure-free run, then 30% failures ({} payments each)",
        args.payments
    );
    let baseline = RetryRun::<Solution>::start(&broker, options.failure_free())
        .await?
        .settle(Duration::from_secs(300))
        .await?;
    let run = RetryRun::<Solution>::start(&broker, options)
        .await?
        .settle(Duration::from_secs(300))
        .await?;
    let ratio = healthy_ratio(&run, &baseline);
    let lateness = run.lateness();
    summary = summary
        .row(
            "healthy p99, 30% failures ÷ failure-free (target ≤ 1.2)",
            format!(
                "{ratio:.2} ({} ms vs {} ms; latencies under 50 ms count as 50)",
                run.healthy_latency().p99_ms,
                baseline.healthy_latency().p99_ms
            ),
        )
        .row(
            "retry lateness (target p99 ≤ 50 ms, never early)",
            lateness.one_line(),
        );

    // 3: throughput, in rounds (see `throughput.rs`).
    let count = args.throughput_payments;
    let mut rounds = Vec::new();
    for round in 1..=args.throughput_rounds {
        eprintln!(
            "2/4 throughput, round {round} of {}: two raw loops, then the retry consumer at 0% and 30% failures ({count} payments each)",
            args.throughput_rounds
        );
        rounds.push(Round::run(&broker, count).await?);
    }
    let rounds = Rounds(&rounds);
    let (raw, fair) = (|r: &Round| r.raw, |r: &Round| r.fair);
    let (healthy, failing) = (|r: &Round| r.healthy, |r: &Round| r.failing);
    let each = |ratios: Vec<f64>| {
        let ratios: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        ratios.join(", ")
    };
    let of_rounds = format!("median of {} rounds", args.throughput_rounds);
    summary = summary
        .row(
            "throughput, 30% failures ÷ raw consume-produce-commit (target ≥ 0.5)",
            format!(
                "{:.3} ({of_rounds}: {}; median rates {:.0} vs {:.0} payments/s, zero processing cost)",
                rounds.median_ratio(failing, fair),
                each(rounds.ratios(failing, fair)),
                rounds.rate(count, failing),
                rounds.rate(count, fair)
            ),
        )
        .row(
            "throughput, 30% failures ÷ raw consume-and-commit",
            format!(
                "{:.3} ({of_rounds}; median rates {:.0} vs {:.0} payments/s)",
                rounds.median_ratio(failing, raw),
                rounds.rate(count, failing),
                rounds.rate(count, raw)
            ),
        )
        .row(
            "throughput, 0% failures ÷ raw consume-produce-commit",
            format!(
                "{:.3} ({of_rounds}: {}; median rates {:.0} vs {:.0} payments/s)",
                rounds.median_ratio(healthy, fair),
                each(rounds.ratios(healthy, fair)),
                rounds.rate(count, healthy),
                rounds.rate(count, fair)
            ),
        );

    // 4: memory.
    if args.skip_memory {
        summary = summary.row("retry level RSS with records not due", "skipped");
    } else {
        eprintln!(
            "3/4 memory: {} records not due for 60 s, held by retry-processor --level 3",
            args.held_records
        );
        let (idle, held) = level_memory(&broker, properties, args.held_records).await?;
        summary = summary.row(
            "retry-processor RSS (target ≤ 64 MB)",
            format!(
                "{:.1} MB holding {} records not due (idle before: {:.1} MB)",
                held as f64 / 1024.0,
                args.held_records,
                idle as f64 / 1024.0
            ),
        );
    }
    eprintln!("4/4 done");
    println!("{}", summary.render());
    Ok(())
}

/// RSS (kB) of a `retry-processor --level 3` process, idle and then holding
/// `count` records due in 60 s. The process gets the same broker, and the same
/// client properties file (SASL/SSL) when one was given.
async fn level_memory(
    broker: &Broker,
    client_properties: Option<&std::path::Path>,
    count: usize,
) -> anyhow::Result<(u64, u64)> {
    let topic = unique_name("lab43-memory");
    let pipeline = Pipeline::new(
        &topic,
        BackoffPolicy::seed_levels(),
        Gateway::new(FailureMix::none()),
    );
    let retry_3 = pipeline.retry_topic(3);
    let topics = pipeline.topics(PARTITIONS);
    let refs: Vec<(&str, i32)> = topics.iter().map(|(n, p)| (n.as_str(), *p)).collect();
    create_topics(broker, &refs).await?;

    // The real binary, measured as its own process (through `cargo run`, cargo's
    // own RSS would be measured instead).
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = tokio::process::Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "lab-4-3-solution",
            "--bin",
            "retry-processor-solution",
        ])
        .status()
        .await
        .context("building retry-processor-solution")?;
    anyhow::ensure!(built.success(), "building retry-processor-solution failed");
    let binary = std::env::current_exe()?.with_file_name("retry-processor-solution");
    let mut command = tokio::process::Command::new(&binary);
    if let Some(path) = client_properties {
        command.env("KAFKA_CLIENT_PROPERTIES", path);
    }
    let mut child = command
        .args([
            "--topic",
            &topic,
            "--level",
            "3",
            "--group-prefix",
            &unique_name("retry-processor"),
        ])
        .env("KAFKA_BOOTSTRAP_SERVERS", &broker.bootstrap_servers)
        .env("LAB_TIME_SCALE", "1")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let pid = child.id().context("retry-processor has no pid")?;
    // A measurement window, not a synchronisation: the idle RSS once it has
    // connected and joined its group.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = rss_kb(pid).unwrap_or(0);

    let producer: FutureProducer = broker
        .client_config()
        .set("linger.ms", "20")
        .set("acks", "all")
        .create()?;
    let value = Workload::new(5, 1, PoisonRates::NONE, FailureMix::none()).records[0]
        .value
        .clone();
    let now = now_ms();
    let state = RetryState {
        retry_count: 3,
        original_error: "Payment processing failed: bank_api_down".into(),
        failed_at_ms: now,
        due_ms: now + 60_000,
        first_failure_ms: now,
        origin: harness::retry::Origin {
            topic: topic.clone(),
            partition: 0,
            offset: 0,
            timestamp_ms: Some(now),
        },
    };
    let mut pending = Vec::with_capacity(count);
    for index in 0..count {
        let key = format!("pay-held-{index}");
        loop {
            let record = FutureRecord::to(&retry_3)
                .key(&key)
                .payload(&value)
                .headers(state.headers(&[]))
                .timestamp(now);
            match producer.send_result(record) {
                Ok(delivery) => {
                    pending.push(delivery);
                    break;
                }
                // The local queue is full: let it drain a little.
                Err((_, _)) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }
    for delivery in pending {
        delivery
            .await
            .ok()
            .and_then(Result::ok)
            .context("a held record was not delivered")?;
    }
    producer.flush(Duration::from_secs(30))?;

    // Sample for 15 s while the level reads the heads of its partitions, pauses
    // them, and waits.
    let mut peak = idle;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        peak = peak.max(rss_kb(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill().await;
    Ok((idle, peak))
}

/// VmRSS of a process, in kB.
fn rss_kb(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

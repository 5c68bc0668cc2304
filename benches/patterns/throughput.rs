//! The `throughput` group of the `patterns` bench: how fast each
//! consumer gets through a backlog at zero processing cost, against the two raw
//! loops measured on the same broker in the same run.
//!
//! | member | what it does per record |
//! |---|---|
//! | `raw_consume_and_commit` | nothing: the ceiling (commits every 500) |
//! | `raw_consume_produce_commit` | produces one record, commits after the acks: the fair baseline |
//! | `retry_consumer` | Lab 4.3's solution on its given consumer: a window of records in flight (Lab 4.6's reference tracker), failures forwarded to retry-1 or the DLQ |
//! | `dlq_consumer` | Lab 4.2's solution on its given consumer: a window of records in flight (Lab 4.6's reference tracker), failures dead-lettered |
//! | `windowed` | Lab 4.6's solution: a window of forwards in flight, the finished prefix committed |
//!
//! Every payment must be reported or forwarded, so the fair baseline is the
//! one to compare with (the target is 0.5 of it at 30% failures).
//! Criterion reports each member as elements (payments) per second.
//!
//! Every clock runs from the first record polled until the end of the topic is
//! committed (the windowed consumer commits every 20 ms, and that counts against
//! it). Every member reads the same number of payments, so the rates compare
//! like with like.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use harness::measure::throughput::{
    per_second, raw_consume_and_commit, raw_consume_produce_commit,
};
use harness::Broker;

/// Payments per run of every member: enough that each runs for a quarter of
/// a second or more, so a commit interval or a fetch round trip is a small
/// part of it.
pub const PAYMENTS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Member {
    Ceiling,
    FairBaseline,
    RetryConsumer(u32),
    DlqConsumer(u32),
    Windowed(u32),
}

impl Member {
    fn id(self) -> BenchmarkId {
        match self {
            Member::Ceiling => BenchmarkId::new("raw_consume_and_commit", "0pct_failures"),
            Member::FairBaseline => BenchmarkId::new("raw_consume_produce_commit", "0pct_failures"),
            Member::RetryConsumer(pct) => {
                BenchmarkId::new("retry_consumer", format!("{pct}pct_failures"))
            }
            Member::DlqConsumer(pct) => {
                BenchmarkId::new("dlq_consumer", format!("{pct}pct_failures"))
            }
            Member::Windowed(pct) => BenchmarkId::new("windowed", format!("{pct}pct_failures")),
        }
    }

    fn label(self) -> String {
        match self {
            Member::Ceiling => "raw consume and commit (ceiling)".to_string(),
            Member::FairBaseline => "raw consume, produce, commit (fair baseline)".to_string(),
            Member::RetryConsumer(pct) => format!(
                "Lab 4.3 retry consumer (window {}), {pct}% failures",
                lab_4_3_kit::retry_consumer::WINDOW
            ),
            Member::DlqConsumer(pct) => format!(
                "Lab 4.2 DLQ consumer (window {}), {pct}% failures",
                lab_4_2_kit::dlq_consumer::WINDOW
            ),
            Member::Windowed(pct) => format!(
                "Lab 4.6 windowed consumer (window {}), {pct}% failures",
                <lab_4_6_solution::Solution as lab_4_6_kit::Exercise>::WINDOW
            ),
        }
    }

    const ALL: [Member; 8] = [
        Member::Ceiling,
        Member::FairBaseline,
        Member::RetryConsumer(0),
        Member::RetryConsumer(30),
        Member::DlqConsumer(0),
        Member::DlqConsumer(30),
        Member::Windowed(0),
        Member::Windowed(30),
    ];
}

/// The time one member takes for its payments, on a fresh topic.
async fn run_once(broker: &Broker, member: Member) -> anyhow::Result<Duration> {
    let rate = |pct: u32| f64::from(pct) / 100.0;
    match member {
        Member::Ceiling => {
            let (topic, _) =
                lab_4_3_criteria::throughput::payments_topic(broker, PAYMENTS, 0.3).await?;
            raw_consume_and_commit(broker, &topic, PAYMENTS).await
        }
        Member::FairBaseline => {
            let (topic, _) =
                lab_4_3_criteria::throughput::payments_topic(broker, PAYMENTS, 0.3).await?;
            let partitions = lab_4_3_criteria::scenario::PARTITIONS;
            raw_consume_produce_commit(broker, &topic, partitions, PAYMENTS).await
        }
        Member::RetryConsumer(pct) => {
            lab_4_3_criteria::throughput::retry_consumer_throughput::<lab_4_3_solution::Solution>(
                broker,
                PAYMENTS,
                rate(pct),
            )
            .await
        }
        Member::DlqConsumer(pct) => {
            lab_4_2_criteria::throughput::dlq_consumer_throughput::<lab_4_2_solution::Solution>(
                broker,
                PAYMENTS,
                rate(pct),
            )
            .await
        }
        Member::Windowed(pct) => {
            let run = lab_4_6_criteria::throughput::windowed_rate::<lab_4_6_solution::Solution>(
                broker,
                PAYMENTS,
                rate(pct),
            )
            .await?;
            anyhow::ensure!(
                run.done == PAYMENTS,
                "the windowed consumer finished {} of {PAYMENTS} payments in time",
                run.done
            );
            Ok(run.elapsed)
        }
    }
}

/// Every run's time, by member, for the summary's ratios.
static MEASURED: Mutex<BTreeMap<Member, Vec<Duration>>> = Mutex::new(BTreeMap::new());

fn measured() -> std::sync::MutexGuard<'static, BTreeMap<Member, Vec<Duration>>> {
    MEASURED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run the group, then print its ratios.
pub fn group(c: &mut Criterion, runtime: &tokio::runtime::Runtime, broker: &Broker) {
    let mut group = super::slow_group(c, "throughput");
    for member in Member::ALL {
        group.throughput(Throughput::Elements(PAYMENTS as u64));
        group.bench_function(member.id(), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let took = runtime
                            .block_on(run_once(broker, member))
                            .expect("a throughput run");
                        measured().entry(member).or_default().push(took);
                        took
                    })
                    .sum()
            })
        });
    }
    group.finish();
    println!("{}", summary());
}

/// Median rates of this run, and their ratios to both raw loops. A member a
/// filter left out (`cargo bench -- throughput/windowed`) has no row, and a ratio
/// to a raw loop that did not run is "not measured", never a division by zero.
fn summary() -> String {
    let all = measured();
    let rate = |member: Member| {
        let median = harness::measure::median(all.get(&member)?.iter().copied())?;
        Some(per_second(PAYMENTS, median))
    };
    let (ceiling, fair) = (rate(Member::Ceiling), rate(Member::FairBaseline));
    let ratio = |per_second: f64, baseline: Option<f64>| match baseline {
        Some(baseline) => format!("{:.3}", per_second / baseline),
        None => "not measured".to_string(),
    };
    let mut table = harness::measure::summary::table(&[
        "consumer",
        "payments/s (median)",
        "÷ fair baseline (target at 30%: 0.5)",
        "÷ ceiling",
    ]);
    for member in Member::ALL {
        let Some(per_second) = rate(member) else {
            continue;
        };
        table.add_row(vec![
            member.label(),
            format!("{per_second:.0}"),
            ratio(per_second, fair),
            ratio(per_second, ceiling),
        ]);
    }
    if table.is_empty() {
        return "Throughput: not measured in this run (no throughput benchmark ran)".to_string();
    }
    format!("Throughput measured in this run (zero processing cost; {PAYMENTS} payments per run; each clock stops once the topic's end is committed):\n{table}")
}

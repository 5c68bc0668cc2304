//! `produce-payments`: the seed's producer terminal, for the multi-terminal flow
//! against a real broker.
//!
//! ```text
//! cargo run -p harness --bin produce-payments -- --count 50 --seed 7
//! ```
//!
//! Delivery guarantee: idempotent producer with `acks=all`; the command reports
//! success only after the broker acknowledged every record. Limits: it creates the
//! topic if missing (3 partitions by default) but never changes an existing one.

use std::time::Duration;

use clap::Parser;
use harness::gateway::{FailureMix, PaymentClass};
use harness::measure::summary::Summary;
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments};
use harness::topics::create_topics;
use harness::workload::Workload;
use harness::Purpose;

#[derive(Parser)]
#[command(about = "Produce seeded synthetic payments (with optional poison pills) to a topic")]
struct Args {
    /// Topic to produce to.
    #[arg(long, default_value = "payment_requests")]
    topic: String,
    /// Number of payments.
    #[arg(long, default_value_t = 50)]
    count: usize,
    /// Seed: the same seed always produces the same bytes.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Rate of each poison kind (malformed JSON, non-UTF-8, empty, missing fields).
    #[arg(long, default_value_t = 0.0)]
    poison_rate: f64,
    /// Partitions, if the topic has to be created.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Milliseconds between records (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 0)]
    pace_ms: u64,
    /// Gateway failure rate to preview the expected fates with (the consumer decides;
    /// this only prints what a consumer with that rate will see).
    #[arg(long, default_value_t = 0.3)]
    failure_rate: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    harness::init_tracing();
    let args = Args::parse();
    let broker = harness::broker::resolve(Purpose::Run).await?;
    create_topics(&broker, &[(&args.topic, args.partitions)]).await?;
    let workload = Workload::new(
        args.seed,
        args.count,
        PoisonRates::each(args.poison_rate.clamp(0.0, 0.25)),
        FailureMix::from_rate(args.failure_rate),
    );
    let producer = payment_producer(&broker)?;
    let pace = (args.pace_ms > 0).then(|| Duration::from_millis(args.pace_ms));
    let delivered = produce_payments(&producer, &args.topic, &workload.records, None, pace).await?;
    let counts = workload.class_counts();
    let poison = workload
        .records
        .iter()
        .filter(|r| matches!(workload.class_of(r), PaymentClass::Poison { .. }))
        .count();
    println!(
        "{}",
        Summary::new(&format!("produced to {}", args.topic))
            .row("payments acknowledged", delivered.len())
            .row("seed", args.seed)
            .row(
                "first id",
                delivered
                    .first()
                    .map(|d| d.payment_id.as_str())
                    .unwrap_or("-")
            )
            .row("poison pills", poison)
            .row(
                &format!(
                    "expected at {:.0}% gateway failures",
                    args.failure_rate * 100.0
                ),
                format!("{counts:?}")
            )
            .render()
    );
    Ok(())
}

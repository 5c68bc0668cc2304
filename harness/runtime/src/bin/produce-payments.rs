//! `produce-payments`: the seed's producer terminal, for the multi-terminal flow
//! against a real broker.
//!
//! ```text
//! cargo run -p harness --bin produce-payments -- --lab lab-4-2 --count 50 --seed 7
//! ```
//!
//! `--lab lab-4-N` produces to that lab's topic, `lab-4-N.payment_requests`
//! (see [`harness::labs`]), the topic that lab's consumer reads by default;
//! `--topic` names any other.
//!
//! Delivery guarantee: idempotent producer with `acks=all`; the command reports
//! success only after the broker acknowledged every record. Limits: it creates the
//! topic if missing (3 partitions by default) but never changes an existing one.

use std::time::Duration;

use clap::Parser;
use harness::args::{exit_on_error, fraction, BrokerArgs};
use harness::gateway::{FailureMix, PaymentClass};
use harness::labs::Lab;
use harness::measure::summary::Summary;
use harness::payments::PoisonRates;
use harness::producer::{payment_producer, produce_payments};
use harness::topics::create_topics;
use harness::workload::Workload;
use harness::Purpose;

#[derive(Parser)]
#[command(
    about = "Produce seeded synthetic payments (with optional poison pills) to a lab's topic",
    after_help = "Examples:\n  produce-payments --lab lab-4-2 --count 100\n  produce-payments --topic my_payments --failure-rate 0.3"
)]
struct Args {
    /// The lab whose topic to produce to: lab-4-N.payment_requests, the topic
    /// that lab's consumer reads by default. Give this or --topic.
    #[arg(long, value_enum)]
    lab: Option<Lab>,
    /// The topic to produce to, instead of a lab's. The flag overrides --lab;
    /// --lab overrides KAFKA_TOPIC.
    #[arg(long, env = "KAFKA_TOPIC")]
    topic: Option<String>,
    /// Number of payments.
    #[arg(long, default_value_t = 50)]
    count: usize,
    /// Seed of the payments: the same seed always produces the same bytes.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Rate of each poison kind (malformed JSON, non-UTF-8, empty, missing
    /// fields), from 0 to 0.25.
    #[arg(long, default_value_t = 0.0, value_parser = poison_rate)]
    poison_rate: f64,
    /// Partitions, if the topic has to be created.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Milliseconds between records (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 0)]
    pace_ms: u64,
    /// The gateway failure rate the printed preview of fates assumes. Only the
    /// consumer decides fates; this preview is what a consumer with that rate
    /// will see. Default: the --lab consumer's own default (lab-4-1 0.3,
    /// lab-4-2 and lab-4-3 0.2, lab-4-4 0), else 0.2.
    #[arg(long, value_parser = fraction)]
    failure_rate: Option<f64>,
    #[command(flatten)]
    broker: BrokerArgs,
}

fn poison_rate(text: &str) -> Result<f64, String> {
    let rate = fraction(text)?;
    if rate <= 0.25 {
        Ok(rate)
    } else {
        Err(format!(
            "{rate} is above 0.25 (four poison kinds, each at this rate)"
        ))
    }
}

#[tokio::main]
async fn main() {
    use clap::{CommandFactory, FromArgMatches};
    harness::init_tracing();
    let matches = Args::command().get_matches();
    let mut args = Args::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
    // An explicit --lab beats a KAFKA_TOPIC left in the environment (from
    // another lab's terminal, say); only the --topic flag beats --lab.
    if args.lab.is_some()
        && matches.value_source("topic") == Some(clap::parser::ValueSource::EnvVariable)
    {
        args.topic = None;
    }
    exit_on_error(produce(args).await)
}

async fn produce(args: Args) -> anyhow::Result<()> {
    // The lab: the one asked for, or the one whose prefix the topic has.
    let lab = args.lab.or_else(|| {
        let topic = args.topic.as_deref()?;
        <Lab as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
            .find(|lab| lab.owns(topic))
    });
    let topic = match (&args.topic, args.lab) {
        (Some(topic), _) => topic.clone(),
        (None, Some(lab)) => lab.topic(),
        (None, None) => anyhow::bail!(
            "say where to produce: --lab lab-4-N (that lab's topic, lab-4-N.payment_requests) or --topic NAME"
        ),
    };
    let (failure_rate, assumed) = match (args.failure_rate, lab) {
        (Some(rate), _) => (rate, "--failure-rate".to_string()),
        (None, Some(Lab::Lab44)) => (
            Lab::Lab44.consumer_failure_rate(),
            "payment-service's default; its --with-bug also dead-letters JPY".to_string(),
        ),
        (None, Some(lab)) => (
            lab.consumer_failure_rate(),
            format!("{lab}'s {} default", lab.consumer()),
        ),
        (None, None) => (0.2, "assumed; pass --failure-rate".to_string()),
    };
    let broker = args.broker.resolve(Purpose::Run).await?;
    create_topics(&broker, &[(&topic, args.partitions)]).await?;
    let workload = Workload::new(
        args.seed,
        args.count,
        PoisonRates::each(args.poison_rate),
        FailureMix::from_rate(failure_rate),
    );
    let producer = payment_producer(&broker)?;
    let pace = (args.pace_ms > 0).then(|| Duration::from_millis(args.pace_ms));
    let delivered = produce_payments(&producer, &topic, &workload.records, None, pace).await?;
    let counts = workload.class_counts();
    let poison = workload
        .records
        .iter()
        .filter(|r| matches!(workload.class_of(r), PaymentClass::Poison { .. }))
        .count();
    println!(
        "{}",
        Summary::new(&format!("produced to {topic}"))
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
                    "expected at {:.0}% gateway failures ({assumed})",
                    failure_rate * 100.0
                ),
                counts
                    .iter()
                    .map(|(class, count)| format!("{class} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
            .render()
    );
    Ok(())
}

//! The `dlq` command line tool: list, show, stats, replay, purge.
//!
//! It talks to Kafka directly (not to the service), so it works when the
//! service is down, which is exactly when someone needs it.

use std::time::Duration;

use clap::{Parser, Subcommand};
use comfy_table::Table;
use harness::args::{exit_on_error, BrokerArgs};
use harness::backoff::BackoffPolicy;
use harness::gateway::{FailureMix, Gateway};
use harness::labs::Lab;
use harness::measure::summary::table;
use harness::replay::parking_topic;
use harness::topics::topic_exists;
use harness::{Broker, Purpose};
use lab_4_3_kit::pipeline::{forward_producer, Pipeline, FORWARD_TIMEOUT};

use crate::dlq::{self, Filter, Listed, Page};
use crate::journal::ReplayJournal;
use crate::purge::{run_purge, PurgeRequest, PurgeSummary};
use crate::replay::{run_replay, ReplayRequest, ReplaySummary};
use crate::topology::Topology;
use crate::Exercise;

#[derive(Parser, Debug)]
#[command(
    name = "dlq",
    about = "Inspect, replay and purge a dead letter queue (Lab 4.4)"
)]
pub struct DlqArgs {
    /// The live topic; the DLQ, retry, parking and journal topics are named after
    /// it. Default: Lab 4.4's (the payment service's default topic).
    #[arg(
        long,
        env = "KAFKA_TOPIC",
        default_value_t = Lab::Lab44.topic(),
        global = true
    )]
    pub topic: String,
    /// The DLQ (seed 001's KAFKA_DLQ_TOPIC); default `<topic>-dlq`.
    #[arg(long, env = "KAFKA_DLQ_TOPIC", global = true)]
    pub dlq_topic: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(flatten)]
    pub broker: BrokerArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Dead letters, a page at a time, oldest first.
    List {
        #[command(flatten)]
        filter: Filter,
        #[command(flatten)]
        page: Page,
    },
    /// One DLQ record in full, with its original value decoded.
    Show {
        /// The DLQ partition of the record.
        #[arg(long)]
        partition: i32,
        /// The record's offset in that DLQ partition.
        #[arg(long)]
        offset: i64,
    },
    /// Counts by error type, error class and original partition.
    Stats {
        #[command(flatten)]
        filter: Filter,
    },
    /// Send dead letters back through the first retry topic, once each.
    Replay {
        #[command(flatten)]
        filter: Filter,
        /// Say what would be replayed; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Delete DLQ records with Kafka's DeleteRecords (prefixes of partitions only).
    Purge {
        /// Purge the records replayed so far (per partition, up to the first not replayed).
        #[arg(long, conflicts_with_all = ["partition", "before_offset"])]
        replayed: bool,
        /// With --before-offset: the DLQ partition to cut.
        #[arg(long, requires = "before_offset")]
        partition: Option<i32>,
        /// Delete the records of --partition below this DLQ offset.
        #[arg(long, requires = "partition", allow_negative_numbers = true)]
        before_offset: Option<i64>,
        /// Print the plan (the cut per partition); delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

impl DlqArgs {
    fn topology(&self) -> Topology {
        let mut pipeline = Pipeline::new(
            &self.topic,
            BackoffPolicy::seed_levels(),
            Gateway::new(FailureMix::none()),
        );
        if let Some(dlq) = &self.dlq_topic {
            pipeline.dlq_topic = dlq.clone();
        }
        pipeline.extensions.parking_topic = Some(parking_topic(&self.topic));
        Topology::new(pipeline, 0)
    }
}

/// `dlq ...`. An error (an unknown partition, a missing topic) is printed as one
/// line and ends the process with status 1 ([`exit_on_error`]).
pub async fn tool_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    let args = DlqArgs::parse();
    exit_on_error(
        async {
            let broker = args.broker.resolve(Purpose::Run).await?;
            run::<E>(&broker, &args).await
        }
        .await,
    );
    Ok(())
}

/// Run one command of the tool.
pub async fn run<E: Exercise>(broker: &Broker, args: &DlqArgs) -> anyhow::Result<()> {
    let topology = args.topology();
    let dlq_topic = topology.pipeline.dlq_topic.clone();
    if !topic_exists(broker, &dlq_topic).await? {
        anyhow::bail!(
            "there is no topic {dlq_topic} on {}: check --topic / --dlq-topic",
            broker.label()
        );
    }
    let producer = forward_producer(broker, FORWARD_TIMEOUT)?;
    let journal = ReplayJournal::new(broker, &dlq_topic, producer.clone());
    match &args.command {
        Command::List { filter, page } => {
            let filter = filter.compile()?;
            let (snapshot, replayed) = journal.read_dlq(&dlq_topic).await?;
            let listing = dlq::list(&snapshot, &filter, *page, &replayed)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&listing)?);
            } else {
                println!("{}", listing_table(&listing.messages));
                println!(
                    "{dlq_topic}: {} matching, page {} of {}",
                    listing.message_count,
                    listing.page,
                    listing.total_pages.max(1)
                );
                if let Some(no_match) = &listing.no_match {
                    println!("{}", no_match.hint);
                }
            }
        }
        Command::Show { partition, offset } => {
            let (snapshot, replayed) = journal.read_dlq(&dlq_topic).await?;
            let Some(entry) = snapshot
                .entries
                .iter()
                .find(|e| e.partition == *partition && e.offset == *offset)
            else {
                anyhow::bail!("{}", no_record_at(&snapshot, *partition, *offset));
            };
            let listed = Listed::of(entry, replayed.contains(&(entry.partition, entry.offset)));
            let original = entry
                .letter
                .as_ref()
                .ok()
                .and_then(|l| l.original_value_bytes().ok().flatten());
            if args.json {
                println!("{}", serde_json::to_string_pretty(&listed)?);
            } else {
                println!("{}", serde_json::to_string_pretty(&listed)?);
                match original {
                    Some(bytes) => println!(
                        "original value ({} bytes, shown lossily): {}",
                        bytes.len(),
                        String::from_utf8_lossy(&bytes)
                    ),
                    None => println!("original value: none"),
                }
            }
        }
        Command::Stats { filter } => {
            let filter = filter.compile()?;
            let (snapshot, replayed) = journal.read_dlq(&dlq_topic).await?;
            let stats = dlq::stats(&snapshot, &filter, &replayed);
            if args.json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                let mut t = table(&["", "count"]);
                t.add_row(vec![
                    "records in the topic".to_string(),
                    stats.count.to_string(),
                ]);
                t.add_row(vec!["matching".to_string(), stats.matching.to_string()]);
                t.add_row(vec![
                    "already replayed".to_string(),
                    stats.replayed.to_string(),
                ]);
                t.add_row(vec![
                    "not dead letters".to_string(),
                    stats.unreadable.to_string(),
                ]);
                for (kind, counts) in [
                    ("type", stats.by_error_type.clone()),
                    ("class", stats.by_error_class.clone()),
                ] {
                    for (name, count) in counts {
                        t.add_row(vec![format!("error {kind} {name}"), count.to_string()]);
                    }
                }
                for (partition, count) in &stats.by_original_partition {
                    t.add_row(vec![
                        format!("original partition {partition}"),
                        count.to_string(),
                    ]);
                }
                println!("{t}");
                if let (Some(oldest), Some(newest)) = (&stats.oldest, &stats.newest) {
                    println!("dead-lettered between {oldest} and {newest}");
                }
                if let Some(no_match) = &stats.no_match {
                    println!("{}", no_match.hint);
                }
            }
        }
        Command::Replay { filter, dry_run } => {
            // Any dead-letter topic can be replayed (the parking topic too): its
            // journal is created on first use.
            if !*dry_run {
                ReplayJournal::create(broker, &dlq_topic).await?;
            }
            let request = ReplayRequest {
                filter: filter.clone(),
                dry_run: *dry_run,
            };
            let summary = run_replay::<E>(broker, &topology, &producer, &request).await?;
            print_replay(&summary, args.json)?;
        }
        Command::Purge {
            replayed,
            partition,
            before_offset,
            dry_run,
        } => {
            let request = match (replayed, partition, before_offset) {
                (true, _, _) => PurgeRequest::Replayed,
                (false, Some(partition), Some(offset)) => {
                    PurgeRequest::before(*partition, *offset)?
                }
                _ => anyhow::bail!(
                    "say what to purge: --replayed, or --partition P --before-offset O"
                ),
            };
            let summary = run_purge::<E>(broker, &dlq_topic, &journal, &request, *dry_run).await?;
            print_purge(&summary, args.json)?;
        }
    }
    // Journal records are awaited one by one; nothing is left in flight.
    let _ = rdkafka::producer::Producer::flush(&producer, Duration::from_secs(5));
    Ok(())
}

/// Why `dlq show` found nothing at `partition`/`offset`: no such partition, an
/// empty one, or an offset outside what it holds (high watermarks are exclusive).
fn no_record_at(snapshot: &dlq::DlqSnapshot, partition: i32, offset: i64) -> String {
    let topic = &snapshot.topic;
    let Some(&(low, high)) = snapshot.watermarks.get(&partition) else {
        let count = snapshot.watermarks.len();
        return match count {
            0 => format!("{topic} has no partitions"),
            _ => format!(
                "{topic} has no partition {partition}: it has {count} partition(s), 0 to {}",
                count - 1
            ),
        };
    };
    if low >= high {
        format!("partition {partition} of {topic} is empty (its next offset is {high}): no record at offset {offset}")
    } else {
        format!(
            "{topic} has no record at partition {partition}, offset {offset}: that partition holds offsets {low} to {}",
            high - 1
        )
    }
}

/// `topic (n), ...`, or `nothing` for an empty map.
fn counts(sent_to: &std::collections::BTreeMap<String, usize>) -> String {
    if sent_to.is_empty() {
        return "nothing".into();
    }
    sent_to
        .iter()
        .map(|(topic, n)| format!("{topic} ({n})"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A listing as a table.
pub fn listing_table(messages: &[Listed]) -> Table {
    let mut t = table(&[
        "DLQ p/offset",
        "payment",
        "type",
        "class",
        "original p/offset",
        "dead-lettered at",
        "replayed",
    ]);
    for m in messages {
        let (kind, class, origin) = match &m.dead_letter {
            Some(l) => (
                l.error_type.clone(),
                l.error_class.clone(),
                format!("{}/{}", l.original_partition, l.original_offset),
            ),
            None => ("unreadable".into(), "-".into(), "-".into()),
        };
        t.add_row(vec![
            format!("{}/{}", m.dlq_partition, m.dlq_offset),
            m.payment_id.clone(),
            kind,
            class,
            origin,
            m.dead_lettered_at.clone(),
            if m.replayed { "yes" } else { "" }.to_string(),
        ]);
    }
    t
}

pub fn print_replay(summary: &ReplaySummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    let verb = if summary.dry_run {
        "would replay"
    } else {
        "replayed"
    };
    println!(
        "{}: {} selected, {verb} {}, {} already replayed, {} not replayable; sent to {}",
        summary.replay_id,
        summary.selected,
        summary.replayed,
        summary.already_replayed,
        summary.not_replayable,
        counts(&summary.sent_to)
    );
    Ok(())
}

pub fn print_purge(summary: &PurgeSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
        return Ok(());
    }
    // A dry run says what it would delete, never that it deleted.
    let nothing = std::collections::BTreeMap::new();
    let (counted, count_header, marks_header) = match (&summary.deleted, &summary.would_delete) {
        (None, Some(would)) => (would, "records it would delete", "low..high now"),
        (deleted, _) => (
            deleted.as_ref().unwrap_or(&nothing),
            "records deleted",
            "low..high after",
        ),
    };
    let mut t = table(&["partition", "cut before offset", count_header, marks_header]);
    for (partition, cut) in &summary.plan {
        let marks = summary
            .watermarks_after
            .get(partition)
            .map_or("-".to_string(), |[l, h]| format!("{l}..{h}"));
        t.add_row(vec![
            partition.to_string(),
            cut.to_string(),
            counted.get(partition).copied().unwrap_or(0).to_string(),
            marks,
        ]);
    }
    println!("{t}");
    if summary.plan.is_empty() {
        println!("nothing to purge");
    } else if summary.dry_run {
        println!("dry run: nothing deleted");
    }
    Ok(())
}

//! `reset-lab`: start one lab clean on a shared broker.
//!
//! ```text
//! cargo run -p harness --bin reset-lab -- lab-4-3 --dry-run   # say what it would do
//! cargo run -p harness --bin reset-lab -- lab-4-3             # do it
//! ```
//!
//! It deletes every consumer group and every topic whose name starts with the
//! lab's prefix (`lab-4-3.`: see [`harness::labs`]), then recreates each topic
//! empty, with its partition count and its own topic configs (e.g. the replay
//! journal's `cleanup.policy=compact`), so the lab's binaries find what they
//! expect. Nothing outside the prefix is touched: a name is selected only if it
//! starts with `lab-4-N.`.
//!
//! Guarantee: it refuses to start while any of the lab's groups has members
//! (stop the lab's binaries first), so no running consumer loses its topics
//! under it, and it recreates each topic with its old replication factor. Limits:
//! topics you named yourself with `--topic` are not the lab's unless they carry
//! its prefix; on the embedded mock it refuses (each mock run starts empty, and a
//! "reset" there would hide that your broker is not running).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::labs::Lab;
use harness::topics::{topic_exists, wait_for_topics};
use harness::{Broker, Purpose};
use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigSource, NewTopic, ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;

#[derive(Parser)]
#[command(
    about = "Delete and recreate one lab's topics, and delete its consumer groups (names starting with lab-4-N.), to start the lab clean"
)]
struct Args {
    /// The lab to reset.
    #[arg(value_enum)]
    lab: Lab,
    /// Print what would be deleted and recreated; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// A topic as it was before the reset, to recreate it the same way.
struct TopicShape {
    partitions: i32,
    /// Replicas per partition, as the cluster had them (1 on kafka-local, 3 on
    /// a production cluster): a reset must not quietly weaken durability.
    replication: i32,
    /// Topic-level configs set on the topic itself (not broker defaults).
    config: Vec<(String, String)>,
}

const TIMEOUT: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() {
    harness::init_tracing();
    exit_on_error(reset(Args::parse()).await)
}

async fn reset(args: Args) -> anyhow::Result<()> {
    let lab = args.lab;
    let broker = args.broker.resolve(Purpose::Run).await?;
    if broker.embedded().is_some() {
        // Not a success: the student's broker is not where they think it is.
        bail!(
            "no real broker answered (no --bootstrap-servers, nothing on localhost:9092), so nothing was reset; \
             start one with `scripts/kafka-local start` or `docker compose up -d`, or pass --bootstrap-servers"
        );
    }
    let (topics, groups) = tokio::task::spawn_blocking({
        let broker = broker.clone();
        move || lab_names(&broker, lab)
    })
    .await??;
    if let Some((group, members)) = groups.iter().find(|(_, members)| **members > 0) {
        bail!(
            "group {group} has {members} active member(s): stop {lab}'s binaries (Ctrl-C) first, then reset"
        );
    }
    let admin: AdminClient<DefaultClientContext> = broker
        .client_config()
        .create()
        .context("creating the admin client")?;
    let shapes = topic_shapes(&broker, &admin, &topics).await?;
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleting"
    };
    println!(
        "{lab}: {verb} {} group(s) and {} topic(s) starting with \"{}\" on {}",
        groups.len(),
        shapes.len(),
        lab.prefix(),
        broker.label()
    );
    for group in groups.keys() {
        println!("  group {group}");
    }
    for (topic, shape) in &shapes {
        println!(
            "  topic {topic} ({} partitions, replication {}{})",
            shape.partitions,
            shape.replication,
            shape
                .config
                .iter()
                .map(|(k, v)| format!(", {k}={v}"))
                .collect::<String>()
        );
    }
    if args.dry_run || (groups.is_empty() && shapes.is_empty()) {
        println!("{lab}: nothing changed");
        return Ok(());
    }
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    if !groups.is_empty() {
        let names: Vec<&str> = groups.keys().map(String::as_str).collect();
        for result in admin.delete_groups(&names, &options).await? {
            if let Err((group, code)) = result {
                bail!("cannot delete group {group}: {code} (is one of {lab}'s binaries still running?)");
            }
        }
        println!("{lab}: deleted {} group(s)", names.len());
    }
    if !shapes.is_empty() {
        let names: Vec<&str> = shapes.keys().map(String::as_str).collect();
        for result in admin.delete_topics(&names, &options).await? {
            if let Err((topic, code)) = result {
                bail!("cannot delete topic {topic}: {code}");
            }
        }
        // Deletion is asynchronous: creating a topic still being deleted fails.
        for topic in &names {
            wait_until_gone(&broker, topic).await?;
        }
        recreate(&admin, &shapes).await?;
        let created: Vec<(&str, i32)> = shapes
            .iter()
            .map(|(topic, shape)| (topic.as_str(), shape.partitions))
            .collect();
        wait_for_topics(&broker, &created).await?;
        println!(
            "{lab}: deleted and recreated {} topic(s), empty",
            names.len()
        );
    }
    println!("{lab}: clean; start its binaries again (see labs/{lab}/README.md)");
    Ok(())
}

/// The lab's topics, and its groups with their member counts (blocking calls).
fn lab_names(broker: &Broker, lab: Lab) -> anyhow::Result<(Vec<String>, BTreeMap<String, usize>)> {
    let probe: BaseConsumer = broker.client_config().create()?;
    let metadata = probe
        .fetch_metadata(None, TIMEOUT)
        .context("listing the broker's topics")?;
    let topics = metadata
        .topics()
        .iter()
        .map(|t| t.name().to_string())
        .filter(|name| lab.owns(name))
        .collect();
    let groups = probe
        .fetch_group_list(None, TIMEOUT)
        .context("listing the broker's consumer groups")?
        .groups()
        .iter()
        .filter(|g| lab.owns(g.name()))
        .map(|g| (g.name().to_string(), g.members().len()))
        .collect();
    Ok((topics, groups))
}

/// Each topic's partitions and the configs set on the topic itself.
async fn topic_shapes(
    broker: &Broker,
    admin: &AdminClient<DefaultClientContext>,
    topics: &[String],
) -> anyhow::Result<BTreeMap<String, TopicShape>> {
    let mut shapes = BTreeMap::new();
    let probe: BaseConsumer = broker.client_config().create()?;
    for topic in topics {
        let partitions = harness::topics::partition_count(&probe, topic, TIMEOUT)?;
        let specifier = [ResourceSpecifier::Topic(topic)];
        let described = admin
            .describe_configs(&specifier, &AdminOptions::new())
            .await
            .with_context(|| format!("describing the configs of {topic}"))?;
        let mut config = Vec::new();
        for resource in described {
            let resource =
                resource.map_err(|code| anyhow::anyhow!("configs of {topic}: {code}"))?;
            config.extend(
                resource
                    .entries
                    .into_iter()
                    .filter(|e| e.source == ConfigSource::DynamicTopic)
                    .filter_map(|e| Some((e.name, e.value?))),
            );
        }
        let replication = replication_factor(&probe, topic)?;
        shapes.insert(
            topic.clone(),
            TopicShape {
                partitions,
                replication,
                config,
            },
        );
    }
    Ok(shapes)
}

/// Create each topic again as it was. Unlike `harness::topics`, a topic that
/// already exists is an error here: something recreated it between the deletion
/// and now (a producer still running), with whatever shape it chose.
async fn recreate(
    admin: &AdminClient<DefaultClientContext>,
    shapes: &BTreeMap<String, TopicShape>,
) -> anyhow::Result<()> {
    let new_topics: Vec<NewTopic> = shapes
        .iter()
        .map(|(topic, shape)| {
            shape.config.iter().fold(
                NewTopic::new(
                    topic,
                    shape.partitions,
                    TopicReplication::Fixed(shape.replication),
                ),
                |new_topic, (key, value)| new_topic.set(key, value),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(TIMEOUT));
    for result in admin.create_topics(&new_topics, &options).await? {
        match result {
            Ok(_) => {}
            Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => bail!(
                "topic {topic} was recreated by someone else after its deletion: is a producer or one of the lab's binaries still running? Stop it and reset again"
            ),
            Err((topic, code)) => bail!("cannot recreate topic {topic}: {code}"),
        }
    }
    Ok(())
}

/// Poll metadata until `topic` is gone (30 s at most).
async fn wait_until_gone(broker: &Broker, topic: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while topic_exists(broker, topic).await? {
        if Instant::now() > deadline {
            bail!("topic {topic} was still there 30 s after its deletion");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Replicas of `topic`'s first partition, from metadata.
fn replication_factor(probe: &BaseConsumer, topic: &str) -> anyhow::Result<i32> {
    let metadata = probe
        .fetch_metadata(Some(topic), TIMEOUT)
        .with_context(|| format!("metadata of {topic}"))?;
    let replicas = metadata
        .topics()
        .first()
        .and_then(|t| t.partitions().first())
        .map(|p| p.replicas().len() as i32)
        .with_context(|| format!("no partition metadata for {topic}"))?;
    Ok(replicas.max(1))
}

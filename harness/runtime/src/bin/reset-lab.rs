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
//! under it. Limits: topics you named yourself with `--topic` are not the lab's
//! unless they carry its prefix; with the embedded mock there is nothing to
//! reset (each run starts with an empty cluster of its own).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::labs::Lab;
use harness::topics::{create_topics_with_config, topic_exists};
use harness::{Broker, Purpose};
use rdkafka::admin::{AdminClient, AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};

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
        println!("{lab}: the embedded mock cluster starts empty on every run; nothing to reset");
        return Ok(());
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
        "{lab}: {verb} {} group(s) and {} topic(s) starting with {:?} on {}",
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
            "  topic {topic} ({} partitions{})",
            shape.partitions,
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
        for (topic, shape) in &shapes {
            let config: Vec<(&str, &str)> = shape
                .config
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            create_topics_with_config(&broker, &[(topic, shape.partitions)], &config).await?;
        }
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
        shapes.insert(topic.clone(), TopicShape { partitions, config });
    }
    Ok(shapes)
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

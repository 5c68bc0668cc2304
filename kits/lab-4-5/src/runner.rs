//! The `main` of the lab's `rebalance-consumer` binary, generic over the
//! [`Exercise`], so the starter and the reference solution share it.
//!
//! Seed 003's Étape 6 in two terminals: start one member, start a second while
//! `produce-payments` runs, stop one (Ctrl-C), and watch the one-line
//! assignments and revocations. `--instances N` starts N members in one command
//! (as the seed's `docker compose --scale` does): each is a process of its own,
//! and Ctrl-C stops them all, each leaving the group gracefully.

use std::process::{Command, Stdio};

use anyhow::Context;
use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::labs::Lab;
use harness::outcomes::outcomes_topic;
use harness::topics::create_topics;
use harness::Purpose;

use crate::events::events_topic;
use crate::member::{run_member, stop_on_signal, MemberConfig};
use crate::strategy::Strategy;
use crate::Exercise;

/// This lab's namespace on a shared broker.
const LAB: Lab = Lab::Lab45;

/// The seed's `orders` topic has 6 partitions: enough for 3 members to share.
pub const PARTITIONS: i32 = 6;

#[derive(Parser, Clone)]
#[command(
    about = "Run rebalance-aware group members (one line per assignment and revocation) until Ctrl-C"
)]
struct ConsumerArgs {
    /// The topic (produce to it with `produce-payments --lab lab-4-5 --partitions 6 --pace-ms 20`).
    #[arg(long, env = "KAFKA_TOPIC", default_value_t = LAB.topic())]
    topic: String,
    /// The consumer group (in Lab 4.5's namespace).
    #[arg(long, default_value_t = LAB.name("rebalance-demo"))]
    group: String,
    /// How the group assigns partitions.
    #[arg(long, value_enum, default_value_t = Strategy::Range)]
    strategy: Strategy,
    /// Make this a static member (`group.instance.id`): restart it within the
    /// session timeout and it gets its partitions back without a rebalance.
    #[arg(long)]
    static_id: Option<String>,
    /// Start this many members, each a process of its own.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=12))]
    instances: u32,
    /// This member's name in the logs (default: `member-<pid>`).
    #[arg(long)]
    member: Option<String>,
    /// Time the gateway takes per payment.
    #[arg(long, default_value_t = 50)]
    processing_ms: u64,
    /// Classic protocol: how long a crashed (silent) member keeps its
    /// partitions before the group gives them to others. Heartbeats come from
    /// librdkafka's background thread, so a busy member does not miss them.
    #[arg(long, default_value_t = 10_000)]
    session_timeout_ms: u64,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `rebalance-consumer`.
pub async fn consumer_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    let args = ConsumerArgs::parse();
    if args.instances > 1 {
        exit_on_error(run_instances(args.instances, args.static_id.as_deref()).await);
    } else {
        exit_on_error(consume::<E>(args).await);
    }
    Ok(())
}

async fn consume<E: Exercise>(args: ConsumerArgs) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    let (outcomes, events) = (outcomes_topic(&args.topic), events_topic(&args.topic));
    create_topics(
        &broker,
        &[(&args.topic, PARTITIONS), (&outcomes, 1), (&events, 1)],
    )
    .await?;
    let member = args
        .member
        .unwrap_or_else(|| format!("member-{}", std::process::id()));
    let mut config = MemberConfig::new(&args.topic, &args.group, &member, args.strategy);
    config.static_id = args.static_id;
    config.processing_ms = args.processing_ms;
    config.session_timeout_ms = args.session_timeout_ms;
    println!(
        "{member}: group {} on {} ({}{}), {} ms per payment; Ctrl-C to leave the group",
        config.group,
        config.topic,
        config.strategy,
        config
            .static_id
            .as_ref()
            .map(|id| format!(", static member {id}"))
            .unwrap_or_default(),
        config.processing_ms
    );
    run_member::<E>(&broker, &config, stop_on_signal()).await
}

/// Start `count` copies of this binary, one member each, and wait for them all.
/// Ctrl-C reaches every process of the terminal's group, so each child leaves
/// by itself; this parent only waits.
async fn run_instances(count: u32, static_id: Option<&str>) -> anyhow::Result<()> {
    // Listening for SIGINT here keeps Ctrl-C from ending this parent: the
    // children get it too, and leave the group cleanly while it waits for them.
    let _interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("listening for Ctrl-C")?;
    let program = std::env::current_exe().context("finding this binary")?;
    let passed: Vec<String> = std::env::args().skip(1).collect();
    let kept = strip_options(&passed, &["--instances", "--member", "--static-id"]);
    let mut children = Vec::new();
    for index in 1..=count {
        let mut command = Command::new(&program);
        command
            .args(&kept)
            .args(["--member", &format!("member-{index}")])
            .stdin(Stdio::null());
        if let Some(id) = static_id {
            command.args(["--static-id", &format!("{id}-{index}")]);
        }
        children.push(command.spawn().context("starting a member process")?);
    }
    tokio::task::spawn_blocking(move || {
        for mut child in children {
            let _ = child.wait();
        }
    })
    .await
    .context("waiting for the member processes")
}

/// `args` without the `options` (as `--opt value` or `--opt=value`).
fn strip_options(args: &[String], options: &[&str]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        if options.contains(&arg.as_str()) {
            skip_value = true;
        } else if !options.iter().any(|o| arg.starts_with(&format!("{o}="))) {
            kept.push(arg.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::strip_options;

    #[test]
    fn strips_both_forms_of_an_option() {
        let args: Vec<String> = [
            "--instances",
            "3",
            "--strategy=range",
            "--instances=2",
            "--topic",
            "t",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            strip_options(&args, &["--instances"]),
            ["--strategy=range", "--topic", "t"]
        );
    }
}

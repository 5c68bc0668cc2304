//! What the topics and outcomes must show after a replay, payment by payment,
//! and where they differ. The graded criteria and the scenario's checklist both
//! use these, so they can never disagree.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use harness::headers::raw_headers;
use harness::headers::RawHeader;
use harness::outcomes::{Outcome, OutcomeStatus};
use harness::replay::{
    PROVENANCE_HEADERS, REPLAYED_AT_MS, REPLAYED_FROM_OFFSET, REPLAYED_FROM_PARTITION,
    REPLAYED_FROM_TOPIC, REPLAY_ID,
};
use harness::topics::read_all;
use harness::Broker;
pub use lab_4_3_criteria::verdicts::Findings;
use rdkafka::message::OwnedMessage;
use rdkafka::Message;

use crate::scenario::{statuses_since, IncidentRun};
use crate::truth::AfterReplay;
use lab_4_4_kit::dlq::{watermarks, DlqSnapshot};

/// Each of `ids` reached its expected after-replay fate **exactly once** (one
/// `processed`, or one `parked`, and nothing else) after `since_ms`; and no
/// payment outside `ids` was touched.
pub fn replayed_exactly_once(
    run: &IncidentRun,
    ids: &[String],
    outcomes: &[Outcome],
    since_ms: i64,
) -> Findings {
    let statuses = statuses_since(outcomes, since_ms);
    let mut findings = Findings::default();
    for id in ids {
        findings.examined += 1;
        let Some(expected) = run.truth.payments.get(id).and_then(|e| e.after_replay) else {
            findings
                .problems
                .push(format!("{id}: not a dead letter of this run"));
            continue;
        };
        let want = match expected {
            AfterReplay::Processed => OutcomeStatus::Processed,
            AfterReplay::Parked => OutcomeStatus::Parked,
        };
        let seen = statuses.get(id).cloned().unwrap_or_default();
        let exactly_once = seen.len() == 1 && seen.get(&want) == Some(&1);
        if !exactly_once {
            findings.problems.push(format!(
                "{id}: expected one {} outcome, saw {}",
                status_name(want),
                statuses_text(&seen)
            ));
        }
    }
    let wanted: BTreeSet<&String> = ids.iter().collect();
    for (id, seen) in &statuses {
        if !wanted.contains(id) {
            findings.problems.push(format!(
                "{id}: was not to be replayed, yet got {}",
                statuses_text(seen)
            ));
        }
    }
    findings
}

/// An outcome status as the outcome records spell it (`dead_lettered`).
pub fn status_name(status: OutcomeStatus) -> &'static str {
    match status {
        OutcomeStatus::Processed => "processed",
        OutcomeStatus::DeadLettered => "dead_lettered",
        OutcomeStatus::Skipped => "skipped",
        OutcomeStatus::Parked => "parked",
    }
}

/// `processed x2, parked x1`, or `no outcome`: for messages people read.
pub fn statuses_text(seen: &BTreeMap<OutcomeStatus, usize>) -> String {
    if seen.is_empty() {
        return "no outcome".into();
    }
    seen.iter()
        .map(|(status, n)| format!("{} x{n}", status_name(*status)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The headers of `message` without the replay's provenance.
fn without_provenance(headers: Vec<RawHeader>) -> Vec<RawHeader> {
    headers
        .into_iter()
        .filter(|(key, _)| !PROVENANCE_HEADERS.contains(&key.as_str()))
        .collect()
}

/// Every replay on the first retry topic is its original record byte for byte
/// (key, value, headers in order), followed by provenance headers that point at
/// the dead letter it came from; and each of `ids` was replayed there once.
pub async fn replays_are_byte_exact(run: &IncidentRun, ids: &[String]) -> anyhow::Result<Findings> {
    let pipeline = &run.service.state.topology.pipeline;
    let deadline = Duration::from_secs(60);
    let live = read_all(&run.broker, &pipeline.topic, deadline).await?;
    let originals: BTreeMap<Vec<u8>, &OwnedMessage> = live
        .iter()
        .filter_map(|m| m.key().map(|k| (k.to_vec(), m)))
        .collect();
    let retries = read_all(&run.broker, &pipeline.retry_topic(1), deadline).await?;
    // Provenance is checked against the DLQ as it was replayed: read it now,
    // before any purge.
    let dlq = DlqSnapshot::read(&run.broker, &pipeline.dlq_topic).await?;
    let mut findings = Findings::default();
    let mut replayed: BTreeMap<String, usize> = BTreeMap::new();
    for message in retries.iter().filter(|m| harness::replay::is_replay(*m)) {
        findings.examined += 1;
        let key = message.key().map(<[u8]>::to_vec).unwrap_or_default();
        let id = String::from_utf8_lossy(&key).into_owned();
        *replayed.entry(id.clone()).or_default() += 1;
        let Some(original) = originals.get(&key) else {
            findings.problems.push(format!(
                "{id}: replayed, but not a payment of the live topic"
            ));
            continue;
        };
        if message.payload() != original.payload() {
            findings.problems.push(format!(
                "{id}: value differs from the original ({} bytes vs {})",
                message.payload().map_or(0, <[u8]>::len),
                original.payload().map_or(0, <[u8]>::len)
            ));
        }
        let all_headers = raw_headers(message).unwrap_or_default();
        let original_headers = raw_headers(*original).unwrap_or_default();
        // The originals first, in order, then provenance only.
        let (first, rest) = all_headers.split_at(original_headers.len().min(all_headers.len()));
        if first != original_headers.as_slice() || !without_provenance(rest.to_vec()).is_empty() {
            findings.problems.push(format!(
                "{id}: headers [{}] instead of the original [{}] followed by provenance",
                keys(&all_headers).join(", "),
                keys(&original_headers).join(", ")
            ));
        }
        if let Some(problem) = provenance_problem(&all_headers, &dlq, &key) {
            findings.problems.push(format!("{id}: {problem}"));
        }
    }
    for id in ids {
        match replayed.get(id) {
            Some(1) => {}
            Some(n) => findings.problems.push(format!(
                "{id}: replayed {n} times onto the first retry topic"
            )),
            None => findings
                .problems
                .push(format!("{id}: never replayed onto the first retry topic")),
        }
    }
    if findings.examined == 0 {
        findings.problems.push(format!(
            "no record with a {REPLAY_ID} header on {}",
            pipeline.retry_topic(1)
        ));
    }
    Ok(findings)
}

/// What is wrong with a replay's provenance headers, if anything: they must name
/// a run, the DLQ, and a DLQ record of the same payment.
fn provenance_problem(headers: &[RawHeader], dlq: &DlqSnapshot, key: &[u8]) -> Option<String> {
    let value = |name: &str| -> Option<String> {
        headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    let Some(replay_id) = value(REPLAY_ID).filter(|v| !v.is_empty()) else {
        return Some(format!("no {REPLAY_ID}"));
    };
    if value(REPLAYED_FROM_TOPIC).as_deref() != Some(dlq.topic.as_str()) {
        return Some(format!(
            "{REPLAYED_FROM_TOPIC} is {}, not {}",
            value(REPLAYED_FROM_TOPIC).map_or("absent".into(), |v| format!("\"{v}\"")),
            dlq.topic
        ));
    }
    let partition = value(REPLAYED_FROM_PARTITION).and_then(|v| v.parse::<i32>().ok());
    let offset = value(REPLAYED_FROM_OFFSET).and_then(|v| v.parse::<i64>().ok());
    let points_at_it = dlq.entries.iter().any(|e| {
        Some(e.partition) == partition && Some(e.offset) == offset && e.key.as_deref() == Some(key)
    });
    if !points_at_it {
        let shown = |v: Option<String>| v.unwrap_or_else(|| "absent".into());
        return Some(format!(
            "{REPLAYED_FROM_PARTITION}/{REPLAYED_FROM_OFFSET} = {}/{} is not a dead letter of this payment (replay {replay_id})",
            shown(value(REPLAYED_FROM_PARTITION)),
            shown(value(REPLAYED_FROM_OFFSET))
        ));
    }
    if value(REPLAYED_AT_MS)
        .and_then(|v| v.parse::<i64>().ok())
        .is_none()
    {
        return Some(format!("{REPLAYED_AT_MS} is not a time in ms"));
    }
    None
}

fn keys(headers: &[RawHeader]) -> Vec<&str> {
    headers.iter().map(|(k, _)| k.as_str()).collect()
}

/// The live topic holds exactly what the workload produced: a replay never
/// writes there.
pub async fn live_topic_untouched(run: &IncidentRun) -> anyhow::Result<Findings> {
    let now = watermarks(&run.broker, &run.service.state.topology.pipeline.topic).await?;
    let mut findings = Findings {
        examined: now.len(),
        ..Findings::default()
    };
    for (partition, (_, high)) in &now {
        let before = run.live_after_produce.get(partition).map_or(0, |(_, h)| *h);
        if *high != before {
            findings.problems.push(format!(
                "partition {partition}: {} record(s) written to the live topic after the workload",
                high - before
            ));
        }
    }
    Ok(findings)
}

/// Where a purge of what was replayed must cut each partition, when `replayed`
/// are the payments replayed: after the longest prefix of replayed records, in
/// partitions where that prefix is not empty.
pub fn replayed_prefix_cuts(
    snapshot: &DlqSnapshot,
    replayed: &BTreeSet<String>,
) -> BTreeMap<i32, i64> {
    snapshot
        .watermarks
        .keys()
        .filter_map(|&p| {
            snapshot
                .partition(p)
                .take_while(|e| replayed.contains(&e.payment_id()))
                .last()
                .map(|last| (p, last.offset + 1))
        })
        .collect()
}

/// The cuts of a purge plan that delete something: a cut at or below its
/// partition's low watermark is a no-op, and is left out, so two plans that do
/// the same thing compare equal.
pub fn effective_cuts(
    plan: &BTreeMap<i32, i64>,
    watermarks: &BTreeMap<i32, (i64, i64)>,
) -> BTreeMap<i32, i64> {
    plan.iter()
        .filter(|(p, cut)| **cut > watermarks.get(p).map_or(0, |(low, _)| *low))
        .map(|(p, cut)| (*p, *cut))
        .collect()
}

/// Payment ids of the records on `topic`.
pub async fn payment_ids_on(broker: &Broker, topic: &str) -> anyhow::Result<Vec<String>> {
    Ok(read_all(broker, topic, Duration::from_secs(60))
        .await?
        .iter()
        .map(|m| String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned())
        .collect())
}

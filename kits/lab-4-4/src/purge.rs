//! Purging the DLQ with Kafka's delete-records.
//!
//! Kafka cannot delete one record. A partition is a log; what it can do is move
//! the partition's **low watermark** forward: `DeleteRecords(partition, offset)`
//! makes every record *below* `offset` unreadable, and the broker frees the
//! segments behind it. So a purge is, for each partition, one cut point, and
//! everything before it goes. A record you want to keep pins every record after
//! it. Your `Exercise::purge_plan` decides the cut points; this module checks
//! nothing about them on purpose: the broker executes whatever it is given, as
//! it would for a real operator.

use std::collections::{BTreeMap, BTreeSet};

use harness::Broker;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dlq::{watermarks, DlqEntry, DlqSnapshot};
use crate::journal::ReplayJournal;
use crate::Exercise;

/// What an operator asks a purge to remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum PurgeRequest {
    /// Every record of `partition` below `offset` (a DLQ offset).
    Before { partition: i32, offset: i64 },
    /// What was replayed, as far as Kafka allows: in each partition, the records
    /// before the first one that was *not* replayed.
    Replayed,
}

impl PurgeRequest {
    /// A `Before` request, refusing a negative offset: DeleteRecords reads -1 as
    /// "up to the high watermark", which is never what a negative number meant.
    pub fn before(partition: i32, offset: i64) -> Result<PurgeRequest, PurgeError> {
        if offset < 0 {
            return Err(PurgeError::NegativeOffset { offset });
        }
        Ok(PurgeRequest::Before { partition, offset })
    }
}

/// partition -> delete every record below this offset. Partitions not in the
/// plan are left alone.
pub type PurgePlan = BTreeMap<i32, i64>;

/// What a purge plan may look at: the DLQ's watermarks and records, and the
/// journal of what was replayed.
pub struct DlqView<'a> {
    snapshot: &'a DlqSnapshot,
    replayed: &'a BTreeSet<(i32, i64)>,
}

impl<'a> DlqView<'a> {
    pub fn new(snapshot: &'a DlqSnapshot, replayed: &'a BTreeSet<(i32, i64)>) -> DlqView<'a> {
        DlqView { snapshot, replayed }
    }

    /// Every partition of the DLQ.
    pub fn partitions(&self) -> impl Iterator<Item = i32> + '_ {
        self.snapshot.watermarks.keys().copied()
    }

    /// `(low, high)`: the first offset still there, and the next one to be written.
    pub fn watermarks(&self, partition: i32) -> Option<(i64, i64)> {
        self.snapshot.watermarks.get(&partition).copied()
    }

    /// The records of `partition`, in offset order. (Offsets can have gaps, e.g.
    /// transaction markers, so do not assume `offset + 1` is the next record.)
    pub fn entries(&self, partition: i32) -> impl Iterator<Item = &'a DlqEntry> + 'a {
        self.snapshot.partition(partition)
    }

    pub fn is_replayed(&self, entry: &DlqEntry) -> bool {
        self.replayed.contains(&(entry.partition, entry.offset))
    }
}

/// A purge request that cannot be honoured: a clear 4xx, not a guess.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PurgeError {
    #[error("the DLQ has no partition {partition} (it has {partitions})")]
    UnknownPartition { partition: i32, partitions: usize },
    #[error("offset {offset} is negative (Kafka reads -1 as \"up to the end\")")]
    NegativeOffset { offset: i64 },
    #[error("offset {offset} is past the end of partition {partition} (its next offset is {high}): there is nothing there to purge")]
    PastTheEnd {
        partition: i32,
        offset: i64,
        high: i64,
    },
}

/// What a purge did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeSummary {
    pub dlq_topic: String,
    pub dry_run: bool,
    /// partition -> the cut point asked for.
    pub plan: BTreeMap<i32, i64>,
    /// partition -> records removed. Real runs only: a dry run deletes nothing,
    /// and its answer must not read as if it had (`"deleted": {"0": 3}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<BTreeMap<i32, i64>>,
    /// partition -> records the same request would remove now. Dry runs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub would_delete: Option<BTreeMap<i32, i64>>,
    /// partition -> [low, high] after the purge (a dry run: as they are, untouched).
    pub watermarks_after: BTreeMap<i32, [i64; 2]>,
}

#[derive(Debug, Error)]
pub enum PurgeFailure {
    #[error(transparent)]
    Refused(#[from] PurgeError),
    /// The plan has a negative cut: a bug in the plan, refused before Kafka sees it.
    #[error("refusing the plan: {0}")]
    BadPlan(String),
    /// The broker cannot delete records at all (the embedded mock).
    #[error("the embedded mock broker does not implement DeleteRecords; purge needs a real Kafka broker (scripts/kafka-local start or docker compose up -d, or --bootstrap-servers). A dry run shows the plan")]
    Unsupported,
    #[error(transparent)]
    Kafka(#[from] anyhow::Error),
}

/// Plan with `E::purge_plan`, then delete (unless `dry_run`).
pub async fn run_purge<E: Exercise>(
    broker: &Broker,
    dlq_topic: &str,
    journal: &ReplayJournal,
    request: &PurgeRequest,
    dry_run: bool,
) -> Result<PurgeSummary, PurgeFailure> {
    let (snapshot, replayed) = journal.read_dlq(dlq_topic).await?;
    let plan = E::purge_plan(request, &DlqView::new(&snapshot, &replayed))?;
    // Offset -1 means "the high watermark" to DeleteRecords: a plan with a negative
    // cut would empty the partition. That is never what a plan means.
    if let Some((&partition, &offset)) = plan.iter().find(|(_, cut)| **cut < 0) {
        return Err(PurgeFailure::BadPlan(format!(
            "partition {partition} would be cut at offset {offset}, and DeleteRecords reads a negative offset as \"everything\""
        )));
    }
    let deleted_if_done = |lows: &BTreeMap<i32, (i64, i64)>| -> BTreeMap<i32, i64> {
        plan.iter()
            .map(|(p, cut)| {
                let low = lows.get(p).map_or(0, |(low, _)| *low);
                (*p, (cut - low).max(0))
            })
            .collect()
    };
    let mut summary = PurgeSummary {
        dlq_topic: dlq_topic.to_string(),
        dry_run,
        plan: plan.clone(),
        deleted: None,
        would_delete: None,
        watermarks_after: BTreeMap::new(),
    };
    if !dry_run && !plan.is_empty() {
        if broker.embedded().is_some() {
            return Err(PurgeFailure::Unsupported);
        }
        harness::topics::delete_records(broker, dlq_topic, &plan).await?;
        let after = watermarks(broker, dlq_topic).await?;
        summary.deleted = Some(
            plan.keys()
                .map(|p| {
                    let before = snapshot.watermarks.get(p).map_or(0, |(low, _)| *low);
                    let now = after.get(p).map_or(before, |(low, _)| *low);
                    (*p, now - before)
                })
                .collect(),
        );
        summary.watermarks_after = after.iter().map(|(p, (l, h))| (*p, [*l, *h])).collect();
    } else {
        if dry_run {
            summary.would_delete = Some(deleted_if_done(&snapshot.watermarks));
        } else {
            // A real run with an empty plan: it deleted nothing, truly.
            summary.deleted = Some(BTreeMap::new());
        }
        summary.watermarks_after = snapshot
            .watermarks
            .iter()
            .map(|(p, (l, h))| (*p, [*l, *h]))
            .collect();
    }
    Ok(summary)
}

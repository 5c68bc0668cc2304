//! Reference solution of Lab 4.4's three tasks.

use futures_util::stream::{self, TryStreamExt};
use harness::replay::{
    REPLAYED_AT_MS, REPLAYED_FROM_OFFSET, REPLAYED_FROM_PARTITION, REPLAYED_FROM_TOPIC, REPLAY_ID,
};
use lab_4_4_kit::dlq::DlqEntry;
use lab_4_4_kit::purge::{DlqView, PurgeError, PurgePlan, PurgeRequest};
use lab_4_4_kit::replay::{Replay, ReplayError, ReplayRecord, ReplayRun, ReplaySummary};
use lab_4_4_kit::Exercise;

pub struct Solution;

/// Replays in flight at once. Enough to fill librdkafka's batches; few enough
/// that a target that has gone away fails a bounded number of sends.
pub const REPLAY_WINDOW: usize = 500;

impl Exercise for Solution {
    fn replay_record(entry: &DlqEntry, run: &ReplayRun) -> Result<ReplayRecord, ReplayError> {
        let letter = entry
            .letter
            .as_ref()
            .map_err(|e| ReplayError::NotADeadLetter(e.clone()))?;
        // The base64 fields are the truth: they keep bytes that are not UTF-8,
        // and tell an absent value from an empty one.
        let mut headers = letter.original_header_bytes()?;
        // Provenance goes after the originals, so a consumer reading "the last
        // header named X" still sees the original's X.
        let text = |value: String| Some(value.into_bytes());
        headers.extend([
            (REPLAY_ID.to_string(), text(run.id.clone())),
            (REPLAYED_FROM_TOPIC.to_string(), text(run.dlq_topic.clone())),
            (
                REPLAYED_FROM_PARTITION.to_string(),
                text(entry.partition.to_string()),
            ),
            (
                REPLAYED_FROM_OFFSET.to_string(),
                text(entry.offset.to_string()),
            ),
            (
                REPLAYED_AT_MS.to_string(),
                text(run.started_at_ms.to_string()),
            ),
        ]);
        Ok(ReplayRecord {
            key: letter.original_key_bytes()?,
            value: letter.original_value_bytes()?,
            headers,
        })
    }

    async fn replay(replay: &Replay<'_>) -> anyhow::Result<ReplaySummary> {
        let mut summary = replay.summary();
        let target = replay.first_retry_topic();
        // First decide, in DLQ order (the first dead letter of an original claims
        // it), then send: the decisions are cheap, the sends are round trips.
        let mut to_send = Vec::new();
        for entry in replay.selected() {
            if replay.already_replayed(entry) {
                summary.already_replayed += 1;
                continue;
            }
            let record = match Self::replay_record(entry, replay.run()) {
                Ok(record) => record,
                Err(error) => {
                    tracing::warn!(
                        "not replayable: DLQ {}/{}: {error}",
                        entry.partition,
                        entry.offset
                    );
                    summary.not_replayable += 1;
                    continue;
                }
            };
            summary.replayed += 1;
            summary.payment_ids.push(entry.payment_id());
            to_send.push((*entry, record));
        }
        if replay.dry_run() {
            return Ok(summary);
        }
        // Up to REPLAY_WINDOW replays in flight, each journaled once its own send
        // is acknowledged: librdkafka batches the sends (and the journal writes)
        // instead of paying a round trip per dead letter. The first failure ends
        // the run; what was journaled is done, and the next run resumes there.
        stream::iter(to_send.iter().map(Ok))
            .try_for_each_concurrent(REPLAY_WINDOW, |(entry, record)| {
                let target = &target;
                async move {
                    // Ack first, journal second: a crash in between replays this
                    // one again next time (a duplicate), never loses it.
                    let delivered = replay.send(target, record).await?;
                    replay.record_replayed(entry, &delivered).await
                }
            })
            .await?;
        Ok(summary)
    }

    fn purge_plan(request: &PurgeRequest, dlq: &DlqView<'_>) -> Result<PurgePlan, PurgeError> {
        let mut plan = PurgePlan::new();
        match *request {
            PurgeRequest::Before { partition, offset } => {
                let (low, high) =
                    dlq.watermarks(partition)
                        .ok_or_else(|| PurgeError::UnknownPartition {
                            partition,
                            partitions: dlq.partitions().count(),
                        })?;
                if offset > high {
                    return Err(PurgeError::PastTheEnd {
                        partition,
                        offset,
                        high,
                    });
                }
                if offset > low {
                    plan.insert(partition, offset);
                }
            }
            PurgeRequest::Replayed => {
                for partition in dlq.partitions() {
                    // The cut can only move past a record that was replayed; the
                    // first one that was not pins it, and everything after it.
                    let cut = dlq
                        .entries(partition)
                        .take_while(|entry| dlq.is_replayed(entry))
                        .last()
                        .map(|entry| entry.offset + 1);
                    if let Some(cut) = cut {
                        plan.insert(partition, cut);
                    }
                }
            }
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use lab_4_4_kit::dlq::{DlqEntry, DlqSnapshot};

    use super::*;

    /// A DLQ with these (partition, low, high) and records at `offsets`.
    fn dlq(marks: &[(i32, i64, i64)], offsets: &[(i32, i64)]) -> DlqSnapshot {
        DlqSnapshot {
            topic: "payments-dlq".into(),
            watermarks: marks.iter().map(|(p, l, h)| (*p, (*l, *h))).collect(),
            entries: offsets
                .iter()
                .map(|(partition, offset)| DlqEntry {
                    partition: *partition,
                    offset: *offset,
                    timestamp_ms: 0,
                    key: Some(format!("pay-{partition}-{offset}").into_bytes()),
                    letter: Err("not needed to plan a purge".into()),
                })
                .collect(),
        }
    }

    fn plan(
        request: PurgeRequest,
        snapshot: &DlqSnapshot,
        replayed: &[(i32, i64)],
    ) -> Result<PurgePlan, PurgeError> {
        let replayed: BTreeSet<(i32, i64)> = replayed.iter().copied().collect();
        Solution::purge_plan(&request, &DlqView::new(snapshot, &replayed))
    }

    #[test]
    fn before_cuts_one_partition_within_its_watermarks() {
        let snapshot = dlq(&[(0, 5, 10), (1, 0, 3)], &[]);
        let before = |partition, offset| PurgeRequest::Before { partition, offset };
        assert_eq!(
            plan(before(0, 7), &snapshot, &[]),
            Ok(BTreeMap::from([(0, 7)]))
        );
        assert_eq!(
            plan(before(0, 10), &snapshot, &[]),
            Ok(BTreeMap::from([(0, 10)]))
        );
        // At or below the low watermark: nothing to delete, nothing planned.
        assert_eq!(plan(before(0, 5), &snapshot, &[]), Ok(BTreeMap::new()));
        assert_eq!(plan(before(0, 2), &snapshot, &[]), Ok(BTreeMap::new()));
        assert_eq!(
            plan(before(0, 11), &snapshot, &[]),
            Err(PurgeError::PastTheEnd {
                partition: 0,
                offset: 11,
                high: 10
            })
        );
        assert_eq!(
            plan(before(7, 1), &snapshot, &[]),
            Err(PurgeError::UnknownPartition {
                partition: 7,
                partitions: 2
            })
        );
    }

    #[test]
    fn replayed_cuts_each_partition_after_its_replayed_prefix_only() {
        let snapshot = dlq(
            &[(0, 5, 10), (1, 0, 2), (2, 3, 7)],
            &[
                (0, 5),
                (0, 6),
                (0, 7),
                (0, 8),
                (0, 9),
                (1, 0),
                (1, 1),
                (2, 3),
                (2, 5),
                (2, 6),
            ],
        );
        let replayed = [(0, 5), (0, 6), (0, 8), (1, 1), (2, 3), (2, 5), (2, 6)];
        assert_eq!(
            plan(PurgeRequest::Replayed, &snapshot, &replayed),
            // Partition 0 stops at 7 (not replayed), though 8 was; partition 1's
            // first record was not replayed; partition 2 has an offset gap at 4.
            Ok(BTreeMap::from([(0, 7), (2, 7)]))
        );
    }
}

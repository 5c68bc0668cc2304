//! # Your work in Lab 4.4: replay and purge
//!
//! The starter is seed 001's "Example Reprocessing Script", in Rust: read the
//! DLQ, parse `originalMessage` as text, send it back to the live topic. It runs,
//! and on a real incident it does damage. Each TODO says what; the README walks
//! through them and `cargo test --test lab_4_4` (or `grade lab-4-4`) tells you
//! which criterion still fails.

use std::collections::BTreeMap;

use lab_4_4_kit::dlq::DlqEntry;
use lab_4_4_kit::purge::{DlqView, PurgeError, PurgePlan, PurgeRequest};
use lab_4_4_kit::replay::{Replay, ReplayError, ReplayRecord, ReplayRun, ReplaySummary};
use lab_4_4_kit::Exercise;

pub struct Starter;

impl Exercise for Starter {
    /// TODO(lab-4-4, step 1): rebuild the original record **byte for byte**, and say where it
    /// came from.
    ///
    /// - The dead letter keeps the key, the value and every header as base64
    ///   (`original_key_bytes`, `original_value_bytes`, `original_header_bytes`).
    ///   The text fields (`original_value`) are `null` for bytes that are not
    ///   UTF-8, and there is no text field for headers at all.
    /// - Add the provenance headers of `harness::replay` after the original ones:
    ///   `REPLAY_ID` (the run's id), `REPLAYED_FROM_TOPIC`, `_PARTITION`,
    ///   `_OFFSET` (the DLQ record's own coordinates) and `REPLAYED_AT_MS`. The
    ///   pipeline parks a failed record that carries `REPLAY_ID` and a
    ///   `REPLAYED_FROM_TOPIC` naming this DLQ, instead of dead-lettering it
    ///   again.
    fn replay_record(entry: &DlqEntry, _run: &ReplayRun) -> Result<ReplayRecord, ReplayError> {
        let letter = entry
            .letter
            .as_ref()
            .map_err(|e| ReplayError::NotADeadLetter(e.clone()))?;
        // Seed 001: `json.loads(dlq_msg['originalMessage'])`. Text only, headers lost.
        Ok(ReplayRecord {
            key: letter.original_key.clone().map(String::into_bytes),
            value: letter.original_value.clone().map(String::into_bytes),
            headers: Vec::new(),
        })
    }

    /// TODO(lab-4-4, step 2): replay each selected dead letter **once**, onto the **first retry
    /// topic**.
    ///
    /// - Skip what an earlier run replayed (`replay.already_replayed`), and
    ///   count it in `already_replayed`.
    /// - Skip (and count in `not_replayable`) what `replay_record` refuses.
    /// - On a dry run, count what you would replay and send nothing.
    /// - Otherwise send to `replay.first_retry_topic()` (seed 002: not the live
    ///   topic, which would queue the replay behind live traffic, or live traffic
    ///   behind the replay), and only **after** the ack, `record_replayed`. If a
    ///   send fails, stop and return the error: what was journaled is done, and a
    ///   second run resumes from there.
    async fn replay(replay: &Replay<'_>) -> anyhow::Result<ReplaySummary> {
        let mut summary = replay.summary();
        for entry in replay.selected() {
            let Ok(record) = Self::replay_record(entry, replay.run()) else {
                summary.not_replayable += 1;
                continue;
            };
            summary.replayed += 1;
            summary.payment_ids.push(entry.payment_id());
            if !replay.dry_run() {
                // Seed 001: straight back onto the live topic, and no memory of it.
                replay.send(replay.live_topic(), &record).await?;
            }
        }
        Ok(summary)
    }

    /// TODO(lab-4-4, step 3): cut only what the request allows.
    ///
    /// - `Before { partition, offset }`: that partition only, up to `offset`.
    ///   Refuse a partition the DLQ does not have, or an offset past its end
    ///   (`PurgeError`). An offset at or below the low watermark deletes nothing.
    /// - `Replayed`: per partition, cut after the longest run of *replayed*
    ///   records from the start. Kafka deletes prefixes, so the first record that
    ///   was not replayed stops the cut, even if replayed ones follow it.
    fn purge_plan(_request: &PurgeRequest, dlq: &DlqView<'_>) -> Result<PurgePlan, PurgeError> {
        // "Delete DLQ messages without analysis" (seed 001's Don'ts): everything.
        let plan: BTreeMap<i32, i64> = dlq
            .partitions()
            .filter_map(|p| dlq.watermarks(p).map(|(_, high)| (p, high)))
            .collect();
        Ok(plan)
    }
}

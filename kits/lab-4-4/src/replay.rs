//! Replaying dead letters: the toolbox your `Exercise::replay` works with, and
//! the run around it (read the DLQ and the journal, select, call you, check).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use harness::clock::{now_ms, whole_ms};
use harness::dead_letter::DeadLetterError;
use harness::headers::RawHeader;
use harness::Broker;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::dlq::{DlqEntry, DlqSnapshot, Filter, FilterError};
use crate::journal::{original_of, JournalEntry, ReplayJournal, Replayed};
use crate::topology::Topology;
use crate::Exercise;

/// What an operator asks a replay to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReplayRequest {
    /// Which dead letters; empty = all of them.
    pub filter: Filter,
    /// Say what would be replayed, send nothing.
    pub dry_run: bool,
}

/// One replay run: its id goes into every record it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayRun {
    /// `replay-<epoch ms>-<random hex>`.
    pub id: String,
    pub dlq_topic: String,
    pub started_at_ms: i64,
}

impl ReplayRun {
    pub fn new(dlq_topic: &str) -> ReplayRun {
        let started_at_ms = now_ms();
        ReplayRun {
            id: format!("replay-{started_at_ms}-{:04x}", rand::random::<u16>()),
            dlq_topic: dlq_topic.to_string(),
            started_at_ms,
        }
    }
}

/// A record ready to replay: key, value and headers, each as raw bytes
/// (`None` = absent, which is not the same as empty).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplayRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<RawHeader>,
}

/// Why a DLQ record cannot be turned into a replay.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error("DLQ record is not a dead letter: {0}")]
    NotADeadLetter(String),
    #[error(transparent)]
    Corrupt(#[from] DeadLetterError),
}

/// Where a replayed record landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivered {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// What a replay did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplaySummary {
    pub replay_id: String,
    pub dlq_topic: String,
    pub dry_run: bool,
    /// Dead letters that matched the filter.
    pub selected: usize,
    /// Sent (and journaled) by this run; for a dry run, would have been.
    pub replayed: usize,
    /// Skipped: an earlier replay already sent them.
    pub already_replayed: usize,
    /// Skipped: not a dead letter, or its bytes do not decode.
    pub not_replayable: usize,
    /// Left out of `selected`: dead letters of records this pipeline does not
    /// consume (another pipeline sharing the DLQ). Filled in by the toolbox.
    pub other_pipeline: usize,
    /// Payment ids this run replayed (or would), in DLQ order.
    pub payment_ids: Vec<String>,
    /// Records actually produced, per topic: filled in by the toolbox, not by you.
    pub sent_to: BTreeMap<String, usize>,
}

/// Your toolbox for one replay run.
pub struct Replay<'a> {
    run: ReplayRun,
    selected: Vec<&'a DlqEntry>,
    other_pipeline: usize,
    replayed: &'a Replayed,
    journal: &'a ReplayJournal,
    producer: &'a FutureProducer,
    topology: &'a Topology,
    dry_run: bool,
    sent_to: Mutex<BTreeMap<String, usize>>,
    /// Original records this run replayed, or claimed through
    /// [`Replay::already_replayed`].
    originals_this_run: Mutex<BTreeSet<(String, i32, i64)>>,
}

impl<'a> Replay<'a> {
    pub fn run(&self) -> &ReplayRun {
        &self.run
    }

    /// The dead letters the operator's filter selected, in DLQ order (partition,
    /// then offset). Some may have been replayed already.
    pub fn selected(&self) -> &[&'a DlqEntry] {
        &self.selected
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run
    }

    /// Was `entry` replayed already: by an earlier run (per the journal), or by
    /// this run through another dead letter of the same original record (the
    /// pipeline is at-least-once, so one record can be dead-lettered twice)?
    ///
    /// The first call for an original record *claims* it for this run: ask in
    /// DLQ order, and send what was not claimed before. So a replay that decides
    /// first and sends many at once afterwards (or a dry run, which never calls
    /// [`Replay::record_replayed`]) still replays each original once. A failed
    /// send ends the run, and the next run starts from the journal, unclaimed.
    pub fn already_replayed(&self, entry: &DlqEntry) -> bool {
        let Some(original) = original_of(entry) else {
            return self.replayed.covers(entry);
        };
        let Ok(mut this_run) = self.originals_this_run.lock() else {
            return self.replayed.covers(entry);
        };
        if this_run.contains(&original) || self.replayed.covers(entry) {
            return true;
        }
        this_run.insert(original);
        false
    }

    /// The live topic, where new payments arrive (seed 001's replay goes here).
    pub fn live_topic(&self) -> &str {
        &self.topology.pipeline.topic
    }

    /// The first retry topic (seed 002: "replayed back onto the first retry
    /// topic, not the live traffic topic, so that we do not block live traffic").
    pub fn first_retry_topic(&self) -> String {
        self.topology.pipeline.retry_topic(1)
    }

    /// A summary of this run with every count at zero, to fill in.
    pub fn summary(&self) -> ReplaySummary {
        ReplaySummary {
            replay_id: self.run.id.clone(),
            dlq_topic: self.run.dlq_topic.clone(),
            dry_run: self.dry_run,
            selected: self.selected.len(),
            other_pipeline: self.other_pipeline,
            ..ReplaySummary::default()
        }
    }

    /// Produce `record` to `topic` and wait for the broker's acknowledgement
    /// (`acks=all`, idempotent producer). `Err`: the broker may not have it.
    pub async fn send(&self, topic: &str, record: &ReplayRecord) -> anyhow::Result<Delivered> {
        let headers = record
            .headers
            .iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: value.as_deref(),
                })
            });
        let mut kafka_record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(topic).headers(headers);
        if let Some(key) = &record.key {
            kafka_record = kafka_record.key(key.as_slice());
        }
        if let Some(value) = &record.value {
            kafka_record = kafka_record.payload(value.as_slice());
        }
        let rdkafka::producer::future_producer::Delivery {
            partition, offset, ..
        } = self
            .producer
            .send(kafka_record, Duration::from_secs(10))
            .await
            .map_err(|(error, _)| {
                anyhow::anyhow!("{topic} did not acknowledge the replay: {error}")
            })?;
        if let Ok(mut sent) = self.sent_to.lock() {
            *sent.entry(topic.to_string()).or_default() += 1;
        }
        Ok(Delivered {
            topic: topic.to_string(),
            partition,
            offset,
        })
    }

    /// Write down that `entry` was replayed to `delivered`, and wait for the ack:
    /// the next run skips it ([`Replay::already_replayed`]).
    pub async fn record_replayed(
        &self,
        entry: &DlqEntry,
        delivered: &Delivered,
    ) -> anyhow::Result<()> {
        let original = original_of(entry);
        if let (Some(original), Ok(mut done)) = (&original, self.originals_this_run.lock()) {
            done.insert(original.clone());
        }
        self.journal
            .record(&JournalEntry {
                replay_id: self.run.id.clone(),
                dlq_topic: self.run.dlq_topic.clone(),
                dlq_partition: entry.partition,
                dlq_offset: entry.offset,
                dlq_timestamp_ms: entry.timestamp_ms,
                payment_id: entry.payment_id(),
                original,
                target_topic: delivered.topic.clone(),
                target_partition: delivered.partition,
                target_offset: delivered.offset,
                replayed_at_ms: now_ms(),
            })
            .await
    }
}

/// Why a replay could not run at all.
#[derive(Debug, Error)]
pub enum ReplayFailure {
    #[error(transparent)]
    BadFilter(#[from] FilterError),
    /// The pipeline cannot take a replay (no retry level consumes the target).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Kafka(#[from] anyhow::Error),
}

/// One replay: read the DLQ and its journal, select with the filter, hand the
/// rest to `E::replay`.
pub async fn run_replay<E: Exercise>(
    broker: &Broker,
    topology: &Topology,
    producer: &FutureProducer,
    request: &ReplayRequest,
) -> Result<ReplaySummary, ReplayFailure> {
    let filter = request.filter.compile()?;
    if topology.pipeline.levels() == 0 {
        return Err(ReplayFailure::Refused(
            "the pipeline has no retry levels (DLQ_MAX_RETRIES=0): nothing would consume a replay on the first retry topic".into(),
        ));
    }
    // The DLQ and the journal are read at the same time: once the sends are in
    // flight, these two reads are about half of a replay's time (measured on
    // 20,000 dead letters: 370 ms and 160 ms one after the other, about 400 ms
    // together, against about 500 ms of sending). Their order does not matter:
    // this service runs one operation at a time, and two processes replaying at
    // once are not kept apart by reading the journal last either.
    let started = std::time::Instant::now();
    let journal = ReplayJournal::new(broker, &topology.pipeline.dlq_topic, producer.clone());
    let (snapshot, replayed) = tokio::try_join!(
        DlqSnapshot::read(broker, &topology.pipeline.dlq_topic),
        journal.load()
    )?;
    let read = started.elapsed();
    let (selected, other_pipeline): (Vec<&DlqEntry>, Vec<&DlqEntry>) = snapshot
        .entries
        .iter()
        .filter(|e| filter.matches(e))
        .partition(|e| {
            e.letter
                .as_ref()
                .map_or(true, |letter| topology.consumes(&letter.original_topic))
        });
    let replay = Replay {
        run: ReplayRun::new(&topology.pipeline.dlq_topic),
        selected,
        other_pipeline: other_pipeline.len(),
        replayed: &replayed,
        journal: &journal,
        producer,
        topology,
        dry_run: request.dry_run,
        sent_to: Mutex::new(BTreeMap::new()),
        originals_this_run: Mutex::new(BTreeSet::new()),
    };
    let replaying = std::time::Instant::now();
    let result = E::replay(&replay).await;
    // Logged whether the replay succeeded or not: a failed one is the one an
    // operator most wants timed.
    tracing::info!(
        "replay {}: read the DLQ ({} dead letters) and its journal in {:?}, then {} in {:?}",
        replay.run.id,
        snapshot.entries.len(),
        whole_ms(read),
        match &result {
            Ok(summary) => format!("replayed {}", summary.replayed),
            Err(error) => format!("failed ({error:#})"),
        },
        whole_ms(replaying.elapsed())
    );
    let summary = result?;
    let sent = replay.sent_to.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(ReplaySummary {
        sent_to: sent,
        ..summary
    })
}

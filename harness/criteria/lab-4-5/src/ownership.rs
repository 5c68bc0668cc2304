//! Who owned which partition when, rebuilt from the members' events.
//!
//! Every member publishes an event when `on_assigned` or `on_revoked` returns
//! (see `kits/lab-4-5/src/events.rs`). The members run on one machine, so their
//! clocks agree, and sorting the events by time replays the group's history.
//! A member killed with SIGKILL publishes nothing more: its partitions stay
//! "owned" by it until another member is assigned them, which is exactly the
//! time the group took to notice. (A member whose assignment was *lost* learns
//! it late too: its `Lost` event can come after the new owner's `Assigned`,
//! and the interval closes at the earlier of the two.)

use std::collections::{BTreeMap, BTreeSet};

use lab_4_5_kit::events::{EventKind, MemberEvent};

/// One stretch of ownership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    pub partition: i32,
    pub member: String,
    pub from_ms: i64,
    /// `None`: still owned at the end of the events (or the member was killed
    /// and nobody has taken the partition yet).
    pub to_ms: Option<i64>,
}

/// The events, sorted by time (ties keep their order of arrival).
pub fn sorted(events: &[MemberEvent]) -> Vec<MemberEvent> {
    let mut events = events.to_vec();
    events.sort_by_key(|e| e.at_ms);
    events
}

/// Is this an event that changes ownership? (librdkafka calls the incremental
/// assign callback with no partitions at every cooperative round: not a move.)
pub fn moves_partitions(event: &MemberEvent) -> bool {
    matches!(
        event.kind,
        EventKind::Assigned | EventKind::Revoked | EventKind::Lost
    ) && !event.partitions.is_empty()
}

/// Every ownership interval, in the order they began.
pub fn intervals(events: &[MemberEvent]) -> Vec<Interval> {
    let mut open: BTreeMap<(i32, String), i64> = BTreeMap::new();
    let mut done = Vec::new();
    for event in sorted(events) {
        let close =
            |partition: i32, open: &mut BTreeMap<(i32, String), i64>, done: &mut Vec<Interval>| {
                if let Some(from_ms) = open.remove(&(partition, event.member.clone())) {
                    done.push(Interval {
                        partition,
                        member: event.member.clone(),
                        from_ms,
                        to_ms: Some(event.at_ms),
                    });
                }
            };
        match event.kind {
            EventKind::Assigned => {
                for &partition in &event.partitions {
                    // Another member still holding it never said goodbye: it was
                    // killed. Its ownership ends when the group gives it away.
                    let gone: Vec<(i32, String)> = open
                        .keys()
                        .filter(|(p, member)| *p == partition && *member != event.member)
                        .cloned()
                        .collect();
                    for key in gone {
                        if let Some(from_ms) = open.remove(&key) {
                            done.push(Interval {
                                partition,
                                member: key.1,
                                from_ms,
                                to_ms: Some(event.at_ms),
                            });
                        }
                    }
                    open.entry((partition, event.member.clone()))
                        .or_insert(event.at_ms);
                }
            }
            EventKind::Revoked | EventKind::Lost => {
                for &partition in &event.partitions {
                    close(partition, &mut open, &mut done);
                }
            }
            EventKind::Stopped => {
                let theirs: Vec<i32> = open
                    .keys()
                    .filter(|(_, member)| *member == event.member)
                    .map(|(partition, _)| *partition)
                    .collect();
                for partition in theirs {
                    close(partition, &mut open, &mut done);
                }
            }
            EventKind::Started | EventKind::Committed => {}
        }
    }
    done.extend(
        open.into_iter()
            .map(|((partition, member), from_ms)| Interval {
                partition,
                member,
                from_ms,
                to_ms: None,
            }),
    );
    done.sort_by_key(|i| (i.from_ms, i.partition));
    done
}

/// The owners of each partition after every event up to `until_ms`.
pub fn owners_at(events: &[MemberEvent], until_ms: i64) -> BTreeMap<i32, BTreeSet<String>> {
    let mut owners: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
    for interval in intervals(events) {
        let ended = interval.to_ms.is_some_and(|to| to <= until_ms);
        if interval.from_ms <= until_ms && !ended {
            owners
                .entry(interval.partition)
                .or_default()
                .insert(interval.member);
        }
    }
    owners
}

/// Did `member` own `partition` at `at_ms`? (Assigned at or before, not revoked
/// before.)
pub fn owned_at(intervals: &[Interval], member: &str, partition: i32, at_ms: i64) -> bool {
    intervals.iter().any(|i| {
        i.member == member
            && i.partition == partition
            && i.from_ms <= at_ms
            && i.to_ms.is_none_or(|to| at_ms <= to)
    })
}

/// A member's identity across restarts: `a1` and `a2` are both `a` (the
/// scenario names a static member's incarnations that way).
pub fn identity(member: &str) -> &str {
    member.trim_end_matches(|c: char| c.is_ascii_digit())
}

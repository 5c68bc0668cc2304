//! What one strategy's run measured: per rebalance, the stop-the-world time,
//! the pause of the partitions that did not move, and how many moved; for the
//! whole run, duplicates, losses, zombie writes, how long a SIGKILL took to
//! notice, and whether the static restart rebalanced.

use std::collections::{BTreeMap, BTreeSet};

use harness::outcomes::Outcome;
use lab_4_5_kit::events::EventKind;
use lab_4_5_kit::Strategy;

use crate::ownership::{identity, intervals, moves_partitions, owned_at, owners_at, Interval};
use crate::scenario::{Observed, StepKind};

/// One rebalance (a step after the first member started).
#[derive(Debug, Clone)]
pub struct Rebalance {
    pub label: String,
    pub kind: StepKind,
    /// The longest stretch, from the step to its settling, during which no
    /// partition of the group processed anything.
    pub stop_the_world_ms: i64,
    /// The longest wait (produced to processed) of a payment of a partition
    /// that stayed with its owner, among those processed from the step to one
    /// second after it settled. Compare with [`Analysis::median_wait_ms`]: a
    /// partition that kept flowing waits as usual, one that was stopped waits
    /// out the stop.
    pub unmoved_wait_ms: Option<i64>,
    pub unmoved: Vec<i32>,
    pub moved: Vec<i32>,
    /// Partitions that stayed with their owner and were revoked anyway (and
    /// given back): what an eager protocol does to every partition.
    pub unmoved_but_revoked: Vec<i32>,
}

/// A write by a member of a partition it did not own at the time.
#[derive(Debug, Clone)]
pub struct Zombie {
    pub member: String,
    pub partition: i32,
    pub at_ms: i64,
    /// `payment pay-…` or `commit of offset 42`.
    pub what: String,
}

/// The static member's restart.
#[derive(Debug, Clone)]
pub struct StaticRestart {
    /// Moves (assignments, revocations) by the *other* members meanwhile.
    pub others_moves: usize,
    pub before: Vec<i32>,
    pub after: Vec<i32>,
}

impl StaticRestart {
    /// No partition moved: nobody else rebalanced, and the member got back what it had.
    pub fn rebalance_free(&self) -> bool {
        self.others_moves == 0 && self.before == self.after
    }
}

/// A duplicate: a payment processed more than once.
#[derive(Debug, Clone)]
pub struct Duplicate {
    pub payment_id: String,
    /// `(member, partition, offset, at)` of each processing, in time order.
    pub by: Vec<(String, i32, i64, i64)>,
}

/// One strategy's measurements.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub strategy: Strategy,
    pub started_ms: i64,
    pub rebalances: Vec<Rebalance>,
    pub produced: usize,
    pub processed: usize,
    /// The median wait (produced to processed) of the whole run: what a payment
    /// normally waits, the processing time included.
    pub median_wait_ms: i64,
    pub lost: Vec<String>,
    /// Duplicates whose first processing was by a member that then left or was
    /// revoked gracefully: what a revoke handler that commits avoids.
    pub duplicates_graceful: Vec<Duplicate>,
    /// Duplicates first processed by the killed member (since its last commit:
    /// no handler can save those).
    pub duplicates_after_kill: Vec<Duplicate>,
    /// Records in hand when revocations began, summed: the bound on graceful
    /// duplicates for a handler that finishes or abandons them and commits.
    pub in_hand_at_revokes: usize,
    pub revocations: usize,
    pub zombie_writes: Vec<Zombie>,
    pub zombie_commits: Vec<Zombie>,
    pub kill_noticed_ms: Option<i64>,
    pub static_restart: Option<StaticRestart>,
    /// `(step, partitions)` that processed nothing for a while after a step.
    pub stalled: Vec<(String, Vec<i32>)>,
}

impl Analysis {
    pub fn of(observed: &Observed) -> Analysis {
        let owned = intervals(&observed.events);
        let processed: Vec<&Outcome> = observed.processed().collect();
        let rebalances = observed
            .steps
            .iter()
            .filter(|s| s.kind != StepKind::Start)
            .map(|step| {
                rebalance(
                    observed,
                    &processed,
                    step.kind,
                    &step.label,
                    step.at_ms,
                    step.settled_ms,
                )
            })
            .collect();
        let decided: BTreeSet<&str> = observed
            .outcomes
            .iter()
            .map(|o| o.payment_id.as_str())
            .collect();
        let lost = observed
            .produced
            .iter()
            .filter(|id| !decided.contains(id.as_str()))
            .cloned()
            .collect();
        let kill = observed.step(StepKind::Kill);
        // A duplicate is the kill's when its first processing was by the killed
        // member, in the ownership the kill ended (not in an earlier one that it
        // gave up gracefully, with its revoke handler).
        let (duplicates_after_kill, duplicates_graceful) =
            duplicates(&processed).into_iter().partition(|d| {
                let (member, partition, _, at) = &d.by[0];
                kill.is_some_and(|kill| {
                    *member == kill.member
                        && owned.iter().any(|i| {
                            i.member == *member
                                && i.partition == *partition
                                && i.from_ms <= *at
                                && i.to_ms.is_none_or(|to| to >= kill.at_ms)
                        })
                })
            });
        let revokes = observed
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Revoked);
        Analysis {
            strategy: observed.strategy,
            started_ms: observed.started_ms,
            rebalances,
            produced: observed.produced.len(),
            processed: processed.len(),
            median_wait_ms: harness::measure::median(processed.iter().map(|o| o.latency_ms()))
                .unwrap_or(0),
            lost,
            duplicates_graceful,
            duplicates_after_kill,
            in_hand_at_revokes: revokes.clone().map(|e| e.in_hand).sum(),
            revocations: revokes.count(),
            zombie_writes: zombie_writes(&owned, &processed),
            zombie_commits: zombie_commits(&owned, observed),
            kill_noticed_ms: kill_noticed(observed),
            static_restart: static_restart(observed),
            stalled: observed
                .steps
                .iter()
                .filter(|s| !s.stalled.is_empty())
                .map(|s| (s.label.clone(), s.stalled.clone()))
                .collect(),
        }
    }

    /// The rebalances a join, a leave or a kill caused (the static restart is
    /// meant to cause none).
    pub fn membership_changes(&self) -> impl Iterator<Item = &Rebalance> {
        self.rebalances
            .iter()
            .filter(|r| r.kind != StepKind::StaticRestart)
    }
}

fn rebalance(
    observed: &Observed,
    processed: &[&Outcome],
    kind: StepKind,
    label: &str,
    at_ms: i64,
    settled_ms: i64,
) -> Rebalance {
    let before = single_owners(&owners_at(&observed.events, at_ms));
    let after = single_owners(&owners_at(&observed.events, settled_ms));
    let (mut unmoved, mut moved) = (Vec::new(), Vec::new());
    for (partition, owner) in &after {
        match before.get(partition) {
            Some(old) if identity(old) == identity(owner) => unmoved.push(*partition),
            _ => moved.push(*partition),
        }
    }
    let revoked_in_window: BTreeSet<i32> = observed
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Revoked | EventKind::Lost))
        .filter(|e| e.at_ms >= at_ms && e.at_ms <= settled_ms)
        .flat_map(|e| e.partitions.iter().copied())
        .collect();
    let times = |filter: &dyn Fn(&Outcome) -> bool| -> Vec<i64> {
        processed
            .iter()
            .filter(|o| filter(o))
            .map(|o| o.finished_at_ms)
            .collect()
    };
    let stop_the_world_ms = longest_gap(times(&|_| true), at_ms, settled_ms);
    let unmoved_wait_ms = processed
        .iter()
        .filter(|o| unmoved.contains(&o.partition))
        .filter(|o| o.finished_at_ms >= at_ms && o.finished_at_ms <= settled_ms + 1000)
        .map(|o| o.latency_ms())
        .max();
    Rebalance {
        label: label.to_string(),
        kind,
        stop_the_world_ms,
        unmoved_wait_ms,
        unmoved_but_revoked: unmoved
            .iter()
            .copied()
            .filter(|p| revoked_in_window.contains(p))
            .collect(),
        unmoved,
        moved,
    }
}

fn single_owners(owners: &BTreeMap<i32, BTreeSet<String>>) -> BTreeMap<i32, String> {
    owners
        .iter()
        .filter(|(_, o)| o.len() == 1)
        .filter_map(|(p, o)| Some((*p, o.iter().next()?.clone())))
        .collect()
}

/// The longest stretch in `[from, to]` with none of `times` in it; the stretch
/// that straddles `to` counts up to the first time after it (a pause that ends
/// after the rebalance settled is still that rebalance's pause).
pub fn longest_gap(mut times: Vec<i64>, from: i64, to: i64) -> i64 {
    times.sort_unstable();
    let mut previous = from;
    let mut longest = 0;
    for t in times.into_iter().filter(|t| *t > from) {
        longest = longest.max(t - previous);
        previous = t;
        if t >= to {
            return longest;
        }
    }
    longest.max(to - previous)
}

fn duplicates(processed: &[&Outcome]) -> Vec<Duplicate> {
    let mut by_payment: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for outcome in processed {
        by_payment
            .entry(&outcome.payment_id)
            .or_default()
            .push(outcome);
    }
    by_payment
        .into_iter()
        .filter(|(_, times)| times.len() > 1)
        .map(|(id, mut times)| {
            times.sort_by_key(|o| o.finished_at_ms);
            Duplicate {
                payment_id: id.to_string(),
                by: times
                    .iter()
                    .map(|o| (o.worker.clone(), o.partition, o.offset, o.finished_at_ms))
                    .collect(),
            }
        })
        .collect()
}

fn zombie_writes(owned: &[Interval], processed: &[&Outcome]) -> Vec<Zombie> {
    processed
        .iter()
        .filter(|o| !owned_at(owned, &o.worker, o.partition, o.finished_at_ms))
        .map(|o| Zombie {
            member: o.worker.clone(),
            partition: o.partition,
            at_ms: o.finished_at_ms,
            what: format!("payment {} (offset {})", o.payment_id, o.offset),
        })
        .collect()
}

fn zombie_commits(owned: &[Interval], observed: &Observed) -> Vec<Zombie> {
    observed
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Committed)
        .flat_map(|e| {
            e.offsets
                .iter()
                .filter(|(p, _)| !owned_at(owned, &e.member, *p, e.at_ms))
                .map(|(p, offset)| Zombie {
                    member: e.member.clone(),
                    partition: *p,
                    at_ms: e.at_ms,
                    what: format!("{} commit of offset {offset}", e.detail),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// From the SIGKILL to the first move by a surviving member.
fn kill_noticed(observed: &Observed) -> Option<i64> {
    let kill = observed.step(StepKind::Kill)?;
    observed
        .events
        .iter()
        .filter(|e| moves_partitions(e) && e.member != kill.member && e.at_ms >= kill.at_ms)
        .map(|e| e.at_ms - kill.at_ms)
        .min()
}

fn static_restart(observed: &Observed) -> Option<StaticRestart> {
    let step = observed.step(StepKind::StaticRestart)?;
    let who = identity(&step.member).to_string();
    let partitions_of = |at: i64| -> Vec<i32> {
        owners_at(&observed.events, at)
            .into_iter()
            .filter(|(_, o)| o.iter().any(|m| identity(m) == who))
            .map(|(p, _)| p)
            .collect()
    };
    let others_moves = observed
        .events
        .iter()
        .filter(|e| moves_partitions(e) && identity(&e.member) != who)
        .filter(|e| e.at_ms >= step.at_ms && e.at_ms <= step.settled_ms)
        .count();
    Some(StaticRestart {
        others_moves,
        before: partitions_of(step.at_ms),
        after: partitions_of(step.settled_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::longest_gap;

    #[test]
    fn the_longest_gap_counts_the_edges_of_the_window() {
        assert_eq!(longest_gap(vec![10, 20, 90], 0, 100), 70);
        assert_eq!(longest_gap(vec![], 0, 100), 100);
        // The pause that straddles the end runs to the first record after it.
        assert_eq!(longest_gap(vec![10, 250], 0, 100), 240);
    }
}

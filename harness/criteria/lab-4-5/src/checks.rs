//! The criteria's verdicts, from the strategies' analyses: one function per
//! criterion, shared by the graded tests and `cargo run -p lab-4-5`'s checklist,
//! so the checklist is the very code that grades.
//!
//! A [`Check`] with nothing to check (`holds: None`) is "not checked", never a pass.

use std::fmt::Write as _;

use crate::analysis::{Analysis, Duplicate, Zombie};
use crate::scenario::{FLOW_AFTER_STEP, STALL_DEADLINE};

/// One criterion's verdict.
#[derive(Debug, Clone)]
pub struct Check {
    pub holds: Option<bool>,
    pub expected: String,
    pub observed: String,
}

fn seconds(analysis: &Analysis, at_ms: i64) -> String {
    format!("{:.1} s", (at_ms - analysis.started_ms) as f64 / 1000.0)
}

fn duplicate_example(analysis: &Analysis, duplicate: &Duplicate) -> String {
    let by: Vec<String> = duplicate
        .by
        .iter()
        .map(|(member, p, offset, at)| {
            format!("{member} (p{p}@{offset}) at {}", seconds(analysis, *at))
        })
        .collect();
    format!("{} processed by {}", duplicate.payment_id, by.join(" and "))
}

fn zombie_example(analysis: &Analysis, zombie: &Zombie) -> String {
    format!(
        "{} wrote p{} at {}: {}",
        zombie.member,
        zombie.partition,
        seconds(analysis, zombie.at_ms),
        zombie.what
    )
}

/// Zero loss across every scale event, the SIGKILL included.
pub fn nothing_lost(analyses: &[Analysis]) -> Check {
    let mut observed = String::new();
    let mut holds = !analyses.is_empty();
    for a in analyses {
        // A partition nobody processes loses its payments *while it happens*:
        // only some later rebalance would hand them to a member again.
        holds &= a.lost.is_empty() && a.produced > 0 && a.stalled.is_empty();
        let _ = write!(
            observed,
            "{}: {} lost of {} produced",
            a.strategy,
            a.lost.len(),
            a.produced
        );
        if let Some(first) = a.lost.first() {
            let _ = write!(observed, " (e.g. {first})");
        }
        for (step, partitions) in &a.stalled {
            let _ = write!(
                observed,
                "; after \"{step}\" partitions {partitions:?} processed fewer than {FLOW_AFTER_STEP} payments in {} s",
                STALL_DEADLINE.as_secs()
            );
        }
        observed.push_str(". ");
    }
    Check {
        holds: (!analyses.is_empty()).then_some(holds),
        expected: "every payment produced during the scaling (joins, a graceful leave, a static restart, a SIGKILL) processed at least once, under every strategy, and no partition left unprocessed after a step (a payment nobody processes is lost until some later rebalance rescues it)".into(),
        observed,
    }
}

/// Duplicates after graceful revocations bounded by the records in hand.
pub fn duplicates_bounded(analyses: &[Analysis]) -> Check {
    let (holds, observed) = per_strategy_with_revocations(analyses, |a, observed| {
        let graceful = a.duplicates_graceful.len();
        let _ = write!(
            observed,
            "{}: {graceful} duplicates after graceful revocations (bound: {} records in hand at {} revocations), {} after the SIGKILL (what the killed member processed since its last commit)",
            a.strategy,
            a.in_hand_at_revokes,
            a.revocations,
            a.duplicates_after_kill.len()
        );
        if graceful > a.in_hand_at_revokes {
            if let Some(example) = a.duplicates_graceful.first() {
                let _ = write!(observed, "; e.g. {}", duplicate_example(a, example));
            }
        }
        graceful <= a.in_hand_at_revokes
    });
    Check {
        holds,
        expected: "at most as many payments processed twice as there were records in hand when revocations began (the revoke handler commits what was processed)".into(),
        observed,
    }
}

/// Nothing processed or committed by a member after its partition was revoked.
pub fn no_zombie_writes(analyses: &[Analysis]) -> Check {
    let (holds, observed) = per_strategy_with_revocations(analyses, |a, observed| {
        let _ = write!(
            observed,
            "{}: {} payments processed and {} commits made by a member that did not own the partition",
            a.strategy,
            a.zombie_writes.len(),
            a.zombie_commits.len()
        );
        if let Some(z) = a.zombie_writes.first().or(a.zombie_commits.first()) {
            let _ = write!(observed, " (e.g. {})", zombie_example(a, z));
        }
        a.zombie_writes.is_empty() && a.zombie_commits.is_empty()
    });
    Check {
        holds,
        expected: "no payment processed and no offset committed by a member after its partition was revoked (and before it was assigned again)".into(),
        observed,
    }
}

/// Judge each strategy that had revocations with `judge` (which describes what
/// it saw in `observed` and says whether it holds); `None` if none had any.
fn per_strategy_with_revocations(
    analyses: &[Analysis],
    mut judge: impl FnMut(&Analysis, &mut String) -> bool,
) -> (Option<bool>, String) {
    let mut observed = String::new();
    let mut holds = true;
    let mut checked = false;
    for a in analyses {
        if a.revocations == 0 {
            let _ = write!(observed, "{}: no revocation to check. ", a.strategy);
            continue;
        }
        checked = true;
        holds &= judge(a, &mut observed);
        observed.push_str(". ");
    }
    (checked.then_some(holds), observed)
}

/// Under the incremental strategies, partitions that stay keep flowing.
pub fn unmoved_keep_flowing(analyses: &[Analysis]) -> Check {
    let mut observed = String::new();
    let mut holds = true;
    let mut checked = false;
    for a in analyses.iter().filter(|a| a.strategy.incremental()) {
        for r in a.membership_changes() {
            if r.unmoved.is_empty() {
                continue;
            }
            checked = true;
            let stalled: Vec<i32> = a
                .stalled
                .iter()
                .filter(|(step, _)| *step == r.label)
                .flat_map(|(_, p)| p.iter().copied())
                .filter(|p| r.unmoved.contains(p))
                .collect();
            let fine = r.unmoved_but_revoked.is_empty() && stalled.is_empty();
            holds &= fine;
            let _ = write!(
                observed,
                "{} \"{}\": {} unmoved, {}",
                a.strategy,
                r.label,
                r.unmoved.len(),
                match r.unmoved_wait_ms {
                    Some(ms) => format!(
                        "their longest wait {ms} ms (median of the run {} ms)",
                        a.median_wait_ms
                    ),
                    None => "none of their payments processed meanwhile".to_string(),
                }
            );
            if !r.unmoved_but_revoked.is_empty() {
                let _ = write!(observed, ", revoked anyway: {:?}", r.unmoved_but_revoked);
            }
            if !stalled.is_empty() {
                let _ = write!(
                    observed,
                    ", then processed fewer than {FLOW_AFTER_STEP} payments in {} s: {stalled:?}",
                    STALL_DEADLINE.as_secs()
                );
            }
            observed.push_str(". ");
        }
    }
    if !checked {
        observed
            .push_str("no incremental strategy ran, or no rebalance left a partition where it was");
    }
    Check {
        holds: checked.then_some(holds),
        expected: "under cooperative-sticky and the consumer protocol, partitions that stay with their member through a rebalance are never revoked and keep processing".into(),
        observed,
    }
}

/// Under range and roundrobin, every rebalance revokes every partition.
pub fn eager_stops_everything(analyses: &[Analysis]) -> Check {
    let mut observed = String::new();
    let mut holds = true;
    let mut checked = false;
    for a in analyses.iter().filter(|a| !a.strategy.incremental()) {
        let changes: Vec<_> = a
            .membership_changes()
            .filter(|r| !r.unmoved.is_empty())
            .collect();
        for r in &changes {
            checked = true;
            holds &= r.unmoved_but_revoked.len() == r.unmoved.len();
        }
        let worst = changes
            .iter()
            .map(|r| r.stop_the_world_ms)
            .max()
            .unwrap_or(0);
        let _ = write!(
            observed,
            "{}: {} rebalances, unmoved partitions revoked anyway in {} of them, longest stop-the-world {worst} ms. ",
            a.strategy,
            changes.len(),
            changes.iter().filter(|r| r.unmoved_but_revoked.len() == r.unmoved.len()).count()
        );
    }
    if !checked {
        observed.push_str("no eager strategy ran (range, roundrobin)");
    }
    Check {
        holds: checked.then_some(holds),
        expected: "under range and roundrobin (eager), every rebalance revokes every partition, even those that end up where they were".into(),
        observed,
    }
}

/// A static member restarted within its session timeout moves nothing.
pub fn static_restart_moves_nothing(analyses: &[Analysis]) -> Check {
    let mut observed = String::new();
    let mut holds = true;
    let mut checked = false;
    for a in analyses {
        let Some(s) = &a.static_restart else { continue };
        checked = true;
        holds &= s.rebalance_free();
        let _ = write!(
            observed,
            "{}: partitions {:?} before, {:?} after, {} moves by the other member. ",
            a.strategy, s.before, s.after, s.others_moves
        );
    }
    Check {
        holds: checked.then_some(holds),
        expected: "the static member (group.instance.id) restarted within its session timeout gets its partitions back, and the other member sees no rebalance".into(),
        observed,
    }
}

/// Seed 003's troubleshooting: a session shorter than a member's freezes
/// rebalances the group at every freeze; a longer one rides them out.
pub fn short_session_rebalances(runs: &[crate::session::SessionRun]) -> Check {
    use crate::session::{FREEZES, LONG_SESSION_MS, SHORT_SESSION_MS};
    let short = runs
        .iter()
        .find(|r| r.session_timeout_ms == SHORT_SESSION_MS);
    let long = runs
        .iter()
        .find(|r| r.session_timeout_ms == LONG_SESSION_MS);
    let holds = match (short, long) {
        (Some(short), Some(long)) => Some(short.moves >= FREEZES && long.moves == 0),
        _ => None,
    };
    Check {
        holds,
        expected: format!(
            "with session.timeout.ms {SHORT_SESSION_MS} ms, each of the {FREEZES} freezes of a member rebalances the group; with {LONG_SESSION_MS} ms, the same freezes move nothing"
        ),
        observed: crate::session::describe(runs),
    }
}

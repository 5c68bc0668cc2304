//! What the topics should show for each payment, given its class, and where they
//! differ. The graded criteria and the report's checklist both use these, so the
//! two can never disagree.

use std::collections::BTreeMap;

use harness::gateway::PaymentClass;

use crate::scenario::{
    Hop, PaymentPath, Settled, BLOCKED_LIMIT, BUSY_LATENESS_CEILING, HOP_TOLERANCE,
};

/// Problems found, and how many payments were examined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub examined: usize,
    pub problems: Vec<String>,
    /// How many of `problems` are about timing only (a hop late or early); the
    /// rest are about the route (levels, headers, dead letters).
    pub timing_problems: usize,
    /// For hop timing: the largest overshoot past a delay seen (ms).
    pub max_overshoot_ms: i64,
    /// Hops later than the tolerance while their level kept polling: the
    /// machine was busy, not the code waiting. Not counted against it.
    pub late_while_polling: Vec<String>,
}

impl Findings {
    pub fn ok(&self) -> bool {
        self.examined > 0 && self.problems.is_empty()
    }

    /// Lateness (or earliness) is all that is wrong: every route was right.
    pub fn timing_only(&self) -> bool {
        !self.problems.is_empty() && self.timing_problems == self.problems.len()
    }

    /// The first few problems, for a one-line message.
    pub fn summary(&self) -> String {
        if self.problems.is_empty() {
            return "none".into();
        }
        let shown: Vec<&str> = self.problems.iter().take(4).map(String::as_str).collect();
        let lead = if self.timing_only() {
            "every route is right; only the timing is off: "
        } else {
            ""
        };
        format!(
            "{lead}{} problem(s), e.g. {}",
            self.problems.len(),
            shown.join("; ")
        )
    }

    /// `; 2 hops were late while their level kept polling (up to 1408 ms past
    /// the delay): a busy machine, not counted`, or nothing.
    pub fn excused(&self) -> String {
        match self.late_while_polling.as_slice() {
            [] => String::new(),
            [one, ..] => format!(
                "; {} hop(s) later than the tolerance while their level kept polling, e.g. {one}: a busy machine, not counted",
                self.late_while_polling.len()
            ),
        }
    }
}

fn path_of<'a>(
    paths: &'a BTreeMap<String, PaymentPath>,
    id: &str,
) -> std::borrow::Cow<'a, PaymentPath> {
    paths
        .get(id)
        .map(std::borrow::Cow::Borrowed)
        .unwrap_or_default()
}

/// Transient payments go through the levels in order, once each, each hop
/// waiting at least its delay and at most its delay plus [`HOP_TOLERANCE`], with
/// `retry-count` equal to the level.
pub fn retried_through_the_levels(
    run: &Settled,
    paths: &BTreeMap<String, PaymentPath>,
) -> Findings {
    let levels = run.pipeline.levels();
    let tolerance = HOP_TOLERANCE.as_millis() as i64;
    let mut findings = Findings::default();
    for id in run.ids_of("transient") {
        let Some(PaymentClass::Transient { failures, .. }) = run.ledger.class_of(&id) else {
            continue;
        };
        findings.examined += 1;
        let path = path_of(paths, &id);
        let expected: Vec<u32> = (1..=failures.min(levels)).collect();
        let seen: Vec<u32> = path.retries.iter().map(|r| r.level).collect();
        if seen != expected {
            findings.problems.push(format!(
                "{id} (fails {failures}x): retry levels {}, expected {}",
                levels_text(&seen),
                levels_text(&expected)
            ));
            continue;
        }
        for retry in &path.retries {
            if retry.retry_count.as_deref() != Some(retry.level.to_string().as_str()) {
                findings.problems.push(format!(
                    "{id}: retry-count {} on level {}",
                    shown(retry.retry_count.as_deref()),
                    retry.level
                ));
            }
        }
        for hop in path.hops(&run.pipeline.policy) {
            judge_hop(run, &id, &hop, tolerance, &mut findings);
        }
    }
    findings
}

/// Early is always wrong. Late past the tolerance is the code's doing when its
/// level spent at least [`BLOCKED_LIMIT`] of the late stretch inside the
/// exercise's code (sleeping, say); otherwise the level kept polling and the
/// machine was slow, which is noted, not counted, up to [`BUSY_LATENESS_CEILING`].
fn judge_hop(run: &Settled, id: &str, hop: &Hop, tolerance: i64, findings: &mut Findings) {
    let level = hop.level;
    let Some(waited) = hop.waited_ms else {
        findings
            .problems
            .push(format!("{id}: never left level {level}"));
        return;
    };
    if waited < hop.delay_ms {
        findings.timing_problems += 1;
        findings.problems.push(format!(
            "{id}: level {level} retried after {waited} ms, before its {} ms delay",
            hop.delay_ms
        ));
        return;
    }
    let overshoot = waited - hop.delay_ms;
    findings.max_overshoot_ms = findings.max_overshoot_ms.max(overshoot);
    if overshoot <= tolerance {
        return;
    }
    let due_ms = hop.written_at_ms + hop.delay_ms;
    let (blocked, function) = run.blocked_ms(level, due_ms, hop.written_at_ms + waited);
    let late = format!(
        "{id}: level {level} retried after {waited} ms, {overshoot} ms past its {} ms delay (tolerance {tolerance} ms)",
        hop.delay_ms
    );
    if blocked >= BLOCKED_LIMIT.as_millis() as i64 {
        findings.timing_problems += 1;
        findings.problems.push(format!(
            "{late}, while retry-processor-{level} spent {blocked} ms of it inside {}() instead of polling",
            function.unwrap_or("the exercise")
        ));
    } else if overshoot > BUSY_LATENESS_CEILING.as_millis() as i64 {
        findings.timing_problems += 1;
        findings.problems.push(format!(
            "{late}: more than a busy machine explains ({} ms), though retry-processor-{level} kept polling",
            BUSY_LATENESS_CEILING.as_millis()
        ));
    } else {
        findings.late_while_polling.push(format!(
            "{id} at level {level}, {overshoot} ms past its delay"
        ));
    }
}

/// Permanent and poison payments: one dead letter after one attempt, no retry
/// record, no `final-failure: true` (they did not run out of retries; they were
/// never worth one).
pub fn non_retryable_straight_to_dlq(
    run: &Settled,
    paths: &BTreeMap<String, PaymentPath>,
) -> Findings {
    let mut findings = Findings::default();
    for id in run
        .ids_of("permanent")
        .into_iter()
        .chain(run.ids_of("poison"))
    {
        findings.examined += 1;
        let path = path_of(paths, &id);
        if !path.retries.is_empty() {
            findings.problems.push(format!(
                "{id}: {} retry record(s), expected none",
                path.retries.len()
            ));
        }
        match path.dead_letters.as_slice() {
            [] => findings.problems.push(format!("{id}: not in the DLQ")),
            [dead, ..] => {
                if dead.attempts != Some(1) {
                    findings.problems.push(format!(
                        "{id}: dead-lettered after {} attempts, expected 1",
                        attempts_text(dead.attempts)
                    ));
                }
                if dead.final_failure.as_deref() == Some("true") {
                    findings.problems.push(format!(
                        "{id}: final-failure: true, but it was never retried"
                    ));
                }
            }
        }
    }
    findings
}

/// Transient payments that fail more often than there are levels: in the DLQ
/// after the last level, with `final-failure: true` and every attempt counted.
pub fn exhausted_retries_dead_lettered(
    run: &Settled,
    paths: &BTreeMap<String, PaymentPath>,
) -> Findings {
    let levels = run.pipeline.levels();
    let mut findings = Findings::default();
    for (id, path) in paths {
        let class = run.ledger.class_of(id);
        let exhausted =
            matches!(class, Some(PaymentClass::Transient { failures, .. }) if failures > levels);
        if !exhausted {
            // Everyone else's dead letters are checked elsewhere, but a dead
            // letter of a payment that should have been processed is wrong here too.
            if matches!(
                class,
                Some(PaymentClass::Healthy | PaymentClass::Transient { .. })
            ) && !path.dead_letters.is_empty()
            {
                findings
                    .problems
                    .push(format!("{id}: in the DLQ, but it can be processed"));
            }
            continue;
        }
        findings.examined += 1;
        match path.dead_letters.as_slice() {
            [] => findings
                .problems
                .push(format!("{id}: ran out of retries but is not in the DLQ")),
            [dead, ..] => {
                if dead.final_failure.as_deref() != Some("true") {
                    findings.problems.push(format!(
                        "{id}: final-failure {}, expected \"true\"",
                        shown(dead.final_failure.as_deref())
                    ));
                }
                if dead.attempts != Some(levels + 1) {
                    findings.problems.push(format!(
                        "{id}: {} attempts recorded, expected {}",
                        attempts_text(dead.attempts),
                        levels + 1
                    ));
                }
                if dead.failed_after_retries != Some(levels) {
                    findings.problems.push(format!(
                        "{id}: failed_after_retries {}, expected {levels} (seed 000's field)",
                        attempts_text(dead.failed_after_retries)
                    ));
                }
            }
        }
        if path.retries.len() != levels as usize {
            findings.problems.push(format!(
                "{id}: {} retry records before the DLQ, expected {levels}",
                path.retries.len()
            ));
        }
    }
    findings
}

/// `1, 2, 3`, or `none`: levels as a student reads them.
fn levels_text(levels: &[u32]) -> String {
    if levels.is_empty() {
        return "none".into();
    }
    levels
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A header's value in quotes, or `missing`.
fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "missing".into(), |v| format!("\"{v}\""))
}

/// `4`, or `no readable` (the DLQ record is not our dead-letter format).
fn attempts_text(attempts: Option<u32>) -> String {
    attempts.map_or_else(|| "no readable".into(), |n| n.to_string())
}

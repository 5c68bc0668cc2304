//! What the topics should show for each payment, given its class, and where they
//! differ. The graded criteria and the report's checklist both use these, so the
//! two can never disagree.

use std::collections::BTreeMap;

use harness::gateway::PaymentClass;

use crate::scenario::{PaymentPath, Settled, HOP_TOLERANCE};

/// Problems found, and how many payments were examined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    pub examined: usize,
    pub problems: Vec<String>,
    /// For hop timing: the largest overshoot past a delay seen (ms).
    pub max_overshoot_ms: i64,
}

impl Findings {
    pub fn ok(&self) -> bool {
        self.examined > 0 && self.problems.is_empty()
    }

    /// The first few problems, for a one-line message.
    pub fn summary(&self) -> String {
        if self.problems.is_empty() {
            return "none".into();
        }
        let shown: Vec<&str> = self.problems.iter().take(4).map(String::as_str).collect();
        format!(
            "{} problem(s), e.g. {}",
            self.problems.len(),
            shown.join("; ")
        )
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
                "{id} (fails {failures}x): retry levels {seen:?}, expected {expected:?}"
            ));
            continue;
        }
        for retry in &path.retries {
            if retry.retry_count.as_deref() != Some(retry.level.to_string().as_str()) {
                findings.problems.push(format!(
                    "{id}: retry-count {:?} on level {}",
                    retry.retry_count, retry.level
                ));
            }
        }
        for hop in path.hops(&run.pipeline.policy) {
            match hop.waited_ms {
                None => findings
                    .problems
                    .push(format!("{id}: never left level {}", hop.level)),
                Some(waited) if waited < hop.delay_ms => findings.problems.push(format!(
                    "{id}: level {} retried after {waited} ms, before its {} ms delay",
                    hop.level, hop.delay_ms
                )),
                Some(waited) => {
                    let overshoot = waited - hop.delay_ms;
                    findings.max_overshoot_ms = findings.max_overshoot_ms.max(overshoot);
                    if overshoot > tolerance {
                        findings.problems.push(format!(
                            "{id}: level {} retried after {waited} ms, {overshoot} ms past its {} ms delay (tolerance {tolerance} ms)",
                            hop.level, hop.delay_ms
                        ));
                    }
                }
            }
        }
    }
    findings
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
                        "{id}: dead-lettered after {:?} attempts, expected 1",
                        dead.attempts
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
                        "{id}: final-failure {:?}, expected \"true\"",
                        dead.final_failure
                    ));
                }
                if dead.attempts != Some(levels + 1) {
                    findings.problems.push(format!(
                        "{id}: {:?} attempts recorded, expected {}",
                        dead.attempts,
                        levels + 1
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

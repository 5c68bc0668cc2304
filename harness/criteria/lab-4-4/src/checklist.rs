//! The success checklist of `cargo run -p lab-4-4`: one line per check, in one
//! of three states. A check that had nothing to look at (no payment hit by the
//! bug, a first replay that sent nothing, a purge plan with no cut expected or
//! made) is **not checked**: never a ✅, because it proved nothing, and never a
//! ❌ either, because nothing was wrong.

use std::collections::BTreeMap;

use crate::verdicts::Findings;

/// How one check came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    Passed { examined: usize },
    Failed { summary: String },
    NotChecked,
}

impl Mark {
    pub fn of(findings: &Findings) -> Mark {
        if !findings.problems.is_empty() {
            Mark::Failed {
                summary: findings.summary(),
            }
        } else if findings.examined == 0 {
            Mark::NotChecked
        } else {
            Mark::Passed {
                examined: findings.examined,
            }
        }
    }

    /// Only a check that looked at something and found it right counts.
    pub fn passed(&self) -> bool {
        matches!(self, Mark::Passed { .. })
    }

    /// The checklist line for `label`, as every lab's checklist writes it
    /// (`criteria::next::Mark`).
    pub fn line(&self, label: &str) -> String {
        use criteria::next::Mark as Line;
        match self {
            Mark::Passed { examined } => {
                Line::Passed.line(&format!("{label} ({examined} checked)"))
            }
            Mark::Failed { summary } => Line::Failed.line(&format!("{label}: {summary}")),
            Mark::NotChecked => Line::NotChecked.line(label),
        }
    }
}

/// The purge plan against the cuts the replayed prefixes call for: one check
/// per partition that either names. Neither naming any: nothing was checked.
pub fn purge_plan_findings(
    planned: &BTreeMap<i32, i64>,
    expected: &BTreeMap<i32, i64>,
) -> Findings {
    let mut findings = Findings::default();
    let partitions: std::collections::BTreeSet<&i32> =
        planned.keys().chain(expected.keys()).collect();
    for partition in partitions {
        findings.examined += 1;
        let (plan, want) = (planned.get(partition), expected.get(partition));
        if plan != want {
            let cut = |c: Option<&i64>| c.map_or("no cut".to_string(), |c| format!("cut at {c}"));
            findings.problems.push(format!(
                "partition {partition}: planned {}, the replayed prefix needs {}",
                cut(plan),
                cut(want)
            ));
        }
    }
    findings
}

/// A second replay must send nothing; it checks something only when the first
/// one sent something (`first_replayed` records).
pub fn second_replay_findings(first_replayed: u64, second_replayed: u64) -> Findings {
    Findings {
        examined: usize::try_from(first_replayed).unwrap_or(usize::MAX),
        problems: if second_replayed == 0 {
            Vec::new()
        } else {
            vec![format!("the second replay sent {second_replayed} again")]
        },
        ..Findings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_check_is_not_checked_never_a_tick() {
        let empty = Findings::default();
        assert_eq!(Mark::of(&empty), Mark::NotChecked);
        assert!(!Mark::of(&empty).passed());
        assert!(!Mark::of(&empty).line("x").contains('✅'));
        let plans = purge_plan_findings(&BTreeMap::new(), &BTreeMap::new());
        assert_eq!(Mark::of(&plans), Mark::NotChecked);
        assert_eq!(Mark::of(&second_replay_findings(0, 0)), Mark::NotChecked);
    }

    #[test]
    fn each_check_can_pass_and_fail() {
        let cuts = BTreeMap::from([(0, 4), (2, 1)]);
        assert!(Mark::of(&purge_plan_findings(&cuts, &cuts)).passed());
        let wrong = purge_plan_findings(&BTreeMap::from([(0, 5)]), &cuts);
        assert_eq!(wrong.examined, 2);
        assert_eq!(
            wrong.problems,
            [
                "partition 0: planned cut at 5, the replayed prefix needs cut at 4",
                "partition 2: planned no cut, the replayed prefix needs cut at 1"
            ]
        );
        assert!(Mark::of(&second_replay_findings(10, 0)).passed());
        let again = Mark::of(&second_replay_findings(10, 3));
        assert!(again.line("a second replay is a no-op").starts_with("  ❌"));
    }
}

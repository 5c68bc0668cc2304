//! The end of every lab's `cargo run -p lab-4-N`: its checklist, rendered and
//! read back, and the last line, what to do next.
//!
//! One helper, so every lab says it the same way: when a check failed, the
//! file to edit and the commands that re-check and grade it; when every check
//! passed, the grade command and the next lab.

/// The labs, in the order a student does them.
const LABS: [&str; 6] = [
    "lab-4-1", "lab-4-2", "lab-4-3", "lab-4-4", "lab-4-5", "lab-4-6",
];

/// The `next: ...` line for `lab` (`lab-4-N`), whose student file is
/// `exercise_file`, after a run whose checks all passed (`passed`) or not.
pub fn next_step(lab: &str, passed: bool, exercise_file: &str) -> String {
    if !passed {
        return format!(
            "next: edit {exercise_file}, then run `cargo run -p {lab}` to re-check and `cargo grade {lab}` to grade it"
        );
    }
    let following = LABS
        .iter()
        .position(|l| *l == lab)
        .and_then(|i| LABS.get(i + 1));
    match following {
        Some(next) => format!(
            "next: run `cargo grade {lab}` to grade it, then go on to {next}: labs/{next}/README.md"
        ),
        None => format!(
            "next: run `cargo grade {lab}` to grade it (`cargo grade --all` grades every lab): that was the last lab"
        ),
    }
}

/// How one checklist item came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Passed,
    /// Passed, with something worth a look (a figure close to its limit).
    Warning,
    Failed,
    /// The run gave the item nothing to check: never a pass, and not the
    /// student's failure either.
    NotChecked,
}

impl Mark {
    /// Passed or failed.
    pub fn of(ok: bool) -> Mark {
        if ok {
            Mark::Passed
        } else {
            Mark::Failed
        }
    }

    /// [`Mark::of`], or not checked when there was nothing to examine.
    pub fn judged(examined: usize, ok: bool) -> Mark {
        if examined == 0 {
            Mark::NotChecked
        } else {
            Mark::of(ok)
        }
    }

    /// The checklist line of `item` (indented, without a newline).
    pub fn line(self, item: &str) -> String {
        match self {
            Mark::Passed => format!("  ✅ {item}"),
            Mark::Warning => format!("  ⚠️  {item}"),
            Mark::Failed => format!("  ❌ {item}"),
            Mark::NotChecked => {
                format!("  ➖ not checked: {item}: this run gave it nothing to check")
            }
        }
    }
}

/// `Some(ok)`: checked; `None`: nothing to check.
impl From<Option<bool>> for Mark {
    fn from(checked: Option<bool>) -> Mark {
        checked.map_or(Mark::NotChecked, Mark::of)
    }
}

/// A "Success criteria:" checklist, one line per item: ✅ passed, ⚠️ passed
/// with a warning, ❌ failed, ➖ not checked (the run gave the item nothing
/// to check, which is never a pass). Items are [`Mark`]s, or `Option<bool>`
/// (`None`: not checked). [`checklist_passed`] reads it back.
pub fn render_checklist<M: Copy + Into<Mark>>(items: &[(M, String)]) -> String {
    let mut text = String::from("Success criteria:\n");
    for (mark, item) in items {
        text.push_str(&(*mark).into().line(item));
        text.push('\n');
    }
    text
}

/// Did a rendered checklist pass? Its failed items are marked ❌ (a "not
/// checked" item is not a pass, but it is not the student's failure either).
pub fn checklist_passed(rendered: &str) -> bool {
    !rendered.contains('❌')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_names_the_file_and_both_commands() {
        let line = next_step("lab-4-2", false, "labs/lab-4-2/src/exercise.rs");
        assert_eq!(
            line,
            "next: edit labs/lab-4-2/src/exercise.rs, then run `cargo run -p lab-4-2` to re-check and `cargo grade lab-4-2` to grade it"
        );
    }

    #[test]
    fn a_warning_passes_and_nothing_to_check_is_said() {
        let items = [
            (Mark::Passed, "fine".to_string()),
            (Mark::Warning, "close to its limit".to_string()),
            (Mark::NotChecked, "no retry ran".to_string()),
        ];
        let rendered = render_checklist(&items);
        assert!(
            rendered.contains("  ⚠️  close to its limit\n"),
            "{rendered}"
        );
        assert!(
            rendered
                .contains("  ➖ not checked: no retry ran: this run gave it nothing to check\n"),
            "{rendered}"
        );
        assert!(checklist_passed(&rendered));
        let failed =
            render_checklist(&[(Some(false), "lost".to_string()), (None, "x".to_string())]);
        assert!(failed.contains("  ❌ lost\n"), "{failed}");
        assert!(!checklist_passed(&failed));
    }

    #[test]
    fn a_passed_run_points_at_the_next_lab() {
        let line = next_step("lab-4-3", true, "labs/lab-4-3/src/exercise.rs");
        assert!(line.contains("cargo grade lab-4-3"), "{line}");
        assert!(line.contains("labs/lab-4-4/README.md"), "{line}");
        let last = next_step("lab-4-6", true, "labs/lab-4-6/src/exercise.rs");
        assert!(last.contains("last lab"), "{last}");
    }

    #[test]
    fn a_checklist_with_a_cross_did_not_pass() {
        assert!(checklist_passed("  ✅ a\n  ✅ b"));
        assert!(!checklist_passed("  ✅ a\n  ❌ b"));
    }
}

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

/// A "Success criteria:" checklist, one line per item: ✅ passed, ❌ failed,
/// ➖ not checked (`None`: the run gave the item nothing to check, which is
/// never a pass). [`checklist_passed`] reads it back.
pub fn render_checklist(items: &[(Option<bool>, String)]) -> String {
    let mut text = String::from("Success criteria:\n");
    for (mark, item) in items {
        let line = match mark {
            Some(true) => format!("  ✅ {item}\n"),
            Some(false) => format!("  ❌ {item}\n"),
            None => format!("  ➖ not checked: {item}: this run gave it nothing to check\n"),
        };
        text.push_str(&line);
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

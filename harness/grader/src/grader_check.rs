//! Running criteria as a child `cargo test`, and proving the grader catches the
//! wrong answers it claims to catch.
//!
//! A criterion that no wrong answer has ever failed is a hope, not a check.
//! Each `[[lab.wrong_answer]]` in `info.toml` is a plausible student mistake,
//! kept as a patch of the reference solution (`tests/wrong_answers/<id>.patch`).
//! [`check_wrong_answers`] copies the workspace into a scratch tree (under
//! `target/`, so the student's or maintainer's own files are never touched),
//! applies one patch at a time, runs the one criterion that must catch it, and
//! requires a failed verdict whose *expected* names the mistake's own check
//! (`expected_contains`) and that says what was observed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::grading::{LabInfo, Target, Verdict, WrongAnswer};
use crate::scratch::{sync_tree, tracked_files, SCRATCH_TARGET, SCRATCH_TREE};

/// `cargo test -p kafka-resilience-lab --test <test> --no-fail-fast`, run in
/// `workspace`, against `target`, writing verdicts to `verdict_dir`. Extra
/// arguments go to the test binary (a criterion name, `--test-threads`).
pub fn criteria_command(
    workspace: &Path,
    test: &str,
    target: Target,
    verdict_dir: &Path,
    test_args: &[&str],
) -> Command {
    // Through child_cargo: the environment of a plain `cargo test`, so the
    // grade reuses the build that `cargo run` and `cargo test` made.
    let mut command = crate::child_cargo::cargo();
    command
        .current_dir(workspace)
        .args([
            "test",
            "-p",
            "kafka-resilience-lab",
            "--test",
            test,
            "--no-fail-fast",
            "--",
        ])
        .args(test_args)
        .env("LAB_TARGET", target.as_str())
        .env("GRADING_DIR", verdict_dir);
    command
}

/// What became of one wrong answer.
#[derive(Debug, Clone)]
pub struct WrongAnswerResult {
    pub lab: String,
    pub wrong_answer: WrongAnswer,
    /// The criterion failed on the check that names the mistake
    /// (`expected_contains`), with what it observed and the file to look at.
    pub caught: bool,
    /// What the verdict said, or why there was none.
    pub detail: String,
    pub log: PathBuf,
}

/// The longest one wrong answer may take, build included: a wrong answer
/// that hangs (a consumer stuck in its handler) must not hang CI.
const RUN_DEADLINE: Duration = Duration::from_secs(20 * 60);

/// Apply each wrong answer of `labs` to a scratch copy of `workspace` and run
/// the criterion that must catch it.
///
/// The scratch tree builds into a target directory of its own
/// ([`SCRATCH_TARGET`]). Sharing the workspace's would be wrong, not
/// just slow: cargo names a workspace crate's artifacts and fingerprints by its
/// path *relative to the workspace root*, so both trees would write the same
/// files, and a later build in the workspace could take the patched (wrong)
/// solution for fresh. The first run builds the dependencies once; later runs
/// reuse them.
pub fn check_wrong_answers(
    workspace: &Path,
    labs: &[&LabInfo],
    out: &Path,
) -> anyhow::Result<Vec<WrongAnswerResult>> {
    let scratch = workspace.join(SCRATCH_TREE);
    let files = tracked_files(workspace)?;
    let logs = out.join("wrong-answers");
    std::fs::create_dir_all(&logs)?;
    let mut results = Vec::new();
    for lab in labs {
        for wrong in &lab.wrong_answers {
            // Pristine before each one: the previous patch is undone, and files
            // gone from the workspace are gone from the copy.
            sync_tree(workspace, &scratch, &files)?;
            eprintln!(
                "wrong answer {} ({}): cargo test --test {} -- {} ...",
                wrong.id, wrong.mistake, lab.test, wrong.criterion
            );
            results.push(run_one(workspace, &scratch, lab, wrong, &logs)?);
        }
    }
    sync_tree(workspace, &scratch, &files)?;
    Ok(results)
}

fn run_one(
    workspace: &Path,
    scratch: &Path,
    lab: &LabInfo,
    wrong: &WrongAnswer,
    logs: &Path,
) -> anyhow::Result<WrongAnswerResult> {
    let patch = workspace.join(wrong.patch());
    let log = logs.join(format!("{}.log", wrong.id));
    let mut result = WrongAnswerResult {
        lab: lab.id.clone(),
        wrong_answer: wrong.clone(),
        caught: false,
        detail: String::new(),
        log: log.clone(),
    };
    let applied = Command::new("git")
        .current_dir(scratch)
        .arg("apply")
        .arg(&patch)
        .stdout(Stdio::null())
        .status()
        .context("running git apply")?;
    if !applied.success() {
        result.detail = format!(
            "{} no longer applies to {}: update the patch",
            wrong.patch().display(),
            lab.solution
        );
        return Ok(result);
    }
    let verdicts = workspace
        .join("target/wrong-answers/verdicts")
        .join(&wrong.id);
    let _ = std::fs::remove_dir_all(&verdicts);
    let file = std::fs::File::create(&log)?;
    let mut command = criteria_command(
        scratch,
        &lab.test,
        Target::Solution,
        &verdicts,
        &[&wrong.criterion, "--exact"],
    );
    command
        .env("CARGO_TARGET_DIR", workspace.join(SCRATCH_TARGET))
        .stdout(file.try_clone()?)
        .stderr(file);
    let Some(status) = run_with_deadline(command, RUN_DEADLINE)? else {
        result.detail = format!(
            "no verdict: still running after {} min, stopped (a wrong answer that hangs is not caught)",
            RUN_DEADLINE.as_secs() / 60
        );
        return Ok(result);
    };
    let path = verdicts
        .join(&lab.id)
        .join(format!("{}.json", wrong.criterion));
    let verdict: Option<Verdict> = std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    match verdict {
        None => {
            result.detail =
                format!("no verdict (cargo test exited with {status}: did the patch compile?)")
        }
        Some(verdict) if verdict.passed => {
            result.detail = format!("the criterion PASSED: {}", verdict.message.trim())
        }
        Some(verdict) => {
            // Caught by the check that names the mistake, not by any failure
            // at all (a broker hiccup, the grader's own setup).
            let expected = verdict.expected.unwrap_or_default();
            let observed = verdict.observed.unwrap_or_default();
            result.caught = expected.contains(&wrong.expected_contains)
                && !observed.is_empty()
                && !verdict.file.is_empty();
            if !result.caught {
                result.detail = format!(
                    "failed, but not on the check that names this mistake (its expected should contain {:?}): ",
                    wrong.expected_contains
                );
            }
            result.detail += &format!(
                "expected: {expected} | observed: {observed} | look at: {}",
                verdict.file
            );
        }
    }
    Ok(result)
}

/// Run `command` in a process group of its own; `None` if it was still running
/// at the deadline (then the whole group is killed: cargo and the test binary).
fn run_with_deadline(
    mut command: Command,
    deadline: Duration,
) -> anyhow::Result<Option<std::process::ExitStatus>> {
    use std::os::unix::process::CommandExt;

    let mut child = command
        .process_group(0)
        .spawn()
        .context("running cargo test")?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if started.elapsed() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            return Ok(None);
        }
        // Polling a child process for its exit, not waiting out a guess.
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_tree_holds_exactly_the_workspace_files() {
        let root = std::env::temp_dir().join(format!("grader-check-{}", std::process::id()));
        let (workspace, scratch) = (root.join("workspace"), root.join("scratch"));
        std::fs::create_dir_all(workspace.join("src")).unwrap();
        std::fs::create_dir_all(scratch.join("gone")).unwrap();
        std::fs::create_dir_all(scratch.join("target")).unwrap();
        std::fs::write(workspace.join("src/a.rs"), "a").unwrap();
        std::fs::write(scratch.join("gone/old.rs"), "stale").unwrap();
        std::fs::write(scratch.join("target/keep"), "build output").unwrap();
        let files = vec![PathBuf::from("src/a.rs")];
        sync_tree(&workspace, &scratch, &files).unwrap();
        assert_eq!(
            std::fs::read_to_string(scratch.join("src/a.rs")).unwrap(),
            "a"
        );
        assert!(!scratch.join("gone/old.rs").exists());
        assert!(scratch.join("target/keep").exists());
        // A patched copy comes back to the workspace's version.
        std::fs::write(scratch.join("src/a.rs"), "patched").unwrap();
        sync_tree(&workspace, &scratch, &files).unwrap();
        assert_eq!(
            std::fs::read_to_string(scratch.join("src/a.rs")).unwrap(),
            "a"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}

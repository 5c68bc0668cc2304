//! Running criteria as a child `cargo test`, and proving the grader catches the
//! wrong answers it claims to catch.
//!
//! A criterion that no wrong answer has ever failed is a hope, not a check.
//! Each `[[lab.wrong_answer]]` in `info.toml` is a plausible student mistake,
//! kept as a patch of the reference solution (`tests/wrong_answers/<id>.patch`).
//! [`check_wrong_answers`] copies the workspace into a scratch tree (under
//! `target/`, so the student's or maintainer's own files are never touched),
//! applies one patch at a time, runs the one criterion that must catch it, and
//! requires a failed verdict that says what was expected and what was observed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::grading::{LabInfo, Target, Verdict, WrongAnswer};

/// Variables `cargo run` sets for the program it runs. A nested `cargo test`
/// that inherits them sees a different build environment (CARGO_MANIFEST_DIR,
/// for one, is tracked by build scripts) and rebuilds the world; so the child
/// gets the environment a user's shell would give it.
const CARGO_RUN_VARIABLES: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_RUSTC_CURRENT_DIR",
];

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
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
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
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if CARGO_RUN_VARIABLES.contains(&name.as_ref()) || name.starts_with("CARGO_PKG_") {
            command.env_remove(name.as_ref());
        }
    }
    command
}

/// What became of one wrong answer.
#[derive(Debug, Clone)]
pub struct WrongAnswerResult {
    pub lab: String,
    pub wrong_answer: WrongAnswer,
    /// The criterion failed with an expected-against-observed verdict.
    pub caught: bool,
    /// What the verdict said, or why there was none.
    pub detail: String,
    pub log: PathBuf,
}

/// Apply each wrong answer of `labs` to a scratch copy of `workspace` and run
/// the criterion that must catch it. Builds share `workspace`'s target
/// directory, so only the patched crates recompile.
pub fn check_wrong_answers(
    workspace: &Path,
    labs: &[&LabInfo],
    out: &Path,
) -> anyhow::Result<Vec<WrongAnswerResult>> {
    let scratch = workspace.join("target/wrong-answers/tree");
    let files = tracked_files(workspace)?;
    sync_tree(workspace, &scratch, &files)?;
    let logs = out.join("wrong-answers");
    std::fs::create_dir_all(&logs)?;
    let mut results = Vec::new();
    for lab in labs {
        for wrong in &lab.wrong_answers {
            let patch = workspace.join(wrong.patch());
            let touched = patched_files(&patch)?;
            eprintln!(
                "wrong answer {} ({}): cargo test --test {} -- {} ...",
                wrong.id, wrong.mistake, lab.test, wrong.criterion
            );
            let result = run_one(workspace, &scratch, lab, wrong, &patch, &logs);
            // Back to the pristine copy of whatever the patch touched, even if
            // the run failed, so the next wrong answer starts clean.
            sync_tree(workspace, &scratch, &touched)?;
            results.push(result?);
        }
    }
    Ok(results)
}

fn run_one(
    workspace: &Path,
    scratch: &Path,
    lab: &LabInfo,
    wrong: &WrongAnswer,
    patch: &Path,
    logs: &Path,
) -> anyhow::Result<WrongAnswerResult> {
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
        .arg(patch)
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
    let status = criteria_command(
        scratch,
        &lab.test,
        Target::Solution,
        &verdicts,
        &[&wrong.criterion, "--exact"],
    )
    .env("CARGO_TARGET_DIR", workspace.join("target"))
    .stdout(file.try_clone()?)
    .stderr(file)
    .status()
    .context("running cargo test")?;
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
            let said = |part: &Option<String>| part.as_deref().is_some_and(|t| !t.is_empty());
            result.caught =
                said(&verdict.expected) && said(&verdict.observed) && !verdict.file.is_empty();
            result.detail = format!(
                "expected: {} | observed: {} | look at: {}",
                verdict.expected.unwrap_or_default(),
                verdict.observed.unwrap_or_default(),
                verdict.file
            );
        }
    }
    Ok(result)
}

/// The workspace's own files: tracked, plus new ones not ignored (so a change
/// not committed yet is checked too). Deleted files are left out.
fn tracked_files(workspace: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = Command::new("git")
        .current_dir(workspace)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .context("running git ls-files (the wrong-answer check needs a git checkout)")?;
    if !output.status.success() {
        bail!(
            "git ls-files failed in {}: {}",
            workspace.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let unique: BTreeSet<PathBuf> = output
        .stdout
        .split(|b| *b == 0)
        .filter(|name| !name.is_empty())
        .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
        .filter(|path| workspace.join(path).is_file())
        .collect();
    Ok(unique.into_iter().collect())
}

/// Make `files` in `scratch` equal to those in `workspace`, writing only what
/// differs: an unchanged file keeps its modification time, so cargo does not
/// rebuild its crate.
fn sync_tree(workspace: &Path, scratch: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    for file in files {
        let wanted = std::fs::read(workspace.join(file))
            .with_context(|| format!("reading {}", file.display()))?;
        let copy = scratch.join(file);
        if std::fs::read(&copy).is_ok_and(|have| have == wanted) {
            continue;
        }
        if let Some(parent) = copy.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&copy, wanted).with_context(|| format!("writing {}", copy.display()))?;
    }
    Ok(())
}

/// The files a unified diff changes (its `+++ b/<path>` lines).
fn patched_files(patch: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let text =
        std::fs::read_to_string(patch).with_context(|| format!("reading {}", patch.display()))?;
    let files: Vec<PathBuf> = text
        .lines()
        .filter_map(|line| line.strip_prefix("+++ b/"))
        .map(|path| PathBuf::from(path.trim()))
        .collect();
    if files.is_empty() {
        bail!("{} changes no file", patch.display());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_names_the_files_it_changes() {
        let dir = std::env::temp_dir().join(format!("grader-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let patch = dir.join("x.patch");
        std::fs::write(
            &patch,
            "--- a/solutions/lab-4-1/src/lag.rs\n+++ b/solutions/lab-4-1/src/lag.rs\n@@ -1 +1 @@\n-a\n+b\n",
        )
        .unwrap();
        assert_eq!(
            patched_files(&patch).unwrap(),
            vec![PathBuf::from("solutions/lab-4-1/src/lag.rs")]
        );
        std::fs::write(&patch, "nothing here\n").unwrap();
        assert!(patched_files(&patch).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

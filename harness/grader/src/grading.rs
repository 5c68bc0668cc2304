//! The grading mechanism: criteria, their one home (`info.toml`), and scorecards.
//!
//! A criterion is a test that creates a [`Criterion`] and checks what it observed
//! with [`Criterion::expect`]. A failed check panics with *expected*, *observed*,
//! a hint and the file to edit. Whatever happens, the criterion's verdict is
//! written as JSON under the grading directory when the test ends, so the `grade`
//! binary can build a scorecard an instructor can collect.
//!
//! Which implementation a test exercises is chosen at run time by `LAB_TARGET`:
//! `solution` (the default, what plain `cargo test` checks) or `starter` (the
//! student's code in `labs/`).

use std::cell::RefCell;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Once;

use serde::{Deserialize, Serialize};

pub use crate::info::*;

/// The target selected by `LAB_TARGET` (default: solution). An unknown value is a
/// mistake worth stopping for, not something to guess about.
pub fn target() -> Target {
    match std::env::var("LAB_TARGET") {
        Err(_) => Target::Solution,
        Ok(value) => match Target::parse(&value) {
            Some(target) => target,
            None => panic!("LAB_TARGET={value:?}: expected `starter` or `solution`"),
        },
    }
}

/// Where verdicts go: `GRADING_DIR`, else `target/grading/<target>` in the workspace.
pub fn grading_dir(target: Target) -> PathBuf {
    if let Some(dir) = std::env::var_os("GRADING_DIR") {
        return PathBuf::from(dir);
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target_dir.join("grading").join(target.as_str())
}

/// The workspace root (this crate lives at `harness/grader`, two levels below it).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// One criterion's verdict, as written to `<grading dir>/<lab>/<criterion>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    pub lab: String,
    pub criterion: String,
    pub kind: CriterionKind,
    pub target: Target,
    pub passed: bool,
    pub expected: Option<String>,
    pub observed: Option<String>,
    pub message: String,
    pub file: String,
}

/// A running criterion. Create it first thing in the test; its verdict is written
/// when it is dropped (passed, unless the test is panicking).
pub struct Criterion {
    lab: LabInfo,
    info: CriterionInfo,
    target: Target,
    failure: Option<(String, String, String)>,
    /// Measurements worth keeping on the scorecard even when the criterion passes.
    notes: Vec<String>,
}

impl Criterion {
    /// Start criterion `id` of `lab`. Panics if info.toml does not list it, so a
    /// test and its metadata cannot drift apart.
    pub fn start(lab: &str, id: &str) -> Criterion {
        remember_panics();
        let info = Info::load();
        let Some(lab_info) = info.lab(lab) else {
            panic!("info.toml has no lab {lab:?}");
        };
        let Some(criterion) = lab_info.criterion(id) else {
            panic!("info.toml has no criterion {id:?} in lab {lab:?}");
        };
        Criterion {
            lab: lab_info.clone(),
            info: criterion.clone(),
            target: target(),
            failure: None,
            notes: Vec::new(),
        }
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// The file a student should look at: a graded criterion's file is in the
    /// student's crate (or the solution's), an observation's in the lab's kit.
    pub fn file(&self) -> String {
        self.lab.file_of(&self.info, self.target)
    }

    /// Keep a measurement on the scorecard (and print it).
    pub fn note(&mut self, note: impl Display) {
        let note = note.to_string();
        eprintln!("  [{}] {note}", self.info.id);
        self.notes.push(note);
    }

    /// Check one expectation; on failure, panic with a message that says what was
    /// expected, what was observed, and where to look.
    #[track_caller]
    pub fn expect(&mut self, holds: bool, expected: impl Display, observed: impl Display) {
        if holds {
            return;
        }
        let (expected, observed) = (expected.to_string(), observed.to_string());
        let message = self.failure_message(&expected, &observed);
        self.failure = Some((expected, observed, message.clone()));
        panic!("{message}");
    }

    fn failure_message(&self, expected: &str, observed: &str) -> String {
        format!(
            "\n✗ {} · {} ({:?}, against the {})\n  criterion: {}\n  expected:  {expected}\n  observed:  {observed}\n  hint:      {}\n  look at:   {}\n",
            self.lab.id,
            self.info.id,
            self.info.kind,
            self.target.as_str(),
            self.info.seed_criterion,
            self.info.hint,
            self.file()
        )
    }

    fn verdict(&self) -> Verdict {
        let panicking = std::thread::panicking();
        let (expected, observed, message) = match (&self.failure, panicking) {
            (Some((e, o, m)), _) => (Some(e.clone()), Some(o.clone()), m.clone()),
            // Something broke outside `expect` (an unwrap, a broker error, a
            // panicking task): the verdict still says what, so the scorecard is
            // more than "it failed".
            (None, true) => {
                let observed =
                    last_panic().unwrap_or_else(|| "a panic (see the test's output)".into());
                let expected = "the criterion to run to a verdict".to_string();
                let message = format!(
                    "the test stopped before reaching a verdict: {observed}; look at {}",
                    self.file()
                );
                (Some(expected), Some(observed), message)
            }
            (None, false) => (None, None, self.notes.join("; ")),
        };
        Verdict {
            lab: self.lab.id.clone(),
            criterion: self.info.id.clone(),
            kind: self.info.kind,
            target: self.target,
            passed: self.failure.is_none() && !panicking,
            expected,
            observed,
            message,
            file: self.file(),
        }
    }
}

impl Drop for Criterion {
    fn drop(&mut self) {
        let verdict = self.verdict();
        let dir = grading_dir(self.target).join(&verdict.lab);
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            let json = serde_json::to_vec_pretty(&verdict).unwrap_or_default();
            std::fs::write(dir.join(format!("{}.json", verdict.criterion)), json)
        });
        if let Err(error) = written {
            eprintln!(
                "could not write the verdict of {}: {error}",
                verdict.criterion
            );
        }
    }
}

thread_local! {
    /// The last panic on this thread, with where it happened. A criterion's
    /// verdict is written while its test thread unwinds, on that same thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Chain a panic hook (once per process) that remembers each panic's message on
/// its thread, then prints it as before.
fn remember_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic with no message".into());
            let at = info
                .location()
                .map(|l| format!(" (at {}:{})", l.file(), l.line()))
                .unwrap_or_default();
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(format!("{}{at}", text.trim())));
            previous(info);
        }));
    });
}

fn last_panic() -> Option<String> {
    LAST_PANIC.with(|last| last.borrow().clone())
}

/// Read back the verdicts of one lab from a grading directory.
pub fn read_verdicts(
    dir: &std::path::Path,
    lab: &LabInfo,
) -> Vec<(CriterionInfo, Option<Verdict>)> {
    lab.criteria
        .iter()
        .map(|criterion| {
            let path = dir.join(&lab.id).join(format!("{}.json", criterion.id));
            let verdict = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            (criterion.clone(), verdict)
        })
        .collect()
}

//! `cargo dev check`: every lab has the shape `info.toml` promises, as
//! rustlings' `dev check` does for its exercises. CI runs it.
//!
//! What it proves, lab by lab:
//! - the starter, solution, kit and criteria crate all exist;
//! - every file `info.toml` names exists (graded criteria's in the student's
//!   crate and the solution, observations' in the kit), each student file of the
//!   starter carries a `TODO(<lab>` marker, and the solution's carry none;
//! - the student's crate holds nothing beyond its expected files: `Cargo.toml`,
//!   `README.md`, its `student_files`, and one-line binaries (`src/main.rs`,
//!   `src/bin/*.rs`), so a student opening it sees only what is theirs; the
//!   solution has the same shape (plus its listed `solution_extras`);
//! - no student crate depends on a solution crate (directly), and none links the
//!   grader or testcontainers (at all: `cargo tree`);
//! - every package alone resolves its dependencies with the features the whole
//!   workspace does (`harness/workspace-hack` is complete: `feature_check`).
//!
//! These are `cargo dev check`'s, not unit tests: a student who deletes a TODO
//! marker once done must not see `cargo test` fail for it.
//!
//! That every starter compiles and fails its graded criteria and every solution
//! passes is `grade --all --check-exercises`; `cargo dev check --exercises` runs
//! it after the shape checks.

use std::path::{Path, PathBuf};

use crate::grading::workspace_root;
use crate::info::{Info, LabInfo, Target};

/// A binary in a student's crate must stay a wrapper: at most this many lines
/// of code (comments and blank lines aside). The logic lives in the kit.
pub const THIN_BINARY_LINES: usize = 8;

/// One broken promise: which lab, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub lab: String,
    pub problem: String,
}

/// Check every lab of `info` against the tree at `root`.
pub fn check_shapes(root: &Path, info: &Info) -> Vec<Problem> {
    let mut problems = Vec::new();
    let debug_packages = fully_debugged_packages(root);
    for lab in &info.labs {
        let mut report = |problem: String| {
            problems.push(Problem {
                lab: lab.id.clone(),
                problem,
            })
        };
        for dir in [&lab.starter, &lab.solution, &lab.kit, &lab.criteria_crate] {
            if !root.join(dir).join("Cargo.toml").is_file() {
                report(format!("{dir}/Cargo.toml does not exist"));
            }
        }
        check_student_files(root, lab, &mut report);
        // The workspace builds its given code with line tables only (to save
        // disk); a student's crate must keep full debug info, so a debugger
        // shows their variables.
        if !debug_packages.contains(&lab.id) {
            report(format!(
                "Cargo.toml has no [profile.dev.package.{}] with debug = true: the student's crate would build without full debug info",
                lab.id
            ));
        }
        for criterion in &lab.criteria {
            let mut files: Vec<String> = [Target::Starter, Target::Solution]
                .map(|target| lab.file_of(criterion, target))
                .into();
            files.dedup();
            for file in files {
                if !root.join(&file).is_file() {
                    report(format!("criterion {}: {file} does not exist", criterion.id));
                }
            }
        }
        for (dir, extras) in [
            (&lab.starter, &[][..]),
            (&lab.solution, &lab.solution_extras[..]),
        ] {
            for stray in unexpected_files(root, dir, lab, extras) {
                report(stray);
            }
            for dependency in solution_dependencies(root, dir, lab) {
                report(format!(
                    "{dir}/Cargo.toml depends on {dependency}: a student's crate must not ship an answer"
                ));
            }
        }
    }
    problems
}

fn check_student_files(root: &Path, lab: &LabInfo, report: &mut impl FnMut(String)) {
    if lab.student_files.is_empty() {
        report("info.toml names no student_files".to_string());
    }
    let marker = format!("TODO({}", lab.id);
    for file in &lab.student_files {
        let starter = root.join(&lab.starter).join(file);
        match std::fs::read_to_string(&starter) {
            Ok(text) if text.contains(&marker) => {}
            Ok(_) => report(format!(
                "{}/{file} has no {marker}…) marker: a student would not find the work",
                lab.starter
            )),
            Err(_) => report(format!("{}/{file} does not exist", lab.starter)),
        }
        let solution = root.join(&lab.solution).join(file);
        match std::fs::read_to_string(&solution) {
            Ok(text) if text.contains("TODO(") => {
                report(format!("{}/{file} still has a TODO( marker", lab.solution))
            }
            Ok(_) => {}
            Err(_) => report(format!("{}/{file} does not exist", lab.solution)),
        }
    }
}

/// Files in `dir` (a student's crate or a solution) beyond the expected shape.
fn unexpected_files(root: &Path, dir: &str, lab: &LabInfo, extras: &[String]) -> Vec<String> {
    let mut files = Vec::new();
    collect(&root.join(dir), Path::new(""), &mut files);
    let mut problems = Vec::new();
    for file in files {
        let name = file.to_string_lossy().replace('\\', "/");
        let expected = name == "Cargo.toml"
            || name == "README.md"
            || lab.student_files.contains(&name)
            || extras.contains(&name);
        let binary = name == "src/main.rs"
            || (name.starts_with("src/bin/") && name.ends_with(".rs") && !name[8..].contains('/'));
        if expected {
            continue;
        }
        if binary {
            let code = code_lines(&root.join(dir).join(&file));
            if code > THIN_BINARY_LINES {
                problems.push(format!(
                    "{dir}/{name} has {code} lines of code: a student's binary must be a one-line wrapper \
                     (at most {THIN_BINARY_LINES}); move its logic to {}",
                    lab.kit
                ));
            }
            continue;
        }
        problems.push(format!(
            "{dir}/{name} is not one of the student's files: given code belongs in {}, judgement in {}",
            lab.kit, lab.criteria_crate
        ));
    }
    problems
}

fn collect(base: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(base.join(dir)) else {
        return;
    };
    for entry in entries.flatten() {
        let relative = dir.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if relative != Path::new("target") {
                collect(base, &relative, files);
            }
        } else {
            files.push(relative);
        }
    }
}

/// Lines that are neither blank nor comments.
fn code_lines(file: &Path) -> usize {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .count()
}

/// The packages the workspace's Cargo.toml gives full debug info in the dev
/// profile (`[profile.dev.package.<name>] debug = true`).
fn fully_debugged_packages(root: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return Vec::new();
    };
    let Ok(manifest) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let packages = manifest
        .get("profile")
        .and_then(|p| p.get("dev"))
        .and_then(|d| d.get("package"))
        .and_then(|p| p.as_table());
    packages
        .into_iter()
        .flatten()
        .filter(|(_, settings)| {
            matches!(settings.get("debug"), Some(toml::Value::Boolean(true)))
                || settings.get("debug").and_then(|d| d.as_str()) == Some("full")
                || settings.get("debug").and_then(|d| d.as_integer()) == Some(2)
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// The `*-solution` crates `dir`'s Cargo.toml depends on (a solution may depend
/// on nothing but its own lab's kit and criteria either).
fn solution_dependencies(root: &Path, dir: &str, lab: &LabInfo) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(root.join(dir).join("Cargo.toml")) else {
        return Vec::new();
    };
    let Ok(manifest) = text.parse::<toml::Table>() else {
        return vec![format!("{dir}/Cargo.toml does not parse")];
    };
    let _ = lab;
    // A dependency is a solution if its key or its `package = …` names one.
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| manifest.get(*section).and_then(|d| d.as_table()))
        .flat_map(|deps| {
            deps.iter().map(|(key, value)| {
                value
                    .get("package")
                    .and_then(|p| p.as_str())
                    .unwrap_or(key)
                    .to_string()
            })
        })
        .filter(|name| name.ends_with("-solution"))
        .collect()
}

/// Crates no binary of a student's crate may link, however indirectly: the
/// grader and testcontainers (a lab's binaries link the run-time harness only).
pub const NEVER_LINKED_BY_STUDENTS: &[&str] =
    &["grader", "testcontainers", "testcontainers-modules"];

/// What `cargo tree` says each student crate links that it must not.
pub fn check_linkage(root: &Path, info: &Info) -> Vec<Problem> {
    let mut problems = Vec::new();
    for lab in &info.labs {
        let output = crate::child_cargo::cargo()
            .current_dir(root)
            .args(["tree", "-p", &lab.id, "-e", "normal", "--prefix", "none"])
            .output();
        let tree = match output {
            Ok(output) if output.status.success() => {
                String::from_utf8_lossy(&output.stdout).into_owned()
            }
            Ok(output) => {
                problems.push(Problem {
                    lab: lab.id.clone(),
                    problem: format!(
                        "cargo tree -p {} failed: {}",
                        lab.id,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ),
                });
                continue;
            }
            Err(error) => {
                problems.push(Problem {
                    lab: lab.id.clone(),
                    problem: format!("cannot run cargo tree: {error}"),
                });
                continue;
            }
        };
        for line in tree.lines() {
            let name = line.split_whitespace().next().unwrap_or("");
            if NEVER_LINKED_BY_STUDENTS.contains(&name) {
                problems.push(Problem {
                    lab: lab.id.clone(),
                    problem: format!(
                        "{} links {name}: a student's binaries must link the run-time harness only",
                        lab.id
                    ),
                });
            }
        }
    }
    problems.dedup();
    problems
}

/// Every check on this workspace (the `cargo dev check` of CI).
pub fn check_workspace() -> Vec<Problem> {
    let (root, info) = (workspace_root(), Info::load());
    let mut problems = check_shapes(&root, &info);
    problems.extend(check_linkage(&root, &info));
    match workspace_packages(&root) {
        Ok(packages) => problems.extend(crate::feature_check::check_feature_unification(
            &root, &packages,
        )),
        // Not a pass: with no package list, feature unification went unchecked.
        Err(problem) => problems.push(Problem {
            lab: "workspace".into(),
            problem,
        }),
    }
    problems
}

/// The workspace's packages, from `cargo metadata` (all but the workspace-hack,
/// which nobody builds alone).
fn workspace_packages(root: &Path) -> Result<Vec<String>, String> {
    let output = crate::child_cargo::cargo()
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|error| format!("cannot run cargo metadata: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("cargo metadata printed no JSON: {error}"))?;
    let packages: Vec<String> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|package| package["name"].as_str())
        .filter(|name| *name != "workspace-hack")
        .map(String::from)
        .collect();
    if packages.is_empty() {
        return Err("cargo metadata listed no packages: feature unification not checked".into());
    }
    Ok(packages)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check can fail: a given file left in a student's crate, a fat binary
    /// and a missing TODO marker are each reported.
    #[test]
    fn a_stray_file_a_fat_binary_and_a_missing_marker_are_caught() {
        let root = workspace_root().join("target/dev-check-test");
        let _ = std::fs::remove_dir_all(&root);
        let info = Info::load();
        let lab = info.lab("lab-4-3").unwrap().clone();
        let write = |path: &str, text: &str| {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        };
        for dir in [&lab.starter, &lab.solution, &lab.kit, &lab.criteria_crate] {
            write(&format!("{dir}/Cargo.toml"), "[package]\nname = \"x\"\n");
        }
        write(
            &format!("{}/src/exercise.rs", lab.starter),
            "// no marker\n",
        );
        write(
            &format!("{}/src/exercise.rs", lab.solution),
            "// solved, but TODO(lab-4-3 left\n",
        );
        write(
            &format!("{}/Cargo.toml", lab.starter),
            "[package]\nname = \"x\"\n[dependencies]\nanswer = { package = \"lab-4-3-solution\", path = \"x\" }\n",
        );
        write(
            &format!("{}/src/pipeline.rs", lab.starter),
            "// given code\n",
        );
        write(
            &format!("{}/src/main.rs", lab.starter),
            &"let x = 1;\n".repeat(THIN_BINARY_LINES + 1),
        );
        let only = Info { labs: vec![lab] };
        let problems: Vec<String> = check_shapes(&root, &only)
            .into_iter()
            .map(|p| p.problem)
            .collect();
        let has = |text: &str| problems.iter().any(|p| p.contains(text));
        assert!(
            has("src/pipeline.rs is not one of the student's files"),
            "{problems:#?}"
        );
        assert!(has("src/main.rs has 9 lines of code"), "{problems:#?}");
        assert!(has("marker"), "{problems:#?}");
        assert!(has("still has a TODO( marker"), "{problems:#?}");
        assert!(has("depends on lab-4-3-solution"), "{problems:#?}");
        assert!(has("[profile.dev.package.lab-4-3]"), "{problems:#?}");
        let _ = std::fs::remove_dir_all(&root);
    }
}

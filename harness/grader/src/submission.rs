//! Grading a student's submission in a pristine tree, as Exercism's test runner
//! does: `grade <lab> --submission <checkout>`.
//!
//! A student's checkout may have changed anything: the kits, the criteria, the
//! tests, `info.toml`. None of that may change their grade. So the grader:
//!
//! 1. copies its own workspace (tracked files only) into the scratch tree
//!    (`target/scratch/tree`, shared with the wrong-answer check);
//! 2. takes from the checkout only the files `info.toml` names as the student's
//!    (`student_files`, e.g. `labs/lab-4-3/src/exercise.rs`) and writes them
//!    over the scratch tree's starter;
//! 3. lists every other file the checkout changed, added or deleted as
//!    **ignored**: a warning on the scorecard, never an input;
//! 4. grades the starter in the scratch tree, with a target directory of its own.
//!
//! The checkout is a directory, either a whole workspace (`labs/<lab>/src/…`) or
//! just the lab's folder (`src/…`), or anything `git clone` takes (a URL, a path
//! to a repository), cloned shallowly first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::grading::LabInfo;
use crate::scratch::{sync_tree, tracked_files, SCRATCH_TARGET, SCRATCH_TREE};

/// Where a cloned submission is checked out, under the workspace.
const SUBMISSIONS: &str = "target/submissions";

/// A submission, ready to grade.
#[derive(Debug)]
pub struct Submission {
    /// The pristine workspace copy holding the student's files.
    pub tree: PathBuf,
    /// The scratch tree's own target directory.
    pub target_dir: PathBuf,
    /// What was taken, per lab: `labs/<lab>/<file>`.
    pub taken: Vec<String>,
    /// What the checkout changed beyond the student's files: not graded.
    pub ignored: Vec<Ignored>,
}

/// A file of the checkout that was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ignored {
    pub path: String,
    pub change: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Modified,
    Added,
    Deleted,
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let change = match self.change {
            Change::Modified => "modified",
            Change::Added => "added",
            Change::Deleted => "deleted",
        };
        write!(
            f,
            "{} ({change}, ignored: only the student's files are graded)",
            self.path
        )
    }
}

/// How the checkout is laid out.
enum Layout {
    /// A whole workspace: the lab is at `labs/<lab>`.
    Workspace(PathBuf),
    /// The lab's folder alone.
    LabFolder(PathBuf),
}

/// Prepare `source` for grading `labs` from `workspace` (the grader's own tree).
pub fn prepare(workspace: &Path, labs: &[&LabInfo], source: &str) -> anyhow::Result<Submission> {
    let checkout = local_checkout(workspace, source)?;
    let tree = workspace.join(SCRATCH_TREE);
    // The instructor's tree, minus the checkout itself if it sits inside it.
    let inside = checkout
        .strip_prefix(workspace.canonicalize()?)
        .ok()
        .map(Path::to_path_buf);
    let files: Vec<PathBuf> = tracked_files(workspace)?
        .into_iter()
        .filter(|file| inside.as_ref().is_none_or(|dir| !file.starts_with(dir)))
        .collect();
    sync_tree(workspace, &tree, &files)?;

    let layouts = labs
        .iter()
        .map(|lab| layout_of(&checkout, lab))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if labs.len() > 1 && layouts.iter().any(|l| matches!(l, Layout::LabFolder(_))) {
        bail!(
            "{} holds one lab's folder: grade one lab at a time from it (a whole workspace checkout can be graded with --all)",
            checkout.display()
        );
    }
    // Every graded lab's student files, so one lab's file is never reported as
    // an ignored change while another lab is taken.
    let students: BTreeSet<PathBuf> = labs
        .iter()
        .flat_map(|lab| {
            lab.student_files
                .iter()
                .map(|file| Path::new(&lab.starter).join(file))
        })
        .collect();
    let mut taken = Vec::new();
    let mut ignored = Vec::new();
    for (lab, layout) in labs.iter().zip(&layouts) {
        for file in &lab.student_files {
            let (root, relative) = match layout {
                Layout::Workspace(root) => (root, Path::new(&lab.starter).join(file)),
                Layout::LabFolder(dir) => (dir, PathBuf::from(file)),
            };
            let bytes = read_plain_file(root, &relative)?;
            let to = tree.join(&lab.starter).join(file);
            // Rewrite only when it differs, so an unchanged file keeps its mtime
            // and cargo does not rebuild for nothing.
            if std::fs::read(&to).ok().as_deref() != Some(bytes.as_slice()) {
                std::fs::write(&to, bytes).with_context(|| format!("writing {}", to.display()))?;
            }
            taken.push(format!("{}/{}", lab.starter, file));
        }
    }
    let (root, prefix) = match &layouts[..] {
        [Layout::LabFolder(dir)] => (dir.clone(), PathBuf::from(&labs[0].starter)),
        _ => (checkout.clone(), PathBuf::new()),
    };
    ignored.extend(changes_beyond(
        workspace, &root, &prefix, &students, &files,
    )?);
    ignored.sort_by(|a, b| a.path.cmp(&b.path));
    ignored.dedup();
    Ok(Submission {
        tree,
        target_dir: workspace.join(SCRATCH_TARGET),
        taken,
        ignored,
    })
}

/// The bytes of `root/relative`, refused unless every step of the path is a
/// plain directory or file inside `root`: a symbolic link could otherwise bring
/// in a file from outside the checkout (the reference solution, for one).
fn read_plain_file(root: &Path, relative: &Path) -> anyhow::Result<Vec<u8>> {
    let mut path = root.to_path_buf();
    for component in relative.components() {
        let std::path::Component::Normal(part) = component else {
            bail!(
                "{}: only plain relative paths are taken",
                relative.display()
            );
        };
        path.push(part);
        let metadata = std::fs::symlink_metadata(&path).with_context(|| {
            format!(
                "the submission has no {} (looked at {})",
                relative.display(),
                path.display()
            )
        })?;
        if metadata.file_type().is_symlink() {
            bail!(
                "{} is a symbolic link in the submission: only plain files are graded",
                path.display()
            );
        }
    }
    if !path.is_file() {
        bail!("{} is not a file", path.display());
    }
    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))
}

/// A directory to read the submission from: `source` itself, or a shallow clone.
fn local_checkout(workspace: &Path, source: &str) -> anyhow::Result<PathBuf> {
    let path = Path::new(source);
    if path.is_dir() && !path.join("HEAD").is_file() {
        return path
            .canonicalize()
            .with_context(|| format!("reading {source}"));
    }
    let clone = workspace.join(SUBMISSIONS).join("checkout");
    let _ = std::fs::remove_dir_all(&clone);
    std::fs::create_dir_all(clone.parent().unwrap_or(workspace))?;
    let status = Command::new("git")
        .args(["clone", "--quiet", "--depth", "1", "--", source])
        .arg(&clone)
        .status()
        .context("running git clone")?;
    if !status.success() {
        bail!("{source} is neither a directory nor something git can clone");
    }
    Ok(clone)
}

fn layout_of(checkout: &Path, lab: &LabInfo) -> anyhow::Result<Layout> {
    let first = lab
        .student_files
        .first()
        .with_context(|| format!("info.toml names no student_files for {}", lab.id))?;
    if checkout.join(&lab.starter).join(first).is_file() {
        Ok(Layout::Workspace(checkout.to_path_buf()))
    } else if checkout.join(first).is_file() {
        Ok(Layout::LabFolder(checkout.to_path_buf()))
    } else {
        bail!(
            "{} is not a checkout of {}: it has neither {}/{first} nor {first}",
            checkout.display(),
            lab.id,
            lab.starter
        )
    }
}

/// Every file the checkout (`root`, holding the workspace's `prefix`) differs
/// from the grader's workspace in, apart from the student's files.
fn changes_beyond(
    workspace: &Path,
    root: &Path,
    prefix: &Path,
    students: &BTreeSet<PathBuf>,
    workspace_files: &[PathBuf],
) -> anyhow::Result<Vec<Ignored>> {
    let theirs: BTreeSet<PathBuf> = checkout_files(root)?
        .into_iter()
        .map(|file| prefix.join(file))
        .collect();
    let ours: BTreeSet<PathBuf> = workspace_files
        .iter()
        .filter(|file| prefix.as_os_str().is_empty() || file.starts_with(prefix))
        .cloned()
        .collect();
    let mut ignored = Vec::new();
    for file in theirs.union(&ours) {
        if students.contains(file) {
            continue;
        }
        let change = match (theirs.contains(file), ours.contains(file)) {
            (true, false) => Change::Added,
            (false, true) => Change::Deleted,
            _ => {
                let mine = std::fs::read(workspace.join(file)).ok();
                let relative = file.strip_prefix(prefix).unwrap_or(file);
                if std::fs::read(root.join(relative)).ok() == mine {
                    continue;
                }
                Change::Modified
            }
        };
        ignored.push(Ignored {
            path: file.display().to_string(),
            change,
        });
    }
    Ok(ignored)
}

/// The checkout's files, relative to `root`: `git ls-files` when it is a git
/// checkout (so build output and ignored files do not count), else every file
/// outside `target/` and `.git/`.
fn checkout_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if root.join(".git").exists() {
        if let Ok(files) = tracked_files(root) {
            return Ok(files);
        }
    }
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files)?;
    Ok(files)
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(root.join(dir))? {
        let entry = entry?;
        let relative = dir.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if relative != Path::new("target") && relative != Path::new(".git") {
                walk(root, &relative, files)?;
            }
        } else {
            files.push(relative);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::{workspace_root, Info};

    /// A checkout that edits a given file, a criterion and the student's file:
    /// only the student's file is taken, the rest is listed as ignored.
    #[test]
    fn only_the_student_files_are_taken_and_the_rest_is_listed() {
        let workspace = workspace_root();
        let info = Info::load();
        let lab = info.lab("lab-4-3").unwrap();
        let checkout = workspace.join("target/submissions/test-checkout");
        let _ = std::fs::remove_dir_all(&checkout);
        for file in tracked_files(&workspace).unwrap() {
            let to = checkout.join(&file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(workspace.join(&file), to).unwrap();
        }
        let exercise = checkout.join("labs/lab-4-3/src/exercise.rs");
        let mut text = std::fs::read_to_string(&exercise).unwrap();
        text.push_str("\n// the student's change\n");
        std::fs::write(&exercise, &text).unwrap();
        std::fs::write(checkout.join("kits/lab-4-3/src/failed.rs"), "// tampered\n").unwrap();
        std::fs::write(checkout.join("tests/lab_4_3/new.rs"), "// added\n").unwrap();

        assert!(matches!(
            layout_of(&checkout, lab).unwrap(),
            Layout::Workspace(_)
        ));
        let students: BTreeSet<PathBuf> = [PathBuf::from("labs/lab-4-3/src/exercise.rs")].into();
        let ignored = changes_beyond(
            &workspace,
            &checkout,
            Path::new(""),
            &students,
            &tracked_files(&workspace).unwrap(),
        )
        .unwrap();
        let paths: Vec<&str> = ignored.iter().map(|i| i.path.as_str()).collect();
        assert!(paths.contains(&"kits/lab-4-3/src/failed.rs"), "{paths:?}");
        assert!(paths.contains(&"tests/lab_4_3/new.rs"), "{paths:?}");
        assert!(
            !paths.contains(&"labs/lab-4-3/src/exercise.rs"),
            "{paths:?}"
        );
        let _ = std::fs::remove_dir_all(&checkout);
    }

    /// A student file that is a symbolic link (here, to the reference solution)
    /// is refused, not followed.
    #[test]
    fn a_symlinked_student_file_is_refused() {
        let workspace = workspace_root();
        let checkout = workspace.join("target/submissions/test-symlink");
        let _ = std::fs::remove_dir_all(&checkout);
        std::fs::create_dir_all(checkout.join("labs/lab-4-1/src")).unwrap();
        std::os::unix::fs::symlink(
            workspace.join("solutions/lab-4-1/src/exercise.rs"),
            checkout.join("labs/lab-4-1/src/exercise.rs"),
        )
        .unwrap();
        let error = read_plain_file(&checkout, Path::new("labs/lab-4-1/src/exercise.rs"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("symbolic link"), "{error}");
        let _ = std::fs::remove_dir_all(&checkout);
    }
}

//! A scratch copy of the workspace: exactly its files, kept in sync cheaply.
//!
//! The wrong-answer check and `grade --submission` both grade in a tree of
//! their own, never in the instructor's workspace, each with its own target
//! directory (two trees sharing one makes cargo take a patched build for fresh).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The one scratch copy of the workspace. The wrong-answer check and
/// `grade --submission` share it (one at a time), and [`sync_tree`] makes it
/// pristine before every use: a file that changed is rewritten (so cargo sees a
/// new mtime and rebuilds its crate), one that did not keeps its mtime.
pub const SCRATCH_TREE: &str = "target/scratch/tree";

/// The scratch tree's own target directory, shared by its uses so that the
/// dependencies build once.
pub const SCRATCH_TARGET: &str = "target/scratch/target";

/// The workspace's own files: tracked, plus new ones not ignored (so a change
/// not committed yet is checked too). Deleted files are left out.
pub fn tracked_files(workspace: &Path) -> anyhow::Result<Vec<PathBuf>> {
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

/// Make the scratch tree hold exactly `files`, as they are in `workspace`:
/// a file that differs is rewritten, one that is the same keeps its
/// modification time (so cargo does not rebuild its crate), and one that is not
/// in the list is removed (its own `target/` aside).
pub fn sync_tree(workspace: &Path, scratch: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
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
    let wanted: BTreeSet<&Path> = files.iter().map(PathBuf::as_path).collect();
    remove_others(scratch, Path::new(""), &wanted)
}

/// Remove every file under `scratch/dir` that is not `wanted`.
fn remove_others(scratch: &Path, dir: &Path, wanted: &BTreeSet<&Path>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(scratch.join(dir)) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry?;
        let relative = dir.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if relative != Path::new("target") {
                remove_others(scratch, &relative, wanted)?;
                // A folder left empty (a crate removed from the workspace)
                // would still match a `labs/*` member glob and break the build.
                if std::fs::read_dir(entry.path())?.next().is_none() {
                    std::fs::remove_dir(entry.path())?;
                }
            }
        } else if !wanted.contains(relative.as_path()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

//! `cargo dev check`'s proof that `harness/workspace-hack` is complete: every
//! package, built on its own (`cargo run -p lab-4-1`, `cargo grade`), asks for
//! each dependency with a feature set the whole workspace build (`cargo test`)
//! also uses, so neither command recompiles what the other built.
//!
//! Cargo compiles a crate once per feature set; `cargo tree -f '{p} [{f}]'`
//! prints the set each node is resolved with (a crate built for both the host
//! and the target can show two). A package's set that the workspace does not
//! have is a dependency that `cargo run -p <package>` would build a second time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::dev_check::Problem;

/// `name version` → every feature set it is resolved with.
type FeatureSets = BTreeMap<String, BTreeSet<String>>;

/// One `cargo tree` of `selection`, dependencies only (workspace crates aside).
fn feature_sets(root: &Path, selection: &[&str]) -> Result<FeatureSets, String> {
    let output = crate::child_cargo::cargo()
        .current_dir(root)
        .args(["tree", "-f", "{p} [{f}]", "--prefix", "none"])
        .args(selection)
        .output()
        .map_err(|error| format!("cannot run cargo tree: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree {} failed: {}",
            selection.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(parse_tree(&text, &format!("({}", root.display())))
}

/// Parse `name vX.Y.Z [f1,f2] (*)` lines; the workspace's own crates (their
/// path starts with `member_prefix`) are skipped.
fn parse_tree(text: &str, member_prefix: &str) -> FeatureSets {
    let mut sets = FeatureSets::new();
    for line in text.lines() {
        let Some((package, rest)) = line.split_once(" [") else {
            continue;
        };
        let Some((features, _)) = rest.split_once(']') else {
            continue;
        };
        if package.contains(member_prefix) {
            continue;
        }
        sets.entry(package.trim().to_string())
            .or_default()
            .insert(features.to_string());
    }
    sets
}

/// The packages whose own feature sets are missing from the workspace build.
pub fn check_feature_unification(root: &Path, packages: &[String]) -> Vec<Problem> {
    let workspace = match feature_sets(root, &["--workspace", "-e", "normal,build,dev"]) {
        Ok(sets) => sets,
        Err(problem) => {
            return vec![Problem {
                lab: "workspace".into(),
                problem,
            }]
        }
    };
    let mut problems = Vec::new();
    for package in packages {
        let own = match feature_sets(root, &["-p", package, "-e", "normal,build"]) {
            Ok(sets) => sets,
            Err(problem) => {
                problems.push(Problem {
                    lab: package.clone(),
                    problem,
                });
                continue;
            }
        };
        for (dependency, sets) in &own {
            let shared = workspace.get(dependency);
            for features in sets {
                if !shared.is_some_and(|s| s.contains(features)) {
                    problems.push(Problem {
                        lab: package.clone(),
                        problem: format!(
                            "{dependency} is built with [{features}] for `-p {package}` but with {} by the whole workspace: \
                             add its missing features to harness/workspace-hack/Cargo.toml, or `cargo run -p {package}` and `cargo test` rebuild it (and all above it)",
                            shared
                                .map(|s| s.iter().map(|f| format!("[{f}]")).collect::<Vec<_>>().join(" and "))
                                .unwrap_or_else(|| "none".into())
                        ),
                    });
                }
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_sets_are_read_per_crate_and_workspace_crates_skipped() {
        let sets = parse_tree(
            "lab-4-1 v0.1.0 (/work/main/labs/lab-4-1) []\n\
             tokio v1.54.1 [default,rt]\n\
             tokio v1.54.1 [default,rt] (*)\n\
             syn v2.0.1 [full]\n\
             syn v2.0.1 [derive]\n",
            "(/work/main",
        );
        assert_eq!(sets.len(), 2, "{sets:?}");
        assert_eq!(sets["tokio v1.54.1"].len(), 1);
        assert_eq!(sets["syn v2.0.1"].len(), 2);
    }

    /// A real `cargo tree` on a tiny workspace: `a` asks for fewer features of
    /// a dependency than the workspace build does, and the check names it.
    #[test]
    fn a_package_that_would_rebuild_a_dependency_is_named() {
        let root = std::env::temp_dir().join(format!("feature-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let manifest = |dir: &str, body: &str| {
            std::fs::create_dir_all(root.join(dir).join("src")).unwrap();
            std::fs::write(root.join(dir).join("src/lib.rs"), "").unwrap();
            std::fs::write(root.join(dir).join("Cargo.toml"), body).unwrap();
        };
        let package = |name: &str, deps: &str| {
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}\n")
        };
        manifest("dep", "[package]\nname = \"dep\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[features]\nsmall = []\nbig = []\n");
        let ws = root.join("ws");
        manifest(
            "ws/a",
            &package(
                "a",
                "dep = { path = \"../../dep\", features = [\"small\"] }",
            ),
        );
        manifest(
            "ws/b",
            &package("b", "dep = { path = \"../../dep\", features = [\"big\"] }"),
        );
        std::fs::write(
            ws.join("Cargo.toml"),
            "[workspace]\nresolver = \"2\"\nmembers = [\"a\", \"b\"]\n",
        )
        .unwrap();
        let problems = check_feature_unification(&ws, &["a".to_string(), "b".to_string()]);
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0]
                .problem
                .contains("is built with [small] for `-p a` but with [big,small]"),
            "{problems:?}"
        );
        assert!(
            problems[0]
                .problem
                .contains("harness/workspace-hack/Cargo.toml"),
            "{problems:?}"
        );
    }
}

//! Every `cargo` the grader and `dev` start, with the environment a user's shell
//! would give it.
//!
//! `cargo grade` is `cargo run … --bin grade`, and `cargo run` hands the program
//! it runs variables describing the *grader's* package (`CARGO_MANIFEST_DIR`,
//! `CARGO_PKG_NAME`, …) and a longer `LD_LIBRARY_PATH`. A nested `cargo test`
//! that inherits them sees a different build environment: build scripts that
//! track `CARGO_MANIFEST_DIR` (ring's, for one) rerun, and everything above them
//! rebuilds, once for the grade and once more for the next plain `cargo run`.
//! So no child cargo is started any other way than through [`cargo`].

use std::ffi::OsString;
use std::process::Command;

/// Variables `cargo run` sets for the program it runs (besides `CARGO_PKG_*`).
const CARGO_RUN_VARIABLES: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// A `cargo` command (the same cargo that runs us, when `cargo run` told us
/// which), with [`clean_environment`] applied.
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    clean_environment(&mut command, std::env::vars_os());
    command
}

/// Remove from `command` what `cargo run` added to `parent` (the variables
/// above and `CARGO_PKG_*`), and take back the directories it put in front of
/// `LD_LIBRARY_PATH` (the target directory and the toolchain's libraries).
pub fn clean_environment(
    command: &mut Command,
    parent: impl IntoIterator<Item = (OsString, OsString)>,
) {
    for (name, value) in parent {
        let name_text = name.to_string_lossy();
        if CARGO_RUN_VARIABLES.contains(&name_text.as_ref()) || name_text.starts_with("CARGO_PKG_")
        {
            command.env_remove(&name);
        } else if name_text == "LD_LIBRARY_PATH" {
            match user_library_path(&value) {
                Some(kept) => command.env(&name, kept),
                None => command.env_remove(&name),
            };
        }
    }
}

/// `LD_LIBRARY_PATH` without the entries `cargo run` prepends (those under a
/// `target/` directory or a rustup toolchain); `None` if nothing is left.
fn user_library_path(value: &OsString) -> Option<OsString> {
    let kept: Vec<_> = std::env::split_paths(value)
        .filter(|dir| {
            let text = dir.to_string_lossy();
            !(text.contains("/target/")
                || text.ends_with("/target")
                || text.contains("/toolchains/"))
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    std::env::join_paths(kept).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(command: &Command) -> Vec<(String, Option<String>)> {
        let mut pairs: Vec<_> = command
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn what_cargo_run_added_is_taken_back_and_the_rest_is_kept() {
        let parent = [
            ("CARGO_MANIFEST_DIR", "/work/main/harness/grader"),
            ("CARGO_PKG_NAME", "grader"),
            ("CARGO_HOME", "/root/.cargo"),
            ("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            (
                "LD_LIBRARY_PATH",
                "/work/main/target/debug/deps:/opt/lib:/root/.rustup/toolchains/stable/lib",
            ),
        ]
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let mut command = Command::new("cargo");
        clean_environment(&mut command, parent);
        assert_eq!(
            env_of(&command),
            vec![
                ("CARGO_MANIFEST_DIR".into(), None),
                ("CARGO_PKG_NAME".into(), None),
                ("LD_LIBRARY_PATH".into(), Some("/opt/lib".into())),
            ]
        );
    }

    #[test]
    fn a_library_path_of_cargo_s_entries_only_is_removed() {
        let parent = [(
            OsString::from("LD_LIBRARY_PATH"),
            OsString::from("/work/main/target/debug:/root/.rustup/toolchains/x/lib"),
        )];
        let mut command = Command::new("cargo");
        clean_environment(&mut command, parent);
        assert_eq!(env_of(&command), vec![("LD_LIBRARY_PATH".into(), None)]);
    }
}

//! Member processes: how a scenario starts them, stops them (SIGTERM: a
//! graceful leave) and kills them (SIGKILL: a crash).
//!
//! A member is a real process, so a kill is a real crash: no revoke handler, no
//! last commit, no goodbye to the group; the group only notices when the
//! member's session times out. The process is either this very binary run again
//! (`cargo run -p lab-4-5`: its `main` serves a member when
//! [`MEMBER_ENV`] is set), or the criteria's test binary run on one ignored test.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::Context;
use lab_4_5_kit::member::{ChildMember, MEMBER_ENV};

/// How to start a member process.
#[derive(Debug, Clone)]
pub struct Launcher {
    program: PathBuf,
    args: Vec<String>,
}

impl Launcher {
    /// This binary again, with no arguments (its `main` checks [`MEMBER_ENV`] first).
    pub fn this_binary() -> anyhow::Result<Launcher> {
        Ok(Launcher {
            program: std::env::current_exe().context("finding this binary")?,
            args: Vec::new(),
        })
    }

    /// This test binary again, on the ignored test `test` alone.
    pub fn test_child(test: &str) -> anyhow::Result<Launcher> {
        Ok(Launcher {
            program: std::env::current_exe().context("finding the test binary")?,
            args: [
                "--exact",
                test,
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ]
            .map(String::from)
            .to_vec(),
        })
    }

    fn spawn(&self, member: &ChildMember, log: &Path) -> anyhow::Result<Child> {
        let log_file = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        Command::new(&self.program)
            .args(&self.args)
            .env(MEMBER_ENV, serde_json::to_string(member)?)
            // The members' own lines (one per assignment and revocation) go to
            // their log file; the scenario prints the timeline instead.
            .env(
                "RUST_LOG",
                std::env::var("LAB45_MEMBER_LOG").unwrap_or("info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting member {}", member.config.member))
    }
}

/// The scenario's running members, by name. Dropping it kills what is left.
pub struct Members {
    launcher: Launcher,
    logs: PathBuf,
    running: BTreeMap<String, Child>,
}

impl Members {
    pub fn new(launcher: Launcher, logs: PathBuf) -> anyhow::Result<Members> {
        std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
        Ok(Members {
            launcher,
            logs,
            running: BTreeMap::new(),
        })
    }

    pub fn logs(&self) -> &Path {
        &self.logs
    }

    pub fn start(&mut self, member: &ChildMember) -> anyhow::Result<()> {
        let name = member.config.member.clone();
        let log = self.logs.join(format!("{name}.log"));
        let child = self.launcher.spawn(member, &log)?;
        self.running.insert(name, child);
        Ok(())
    }

    /// Has `name` exited already (by itself: a crash, a fatal error)?
    pub fn exited(&mut self, name: &str) -> Option<String> {
        let child = self.running.get_mut(name)?;
        match child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "{status}; its log: {}",
                self.logs.join(format!("{name}.log")).display()
            )),
            _ => None,
        }
    }

    /// SIGTERM: leave the group gracefully (the revoke handler runs). Waits for
    /// the process to exit, at most `deadline`, then kills it.
    pub async fn stop(&mut self, name: &str, deadline: Duration) -> anyhow::Result<()> {
        let Some(mut child) = self.running.remove(name) else {
            anyhow::bail!("no running member {name}");
        };
        signal(&child, libc::SIGTERM);
        let exited = harness::wait::until(
            &format!("member {name} to leave after SIGTERM"),
            deadline,
            Duration::from_millis(20),
            || match child.try_wait() {
                Ok(Some(status)) => Ok(Ok(status)),
                Ok(None) => Err(String::from("still running")),
                Err(error) => Ok(Err(error)),
            },
        )
        .await;
        match exited {
            Ok(_) => Ok(()),
            Err(timed_out) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(anyhow::anyhow!("{timed_out} (killed it)"))
            }
        }
    }

    /// SIGSTOP (`paused`) or SIGCONT: the whole process freezes, its heartbeat
    /// thread with it, as in a long garbage-collection pause or a stalled VM.
    pub fn freeze(&mut self, name: &str, paused: bool) -> anyhow::Result<()> {
        let Some(child) = self.running.get(name) else {
            anyhow::bail!("no running member {name}");
        };
        signal(child, if paused { libc::SIGSTOP } else { libc::SIGCONT });
        Ok(())
    }

    /// SIGKILL: a crash.
    pub fn kill(&mut self, name: &str) -> anyhow::Result<()> {
        let Some(mut child) = self.running.remove(name) else {
            anyhow::bail!("no running member {name}");
        };
        child.kill().context("sending SIGKILL")?;
        let _ = child.wait();
        Ok(())
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        for child in self.running.values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &Child, signal: libc::c_int) {
    // The pid is our own child's, which has not been waited for: it cannot have
    // been reused by another process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
}

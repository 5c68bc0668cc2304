//! `cargo dev check`: the maintainers' check that every lab has the shape
//! `info.toml` promises (see `grader::dev_check`). CI runs it.
//!
//! ```text
//! cargo dev check              # shapes, files, markers (seconds)
//! cargo dev check --exercises  # then: starters fail, solutions pass (minutes, needs a broker)
//! ```
//!
//! It changes nothing; it exits non-zero on the first broken promise it reports.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Maintainers' checks of the workshop's own shape")]
struct Args {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Every lab has the shape info.toml promises.
    Check {
        /// Also prove every starter fails its graded criteria and every solution
        /// passes (runs `grade --all --check-exercises`).
        #[arg(long)]
        exercises: bool,
    },
}

fn main() -> ExitCode {
    let Commands::Check { exercises } = Args::parse().command;
    let problems = grader::dev_check::check_workspace();
    if !problems.is_empty() {
        for problem in &problems {
            println!("✗ {}: {}", problem.lab, problem.problem);
        }
        println!("dev check: {} problem(s)", problems.len());
        return ExitCode::FAILURE;
    }
    let labs = grader::info::Info::load().labs.len();
    println!("dev check: {labs} labs have the shape info.toml promises (files, markers, student crates, dependencies)");
    if !exercises {
        return ExitCode::SUCCESS;
    }
    let status = grader::child_cargo::cargo()
        .args([
            "run",
            "-q",
            "-p",
            "grader",
            "--bin",
            "grade",
            "--",
            "--all",
            "--check-exercises",
        ])
        .status();
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("dev check: could not run grade: {error}");
            ExitCode::from(2)
        }
    }
}

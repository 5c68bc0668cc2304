//! `grade`: the instructor's command. Runs a lab's criteria against the student's
//! starter (or the reference solution) and writes a scorecard.
//!
//! ```text
//! cargo grade lab-4-1                 # grade labs/lab-4-1
//! cargo grade --all --target solution # check the solutions
//! cargo grade --all --check-exercises # CI: starters fail, solutions pass
//! cargo grade --all --check-wrong-answers # CI: the grader catches known mistakes
//! cargo grade lab-4-3 --submission ../alice  # a student's checkout, graded in a pristine tree
//! ```
//!
//! With `--submission`, only the files `info.toml` names as the student's are
//! taken from the checkout (a directory, or anything `git clone` takes); they are
//! graded in a pristine copy of this workspace, and every other change in the
//! checkout is listed on the scorecard as ignored (see `grader::submission`).
//!
//! It runs `cargo test --test <lab test>` with `LAB_TARGET` set, then reads each
//! criterion's verdict and writes `scorecard/<target>/scorecard.{md,json}`. The
//! broker is the one `cargo run` would find (`KAFKA_BOOTSTRAP_SERVERS`, else
//! `localhost:9092`), named before the tests run and handed to them; with none,
//! the tests' own ladder (testcontainers, else the mock). The scorecard records
//! the broker the tests used and the Kafka version it reported (`grader::grade_broker`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Parser;
use grader::grade_broker::GradeBroker;
use grader::grader_check::{criteria_command, WrongAnswerResult};
use grader::grading::{read_verdicts, Info, LabInfo, Target};
use grader::scorecard::{libtest_reported_ok, score_line, write_scorecard, ScoreLine};
use harness::measure::summary::table;

#[derive(Parser)]
#[command(about = "Grade labs against the criteria in info.toml and write a scorecard")]
struct Args {
    /// Labs to grade (ids from info.toml, e.g. lab-4-1).
    labs: Vec<String>,
    /// Grade every lab in info.toml.
    #[arg(long)]
    all: bool,
    /// `starter` (labs/, the student's work) or `solution` (solutions/).
    #[arg(long, default_value = "starter", value_parser = parse_target)]
    target: Target,
    /// CI mode: prove every solution passes every criterion and every pristine
    /// starter fails each graded criterion (and passes the observations).
    #[arg(long)]
    check_exercises: bool,
    /// CI mode: apply each wrong answer of info.toml (tests/wrong_answers/) to a
    /// scratch copy of the workspace and prove its criterion fails on it.
    #[arg(long, conflicts_with_all = ["check_exercises", "target"])]
    check_wrong_answers: bool,
    /// Grade a student's checkout (a directory or a git URL/path): take only the
    /// student's files from it and grade them in a pristine copy of this workspace.
    #[arg(long, conflicts_with_all = ["check_exercises", "check_wrong_answers", "target"])]
    submission: Option<String>,
    /// Where scorecards go.
    #[arg(long, default_value = "scorecard")]
    out: PathBuf,
}

fn parse_target(text: &str) -> Result<Target, String> {
    Target::parse(text).ok_or_else(|| format!("{text:?}: expected `starter` or `solution`"))
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("grade: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<bool> {
    let args = Args::parse();
    let info = Info::load();
    let labs: Vec<&LabInfo> = if args.all {
        info.labs.iter().collect()
    } else {
        if args.labs.is_empty() {
            bail!(
                "name a lab ({}) or pass --all",
                info.labs
                    .iter()
                    .map(|l| l.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        args.labs
            .iter()
            .map(|id| {
                info.lab(id)
                    .with_context(|| format!("info.toml has no lab {id:?}"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    if args.check_wrong_answers {
        return check_wrong_answers(&labs, &args.out);
    }
    let root = grader::grading::workspace_root();
    let broker = GradeBroker::choose()?;
    if let Some(source) = &args.submission {
        let submission = grader::submission::prepare(&root, &labs, source)?;
        eprintln!(
            "grading a submission from {source}: took {}; {} other change(s) ignored",
            submission.taken.join(", "),
            submission.ignored.len()
        );
        let tree = Tree {
            root: submission.tree.clone(),
            target_dir: Some(submission.target_dir.clone()),
            scorecard: "submission",
            ignored: submission.ignored.iter().map(ToString::to_string).collect(),
        };
        let lines = grade(&tree, &labs, Target::Starter, &broker, &args.out)?;
        return Ok(lines.iter().all(|line| line.passed));
    }
    let here = Tree::workspace(root);
    if args.check_exercises {
        let solutions = grade(&here, &labs, Target::Solution, &broker, &args.out)?;
        let starters = grade(&here, &labs, Target::Starter, &broker, &args.out)?;
        let mut ok = true;
        for line in &solutions {
            if !line.passed {
                eprintln!("✗ solution fails {} · {}", line.lab, line.criterion);
                ok = false;
            }
        }
        for line in &starters {
            let expected_to_pass = line.kind.starter_passes();
            if line.passed != expected_to_pass {
                eprintln!(
                    "✗ pristine starter {} {} · {} ({:?}): the exercise is not real",
                    if line.passed { "passes" } else { "fails" },
                    line.lab,
                    line.criterion,
                    line.kind
                );
                ok = false;
            }
        }
        println!(
            "{}",
            if ok {
                "check-exercises: every solution passes; every starter fails its graded criteria and passes its observations and guards"
            } else {
                "check-exercises: FAILED (see above)"
            }
        );
        return Ok(ok);
    }
    let lines = grade(&here, &labs, args.target, &broker, &args.out)?;
    Ok(lines.iter().all(|line| line.passed))
}

/// Prove every wrong answer of `labs` is caught; print and write the report.
fn check_wrong_answers(labs: &[&LabInfo], out: &Path) -> anyhow::Result<bool> {
    let root = grader::grading::workspace_root();
    let results = grader::grader_check::check_wrong_answers(&root, labs, out)?;
    if results.is_empty() {
        // Nothing to check is not a pass.
        bail!("info.toml lists no [[lab.wrong_answer]] for these labs: nothing was checked");
    }
    let mut terminal = table(&["wrong answer", "criterion", "caught", "verdict"]);
    let mut markdown = String::from(
        "# Wrong answers the grader must catch\n\n| lab | wrong answer | mistake | criterion | caught | verdict |\n|---|---|---|---|---|---|\n",
    );
    for WrongAnswerResult {
        lab,
        wrong_answer,
        caught,
        detail,
        log,
    } in &results
    {
        let mark = if *caught {
            "✅ caught"
        } else {
            "❌ NOT caught"
        };
        let shown: String = detail.chars().take(240).collect();
        terminal.add_row(vec![
            &wrong_answer.id,
            &wrong_answer.criterion,
            mark,
            &shown,
        ]);
        markdown.push_str(&format!(
            "| {lab} | {} | {} | {} | {mark} | {} (log: {}) |\n",
            wrong_answer.id,
            wrong_answer.mistake,
            wrong_answer.criterion,
            detail.replace('|', "\\|").replace('\n', " "),
            log.display()
        ));
    }
    let caught = results.iter().filter(|r| r.caught).count();
    println!(
        "{terminal}\ncheck-wrong-answers: {caught} of {} wrong answers caught",
        results.len()
    );
    let dir = out.join("wrong-answers");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("report.md"), markdown)?;
    eprintln!("report written to {}", dir.join("report.md").display());
    Ok(caught == results.len())
}

/// Where a grade is taken: the workspace itself, or a submission's pristine tree.
struct Tree {
    root: PathBuf,
    /// A target directory of its own (a scratch tree must not share the workspace's).
    target_dir: Option<PathBuf>,
    /// The scorecard's folder under `--out`: the target's name, or `submission`.
    scorecard: &'static str,
    /// Warnings for the scorecard: what the submission changed that was not graded.
    ignored: Vec<String>,
}

impl Tree {
    fn workspace(root: PathBuf) -> Tree {
        Tree {
            root,
            target_dir: None,
            scorecard: "",
            ignored: Vec::new(),
        }
    }
}

/// Run the labs' criteria against `target`, print and write the scorecard.
fn grade(
    tree: &Tree,
    labs: &[&LabInfo],
    target: Target,
    broker: &GradeBroker,
    out: &Path,
) -> anyhow::Result<Vec<ScoreLine>> {
    let root = &tree.root;
    let scorecard = if tree.scorecard.is_empty() {
        target.as_str()
    } else {
        tree.scorecard
    };
    let verdict_dir = root
        .join("target")
        .join("grading")
        .join(format!("grade-{}", target.as_str()));
    let mut lines = Vec::new();
    let mut brokers = Vec::new();
    for lab in labs {
        // Stale verdicts must never be read as this run's: fail if they stay.
        let stale = verdict_dir.join(&lab.id);
        if stale.exists() {
            std::fs::remove_dir_all(&stale)
                .with_context(|| format!("removing stale verdicts in {}", stale.display()))?;
        }
        let log_path = out.join(scorecard).join(format!("{}.log", lab.id));
        std::fs::create_dir_all(log_path.parent().unwrap_or(out))?;
        eprintln!(
            "grading {} ({}) against the {}: cargo test --test {} ...",
            lab.id,
            lab.title,
            target.as_str(),
            lab.test
        );
        let log = std::fs::File::create(&log_path)?;
        // Every criterion runs its own pipeline and mostly waits on the broker,
        // so they run side by side; against a starter most of them wait out a
        // deadline, and one at a time would take many minutes.
        let mut command = criteria_command(
            root,
            &lab.test,
            target,
            &verdict_dir,
            &["--test-threads", "8"],
        );
        if let Some(target_dir) = &tree.target_dir {
            command.env("CARGO_TARGET_DIR", target_dir);
        }
        broker.prepare(&mut command, &verdict_dir)?;
        let status = command
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .context("running cargo test")?;
        eprintln!(
            "  cargo test exited with {status}; full output in {}",
            log_path.display()
        );
        let used = broker.used(&verdict_dir);
        eprintln!(
            "  the tests graded against {} ({})",
            used.broker, used.kafka_version
        );
        brokers.push((lab.id.clone(), used));
        let log_text = std::fs::read_to_string(&log_path).unwrap_or_default();
        for (criterion, verdict) in read_verdicts(&verdict_dir, lab) {
            let mut line = score_line(lab, &criterion, verdict, &log_path);
            // A verdict file is written by code that runs beside the student's;
            // a pass counts only if the test harness itself reported the test ok.
            if line.passed && !libtest_reported_ok(&log_text, &criterion.id) {
                line.passed = false;
                line.message = format!(
                    "the verdict file says passed, but cargo test did not report `{} ... ok` (see {})",
                    criterion.id,
                    log_path.display()
                );
            }
            lines.push(line);
        }
    }
    write_scorecard(&lines, scorecard, &brokers, &tree.ignored, out)?;
    Ok(lines)
}

//! Lab 4.5's criteria: consumer group rebalancing, strategy by strategy.
//!
//! Every criterion runs against the solution in plain `cargo test`, and against
//! the student's `labs/lab-4-5` with:
//!
//! ```text
//! cargo grade lab-4-5
//! ```
//!
//! Each strategy's run (members as real processes, scaled 1 → 2 → 3 → 2 → 1
//! under a steady producer: see `lab_4_5_criteria::scenario`) is made once per
//! test binary and shared by the criteria, which judge it from the members'
//! events and the outcome records: the lab is a black box. The embedded mock
//! cannot show the eager strategies, the consumer protocol or static
//! membership as Kafka runs them (`Strategy::mock_limits`): there, only
//! cooperative-sticky runs, the criteria that need more say so in one line,
//! and CI checks them all on Apache Kafka.
//!
//! This binary is also the members' program (`rebalance_member_child_process`):
//! each member is at-least-once once the exercise is right, and what a member
//! killed with SIGKILL processed since its last commit is redone by the next owner.

use grader::broker::shared_test_broker;
use grader::grading::Criterion;
use lab_4_5_criteria::analysis::Analysis;
use lab_4_5_criteria::checks::{self as verdicts, Check};
use lab_4_5_criteria::members::Launcher;
use lab_4_5_criteria::{scenario, session};
use lab_4_5_kit::Strategy;
use tokio::sync::OnceCell;

const LAB: &str = "lab-4-5";

/// The ignored test a member process runs (this binary, started again).
const CHILD_TEST: &str = "rebalance_member_child_process";

/// One `#[tokio::test]` per criterion. Unlike the other labs' criteria, these
/// are not generic over the exercise: the implementation under test runs in the
/// member processes, which pick the starter or the solution from the same
/// `LAB_TARGET` as this process ([`rebalance_member_child_process`]).
macro_rules! criteria {
    ($($name:ident: $strategies:expr => $verdict:path, on the mock $mock:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            let mut criterion = Criterion::start(LAB, stringify!($name));
            let analyses = analyses(&mut criterion, &$strategies).await;
            judge(criterion, $verdict(&analyses), $mock).await;
        }
    )*};
}

criteria! {
    nothing_lost_across_scale_events: Strategy::ALL => verdicts::nothing_lost, on the mock None;
    duplicates_bounded_by_in_flight_at_revoke:
        Strategy::ALL => verdicts::duplicates_bounded,
        on the mock Some(lab_4_5_kit::MOCK_COMMITS_UNRELIABLE);
    no_zombie_writes: Strategy::ALL => verdicts::no_zombie_writes, on the mock None;
    unmoved_partitions_keep_flowing_when_incremental:
        [Strategy::CooperativeSticky, Strategy::ConsumerProtocol] => verdicts::unmoved_keep_flowing,
        on the mock None;
    eager_rebalances_revoke_every_partition:
        [Strategy::Range, Strategy::Roundrobin] => verdicts::eager_stops_everything,
        on the mock Strategy::Range.mock_limits();
    static_restart_moves_no_partitions:
        Strategy::ALL => verdicts::static_restart_moves_nothing,
        on the mock Some(lab_4_5_kit::MOCK_HAS_NO_STATIC_MEMBERSHIP);
}

/// Seed 003's troubleshooting, measured on its own runs (not a strategy's):
/// a member frozen longer than a short session, then under a long one.
#[tokio::test(flavor = "multi_thread")]
async fn short_session_timeout_causes_repeated_rebalances() {
    let mut criterion = Criterion::start(LAB, "short_session_timeout_causes_repeated_rebalances");
    let broker = shared_test_broker().await;
    let mut runs = Vec::new();
    if broker.kind.is_real_kafka() {
        for session_ms in [session::SHORT_SESSION_MS, session::LONG_SESSION_MS] {
            let run = match Launcher::test_child(CHILD_TEST) {
                Ok(launcher) => session::run(broker, launcher, session_ms).await,
                Err(error) => Err(error),
            };
            match run {
                Ok(run) => runs.push(run),
                Err(error) => criterion.expect(
                    false,
                    format!("the run with session.timeout.ms {session_ms} ms to complete"),
                    format!("{error:#}"),
                ),
            }
        }
    }
    judge(
        criterion,
        verdicts::short_session_rebalances(&runs),
        Some(session::MOCK_NOT_TRIED),
    )
    .await;
}

/// A member process of the scenario: this binary run again on this test
/// alone, its configuration in the environment. Ignored in a plain `cargo
/// test`, where it has nothing to do.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a member process of the Lab 4.5 scenario, started by it"]
async fn rebalance_member_child_process() {
    let served = match grader::grading::target() {
        grader::grading::Target::Starter => {
            lab_4_5_kit::member::serve_from_env::<lab_4_5::Starter>().await
        }
        grader::grading::Target::Solution => {
            lab_4_5_kit::member::serve_from_env::<lab_4_5_solution::Solution>().await
        }
    };
    if let Some(Err(error)) = served {
        panic!("the member stopped: {error:#}");
    }
}

/// Each strategy's run, made once (by whichever criterion asks first).
static RUNS: [OnceCell<Result<Analysis, String>>; 4] = [
    OnceCell::const_new(),
    OnceCell::const_new(),
    OnceCell::const_new(),
    OnceCell::const_new(),
];

/// The analyses of `strategies` (made now if no criterion made them yet), and
/// notes for the strategies this broker cannot run.
async fn analyses(criterion: &mut Criterion, strategies: &[Strategy]) -> Vec<Analysis> {
    let broker = shared_test_broker().await;
    let mut analyses = Vec::new();
    for &strategy in strategies {
        if let (Some(why), false) = (strategy.mock_limits(), broker.kind.is_real_kafka()) {
            criterion.note(format!(
                "{strategy}: not run on the embedded mock ({why}); CI runs it on Apache Kafka"
            ));
            continue;
        }
        let index = Strategy::ALL
            .iter()
            .position(|s| *s == strategy)
            .unwrap_or(0);
        let run = RUNS[index]
            .get_or_init(|| async {
                let launcher = Launcher::test_child(CHILD_TEST).map_err(|e| format!("{e:#}"))?;
                scenario::run(broker, strategy, launcher)
                    .await
                    .map(|observed| Analysis::of(&observed))
                    .map_err(|error| format!("the {strategy} run failed: {error:#}"))
            })
            .await;
        match run {
            Ok(analysis) => analyses.push(analysis.clone()),
            Err(error) => criterion.expect(false, format!("the {strategy} run to complete"), error),
        }
    }
    analyses
}

/// Apply a check: "not checked" is a failure too (nothing to check is never a
/// pass), except where the embedded mock cannot run what it needs: then the
/// criterion says so in one line, as the issue asks, and CI checks it on Kafka.
async fn judge(mut criterion: Criterion, check: Check, mock_reason: Option<&str>) {
    if let (Some(why), false) = (mock_reason, shared_test_broker().await.kind.is_real_kafka()) {
        criterion.note(format!(
            "skipped on the embedded mock: {why}; CI checks it on Apache Kafka"
        ));
        return;
    }
    match check.holds {
        Some(holds) => {
            if holds {
                criterion.note(check.observed.trim());
            }
            criterion.expect(holds, check.expected, check.observed.trim());
        }
        None => criterion.expect(
            false,
            check.expected,
            format!("nothing to check: {}", check.observed.trim()),
        ),
    }
}

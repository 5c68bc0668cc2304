//! Throughput above a floor: the windowed consumer at zero processing cost and
//! 30% failures, as a ratio to the fair baseline (consume, produce one record
//! per payment, commit after the acks) measured on the same broker in the same
//! run. The floor sits far below the target (which lives in the report and the
//! bench), so a busy machine does not fail a right answer.

use super::*;
use lab_4_6_criteria::scenario::{FAILURE_RATE, THROUGHPUT_FLOOR};
use lab_4_6_criteria::throughput::measure;

pub async fn throughput_above_the_floor<E: Exercise>(mut criterion: Criterion) {
    let broker = shared_test_broker().await;
    let measured = measure::<E>(broker, FAILURE_RATE).await.unwrap();
    criterion.note(measured.one_line());
    criterion.expect(
        measured.ratio() >= THROUGHPUT_FLOOR,
        format!(
            "the windowed consumer at {:.0}% failures to reach {THROUGHPUT_FLOOR} of the fair baseline measured in the same run",
            FAILURE_RATE * 100.0
        ),
        measured.one_line(),
    );
}

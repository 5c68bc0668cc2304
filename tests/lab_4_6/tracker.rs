//! The tracker against a model: never past an unfinished record, always the
//! whole finished prefix (gaps, out-of-order finishes, revocations).

use super::*;
use lab_4_6_criteria::properties;

pub async fn tracker_commits_exactly_the_finished_prefix<E: Exercise>(mut criterion: Criterion) {
    match properties::check::<E::Tracker>() {
        Ok(covered) => criterion.note(format!(
            "{} named scripts and {} random interleavings of starts, finishes and revocations: every committable offset matched the model",
            covered.named, covered.random
        )),
        Err(violation) => criterion.expect(
            false,
            format!(
                "the tracker {}: after [{}], {}",
                violation.property,
                violation.script.join(", "),
                violation.expected
            ),
            violation.observed,
        ),
    }
}

//! What the labs' criteria files share (`mod common;` in each).

/// One `#[tokio::test]` per criterion, dispatched to the starter or the
/// solution by `grader::grading::target()`:
///
/// ```text
/// common::criteria!(LAB, lab_4_2::Starter, lab_4_2_solution::Solution; a, b, c);
/// ```
///
/// The body of criterion `a` is `checks::a::<E: Exercise>(criterion)`.
macro_rules! criteria {
    ($lab:expr, $starter:ty, $solution:ty; $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            let criterion = grader::grading::Criterion::start($lab, stringify!($name));
            match criterion.target() {
                grader::grading::Target::Starter => checks::$name::<$starter>(criterion).await,
                grader::grading::Target::Solution => checks::$name::<$solution>(criterion).await,
            }
        }
    )*};
}
pub(crate) use criteria;

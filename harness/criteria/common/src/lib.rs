//! # criteria: the judgement every lab shares
//!
//! What a grader believes about a run, as opposed to what a lab does at run time
//! (`harness`) or how grades are recorded (`grader`). Each lab's own judgement
//! (its scenario, ground truth, verdicts, thresholds and checklist) is a crate of
//! its own beside this one, `harness/criteria/lab-4-N`, so that a lab's
//! self-check binary and its graded criteria run the same code.
//!
//! | module | concern |
//! |---|---|
//! | [`ledger`] | exact accounting: processed, dead-lettered, lost; where each record must go |
//! | [`next`] | the `next: ...` line every lab's run ends with (the file to edit, the command to run) |

pub mod ledger;
pub mod next;

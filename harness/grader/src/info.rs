//! `info.toml`: the one home of every lab's metadata, hints, criteria, student
//! files and wrong answers, compiled in so every test and binary agrees on it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The whole `info.toml`, compiled in so every test and binary agrees on it.
pub const INFO_TOML: &str = include_str!("../../../info.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Info {
    #[serde(rename = "lab")]
    pub labs: Vec<LabInfo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LabInfo {
    pub id: String,
    pub title: String,
    pub seed: String,
    pub starter: String,
    pub solution: String,
    /// The lab's given code (a crate generic over the lab's `Exercise` trait).
    pub kit: String,
    /// The lab's judgement (scenario, truth, verdicts, checklist).
    pub criteria_crate: String,
    /// The files that are the student's work, relative to the starter (and the
    /// solution) directory. `grade --submission` takes these, and only these,
    /// from a student's checkout.
    pub student_files: Vec<String>,
    /// Files a solution crate may hold beyond the student's shape (report binaries).
    #[serde(default)]
    pub solution_extras: Vec<String>,
    /// The integration test (tests/<test>.rs, or tests/<test>/main.rs) that holds the criteria.
    pub test: String,
    #[serde(rename = "criterion")]
    pub criteria: Vec<CriterionInfo>,
    /// Wrong answers the criteria must catch (`grade --check-wrong-answers`).
    #[serde(default, rename = "wrong_answer")]
    pub wrong_answers: Vec<WrongAnswer>,
}

/// A plausible wrong student answer, kept as a patch of the reference solution,
/// and the criterion that must fail on it.
#[derive(Debug, Clone, Deserialize)]
pub struct WrongAnswer {
    pub id: String,
    pub criterion: String,
    /// The mistake, in a student's terms.
    pub mistake: String,
    /// Text the failed verdict's *expected* must contain: which check of the
    /// criterion names this mistake (any other failure does not count).
    pub expected_contains: String,
}

impl WrongAnswer {
    /// `tests/wrong_answers/<id>.patch`, relative to the workspace root.
    pub fn patch(&self) -> PathBuf {
        PathBuf::from("tests/wrong_answers").join(format!("{}.patch", self.id))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionKind {
    /// The student's work: the pristine starter fails it.
    Graded,
    /// A demonstration: starter and solution both pass it.
    Observation,
    /// A safety property of the student's work that the pristine starter
    /// already keeps (it is correct, only slow): starter and solution both pass
    /// it, and a kept wrong answer proves it fails when a faster answer breaks
    /// the guarantee. Its file is one of the student's.
    Guard,
}

impl CriterionKind {
    /// Does the pristine starter pass a criterion of this kind?
    pub fn starter_passes(self) -> bool {
        match self {
            CriterionKind::Graded => false,
            CriterionKind::Observation | CriterionKind::Guard => true,
        }
    }

    /// Is its file in the student's crate (else in the lab's kit)?
    pub fn in_student_files(self) -> bool {
        match self {
            CriterionKind::Graded | CriterionKind::Guard => true,
            CriterionKind::Observation => false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CriterionInfo {
    pub id: String,
    pub kind: CriterionKind,
    pub seed_criterion: String,
    pub file: String,
    pub hint: String,
}

impl Info {
    pub fn load() -> Info {
        match toml::from_str(INFO_TOML) {
            Ok(info) => info,
            // info.toml is compiled in and covered by a unit test, so this is a
            // build-time mistake, not something a student can trigger.
            Err(error) => panic!("info.toml is invalid: {error}"),
        }
    }

    pub fn lab(&self, id: &str) -> Option<&LabInfo> {
        self.labs.iter().find(|lab| lab.id == id)
    }
}

impl LabInfo {
    pub fn criterion(&self, id: &str) -> Option<&CriterionInfo> {
        self.criteria.iter().find(|criterion| criterion.id == id)
    }

    /// Where criterion `criterion`'s file is, from the workspace root.
    pub fn file_of(&self, criterion: &CriterionInfo, target: Target) -> String {
        if criterion.kind.in_student_files() {
            format!("{}/{}", self.dir(target), criterion.file)
        } else {
            format!("{}/{}", self.kit, criterion.file)
        }
    }

    pub fn dir(&self, target: Target) -> &str {
        match target {
            Target::Starter => &self.starter,
            Target::Solution => &self.solution,
        }
    }
}

/// Which implementation the criteria run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Starter,
    Solution,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Starter => "starter",
            Target::Solution => "solution",
        }
    }

    pub fn parse(text: &str) -> Option<Target> {
        match text.trim() {
            "starter" | "labs" | "lab" => Some(Target::Starter),
            "solution" | "solutions" => Some(Target::Solution),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::workspace_root;

    #[test]
    fn info_toml_is_valid_and_every_lab_has_both_kinds_of_directories() {
        let info = Info::load();
        assert!(!info.labs.is_empty());
        for lab in &info.labs {
            assert!(lab.starter.starts_with("labs/"), "{}", lab.id);
            assert!(lab.solution.starts_with("solutions/"), "{}", lab.id);
            assert!(
                lab.criteria.iter().any(|c| c.kind == CriterionKind::Graded),
                "{} has no graded criterion: CI could not prove its starter fails",
                lab.id
            );
            let root = workspace_root();
            for criterion in &lab.criteria {
                for target in [Target::Starter, Target::Solution] {
                    let file = root.join(lab.file_of(criterion, target));
                    assert!(
                        file.exists(),
                        "{}: {} does not exist",
                        criterion.id,
                        file.display()
                    );
                }
                if criterion.kind.in_student_files() {
                    assert!(
                        lab.student_files.contains(&criterion.file),
                        "{}: a graded or guard criterion's file {} is not one of {}'s student_files",
                        criterion.id,
                        criterion.file,
                        lab.id
                    );
                }
            }
            // One file per lab, or a folder with a main.rs when its criteria
            // are split by concern (Labs 4.3 and 4.4).
            let tests = root.join("tests");
            assert!(
                tests.join(format!("{}.rs", lab.test)).exists()
                    || tests.join(&lab.test).join("main.rs").exists(),
                "{}: no tests/{}.rs or tests/{}/main.rs",
                lab.id,
                lab.test,
                lab.test
            );
            for wrong in &lab.wrong_answers {
                assert!(
                    lab.criterion(&wrong.criterion).is_some(),
                    "wrong answer {} names no criterion of {}",
                    wrong.id,
                    lab.id
                );
                assert!(
                    root.join(wrong.patch()).exists(),
                    "wrong answer {}: {} does not exist",
                    wrong.id,
                    wrong.patch().display()
                );
            }
        }
    }

    #[test]
    fn every_wrong_answer_patch_is_listed_in_info_toml() {
        let info = Info::load();
        let listed: Vec<PathBuf> = info
            .labs
            .iter()
            .flat_map(|lab| lab.wrong_answers.iter().map(WrongAnswer::patch))
            .collect();
        let dir = workspace_root().join("tests/wrong_answers");
        for entry in std::fs::read_dir(&dir).expect("tests/wrong_answers exists") {
            let name = entry.unwrap().file_name();
            let patch = PathBuf::from("tests/wrong_answers").join(&name);
            assert!(
                listed.contains(&patch),
                "{} is not listed as a [[lab.wrong_answer]] in info.toml: it would never run",
                patch.display()
            );
        }
    }
}

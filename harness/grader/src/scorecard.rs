//! A grade, written down: one line per criterion, on the terminal and as
//! `scorecard.md` and `scorecard.json`, with the broker each lab was graded
//! against (and the Kafka version it reported), and any warnings (what a
//! submission changed that was not graded).

use std::path::Path;

use harness::measure::summary::table;
use serde::Serialize;

use crate::broker::BrokerRecord;
use crate::grading::{CriterionInfo, CriterionKind, LabInfo, Verdict};

/// One criterion's line on the scorecard.
#[derive(Serialize)]
pub struct ScoreLine {
    pub lab: String,
    pub criterion: String,
    pub kind: CriterionKind,
    pub passed: bool,
    pub message: String,
    pub file: String,
}

/// Did libtest print `test <module::>*<id> ... ok` in `log`?
pub fn libtest_reported_ok(log: &str, id: &str) -> bool {
    log.lines().any(|line| {
        line.strip_prefix("test ")
            .and_then(|rest| rest.strip_suffix(" ... ok"))
            .is_some_and(|name| name == id || name.ends_with(&format!("::{id}")))
    })
}

/// The line of `criterion`, from its verdict (none: the test did not run).
pub fn score_line(
    lab: &LabInfo,
    criterion: &CriterionInfo,
    verdict: Option<Verdict>,
    log: &Path,
) -> ScoreLine {
    match verdict {
        Some(verdict) => ScoreLine {
            lab: lab.id.clone(),
            criterion: criterion.id.clone(),
            kind: criterion.kind,
            passed: verdict.passed,
            message: verdict.message.trim().to_string(),
            file: verdict.file,
        },
        None => ScoreLine {
            lab: lab.id.clone(),
            criterion: criterion.id.clone(),
            kind: criterion.kind,
            passed: false,
            message: format!(
                "no verdict: the test did not run or did not compile (see {})",
                log.display()
            ),
            file: String::new(),
        },
    }
}

/// Print the scorecard and write it under `out/<scorecard>/`.
pub fn write_scorecard(
    lines: &[ScoreLine],
    scorecard: &str,
    brokers: &[(String, BrokerRecord)],
    ignored: &[String],
    out: &Path,
) -> anyhow::Result<()> {
    let mut terminal = table(&["lab", "criterion", "kind", "result", "details"]);
    let mut markdown = format!(
        "# Scorecard ({scorecard})\n\n{}\n| lab | criterion | kind | result | details |\n|---|---|---|---|---|\n",
        broker_lines(brokers)
    );
    for line in lines {
        let result = if line.passed { "✅ pass" } else { "❌ fail" };
        let kind = format!("{:?}", line.kind).to_lowercase();
        terminal.add_row(vec![
            &line.lab,
            &line.criterion,
            &kind,
            result,
            &line.message,
        ]);
        markdown.push_str(&format!(
            "| {} | {} | {kind} | {result} | {} |\n",
            line.lab,
            line.criterion,
            line.message.replace('\n', "<br>").replace('|', "\\|")
        ));
    }
    let passed = lines.iter().filter(|l| l.passed).count();
    markdown.push_str(&format!(
        "\n**{passed} of {} criteria passed.**\n",
        lines.len()
    ));
    if !ignored.is_empty() {
        markdown.push_str("\n## Warnings: changes that were not graded\n\n");
        for warning in ignored {
            markdown.push_str(&format!("- ⚠️ {warning}\n"));
        }
    }
    println!(
        "{terminal}\n{passed} of {} criteria passed ({scorecard})",
        lines.len()
    );
    for warning in ignored {
        println!("⚠️  {warning}");
    }
    let dir = out.join(scorecard);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("scorecard.md"), markdown)?;
    std::fs::write(
        dir.join("scorecard.json"),
        serde_json::to_vec_pretty(&serde_json::json!({
            "brokers": brokers
                .iter()
                .map(|(lab, record)| serde_json::json!({ "lab": lab, "broker": record }))
                .collect::<Vec<_>>(),
            "criteria": lines,
            "ignored_changes": ignored,
        }))?,
    )?;
    eprintln!(
        "scorecard written to {}",
        dir.join("scorecard.md").display()
    );
    Ok(())
}

/// `Broker: … (Kafka version)` per lab, one line when every lab had the same.
fn broker_lines(brokers: &[(String, BrokerRecord)]) -> String {
    let same = brokers.windows(2).all(|pair| pair[0].1 == pair[1].1);
    match brokers.first() {
        None => "Broker: none (no lab was graded)\n".into(),
        Some((_, record)) if same => format!(
            "Broker: {} ({}); found: {}\n",
            record.broker, record.kafka_version, record.found_by
        ),
        Some(_) => brokers
            .iter()
            .map(|(lab, record)| {
                format!(
                    "- {lab}: broker {} ({}); found: {}\n",
                    record.broker, record.kafka_version, record.found_by
                )
            })
            .collect(),
    }
}

//! The per-strategy table: what each rebalance cost, strategy by strategy, in
//! one run on one broker (so the strategies are compared with each other, not
//! with numbers from another machine).

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use harness::measure::median;

use crate::analysis::Analysis;

/// The table, as the terminal shows it (`markdown`: as the README quotes it).
pub fn table(analyses: &[Analysis], markdown: bool) -> String {
    let mut table = Table::new();
    if markdown {
        table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    } else {
        table.load_preset(UTF8_FULL_CONDENSED);
    }
    table.set_header([
        "strategy",
        "rebalances",
        "stop-the-world, median / max",
        "unmoved partitions: longest wait (run's median)",
        "partitions moved per rebalance",
        "duplicates: graceful / after SIGKILL",
        "lost",
        "SIGKILL noticed after",
        "static restart",
    ]);
    for a in analyses {
        let changes: Vec<_> = a.membership_changes().collect();
        let stops: Vec<i64> = changes.iter().map(|r| r.stop_the_world_ms).collect();
        let moved: Vec<String> = changes.iter().map(|r| r.moved.len().to_string()).collect();
        let unmoved_wait = changes.iter().filter_map(|r| r.unmoved_wait_ms).max();
        table.add_row([
            a.strategy.to_string(),
            changes.len().to_string(),
            format!(
                "{} / {} ms",
                median(stops.iter().copied()).unwrap_or(0),
                stops.iter().max().unwrap_or(&0)
            ),
            unmoved_wait
                .map(|ms| format!("{ms} ms ({} ms)", a.median_wait_ms))
                .unwrap_or_else(|| "-".into()),
            moved.join(", "),
            format!(
                "{} / {}",
                a.duplicates_graceful.len(),
                a.duplicates_after_kill.len()
            ),
            format!("{} of {}", a.lost.len(), a.produced),
            a.kill_noticed_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_else(|| "-".into()),
            match &a.static_restart {
                Some(s) if s.rebalance_free() => "no rebalance".to_string(),
                Some(s) => format!("rebalanced ({} moves)", s.others_moves),
                None => "-".into(),
            },
        ]);
    }
    let steps = "rebalances: b1 joins, c1 joins, c1 leaves, b1 killed (the static restart is reported on its own)";
    format!("{table}\n{steps}\n")
}

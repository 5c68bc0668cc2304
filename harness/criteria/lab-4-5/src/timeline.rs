//! The timeline: who owned which partition when, and when it processed, as a
//! text chart for the terminal and as an SVG.
//!
//! ```text
//!        1    2         3        4       5        6
//! p0  AAAAAAAA·AAAAAAAAAAAAAAAA··AAAAAAAAA  ...
//! p1  AAAAAAAA··BBBBBBBBBBBBBBBB·aaaaaBBBB  ...
//! ```
//!
//! A letter is the owner (the member's identity: `a1` and `a2` are both `A`);
//! upper case where the partition processed a payment in that slice of time,
//! lower case where it was owned and processed nothing, `·` where nobody owned
//! it, `!` where a member processed a payment it did not own (a zombie write).

use std::fmt::Write as _;

use lab_4_5_kit::runner::PARTITIONS;

use crate::analysis::Analysis;
use crate::ownership::{identity, intervals, Interval};
use crate::scenario::Observed;

/// Columns of the text chart.
const COLUMNS: usize = 96;

fn letter(member: &str) -> char {
    identity(member)
        .chars()
        .next()
        .unwrap_or('?')
        .to_ascii_uppercase()
}

fn owner_at(owned: &[Interval], partition: i32, t: i64) -> Option<&str> {
    owned
        .iter()
        .filter(|i| i.partition == partition && i.from_ms <= t && i.to_ms.is_none_or(|to| t < to))
        .map(|i| i.member.as_str())
        .next_back()
}

/// The text chart, with a line of step markers and a legend.
pub fn text(observed: &Observed, analysis: &Analysis) -> String {
    let owned = intervals(&observed.events);
    let (start, end) = (
        observed.started_ms,
        observed.ended_ms.max(observed.started_ms + 1),
    );
    let slice = ((end - start) as f64 / COLUMNS as f64).max(1.0);
    let column_of = |t: i64| (((t - start) as f64 / slice) as usize).min(COLUMNS - 1);
    let mut out = String::new();
    let mut markers = vec![' '; COLUMNS];
    for (index, step) in observed.steps.iter().enumerate() {
        markers[column_of(step.at_ms)] =
            char::from_digit((index + 1) as u32 % 10, 10).unwrap_or('*');
    }
    let _ = writeln!(out, "      {}", markers.iter().collect::<String>());
    for partition in 0..PARTITIONS {
        let mut row = vec!['·'; COLUMNS];
        for (column, cell) in row.iter_mut().enumerate() {
            let t = start + ((column as f64 + 0.5) * slice) as i64;
            if let Some(owner) = owner_at(&owned, partition, t) {
                *cell = letter(owner).to_ascii_lowercase();
            }
        }
        for outcome in observed.processed().filter(|o| o.partition == partition) {
            if outcome.finished_at_ms < start || outcome.finished_at_ms > end {
                continue;
            }
            let cell = &mut row[column_of(outcome.finished_at_ms)];
            *cell = if cell.is_ascii_lowercase() {
                cell.to_ascii_uppercase()
            } else {
                *cell
            };
        }
        for zombie in analysis
            .zombie_writes
            .iter()
            .filter(|z| z.partition == partition)
        {
            if zombie.at_ms >= start && zombie.at_ms <= end {
                row[column_of(zombie.at_ms)] = '!';
            }
        }
        let _ = writeln!(out, "  p{partition}  {}", row.iter().collect::<String>());
    }
    let _ = writeln!(
        out,
        "      one column = {:.0} ms; A/B/C = owner processing, a/b/c = owner idle, · = nobody, ! = zombie write",
        slice
    );
    for (index, step) in observed.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "      {}: {} at {:.1} s, settled at {:.1} s",
            index + 1,
            step.label,
            (step.at_ms - start) as f64 / 1000.0,
            (step.settled_ms - start) as f64 / 1000.0
        );
    }
    out
}

/// The same timeline as an SVG: one lane per partition, a coloured bar per
/// ownership, a tick per processed payment, a red mark per zombie write.
pub fn svg(observed: &Observed, analysis: &Analysis) -> String {
    const WIDTH: f64 = 960.0;
    const LEFT: f64 = 40.0;
    const LANE: f64 = 28.0;
    const TOP: f64 = 40.0;
    let owned = intervals(&observed.events);
    let (start, end) = (
        observed.started_ms,
        observed.ended_ms.max(observed.started_ms + 1),
    );
    let x =
        |t: i64| LEFT + (t - start).max(0) as f64 / (end - start) as f64 * (WIDTH - LEFT - 10.0);
    let height = TOP + LANE * PARTITIONS as f64 + 30.0 + 16.0 * observed.steps.len() as f64;
    let colour = |member: &str| match letter(member) {
        'A' => "#4e79a7",
        'B' => "#f28e2b",
        'C' => "#59a14f",
        _ => "#9c755f",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="monospace" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="16">{}: who owned which partition when (bars), payments processed (ticks), zombie writes (red)</text>"#,
        observed.strategy
    );
    for partition in 0..PARTITIONS {
        let y = TOP + LANE * partition as f64;
        let _ = writeln!(out, r#"<text x="4" y="{}">p{partition}</text>"#, y + 16.0);
        for i in owned.iter().filter(|i| i.partition == partition) {
            let (x0, x1) = (x(i.from_ms), x(i.to_ms.unwrap_or(end)));
            let _ = writeln!(
                out,
                r#"<rect x="{x0:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}" opacity="0.35"><title>{} owns p{partition}</title></rect>"#,
                y + 2.0,
                (x1 - x0).max(1.0),
                LANE - 6.0,
                colour(&i.member),
                i.member
            );
        }
        let mut ticks = String::new();
        for o in observed.processed().filter(|o| o.partition == partition) {
            let _ = write!(ticks, "M{:.1} {:.1}v8", x(o.finished_at_ms), y + 8.0);
        }
        let _ = writeln!(
            out,
            r##"<path d="{ticks}" stroke="#333" stroke-width="0.5"/>"##
        );
        for z in analysis
            .zombie_writes
            .iter()
            .filter(|z| z.partition == partition)
        {
            let _ = writeln!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="red"><title>zombie: {} {}</title></circle>"#,
                x(z.at_ms),
                y + 12.0,
                z.member,
                z.what
            );
        }
    }
    let bottom = TOP + LANE * PARTITIONS as f64;
    for (index, step) in observed.steps.iter().enumerate() {
        let sx = x(step.at_ms);
        let _ = writeln!(
            out,
            r##"<line x1="{sx:.1}" y1="{}" x2="{sx:.1}" y2="{bottom}" stroke="#000" stroke-dasharray="3,3"/><text x="{sx:.1}" y="{}">{}</text>"##,
            TOP - 6.0,
            TOP - 8.0,
            index + 1
        );
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{}">{}: {} ({:.1} s)</text>"#,
            bottom + 24.0 + 16.0 * index as f64,
            index + 1,
            step.label,
            (step.at_ms - start) as f64 / 1000.0
        );
    }
    out.push_str("</svg>\n");
    out
}

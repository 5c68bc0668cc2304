//! The summary table every report prints (comfy-table, so it reads well in a terminal).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

/// A two-column table of measured values, built row by row.
pub struct Summary {
    table: Table,
}

impl Summary {
    pub fn new(title: &str) -> Summary {
        Summary {
            table: table(&[title, "measured"]),
        }
    }

    pub fn row(mut self, label: &str, value: impl ToString) -> Summary {
        self.table
            .add_row(vec![label.to_string(), value.to_string()]);
        self
    }

    pub fn render(&self) -> String {
        self.table.to_string()
    }
}

/// A table with any header, for reports with more than two columns.
pub fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    // Off a terminal (a CI log, a pipe) there is no width to fit, and long cells
    // would make lines of thousands of characters: wrap them at 120 columns.
    if table.width().is_none() {
        table.set_width(120);
    }
    table
}

//! Pages of dead letters, in a shape meant for JSON (seed 001's listing).

use std::collections::BTreeSet;

use harness::clock::format_rfc3339_ms;
use harness::dead_letter::DeadLetter;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::*;

/// Which page of a listing (1-based), and how many entries a page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::Args)]
#[serde(default)]
pub struct Page {
    /// The page to show, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: usize,
    /// Dead letters per page, from 1 to 500.
    #[arg(long, default_value_t = 20)]
    pub page_size: usize,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            page: 1,
            page_size: 20,
        }
    }
}

/// The most a page may hold: a DLQ listing is for humans and dashboards, not for
/// exporting a topic.
pub const MAX_PAGE_SIZE: usize = 500;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE} (got page={page}, page_size={page_size})")]
pub struct PageError {
    page: usize,
    page_size: usize,
}

/// One page of dead letters, in a shape meant for JSON (seed 001's
/// `GET /api/dlq/messages`: `dlqTopic`, `messageCount`, `messages`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listing {
    pub success: bool,
    pub dlq_topic: String,
    /// Dead letters matching the filter (all pages).
    pub message_count: usize,
    pub page: usize,
    pub page_size: usize,
    pub total_pages: usize,
    pub messages: Vec<Listed>,
    /// When the filter matched nothing: why, and the reasons the DLQ does hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_match: Option<NoMatch>,
}

/// One dead letter in a listing: where it is, plus the dead letter itself (in
/// the dead-letter format's own snake_case).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    pub dead_lettered_at: String,
    pub payment_id: String,
    /// Has a replay already sent it back?
    pub replayed: bool,
    /// The dead letter; `null` for a record that is not one (see `unreadable`).
    pub dead_letter: Option<DeadLetter>,
    pub unreadable: Option<String>,
}

impl Listed {
    pub fn of(entry: &DlqEntry, replayed: bool) -> Listed {
        Listed {
            dlq_partition: entry.partition,
            dlq_offset: entry.offset,
            dead_lettered_at: format_rfc3339_ms(entry.timestamp_ms),
            payment_id: entry.payment_id(),
            replayed,
            dead_letter: entry.letter.as_ref().ok().cloned(),
            unreadable: entry.letter.as_ref().err().cloned(),
        }
    }
}

/// The page `page` of the entries of `snapshot` that pass `filter`.
pub fn list(
    snapshot: &DlqSnapshot,
    filter: &CompiledFilter,
    page: Page,
    replayed: &BTreeSet<(i32, i64)>,
) -> Result<Listing, PageError> {
    if page.page == 0 || page.page_size == 0 || page.page_size > MAX_PAGE_SIZE {
        return Err(PageError {
            page: page.page,
            page_size: page.page_size,
        });
    }
    let matching: Vec<&DlqEntry> = snapshot
        .entries
        .iter()
        .filter(|e| filter.matches(e))
        .collect();
    let messages = matching
        .iter()
        .skip((page.page - 1).saturating_mul(page.page_size))
        .take(page.page_size)
        .map(|e| Listed::of(e, replayed.contains(&(e.partition, e.offset))))
        .collect();
    Ok(Listing {
        success: true,
        dlq_topic: snapshot.topic.clone(),
        message_count: matching.len(),
        page: page.page,
        page_size: page.page_size,
        total_pages: matching.len().div_ceil(page.page_size),
        messages,
        no_match: no_match(snapshot, filter),
    })
}

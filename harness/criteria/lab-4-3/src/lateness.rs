//! Latency and lateness of a settled run: how fast payments went through, how
//! late each retry started after its due time, and the healthy-velocity ratio.

use harness::gateway::PaymentClass;
use harness::measure::latency::LatencySummary;
use harness::outcomes::{Outcome, OutcomeStatus};

use crate::settled::Settled;
use crate::thresholds::{EMBEDDED_LATENCY_FLOOR_MS, LATENCY_FLOOR_MS};

/// Percentiles of retry lateness.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Lateness {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Retries that started before their due time (must be 0).
    pub early: usize,
}

impl Lateness {
    pub fn from_micros(samples: &[i64]) -> Lateness {
        if samples.is_empty() {
            return Lateness::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[index] as f64 / 1000.0
        };
        Lateness {
            count: sorted.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            early: sorted.iter().filter(|&&us| us < 0).count(),
        }
    }

    /// `p50 3.1 ms · p99 12.0 ms · max 14.2 ms · 0 early (n=40)`
    pub fn one_line(&self) -> String {
        if self.count == 0 {
            return "no retries".into();
        }
        format!(
            "p50 {:.1} ms · p99 {:.1} ms · max {:.1} ms · {} early (n={})",
            self.p50_ms, self.p99_ms, self.max_ms, self.early, self.count
        )
    }
}

impl Settled {
    /// Latency (produce to outcome) of the processed payments of one class label.
    pub fn latency_of(&self, label: &str) -> LatencySummary {
        LatencySummary::from_millis(
            self.outcomes
                .iter()
                .filter(|o| o.status == OutcomeStatus::Processed)
                .filter(|o| {
                    self.ledger.class_of(&o.payment_id).map(PaymentClass::label) == Some(label)
                })
                .map(Outcome::latency_ms),
        )
    }

    pub fn healthy_latency(&self) -> LatencySummary {
        self.latency_of("healthy")
    }

    pub fn retried_latency(&self) -> LatencySummary {
        self.latency_of("transient")
    }

    pub fn lateness(&self) -> Lateness {
        Lateness::from_micros(&self.lateness_us)
    }
}

/// Healthy p99 with failures ÷ without, each floored at [`LATENCY_FLOOR_MS`]
/// (or [`EMBEDDED_LATENCY_FLOOR_MS`] unless both runs were on real Kafka).
pub fn healthy_ratio(with_failures: &Settled, without: &Settled) -> f64 {
    let floor = if with_failures.real_kafka && without.real_kafka {
        LATENCY_FLOOR_MS
    } else {
        EMBEDDED_LATENCY_FLOOR_MS
    };
    let p99 = |run: &Settled| run.healthy_latency().p99_ms.max(floor) as f64;
    p99(with_failures) / p99(without)
}

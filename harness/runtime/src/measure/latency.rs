//! Latency percentiles, from an HDR histogram (exact to 3 significant digits).

use hdrhistogram::Histogram;
use serde::Serialize;

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_ms: u64,
    pub p90_ms: u64,
    pub p99_ms: u64,
    pub max_ms: u64,
    pub mean_ms: f64,
}

impl LatencySummary {
    /// Summarise latencies in milliseconds (negative values count as 0).
    pub fn from_millis(latencies: impl IntoIterator<Item = i64>) -> LatencySummary {
        // 1 ms to 1 hour, 3 significant digits: bounds that cannot fail.
        let mut histogram = match Histogram::<u64>::new_with_bounds(1, 3_600_000, 3) {
            Ok(histogram) => histogram,
            Err(_) => return LatencySummary::default(),
        };
        for latency in latencies {
            histogram.saturating_record(latency.clamp(1, 3_600_000) as u64);
        }
        if histogram.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: histogram.len(),
            p50_ms: histogram.value_at_quantile(0.50),
            p90_ms: histogram.value_at_quantile(0.90),
            p99_ms: histogram.value_at_quantile(0.99),
            max_ms: histogram.max(),
            mean_ms: histogram.mean(),
        }
    }

    /// `p50 12 ms · p99 340 ms · max 400 ms (n=10)`
    pub fn one_line(&self) -> String {
        if self.count == 0 {
            return "no samples".into();
        }
        format!(
            "p50 {} ms · p90 {} ms · p99 {} ms · max {} ms (n={})",
            self.p50_ms, self.p90_ms, self.p99_ms, self.max_ms, self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let summary = LatencySummary::from_millis(1..=100);
        assert_eq!(
            (
                summary.count,
                summary.p50_ms,
                summary.p99_ms,
                summary.max_ms
            ),
            (100, 50, 99, 100)
        );
        assert_eq!(LatencySummary::from_millis([]).count, 0);
    }
}

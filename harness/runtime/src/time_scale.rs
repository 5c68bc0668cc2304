//! One knob that shrinks every delay in the workshop, so tests run the seed's
//! scenarios in seconds while `cargo run` keeps the real timings.

use std::time::Duration;

/// Multiplies every simulated delay (processing time, backoff sleeps, retry delays).
///
/// `1.0` is the seed's real timing; tests use something like `0.05`. Read from
/// `LAB_TIME_SCALE` by [`TimeScale::from_env`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeScale(f64);

impl TimeScale {
    pub const REAL: TimeScale = TimeScale(1.0);

    /// A scale; non-finite or negative factors are clamped to zero (no delay), so a
    /// bad value can make things fast but never hang them.
    pub fn new(factor: f64) -> TimeScale {
        if factor.is_finite() && factor > 0.0 {
            TimeScale(factor)
        } else {
            TimeScale(0.0)
        }
    }

    /// `LAB_TIME_SCALE` if set and valid, else `default`.
    pub fn from_env(default: TimeScale) -> TimeScale {
        std::env::var("LAB_TIME_SCALE")
            .ok()
            .and_then(|value| value.trim().parse::<f64>().ok())
            .map(TimeScale::new)
            .unwrap_or(default)
    }

    pub fn factor(self) -> f64 {
        self.0
    }

    /// The scaled version of a real-world duration.
    pub fn scale(self, real: Duration) -> Duration {
        real.mul_f64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_shrinks_and_bad_factors_mean_no_delay() {
        assert_eq!(
            TimeScale::new(0.1).scale(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(
            TimeScale::new(f64::NAN).scale(Duration::from_secs(2)),
            Duration::ZERO
        );
        assert_eq!(
            TimeScale::new(-3.0).scale(Duration::from_secs(2)),
            Duration::ZERO
        );
    }
}

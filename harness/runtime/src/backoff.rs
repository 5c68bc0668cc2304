//! Backoff policies: how long a retry waits, by seed 003's four strategies plus
//! seed 000's explicit retry levels.
//!
//! | strategy | seed | delays (retry 1, 2, 3, ...) |
//! |---|---|---|
//! | `immediate` | 003 | 0, 0, 0 |
//! | `fixed:1s` | 003 | 1 s, 1 s, 1 s |
//! | `exponential:1s,x2,max=60s` | 003 (and seed 001's `min(initial * 2^n, max)`) | 1 s, 2 s, 4 s, ... capped |
//! | `jitter:1s,x2,max=60s,20%` | 003 | 1 s ± 20%, 2 s ± 20%, ... capped before the jitter |
//! | `levels:5s,15s,60s` | 000 (one retry topic per level) | 5 s, 15 s, 60 s |
//!
//! Jitter spreads retries of payments that failed together (a bank outage fails
//! thousands at once), so they do not all hit the recovering service in the same
//! instant. It is drawn from a caller-provided RNG, so tests are deterministic.
//! Used by Lab 4.3's retry tiers.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;
use thiserror::Error;

use crate::time_scale::TimeScale;

/// How the delay grows from one retry to the next.
#[derive(Debug, Clone, PartialEq)]
pub enum BackoffStrategy {
    Immediate,
    Fixed(Duration),
    Exponential {
        initial: Duration,
        multiplier: f64,
        max: Duration,
    },
    /// Exponential, then each delay moved by a random fraction in `[-jitter, +jitter]`.
    ExponentialJitter {
        initial: Duration,
        multiplier: f64,
        max: Duration,
        jitter: f64,
    },
    /// One explicit delay per retry level; retries beyond the list are not allowed.
    Levels(Vec<Duration>),
}

/// A strategy and how many retries it allows (the first attempt is not a retry).
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    pub strategy: BackoffStrategy,
    pub max_retries: u32,
}

#[derive(Debug, Error, PartialEq)]
#[error("invalid backoff policy {input:?}: {reason} (examples: immediate, fixed:1s, exponential:1s,x2,max=60s, jitter:1s,x2,max=60s,20%, levels:5s,15s,60s)")]
pub struct BackoffParseError {
    input: String,
    reason: String,
}

impl BackoffPolicy {
    /// Seed 000's Lab 4.3: three retry topics, waiting 5 s, 15 s and 60 s.
    pub fn seed_levels() -> BackoffPolicy {
        BackoffPolicy {
            strategy: BackoffStrategy::Levels(vec![
                Duration::from_secs(5),
                Duration::from_secs(15),
                Duration::from_secs(60),
            ]),
            max_retries: 3,
        }
    }

    pub fn with_max_retries(mut self, max_retries: u32) -> BackoffPolicy {
        self.max_retries = match &self.strategy {
            BackoffStrategy::Levels(levels) => max_retries.min(levels.len() as u32),
            _ => max_retries,
        };
        self
    }

    /// The delay before retry number `retry` (1-based), or `None` when the policy
    /// allows no such retry: the record belongs in the DLQ.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Option<Duration> {
        if retry == 0 || retry > self.max_retries {
            return None;
        }
        let exponential =
            |initial, multiplier, max| exponential_delay(initial, multiplier, max, retry);
        Some(match &self.strategy {
            BackoffStrategy::Immediate => Duration::ZERO,
            BackoffStrategy::Fixed(delay) => *delay,
            BackoffStrategy::Exponential {
                initial,
                multiplier,
                max,
            } => exponential(*initial, *multiplier, *max),
            BackoffStrategy::ExponentialJitter {
                initial,
                multiplier,
                max,
                jitter,
            } => {
                let base = exponential(*initial, *multiplier, *max);
                let spread = jitter.clamp(0.0, 1.0);
                base.mul_f64(1.0 + rng.random_range(-spread..=spread))
            }
            BackoffStrategy::Levels(levels) => *levels.get(retry as usize - 1)?,
        })
    }

    /// The longest delay `retry` can get: the delay itself, or its upper jitter
    /// bound. A retry tier trusts a record's due time only up to this much after
    /// the record was written, so a corrupt or hostile due-time header cannot
    /// park a record for a year.
    pub fn longest_delay(&self, retry: u32) -> Option<Duration> {
        self.jitter_bound(retry, 1.0)
    }

    /// The shortest delay `retry` can get: the delay itself, or its lower jitter
    /// bound. Together with [`BackoffPolicy::longest_delay`] it bounds what a
    /// retry tier believes of a record's due-time header.
    pub fn shortest_delay(&self, retry: u32) -> Option<Duration> {
        self.jitter_bound(retry, -1.0)
    }

    /// The delay of `retry` moved by the whole jitter in `direction` (+1 or -1).
    fn jitter_bound(&self, retry: u32, direction: f64) -> Option<Duration> {
        if retry == 0 || retry > self.max_retries {
            return None;
        }
        match &self.strategy {
            BackoffStrategy::ExponentialJitter {
                initial,
                multiplier,
                max,
                jitter,
            } => Some(
                exponential_delay(*initial, *multiplier, *max, retry)
                    .mul_f64(1.0 + direction * jitter.clamp(0.0, 1.0)),
            ),
            // Without jitter the delay is the same on every draw.
            _ => self.delay(retry, &mut rand::rng()),
        }
    }

    /// How long to wait before handling a record again after its forward (to a
    /// DLQ or a retry topic) was not acknowledged: 100 ms, doubling with each
    /// failure, at most 5 s. Labs 4.2 and 4.3 wait it in the record's own task,
    /// while the partition's other records go on.
    pub fn redelivery(failures: u32) -> Duration {
        Duration::from_millis(100u64 << failures.saturating_sub(1).min(6))
            .min(Duration::from_secs(5))
    }

    /// The same policy with every delay multiplied by `time_scale` (tests and the
    /// default `cargo run` shrink the seed's 5/15/60 s).
    pub fn scaled(&self, time_scale: TimeScale) -> BackoffPolicy {
        let s = |d: Duration| time_scale.scale(d);
        let strategy = match &self.strategy {
            BackoffStrategy::Immediate => BackoffStrategy::Immediate,
            BackoffStrategy::Fixed(delay) => BackoffStrategy::Fixed(s(*delay)),
            BackoffStrategy::Exponential {
                initial,
                multiplier,
                max,
            } => BackoffStrategy::Exponential {
                initial: s(*initial),
                multiplier: *multiplier,
                max: s(*max),
            },
            BackoffStrategy::ExponentialJitter {
                initial,
                multiplier,
                max,
                jitter,
            } => BackoffStrategy::ExponentialJitter {
                initial: s(*initial),
                multiplier: *multiplier,
                max: s(*max),
                jitter: *jitter,
            },
            BackoffStrategy::Levels(levels) => {
                BackoffStrategy::Levels(levels.iter().copied().map(s).collect())
            }
        };
        BackoffPolicy {
            strategy,
            max_retries: self.max_retries,
        }
    }

    /// Every delay the policy allows, in order.
    pub fn schedule(&self, rng: &mut impl Rng) -> Vec<Duration> {
        (1..=self.max_retries)
            .map_while(|retry| self.delay(retry, rng))
            .collect()
    }
}

/// `initial * multiplier^(retry - 1)`, capped at `max`.
fn exponential_delay(initial: Duration, multiplier: f64, max: Duration, retry: u32) -> Duration {
    let factor = multiplier
        .max(1.0)
        .powi(retry.saturating_sub(1).min(1_000) as i32);
    let millis = (initial.as_secs_f64() * 1000.0 * factor).min(max.as_secs_f64() * 1000.0);
    Duration::from_secs_f64(millis.max(0.0) / 1000.0)
}

impl FromStr for BackoffPolicy {
    type Err = BackoffParseError;

    /// `<strategy>[:<args>]`, with durations in humantime form (`500ms`, `5s`, `1m`).
    /// `max_retries` defaults to 3 (the number of levels for `levels:`).
    fn from_str(input: &str) -> Result<BackoffPolicy, BackoffParseError> {
        let fail = |reason: &str| BackoffParseError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let duration = |text: &str| {
            humantime::parse_duration(text.trim()).map_err(|e| fail(&format!("{text:?}: {e}")))
        };
        let (name, args) = input.trim().split_once(':').unwrap_or((input.trim(), ""));
        let args: Vec<&str> = args
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        let exponential_args =
            |args: &[&str]| -> Result<(Duration, f64, Duration), BackoffParseError> {
                let initial = duration(
                    args.first()
                        .ok_or_else(|| fail("missing the initial delay"))?,
                )?;
                let mut multiplier: f64 = 2.0;
                let mut max = Duration::from_secs(60);
                for arg in &args[1..] {
                    if let Some(m) = arg.strip_prefix('x') {
                        multiplier = m
                            .parse()
                            .map_err(|_| fail(&format!("bad multiplier {arg:?}")))?;
                        if !(multiplier.is_finite() && multiplier >= 1.0) {
                            return Err(fail("the multiplier must be at least 1"));
                        }
                    } else if let Some(m) = arg.strip_prefix("max=") {
                        max = duration(m)?;
                    }
                }
                Ok((initial, multiplier, max))
            };
        let strategy = match name {
            "immediate" => BackoffStrategy::Immediate,
            "fixed" => BackoffStrategy::Fixed(duration(
                args.first().ok_or_else(|| fail("missing the delay"))?,
            )?),
            "exponential" => {
                let (initial, multiplier, max) = exponential_args(&args)?;
                BackoffStrategy::Exponential {
                    initial,
                    multiplier,
                    max,
                }
            }
            "jitter" => {
                let (initial, multiplier, max) = exponential_args(&args)?;
                let jitter = match args.iter().find_map(|a| a.strip_suffix('%')) {
                    Some(percent) => {
                        percent
                            .parse::<f64>()
                            .map_err(|_| fail("bad jitter percentage"))?
                            / 100.0
                    }
                    None => 0.2,
                };
                if !(0.0..=1.0).contains(&jitter) {
                    return Err(fail("jitter must be between 0% and 100%"));
                }
                BackoffStrategy::ExponentialJitter {
                    initial,
                    multiplier,
                    max,
                    jitter,
                }
            }
            "levels" => {
                let levels = args
                    .iter()
                    .map(|a| duration(a))
                    .collect::<Result<Vec<_>, _>>()?;
                if levels.is_empty() {
                    return Err(fail("levels needs at least one delay"));
                }
                let max_retries = levels.len() as u32;
                return Ok(BackoffPolicy {
                    strategy: BackoffStrategy::Levels(levels),
                    max_retries,
                });
            }
            other => return Err(fail(&format!("unknown strategy {other:?}"))),
        };
        Ok(BackoffPolicy {
            strategy,
            max_retries: 3,
        })
    }
}

impl fmt::Display for BackoffPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: &Duration| humantime::format_duration(*d).to_string();
        match &self.strategy {
            BackoffStrategy::Immediate => write!(f, "immediate"),
            BackoffStrategy::Fixed(delay) => write!(f, "fixed:{}", d(delay)),
            BackoffStrategy::Exponential {
                initial,
                multiplier,
                max,
            } => {
                write!(f, "exponential:{},x{multiplier},max={}", d(initial), d(max))
            }
            BackoffStrategy::ExponentialJitter {
                initial,
                multiplier,
                max,
                jitter,
            } => {
                write!(
                    f,
                    "jitter:{},x{multiplier},max={},{}%",
                    d(initial),
                    d(max),
                    jitter * 100.0
                )
            }
            BackoffStrategy::Levels(levels) => {
                write!(
                    f,
                    "levels:{}",
                    levels.iter().map(d).collect::<Vec<_>>().join(",")
                )
            }
        }?;
        write!(f, " (max {} retries)", self.max_retries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn schedule_ms(policy: &str, max_retries: u32) -> Vec<u128> {
        let policy: BackoffPolicy = policy.parse().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        policy
            .with_max_retries(max_retries)
            .schedule(&mut rng)
            .iter()
            .map(Duration::as_millis)
            .collect()
    }

    #[test]
    fn schedules_of_every_strategy() {
        let schedules: Vec<(String, Vec<u128>)> = [
            "immediate",
            "fixed:1s",
            "exponential:1s,x2,max=60s",
            "exponential:5s,x3,max=60s",
            "jitter:1s,x2,max=60s,20%",
            "levels:5s,15s,60s",
        ]
        .iter()
        .map(|p| (p.to_string(), schedule_ms(p, 8)))
        .collect();
        insta::assert_debug_snapshot!(schedules);
    }

    #[test]
    fn the_seed_levels_are_five_fifteen_sixty_seconds_then_the_dlq() {
        let policy = BackoffPolicy::seed_levels();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        assert_eq!(
            policy.schedule(&mut rng),
            vec![
                Duration::from_secs(5),
                Duration::from_secs(15),
                Duration::from_secs(60)
            ]
        );
        assert_eq!(policy.delay(4, &mut rng), None, "after the last level: DLQ");
        assert_eq!(policy.delay(0, &mut rng), None);
    }

    #[test]
    fn jitter_stays_within_its_band_and_the_cap_holds() {
        let policy: BackoffPolicy = "jitter:1s,x2,max=10s,20%".parse().unwrap();
        let policy = policy.with_max_retries(10);
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        for _ in 0..200 {
            for (index, delay) in policy.schedule(&mut rng).into_iter().enumerate() {
                let base = (1000u64 << index).min(10_000) as f64;
                let ms = delay.as_secs_f64() * 1000.0;
                assert!(
                    ms >= base * 0.8 - 1.0 && ms <= base * 1.2 + 1.0,
                    "retry {}: {ms} ms vs base {base}",
                    index + 1
                );
            }
        }
    }

    #[test]
    fn policies_round_trip_through_text_and_bad_ones_say_why() {
        for text in [
            "immediate",
            "fixed:1s",
            "exponential:1s,x2,max=1m",
            "jitter:500ms,x3,max=30s,10%",
            "levels:5s,15s,1m",
        ] {
            let policy: BackoffPolicy = text.parse().unwrap();
            let again: BackoffPolicy = policy
                .to_string()
                .split(" (")
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(policy.strategy, again.strategy, "{text}");
        }
        for bad in [
            "",
            "sometimes",
            "fixed",
            "fixed:soon",
            "exponential:1s,x0.5",
            "jitter:1s,150%",
            "levels:",
        ] {
            assert!(
                bad.parse::<BackoffPolicy>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}

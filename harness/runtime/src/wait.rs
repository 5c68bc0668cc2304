//! Waiting for a condition with a deadline, instead of sleeping a fixed time.
//!
//! A fixed sleep is either too short (flaky on a slow CI machine) or too long
//! (slow everywhere else). Polling a condition is neither.

use std::time::{Duration, Instant};

use thiserror::Error;

#[derive(Debug, Error)]
#[error(
    "timed out after {} waiting for {what}; last seen: {last_seen}",
    humantime::format_duration(crate::clock::whole_ms(*waited))
)]
pub struct TimedOut {
    pub what: String,
    pub waited: Duration,
    pub last_seen: String,
}

/// Poll `check` every `every` until it returns `Ok(value)` or `deadline` passes.
///
/// `check` returns `Err(description)` while the condition does not hold yet; the
/// last description ends up in the timeout error, so a failure says what it saw.
pub async fn until<T, F>(
    what: &str,
    deadline: Duration,
    every: Duration,
    mut check: F,
) -> Result<T, TimedOut>
where
    F: FnMut() -> Result<T, String>,
{
    until_async(what, deadline, every, || std::future::ready(check())).await
}

/// [`until`] for a check that has to await (an HTTP call, a broker query).
pub async fn until_async<T, F, Fut>(
    what: &str,
    deadline: Duration,
    every: Duration,
    mut check: F,
) -> Result<T, TimedOut>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let started = Instant::now();
    loop {
        match check().await {
            Ok(value) => return Ok(value),
            Err(last_seen) if started.elapsed() >= deadline => {
                return Err(TimedOut {
                    what: what.to_string(),
                    waited: started.elapsed(),
                    last_seen,
                })
            }
            Err(_) => tokio::time::sleep(every).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_as_soon_as_the_condition_holds_and_reports_what_it_saw_otherwise() {
        let mut calls = 0;
        let value = until(
            "three calls",
            Duration::from_secs(5),
            Duration::from_millis(1),
            || {
                calls += 1;
                if calls >= 3 {
                    Ok(calls)
                } else {
                    Err(format!("{calls} calls"))
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(value, 3);

        let error = until::<(), _>(
            "never",
            Duration::from_millis(20),
            Duration::from_millis(5),
            || Err("still false".into()),
        )
        .await
        .unwrap_err();
        assert_eq!(error.last_seen, "still false");
    }
}

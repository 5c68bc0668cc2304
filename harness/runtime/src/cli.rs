//! Small things every lab binary needs, in one place.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner showing the elapsed time and a message (the labs' progress output).
pub fn spinner() -> ProgressBar {
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    progress.enable_steady_tick(Duration::from_millis(120));
    progress
}

/// A line for the user while a spinner runs: printed above the spinner on a
/// terminal, and as a plain stdout line otherwise. (indicatif hides a spinner
/// whose terminal is not a TTY, and its `println` with it: in a CI log or a
/// pipe, a step line printed that way would vanish.)
pub fn say(progress: &ProgressBar, line: impl AsRef<str>) {
    if progress.is_hidden() {
        println!("{}", line.as_ref());
    } else {
        progress.println(line.as_ref());
    }
}

/// Stop the spinner with `line` as its last word: kept on a terminal, printed
/// as a plain stdout line otherwise (for the same reason as [`say`]).
pub fn finish(progress: &ProgressBar, line: impl Into<String>) {
    let line = line.into();
    if progress.is_hidden() {
        println!("{line}");
    } else {
        progress.finish_with_message(line);
    }
}

/// A flag raised on Ctrl-C, for consumer loops that finish their current record
/// before stopping. Call it from inside a tokio runtime.
pub fn stop_on_ctrl_c() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let raised = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("stopping after the current record ...");
            raised.store(true, Ordering::Relaxed);
        }
    });
    stop
}

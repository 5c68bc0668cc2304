//! What every binary's command line shares: the broker flags, and how a binary
//! ends on an error.
//!
//! Every binary flattens [`BrokerArgs`] into its `clap::Parser`, so
//! `--bootstrap-servers` and `--client-properties` (and their environment
//! variables) mean the same everywhere, and `--help` says so. Tests and benches
//! have no flags: they keep [`crate::broker::resolve`], which reads the
//! environment.

use std::path::PathBuf;

use crate::broker::{resolve_chosen, Broker, BrokerChoice, BrokerError, Purpose};

/// The broker flags (rung 1 of [`crate::broker`]'s ladder). `global`, so a
/// binary with subcommands (`dlq list ...`) takes them after the subcommand too.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BrokerArgs {
    /// The Kafka broker(s), host:port[,host:port]. When set, it is the broker: an
    /// unreachable one is an error, never a fallback. Unset: localhost:9092 if a
    /// broker answers there, else the embedded mock cluster.
    #[arg(
        long,
        env = "KAFKA_BOOTSTRAP_SERVERS",
        value_name = "HOST:PORT",
        global = true
    )]
    pub bootstrap_servers: Option<String>,
    /// A client.properties file (key=value lines) for SASL/SSL clusters, e.g.
    /// security.protocol=SASL_SSL, sasl.mechanisms=PLAIN, sasl.username,
    /// sasl.password; a bootstrap.servers line there counts as configured too.
    #[arg(
        long,
        env = "KAFKA_CLIENT_PROPERTIES",
        value_name = "FILE",
        global = true
    )]
    pub client_properties: Option<PathBuf>,
}

impl BrokerArgs {
    /// What the user chose, as the resolver takes it.
    pub fn choice(&self) -> BrokerChoice {
        BrokerChoice {
            bootstrap_servers: self.bootstrap_servers.clone(),
            client_properties: self.client_properties.clone(),
        }
    }

    /// Resolve the broker (printing the one line that says which).
    pub async fn resolve(&self, purpose: Purpose) -> Result<Broker, BrokerError> {
        resolve_chosen(purpose, &self.choice()).await
    }
}

/// End a binary on its error the way a command line tool should: one
/// `error: ...` paragraph on stderr (the error and its causes, `{:#}`), exit
/// status 1, and no backtrace, whatever `RUST_BACKTRACE` says.
///
/// Why not `fn main() -> anyhow::Result<()>`: that prints the error's `Debug`
/// form, which with `RUST_BACKTRACE=1` is a backtrace a student must read past
/// to find a typo in a flag. Every binary's `main` ends through this instead.
pub fn exit_on_error<T>(result: anyhow::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::exit(1)
        }
    }
}

/// A `--failure-rate` (or any fraction): a number from 0 to 1. Without this, 7
/// would be quietly clamped to 100% and 30 (meaning 30%) too.
pub fn fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number (a fraction from 0 to 1, e.g. 0.2)"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "{value} is not between 0 and 1 (a fraction: 0.2 means 20%)"
        ))
    }
}

/// A `--time-scale`: a number, 0 or more (1 = the seed's real durations, 0 = no
/// waiting at all).
pub fn time_scale(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number (1 = real time, 0.1 = ten times faster)"))?;
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "{value} is not a number from 0 up (1 = real time, 0.1 = ten times faster)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_between_zero_and_one() {
        assert_eq!(fraction("0.2"), Ok(0.2));
        assert_eq!(fraction("1"), Ok(1.0));
        assert!(fraction("7").unwrap_err().contains("between 0 and 1"));
        assert!(fraction("-0.1").is_err());
        assert!(fraction("NaN").is_err());
        assert!(fraction("twenty").unwrap_err().contains("not a number"));
    }

    #[test]
    fn time_scales_are_positive() {
        assert_eq!(time_scale("0.25"), Ok(0.25));
        assert_eq!(time_scale("0"), Ok(0.0));
        assert!(time_scale("-1").is_err());
        assert!(time_scale("inf").is_err());
    }
}

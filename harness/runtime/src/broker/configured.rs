//! Rung 1: the broker someone configured (`KAFKA_BOOTSTRAP_SERVERS`, plus an
//! optional `client.properties` for SASL/SSL), and the checks that a broker is
//! really there.

use std::path::Path;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};

use super::{Broker, BrokerChoice, BrokerError};

/// Rung 1 as chosen: a bootstrap list and a `client.properties` file, each from a
/// flag (`--bootstrap-servers`, `--client-properties`) or its environment variable.
pub(super) fn configured_from(choice: &BrokerChoice) -> Result<Option<Broker>, BrokerError> {
    let mut properties = match &choice.client_properties {
        Some(path) if !path.as_os_str().is_empty() => read_client_properties(path)?,
        _ => Vec::new(),
    };
    // Confluent's client.properties files carry bootstrap.servers themselves; the
    // flag or environment variable wins when both are present.
    let from_file = properties
        .iter()
        .position(|(key, _)| key == "bootstrap.servers")
        .map(|index| properties.remove(index).1);
    let bootstrap = choice
        .bootstrap_servers
        .as_deref()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .or(from_file);
    Ok(bootstrap.map(|bootstrap| Broker::configured(&bootstrap, properties)))
}

/// Parse a `client.properties` file (`key=value`, `#` or `!` comments), the format
/// Confluent's client examples use for SASL/SSL settings.
pub fn read_client_properties(path: &Path) -> Result<Vec<(String, String)>, BrokerError> {
    let text = std::fs::read_to_string(path).map_err(|error| BrokerError::Properties {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })?;
    parse_client_properties(&text).map_err(|reason| BrokerError::Properties {
        path: path.to_path_buf(),
        reason,
    })
}

fn parse_client_properties(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut properties = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "line {}: expected key=value, got {line:?}",
                number + 1
            ));
        };
        properties.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(properties)
}

/// Ask the broker for its metadata; an answer means it is really there.
pub(super) async fn check_reachable(
    broker: &Broker,
    source_name: &'static str,
    timeout: Duration,
) -> Result<(), BrokerError> {
    let unreachable = |reason: String| BrokerError::Unreachable {
        bootstrap: broker.bootstrap_servers.clone(),
        source_name,
        timeout,
        reason,
    };
    let consumer: BaseConsumer = broker
        .client_config()
        // Keep librdkafka from logging every failed connection attempt to stderr:
        // our error says it once, clearly.
        .set("log_level", "0")
        .create()
        .map_err(|error| BrokerError::Config(error.to_string()))?;
    // fetch_metadata blocks, so it goes to the blocking pool; its own timeout bounds it.
    tokio::task::spawn_blocking(move || consumer.fetch_metadata(None, timeout).map(|_| ()))
        .await
        .map_err(|error| unreachable(error.to_string()))?
        .map_err(|error| unreachable(error.to_string()))
}

pub(super) fn tcp_answers(address: &str, timeout: Duration) -> bool {
    address
        .parse()
        .ok()
        .and_then(|addr| std::net::TcpStream::connect_timeout(&addr, timeout).ok())
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_properties_parse_like_confluents_examples() {
        let text = "# Confluent Cloud\nbootstrap.servers=pkc-1.example:9092\n\
                    security.protocol=SASL_SSL\nsasl.mechanisms = PLAIN\n! comment\n\n\
                    sasl.password=a=b\n";
        let parsed = parse_client_properties(text).unwrap();
        assert_eq!(
            parsed,
            vec![
                ("bootstrap.servers".into(), "pkc-1.example:9092".into()),
                ("security.protocol".into(), "SASL_SSL".into()),
                ("sasl.mechanisms".into(), "PLAIN".into()),
                ("sasl.password".into(), "a=b".into()),
            ]
        );
        assert!(parse_client_properties("no equals sign").is_err());
    }
}

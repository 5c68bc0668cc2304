//! A configured broker that does not answer must fail fast and say so, never hang.

use std::time::{Duration, Instant};

use harness::broker::{Broker, BrokerError, CONFIGURED_BROKER_TIMEOUT};

#[tokio::test]
async fn an_unreachable_configured_broker_fails_with_a_clear_error() {
    // Port 1 on loopback: nothing listens there, so every connection is refused.
    let broker = Broker::configured("127.0.0.1:1", Vec::new());
    let started = Instant::now();
    let error = broker
        .verify()
        .await
        .expect_err("nothing listens on 127.0.0.1:1");
    let waited = started.elapsed();

    assert!(
        matches!(error, BrokerError::Unreachable { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("cannot reach the Kafka broker at 127.0.0.1:1"),
        "{message}"
    );
    assert!(
        message.contains("unset KAFKA_BOOTSTRAP_SERVERS"),
        "{message}"
    );
    // Not a performance assertion: a guard that the failure is bounded, not a hang.
    assert!(
        waited <= CONFIGURED_BROKER_TIMEOUT + Duration::from_secs(5),
        "took {waited:?} to give up"
    );
}

#[tokio::test]
async fn a_bad_client_property_is_a_configuration_error_not_a_panic() {
    let broker = Broker::configured("127.0.0.1:1", vec![("no.such.property".into(), "1".into())]);
    let error = broker
        .verify()
        .await
        .expect_err("librdkafka rejects unknown properties");
    assert!(matches!(error, BrokerError::Config(_)), "{error:?}");
}

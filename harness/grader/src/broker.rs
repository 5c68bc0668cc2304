//! The tests' broker: harness's one resolver, with rung 2 (an `apache/kafka`
//! container started with testcontainers, when a Docker daemon answers) plugged
//! in. testcontainers lives here, in the grader, so no lab binary links it.
//!
//! One container per test binary, labelled `kafka-resilience-lab=test-broker`,
//! with a 512 MiB heap, and removed (with its volumes) when the test process
//! ends, however it ends: see `container_reaper` for how, and why not reuse.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;

use crate::container_reaper::SESSION_LABEL;
use harness::broker::{
    resolve_with, Broker, BrokerError, BrokerKind, Purpose, CONTAINER_START_TIMEOUT, KAFKA_VERSION,
};

/// The broker shared by every test in one test binary, resolved once.
///
/// Tests each run on their own tokio runtime, so the container or mock cluster is
/// owned by a keeper thread (see [`keep_alive_on_thread`]) rather than by a runtime.
pub async fn shared_test_broker() -> &'static Broker {
    static BROKER: tokio::sync::OnceCell<Broker> = tokio::sync::OnceCell::const_new();
    BROKER
        .get_or_init(|| async {
            match resolve_with(Purpose::Test, Some(container_rung)).await {
                Ok(broker) => {
                    record_for_grade(&broker).await;
                    broker
                }
                Err(error) => panic!("no Kafka broker for the tests: {error}"),
            }
        })
        .await
}

/// The file, in `GRADING_DIR`, where a test binary says which broker it used.
pub const BROKER_RECORD: &str = "broker.json";

/// Which broker a test binary graded against, as `grade` puts it on the scorecard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrokerRecord {
    /// `Kafka at 127.0.0.1:29092`, `embedded librdkafka mock cluster`, …
    pub broker: String,
    pub bootstrap_servers: String,
    /// From the broker's own `ApiVersions` answer (`Broker::kafka_version`).
    pub kafka_version: String,
    /// Which rung found it (`KAFKA_BOOTSTRAP_SERVERS`, a local broker, …).
    pub found_by: String,
}

impl BrokerRecord {
    pub async fn of(broker: &Broker) -> BrokerRecord {
        BrokerRecord {
            broker: broker.label(),
            bootstrap_servers: broker.bootstrap_servers.clone(),
            kafka_version: broker.kafka_version().await,
            found_by: match broker.kind {
                BrokerKind::Configured => "configured (KAFKA_BOOTSTRAP_SERVERS)",
                BrokerKind::Container => "started by the tests (testcontainers)",
                BrokerKind::Localhost => "found answering on localhost:9092",
                BrokerKind::Embedded => "the fallback (no real broker found)",
            }
            .into(),
        }
    }
}

/// Under `grade` (`GRADING_DIR` set), write which broker the tests resolved, so
/// the scorecard records what was graded against, not what `grade` expected.
async fn record_for_grade(broker: &Broker) {
    let Some(dir) = std::env::var_os("GRADING_DIR") else {
        return;
    };
    let record = BrokerRecord::of(broker).await;
    eprintln!(
        "grading against {} ({})",
        record.broker, record.kafka_version
    );
    let dir = std::path::PathBuf::from(dir);
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(
            dir.join(BROKER_RECORD),
            serde_json::to_vec_pretty(&record).unwrap_or_default(),
        )
    });
    if let Err(error) = written {
        eprintln!(
            "could not write {}: {error}",
            dir.join(BROKER_RECORD).display()
        );
    }
}

/// Rung 2 in the shape the resolver takes.
fn container_rung() -> Pin<Box<dyn Future<Output = Result<Broker, BrokerError>> + Send>> {
    Box::pin(start_container())
}

/// The image rung 2 runs: `KAFKA_IMAGE` (`name:tag`) when set, else the official
/// `apache/kafka` at our pinned version. On machines that cannot pull from Docker
/// Hub, `scripts/kafka-standin-image build` makes a local stand-in and prints the
/// `KAFKA_IMAGE` that selects it (docker-compose.yml reads the same variable).
pub fn test_image() -> (String, String) {
    match std::env::var("KAFKA_IMAGE") {
        Ok(image) if !image.trim().is_empty() => split_image(image.trim()),
        _ => ("apache/kafka".to_string(), KAFKA_VERSION.to_string()),
    }
}

/// `name:tag` into its two parts; a `:` inside a registry's `host:port` is not a tag.
fn split_image(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_string(), tag.to_string()),
        _ => (image.to_string(), "latest".to_string()),
    }
}

/// The label on every container the tests start, for `docker ps --filter`.
pub const CONTAINER_LABEL: (&str, &str) = ("kafka-resilience-lab", "test-broker");

/// Rung 2: an `apache/kafka` JVM container at our pinned version, removed when
/// this test process ends (see `container_reaper`).
async fn start_container() -> Result<Broker, BrokerError> {
    use testcontainers_modules::kafka::apache::{Kafka, KAFKA_PORT};
    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    use testcontainers_modules::testcontainers::ImageExt;

    let (image_name, image_tag) = test_image();
    let image = format!("{image_name}:{image_tag}");
    // Before the container exists: from its creation on, however this process
    // ends, the container goes with it.
    let session = watch_this_process();
    let started = tokio::task::spawn_blocking(move || {
        keep_alive_on_thread("kafka-container", move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            let starting = async {
                let container = Kafka::default()
                    .with_jvm_image()
                    .with_name(image_name)
                    .with_tag(image_tag)
                    .with_label(CONTAINER_LABEL.0, CONTAINER_LABEL.1)
                    .with_label(SESSION_LABEL, session)
                    // The JVM's default maximum heap is a quarter of the machine's
                    // memory; a test broker needs far less (as scripts/kafka-local).
                    .with_env_var("KAFKA_HEAP_OPTS", "-Xms256m -Xmx512m")
                    // The same broker settings as docker-compose.yml and scripts/kafka-local.
                    .with_env_var("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
                    .with_env_var("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "1000")
                    // Lab 4.5: the consumer protocol's session is the broker's (see docker-compose.yml).
                    .with_env_var("KAFKA_GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS", "1000")
                    .with_env_var("KAFKA_GROUP_CONSUMER_SESSION_TIMEOUT_MS", "6000")
                    .with_env_var("KAFKA_GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS", "500")
                    .with_env_var("KAFKA_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS", "1000")
                    .with_env_var("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
                    .with_env_var("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                    .with_env_var("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
                    .start()
                    .await
                    .map_err(|error| error.to_string())?;
                let port = container
                    .get_host_port_ipv4(KAFKA_PORT)
                    .await
                    .map_err(|error| error.to_string())?;
                Ok::<_, String>((container, format!("127.0.0.1:{port}")))
            };
            // Pulling the image on a slow network is the slow part; bounded anyway.
            let (container, bootstrap) = runtime
                .block_on(async { tokio::time::timeout(CONTAINER_START_TIMEOUT, starting).await })
                .map_err(|_| {
                    format!("the container did not start within {CONTAINER_START_TIMEOUT:?}")
                })??;
            // The runtime is kept too: the container's handle belongs to it.
            Ok(((runtime, container), bootstrap))
        })
    })
    .await
    .map_err(|error| BrokerError::Embedded(error.to_string()))?;
    let bootstrap_servers = started.map_err(|reason| BrokerError::Unreachable {
        bootstrap: format!("testcontainers {image}"),
        source_name: "testcontainers",
        timeout: CONTAINER_START_TIMEOUT,
        reason,
    })?;
    Ok(Broker::in_container(bootstrap_servers))
}

/// Fork the container reaper for this process and return the session label
/// value; if that cannot be arranged, say how to clean up by hand rather than
/// leak silently.
fn watch_this_process() -> String {
    let endpoint = harness::broker::DockerEndpoint::from_env();
    match crate::container_reaper::watch_this_process(&endpoint) {
        Ok(session) => session,
        Err(error) => {
            eprintln!(
                "warning: this test run's broker container will outlive it ({error}); remove it \
                 afterwards with: docker rm -f -v $(docker ps -aq --filter label={}={})",
                CONTAINER_LABEL.0, CONTAINER_LABEL.1
            );
            "unwatched".to_string()
        }
    }
}

/// Run `start` on a thread of its own that keeps what it returns alive for the rest
/// of the process, and hand back the bootstrap address it reported.
///
/// A testcontainers container is tied to the runtime that started it, yet must
/// outlive every test's own runtime; a parked keeper thread is the simplest owner
/// that does. Being parked, it is never dropped: `container_reaper` removes the
/// container when the process ends.
fn keep_alive_on_thread<T, F>(name: &str, start: F) -> Result<String, String>
where
    T: 'static,
    F: FnOnce() -> Result<(T, String), String> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || match start() {
            Ok((keep, bootstrap)) => {
                let _ = sender.send(Ok(bootstrap));
                let _keep = keep;
                loop {
                    std::thread::park();
                }
            }
            Err(error) => {
                let _ = sender.send(Err(error));
            }
        })
        .map_err(|error| error.to_string())?;
    receiver
        .recv()
        .map_err(|_| format!("{name} thread ended without an answer"))?
}

#[cfg(test)]
mod tests {
    use super::split_image;

    #[test]
    fn an_image_splits_into_name_and_tag() {
        let split = |image: &str| {
            let (name, tag) = split_image(image);
            format!("{name} | {tag}")
        };
        assert_eq!(split("apache/kafka:4.1.1"), "apache/kafka | 4.1.1");
        assert_eq!(
            split("kafka-resilience-lab/kafka-standin:4.1.1"),
            "kafka-resilience-lab/kafka-standin | 4.1.1"
        );
        assert_eq!(split("registry:5000/kafka"), "registry:5000/kafka | latest");
        assert_eq!(
            split("registry:5000/kafka:4.1.1"),
            "registry:5000/kafka | 4.1.1"
        );
    }
}

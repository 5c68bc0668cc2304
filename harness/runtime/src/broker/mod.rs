//! The one way every binary, test and bench finds a Kafka broker.
//!
//! The order is fixed, and the first rung that applies wins:
//!
//! 1. `KAFKA_BOOTSTRAP_SERVERS` (plus an optional `client.properties` file named by
//!    `KAFKA_CLIENT_PROPERTIES`, for SASL/SSL clusters). If it is set, it is *the*
//!    broker: when it cannot be reached we fail within about 10 s, we never fall back.
//! 2. Tests only: an `apache/kafka` container started with testcontainers, pinned to
//!    [`KAFKA_VERSION`] (or the image `KAFKA_IMAGE` names), when a Docker daemon
//!    answers. One per test binary, removed when the test process ends. The
//!    runtime does not link testcontainers: the grader (`grader::broker`) passes
//!    this rung in as a [`ContainerRung`], so a lab's binaries never carry it.
//! 3. `localhost:9092`, if a broker there answers within about 2 s (that is what
//!    `docker compose up -d` or `scripts/kafka-local start` gives you). Tests try it
//!    too, after Docker: a student who started a local broker and runs plain
//!    `cargo test` on a machine without Docker gets real Kafka, as `cargo run` does,
//!    rather than the mock. (With Docker, tests keep their own container: its
//!    topics and groups start empty, whatever a local broker holds.)
//! 4. Otherwise librdkafka's in-process mock cluster, with a one-line notice.
//!
//! Whatever wins, [`resolve`] prints exactly one line saying which broker is in use,
//! so a student never has to guess what their numbers were measured against, and
//! [`Broker::kafka_version`] asks the broker which Kafka it runs (`probe`).
//!
//! ## Layout (one rung per file)
//!
//! | module | concern |
//! |---|---|
//! | this file | the ladder ([`resolve`]), [`Broker`] and its errors |
//! | `version` | [`KAFKA_VERSION`], pinned once in `.env` |
//! | `configured` | rung 1 (`KAFKA_BOOTSTRAP_SERVERS`, `client.properties`) and the reachability checks rung 3 uses too |
//! | `docker` | whether a Docker daemon answers |
//! | `probe` | which Kafka a broker runs, from its `ApiVersions` answer |
//! | `embedded` | rung 4: librdkafka's mock cluster on a thread of its own |

mod configured;
mod docker;
mod embedded;
mod probe;
mod version;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use thiserror::Error;

pub use configured::read_client_properties;
use configured::{check_reachable, configured_from, tcp_answers};
pub use docker::{docker_answers, DockerEndpoint};
use embedded::start_embedded;
pub use embedded::EmbeddedControl;
pub use probe::{metadata_version_name, probe_version};
pub use version::KAFKA_VERSION;

/// How long a configured broker gets to answer before we give up with a clear error.
pub const CONFIGURED_BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a testcontainers broker gets to start (including the image pull).
pub const CONTAINER_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long `localhost:9092` gets to answer before `cargo run` moves on to the mock.
pub const LOCAL_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Who is asking: tests may start a container (rung 2); both probe localhost:9092.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Test,
    Run,
}

/// Which rung of the ladder produced the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// `KAFKA_BOOTSTRAP_SERVERS`: a real cluster someone configured.
    Configured,
    /// A testcontainers `apache/kafka` container.
    Container,
    /// A broker answering on localhost:9092 (docker compose or scripts/kafka-local).
    Localhost,
    /// librdkafka's in-process mock cluster.
    Embedded,
}

impl BrokerKind {
    /// True for every rung that is an actual Apache Kafka broker.
    pub fn is_real_kafka(self) -> bool {
        !matches!(self, BrokerKind::Embedded)
    }
}

/// A resolved broker: where it is, what it is, and the extra client properties
/// (SASL/SSL) every client must carry.
#[derive(Debug, Clone)]
pub struct Broker {
    pub bootstrap_servers: String,
    pub kind: BrokerKind,
    properties: Vec<(String, String)>,
    /// For the embedded mock: a line to the thread that owns it.
    embedded: Option<EmbeddedControl>,
}

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(
        "cannot reach the Kafka broker at {bootstrap} (from {source_name}) within {} s: {reason}; \
         check the address, that the broker is running, and any SASL/SSL settings in --client-properties; \
         for the embedded broker instead, give no --bootstrap-servers and unset KAFKA_BOOTSTRAP_SERVERS",
        timeout.as_secs()
    )]
    Unreachable {
        bootstrap: String,
        source_name: &'static str,
        timeout: Duration,
        reason: String,
    },
    #[error("cannot read the client properties file {path}: {reason}")]
    Properties { path: PathBuf, reason: String },
    #[error("the embedded mock cluster failed to start: {0}")]
    Embedded(String),
    #[error("invalid Kafka client configuration: {0}")]
    Config(String),
}

impl Broker {
    /// A configured broker (rung 1), not yet checked: see [`Broker::verify`].
    pub fn configured(bootstrap_servers: &str, properties: Vec<(String, String)>) -> Broker {
        Broker {
            bootstrap_servers: bootstrap_servers.to_string(),
            kind: BrokerKind::Configured,
            properties,
            embedded: None,
        }
    }

    /// A broker started in a container by the testcontainers rung (the grader's).
    pub fn in_container(bootstrap_servers: String) -> Broker {
        Broker {
            bootstrap_servers,
            kind: BrokerKind::Container,
            properties: Vec::new(),
            embedded: None,
        }
    }

    /// Fail with a clear [`BrokerError::Unreachable`] unless the broker answers a
    /// metadata request within [`CONFIGURED_BROKER_TIMEOUT`].
    pub async fn verify(&self) -> Result<(), BrokerError> {
        check_reachable(
            self,
            "--bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS",
            CONFIGURED_BROKER_TIMEOUT,
        )
        .await
    }

    /// Which Kafka this broker runs, asked of the broker (see `probe`):
    /// `Apache Kafka 4.1.x (metadata.version 4.1-IV1)`, `librdkafka mock cluster`,
    /// or `version unknown (…)` when it cannot be learnt. Takes at most a few seconds.
    pub async fn kafka_version(&self) -> String {
        if self.kind == BrokerKind::Embedded {
            return "librdkafka mock cluster".into();
        }
        let secured = self.properties.iter().any(|(key, value)| {
            key == "security.protocol" && !value.eq_ignore_ascii_case("plaintext")
        });
        if secured {
            return "version unknown (SASL/SSL)".into();
        }
        probe_version(&self.bootstrap_servers)
            .await
            .unwrap_or_else(|| "version unknown (no ApiVersions answer)".into())
    }

    /// The embedded mock cluster's control handle, if this broker is the mock.
    pub fn embedded(&self) -> Option<&EmbeddedControl> {
        self.embedded.as_ref()
    }

    /// A `ClientConfig` pointing at this broker, with the SASL/SSL properties applied.
    /// Every client in the workshop starts from this.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config.set("bootstrap.servers", &self.bootstrap_servers);
        config
    }

    /// A short name for tables: `Apache Kafka at host:port`, `embedded mock cluster`.
    pub fn label(&self) -> String {
        match self.kind {
            BrokerKind::Embedded => "embedded librdkafka mock cluster".to_string(),
            BrokerKind::Container => format!(
                "Apache Kafka {KAFKA_VERSION} (testcontainers) at {}",
                self.bootstrap_servers
            ),
            BrokerKind::Configured | BrokerKind::Localhost => {
                format!("Kafka at {}", self.bootstrap_servers)
            }
        }
    }

    /// The one line printed when a program starts.
    pub fn describe(&self) -> String {
        match self.kind {
            BrokerKind::Configured => format!(
                "broker: {} (--bootstrap-servers or KAFKA_BOOTSTRAP_SERVERS{})",
                self.bootstrap_servers,
                if self.properties.is_empty() {
                    String::new()
                } else {
                    format!(", {} client properties", self.properties.len())
                }
            ),
            BrokerKind::Container => format!(
                "broker: Apache Kafka {KAFKA_VERSION} in a testcontainers container at {}",
                self.bootstrap_servers
            ),
            BrokerKind::Localhost => format!(
                "broker: {} (a local broker answered: docker compose or scripts/kafka-local)",
                self.bootstrap_servers
            ),
            BrokerKind::Embedded => format!(
                "broker: embedded librdkafka mock cluster at {} (no KAFKA_BOOTSTRAP_SERVERS and nothing on localhost:9092; \
                 numbers are indicative: for a real broker run `docker compose up -d` or `scripts/kafka-local start`)",
                self.bootstrap_servers
            ),
        }
    }
}

/// Rung 1's inputs: what the user chose, from a flag or its environment variable.
///
/// Every binary takes `--bootstrap-servers` and `--client-properties` (clap reads
/// `KAFKA_BOOTSTRAP_SERVERS` and `KAFKA_CLIENT_PROPERTIES` when the flag is
/// absent); tests and benches, which have no flags, use [`BrokerChoice::from_env`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BrokerChoice {
    /// `bootstrap.servers`; when set, it is *the* broker (no fallback).
    pub bootstrap_servers: Option<String>,
    /// A `client.properties` file (SASL/SSL settings, maybe `bootstrap.servers`).
    pub client_properties: Option<PathBuf>,
}

impl BrokerChoice {
    /// `KAFKA_BOOTSTRAP_SERVERS` and `KAFKA_CLIENT_PROPERTIES`, as the environment has them.
    pub fn from_env() -> BrokerChoice {
        BrokerChoice {
            bootstrap_servers: std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok(),
            client_properties: std::env::var_os("KAFKA_CLIENT_PROPERTIES").map(PathBuf::from),
        }
    }
}

/// Rung 2, supplied by whoever links testcontainers (only `grader::broker` does):
/// starts a container and returns its broker.
pub type ContainerRung = fn() -> Pin<Box<dyn Future<Output = Result<Broker, BrokerError>> + Send>>;

/// Resolve the broker for this program, printing the one line that says which.
/// Without a [`ContainerRung`] there is no rung 2: tests resolve through
/// `grader::broker::shared_test_broker`, which supplies it.
pub async fn resolve(purpose: Purpose) -> Result<Broker, BrokerError> {
    resolve_with(purpose, None).await
}

/// [`resolve`], with rung 1 taken from `choice` (a binary's flags) instead of the
/// environment.
pub async fn resolve_chosen(
    purpose: Purpose,
    choice: &BrokerChoice,
) -> Result<Broker, BrokerError> {
    let broker = resolve_ladder(purpose, choice, None).await?;
    eprintln!("{}", broker.describe());
    Ok(broker)
}

/// [`resolve`], with the testcontainers rung when `container` is given (tests only).
pub async fn resolve_with(
    purpose: Purpose,
    container: Option<ContainerRung>,
) -> Result<Broker, BrokerError> {
    let broker = resolve_quietly_with(purpose, container).await?;
    eprintln!("{}", broker.describe());
    Ok(broker)
}

/// [`resolve`] without the printed line (for callers that print it their own way).
pub async fn resolve_quietly(purpose: Purpose) -> Result<Broker, BrokerError> {
    resolve_quietly_with(purpose, None).await
}

/// The ladder with rung 1 from the environment; see the module docs for the order.
pub async fn resolve_quietly_with(
    purpose: Purpose,
    container: Option<ContainerRung>,
) -> Result<Broker, BrokerError> {
    resolve_ladder(purpose, &BrokerChoice::from_env(), container).await
}

/// The ladder itself; see the module docs for the order.
async fn resolve_ladder(
    purpose: Purpose,
    choice: &BrokerChoice,
    container: Option<ContainerRung>,
) -> Result<Broker, BrokerError> {
    if let Some(broker) = configured_from(choice)? {
        broker.verify().await?;
        return Ok(broker);
    }
    if let (Purpose::Test, Some(start_container)) = (purpose, container) {
        if docker_answers() {
            return start_container().await;
        }
    }
    if let Some(local) = local_broker().await {
        return Ok(local);
    }
    start_embedded()
}

/// Rungs 1 and 3 only, the real brokers already running, as `cargo run` finds
/// them: the configured broker (checked), else `localhost:9092` if it answers,
/// else `None` (nothing is started). `grade` uses it to choose the broker its
/// child `cargo test` must use.
pub async fn find_running(choice: &BrokerChoice) -> Result<Option<Broker>, BrokerError> {
    if let Some(broker) = configured_from(choice)? {
        broker.verify().await?;
        return Ok(Some(broker));
    }
    Ok(local_broker().await)
}

/// Rung 3: a broker answering on localhost:9092 within [`LOCAL_PROBE_TIMEOUT`].
async fn local_broker() -> Option<Broker> {
    let local = Broker {
        bootstrap_servers: "localhost:9092".to_string(),
        kind: BrokerKind::Localhost,
        properties: Vec::new(),
        embedded: None,
    };
    let answers = tcp_answers("127.0.0.1:9092", LOCAL_PROBE_TIMEOUT)
        && check_reachable(&local, "localhost probe", LOCAL_PROBE_TIMEOUT)
            .await
            .is_ok();
    answers.then_some(local)
}

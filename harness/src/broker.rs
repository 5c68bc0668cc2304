//! The one way every binary, test and bench finds a Kafka broker.
//!
//! The order is fixed, and the first rung that applies wins:
//!
//! 1. `KAFKA_BOOTSTRAP_SERVERS` (plus an optional `client.properties` file named by
//!    `KAFKA_CLIENT_PROPERTIES`, for SASL/SSL clusters). If it is set, it is *the*
//!    broker: when it cannot be reached we fail within about 10 s, we never fall back.
//! 2. Tests only: an `apache/kafka` container started with testcontainers, pinned to
//!    [`KAFKA_VERSION`], when a Docker daemon answers. One per test binary.
//! 3. `cargo run` only: `localhost:9092`, if a broker there answers within about 2 s
//!    (that is what `docker compose up -d` gives you).
//! 4. Otherwise librdkafka's in-process mock cluster, with a one-line notice.
//!
//! Whatever wins, [`resolve`] prints exactly one line saying which broker is in use,
//! so a student never has to guess what their numbers were measured against.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, Producer};
use thiserror::Error;

/// The pinned Apache Kafka version, read at compile time from the repository's `.env`
/// (the same file `docker compose` and `scripts/kafka-local` read).
pub const KAFKA_VERSION: &str = pinned_kafka_version();

const fn pinned_kafka_version() -> &'static str {
    // A tiny const parser: `.env` holds `KAFKA_VERSION=x.y.z` on its own line.
    const ENV: &str = include_str!("../../.env");
    const KEY: &[u8] = b"KAFKA_VERSION=";
    let bytes = ENV.as_bytes();
    let mut i = 0;
    while i + KEY.len() <= bytes.len() {
        let at_line_start = i == 0 || bytes[i - 1] == b'\n';
        let mut matches = at_line_start;
        let mut k = 0;
        while matches && k < KEY.len() {
            matches = bytes[i + k] == KEY[k];
            k += 1;
        }
        if matches {
            let start = i + KEY.len();
            let mut end = start;
            while end < bytes.len() && bytes[end] != b'\n' && bytes[end] != b'\r' {
                end += 1;
            }
            let (_, rest) = bytes.split_at(start);
            let (value, _) = rest.split_at(end - start);
            return match std::str::from_utf8(value) {
                Ok(v) => v,
                Err(_) => panic!(".env: KAFKA_VERSION is not UTF-8"),
            };
        }
        i += 1;
    }
    panic!(".env has no KAFKA_VERSION line")
}

/// How long a configured broker gets to answer before we give up with a clear error.
pub const CONFIGURED_BROKER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a testcontainers broker gets to start (including the image pull).
pub const CONTAINER_START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long `localhost:9092` gets to answer before `cargo run` moves on to the mock.
pub const LOCAL_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Who is asking: tests may start a container, `cargo run` may probe localhost.
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

/// What can be asked of the mock cluster's owner thread.
enum MockCommand {
    CreateTopic {
        name: String,
        partitions: i32,
        reply: mpsc::Sender<Result<(), String>>,
    },
}

/// A handle on the embedded mock cluster, which lives on a thread of its own
/// (it is not `Send`). The mock does not implement the admin API's CreateTopics,
/// so topic creation goes through its own mock API instead.
#[derive(Debug, Clone)]
pub struct EmbeddedControl(mpsc::Sender<MockCommand>);

impl std::fmt::Debug for MockCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MockCommand::CreateTopic {
                name, partitions, ..
            } => write!(f, "CreateTopic({name}, {partitions})"),
        }
    }
}

impl EmbeddedControl {
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), String> {
        let (reply, answer) = mpsc::channel();
        self.0
            .send(MockCommand::CreateTopic {
                name: name.to_string(),
                partitions,
                reply,
            })
            .map_err(|_| "the embedded cluster is gone".to_string())?;
        answer
            .recv()
            .map_err(|_| "the embedded cluster is gone".to_string())?
    }
}

#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(
        "cannot reach the Kafka broker at {bootstrap} (from {source_name}) within {timeout:?}: {reason}.\n\
         Check the address, that the broker is running, and any SASL/SSL settings in KAFKA_CLIENT_PROPERTIES.\n\
         To use the embedded broker instead, unset KAFKA_BOOTSTRAP_SERVERS (and any bootstrap.servers in KAFKA_CLIENT_PROPERTIES)."
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

    /// Fail with a clear [`BrokerError::Unreachable`] unless the broker answers a
    /// metadata request within [`CONFIGURED_BROKER_TIMEOUT`].
    pub async fn verify(&self) -> Result<(), BrokerError> {
        check_reachable(self, "KAFKA_BOOTSTRAP_SERVERS", CONFIGURED_BROKER_TIMEOUT).await
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
                "broker: {} (KAFKA_BOOTSTRAP_SERVERS{})",
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
                "broker: embedded librdkafka mock cluster at {} (no KAFKA_BOOTSTRAP_SERVERS and no local broker; \
                 numbers are indicative, run `docker compose up -d` for a real broker)",
                self.bootstrap_servers
            ),
        }
    }
}

/// Resolve the broker for this program, printing the one line that says which.
pub async fn resolve(purpose: Purpose) -> Result<Broker, BrokerError> {
    let broker = resolve_quietly(purpose).await?;
    eprintln!("{}", broker.describe());
    Ok(broker)
}

/// [`resolve`] without the printed line (for callers that print it their own way).
pub async fn resolve_quietly(purpose: Purpose) -> Result<Broker, BrokerError> {
    if let Some(broker) = configured_from_env()? {
        broker.verify().await?;
        return Ok(broker);
    }
    if purpose == Purpose::Test && docker_answers() {
        return start_container().await;
    }
    if purpose == Purpose::Run {
        let local = Broker {
            bootstrap_servers: "localhost:9092".to_string(),
            kind: BrokerKind::Localhost,
            properties: Vec::new(),
            embedded: None,
        };
        if tcp_answers("127.0.0.1:9092", LOCAL_PROBE_TIMEOUT)
            && check_reachable(&local, "localhost probe", LOCAL_PROBE_TIMEOUT)
                .await
                .is_ok()
        {
            return Ok(local);
        }
    }
    start_embedded()
}

/// The broker shared by every test in one test binary, resolved once.
///
/// Tests each run on their own tokio runtime, so the container or mock cluster is
/// owned by a keeper thread (see [`keep_alive_on_thread`]) rather than by a runtime.
pub async fn shared_test_broker() -> &'static Broker {
    static BROKER: tokio::sync::OnceCell<Broker> = tokio::sync::OnceCell::const_new();
    BROKER
        .get_or_init(|| async {
            match resolve(Purpose::Test).await {
                Ok(broker) => broker,
                Err(error) => panic!("no Kafka broker for the tests: {error}"),
            }
        })
        .await
}

/// Rung 1: `KAFKA_BOOTSTRAP_SERVERS`, plus `KAFKA_CLIENT_PROPERTIES`.
fn configured_from_env() -> Result<Option<Broker>, BrokerError> {
    let mut properties = match std::env::var_os("KAFKA_CLIENT_PROPERTIES") {
        Some(path) if !path.is_empty() => read_client_properties(Path::new(&path))?,
        _ => Vec::new(),
    };
    // Confluent's client.properties files carry bootstrap.servers themselves; the
    // environment variable wins when both are present.
    let from_file = properties
        .iter()
        .position(|(key, _)| key == "bootstrap.servers")
        .map(|index| properties.remove(index).1);
    let bootstrap = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .ok()
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
async fn check_reachable(
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

fn tcp_answers(address: &str, timeout: Duration) -> bool {
    address
        .parse()
        .ok()
        .and_then(|addr| std::net::TcpStream::connect_timeout(&addr, timeout).ok())
        .is_some()
}

/// True when a Docker daemon answers: `GET /_ping` on its Unix socket, or a TCP
/// connection for a `tcp://` `DOCKER_HOST`, within 2 s.
///
/// A docker *client* on the PATH proves nothing (CI machines have one and no
/// engine), so we ask the daemon itself.
pub fn docker_answers() -> bool {
    let socket = match std::env::var("DOCKER_HOST") {
        Ok(host) if host.starts_with("unix://") => PathBuf::from(&host["unix://".len()..]),
        Ok(host) if host.starts_with("tcp://") => {
            let address = host["tcp://".len()..].trim_end_matches('/');
            return std::net::ToSocketAddrs::to_socket_addrs(address)
                .ok()
                .and_then(|mut addrs| addrs.next())
                .and_then(|addr| {
                    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()
                })
                .is_some();
        }
        _ => PathBuf::from("/var/run/docker.sock"),
    };
    ping_unix_socket(&socket).unwrap_or(false)
}

#[cfg(unix)]
fn ping_unix_socket(path: &Path) -> std::io::Result<bool> {
    let mut stream = std::os::unix::net::UnixStream::connect(path)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply.starts_with("HTTP/1.") && reply.contains(" 200 "))
}

#[cfg(not(unix))]
fn ping_unix_socket(_path: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Run `start` on a thread of its own that keeps what it returns alive for the rest
/// of the process, and hand back the bootstrap address it reported.
///
/// A testcontainers container is tied to the runtime that started it, yet must
/// outlive every test's own runtime; a parked keeper thread is the simplest owner
/// that does. Like rust-rdkafka's own test suite, we
/// accept that the container is reaped by Ryuk rather than dropped.
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

/// Rung 4: the in-process mock cluster (3 brokers, like a small real cluster),
/// owned by a thread that serves [`EmbeddedControl`] requests for the rest of the
/// process.
fn start_embedded() -> Result<Broker, BrokerError> {
    let (commands, inbox) = mpsc::channel::<MockCommand>();
    let (ready, started) = mpsc::channel();
    std::thread::Builder::new()
        .name("embedded-kafka".into())
        .spawn(move || {
            // The cluster belongs to a client created with `test.mock.num.brokers`,
            // which gives us its native handle to tune (see below).
            let owner: BaseProducer = match ClientConfig::new()
                .set("test.mock.num.brokers", "3")
                .set("log_level", "3")
                .create()
            {
                Ok(owner) => owner,
                Err(error) => {
                    let _ = ready.send(Err(error.to_string()));
                    return;
                }
            };
            let Some(cluster) = owner.client().mock_cluster() else {
                let _ = ready.send(Err("librdkafka created no mock cluster".into()));
                return;
            };
            // A real broker delays a new group's first rebalance by
            // group.initial.rebalance.delay.ms (3 s by default; our brokers set 0).
            // The mock copies that default, and members with a short session timeout
            // (Lab 4.1's group step) expire while they wait, so we set 0 here too.
            // SAFETY: the mock cluster pointer comes from a live client that this
            // thread owns and keeps alive for the rest of the process.
            unsafe {
                let native =
                    rdkafka::bindings::rd_kafka_handle_mock_cluster(owner.client().native_ptr());
                if !native.is_null() {
                    rdkafka::bindings::rd_kafka_mock_group_initial_rebalance_delay_ms(native, 0);
                }
            }
            let _ = ready.send(Ok(cluster.bootstrap_servers()));
            // Serve requests until every handle is dropped; then park, because
            // clients may still be talking to the cluster until the process exits.
            for command in inbox {
                match command {
                    MockCommand::CreateTopic {
                        name,
                        partitions,
                        reply,
                    } => {
                        let _ = reply.send(
                            cluster
                                .create_topic(&name, partitions, 1)
                                .map_err(|e| e.to_string()),
                        );
                    }
                }
            }
            loop {
                std::thread::park();
            }
        })
        .map_err(|error| BrokerError::Embedded(error.to_string()))?;
    let bootstrap_servers = started
        .recv()
        .map_err(|_| BrokerError::Embedded("the embedded cluster thread died".into()))?
        .map_err(BrokerError::Embedded)?;
    Ok(Broker {
        bootstrap_servers,
        kind: BrokerKind::Embedded,
        properties: Vec::new(),
        embedded: Some(EmbeddedControl(commands)),
    })
}

/// Rung 2: an `apache/kafka` JVM container at our pinned version.
async fn start_container() -> Result<Broker, BrokerError> {
    use testcontainers_modules::kafka::apache::{Kafka, KAFKA_PORT};
    use testcontainers_modules::testcontainers::runners::AsyncRunner;
    use testcontainers_modules::testcontainers::ImageExt;

    let started = tokio::task::spawn_blocking(|| {
        keep_alive_on_thread("kafka-container", || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            let starting = async {
                let container = Kafka::default()
                    .with_jvm_image()
                    .with_tag(KAFKA_VERSION)
                    // The same broker settings as docker-compose.yml and scripts/kafka-local.
                    .with_env_var("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
                    .with_env_var("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "1000")
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
        bootstrap: "testcontainers apache/kafka".into(),
        source_name: "testcontainers",
        timeout: CONTAINER_START_TIMEOUT,
        reason,
    })?;
    Ok(Broker {
        bootstrap_servers,
        kind: BrokerKind::Container,
        properties: Vec::new(),
        embedded: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_version_comes_from_dot_env() {
        assert!(KAFKA_VERSION.starts_with("4."), "{KAFKA_VERSION}");
    }

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

//! Rung 4: librdkafka's in-process mock cluster.

use std::sync::mpsc;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, Producer};

use super::{Broker, BrokerError, BrokerKind};

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

/// Rung 4: the in-process mock cluster (3 brokers, like a small real cluster),
/// owned by a thread that serves [`EmbeddedControl`] requests for the rest of the
/// process.
pub(super) fn start_embedded() -> Result<Broker, BrokerError> {
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

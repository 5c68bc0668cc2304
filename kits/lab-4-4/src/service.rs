//! The payment service (seed 004's "Robust Event Processor"): Lab 4.3's pipeline
//! running for good, with the admin API beside it, and a shutdown that loses
//! nothing.
//!
//! Shutdown order, and why:
//! 1. The API stops accepting requests and finishes the ones in flight, and any
//!    replay or purge still running, each within [`HTTP_DRAIN_TIMEOUT`]. (A replay
//!    cut short is resumed from the journal; at worst its current record is sent
//!    again.)
//! 2. Every pipeline member finishes the record in hand and leaves its group.
//!    It commits only after a record was processed or its forward acknowledged,
//!    so whatever it had not finished is simply consumed again by the next
//!    member: left uncommitted, never lost.
//! 3. The lag sampler stops; producers are flushed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use harness::clock::now_ms;
use harness::Broker;
use lab_4_3_kit::pipeline::{forward_producer, FORWARD_TIMEOUT};
use lab_4_3_kit::running::RunningPipeline;
use lab_4_3_solution::Solution as PipelineSolution;
use rdkafka::producer::Producer;
use tokio::sync::{watch, Mutex};
use tokio::task::JoinHandle;

use crate::config::ServiceConfig;
use crate::journal::ReplayJournal;
use crate::metrics::{sample_lag, Metrics, Thresholds};
use crate::topology::Topology;
use crate::Exercise;

// Its home before `state.rs`: the old path keeps working.
pub use crate::state::AppState;

/// How long requests in flight get to finish after a shutdown was asked for. A
/// client that stalls mid-request must not keep the pipeline from stopping
/// (Kubernetes sends SIGKILL 30 s after SIGTERM).
pub const HTTP_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How often consumer lag is sampled.
pub const LAG_SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// A running service.
pub struct ServiceHandle {
    /// Where the API listens (the real port when the config asked for port 0).
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl ServiceHandle {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shut down as on SIGTERM (see the module docs) and wait until done.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.context("the service task panicked")?
    }

    /// Has the service stopped on its own (an error)?
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Create the topics, start the pipeline and the API.
pub async fn start<E: Exercise>(
    broker: &Broker,
    config: ServiceConfig,
) -> anyhow::Result<ServiceHandle> {
    let metrics = Arc::new(Metrics::new()?);
    let mut pipeline = config.pipeline();
    pipeline.extensions.observer = Some(metrics.clone());
    let switches = pipeline.gateway.switches.clone();
    let topology = Topology::new(pipeline, config.partitions);
    topology.create_topics(broker).await?;

    let roles = RunningPipeline::<PipelineSolution>::all_roles(&topology.pipeline);
    let running =
        RunningPipeline::<PipelineSolution>::start(broker, topology.pipeline.clone(), &roles)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding the admin API to {}", config.listen))?;
    let addr = listener.local_addr()?;

    let forward = forward_producer(broker, FORWARD_TIMEOUT)?;
    let state = Arc::new(AppState {
        thresholds: Thresholds {
            dlq_rate: config.alert_dlq_rate,
            min_outcomes: config.alert_min_outcomes,
            max_lag: config.alert_max_lag,
        },
        payments: harness::producer::payment_producer(broker)?,
        journal: ReplayJournal::new(broker, &topology.pipeline.dlq_topic, forward.clone()),
        forward,
        config,
        broker: broker.clone(),
        topology,
        metrics: metrics.clone(),
        switches,
        pipeline_running: AtomicBool::new(true),
        started_at_ms: now_ms(),
        operations: Mutex::new(()),
    });
    let lag_stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_lag(
        broker,
        &state.topology,
        metrics,
        LAG_SAMPLE_INTERVAL,
        lag_stop.clone(),
    )?;

    let (shutdown, requested) = watch::channel(false);
    let app = crate::api::router::<E>(state.clone());
    let task_state = state.clone();
    let task = tokio::spawn(async move {
        let pipeline = Arc::new(Mutex::new(Some(running)));
        let watchdog = tokio::spawn(watch_members(pipeline.clone(), task_state.clone()));
        let mut drain_started = requested.clone();
        let mut stop_accepting = requested;
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = stop_accepting.wait_for(|asked| *asked).await;
        });
        let served = tokio::select! {
            served = std::future::IntoFuture::into_future(server) => served,
            _ = async {
                let _ = drain_started.wait_for(|asked| *asked).await;
                tokio::time::sleep(HTTP_DRAIN_TIMEOUT).await;
            } => {
                tracing::warn!("requests still in flight after {} s: stopping anyway", HTTP_DRAIN_TIMEOUT.as_secs());
                Ok(())
            }
        };
        watchdog.abort();
        // A replay or purge runs in a task of its own (so a client hanging up
        // cannot cut it between a send and its journal record): let it finish too,
        // within the same bound, before anything it uses goes away.
        if tokio::time::timeout(HTTP_DRAIN_TIMEOUT, task_state.operations.lock())
            .await
            .is_err()
        {
            tracing::warn!("a replay or purge still running after {} s: stopping anyway (its next run resumes from the journal)", HTTP_DRAIN_TIMEOUT.as_secs());
        }
        let stopped = match pipeline.lock().await.take() {
            Some(running) => running.stop().await,
            None => Ok(()),
        };
        // The sampler notices within 50 ms, or after its current broker call (up
        // to 5 s when the broker is gone): not worth waiting for.
        lag_stop.store(true, Ordering::Relaxed);
        drop(sampler);
        // flush blocks (up to its timeout): off the async workers.
        let producers = task_state.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let _ = producers.payments.flush(Duration::from_secs(5));
            let _ = producers.forward.flush(Duration::from_secs(5));
        })
        .await;
        served.context("the admin API failed")?;
        stopped
    });
    Ok(ServiceHandle {
        addr,
        state,
        shutdown,
        task,
    })
}

/// Notice a pipeline member that stopped on an error (`/health` then says DOWN).
async fn watch_members(
    pipeline: Arc<Mutex<Option<RunningPipeline<PipelineSolution>>>>,
    state: Arc<AppState>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        if let Some(running) = pipeline.lock().await.as_ref() {
            if let Some(role) = running.failed_member() {
                tracing::error!("pipeline member {} stopped", role.member_name());
                state.pipeline_running.store(false, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Resolves on SIGTERM (what `docker stop` and Kubernetes send) or Ctrl-C.
pub async fn termination_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

//! The `main`s of the lab's binaries, generic over the [`Exercise`], so the
//! starter and the reference solution share them.

use std::time::Duration;

use clap::Parser;
use harness::args::{exit_on_error, BrokerArgs};
use harness::Purpose;

use crate::config::ServiceConfig;

use crate::Exercise;

#[derive(Parser)]
#[command(
    about = "The payment service (seed 004's Robust Event Processor): Lab 4.3's pipeline plus the admin API, until SIGTERM or Ctrl-C"
)]
struct ServiceArgs {
    #[command(flatten)]
    config: ServiceConfig,
    #[command(flatten)]
    broker: BrokerArgs,
}

/// `payment-service`. An error is printed as one line and ends the process
/// with status 1 ([`exit_on_error`]), so this returns only on success.
pub async fn service_main<E: Exercise>() -> anyhow::Result<()> {
    harness::init_tracing();
    exit_on_error(serve::<E>(ServiceArgs::parse()).await);
    Ok(())
}

async fn serve<E: Exercise>(args: ServiceArgs) -> anyhow::Result<()> {
    let broker = args.broker.resolve(Purpose::Run).await?;
    if args.config.admin_token.is_none() {
        tracing::warn!(
            "no ADMIN_TOKEN: replay, purge and the config switches will refuse every request"
        );
    }
    let service = crate::service::start::<E>(&broker, args.config.clone()).await?;
    let pipeline = &service.state.topology.pipeline;
    println!(
        "payment service: {} -> {} retry levels ({}) -> {}; admin API on {}",
        pipeline.topic,
        pipeline.levels(),
        pipeline.policy,
        pipeline.dlq_topic,
        service.base_url()
    );
    println!(
        "try: curl -s {}/health ; curl -s {}/api/v1/stats ; curl -s {}/metrics",
        service.base_url(),
        service.base_url(),
        service.base_url()
    );
    tokio::select! {
        _ = crate::service::termination_signal() => {
            tracing::info!("stopping: finishing the records in hand, leaving the rest uncommitted (again to quit now) ...");
            tokio::spawn(async {
                crate::service::termination_signal().await;
                // Nothing is lost: what is uncommitted is consumed again, and a
                // replay cut short resumes from its journal (at worst resending
                // one record).
                tracing::warn!("stopping now: uncommitted records will be consumed again");
                std::process::exit(130);
            });
        }
        _ = wait_until_finished(&service) => {}
    }
    service.shutdown().await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn wait_until_finished(service: &crate::service::ServiceHandle) {
    while !service.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! Feeding the queue from NATS JetStream: pull a batch, accept it, acknowledge it.

use std::time::Duration;

use order_agent_adapters::events::{accept_batch, EventSource, JetStreamConfig, JetStreamSource};
use order_agent_core::agent::Agent;

use crate::error::CliError;

/// Events pulled per batch.
const BATCH: usize = 64;

/// Connects to the stream's durable consumer (both created when missing).
pub(super) async fn connect(
    url: &str,
    stream: &str,
    subject: &str,
    consumer: &str,
) -> Result<JetStreamSource, CliError> {
    let config = JetStreamConfig::new(url, stream, subject, consumer);
    JetStreamSource::connect(&config)
        .await
        .map_err(|e| CliError::usage(format!("cannot consume from NATS at `{url}`: {e}")))
}

/// Pulls one batch (waiting at most `wait`) into the queue; whether anything arrived.
pub(super) async fn pull_once(
    source: &JetStreamSource,
    agent: &Agent,
    name: &str,
    wait: Duration,
) -> bool {
    let deliveries = match source.pull(BATCH, wait).await {
        Ok(deliveries) => deliveries,
        Err(e) => {
            eprintln!("worker {name}: {e}");
            return false;
        }
    };
    if deliveries.is_empty() {
        return false;
    }
    match accept_batch(agent, source, deliveries, Duration::from_secs(1)).await {
        Ok(report) => {
            outln!(
                "worker {name}: accepted {} new {} handed-back {} rejected {} from nats",
                report.accepted,
                report.new,
                report.handed_back,
                report.rejected.len()
            );
            for (id, why) in &report.rejected {
                eprintln!("worker {name}: rejected message `{id}` from nats: {why}");
            }
        }
        Err(e) => eprintln!("worker {name}: {e} (the messages come again)"),
    }
    true
}

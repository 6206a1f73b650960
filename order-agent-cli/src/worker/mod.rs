//! `order-agent worker`: one of any number of processes working the durable event queue in a
//! shared PostgreSQL schema, optionally feeding it from a NATS JetStream stream.
//!
//! The queue hands each worker whole ordering keys (one order or return at a time) under a
//! lease; a worker that dies loses its claims when the lease expires and another takes over.
//! The clock is the machine's, so that every worker process agrees on when a lease expires;
//! the demo shop's orders are laid out around `--shop-time`, which all workers of one run must
//! share (by default the start of the current UTC day).

mod nats;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;
use order_agent_adapters::store::{PostgresConfig, PostgresStore};
use order_agent_core::agent::{Agent, QueueConfig, QueueReport};
use order_agent_core::ports::SystemClock;
use order_agent_testkit::world::World;

use crate::error::CliError;

/// Arguments of `order-agent worker`.
#[derive(Debug, Args)]
#[command(after_help = "\
OUTPUT:
  The first line is `worker NAME: ready`. Then one line per pass that claimed events:
  `worker NAME: claimed C completed D retried R given-up G lost-claims L total-completed T`,
  and with --nats one line per batch: `worker NAME: accepted A new N handed-back B rejected R
  from nats`.
  SIGINT or SIGTERM stops the worker after the event in hand.")]
pub(crate) struct WorkerArgs {
    /// PostgreSQL connection URL, e.g. `postgres://postgres@127.0.0.1:5432/test`.
    #[arg(long, value_name = "URL")]
    postgres: String,
    /// The schema holding the agent's tables, created when missing.
    #[arg(long, value_name = "SCHEMA", default_value = "order_agent")]
    schema: String,
    /// This worker's name, unique among the workers sharing the schema.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// How long a claim holds before another worker may take it over, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = QueueConfig::default().lease_seconds)]
    lease_seconds: u32,
    /// Events claimed per pass.
    #[arg(long, value_name = "N", default_value_t = 16)]
    batch: usize,
    /// Pause when the queue had nothing due, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 50)]
    idle_ms: u64,
    /// The demo shop's "now" (RFC 3339); every worker of one run must get the same
    /// [default: the start of the current UTC day].
    #[arg(long, value_name = "TIME")]
    shop_time: Option<DateTime<Utc>>,
    /// NATS server URL: also pull events from JetStream into the queue.
    #[arg(long, value_name = "URL", requires_all = ["stream", "subject"])]
    nats: Option<String>,
    /// The JetStream stream to consume.
    #[arg(long, value_name = "STREAM", requires = "nats")]
    stream: Option<String>,
    /// The subject (filter) to consume.
    #[arg(long, value_name = "SUBJECT", requires = "nats")]
    subject: Option<String>,
    /// The durable consumer's name, shared by the workers that split the stream.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "order-agent",
        requires = "nats"
    )]
    consumer: String,
}

/// Runs the worker until SIGINT or SIGTERM.
pub(crate) fn run(args: WorkerArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(work(args))
}

async fn work(args: WorkerArgs) -> Result<ExitCode, CliError> {
    let mut config = PostgresConfig::new(args.postgres.clone()).with_schema(args.schema.clone());
    config.pool_size = 4;
    let store = PostgresStore::connect(&config)
        .await
        .map_err(|e| CliError::usage(format!("cannot connect to PostgreSQL: {e}")))?;
    let shop_time = args.shop_time.unwrap_or_else(start_of_today);
    let world = World::demo_at(shop_time);
    run_clock(&world);
    let mut ports = world.ports();
    ports.store = Arc::new(store);
    ports.clock = Arc::new(SystemClock::new());
    let mut agent_config = World::demo_config();
    agent_config.queue.lease_seconds = args.lease_seconds.max(1);
    let policy = World::demo_policy()
        .map_err(|e| CliError::failed(format!("the demo policy does not parse: {e}")))?;
    let agent = Agent::new(ports, policy, agent_config)
        .map_err(|e| CliError::failed(format!("cannot build the agent: {e}")))?;

    let source = match &args.nats {
        Some(url) => Some(
            nats::connect(
                url,
                args.stream.as_deref().unwrap_or_default(),
                args.subject.as_deref().unwrap_or_default(),
                &args.consumer,
            )
            .await?,
        ),
        None => None,
    };

    let stop = shutdown_signal()?;
    tokio::pin!(stop);
    let name = args.name.as_str();
    let idle = Duration::from_millis(args.idle_ms.max(1));
    let batch = args.batch.max(1);
    let mut total_completed = 0usize;
    let mut queue_busy = false;
    outln!("worker {name}: ready");
    loop {
        let mut busy = false;
        if let Some(source) = &source {
            // Waiting for messages is the idle pause; an interrupted batch is not acknowledged
            // and comes again.
            let wait = if queue_busy {
                Duration::from_millis(1)
            } else {
                idle
            };
            tokio::select! {
                arrived = nats::pull_once(source, &agent, name, wait) => busy |= arrived,
                () = &mut stop => break,
            }
        }
        match agent.work_queue(name, batch).await {
            Ok(report) => {
                total_completed += report.completed;
                queue_busy = report.claimed > 0;
                if report.claimed > 0 {
                    busy = true;
                    progress(name, &report, total_completed);
                }
            }
            Err(e) => {
                eprintln!("worker {name}: the event queue is unavailable: {e}");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = &mut stop => break,
                }
                continue;
            }
        }
        if !busy && source.is_none() {
            tokio::select! {
                () = tokio::time::sleep(idle) => {}
                () = &mut stop => break,
            }
        }
    }
    outln!("worker {name}: stopped, {total_completed} events completed");
    Ok(ExitCode::SUCCESS)
}

fn progress(name: &str, report: &QueueReport, total_completed: usize) {
    outln!(
        "worker {name}: claimed {} completed {} retried {} given-up {} lost-claims {} \
         total-completed {total_completed}",
        report.claimed,
        report.completed,
        report.retried,
        report.given_up,
        report.lost_claims
    );
}

fn start_of_today() -> DateTime<Utc> {
    let now = Utc::now();
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |midnight| midnight.and_utc())
}

/// The fakes keep their own clock (refund and ticket times); it follows the machine's.
fn run_clock(world: &World) {
    let clock = world.clock.clone();
    clock.set(Utc::now());
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            clock.set(Utc::now());
        }
    });
}

/// Resolves on SIGINT or SIGTERM; installed before the worker announces itself.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, CliError> {
    let failed = |e: std::io::Error| CliError::usage(format!("cannot handle signals: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(failed)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(failed)?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        let _ = failed;
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

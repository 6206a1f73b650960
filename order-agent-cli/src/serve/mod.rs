//! `order-agent serve`: the agent as an HTTP service (axum).
//!
//! Wiring: the state store from the flags or the config file (SQLite by default), the built-in
//! understanding, the policy file (the demo shop's sample policy by default), and for every
//! vendor the testkit's in-memory fakes seeded with the demo shop: the only vendors that exist
//! today. A background task works the durable event queue that webhooks fill.

mod config;
mod metrics;
mod pages;
mod routes;
mod signature;
mod vendor_hooks;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use order_agent_adapters::store::{PostgresStore, SqliteStore};
use order_agent_core::agent::{AcceptBatcher, Agent, Ports};
use order_agent_core::ports::{CallMetrics, Metered, StoreRef};
use order_agent_core::understanding::BuiltinInterpreter;
use order_agent_testkit::fakes::FakeHelpdesk;
use order_agent_testkit::world::World;
use secrecy::SecretString;

use crate::error::CliError;
use crate::input::load_policy;

use self::config::{ServeConfig, StateChoice, VendorShop, DEFAULT_LISTEN};
use self::metrics::Metrics;

/// Arguments of `order-agent serve`.
#[derive(Debug, Args)]
#[command(after_help = "\
ENDPOINTS:
  GET  /                    web chat for customers
  POST /api/messages        {\"channel\", \"sender\", \"text\"} -> the agent's turn as JSON
  GET  /staff/escalations   read-only escalation queue (tickets with the agent's reasons)
  POST /webhooks/{source}   an event, signed: X-Order-Agent-Signature: sha256=<hex HMAC>
  GET  /healthz             200 when the state store answers
  GET  /metrics             Prometheus text format

The first line on standard output is `listening on http://ADDRESS`. SIGINT or SIGTERM stops the
service gracefully: no new connections, requests in flight finish, the worker finishes its event.")]
pub(crate) struct ServeArgs {
    /// Configuration file (TOML): policy, state store, listen address, webhook secrets, vendors.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDRESS")]
    listen: Option<SocketAddr>,
    /// Keep the agent's state in this SQLite file [default: order-agent.sqlite].
    #[arg(long, value_name = "FILE", conflicts_with = "in_memory")]
    state: Option<PathBuf>,
    /// Keep the agent's state in memory only: gone when the service stops.
    #[arg(long)]
    in_memory: bool,
}

/// Webhook events written per transaction at most, when many arrive at once.
const WEBHOOK_BATCH: usize = 256;

/// What the request handlers share.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) agent: Agent,
    /// Accepts webhook events, grouping concurrent requests into one durable write.
    pub(crate) accepter: AcceptBatcher,
    /// The demo helpdesk, whose tickets the staff page lists.
    pub(crate) helpdesk: Arc<FakeHelpdesk>,
    pub(crate) metrics: Metrics,
    pub(crate) webhook_secrets: Vec<SecretString>,
    /// Vendors' own webhooks, by vendor name (`[webhooks.vendors.<name>]`).
    pub(crate) vendor_hooks: vendor_hooks::VendorHooks,
}

/// Runs the service until SIGINT or SIGTERM.
pub(crate) fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::usage(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(serve(args))
}

async fn serve(args: ServeArgs) -> Result<ExitCode, CliError> {
    let mut config = match &args.config {
        Some(path) => ServeConfig::load(path)?,
        None => ServeConfig::default(),
    };
    let VendorShop::Demo = config.vendors.shop;
    let policy = match &config.policy {
        Some(path) => load_policy(path)?,
        None => World::demo_policy()
            .map_err(|e| CliError::failed(format!("the demo policy does not parse: {e}")))?,
    };
    let state = config.state_choice(args.state.clone(), args.in_memory);
    let (store, state_description) = open_store(state).await?;
    let world = World::demo();
    let metrics = Metrics::default();
    let mut ports = world.ports();
    ports.store = store;
    ports.interpreter = Arc::new(BuiltinInterpreter::new());
    meter_vendors(&mut ports, metrics.vendor_calls());
    let agent = Agent::new(ports, policy, World::demo_config())
        .map_err(|e| CliError::failed(format!("cannot build the agent: {e}")))?;

    let listen = args
        .listen
        .or(config.listen)
        .map_or_else(|| DEFAULT_LISTEN.parse::<SocketAddr>(), Ok)
        .map_err(|e| CliError::usage(format!("bad default listen address: {e}")))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| bind_error(listen, &e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| CliError::usage(format!("cannot read the bound address: {e}")))?;

    let webhook_secrets = config.take_webhook_secrets();
    let vendor_hooks = vendor_hooks::VendorHooks::from_config(config.take_vendor_hooks(), &world)?;
    let (accepter, accepting) = AcceptBatcher::new(agent.clone(), WEBHOOK_BATCH);
    tokio::spawn(accepting);
    let state = Arc::new(AppState {
        agent,
        accepter,
        helpdesk: world.helpdesk.clone(),
        metrics,
        webhook_secrets,
        vendor_hooks,
    });
    let shutdown = shutdown_signal()?;
    outln!("listening on http://{bound}");
    outln!("state: {state_description}; vendors: the built-in demo shop (in-memory fakes)");
    if state.webhook_secrets.is_empty() {
        outln!("webhooks: disabled (no secret configured)");
    }

    run_demo_clock(&world);
    let (stop_worker, stopped) = tokio::sync::watch::channel(false);
    let open_orders: Vec<_> = world
        .shop
        .orders
        .iter()
        .filter(|o| {
            !matches!(
                o.status,
                order_agent_core::domain::OrderStatus::Delivered
                    | order_agent_core::domain::OrderStatus::Cancelled
            )
        })
        .map(|o| o.id.clone())
        .collect();
    let checker = tokio::spawn(worker::check_orders(
        state.clone(),
        stopped.clone(),
        open_orders,
        std::time::Duration::from_secs(config.worker.check_every_secs.max(1)),
    ));
    let worker = tokio::spawn(worker::run(
        state.clone(),
        stopped,
        std::time::Duration::from_millis(config.worker.idle_ms.max(10)),
    ));
    let app = routes::router(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_worker.send(true);
    if let Err(e) = worker.await {
        eprintln!("order-agent serve: the worker stopped abnormally: {e}");
    }
    if let Err(e) = checker.await {
        eprintln!("order-agent serve: the scheduled check stopped abnormally: {e}");
    }
    served.map_err(|e| CliError::failed(format!("the server failed: {e}")))?;
    eprintln!("order-agent serve: stopped");
    Ok(ExitCode::SUCCESS)
}

/// Wraps every vendor port (not the state store, the understanding or the clock) so that each
/// call is counted and timed for `/metrics`.
fn meter_vendors(ports: &mut Ports, calls: &CallMetrics) {
    ports.oms = Arc::new(Metered::new(ports.oms.clone(), calls.clone()));
    ports.carrier = Arc::new(Metered::new(ports.carrier.clone(), calls.clone()));
    ports.payments = Arc::new(Metered::new(ports.payments.clone(), calls.clone()));
    ports.messaging = Arc::new(Metered::new(ports.messaging.clone(), calls.clone()));
    ports.helpdesk = Arc::new(Metered::new(ports.helpdesk.clone(), calls.clone()));
    ports.inventory = Arc::new(Metered::new(ports.inventory.clone(), calls.clone()));
}

/// The demo shop's clock starts at the shop's "now" (its orders and parcels are laid out around
/// it) and from there runs in real time, so that leases expire and retries come due.
fn run_demo_clock(world: &World) {
    let clock = world.clock.clone();
    let start = clock.peek();
    let started = std::time::Instant::now();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let elapsed = chrono::Duration::from_std(started.elapsed())
                .unwrap_or_else(|_| chrono::Duration::zero());
            clock.set(start + elapsed);
        }
    });
}

async fn open_store(state: StateChoice) -> Result<(StoreRef, String), CliError> {
    match state {
        StateChoice::Sqlite(path) => {
            let store = SqliteStore::open(&path).map_err(|e| {
                CliError::usage(format!(
                    "cannot open the state file `{}`: {e}",
                    path.display()
                ))
            })?;
            Ok((Arc::new(store), format!("SQLite file `{}`", path.display())))
        }
        StateChoice::InMemory => {
            let store = SqliteStore::in_memory()
                .map_err(|e| CliError::usage(format!("cannot open an in-memory store: {e}")))?;
            Ok((Arc::new(store), "in memory (kept nowhere)".to_owned()))
        }
        StateChoice::Postgres(config) => {
            let store = PostgresStore::connect(&config)
                .await
                .map_err(|e| CliError::usage(format!("cannot connect to PostgreSQL: {e}")))?;
            let schema = store.schema().to_owned();
            Ok((Arc::new(store), format!("PostgreSQL, schema `{schema}`")))
        }
    }
}

fn bind_error(listen: SocketAddr, error: &std::io::Error) -> CliError {
    let hint = match error.kind() {
        std::io::ErrorKind::AddrInUse => {
            "; another process uses it: stop it or choose another address with --listen"
        }
        std::io::ErrorKind::PermissionDenied => {
            "; ports below 1024 need privileges: choose another with --listen"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "; no interface of this machine has that address: try 127.0.0.1 or 0.0.0.0"
        }
        _ => "",
    };
    CliError::usage(format!("cannot listen on `{listen}`: {error}{hint}"))
}

/// Installs the SIGINT (Ctrl-C) and SIGTERM handlers now, before the address is announced, and
/// returns what resolves when either arrives.
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
            eprintln!("order-agent serve: shutting down (finishing requests in flight)");
        })
    }
    #[cfg(not(unix))]
    {
        let _ = failed;
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("order-agent serve: shutting down (finishing requests in flight)");
        })
    }
}

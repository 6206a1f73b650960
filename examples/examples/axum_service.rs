// Run with: cargo run -p order-agent-examples --example axum_service -- --self-test
//
//! The agent embedded in a minimal axum service: the smallest host that does what a real one must.
//!
//! - `POST /messages` takes `{"channel": "web_chat", "sender": "chat-1", "text": "..."}`, calls
//!   `Agent::handle_message` and answers with the agent's turn as JSON.
//! - `POST /events` takes one event (the JSON of `order_agent_core::flows::events::Event`), stores
//!   it in the durable queue with `Agent::accept` and answers `{"accepted": true}` only once it is
//!   stored (`false` for a redelivery). This example does not check signatures: a real webhook
//!   endpoint verifies the sender first (see `docs/webhooks.md`).
//! - A background task calls `Agent::work_queue` in a loop, sleeping when there is nothing to do.
//!
//! The vendors are the testkit's in-memory fakes seeded with the demo shop; the agent's state is a
//! SQLite store (in memory, or the file given with `--state FILE`); messages are read by the
//! built-in understanding; the policy is the sample Swiss-shop policy.
//!
//! Without flags it listens on 127.0.0.1:3000 until Ctrl-C (`--listen ADDRESS` for another
//! address). With `--self-test` it listens on a free port, posts one message and one event to
//! itself, waits until the worker has worked the event off the queue, prints what happened and
//! shuts down gracefully (so it can run unattended):
//!
//! ```sh
//! cargo run -p order-agent-examples --example axum_service
//! curl -s localhost:3000/messages -H 'content-type: application/json' \
//!     -d '{"channel": "web_chat", "sender": "chat-1", "text": "Where is my order #1001?"}'
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use order_agent_adapters::store::SqliteStore;
use order_agent_core::agent::{Agent, AgentError};
use order_agent_core::domain::Channel;
use order_agent_core::flows::events::Event;
use order_agent_core::understanding::BuiltinInterpreter;
use order_agent_testkit::world::World;
use serde::Deserialize;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

const USAGE: &str =
    "usage: axum_service [--listen ADDRESS] [--state FILE] [--self-test]\n\n  --listen ADDRESS  \
     listen here [default: 127.0.0.1:3000; with --self-test a free port]\n  --state FILE      \
     keep the agent's state in this SQLite file [default: in memory]\n  --self-test       \
     post a message and an event to the service, print the answers, stop";

struct Options {
    listen: Option<SocketAddr>,
    state: Option<PathBuf>,
    self_test: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        listen: None,
        state: None,
        self_test: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().ok_or("`--listen` needs an address")?;
                let address = value
                    .parse()
                    .map_err(|e| format!("`{value}` is not an address: {e}"))?;
                options.listen = Some(address);
            }
            "--state" => {
                let value = args.next().ok_or("`--state` needs a file")?;
                options.state = Some(PathBuf::from(value));
            }
            "--self-test" => options.self_test = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("axum_service: {message}");
            }
            eprintln!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("axum_service: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    // 1. The ports: the demo shop's fakes, with a durable store and the built-in understanding.
    let store = match &options.state {
        Some(path) => SqliteStore::open(path),
        None => SqliteStore::in_memory(),
    }
    .map_err(|e| format!("cannot open the state store: {e}"))?;
    let world = World::demo();
    let mut ports = world.ports();
    ports.store = Arc::new(store);
    ports.interpreter = Arc::new(BuiltinInterpreter::new());

    // 2. The agent: refuses a policy with validation errors.
    let policy =
        World::demo_policy().map_err(|e| format!("the demo policy does not parse: {e}"))?;
    let agent = Agent::new(ports, policy, World::demo_config())
        .map_err(|e| format!("cannot build the agent: {e}"))?;

    // The fake clock stands still at the demo shop's "now"; let it run in real time from there,
    // so that leases expire and retries come due as they would with a system clock.
    let clock = world.clock.clone();
    let start = clock.peek();
    let started = std::time::Instant::now();
    let ticking = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tick.tick().await;
            let elapsed = chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
            clock.set(start + elapsed);
        }
    });

    // 3. The HTTP routes and the queue worker share the agent (it is cheap to clone, and keeps
    //    no state of its own between calls: everything lives in the store).
    let app = Router::new()
        .route("/messages", post(message))
        .route("/events", post(event))
        .with_state(agent.clone());
    let listen = match (options.listen, options.self_test) {
        (Some(address), _) => address,
        (None, true) => SocketAddr::from(([127, 0, 0, 1], 0)),
        (None, false) => SocketAddr::from(([127, 0, 0, 1], 3000)),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on `{listen}`: {e}"))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    println!("listening on http://{address}");

    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(work_queue(agent.clone(), stopped.clone()));
    let mut shutdown = stopped;
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });

    let tested = if options.self_test {
        self_test(address, &agent).await
    } else {
        let _ = tokio::signal::ctrl_c().await;
        println!("shutting down");
        Ok(())
    };

    // 4. Graceful shutdown: no new connections, requests in flight finish, the worker finishes
    //    the event in hand.
    let _ = stop.send(true);
    let served = server
        .await
        .map_err(|e| format!("the server task failed: {e}"))?;
    worker
        .await
        .map_err(|e| format!("the worker task failed: {e}"))?;
    ticking.abort();
    served.map_err(|e| format!("the server failed: {e}"))?;
    tested?;
    println!("stopped cleanly");
    Ok(())
}

/// `POST /messages`.
#[derive(Debug, Deserialize)]
struct MessageRequest {
    channel: Channel,
    sender: String,
    text: String,
}

async fn message(State(agent): State<Agent>, Json(request): Json<MessageRequest>) -> Response {
    match agent
        .handle_message(request.channel, &request.sender, &request.text)
        .await
    {
        Ok(turn) => Json(turn).into_response(),
        Err(error) => agent_error(&error),
    }
}

/// `POST /events`: acknowledged only once the event is in the durable queue.
async fn event(State(agent): State<Agent>, Json(event): Json<Event>) -> Response {
    match agent.accept(&event).await {
        Ok(new) => Json(json!({ "accepted": new })).into_response(),
        Err(error) => agent_error(&error),
    }
}

/// Nothing customer-visible happened: tell the caller to retry (a webhook sender will redeliver).
fn agent_error(error: &AgentError) -> Response {
    let status = match error {
        AgentError::Conflict(_) => StatusCode::CONFLICT,
        AgentError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, Json(json!({ "error": error.to_string() }))).into_response()
}

/// Works the durable queue until `stop` turns true. One event per claim, so stopping waits for at
/// most one event.
async fn work_queue(agent: Agent, mut stop: watch::Receiver<bool>) {
    let worker = format!("axum-service-{}", std::process::id());
    while !*stop.borrow() {
        let pause = match agent.work_queue(&worker, 1).await {
            Ok(report) => {
                for outcome in &report.outcomes {
                    println!(
                        "worker: event handled: reasons {:?}, {} action(s), errors {:?}",
                        outcome.reasons,
                        outcome.actions.len(),
                        outcome.errors
                    );
                }
                if report.given_up > 0 {
                    // An urgent ticket was opened for each; alert on it in a real service.
                    eprintln!("worker: gave up on {} event(s)", report.given_up);
                }
                (report.claimed == 0).then_some(Duration::from_millis(100))
            }
            Err(error) => {
                eprintln!("worker: the event queue is unavailable: {error}");
                Some(Duration::from_secs(1))
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stop.changed() => {}
            }
        }
    }
}

/// Posts one message and one event to the running service and waits until the event is worked.
async fn self_test(address: SocketAddr, agent: &Agent) -> Result<(), String> {
    let message = json!({
        "channel": "web_chat",
        "sender": "chat-1",
        "text": "Where is my order #1001?",
    });
    let (status, body) = post_json(address, "/messages", &message).await?;
    println!("POST /messages -> {status}");
    if status != 200 {
        return Err(format!("POST /messages answered {status}: {body}"));
    }
    let turn: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("the turn is not JSON: {e}"))?;
    println!("  intent:  {}", turn["intent"]);
    println!("  reply:   {}", turn["rendered"]["body"]);
    println!("  reasons: {}", turn["reasons"]);

    let event = json!({
        "id": "self-test-1",
        "source": "oms",
        "at": agent.ports().clock.now(),
        "kind": {
            "type": "address_validation_failed",
            "order_id": "ds-1012",
            "detail": "no street number",
        },
    });
    for attempt in ["first delivery", "redelivery"] {
        let (status, body) = post_json(address, "/events", &event).await?;
        println!("POST /events ({attempt}) -> {status} {body}");
        if status != 200 {
            return Err(format!("POST /events answered {status}: {body}"));
        }
    }

    // The worker runs in the background; wait until the queue holds nothing pending.
    for _ in 0..100 {
        let stats = agent
            .ports()
            .store
            .queue_stats(agent.ports().clock.now())
            .await
            .map_err(|e| format!("cannot read the queue: {e}"))?;
        if stats.pending == 0 {
            println!(
                "queue: {} completed, {} pending, {} given up",
                stats.completed, stats.pending, stats.dead
            );
            return if stats.completed == 1 && stats.dead == 0 {
                Ok(())
            } else {
                Err("the event was not completed exactly once".to_owned())
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the worker did not work the event off the queue within 5 seconds".to_owned())
}

/// A bare HTTP/1.1 POST, enough for a self-test without an HTTP client dependency.
async fn post_json(
    address: SocketAddr,
    path: &str,
    body: &serde_json::Value,
) -> Result<(u16, String), String> {
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .map_err(|e| format!("cannot read the response: {e}"))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("the response has no header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or("the response has no status")?;
    Ok((status, body.to_owned()))
}

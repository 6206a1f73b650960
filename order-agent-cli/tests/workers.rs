//! Four `order-agent worker` processes share one PostgreSQL schema; one is killed (SIGKILL)
//! while it holds claims. Nothing may be lost, nothing done twice, and no two workers may ever
//! work one ordering key (an order or a return) at the same time.
//!
//! Every worker process has its own in-memory vendor fakes, so exactly-once is checked through
//! the shared store: audit triggers the test installs on the queue's tables log every claim and
//! every completion, and every refund intent's state change, with the database's clock.
//!
//! Needs PostgreSQL at 127.0.0.1:5432 (trust auth, database `test`); skips, saying so, only with
//! `ORDER_AGENT_SKIP_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use order_agent_adapters::store::{PostgresConfig, PostgresStore};
use order_agent_core::agent::Agent;
use order_agent_core::domain::{
    InspectionGrade, LineId, LocationId, OrderId, Receipt, ReceivedLine, ResolutionKind,
    ReturnAuthorisation, ReturnId, ReturnLine, ReturnReason, ReturnRequest, TrackingStatus,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::{EventQueue, ReturnStore, StoreRef};
use order_agent_testkit::builders::{days_before, tracking_event};
use order_agent_testkit::world::World;

const URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const EVENTS: usize = 400;
const WORKERS: usize = 4;
const LEASE_SECONDS: u32 = 2;

/// A return the warehouse receives: id, order, lines (id, quantity, graded?).
type Planned = (
    &'static str,
    &'static str,
    &'static [(&'static str, u32, bool)],
);

const RETURNS: &[Planned] = &[
    ("ret-a", "ds-1001", &[("l2", 2, false)]),
    ("ret-b", "ds-1007", &[("l1", 1, false)]),
    ("ret-c", "ds-1010", &[("l1", 1, false)]),
    ("ret-d", "ds-1008", &[("l1", 1, false)]),
    ("ret-e", "ds-1002", &[("l1", 1, true)]),
];

const STATUSES: &[TrackingStatus] = &[
    TrackingStatus::InTransit,
    TrackingStatus::OutForDelivery,
    TrackingStatus::InTransit,
    TrackingStatus::DeliveryAttemptFailed,
    TrackingStatus::CustomsHold,
    TrackingStatus::InTransit,
    TrackingStatus::Damaged,
];

/// Logs every claim (token change) of a key, every completion and every intent state change.
const AUDIT: &str = r#"
CREATE TABLE audit_claims (
    ordering_key   TEXT NOT NULL,
    worker         TEXT NOT NULL,
    token          BIGINT NOT NULL,
    old_worker     TEXT,
    old_in_flight  INTEGER NOT NULL,
    old_lease      TEXT,
    at             TIMESTAMPTZ NOT NULL
);
CREATE FUNCTION audit_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO SCHEMA.audit_claims VALUES (NEW.ordering_key, NEW.worker, NEW.token,
        OLD.worker, OLD.in_flight, OLD.lease_until, clock_timestamp());
    RETURN NEW;
END $$;
CREATE TRIGGER audit_claims AFTER UPDATE ON event_keys
    FOR EACH ROW WHEN (NEW.token > OLD.token) EXECUTE FUNCTION audit_claim();

CREATE TABLE audit_completions (
    source        TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    ordering_key  TEXT NOT NULL,
    worker        TEXT,
    token         BIGINT NOT NULL,
    at            TIMESTAMPTZ NOT NULL
);
CREATE FUNCTION audit_completion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO SCHEMA.audit_completions
        SELECT NEW.source, NEW.event_id, NEW.ordering_key, k.worker, k.token, clock_timestamp()
        FROM SCHEMA.event_keys k WHERE k.ordering_key = NEW.ordering_key;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_completions AFTER UPDATE ON event_queue
    FOR EACH ROW WHEN (OLD.state = 'pending' AND NEW.state <> 'pending')
    EXECUTE FUNCTION audit_completion();

CREATE TABLE audit_intents (key TEXT NOT NULL, state TEXT NOT NULL);
CREATE FUNCTION audit_intent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO SCHEMA.audit_intents VALUES (NEW.key, NEW.state);
    RETURN NEW;
END $$;
CREATE TRIGGER audit_intents AFTER INSERT OR UPDATE ON refund_intents
    FOR EACH ROW EXECUTE FUNCTION audit_intent();
"#;

struct Worker {
    name: String,
    child: Child,
}

fn start_worker(name: &str, schema: &str, shop_time: DateTime<Utc>, logs: &Path) -> Worker {
    let log = std::fs::File::create(logs.join(format!("{name}.log"))).unwrap();
    let err = log.try_clone().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_order-agent"))
        .args([
            "worker",
            "--postgres",
            URL,
            "--schema",
            schema,
            "--name",
            name,
        ])
        .args([
            "--lease-seconds",
            &LEASE_SECONDS.to_string(),
            "--batch",
            "8",
        ])
        .args(["--idle-ms", "20", "--shop-time", &shop_time.to_rfc3339()])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap();
    Worker {
        name: name.to_owned(),
        child,
    }
}

fn authorisation(world: &World, (id, order, lines): Planned) -> ReturnAuthorisation {
    ReturnAuthorisation {
        id: ReturnId::new(id),
        request: ReturnRequest {
            order_id: OrderId::new(order),
            lines: lines
                .iter()
                .map(|(line, quantity, _)| ReturnLine {
                    line_id: LineId::new(*line),
                    quantity: *quantity,
                    reason: ReturnReason::ChangedMind,
                    exchange_for: None,
                })
                .collect(),
            resolution: ResolutionKind::Refund,
        },
        authorised_at: days_before(world.shop.now, 2),
        policy_version: "workers".to_owned(),
    }
}

/// The warehouse's scan of return `n`; replays carry the same content under a new id.
fn receipt(world: &World, id: String, (ret, _, lines): Planned) -> Event {
    let at = days_before(world.shop.now, 1);
    Event {
        id,
        source: "warehouse:zrh-1".to_owned(),
        at,
        kind: EventKind::ReturnReceived {
            receipt: Receipt {
                return_id: ReturnId::new(ret),
                lines: lines
                    .iter()
                    .map(|(line, quantity, graded)| ReceivedLine {
                        line_id: LineId::new(*line),
                        quantity: *quantity,
                        grade: graded.then_some(InspectionGrade::New),
                    })
                    .collect(),
                received_at: at,
                location: LocationId::new("zrh-1"),
                receive_only: false,
            },
        },
    }
}

/// `EVENTS` events: one receipt in ten (each return scanned again and again under new ids),
/// carrier tracking for every parcel of the demo shop for the rest.
fn events(world: &World) -> Vec<Event> {
    let parcels: Vec<_> = world
        .shop
        .orders
        .iter()
        .flat_map(|o| {
            o.shipments
                .iter()
                .map(move |s| (o.id.clone(), s.id.clone()))
        })
        .collect();
    assert!(
        parcels.len() >= 10,
        "the demo shop has {} parcels",
        parcels.len()
    );
    (0..EVENTS)
        .map(|i| {
            let id = format!("evt-{i:04}");
            if i % 10 == 0 {
                return receipt(world, id, RETURNS[(i / 10) % RETURNS.len()]);
            }
            let (order_id, shipment_id) = parcels[i % parcels.len()].clone();
            let status = STATUSES[(i / parcels.len()) % STATUSES.len()];
            let at = world.shop.now;
            Event {
                id,
                source: "carrier:swiss-post".to_owned(),
                at,
                kind: EventKind::TrackingUpdate {
                    order_id,
                    shipment_id,
                    event: tracking_event(at, status, Some("Zürich")),
                },
            }
        })
        .collect()
}

async fn sql() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(URL, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

#[test]
fn four_worker_processes_one_killed_lose_and_duplicate_nothing() {
    if std::env::var_os("ORDER_AGENT_SKIP_POSTGRES").is_some() {
        eprintln!(
            "skipped: ORDER_AGENT_SKIP_POSTGRES is set (this test needs PostgreSQL at {URL})"
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let started = Instant::now();
    let schema = format!(
        "workers_{}_{}",
        std::process::id(),
        Utc::now().timestamp_subsec_micros()
    );
    let shop_time = Utc::now().trunc_subsecs(0);
    let world = World::demo_at(shop_time);
    let mut config = PostgresConfig::new(URL).with_schema(schema.clone());
    config.pool_size = 2;
    let store = Arc::new(PostgresStore::connect(&config).await.unwrap());
    let client = sql().await;
    client
        .batch_execute(&format!(
            "SET search_path = {schema}; {}",
            AUDIT.replace("SCHEMA", &schema)
        ))
        .await
        .unwrap();
    for planned in RETURNS {
        store
            .insert_return_authorisation(&authorisation(&world, *planned))
            .await
            .unwrap();
    }
    let ports = order_agent_core::agent::Ports {
        store: store.clone() as StoreRef,
        ..world.ports()
    };
    let agent = Agent::new(ports, World::demo_policy().unwrap(), World::demo_config()).unwrap();
    let events = events(&world);
    for event in &events {
        assert!(
            agent.accept(event).await.unwrap(),
            "{} was not new",
            event.id
        );
    }
    let keys: BTreeSet<String> = events
        .iter()
        .map(order_agent_core::agent::ordering_key)
        .collect();

    let logs = tempfile::tempdir().unwrap();
    let mut workers: Vec<Worker> = (0..WORKERS)
        .map(|i| start_worker(&format!("w{i}"), &schema, shop_time, logs.path()))
        .collect();

    // Kill w0 the moment it holds a claim with events in flight, once work is under way. A
    // worker may finish its claim between the check and the kill (completions are one quick
    // write); then a fresh worker joins and becomes the next victim, until a kill lands while
    // a claim is held.
    let mut victims: Vec<String> = Vec::new();
    let mut victim_at = 0;
    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        let victim = workers[victim_at].name.clone();
        assert!(
            Instant::now() < deadline,
            "no victim was ever killed holding a claim; logs: {}",
            dump(logs.path())
        );
        let (held, completed) = holding(&client, &schema, &victim).await;
        if held > 0 && (completed >= (EVENTS / 5) as i64 || !victims.is_empty()) {
            workers[victim_at].child.kill().unwrap();
            workers[victim_at].child.wait().unwrap();
            victims.push(victim.clone());
            let (still_held, _) = holding(&client, &schema, &victim).await;
            if still_held > 0 {
                break;
            }
            // It finished its claim just before dying: another worker joins as the next victim.
            let name = format!("w{}", workers.len());
            workers.push(start_worker(&name, &schema, shop_time, logs.path()));
            victim_at = workers.len() - 1;
            continue;
        }
        tokio::time::sleep(StdDuration::from_millis(2)).await;
    }
    let victim = victims.join("+");
    let killed_at = Utc::now();

    let deadline = Instant::now() + StdDuration::from_secs(60);
    loop {
        let stats = store.queue_stats(Utc::now()).await.unwrap();
        if stats.pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the queue was not drained: {stats:?}; logs: {}",
            dump(logs.path())
        );
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let drained_after = started.elapsed();
    for worker in &mut workers {
        // The victims are dead already; the others are stopped now.
        let _ = worker.child.kill();
        worker.child.wait().unwrap();
    }

    // The queue: every event completed, none given up.
    let stats = store.queue_stats(Utc::now()).await.unwrap();
    assert_eq!(stats.pending, 0, "{stats:?}");
    assert_eq!(
        stats.dead,
        0,
        "events given up: {stats:?}; logs: {}",
        dump(logs.path())
    );
    assert_eq!(stats.completed, EVENTS as u64, "{stats:?}");

    // Every event completed exactly once, by a claim's holder.
    let completions = client
        .query(
            &format!(
                "SELECT source, event_id, ordering_key, worker, token,
                        extract(epoch FROM at)::float8
                 FROM {schema}.audit_completions"
            ),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(completions.len(), EVENTS, "completions logged");
    let distinct: BTreeSet<(String, String)> =
        completions.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(distinct.len(), EVENTS, "an event was completed twice");

    // No two claims of one key overlap: each claim's completions all come before the next claim
    // of that key; a key held by a live worker is never taken over, the victim's only after its
    // lease expired.
    let claims = client
        .query(
            &format!(
                "SELECT ordering_key, worker, token, old_worker, old_in_flight, old_lease,
                        extract(epoch FROM at)::float8
                 FROM {schema}.audit_claims ORDER BY ordering_key, token"
            ),
            &[],
        )
        .await
        .unwrap();
    let mut last_completion: BTreeMap<(String, i64), f64> = BTreeMap::new();
    for row in &completions {
        let (key, token, at): (String, i64, f64) = (row.get(2), row.get(4), row.get(5));
        let entry = last_completion.entry((key, token)).or_insert(at);
        *entry = entry.max(at);
    }
    let mut takeovers = 0;
    let mut previous: Option<(String, i64)> = None;
    for row in &claims {
        let (key, worker, token): (String, String, i64) = (row.get(0), row.get(1), row.get(2));
        let (old_worker, old_in_flight, old_lease): (Option<String>, i32, Option<String>) =
            (row.get(3), row.get(4), row.get(5));
        let at: f64 = row.get(6);
        if let Some((previous_key, previous_token)) = &previous {
            if previous_key == &key {
                if let Some(done) = last_completion.get(&(key.clone(), *previous_token)) {
                    assert!(
                        *done <= at,
                        "key {key}: claim {token} by {worker} while claim {previous_token} \
                         was still completing events"
                    );
                }
            }
        }
        if old_in_flight > 0 {
            takeovers += 1;
            let old_worker = old_worker.unwrap_or_default();
            assert!(
                victims.contains(&old_worker),
                "key {key}: {worker} took over from {old_worker}, a live worker"
            );
            let lease: DateTime<Utc> = old_lease.unwrap().parse().unwrap();
            assert!(
                at >= lease.timestamp() as f64 + f64::from(lease.timestamp_subsec_micros()) / 1e6,
                "key {key}: taken over from {old_worker} before its lease expired"
            );
        }
        previous = Some((key, token));
    }
    assert!(
        takeovers >= 1,
        "the killed worker's claims were never taken over"
    );

    // Refunds: every received return has its intents, each key once (the primary key), none
    // stuck, and none paid twice.
    let intents = client
        .query(
            &format!("SELECT key, state FROM {schema}.refund_intents ORDER BY key"),
            &[],
        )
        .await
        .unwrap();
    for (ret, _, _) in RETURNS {
        assert!(
            intents
                .iter()
                .any(|r| r.get::<_, String>(0).starts_with(&format!("refund:{ret}:"))),
            "return {ret} was received but has no refund intent"
        );
    }
    for row in &intents {
        let (key, state): (String, String) = (row.get(0), row.get(1));
        assert!(
            state == "succeeded" || state == "needs_approval",
            "intent {key} is stuck in {state}"
        );
    }
    let paid = client
        .query(
            &format!(
                "SELECT key, count(*) FROM {schema}.audit_intents
                 WHERE state = 'succeeded' GROUP BY key"
            ),
            &[],
        )
        .await
        .unwrap();
    for row in &paid {
        let (key, count): (String, i64) = (row.get(0), row.get(1));
        assert_eq!(count, 1, "intent {key} succeeded {count} times");
    }
    let succeeded = intents
        .iter()
        .filter(|r| r.get::<_, String>(1) == "succeeded")
        .count();
    assert!(succeeded >= 1, "no refund was made");

    eprintln!(
        "workers: {EVENTS} events on {} keys, {WORKERS} processes, {victim} killed at \
         {killed_at}, {takeovers} key(s) taken over, {} intents ({succeeded} succeeded), \
         drained after {:.1} s",
        keys.len(),
        intents.len(),
        drained_after.as_secs_f64()
    );
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
}

/// How many keys `victim` holds with events in flight, and how many events are completed.
async fn holding(client: &tokio_postgres::Client, schema: &str, victim: &str) -> (i64, i64) {
    let row = client
        .query_one(
            &format!(
                "SELECT (SELECT count(*) FROM {schema}.event_keys
                         WHERE worker = $1 AND in_flight > 0),
                        (SELECT count(*) FROM {schema}.event_queue WHERE state = 'completed')"
            ),
            &[&victim],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn dump(logs: &Path) -> String {
    let mut out = String::new();
    for i in 0..WORKERS {
        let text = std::fs::read_to_string(logs.join(format!("w{i}.log"))).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(8).collect();
        out.push_str(&format!("\n--- w{i} (last lines) ---\n"));
        for line in tail.into_iter().rev() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

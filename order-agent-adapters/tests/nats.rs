//! The NATS JetStream event source against the real server on 127.0.0.1:4222: events published
//! (some twice under one `Nats-Msg-Id`), consumed in batches, accepted into a SQLite-backed
//! agent's durable queue and acknowledged; a batch accepted but not acknowledged (the consumer
//! "crashes") is delivered again to a restarted consumer and accepted once; nothing is lost.
//!
//! Skips, saying so, when `ORDER_AGENT_SKIP_NATS` is set or no server answers on port 4222.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::context::Publish;
use order_agent_adapters::events::{
    accept_batch, Delivery, EventSource, JetStreamConfig, JetStreamSource,
};
use order_agent_adapters::store::SqliteStore;
use order_agent_core::agent::Agent;
use order_agent_core::domain::TrackingStatus;
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::StoreRef;
use order_agent_testkit::builders::tracking_event;
use order_agent_testkit::world::World;

const URL: &str = "nats://127.0.0.1:4222";
const EVENTS: usize = 60;

fn skip_reason() -> Option<String> {
    if std::env::var_os("ORDER_AGENT_SKIP_NATS").is_some() {
        return Some("ORDER_AGENT_SKIP_NATS is set".to_owned());
    }
    match std::net::TcpStream::connect_timeout(
        &"127.0.0.1:4222".parse().unwrap(),
        Duration::from_secs(1),
    ) {
        Ok(_) => None,
        Err(e) => Some(format!("no NATS server on 127.0.0.1:4222 ({e})")),
    }
}

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
    (0..EVENTS)
        .map(|i| {
            let (order_id, shipment_id) = parcels[i % parcels.len()].clone();
            Event {
                id: format!("nats-evt-{i:03}"),
                source: "carrier:swiss-post".to_owned(),
                at: world.shop.now,
                kind: EventKind::TrackingUpdate {
                    order_id,
                    shipment_id,
                    event: tracking_event(world.shop.now, TrackingStatus::InTransit, None),
                },
            }
        })
        .collect()
}

async fn publish(source: &JetStreamSource, subject: &str, id: &str, payload: Vec<u8>) {
    let jetstream = async_nats::jetstream::new(source.client().clone());
    jetstream
        .send_publish(
            subject.to_owned(),
            Publish::build().payload(payload.into()).message_id(id),
        )
        .await
        .unwrap()
        .await
        .unwrap();
}

/// Pulls until `want` deliveries arrived or `tries` pulls came back empty.
async fn pull_at_least(source: &JetStreamSource, want: usize, tries: usize) -> Vec<Delivery> {
    let mut got = Vec::new();
    let mut empty = 0;
    while got.len() < want && empty < tries {
        let batch = source
            .pull(want - got.len(), Duration::from_millis(500))
            .await
            .unwrap();
        if batch.is_empty() {
            empty += 1;
        }
        got.extend(batch);
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_events_are_accepted_once_and_survive_a_consumer_restart() {
    if let Some(reason) = skip_reason() {
        eprintln!("skipped: {reason} (this test needs NATS with JetStream at {URL})");
        return;
    }
    let run = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut config = JetStreamConfig::new(
        URL,
        format!("OA_TEST_{run}"),
        format!("order-agent.test.{run}.events"),
        "workers",
    );
    config.ack_wait = Duration::from_secs(1);

    let dir = tempfile::tempdir().unwrap();
    let world = World::demo();
    let store: StoreRef = Arc::new(SqliteStore::open(dir.path().join("state.sqlite")).unwrap());
    let ports = order_agent_core::agent::Ports {
        store: store.clone(),
        ..world.ports()
    };
    let agent = Agent::new(ports, World::demo_policy().unwrap(), World::demo_config()).unwrap();

    let first = JetStreamSource::connect(&config).await.unwrap();
    let events = events(&world);
    for event in &events {
        publish(
            &first,
            &config.subject,
            &event.id,
            serde_json::to_vec(event).unwrap(),
        )
        .await;
    }
    // Published again under the same message id: the stream keeps one.
    for event in &events[..5] {
        publish(
            &first,
            &config.subject,
            &event.id,
            serde_json::to_vec(event).unwrap(),
        )
        .await;
    }
    publish(
        &first,
        &config.subject,
        "not-an-event",
        b"{\"hello\":1}".to_vec(),
    )
    .await;

    // A batch accepted and acknowledged.
    let batch = pull_at_least(&first, 20, 5).await;
    assert_eq!(batch.len(), 20);
    for delivery in &batch {
        let event: Event = serde_json::from_slice(&delivery.payload).unwrap();
        assert_eq!(
            delivery.upstream_id, event.id,
            "the id is the Nats-Msg-Id header"
        );
    }
    let report = accept_batch(&agent, &first, batch, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!((report.accepted, report.new), (20, 20), "{report:?}");

    // A batch accepted but never acknowledged: the consumer dies before its ack.
    let unacked = pull_at_least(&first, 10, 5).await;
    assert_eq!(unacked.len(), 10);
    for delivery in &unacked {
        let event: Event = serde_json::from_slice(&delivery.payload).unwrap();
        assert!(agent.accept(&event).await.unwrap());
    }
    let unacked_ids: BTreeSet<String> = unacked.iter().map(|d| d.upstream_id.clone()).collect();
    drop(first);

    // A restarted consumer on the same durable gets the rest, the unacknowledged ones again.
    let second = JetStreamSource::connect(&config).await.unwrap();
    let rest = pull_at_least(&second, EVENTS - 30 + 10 + 1, 8).await;
    let redelivered: BTreeSet<String> = rest
        .iter()
        .filter(|d| d.delivered > 1)
        .map(|d| d.upstream_id.clone())
        .collect();
    assert_eq!(
        redelivered, unacked_ids,
        "the unacknowledged batch came again"
    );
    let report = accept_batch(&agent, &second, rest, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(report.accepted, EVENTS - 30 + 10, "{report:?}");
    assert_eq!(
        report.new,
        EVENTS - 30,
        "redeliveries were accepted again: {report:?}"
    );
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].0, "not-an-event");

    // Everything acknowledged: nothing more comes, even after the ack wait.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let after = second.pull(10, Duration::from_millis(300)).await.unwrap();
    assert!(after.is_empty(), "delivered again after ack: {after:?}");

    // The queue holds every event once.
    let stats = store.queue_stats(world.clock.peek()).await.unwrap();
    assert_eq!(stats.pending, EVENTS as u64, "{stats:?}");

    let jetstream = async_nats::jetstream::new(second.client().clone());
    jetstream.delete_stream(&config.stream).await.unwrap();
}

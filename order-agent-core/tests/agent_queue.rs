//! The durable event queue through [`Agent::accept`] and [`Agent::work_queue`] on the testkit's
//! fakes: accept once, retry with backoff, give up with a ticket, and refund intents older than
//! the processor's idempotency window reconciled before anything is sent again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;
use order_agent_core::agent::{AcceptBatcher, Agent};
use order_agent_core::domain::{
    LineId, LocationId, OrderId, Receipt, ReceivedLine, ResolutionKind, ReturnAuthorisation,
    ReturnId, ReturnLine, ReturnReason, ReturnRequest,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::{
    oms::ops as oms_ops, payments::ops as payments_ops, store::ops as store_ops, EventInbox,
    EventQueue, PortErrorKind, RefundIntentState, RefundIntentStore, ReturnStore,
};
use order_agent_testkit::builders::days_before;
use order_agent_testkit::fakes::{FakePayments, Fault};
use order_agent_testkit::world::World;

fn setup(world: &World) -> Agent {
    world.agent(World::demo_policy().unwrap()).unwrap()
}

async fn authorised_return(world: &World) -> ReturnId {
    let authorisation = ReturnAuthorisation {
        id: ReturnId::new("ret-q1"),
        request: ReturnRequest {
            order_id: OrderId::new("ds-1007"),
            lines: vec![ReturnLine {
                line_id: LineId::new("l1"),
                quantity: 1,
                reason: ReturnReason::ChangedMind,
                exchange_for: None,
            }],
            resolution: ResolutionKind::Refund,
        },
        authorised_at: days_before(world.clock.peek(), 2),
        policy_version: "test".to_owned(),
    };
    world
        .store
        .insert_return_authorisation(&authorisation)
        .await
        .unwrap();
    authorisation.id
}

fn receipt(world: &World, id: &str, return_id: &ReturnId) -> Event {
    let at = world.clock.peek();
    Event {
        id: id.to_owned(),
        source: "warehouse:zrh-1".to_owned(),
        at,
        kind: EventKind::ReturnReceived {
            receipt: Receipt {
                return_id: return_id.clone(),
                lines: vec![ReceivedLine {
                    line_id: LineId::new("l1"),
                    quantity: 1,
                    grade: None,
                }],
                received_at: at,
                location: LocationId::new("zrh-1"),
                receive_only: false,
            },
        },
    }
}

#[tokio::test]
async fn an_event_is_accepted_once_and_retried_until_it_succeeds() {
    let world = World::demo();
    let agent = setup(&world);
    let return_id = authorised_return(&world).await;
    let event = receipt(&world, "rcv-1", &return_id);
    assert!(agent.accept(&event).await.unwrap());
    assert!(
        !agent.accept(&event).await.unwrap(),
        "a redelivery is not new"
    );

    world.payments.faults().times(
        payments_ops::REFUND,
        Fault::Error(PortErrorKind::Unavailable),
        2,
    );
    let first = agent.work_queue("w1", 10).await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1), "{first:#?}");
    // Not due yet: nothing is handed out.
    let early = agent.work_queue("w1", 10).await.unwrap();
    assert_eq!(early.claimed, 0);
    world.clock.advance(Duration::seconds(7));
    let second = agent.work_queue("w1", 10).await.unwrap();
    assert_eq!((second.claimed, second.retried), (1, 1), "{second:#?}");
    world.clock.advance(Duration::seconds(13));
    let third = agent.work_queue("w1", 10).await.unwrap();
    assert_eq!((third.claimed, third.completed), (1, 1), "{third:#?}");

    assert_eq!(world.payments.all_refunds().len(), 1);
    let stats = world.store.queue_stats(world.clock.peek()).await.unwrap();
    assert_eq!((stats.pending, stats.completed, stats.dead), (0, 1, 0));
}

#[tokio::test]
async fn an_event_that_keeps_failing_is_given_up_with_an_urgent_ticket() {
    let world = World::demo();
    let agent = setup(&world);
    let return_id = authorised_return(&world).await;
    agent
        .accept(&receipt(&world, "rcv-2", &return_id))
        .await
        .unwrap();
    world.payments.faults().always(
        payments_ops::REFUND,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let mut given_up = 0;
    for _ in 0..20 {
        given_up += agent.work_queue("w1", 10).await.unwrap().given_up;
        world.clock.advance(Duration::hours(2));
    }
    assert_eq!(given_up, 1);
    let tickets = world.helpdesk.tickets();
    let dead = tickets
        .iter()
        .find(|t| t.escalation.reasons.iter().any(|r| r == "event_given_up"))
        .expect("a ticket for the event given up");
    assert!(dead.escalation.summary.contains("rcv-2"));
    assert!(world.payments.all_refunds().is_empty());
    let stats = world.store.queue_stats(world.clock.peek()).await.unwrap();
    assert_eq!((stats.pending, stats.dead), (0, 1));
}

/// A refund that went through but whose answer was lost, retried two days later when the
/// processor no longer knows the key: the agent lists the payment's refunds first and finds it.
#[tokio::test]
async fn an_intent_older_than_the_idempotency_window_is_reconciled_not_resent() {
    let mut world = World::demo();
    world.payments = Arc::new(
        FakePayments::new()
            .with_payments_of(world.shop.orders.iter())
            .with_clock(world.clock.shared())
            .with_idempotency_window(Duration::hours(24))
            .with_refunds_beyond_captured(),
    );
    let agent = setup(&world);
    let return_id = authorised_return(&world).await;
    agent
        .accept(&receipt(&world, "rcv-3", &return_id))
        .await
        .unwrap();
    // The refund is made, the answer lost, and the listing that would reconcile it fails too.
    world
        .payments
        .faults()
        .once(payments_ops::REFUND, Fault::TimeoutAfterEffect);
    world.payments.faults().once(
        payments_ops::REFUNDS,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let first = agent.work_queue("w1", 10).await.unwrap();
    assert_eq!(first.retried, 1, "{first:#?}");
    let intents = world
        .store
        .refund_intents_of_order(&OrderId::new("ds-1007"))
        .await
        .unwrap();
    assert_eq!(intents[0].state, RefundIntentState::Pending);

    world.clock.advance(Duration::hours(48));
    let refunds_listed = world.payments.calls().count(payments_ops::REFUNDS);
    let later = agent.work_queue("w1", 10).await.unwrap();
    assert_eq!(later.completed, 1, "{later:#?}");
    assert_eq!(
        world.payments.calls().count(payments_ops::REFUNDS),
        refunds_listed + 1,
        "the payment's refunds were listed before anything was sent"
    );
    assert_eq!(world.payments.all_refunds().len(), 1, "refunded once");
    let intents = world
        .store
        .refund_intents_of_order(&OrderId::new("ds-1007"))
        .await
        .unwrap();
    assert_eq!(intents[0].state, RefundIntentState::Succeeded);
}

fn tracking_update(world: &World, id: &str, order: usize) -> Event {
    let order = &world.shop.orders[order];
    Event {
        id: id.to_owned(),
        source: "carrier:swiss-post".to_owned(),
        at: world.clock.peek(),
        kind: EventKind::TrackingUpdate {
            order_id: order.id.clone(),
            shipment_id: order.shipments[0].id.clone(),
            event: order_agent_testkit::builders::tracking_event(
                world.clock.peek(),
                order_agent_core::domain::TrackingStatus::InTransit,
                Some("Zürich"),
            ),
        },
    }
}

fn shipped_orders(world: &World) -> Vec<usize> {
    (0..world.shop.orders.len())
        .filter(|&i| !world.shop.orders[i].shipments.is_empty())
        .collect()
}

#[tokio::test]
async fn successful_events_are_completed_together_and_count_as_processed() {
    let world = World::demo();
    let agent = setup(&world);
    let orders = shipped_orders(&world);
    let events: Vec<Event> = (0..6)
        .map(|i| tracking_update(&world, &format!("trk-{i}"), orders[i % orders.len()]))
        .collect();
    assert_eq!(agent.accept_all(&events).await.unwrap(), vec![true; 6]);
    assert_eq!(
        agent.accept_all(&events[..2]).await.unwrap(),
        [false, false],
        "redeliveries are not new"
    );
    world.store.calls().clear();
    let report = agent.work_queue("w1", 64).await.unwrap();
    assert_eq!((report.claimed, report.completed), (6, 6), "{report:#?}");
    let calls = world.store.calls();
    assert_eq!(
        calls.count(store_ops::COMPLETE_EVENTS),
        1,
        "one write completes them all"
    );
    assert_eq!(calls.count(store_ops::COMPLETE_EVENT), 0);
    assert_eq!(
        calls.count(store_ops::MARK_PROCESSED),
        0,
        "the completion marks them"
    );
    assert_eq!(
        world.oms.calls().count(oms_ops::CUSTOMER),
        0,
        "scans that tell the customer nothing do not look the customer up"
    );
    for event in &events {
        assert!(world
            .store
            .is_processed(&event.source, &event.id)
            .await
            .unwrap());
    }
}

/// When an event fails, the later events of its order wait for it instead of overtaking it.
#[tokio::test]
async fn a_failed_event_holds_back_the_later_events_of_its_order() {
    let world = World::demo();
    let agent = setup(&world);
    let orders = shipped_orders(&world);
    let (same, other) = (orders[0], orders[1]);
    let first = tracking_update(&world, "trk-first", same);
    let second = tracking_update(&world, "trk-second", same);
    let elsewhere = tracking_update(&world, "trk-elsewhere", other);
    agent
        .accept_all(&[first.clone(), second.clone(), elsewhere.clone()])
        .await
        .unwrap();
    world
        .oms
        .faults()
        .once(oms_ops::ORDER, Fault::Error(PortErrorKind::Unavailable));
    let report = agent.work_queue("w1", 64).await.unwrap();
    assert_eq!(report.claimed, 3, "{report:#?}");
    assert_eq!(
        report.completed, 1,
        "only the other order's event: {report:#?}"
    );
    assert_eq!(
        report.retried, 2,
        "the failed event and the one held back: {report:#?}"
    );
    assert_eq!(
        report.outcomes.len(),
        2,
        "the held-back event was not handled: {report:#?}"
    );
    assert!(!world
        .store
        .is_processed(&second.source, &second.id)
        .await
        .unwrap());
    world.clock.advance(Duration::seconds(10));
    let again = agent.work_queue("w1", 64).await.unwrap();
    assert_eq!((again.claimed, again.completed), (2, 2), "{again:#?}");
    let stats = world.store.queue_stats(world.clock.peek()).await.unwrap();
    assert_eq!((stats.pending, stats.completed), (0, 3));
}

/// Concurrent accepts through the batcher share writes; each learns whether its event was new.
#[tokio::test]
async fn the_batcher_groups_concurrent_accepts_into_few_writes() {
    let world = World::demo();
    let agent = setup(&world);
    let orders = shipped_orders(&world);
    let (batcher, driver) = AcceptBatcher::new(agent.clone(), 64);
    tokio::spawn(driver);
    let events: Vec<Event> = (0..200)
        .map(|i| tracking_update(&world, &format!("b-{}", i % 150), orders[i % orders.len()]))
        .collect();
    world.store.calls().clear();
    let answers = futures_util::future::join_all(events.iter().cloned().map(|e| {
        let batcher = batcher.clone();
        async move { batcher.accept(e).await }
    }))
    .await;
    let new = answers
        .into_iter()
        .map(Result::unwrap)
        .filter(|&n| n)
        .count();
    assert_eq!(new, 150, "each distinct event is new exactly once");
    let writes = world.store.calls().count(store_ops::ENQUEUE_EVENTS);
    assert!(
        (1..200).contains(&writes),
        "{writes} writes for 200 concurrent accepts"
    );
    let mut bad = events[0].clone();
    bad.id.clear();
    let error = batcher.accept(bad).await.unwrap_err();
    assert!(error.to_string().contains("store"), "{error}");
}

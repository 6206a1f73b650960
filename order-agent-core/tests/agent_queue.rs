//! The durable event queue through [`Agent::accept`] and [`Agent::work_queue`] on the testkit's
//! fakes: accept once, retry with backoff, give up with a ticket, and refund intents older than
//! the processor's idempotency window reconciled before anything is sent again.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::Duration;
use order_agent_core::agent::Agent;
use order_agent_core::domain::{
    LineId, LocationId, OrderId, Receipt, ReceivedLine, ResolutionKind, ReturnAuthorisation,
    ReturnId, ReturnLine, ReturnReason, ReturnRequest,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::{
    payments::ops as payments_ops, EventQueue, PortErrorKind, RefundIntentState, RefundIntentStore,
    ReturnStore,
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

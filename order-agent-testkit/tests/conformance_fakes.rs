//! Every conformance suite against every in-memory fake, the broken fakes that prove the suites
//! catch breaches, and the fault injection of the fakes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use order_agent_core::domain::{Channel, Locale, OrderNumber, PaymentId, RefundState};
use order_agent_core::ports::{
    self, Delivery, Entities, EventInbox, Intent, Interpretation, Messaging, OutboundMessage,
    Payments, PortErrorKind, RefundRequest, Store, StoreRef,
};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::{
    self, carrier, clock, helpdesk, interpreter, inventory, messaging, oms, payments, queue, store,
};
use order_agent_testkit::fakes::broken::{
    CarrierWithNewestEventsFirst, DecisionLogReusingSequenceNumbers, ForgetfulInbox,
    LastWriteWinsConversationStore, OmsFailingOnMissingOrder, PaymentsIgnoringIdempotencyKeys,
    QueueIgnoringClaims,
};
use order_agent_testkit::fakes::mocks::{MockClock, MockInterpreter};
use order_agent_testkit::fakes::{
    CallLog, CallOutcome, FakeCarrier, FakeClock, FakeHelpdesk, FakeInterpreter, FakeInventory,
    FakeMessaging, FakeOms, FakePayments, FakeStore, Fault, Faults,
};

fn fake_oms() -> (FakeOms, oms::OmsFixture) {
    let sample = oms::sample();
    let fake = FakeOms::new()
        .with_orders(sample.orders)
        .with_customers(sample.customers);
    (fake, sample.fixture)
}

fn fake_payments() -> (FakePayments, payments::PaymentsFixture) {
    let sample = payments::sample();
    (
        FakePayments::new().with_payments(sample.payments),
        sample.fixture,
    )
}

fn fake_carrier() -> (FakeCarrier, carrier::CarrierFixture) {
    let sample = carrier::sample();
    (
        FakeCarrier::new().with_tracking(sample.tracking),
        sample.fixture,
    )
}

fn fake_messaging() -> (FakeMessaging, messaging::MessagingFixture) {
    let fixture = messaging::sample();
    let fake = FakeMessaging::new().refusing(fixture.refused.0, &fixture.refused.1, "opted out");
    (fake, fixture)
}

fn fake_inventory() -> (FakeInventory, inventory::InventoryFixture) {
    let fixture = inventory::sample();
    let fake = FakeInventory::new().with_stock(fixture.sku.clone(), fixture.location.clone(), 5);
    (fake, fixture)
}

fn assert_passes(result: Result<(), conformance::ConformanceReport>) {
    let report = result.err().map(|r| r.to_string());
    assert!(report.is_none(), "{}", report.unwrap_or_default());
}

fn assert_fails(result: Result<(), conformance::ConformanceReport>, checks: &[&str]) {
    assert!(result.is_err(), "the suite passed a broken fake");
    if let Err(report) = result {
        for check in checks {
            assert!(report.failed(check), "expected {check} to fail; {report}");
        }
    }
}

// ------------------------------------------------------------------------------------------------
// every suite against every fake

#[tokio::test]
async fn fake_oms_conforms() {
    let (fake, fixture) = fake_oms();
    assert_passes(oms::run_all(&fake, &fixture).await);
}

#[tokio::test]
async fn fake_carrier_conforms() {
    let (fake, fixture) = fake_carrier();
    assert_passes(carrier::run_all(&fake, &fixture).await);
}

#[tokio::test]
async fn fake_payments_conforms() {
    let (fake, fixture) = fake_payments();
    assert_passes(payments::run_all(&fake, &fixture).await);
}

#[tokio::test]
async fn fake_payments_confirming_by_webhook_conforms() {
    let sample = payments::sample();
    let fake = FakePayments::new()
        .with_payments(sample.payments)
        .with_new_refund_state(RefundState::Pending);
    assert_passes(payments::run_all(&fake, &sample.fixture).await);
}

#[tokio::test]
async fn fake_messaging_conforms() {
    let (fake, fixture) = fake_messaging();
    assert_passes(messaging::run_all(&fake, &fixture).await);
}

#[tokio::test]
async fn fake_helpdesk_conforms() {
    assert_passes(helpdesk::run_all(&FakeHelpdesk::new(), &helpdesk::sample()).await);
}

#[tokio::test]
async fn fake_inventory_conforms() {
    let (fake, fixture) = fake_inventory();
    assert_passes(inventory::run_all(&fake, &fixture).await);
}

#[tokio::test]
async fn clocks_conform() {
    assert_passes(clock::run_all(&FakeClock::default()).await);
    let ticking = FakeClock::ticking(FakeClock::default_start(), ChronoDuration::seconds(1));
    assert_passes(clock::run_all(&ticking).await);
    assert_passes(clock::run_all(&ports::SystemClock::new()).await);
}

#[tokio::test]
async fn fake_interpreter_conforms() {
    assert_passes(interpreter::run_all(&FakeInterpreter::new(), &interpreter::sample()).await);
}

#[tokio::test]
async fn fake_store_conforms_as_a_whole() {
    let fake: StoreRef = Arc::new(FakeStore::new());
    assert_passes(store::run_all(fake.as_ref(), &store::sample()).await);
}

#[tokio::test]
async fn fake_store_conforms_per_trait() {
    let fake = FakeStore::new();
    let fixture = store::sample();
    assert_passes(store::idempotency_suite(&fake, &fixture).await);
    assert_passes(store::return_suite(&fake, &fixture).await);
    assert_passes(store::refund_intent_suite(&fake, &fixture).await);
    assert_passes(store::inbox_suite(&fake, &fixture).await);
    assert_passes(store::conversation_suite(&fake, &fixture).await);
    assert_passes(store::decision_log_suite(&fake, &fixture).await);
}

#[tokio::test]
async fn a_second_run_against_the_same_store_passes() {
    let fake = FakeStore::new();
    let mut fixture = store::sample();
    assert_passes(store::run_all(&fake, &fixture).await);
    fixture.run_id = "second".to_owned();
    assert_passes(store::run_all(&fake, &fixture).await);
}

#[tokio::test]
async fn fakes_conform_with_latency_everywhere() {
    let faults = Faults::new();
    faults.everywhere(Fault::Latency(Duration::from_millis(1)));
    let (fake, fixture) = fake_payments();
    assert_passes(payments::run_all(&fake.with_faults(faults.clone()), &fixture).await);
    let fake = FakeStore::new().with_faults(faults.clone());
    assert_passes(store::run_all(&fake, &store::sample()).await);
    assert!(!faults.fired().is_empty());
}

// ------------------------------------------------------------------------------------------------
// broken fakes fail

#[tokio::test]
async fn payments_ignoring_idempotency_keys_fail() {
    let (fake, fixture) = fake_payments();
    let broken = PaymentsIgnoringIdempotencyKeys::new(fake);
    assert_fails(
        payments::run_all(&broken, &fixture).await,
        &[
            "payments.refund_is_idempotent",
            "payments.key_reuse_for_another_refund_conflicts",
        ],
    );
}

#[tokio::test]
async fn oms_erroring_on_a_missing_order_fails() {
    let (fake, fixture) = fake_oms();
    let broken = OmsFailingOnMissingOrder::new(fake);
    assert_fails(
        oms::run_all(&broken, &fixture).await,
        &["oms.missing_lookups_answer_none"],
    );
}

#[tokio::test]
async fn carrier_with_newest_events_first_fails() {
    let (fake, fixture) = fake_carrier();
    let broken = CarrierWithNewestEventsFirst::new(fake);
    assert_fails(
        carrier::run_all(&broken, &fixture).await,
        &["carrier.events_oldest_first"],
    );
}

#[tokio::test]
async fn forgetful_inbox_fails() {
    assert_fails(
        store::inbox_suite(&ForgetfulInbox, &store::sample()).await,
        &[
            "store.inbox_marks_each_event_once",
            "store.inbox_concurrent_marks_count_once",
        ],
    );
}

#[tokio::test]
async fn queue_ignoring_claims_fails() {
    assert_fails(
        queue::queue_suite(&QueueIgnoringClaims::default(), &store::sample()).await,
        &[
            "store.queue_hands_a_key_to_one_worker_at_a_time",
            "store.queue_takes_over_expired_claims_and_fences_the_old_one",
            "store.queue_retries_in_order_and_gives_up",
            "store.queue_concurrent_claims_never_share_a_key",
        ],
    );
}

#[tokio::test]
async fn decision_log_reusing_sequence_numbers_fails() {
    assert_fails(
        store::decision_log_suite(
            &DecisionLogReusingSequenceNumbers::default(),
            &store::sample(),
        )
        .await,
        &["store.decision_log_sequence_strictly_increases"],
    );
}

#[tokio::test]
async fn last_write_wins_conversations_fail() {
    assert_fails(
        store::conversation_suite(&LastWriteWinsConversationStore::default(), &store::sample())
            .await,
        &[
            "store.conversation_compare_and_set",
            "store.conversation_concurrent_saves_succeed_once",
        ],
    );
}

#[tokio::test]
async fn clock_going_backwards_fails() {
    let start = Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0).unwrap();
    let mut mock = MockClock::new();
    let mut readings = 0i64;
    mock.expect_now().returning(move || {
        readings += 1;
        start - ChronoDuration::seconds(readings)
    });
    assert_fails(clock::run_all(&mock).await, &["clock.never_goes_backwards"]);
}

#[tokio::test]
async fn interpreter_inventing_references_fails() {
    let mut mock = MockInterpreter::new();
    mock.expect_interpret().returning(|text, _| {
        let blank = text.trim().is_empty();
        Ok(Interpretation {
            intent: Intent::OutOfScope,
            confidence: 0.0,
            language: Locale::En,
            entities: Entities {
                order_numbers: if blank {
                    Vec::new()
                } else {
                    vec![OrderNumber::new("777777")]
                },
                ..Entities::default()
            },
        })
    });
    let report = interpreter::run_all(&mock, &interpreter::sample())
        .await
        .unwrap_err();
    assert!(report.failed("interpreter.entities_occur_in_the_text"));
    assert!(report.failed("interpreter.labelled_intents_are_read"));
    assert!(!report.failed("interpreter.blank_text_is_out_of_scope"));
    assert!(!report.failed("interpreter.confidence_is_between_zero_and_one"));
}

#[tokio::test]
async fn report_lists_every_failed_check_and_reads_well() {
    let (fake, fixture) = fake_payments();
    let report = payments::run_all(&PaymentsIgnoringIdempotencyKeys::new(fake), &fixture)
        .await
        .unwrap_err();
    assert_eq!(report.checks_run, 6);
    let text = report.to_string();
    assert!(text.starts_with("payments conformance: "), "{text}");
    assert!(text.contains("payments.refund_is_idempotent: "), "{text}");
}

// ------------------------------------------------------------------------------------------------
// fault injection

fn refund_request(key: &str, minor: i64) -> RefundRequest {
    RefundRequest {
        payment_id: PaymentId::new("pay_conformance"),
        amount: Money::from_minor(minor, Currency::CHF),
        idempotency_key: key.to_owned(),
        metadata: Default::default(),
    }
}

#[tokio::test]
async fn errors_fail_the_next_calls_then_stop() {
    let (fake, _) = fake_payments();
    let faults = Faults::new();
    let fake = fake.with_faults(faults.clone());
    faults.times(
        ports::payments::ops::REFUND,
        Fault::Error(PortErrorKind::Unavailable),
        2,
    );
    for _ in 0..2 {
        let err = fake.refund(&refund_request("k1", 100)).await.unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::Unavailable);
        assert!(err.is_retryable());
        assert_eq!(err.operation(), "payments.refund");
    }
    assert!(fake.all_refunds().is_empty(), "a failed call refunded");
    fake.refund(&refund_request("k1", 100)).await.unwrap();
    assert_eq!(fake.all_refunds().len(), 1);
    assert_eq!(faults.fired().len(), 2);
    let outcomes: Vec<CallOutcome> = fake
        .calls()
        .of(ports::payments::ops::REFUND)
        .iter()
        .map(|c| c.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec![
            CallOutcome::Err(PortErrorKind::Unavailable),
            CallOutcome::Err(PortErrorKind::Unavailable),
            CallOutcome::Ok,
        ]
    );
}

#[tokio::test]
async fn timeout_after_effect_refunds_and_a_retry_does_not_refund_again() {
    let (fake, _) = fake_payments();
    let faults = Faults::new();
    let fake = fake.with_faults(faults.clone());
    faults.once(ports::payments::ops::REFUND, Fault::TimeoutAfterEffect);
    let lost = fake.refund(&refund_request("k2", 500)).await.unwrap_err();
    assert_eq!(lost.kind(), PortErrorKind::Timeout);
    assert_eq!(fake.all_refunds().len(), 1, "the effect was not applied");
    let retried = fake.refund(&refund_request("k2", 500)).await.unwrap();
    assert_eq!(fake.all_refunds(), vec![retried]);
}

#[tokio::test]
async fn timeout_before_effect_waits_and_does_nothing() {
    let (fake, _) = fake_payments();
    let fake = fake.with_faults(Faults::new());
    fake.faults().once(
        ports::payments::ops::REFUND,
        Fault::Timeout(Duration::from_millis(20)),
    );
    let started = Instant::now();
    let err = fake.refund(&refund_request("k3", 500)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert!(started.elapsed() >= Duration::from_millis(20));
    assert!(fake.all_refunds().is_empty());
}

#[tokio::test]
async fn latency_delays_but_succeeds() {
    let (fake, _) = fake_payments();
    let fake = fake.with_faults(Faults::new());
    fake.faults().always(
        ports::payments::ops::PAYMENT,
        Fault::Latency(Duration::from_millis(15)),
    );
    let started = Instant::now();
    let payment = fake
        .payment(&PaymentId::new("pay_conformance"))
        .await
        .unwrap();
    assert!(payment.is_some());
    assert!(started.elapsed() >= Duration::from_millis(15));
    fake.faults().clear(ports::payments::ops::PAYMENT);
    assert!(fake.faults().fired().len() == 1);
}

#[tokio::test]
async fn rate_limits_carry_the_wait() {
    let (fake, _) = fake_payments();
    let fake = fake.with_faults(Faults::new());
    fake.faults().once(
        ports::payments::ops::REFUNDS,
        Fault::Error(PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        }),
    );
    let err = fake
        .refunds(&PaymentId::new("pay_conformance"))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn duplicate_delivery_delivers_twice() {
    let (fake, fixture) = fake_messaging();
    let fake = fake.with_faults(Faults::new());
    fake.faults()
        .once(ports::messaging::ops::SEND, Fault::DuplicateDelivery);
    let message = OutboundMessage {
        channel: fixture.deliverable.0,
        to: fixture.deliverable.1.clone(),
        locale: Locale::De,
        subject: Some("Ihre Bestellung".to_owned()),
        body: "Ihr Paket ist unterwegs.".to_owned(),
        idempotency_key: "wismo:o_1001".to_owned(),
    };
    let delivery = fake.send(&message).await.unwrap();
    assert!(matches!(delivery, Delivery::Accepted { .. }));
    let delivered = fake.delivered_to(&fixture.deliverable.1);
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[0], delivered[1]);
    fake.send(&message).await.unwrap();
    assert_eq!(fake.delivered_to(&fixture.deliverable.1).len(), 3);
}

#[tokio::test]
async fn everywhere_faults_hit_every_operation_until_cleared() {
    let faults = Faults::new();
    let store = FakeStore::new().with_faults(faults.clone());
    faults.everywhere(Fault::Error(PortErrorKind::Unavailable));
    let err = store.mark_processed("shopify", "evt_1").await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert!(store.is_processed("shopify", "evt_1").await.is_err());
    faults.clear_all();
    assert!(store.mark_processed("shopify", "evt_1").await.unwrap());
}

#[tokio::test]
async fn a_shared_call_log_gives_one_timeline() {
    let log = CallLog::new();
    let (payments_fake, _) = fake_payments();
    let payments_fake = payments_fake.with_call_log(log.clone());
    let (messaging_fake, fixture) = fake_messaging();
    let messaging_fake = messaging_fake.with_call_log(log.clone());
    payments_fake
        .refund(&refund_request("k4", 100))
        .await
        .unwrap();
    messaging_fake
        .send(&OutboundMessage {
            channel: Channel::Email,
            to: fixture.deliverable.1.clone(),
            locale: Locale::En,
            subject: Some("Refund".to_owned()),
            body: "Your refund is on its way.".to_owned(),
            idempotency_key: "refund-notice".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(log.operations(), vec!["payments.refund", "messaging.send"]);
    let refund_call = &log.of("payments.refund")[0];
    assert_eq!(refund_call.args["idempotency_key"], "k4");
}

#[tokio::test]
async fn concurrent_refunds_never_exceed_what_was_captured() {
    let (fake, _) = fake_payments();
    let fake = Arc::new(fake);
    // CHF 90.00 is refundable; twenty refunds of CHF 10.00 race for it.
    let mut tasks = Vec::new();
    for n in 0..20 {
        let fake = Arc::clone(&fake);
        tasks.push(tokio::spawn(async move {
            fake.refund(&refund_request(&format!("race-{n}"), 1_000))
                .await
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(e) => assert_eq!(e.kind(), PortErrorKind::Rejected),
        }
    }
    assert_eq!(accepted, 9);
    let payment = fake
        .payment(&PaymentId::new("pay_conformance"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.refunded, payment.captured);
}

#[tokio::test]
async fn a_store_is_usable_through_every_trait_object() {
    let store: Arc<dyn Store> = Arc::new(FakeStore::new());
    assert!(store.mark_processed("shopify", "evt_9").await.unwrap());
    let seq = store
        .append_decision(&ports::DecisionRecord {
            at: FakeClock::default_start(),
            subject: "order:o_1".to_owned(),
            decision: serde_json::json!({ "outcome": "approve" }),
            reasons: vec!["within_window".to_owned()],
        })
        .await
        .unwrap();
    assert_eq!(seq, 1);
}

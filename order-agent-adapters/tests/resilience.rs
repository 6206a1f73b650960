//! The resilience wrappers around the testkit fakes, with injected faults and tokio's paused
//! clock: what is retried (reads, refunds with their key) and what never is (return labels), how
//! long it waits (backoff, `Retry-After`, the rate limit), and the circuit breaker's states.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use order_agent_adapters::resilience::{
    BreakerConfig, BreakerState, RateLimitConfig, ResilienceConfig, ResilienceLayer, RetryConfig,
};
use order_agent_core::domain::Locale;
use order_agent_core::domain::{PaymentId, ReturnId};
use order_agent_core::ports::carrier::{ops as carrier_ops, ReturnLabelRequest};
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{
    messaging as messaging_port, oms as oms_port, Messaging, OutboundMessage,
};
use order_agent_core::ports::{Carrier, Payments, PaymentsExt, PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::{carrier, helpdesk, inventory, messaging, oms, payments};
use order_agent_testkit::fakes::{
    FakeCarrier, FakeHelpdesk, FakeInventory, FakeMessaging, FakeOms, FakePayments, Fault,
};
use tokio::time::Instant;

fn config() -> ResilienceConfig {
    ResilienceConfig {
        timeout_ms: 1_000,
        retry: RetryConfig {
            max_attempts: 3,
            base_delay_ms: 100,
            max_delay_ms: 1_000,
            max_retry_after_ms: 30_000,
        },
        rate_limit: None,
        breaker: BreakerConfig {
            failure_threshold: 100,
            open_ms: 10_000,
        },
        jitter_seed: Some(42),
    }
}

fn layer(config: ResilienceConfig) -> ResilienceLayer {
    ResilienceLayer::new(config).unwrap()
}

fn fake_payments() -> FakePayments {
    FakePayments::new().with_payments(payments::sample().payments)
}

fn pay() -> PaymentId {
    payments::sample().fixture.payment
}

fn refund_request(key: &str) -> RefundRequest {
    RefundRequest {
        payment_id: pay(),
        amount: Money::from_minor(300, Currency::CHF),
        idempotency_key: key.to_owned(),
        metadata: BTreeMap::new(),
    }
}

fn label_request() -> ReturnLabelRequest {
    let sample = carrier::sample().fixture;
    ReturnLabelRequest {
        return_id: ReturnId::new("ret_1"),
        carrier: sample.carrier,
        from: sample.valid_address,
        to: sample.returns_warehouse,
        weight_grams: Some(800),
    }
}

fn elapsed_ms(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

#[tokio::test(start_paused = true)]
async fn wrapped_fakes_pass_the_conformance_suites() {
    let account = layer(config());
    let sample = payments::sample();
    let wrapped = account.wrap(FakePayments::new().with_payments(sample.payments));
    payments::run_all(&wrapped, &sample.fixture).await.unwrap();
    let sample = carrier::sample();
    let wrapped = account.wrap(FakeCarrier::new().with_tracking(sample.tracking));
    carrier::run_all(&wrapped, &sample.fixture).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn every_wrapped_port_passes_its_suite_through_one_outage() {
    let account = layer(config());
    // Idempotent writes and reads are retried, so one outage per operation stays invisible.
    let sample = oms::sample();
    let fake = FakeOms::new()
        .with_orders(sample.orders)
        .with_customers(sample.customers);
    for op in [
        oms_port::ops::ORDER,
        oms_port::ops::CANCEL_ORDER,
        oms_port::ops::RECORD_RETURN,
    ] {
        fake.faults()
            .once(op, Fault::Error(PortErrorKind::Unavailable));
    }
    let wrapped = account.wrap(fake);
    oms::run_all(&wrapped, &sample.fixture).await.unwrap();
    assert_eq!(wrapped.inner().faults().fired().len(), 3);

    let fixture = inventory::sample();
    let fake = FakeInventory::new().with_stock(fixture.sku.clone(), fixture.location.clone(), 5);
    fake.faults().once(
        order_agent_core::ports::inventory::ops::RESTOCK,
        Fault::TimeoutAfterEffect,
    );
    inventory::run_all(&account.wrap(fake), &fixture)
        .await
        .unwrap();

    let fake = FakeHelpdesk::new();
    fake.faults().once(
        order_agent_core::ports::helpdesk::ops::OPEN_TICKET,
        Fault::TimeoutAfterEffect,
    );
    helpdesk::run_all(&account.wrap(fake), &helpdesk::sample())
        .await
        .unwrap();

    let fixture = messaging::sample();
    let fake = FakeMessaging::new().refusing(fixture.refused.0, &fixture.refused.1, "opted out");
    messaging::run_all(&account.wrap(fake), &fixture)
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_message_is_never_sent_twice_by_the_wrapper() {
    let fixture = messaging::sample();
    let wrapped = layer(config()).wrap(FakeMessaging::new());
    wrapped
        .inner()
        .faults()
        .once(messaging_port::ops::SEND, Fault::TimeoutAfterEffect);
    let message = OutboundMessage {
        channel: fixture.deliverable.0,
        to: fixture.deliverable.1,
        locale: Locale::De,
        subject: None,
        body: "Ihre Rückerstattung ist unterwegs".to_owned(),
        idempotency_key: "msg:1".to_owned(),
    };
    let err = wrapped.send(&message).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert_eq!(wrapped.inner().calls().count(messaging_port::ops::SEND), 1);
}

#[tokio::test(start_paused = true)]
async fn reads_are_retried_with_jittered_exponential_backoff() {
    let wrapped = layer(config()).wrap(fake_payments());
    let fake = wrapped.inner();
    fake.faults()
        .times(ops::PAYMENT, Fault::Error(PortErrorKind::Unavailable), 2);
    let start = Instant::now();
    assert!(wrapped.payment(&pay()).await.unwrap().is_some());
    assert_eq!(fake.calls().count(ops::PAYMENT), 3);
    // Backoffs of [50, 100] ms then [100, 200] ms.
    let waited = elapsed_ms(start);
    assert!((150..=300).contains(&waited), "waited {waited} ms");
}

#[tokio::test(start_paused = true)]
async fn reads_give_up_after_the_last_attempt() {
    let wrapped = layer(config()).wrap(fake_payments());
    wrapped
        .inner()
        .faults()
        .always(ops::REFUNDS, Fault::Error(PortErrorKind::Unavailable));
    let err = wrapped.refunds(&pay()).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert_eq!(err.context_value("attempts"), Some("3"));
    assert_eq!(wrapped.inner().calls().count(ops::REFUNDS), 3);
}

#[tokio::test(start_paused = true)]
async fn a_refund_is_retried_under_its_key_and_refunds_once() {
    let wrapped = layer(config()).wrap(fake_payments());
    let fake = wrapped.inner();
    let before = fake.refunded_total(&pay(), Currency::CHF).await.unwrap();
    // The processor refunds, then the answer is lost.
    fake.faults().once(ops::REFUND, Fault::TimeoutAfterEffect);
    let refund = wrapped
        .refund(&refund_request("refund:ret_1"))
        .await
        .unwrap();
    assert_eq!(fake.calls().count(ops::REFUND), 2);
    let after = fake.refunded_total(&pay(), Currency::CHF).await.unwrap();
    assert_eq!(after.checked_sub(before).unwrap(), refund.amount);
    assert_eq!(fake.refunds(&pay()).await.unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refund_without_a_key_is_not_retried() {
    let wrapped = layer(config()).wrap(fake_payments());
    wrapped
        .inner()
        .faults()
        .once(ops::REFUND, Fault::Error(PortErrorKind::Unavailable));
    let err = wrapped.refund(&refund_request("")).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert_eq!(wrapped.inner().calls().count(ops::REFUND), 1);
}

#[tokio::test(start_paused = true)]
async fn a_return_label_is_never_bought_twice() {
    let wrapped = layer(config()).wrap(FakeCarrier::new());
    let fake = wrapped.inner();
    fake.faults().once(
        carrier_ops::CREATE_RETURN_LABEL,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let err = wrapped
        .create_return_label(&label_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert_eq!(fake.calls().count(carrier_ops::CREATE_RETURN_LABEL), 1);

    fake.faults()
        .once(carrier_ops::CREATE_RETURN_LABEL, Fault::TimeoutAfterEffect);
    let err = wrapped
        .create_return_label(&label_request())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert_eq!(fake.calls().count(carrier_ops::CREATE_RETURN_LABEL), 2);
    assert_eq!(
        fake.labels().len(),
        1,
        "the lost answer's label was bought once"
    );
}

#[tokio::test(start_paused = true)]
async fn errors_that_cannot_heal_are_returned_at_once() {
    let wrapped = layer(config()).wrap(fake_payments());
    for kind in [
        PortErrorKind::Rejected,
        PortErrorKind::InvalidInput,
        PortErrorKind::Conflict,
        PortErrorKind::Unauthorized,
    ] {
        wrapped.inner().calls().clear();
        wrapped
            .inner()
            .faults()
            .once(ops::REFUND, Fault::Error(kind));
        let start = Instant::now();
        let err = wrapped.refund(&refund_request("k")).await.unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(wrapped.inner().calls().count(ops::REFUND), 1);
        assert_eq!(elapsed_ms(start), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_waited_for_unless_too_long() {
    let wrapped = layer(config()).wrap(fake_payments());
    let fake = wrapped.inner();
    fake.faults().once(
        ops::PAYMENT,
        Fault::Error(PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
        }),
    );
    let start = Instant::now();
    wrapped.payment(&pay()).await.unwrap();
    let waited = elapsed_ms(start);
    assert!((2_000..2_100).contains(&waited), "waited {waited} ms");

    fake.calls().clear();
    fake.faults().once(
        ops::PAYMENT,
        Fault::Error(PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
        }),
    );
    let start = Instant::now();
    let err = wrapped.payment(&pay()).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
    assert_eq!(fake.calls().count(ops::PAYMENT), 1);
    assert_eq!(elapsed_ms(start), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_call_times_out_per_attempt() {
    let mut config = config();
    config.retry.max_attempts = 2;
    let wrapped = layer(config).wrap(FakeCarrier::new());
    wrapped
        .inner()
        .faults()
        .always(carrier_ops::TRACK, Fault::Latency(Duration::from_secs(600)));
    let start = Instant::now();
    let err = wrapped
        .track("swiss-post", &"99.1".into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert_eq!(err.operation(), carrier_ops::TRACK);
    // Two attempts of 1 s and one backoff of [50, 100] ms.
    let waited = elapsed_ms(start);
    assert!((2_050..=2_100).contains(&waited), "waited {waited} ms");
}

#[tokio::test(start_paused = true)]
async fn the_rate_limit_is_a_share_of_the_published_limit_per_account() {
    let mut config = config();
    // Stripe test mode publishes 25 requests/s; 80% of it is 20/s with a burst of 5 (the
    // headroom left in one second) and never more than 20 in any second.
    config.rate_limit = Some(RateLimitConfig::share_of(25.0));
    let account = layer(config);
    let payments = account.wrap(fake_payments());
    let carrier = account.wrap(FakeCarrier::new());
    let start = Instant::now();
    let id = pay();
    let calls = (0..30).map(|_| payments.payment(&id));
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    for _ in 0..30 {
        carrier
            .validate_address(&carrier::sample().fixture.valid_address)
            .await
            .unwrap();
    }
    // 60 calls on one account: 5 at once and 15 at 20 per second fill the first second; the
    // second and third seconds repeat it, so the 60th goes at 2.75 s.
    let waited = elapsed_ms(start);
    assert!((2_740..=2_760).contains(&waited), "waited {waited} ms");

    let mut unlimited = self::config();
    unlimited.rate_limit = None;
    let free = layer(unlimited).wrap(fake_payments());
    let start = Instant::now();
    for _ in 0..60 {
        free.payment(&pay()).await.unwrap();
    }
    assert_eq!(elapsed_ms(start), 0);
}

#[tokio::test(start_paused = true)]
async fn the_circuit_opens_fails_fast_and_closes_after_a_good_probe() {
    let mut config = config();
    config.retry.max_attempts = 1;
    config.breaker.failure_threshold = 3;
    let account = layer(config);
    let wrapped = account.wrap(fake_payments());
    let fake = wrapped.inner();
    fake.faults()
        .always(ops::PAYMENT, Fault::Error(PortErrorKind::Unavailable));
    for _ in 0..3 {
        wrapped.payment(&pay()).await.unwrap_err();
    }
    assert_eq!(account.breaker_state(), BreakerState::Open);
    let err = wrapped.payment(&pay()).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert!(err.context_value("retry_in_ms").is_some(), "{err}");
    assert_eq!(
        fake.calls().count(ops::PAYMENT),
        3,
        "an open circuit called the service"
    );
    // Another port of the same account fails fast too.
    let err = wrapped.refunds(&pay()).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert_eq!(fake.calls().count(ops::REFUNDS), 0);

    fake.faults().clear(ops::PAYMENT);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(account.breaker_state(), BreakerState::HalfOpen);
    wrapped.payment(&pay()).await.unwrap();
    assert_eq!(account.breaker_state(), BreakerState::Closed);
    assert_eq!(fake.calls().count(ops::PAYMENT), 4);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_reopens_the_circuit() {
    let mut config = config();
    config.retry.max_attempts = 1;
    config.breaker.failure_threshold = 2;
    let account = layer(config);
    let wrapped = account.wrap(fake_payments());
    let fake = wrapped.inner();
    fake.faults()
        .always(ops::PAYMENT, Fault::Timeout(Duration::from_millis(10)));
    for _ in 0..2 {
        assert_eq!(
            wrapped.payment(&pay()).await.unwrap_err().kind(),
            PortErrorKind::Timeout
        );
    }
    assert_eq!(account.breaker_state(), BreakerState::Open);
    tokio::time::sleep(Duration::from_secs(10)).await;
    wrapped.payment(&pay()).await.unwrap_err();
    assert_eq!(account.breaker_state(), BreakerState::Open);
    assert_eq!(fake.calls().count(ops::PAYMENT), 3);
}

#[tokio::test(start_paused = true)]
async fn only_outages_count_toward_opening() {
    let mut config = config();
    config.retry.max_attempts = 1;
    config.breaker.failure_threshold = 2;
    let account = layer(config);
    let wrapped = account.wrap(fake_payments());
    for kind in [
        PortErrorKind::Rejected,
        PortErrorKind::InvalidInput,
        PortErrorKind::RateLimited { retry_after: None },
        PortErrorKind::Rejected,
    ] {
        wrapped
            .inner()
            .faults()
            .once(ops::REFUND, Fault::Error(kind));
        wrapped.refund(&refund_request("k")).await.unwrap_err();
    }
    assert_eq!(account.breaker_state(), BreakerState::Closed);
    // A success in between resets the count.
    wrapped
        .inner()
        .faults()
        .once(ops::PAYMENT, Fault::Error(PortErrorKind::Unavailable));
    wrapped.payment(&pay()).await.unwrap_err();
    wrapped.payment(&pay()).await.unwrap();
    wrapped
        .inner()
        .faults()
        .once(ops::PAYMENT, Fault::Error(PortErrorKind::Unavailable));
    wrapped.payment(&pay()).await.unwrap_err();
    assert_eq!(account.breaker_state(), BreakerState::Closed);
}

#[test]
fn refuses_configurations_that_cannot_work() {
    for share in [0.0, 1.5, f64::NAN] {
        let mut config = config();
        config.rate_limit = Some(RateLimitConfig {
            published_per_second: 25.0,
            share,
            burst: None,
            costs: Default::default(),
        });
        assert_eq!(
            ResilienceLayer::new(config).unwrap_err().kind(),
            PortErrorKind::InvalidInput
        );
    }
    let mut config = config();
    config.retry.max_attempts = 0;
    assert!(ResilienceLayer::new(config).is_err());
    let parsed: ResilienceConfig = serde_json::from_str(
        r#"{"timeout_ms": 5000, "rate_limit": {"published_per_second": 100}}"#,
    )
    .unwrap();
    assert_eq!(parsed.rate_limit.unwrap().share, 0.8);
    assert!(serde_json::from_str::<ResilienceConfig>(r#"{"timout_ms": 5000}"#).is_err());
}

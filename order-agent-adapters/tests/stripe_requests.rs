//! The Stripe adapter's requests, built offline: methods, paths, headers and form fields as Stripe
//! documents them, and the shapes refused before anything is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use order_agent_adapters::http::{Body, Method};
use order_agent_adapters::stripe::requests;
use order_agent_adapters::stripe::StripeConfig;
use order_agent_core::domain::PaymentId;
use order_agent_core::ports::{PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use secrecy::SecretString;

fn config() -> StripeConfig {
    let mut config = StripeConfig::new(SecretString::from("sk_test_abc"));
    config.api_version = Some("2024-06-20".to_owned());
    config
}

fn refund(amount: Money) -> RefundRequest {
    RefundRequest {
        payment_id: PaymentId::new("pi_123"),
        amount,
        idempotency_key: "refund:ret_1".to_owned(),
        metadata: BTreeMap::from([
            ("order_id".to_owned(), "o_1042".to_owned()),
            // The adapter owns `intent`; a caller's value is replaced by the key.
            ("intent".to_owned(), "spoofed".to_owned()),
        ]),
    }
}

#[test]
fn refund_is_a_form_post_with_the_key_in_header_and_metadata() {
    let wire = requests::create_refund(&config(), &refund(Money::from_minor(1_990, Currency::CHF)))
        .unwrap();
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/v1/refunds");
    assert_eq!(wire.header("authorization").unwrap(), "Bearer sk_test_abc");
    assert_eq!(wire.header("idempotency-key").unwrap(), "refund:ret_1");
    assert_eq!(wire.header("stripe-version").unwrap(), "2024-06-20");
    assert_eq!(
        wire.body.encode(),
        "payment_intent=pi_123&amount=1990&metadata%5Border_id%5D=o_1042&metadata%5Bintent%5D=refund%3Aret_1"
    );
    assert_eq!(
        wire.body.content_type(),
        Some("application/x-www-form-urlencoded")
    );
    // The secret never shows in logs.
    assert!(!format!("{wire:?}").contains("sk_test_abc"));
}

#[test]
fn zero_decimal_currencies_are_sent_in_their_own_units() {
    let wire =
        requests::create_refund(&config(), &refund(Money::from_minor(500, Currency::JPY))).unwrap();
    let Body::Form(form) = &wire.body else {
        panic!("form body expected")
    };
    assert!(form.contains(&("amount".to_owned(), "500".to_owned())));
}

#[test]
fn refuses_shapes_stripe_would_refuse() {
    for amount in [0, -1] {
        let err =
            requests::create_refund(&config(), &refund(Money::from_minor(amount, Currency::CHF)))
                .unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    }
    let mut long_key = refund(Money::from_minor(1, Currency::CHF));
    long_key.idempotency_key = "k".repeat(256);
    assert_eq!(
        requests::create_refund(&config(), &long_key)
            .unwrap_err()
            .kind(),
        PortErrorKind::InvalidInput
    );
    let mut many = refund(Money::from_minor(1, Currency::CHF));
    many.metadata = (0..50).map(|i| (format!("k{i}"), "v".to_owned())).collect();
    assert_eq!(
        requests::create_refund(&config(), &many)
            .unwrap_err()
            .kind(),
        PortErrorKind::InvalidInput
    );
    let mut bracket = refund(Money::from_minor(1, Currency::CHF));
    bracket.metadata = BTreeMap::from([("a]b".to_owned(), "v".to_owned())]);
    assert_eq!(
        requests::create_refund(&config(), &bracket)
            .unwrap_err()
            .kind(),
        PortErrorKind::InvalidInput
    );
}

#[test]
fn listing_pages_by_cursor() {
    let id = PaymentId::new("pi_123");
    let first = requests::list_refunds(&config(), &id, None);
    assert_eq!(first.method, Method::Get);
    assert_eq!(
        first.path_and_query(),
        "/v1/refunds?payment_intent=pi_123&limit=100"
    );
    assert_eq!(first.body, Body::Empty);
    let next = requests::list_refunds(&config(), &id, Some("re_9"));
    assert_eq!(
        next.path_and_query(),
        "/v1/refunds?payment_intent=pi_123&limit=100&starting_after=re_9"
    );
}

#[test]
fn payment_lookup_escapes_the_id() {
    let wire = requests::payment(&config(), &PaymentId::new("pi_1/../x"));
    assert_eq!(wire.path_and_query(), "/v1/payment_intents/pi_1%2F..%2Fx");
}

#[test]
fn charge_ids_from_older_integrations_use_the_charge_endpoints() {
    let id = PaymentId::new("ch_3Old");
    assert_eq!(
        requests::payment(&config(), &id).path_and_query(),
        "/v1/charges/ch_3Old"
    );
    assert_eq!(
        requests::list_refunds(&config(), &id, None).path_and_query(),
        "/v1/refunds?charge=ch_3Old&limit=100"
    );
    let mut request = refund(Money::from_minor(100, Currency::CHF));
    request.payment_id = id;
    let wire = requests::create_refund(&config(), &request).unwrap();
    assert!(wire.body.encode().starts_with("charge=ch_3Old&amount=100&"));
}

#[test]
fn config_rejects_unknown_fields_and_redacts_the_key() {
    let config: StripeConfig =
        serde_json::from_str(r#"{"api_key": "sk_live_secret", "base_url": "http://127.0.0.1:1"}"#)
            .unwrap();
    assert!(!format!("{config:?}").contains("sk_live_secret"));
    assert!(serde_json::from_str::<StripeConfig>(r#"{"api_key": "k", "base_ulr": "x"}"#).is_err());
}

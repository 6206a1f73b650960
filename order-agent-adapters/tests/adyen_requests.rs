#![cfg(feature = "adyen")]
//! The Adyen adapter's requests, built offline: method, path, headers and JSON body as Adyen's
//! Checkout API v71 documents them, and the shapes refused before anything is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use order_agent_adapters::adyen::{requests, AdyenConfig, MerchantRefundReason};
use order_agent_adapters::http::{Body, Method};
use order_agent_core::domain::PaymentId;
use order_agent_core::ports::{PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use secrecy::SecretString;
use serde_json::json;

fn config() -> AdyenConfig {
    AdyenConfig::new(SecretString::from("AQE_secret_key"), "ShopECOM")
}

fn refund(amount: Money, key: &str) -> RefundRequest {
    RefundRequest {
        payment_id: PaymentId::new("QFQTPCQ8HXSKGK82"),
        amount,
        idempotency_key: key.to_owned(),
        metadata: BTreeMap::from([("order_id".to_owned(), "o_1042".to_owned())]),
    }
}

#[test]
fn refund_is_a_json_post_with_api_key_and_idempotency_key() {
    let wire = requests::create_refund(
        &config(),
        &refund(Money::from_minor(1_990, Currency::CHF), "refund:ret_1"),
    )
    .unwrap();
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/payments/QFQTPCQ8HXSKGK82/refunds");
    assert_eq!(wire.header("x-api-key").unwrap(), "AQE_secret_key");
    assert_eq!(wire.header("idempotency-key").unwrap(), "refund:ret_1");
    assert_eq!(wire.body.content_type(), Some("application/json"));
    assert_eq!(
        wire.body,
        Body::Json(json!({
            "merchantAccount": "ShopECOM",
            "amount": {"value": 1990, "currency": "CHF"},
            "reference": requests::reference("refund:ret_1"),
        }))
    );
    assert!(!format!("{wire:?}").contains("AQE_secret_key"));
}

#[test]
fn the_reference_is_derived_from_the_key_within_80_characters() {
    let a = requests::reference("refund:ret_1");
    assert_eq!(a, requests::reference("refund:ret_1"));
    assert_ne!(a, requests::reference("refund:ret_2"));
    assert!(a.starts_with("oa-"));
    assert!(a.len() <= requests::MAX_REFERENCE_CHARS);
    assert!(requests::reference(&"x".repeat(1_000)).len() <= requests::MAX_REFERENCE_CHARS);
}

#[test]
fn keys_over_64_characters_are_sent_hashed() {
    let long = "k".repeat(65);
    let header = requests::idempotency_header(&long);
    assert_eq!(header.len(), 64);
    assert_eq!(header, requests::idempotency_header(&long));
    assert_ne!(header, requests::idempotency_header(&"k".repeat(66)));
    assert_eq!(
        requests::idempotency_header(&"k".repeat(64)),
        "k".repeat(64)
    );
    // Non-ASCII keys are hashed too: headers carry ASCII.
    assert!(requests::idempotency_header("rückgabe:1").is_ascii());
}

#[test]
fn zero_decimal_currencies_and_the_refund_reason() {
    let mut config = config();
    config.merchant_refund_reason = Some(MerchantRefundReason::Return);
    let wire =
        requests::create_refund(&config, &refund(Money::from_minor(500, Currency::JPY), "k"))
            .unwrap();
    let Body::Json(body) = &wire.body else {
        panic!("json body expected")
    };
    assert_eq!(body["amount"], json!({"value": 500, "currency": "JPY"}));
    assert_eq!(body["merchantRefundReason"], "RETURN");
    assert_eq!(
        MerchantRefundReason::CustomerRequest.as_str(),
        "CUSTOMER REQUEST"
    );
}

#[test]
fn payment_ids_are_escaped_in_the_path() {
    let mut request = refund(Money::from_minor(1, Currency::CHF), "k");
    request.payment_id = PaymentId::new("a/b c");
    let wire = requests::create_refund(&config(), &request).unwrap();
    assert_eq!(wire.path, "/payments/a%2Fb%20c/refunds");
}

#[test]
fn refuses_what_adyen_would_refuse() {
    for (amount, key) in [
        (Money::zero(Currency::CHF), "k"),
        (Money::from_minor(-1, Currency::CHF), "k"),
        (Money::from_minor(1, Currency::CHF), ""),
    ] {
        let err = requests::create_refund(&config(), &refund(amount, key)).unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::InvalidInput, "{amount} `{key}`");
    }
    let long = "k".repeat(requests::MAX_IDEMPOTENCY_KEY_CHARS + 1);
    let err = requests::create_refund(
        &config(),
        &refund(Money::from_minor(1, Currency::CHF), &long),
    )
    .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
}

#[test]
fn config_reads_from_json_without_unknown_fields() {
    let config: AdyenConfig = serde_json::from_value(json!({
        "api_key": "AQE_x",
        "merchant_account": "ShopECOM",
        "auto_capture": false,
        "merchant_refund_reason": "CUSTOMER_REQUEST",
    }))
    .unwrap();
    assert!(!config.auto_capture);
    assert_eq!(
        config.merchant_refund_reason,
        Some(MerchantRefundReason::CustomerRequest)
    );
    assert_eq!(
        config.base_url,
        order_agent_adapters::adyen::DEFAULT_BASE_URL
    );
    assert!(!format!("{config:?}").contains("AQE_x"));
    assert!(serde_json::from_value::<AdyenConfig>(json!({
        "api_key": "AQE_x",
        "merchant_account": "ShopECOM",
        "autocapture": false,
    }))
    .is_err());
}

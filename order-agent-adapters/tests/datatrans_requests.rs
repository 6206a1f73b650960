#![cfg(feature = "datatrans")]
//! The Datatrans adapter's requests, built offline: methods, paths, basic auth, the
//! `Idempotency-Key` header and the credit body as Datatrans documents them, and the shapes
//! refused before anything is sent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use order_agent_adapters::datatrans::{requests, DatatransConfig};
use order_agent_adapters::http::{Body, Method};
use order_agent_core::domain::PaymentId;
use order_agent_core::ports::{PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use secrecy::SecretString;
use serde_json::json;

const PAYMENT: &str = "240710141415958252";

fn config() -> DatatransConfig {
    DatatransConfig::new("1100012345", SecretString::from("dt-password"))
}

fn refund(amount: Money, key: &str) -> RefundRequest {
    RefundRequest {
        payment_id: PaymentId::new(PAYMENT),
        amount,
        idempotency_key: key.to_owned(),
        metadata: BTreeMap::new(),
    }
}

#[test]
fn status_is_a_get_with_basic_auth() {
    let wire = requests::payment(&config(), &PaymentId::new(PAYMENT)).unwrap();
    assert_eq!(wire.method, Method::Get);
    assert_eq!(wire.path_and_query(), format!("/v1/transactions/{PAYMENT}"));
    // base64("1100012345:dt-password")
    assert_eq!(
        wire.header("authorization").unwrap(),
        "Basic MTEwMDAxMjM0NTpkdC1wYXNzd29yZA=="
    );
    assert_eq!(wire.body, Body::Empty);
    assert!(!format!("{wire:?}").contains("MTEwMDAxMjM0NTpkdC1wYXNzd29yZA"));
}

#[test]
fn credit_is_a_json_post_with_refno_and_idempotency_key() {
    let wire = requests::credit(
        &config(),
        &refund(Money::from_minor(1_990, Currency::CHF), "refund:ret_1"),
    )
    .unwrap();
    assert_eq!(wire.method, Method::Post);
    assert_eq!(
        wire.path_and_query(),
        format!("/v1/transactions/{PAYMENT}/credit")
    );
    assert_eq!(wire.header("idempotency-key").unwrap(), "refund:ret_1");
    assert_eq!(
        wire.body,
        Body::Json(json!({
            "amount": 1990,
            "currency": "CHF",
            "refno": requests::refno("refund:ret_1"),
        }))
    );
}

#[test]
fn the_refno_is_derived_from_the_key_within_datatrans_limits() {
    for key in ["refund:ret_1", "", "rückgabe 7", &"x".repeat(1_000)] {
        let refno = requests::refno(key);
        assert_eq!(refno.len(), requests::MAX_REFNO_CHARS);
        assert!(refno.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(refno, requests::refno(key));
    }
    assert_ne!(requests::refno("a"), requests::refno("b"));
}

#[test]
fn long_or_non_ascii_keys_are_sent_hashed() {
    assert_eq!(requests::idempotency_header("k-1"), "k-1");
    let hashed = requests::idempotency_header("rückgabe 7");
    assert!(hashed.starts_with("oa-") && hashed.is_ascii());
    assert_eq!(requests::idempotency_header(&"k".repeat(65)).len(), 64);
}

#[test]
fn refuses_what_datatrans_would_refuse() {
    for (amount, key) in [
        (Money::zero(Currency::CHF), "k"),
        (Money::from_minor(-1, Currency::CHF), "k"),
        (Money::from_minor(1, Currency::CHF), ""),
    ] {
        let err = requests::credit(&config(), &refund(amount, key)).unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::InvalidInput, "{amount} `{key}`");
    }
    // Transaction ids are digits: anything else is not a Datatrans payment.
    let mut other = refund(Money::from_minor(1, Currency::CHF), "k");
    other.payment_id = PaymentId::new("pi_123");
    assert_eq!(
        requests::credit(&config(), &other).unwrap_err().kind(),
        PortErrorKind::NotFound
    );
    other.payment_id = PaymentId::new("1/../2");
    assert_eq!(
        requests::payment(&config(), &other.payment_id)
            .unwrap_err()
            .kind(),
        PortErrorKind::NotFound
    );
    assert!(requests::is_transaction_id(PAYMENT));
    assert!(!requests::is_transaction_id(""));
    assert!(!requests::is_transaction_id(&"1".repeat(20)));
}

#[test]
fn config_reads_from_json_without_unknown_fields() {
    let config: DatatransConfig = serde_json::from_value(json!({
        "merchant_id": "1100012345",
        "password": "pw",
    }))
    .unwrap();
    assert_eq!(
        config.base_url,
        order_agent_adapters::datatrans::DEFAULT_BASE_URL
    );
    assert!(serde_json::from_value::<DatatransConfig>(json!({
        "merchant_id": "1100012345",
        "password": "pw",
        "sandbox": true,
    }))
    .is_err());
}

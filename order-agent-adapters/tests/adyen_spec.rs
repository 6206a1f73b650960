#![cfg(feature = "adyen")]
//! Every request the Adyen adapter builds, checked against Adyen's own OpenAPI description
//! (`../shared/specs/adyen/CheckoutService-v71.json`) served by Prism; plus negative controls
//! that must be rejected. `spec-check/run.sh` starts Prism and sets `ORDER_AGENT_PRISM_ADYEN`;
//! without it these tests skip and say so.
//!
//! The description's server is `https://checkout-test.adyen.com/v71` and Prism matches paths
//! without the `/v71` prefix: the adapter's paths are relative to a versioned base URL.
//! Notifications (`Webhooks-v1.json`) are requests Adyen sends, not ones the adapter builds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod prism;

use std::collections::BTreeMap;

use order_agent_adapters::adyen::{requests, AdyenConfig, MerchantRefundReason};
use order_agent_adapters::http::{Body, HeaderValue, WireRequest};
use order_agent_core::domain::PaymentId;
use order_agent_core::ports::RefundRequest;
use order_agent_core::{Currency, Money};
use prism::Prism;
use secrecy::SecretString;
use serde_json::json;

const SPEC: &str = "adyen/CheckoutService-v71.json";
const URL_VAR: &str = "ORDER_AGENT_PRISM_ADYEN";

fn config() -> AdyenConfig {
    AdyenConfig::new(SecretString::from("AQE_spec_key"), "ShopECOM")
}

fn refund_request() -> WireRequest {
    let request = RefundRequest {
        payment_id: PaymentId::new("QFQTPCQ8HXSKGK82"),
        amount: Money::from_minor(2_550, Currency::CHF),
        idempotency_key: "refund:ret_7:1".to_owned(),
        metadata: BTreeMap::from([("order_id".to_owned(), "#1042".to_owned())]),
    };
    requests::create_refund(&config(), &request).unwrap()
}

fn with_body(mut request: WireRequest, edit: impl FnOnce(&mut serde_json::Value)) -> WireRequest {
    let Body::Json(body) = &mut request.body else {
        panic!("json body expected")
    };
    edit(body);
    request
}

#[tokio::test]
async fn create_refund_conforms() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    prism
        .assert_accepted("create refund", &refund_request())
        .await;
    let mut with_reason = config();
    with_reason.merchant_refund_reason = Some(MerchantRefundReason::CustomerRequest);
    let request = RefundRequest {
        payment_id: PaymentId::new("QFQTPCQ8HXSKGK83"),
        amount: Money::from_minor(500, Currency::JPY),
        // Longer than Adyen's 64-character Idempotency-Key: sent hashed.
        idempotency_key: "k".repeat(200),
        metadata: BTreeMap::new(),
    };
    prism
        .assert_accepted(
            "create refund with a reason and a long key",
            &requests::create_refund(&with_reason, &request).unwrap(),
        )
        .await;
}

#[tokio::test]
async fn create_refund_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    prism
        .assert_rejected(
            "amount value as a decimal string",
            &with_body(refund_request(), |b| b["amount"]["value"] = json!("25.50")),
        )
        .await;
    prism
        .assert_rejected(
            "no merchant account",
            &with_body(refund_request(), |b| {
                b.as_object_mut().unwrap().remove("merchantAccount");
            }),
        )
        .await;
    prism
        .assert_rejected(
            "a refund reason outside the enum",
            &with_body(refund_request(), |b| {
                b["merchantRefundReason"] = json!("CHANGED_MIND")
            }),
        )
        .await;
    prism
        .assert_rejected(
            "a currency of four letters",
            &with_body(refund_request(), |b| {
                b["amount"]["currency"] = json!("CHFX")
            }),
        )
        .await;
    prism
        .assert_rejected(
            "an unknown property",
            &with_body(refund_request(), |b| {
                b["metadata"] = json!({"order_id": "#1042"})
            }),
        )
        .await;
    let mut no_key = refund_request();
    no_key.headers.retain(|(name, _)| name != "x-api-key");
    prism.assert_rejected("no credentials", &no_key).await;
    let mut form = refund_request();
    form.body = Body::Form(vec![("amount".to_owned(), "2550".to_owned())]);
    prism.assert_rejected("a form body", &form).await;
    let mut header_only = refund_request();
    header_only.headers.push((
        "authorization".to_owned(),
        HeaderValue::Plain("Token abc".to_owned()),
    ));
    header_only.headers.retain(|(name, _)| name != "x-api-key");
    prism
        .assert_rejected("an unknown auth scheme", &header_only)
        .await;
}

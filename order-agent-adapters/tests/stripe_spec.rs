//! Every request the Stripe adapter builds, checked against Stripe's own OpenAPI description
//! (`../shared/specs/stripe/refunds.request-subset.json`) served by Prism; plus one negative
//! control per operation that must be rejected. `spec-check/run.sh` starts Prism and sets
//! `ORDER_AGENT_PRISM_STRIPE`; without it these tests skip and say so.
//!
//! Not covered: `GET /v1/payment_intents/{id}` and `GET /v1/charges/{id}` (the subset holds the
//! refunds paths only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod prism;

use std::collections::BTreeMap;

use order_agent_adapters::http::{Body, HeaderValue, WireRequest};
use order_agent_adapters::stripe::{requests, StripeConfig};
use order_agent_core::domain::PaymentId;
use order_agent_core::ports::RefundRequest;
use order_agent_core::{Currency, Money};
use prism::Prism;
use secrecy::SecretString;

const SPEC: &str = "stripe/refunds.request-subset.json";
const URL_VAR: &str = "ORDER_AGENT_PRISM_STRIPE";

fn config() -> StripeConfig {
    let mut config = StripeConfig::new(SecretString::from("sk_test_spec"));
    config.api_version = Some("2023-08-16".to_owned());
    config.account = Some("acct_1".to_owned());
    config
}

fn refund_request() -> WireRequest {
    let request = RefundRequest {
        payment_id: PaymentId::new("pi_3NqSpec"),
        amount: Money::from_minor(2_550, Currency::CHF),
        idempotency_key: "refund:ret_7:1".to_owned(),
        metadata: BTreeMap::from([
            ("order_id".to_owned(), "#1042".to_owned()),
            ("return_id".to_owned(), "ret_7".to_owned()),
        ]),
    };
    requests::create_refund(&config(), &request).unwrap()
}

fn without_auth(mut request: WireRequest) -> WireRequest {
    request.headers.retain(|(name, _)| name != "authorization");
    request
}

fn replace_form(mut request: WireRequest, field: &str, value: &str) -> WireRequest {
    let Body::Form(form) = &mut request.body else {
        panic!("form body expected")
    };
    let slot = form.iter_mut().find(|(k, _)| k == field).unwrap();
    slot.1 = value.to_owned();
    request
}

fn replace_query(mut request: WireRequest, field: &str, value: &str) -> WireRequest {
    let slot = request.query.iter_mut().find(|(k, _)| k == field).unwrap();
    slot.1 = value.to_owned();
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
    let by_charge = RefundRequest {
        payment_id: PaymentId::new("ch_3NqOld"),
        amount: Money::from_minor(100, Currency::EUR),
        idempotency_key: "refund:ret_8:1".to_owned(),
        metadata: BTreeMap::new(),
    };
    prism
        .assert_accepted(
            "create refund of a charge",
            &requests::create_refund(&config(), &by_charge).unwrap(),
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
            "amount as a decimal string",
            &replace_form(refund_request(), "amount", "25.50"),
        )
        .await;
    prism
        .assert_rejected("no credentials", &without_auth(refund_request()))
        .await;
    let mut json = refund_request();
    json.body = Body::Json(serde_json::json!({"payment_intent": "pi_3NqSpec", "amount": 2550}));
    prism.assert_rejected("a json body", &json).await;
    let mut bad_reason = refund_request();
    if let Body::Form(form) = &mut bad_reason.body {
        form.push(("reason".to_owned(), "changed_mind".to_owned()));
    }
    prism
        .assert_rejected("a reason outside the enum", &bad_reason)
        .await;
}

#[tokio::test]
async fn list_refunds_conforms_on_every_page() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    let id = PaymentId::new("pi_3NqSpec");
    prism
        .assert_accepted(
            "list refunds",
            &requests::list_refunds(&config(), &id, None),
        )
        .await;
    prism
        .assert_accepted(
            "list refunds, next page",
            &requests::list_refunds(&config(), &id, Some("re_3NqPrev")),
        )
        .await;
    prism
        .assert_accepted(
            "list refunds of a charge",
            &requests::list_refunds(&config(), &PaymentId::new("ch_3NqOld"), None),
        )
        .await;
}

#[tokio::test]
async fn list_refunds_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    let list = requests::list_refunds(&config(), &PaymentId::new("pi_3NqSpec"), None);
    prism
        .assert_rejected(
            "limit not an integer",
            &replace_query(list.clone(), "limit", "all"),
        )
        .await;
    prism
        .assert_rejected(
            "payment_intent longer than 5000",
            &replace_query(list.clone(), "payment_intent", &"p".repeat(5001)),
        )
        .await;
    let mut basic_garbage = list;
    basic_garbage
        .headers
        .retain(|(name, _)| name != "authorization");
    basic_garbage.headers.push((
        "authorization".to_owned(),
        HeaderValue::Plain("Token abc".to_owned()),
    ));
    prism
        .assert_rejected("an unknown auth scheme", &basic_garbage)
        .await;
}

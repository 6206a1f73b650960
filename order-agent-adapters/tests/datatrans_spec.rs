#![cfg(feature = "datatrans")]
//! Every request the Datatrans adapter builds, checked against Datatrans' own OpenAPI
//! description (`../shared/specs/datatrans/openapi-2.0.45.json`) served by Prism; plus negative
//! controls per operation that must be rejected. `spec-check/run.sh` starts Prism and sets
//! `ORDER_AGENT_PRISM_DATATRANS`; without it these tests skip and say so.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod prism;

use std::collections::BTreeMap;

use order_agent_adapters::datatrans::{requests, DatatransConfig};
use order_agent_adapters::http::{Body, HeaderValue, WireRequest};
use order_agent_core::domain::PaymentId;
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::RefundRequest;
use order_agent_core::{Currency, Money};
use prism::Prism;
use secrecy::SecretString;
use serde_json::json;

const SPEC: &str = "datatrans/openapi-2.0.45.json";
const URL_VAR: &str = "ORDER_AGENT_PRISM_DATATRANS";
/// Real Datatrans transaction ids have 18 digits (`240710141415958252`), but Prism validates an
/// `int64` path parameter as a JavaScript number and refuses anything above 2^53 - 1, even the
/// spec's own examples (pinned by `prism_refuses_real_18_digit_ids`). The accepted checks use a
/// 16-digit id; the shape sent (digits in the path) is the same.
const PAYMENT: &str = "4007199254740991";
const REAL_ID: &str = "240710141415958252";

fn config() -> DatatransConfig {
    DatatransConfig::new("1100012345", SecretString::from("spec-password"))
}

fn credit_request() -> WireRequest {
    let request = RefundRequest {
        payment_id: PaymentId::new(PAYMENT),
        amount: Money::from_minor(2_550, Currency::CHF),
        idempotency_key: "refund:ret_7:1".to_owned(),
        metadata: BTreeMap::new(),
    };
    requests::credit(&config(), &request).unwrap()
}

fn with_body(mut request: WireRequest, edit: impl FnOnce(&mut serde_json::Value)) -> WireRequest {
    let Body::Json(body) = &mut request.body else {
        panic!("json body expected")
    };
    edit(body);
    request
}

fn without_auth(mut request: WireRequest) -> WireRequest {
    request.headers.retain(|(name, _)| name != "authorization");
    request
}

fn with_bearer(mut request: WireRequest) -> WireRequest {
    request.headers.retain(|(name, _)| name != "authorization");
    request.headers.push((
        "authorization".to_owned(),
        HeaderValue::Plain("Bearer abc".to_owned()),
    ));
    request
}

#[tokio::test]
async fn status_conforms() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    prism
        .assert_accepted(
            "payment status",
            &requests::payment(&config(), &PaymentId::new(PAYMENT)).unwrap(),
        )
        .await;
    prism
        .assert_accepted(
            "credit status",
            &requests::status(&config(), ops::REFUNDS, "4007199254740992").unwrap(),
        )
        .await;
}

#[tokio::test]
async fn status_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    let status = requests::payment(&config(), &PaymentId::new(PAYMENT)).unwrap();
    let mut not_a_number = status.clone();
    not_a_number.path = "/v1/transactions/pi_3NqSpec".to_owned();
    prism
        .assert_rejected("a transaction id that is not an integer", &not_a_number)
        .await;
    prism
        .assert_rejected("no credentials", &without_auth(status.clone()))
        .await;
    prism
        .assert_rejected("a bearer token instead of basic auth", &with_bearer(status))
        .await;
}

#[tokio::test]
async fn credit_conforms() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    prism.assert_accepted("credit", &credit_request()).await;
    let long_key = RefundRequest {
        payment_id: PaymentId::new(PAYMENT),
        amount: Money::from_minor(1, Currency::EUR),
        idempotency_key: "ключ ".repeat(100),
        metadata: BTreeMap::new(),
    };
    prism
        .assert_accepted(
            "credit with a long non-ascii key",
            &requests::credit(&config(), &long_key).unwrap(),
        )
        .await;
}

#[tokio::test]
async fn credit_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    prism
        .assert_rejected(
            "refno longer than 40",
            &with_body(credit_request(), |b| b["refno"] = json!("r".repeat(41))),
        )
        .await;
    prism
        .assert_rejected(
            "no currency",
            &with_body(credit_request(), |b| {
                b.as_object_mut().unwrap().remove("currency");
            }),
        )
        .await;
    prism
        .assert_rejected(
            "amount as a decimal string",
            &with_body(credit_request(), |b| b["amount"] = json!("25.50")),
        )
        .await;
    prism
        .assert_rejected("no credentials", &without_auth(credit_request()))
        .await;
    prism
        .assert_rejected("a bearer token", &with_bearer(credit_request()))
        .await;
}

#[tokio::test]
async fn prism_refuses_real_18_digit_ids() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    let verdict = prism
        .check(&requests::payment(&config(), &PaymentId::new(REAL_ID)).unwrap())
        .await;
    assert_eq!(
        verdict.request_violations,
        vec![
            "[\"request\",\"path\",\"transactionid\"]: \"Request path parameter transactionid must be <= 9007199254740991\""
                .to_owned()
        ],
        "the only violation of a real id is prism's javascript integer limit"
    );
}

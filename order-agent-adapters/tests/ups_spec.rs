#![cfg(feature = "ups")]
//! Every request the UPS adapter builds that UPS describes in its OpenAPI files
//! (`../shared/specs/ups/`: `ups_Tracking.yaml`, `ups_Shipping.yaml`,
//! `ups_OAuthClientCredentials.yaml`), each served by its own Prism, with negative controls per
//! operation that must be rejected. `spec-check/run.sh` starts Prism and sets
//! `ORDER_AGENT_PRISM_UPS_TRACKING`, `ORDER_AGENT_PRISM_UPS_SHIPPING` and
//! `ORDER_AGENT_PRISM_UPS_OAUTH`; without them these tests skip and say so. Address validation
//! is not in these files and is checked only against the loopback mock (`ups_wire`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod prism;

use order_agent_adapters::http::{Body, HeaderValue, WireRequest};
use order_agent_adapters::ups::{requests, UpsConfig};
use order_agent_core::domain::{Address, ReturnId, TrackingNumber};
use order_agent_core::ports::carrier::ReturnLabelRequest;
use prism::Prism;
use secrecy::SecretString;

fn config() -> UpsConfig {
    UpsConfig::new(
        "spec-client",
        SecretString::from("TEST_spec_secret"),
        "A1B2C3",
        "+1 415 555 0100",
    )
}

fn token() -> SecretString {
    SecretString::from("TEST_spec_token")
}

fn address(name: &str, line1: &str, postcode: &str) -> Address {
    Address {
        name: name.to_owned(),
        line1: line1.to_owned(),
        line2: Some("Suite 3".to_owned()),
        postcode: postcode.to_owned(),
        city: "San Francisco".to_owned(),
        region: Some("CA".to_owned()),
        country: "US".to_owned(),
    }
}

fn label_request() -> WireRequest {
    requests::create_return_label(
        &config(),
        &token(),
        "spec-trans-1",
        &ReturnLabelRequest {
            return_id: ReturnId::new("ret_42"),
            carrier: "ups".to_owned(),
            from: address("Pat Example", "200 Ocean Ave", "94105"),
            to: address("Shop Returns", "50 Warehouse Way", "94107"),
            weight_grams: Some(800),
        },
    )
    .unwrap()
}

fn edit_json(mut request: WireRequest, edit: impl FnOnce(&mut serde_json::Value)) -> WireRequest {
    let Body::Json(body) = &mut request.body else {
        panic!("json body expected")
    };
    edit(body);
    request
}

fn without(mut request: WireRequest, header: &str) -> WireRequest {
    request.headers.retain(|(name, _)| name != header);
    request
}

#[tokio::test]
async fn tracking_conforms_and_its_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env("ORDER_AGENT_PRISM_UPS_TRACKING", "ups/ups_Tracking.yaml")
    else {
        return;
    };
    let track = requests::track(
        &config(),
        &token(),
        "spec-trans-2",
        &TrackingNumber::new("1ZA1B2C30312345678"),
    );
    prism.assert_accepted("track", &track).await;
    prism
        .assert_rejected("no transId header", &without(track.clone(), "transid"))
        .await;
    prism
        .assert_rejected(
            "no transactionSrc header",
            &without(track.clone(), "transactionsrc"),
        )
        .await;
    prism
        .assert_rejected("no bearer token", &without(track, "authorization"))
        .await;
}

#[tokio::test]
async fn return_label_conforms_and_its_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env("ORDER_AGENT_PRISM_UPS_SHIPPING", "ups/ups_Shipping.yaml")
    else {
        return;
    };
    prism
        .assert_accepted("create return label", &label_request())
        .await;
    prism
        .assert_rejected(
            "a five-character shipper number",
            &edit_json(label_request(), |b| {
                b["ShipmentRequest"]["Shipment"]["Shipper"]["ShipperNumber"] = "A1B2C".into();
            }),
        )
        .await;
    prism
        .assert_rejected(
            "no service",
            &edit_json(label_request(), |b| {
                b["ShipmentRequest"]["Shipment"]
                    .as_object_mut()
                    .unwrap()
                    .remove("Service");
            }),
        )
        .await;
    prism
        .assert_rejected(
            "a three-letter ship-from country",
            &edit_json(label_request(), |b| {
                b["ShipmentRequest"]["Shipment"]["ShipFrom"]["Address"]["CountryCode"] =
                    "USA".into();
            }),
        )
        .await;
    prism
        .assert_rejected(
            "no packaging",
            &edit_json(label_request(), |b| {
                b["ShipmentRequest"]["Shipment"]["Package"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("Packaging");
            }),
        )
        .await;
    prism
        .assert_rejected(
            "no bearer token",
            &without(label_request(), "authorization"),
        )
        .await;
}

#[tokio::test]
async fn oauth_token_conforms_and_its_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env(
        "ORDER_AGENT_PRISM_UPS_OAUTH",
        "ups/ups_OAuthClientCredentials.yaml",
    ) else {
        return;
    };
    let token = requests::oauth_token(&config());
    prism.assert_accepted("oauth token", &token).await;
    prism
        .assert_rejected("no basic auth", &without(token.clone(), "authorization"))
        .await;
    let mut bearer = without(token.clone(), "authorization");
    bearer.headers.push((
        "authorization".to_owned(),
        HeaderValue::Bearer(SecretString::from("x")),
    ));
    prism
        .assert_rejected("a bearer token instead of basic auth", &bearer)
        .await;
    let mut no_grant = token.clone();
    no_grant.body = Body::Form(vec![("scope".to_owned(), "x".to_owned())]);
    prism.assert_rejected("no grant_type", &no_grant).await;
    let mut json = token;
    json.body = Body::Json(serde_json::json!({"grant_type": "client_credentials"}));
    prism
        .assert_rejected("a json body instead of a form", &json)
        .await;
}

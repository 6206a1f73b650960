#![cfg(feature = "ups")]
//! The UPS adapter's requests, built offline: the OAuth token request (basic auth, form body),
//! the bearer token and `transId`/`transactionSrc` headers, the tracking path, the return label
//! and address validation bodies, weights, and what is refused before sending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use order_agent_adapters::http::{Body, Method};
use order_agent_adapters::ups::{requests, UpsConfig, WeightUnit};
use order_agent_core::domain::{Address, ReturnId, TrackingNumber};
use order_agent_core::ports::carrier::ReturnLabelRequest;
use order_agent_core::ports::PortErrorKind;
use secrecy::SecretString;
use serde_json::json;

fn config() -> UpsConfig {
    UpsConfig::new(
        "client-1",
        SecretString::from("TEST_secret"),
        "A1B2C3",
        "+41 44 000 00 00",
    )
}

fn token() -> SecretString {
    SecretString::from("TEST_token")
}

fn address(name: &str, line1: &str, postcode: &str) -> Address {
    Address {
        name: name.to_owned(),
        line1: line1.to_owned(),
        line2: Some("3rd floor".to_owned()),
        postcode: postcode.to_owned(),
        city: "Zürich".to_owned(),
        region: None,
        country: "ch".to_owned(),
    }
}

fn label(from: Address, grams: Option<u32>) -> ReturnLabelRequest {
    ReturnLabelRequest {
        return_id: ReturnId::new("ret_42"),
        carrier: "ups".to_owned(),
        from,
        to: address("Shop Returns", "Industriestrasse 5", "8050"),
        weight_grams: grams,
    }
}

#[test]
fn the_token_request_uses_basic_auth_and_a_form_body() {
    let wire = requests::oauth_token(&config());
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/security/v1/oauth/token");
    // base64("client-1:TEST_secret")
    assert_eq!(
        wire.header("authorization").unwrap(),
        "Basic Y2xpZW50LTE6VEVTVF9zZWNyZXQ="
    );
    assert_eq!(wire.header("x-merchant-id").unwrap(), "A1B2C3");
    assert_eq!(
        wire.body,
        Body::Form(vec![(
            "grant_type".to_owned(),
            "client_credentials".to_owned()
        )])
    );
    assert!(!format!("{wire:?} {:?}", config()).contains("TEST_secret"));
}

#[test]
fn tracking_sends_the_token_and_the_transaction_headers() {
    let wire = requests::track(
        &config(),
        &token(),
        "tx-1",
        &TrackingNumber::new(" 1Z 999/1 "),
    );
    assert_eq!(wire.method, Method::Get);
    assert_eq!(
        wire.path_and_query(),
        "/track/v1/details/1Z%20999%2F1?locale=en_US"
    );
    assert_eq!(wire.header("authorization").unwrap(), "Bearer TEST_token");
    assert_eq!(wire.header("transId").unwrap(), "tx-1");
    assert_eq!(wire.header("transactionSrc").unwrap(), "order-agent");
    assert!(!format!("{wire:?}").contains("TEST_token"));
}

#[test]
fn a_return_label_is_a_print_return_label_billed_to_the_shipper() {
    let wire = requests::create_return_label(
        &config(),
        &token(),
        "tx-2",
        &label(address("Anna Muster", "Langstrasse 1", "8004"), Some(800)),
    )
    .unwrap();
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/shipments/v2409/ship");
    let Body::Json(body) = &wire.body else {
        panic!("json body expected")
    };
    let request = &body["ShipmentRequest"];
    assert_eq!(request["Request"]["RequestOption"], "nonvalidate");
    assert_eq!(
        request["Request"]["TransactionReference"]["CustomerContext"],
        "ret_42"
    );
    let shipment = &request["Shipment"];
    assert_eq!(shipment["ReturnService"], json!({"Code": "9"}));
    assert_eq!(shipment["Service"], json!({"Code": "11"}));
    assert_eq!(
        shipment["ShipFrom"],
        json!({
            "Name": "Anna Muster",
            "Phone": {"Number": "41440000000"},
            "Address": {"AddressLine": ["Langstrasse 1", "3rd floor"], "City": "Zürich",
                "PostalCode": "8004", "CountryCode": "CH"},
        })
    );
    assert_eq!(shipment["Shipper"]["ShipperNumber"], "A1B2C3");
    assert_eq!(shipment["Shipper"]["Name"], "Shop Returns");
    assert_eq!(shipment["ShipTo"]["Address"]["PostalCode"], "8050");
    assert_eq!(
        shipment["PaymentInformation"],
        json!({"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": "A1B2C3"}}]})
    );
    assert_eq!(
        shipment["Package"][0]["PackageWeight"],
        json!({"UnitOfMeasurement": {"Code": "KGS"}, "Weight": "0.8"})
    );
    assert_eq!(shipment["Package"][0]["Packaging"], json!({"Code": "02"}));
    assert_eq!(
        request["LabelSpecification"]["LabelImageFormat"],
        json!({"Code": "GIF"})
    );
}

#[test]
fn weights_round_up_to_a_tenth_and_fit_five_characters() {
    assert_eq!(
        requests::package_weight(800, WeightUnit::Kgs).as_deref(),
        Some("0.8")
    );
    assert_eq!(
        requests::package_weight(801, WeightUnit::Kgs).as_deref(),
        Some("0.9")
    );
    assert_eq!(
        requests::package_weight(0, WeightUnit::Kgs).as_deref(),
        Some("0.1")
    );
    assert_eq!(
        requests::package_weight(453, WeightUnit::Lbs).as_deref(),
        Some("1.0")
    );
    assert_eq!(
        requests::package_weight(454, WeightUnit::Lbs).as_deref(),
        Some("1.1")
    );
    assert_eq!(
        requests::package_weight(999_900, WeightUnit::Kgs).as_deref(),
        Some("999.9")
    );
    assert_eq!(requests::package_weight(1_000_001, WeightUnit::Kgs), None);
}

#[test]
fn incomplete_addresses_and_impossible_weights_are_refused_before_sending() {
    let err = requests::create_return_label(
        &config(),
        &token(),
        "tx-3",
        &label(address("Anna Muster", " ", ""), None),
    )
    .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert_eq!(err.context_value("address"), Some("from"));

    let err = requests::create_return_label(
        &config(),
        &token(),
        "tx-4",
        &label(
            address("Anna Muster", "Langstrasse 1", "8004"),
            Some(2_000_000),
        ),
    )
    .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
}

#[test]
fn long_names_are_cut_to_ups_limits() {
    let long = "A name much longer than the thirty-five characters UPS allows";
    let wire = requests::create_return_label(
        &config(),
        &token(),
        "tx-5",
        &label(address(long, "Langstrasse 1", "8004"), None),
    )
    .unwrap();
    let Body::Json(body) = &wire.body else {
        panic!("json body expected")
    };
    let name = body["ShipmentRequest"]["Shipment"]["ShipFrom"]["Name"]
        .as_str()
        .unwrap();
    assert_eq!(name.chars().count(), 35);
    assert!(long.starts_with(name));
}

#[test]
fn address_validation_sends_one_address_key_format() {
    let mut us = address("Pat Example", "200 Ocean Ave", "90401");
    us.city = "Santa Monica".to_owned();
    us.region = Some("CA".to_owned());
    us.country = "US".to_owned();
    us.line2 = None;
    let wire = requests::validate_address(&config(), &token(), "tx-6", &us);
    assert_eq!(wire.method, Method::Post);
    assert_eq!(
        wire.path_and_query(),
        "/addressvalidation/v1/1?maximumcandidatelistsize=1"
    );
    assert_eq!(
        wire.body,
        Body::Json(json!({"XAVRequest": {"AddressKeyFormat": {
            "ConsigneeName": "Pat Example",
            "AddressLine": ["200 Ocean Ave"],
            "PoliticalDivision2": "Santa Monica",
            "PoliticalDivision1": "CA",
            "PostcodePrimaryLow": "90401",
            "CountryCode": "US",
        }}}))
    );
    assert_eq!(requests::ADDRESS_VALIDATION_COUNTRIES, &["US", "PR"]);
}

//! The ShipEngine adapter's requests, built offline: paths, the `API-Key` header, the tracking
//! query, the return label and address validation bodies, and what is refused before sending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use order_agent_adapters::http::{Body, Method};
use order_agent_adapters::shipengine::{requests, ReturnService, ShipEngineConfig};
use order_agent_core::domain::{Address, ReturnId, TrackingNumber};
use order_agent_core::ports::carrier::ReturnLabelRequest;
use order_agent_core::ports::PortErrorKind;
use secrecy::SecretString;
use serde_json::json;

fn config() -> ShipEngineConfig {
    let mut config = ShipEngineConfig::new(SecretString::from("TEST_abc"), "+41 44 000 00 00")
        .with_return_service(
            "swiss-post",
            ReturnService {
                carrier_id: "se-123456".to_owned(),
                service_code: "swiss_post_priority".to_owned(),
            },
        );
    config
        .carrier_codes
        .insert("post-ch".to_owned(), "swiss_post".to_owned());
    config
}

fn address(name: &str, line1: &str, postcode: &str) -> Address {
    Address {
        name: name.to_owned(),
        line1: line1.to_owned(),
        line2: None,
        postcode: postcode.to_owned(),
        city: "Zürich".to_owned(),
        region: Some("ZH".to_owned()),
        country: "CH".to_owned(),
    }
}

fn label(from: Address, carrier: &str) -> ReturnLabelRequest {
    ReturnLabelRequest {
        return_id: ReturnId::new("ret_42"),
        carrier: carrier.to_owned(),
        from,
        to: address("Shop Returns", "Industriestrasse 5", "8050"),
        weight_grams: Some(800),
    }
}

#[test]
fn tracking_maps_the_slug_to_a_carrier_code() {
    let number = TrackingNumber::new("99.60.123456 12345678");
    let wire = requests::track(&config(), "swiss-post", &number);
    assert_eq!(wire.method, Method::Get);
    assert_eq!(
        wire.path_and_query(),
        "/v1/tracking?carrier_code=swiss_post&tracking_number=99.60.123456+12345678"
    );
    assert_eq!(wire.header("api-key").unwrap(), "TEST_abc");
    assert!(!format!("{wire:?}").contains("TEST_abc"));
    assert_eq!(requests::carrier_code(&config(), "post-ch"), "swiss_post");
    assert_eq!(
        requests::carrier_code(&config(), "DHL-Express"),
        "dhl_express"
    );
}

#[test]
fn a_return_label_goes_from_the_customer_to_the_warehouse() {
    let wire = requests::create_return_label(
        &config(),
        &label(
            address("Anna Muster", "Langstrasse 1", "8004"),
            "swiss-post",
        ),
    )
    .unwrap();
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/v1/labels");
    let Body::Json(body) = &wire.body else {
        panic!("json body expected")
    };
    let phone = "+41 44 000 00 00";
    assert_eq!(
        body,
        &json!({
            "is_return_label": true,
            "rma_number": "ret_42",
            "label_format": "pdf",
            "label_download_type": "url",
            "shipment": {
                "carrier_id": "se-123456",
                "service_code": "swiss_post_priority",
                "ship_from": {"name": "Anna Muster", "address_line1": "Langstrasse 1", "city_locality": "Zürich",
                    "state_province": "ZH", "postal_code": "8004", "country_code": "CH", "phone": phone},
                "ship_to": {"name": "Shop Returns", "address_line1": "Industriestrasse 5", "city_locality": "Zürich",
                    "state_province": "ZH", "postal_code": "8050", "country_code": "CH", "phone": phone},
                "packages": [{"weight": {"value": 800, "unit": "gram"}}],
            },
        })
    );
}

#[test]
fn nothing_is_bought_for_an_unconfigured_carrier_or_an_incomplete_address() {
    let err = requests::create_return_label(
        &config(),
        &label(address("Anna Muster", "Langstrasse 1", "8004"), "dhl"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    let err = requests::create_return_label(
        &config(),
        &label(address("Anna Muster", " ", ""), "swiss-post"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert!(err.to_string().contains("street, postcode"), "{err}");
}

#[test]
fn address_validation_sends_one_address_in_an_array() {
    let wire =
        requests::validate_address(&config(), &address("Anna Muster", "Langstrasse 1", "8004"));
    assert_eq!(wire.path_and_query(), "/v1/addresses/validate");
    let Body::Json(body) = &wire.body else {
        panic!("json body expected")
    };
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert_eq!(body[0]["postal_code"], "8004");
    assert!(body[0].get("phone").is_none());
}

#[test]
fn config_rejects_unknown_fields() {
    let parsed: ShipEngineConfig = serde_json::from_value(json!({
        "api_key": "TEST_k", "label_phone": "+41 44 000 00 00",
        "return_services": {"swiss-post": {"carrier_id": "se-1", "service_code": "swiss_post_priority"}},
    }))
    .unwrap();
    assert_eq!(parsed.default_weight_grams, 1_000);
    assert!(!format!("{parsed:?}").contains("TEST_k"));
    assert!(serde_json::from_value::<ShipEngineConfig>(json!({
        "api_key": "k", "label_phone": "1", "retrun_services": {}
    }))
    .is_err());
}

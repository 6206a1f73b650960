#![cfg(feature = "easypost")]
//! The EasyPost adapter's requests, built offline: basic auth with the API key, the tracker,
//! shipment, buy and address bodies, weights in ounces, and what is refused before sending.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use order_agent_adapters::easypost::{requests, EasyPostConfig, ReturnService};
use order_agent_adapters::http::{Body, Method};
use order_agent_core::domain::{Address, ReturnId, TrackingNumber};
use order_agent_core::ports::carrier::ReturnLabelRequest;
use order_agent_core::ports::PortErrorKind;
use secrecy::SecretString;
use serde_json::json;

fn config() -> EasyPostConfig {
    let mut config = EasyPostConfig::new(SecretString::from("EZTK_abc"))
        .with_carrier_name("ups", "UPS")
        .with_return_service(
            "ups",
            ReturnService {
                carrier: "UPS".to_owned(),
                service: Some("Ground".to_owned()),
            },
        );
    config.label_phone = "+41 44 000 00 00".to_owned();
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
        return_id: ReturnId::new("ret 42/a"),
        carrier: carrier.to_owned(),
        from,
        to: address("Shop Returns", "Industriestrasse 5", "8050"),
        weight_grams: Some(800),
    }
}

#[test]
fn trackers_are_created_with_basic_auth_and_the_carrier_name() {
    let wire = requests::create_tracker(&config(), "ups", &TrackingNumber::new(" 1Z999 "));
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/v2/trackers");
    // base64("EZTK_abc:")
    assert_eq!(wire.header("authorization").unwrap(), "Basic RVpUS19hYmM6");
    assert!(!format!("{wire:?}").contains("RVpUS19hYmM6"));
    assert_eq!(
        wire.body,
        Body::Json(json!({"tracker": {"tracking_code": "1Z999", "carrier": "UPS"}}))
    );
    // An unnamed slug leaves the carrier to EasyPost's detection.
    let wire = requests::create_tracker(&config(), "dhl", &TrackingNumber::new("123"));
    assert_eq!(
        wire.body,
        Body::Json(json!({"tracker": {"tracking_code": "123"}}))
    );
    let wire = requests::retrieve_tracker(&config(), "trk_1");
    assert_eq!(wire.method, Method::Get);
    assert_eq!(wire.path_and_query(), "/v2/trackers/trk_1");
}

#[test]
fn a_return_shipment_keeps_the_outbound_addresses_and_the_return_as_reference() {
    let wire = requests::create_return_shipment(
        &config(),
        &label(address("Anna Muster", "Langstrasse 1", "8004"), "ups"),
    )
    .unwrap();
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/v2/shipments");
    assert_eq!(
        wire.body,
        Body::Json(json!({"shipment": {
            "is_return": true,
            "reference": "ret 42/a",
            "to_address": {"name": "Anna Muster", "street1": "Langstrasse 1", "city": "Zürich",
                "state": "ZH", "zip": "8004", "country": "CH", "phone": "+41 44 000 00 00"},
            "from_address": {"name": "Shop Returns", "street1": "Industriestrasse 5",
                "city": "Zürich", "state": "ZH", "zip": "8050", "country": "CH",
                "phone": "+41 44 000 00 00"},
            "parcel": {"weight": 28.3},
        }}))
    );
    let find = requests::find_shipment(&config(), "ret 42/a");
    assert_eq!(find.method, Method::Get);
    assert_eq!(find.path_and_query(), "/v2/shipments/ret%2042%2Fa");
    let buy = requests::buy_shipment(&config(), "shp_1", "rate_2");
    assert_eq!(buy.path_and_query(), "/v2/shipments/shp_1/buy");
    assert_eq!(buy.body, Body::Json(json!({"rate": {"id": "rate_2"}})));
}

#[test]
fn weights_are_ounces_rounded_up_to_a_tenth() {
    assert_eq!(requests::weight_ounces(800), 28.3);
    assert_eq!(requests::weight_ounces(1_000), 35.3);
    assert_eq!(requests::weight_ounces(0), 0.1);
    assert_eq!(requests::weight_ounces(28_350), 1_000.1);
}

#[test]
fn incomplete_addresses_and_unconfigured_carriers_are_refused_before_sending() {
    let err = requests::create_return_shipment(
        &config(),
        &label(address("Anna Muster", "", "8004"), "ups"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert_eq!(err.context_value("address"), Some("from"));

    let err = requests::create_return_shipment(
        &config(),
        &label(address("Anna Muster", "Langstrasse 1", "8004"), "dhl"),
    )
    .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert_eq!(err.context_value("carrier"), Some("dhl"));
}

#[test]
fn addresses_are_verified_for_delivery() {
    let wire =
        requests::verify_address(&config(), &address("Anna Muster", "Langstrasse 1", "8004"));
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/v2/addresses");
    assert_eq!(
        wire.body,
        Body::Json(json!({
            "address": {"name": "Anna Muster", "street1": "Langstrasse 1", "city": "Zürich",
                "state": "ZH", "zip": "8004", "country": "CH"},
            "verify": ["delivery"],
        }))
    );
}

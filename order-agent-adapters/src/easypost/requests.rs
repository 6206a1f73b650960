//! The requests the EasyPost adapter sends, built as data (JSON bodies, HTTP basic auth with the
//! API key as the user name and no password).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use order_agent_core::domain::{Address, TrackingNumber};
use order_agent_core::ports::carrier::{ops, ReturnLabelRequest};
use order_agent_core::ports::{PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use super::EasyPostConfig;
use crate::http::{path_segment, Body, HeaderValue, Method, WireRequest};

fn headers(config: &EasyPostConfig) -> Vec<(String, HeaderValue)> {
    let credentials = STANDARD.encode(format!("{}:", config.api_key.expose_secret()));
    vec![(
        "authorization".to_owned(),
        HeaderValue::Secret(SecretString::from(format!("Basic {credentials}"))),
    )]
}

/// EasyPost's carrier name for carrier slug `slug`: the configured one, if any (without one
/// EasyPost detects the carrier from the tracking code).
pub fn carrier_name(config: &EasyPostConfig, slug: &str) -> Option<String> {
    config.carrier_names.get(slug.trim()).cloned()
}

/// `POST /v2/trackers`: creates a tracker, or returns the existing one for the same code and
/// carrier (EasyPost deduplicates trackers).
pub fn create_tracker(config: &EasyPostConfig, slug: &str, number: &TrackingNumber) -> WireRequest {
    let mut tracker = Map::new();
    tracker.insert(
        "tracking_code".to_owned(),
        Value::String(number.as_str().trim().to_owned()),
    );
    if let Some(name) = carrier_name(config, slug) {
        tracker.insert("carrier".to_owned(), Value::String(name));
    }
    WireRequest {
        operation: ops::TRACK,
        method: Method::Post,
        path: "/v2/trackers".to_owned(),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Json(json!({ "tracker": Value::Object(tracker) })),
    }
}

/// `GET /v2/trackers/{id}`: a tracker EasyPost already has (from a webhook or an earlier call).
pub fn retrieve_tracker(config: &EasyPostConfig, id: &str) -> WireRequest {
    WireRequest {
        operation: ops::TRACK,
        method: Method::Get,
        path: format!("/v2/trackers/{}", path_segment(id.trim())),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Empty,
    }
}

pub use crate::carrier_status::missing_parts;
use crate::carrier_status::{address_object, AddressKeys};

/// An address in EasyPost's shape; `phone` where given.
pub fn address_json(address: &Address, phone: Option<&str>) -> Map<String, Value> {
    address_object(address, phone, &ADDRESS_KEYS)
}

const ADDRESS_KEYS: AddressKeys = AddressKeys {
    name: "name",
    line1: "street1",
    line2: "street2",
    city: "city",
    region: "state",
    postcode: "zip",
    country: "country",
};

/// The parcel weight in ounces (EasyPost's unit), rounded up to a tenth.
pub fn weight_ounces(grams: u32) -> f64 {
    // 1 oz = 28.349523125 g; integer arithmetic, then one conversion of a small number.
    let tenths = (u64::from(grams.max(1)) * 10_000_000_000).div_ceil(28_349_523_125);
    let tenths = u32::try_from(tenths).unwrap_or(u32::MAX);
    f64::from(tenths) / 10.0
}

/// `GET /v2/shipments/{reference}`: EasyPost accepts a shipment's `reference` in place of its id,
/// so this finds the return shipment an earlier call created for the same return.
pub fn find_shipment(config: &EasyPostConfig, reference: &str) -> WireRequest {
    WireRequest {
        operation: ops::CREATE_RETURN_LABEL,
        method: Method::Get,
        path: format!("/v2/shipments/{}", path_segment(reference.trim())),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Empty,
    }
}

/// `POST /v2/shipments` with `is_return: true`. EasyPost describes a return with the outbound
/// shipment's addresses and swaps them itself, so `to_address` is the customer (the parcel's
/// origin) and `from_address` the returns warehouse (its destination). The return id is the
/// shipment's `reference`. Refuses (`InvalidInput`) an incomplete address or a carrier without
/// a configured return service before anything is created.
pub fn create_return_shipment(
    config: &EasyPostConfig,
    request: &ReturnLabelRequest,
) -> PortResult<WireRequest> {
    let op = ops::CREATE_RETURN_LABEL;
    if !config.return_services.contains_key(request.carrier.trim()) {
        return Err(
            PortError::invalid_input(op, "no return service configured for this carrier")
                .with_context("carrier", &request.carrier),
        );
    }
    for (side, address) in [("from", &request.from), ("to", &request.to)] {
        if let Some(reason) = missing_parts(address) {
            return Err(PortError::invalid_input(op, reason).with_context("address", side));
        }
    }
    let grams = request
        .weight_grams
        .filter(|g| *g > 0)
        .unwrap_or(config.default_weight_grams);
    let phone = Some(config.label_phone.as_str()).filter(|p| !p.trim().is_empty());
    let body = json!({
        "shipment": {
            "is_return": true,
            "reference": request.return_id.as_str(),
            "to_address": Value::Object(address_json(&request.from, phone)),
            "from_address": Value::Object(address_json(&request.to, phone)),
            "parcel": {"weight": weight_ounces(grams)},
        },
    });
    Ok(WireRequest {
        operation: op,
        method: Method::Post,
        path: "/v2/shipments".to_owned(),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Json(body),
    })
}

/// `POST /v2/shipments/{id}/buy` with the chosen rate.
pub fn buy_shipment(config: &EasyPostConfig, shipment_id: &str, rate_id: &str) -> WireRequest {
    WireRequest {
        operation: ops::CREATE_RETURN_LABEL,
        method: Method::Post,
        path: format!("/v2/shipments/{}/buy", path_segment(shipment_id.trim())),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Json(json!({"rate": {"id": rate_id}})),
    }
}

/// `POST /v2/addresses` with `verify: ["delivery"]`: creates the address and verifies it is
/// deliverable.
pub fn verify_address(config: &EasyPostConfig, address: &Address) -> WireRequest {
    WireRequest {
        operation: ops::VALIDATE_ADDRESS,
        method: Method::Post,
        path: "/v2/addresses".to_owned(),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Json(json!({
            "address": Value::Object(address_json(address, None)),
            "verify": ["delivery"],
        })),
    }
}

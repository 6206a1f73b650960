//! The requests the ShipEngine adapter sends, built as data.

use order_agent_core::domain::{Address, TrackingNumber};
use order_agent_core::ports::carrier::{ops, ReturnLabelRequest};
use order_agent_core::ports::{PortError, PortResult};
use serde_json::{json, Value};

use super::ShipEngineConfig;
use crate::http::{Body, HeaderValue, Method, WireRequest};

fn headers(config: &ShipEngineConfig) -> Vec<(String, HeaderValue)> {
    vec![(
        "api-key".to_owned(),
        HeaderValue::Secret(config.api_key.clone()),
    )]
}

/// The ShipEngine carrier code of carrier slug `slug`: the configured one, or the slug with `-`
/// written `_` (`swiss-post` → `swiss_post`).
pub fn carrier_code(config: &ShipEngineConfig, slug: &str) -> String {
    config
        .carrier_codes
        .get(slug)
        .cloned()
        .unwrap_or_else(|| slug.trim().to_ascii_lowercase().replace('-', "_"))
}

/// `GET /v1/tracking?carrier_code=..&tracking_number=..`.
pub fn track(config: &ShipEngineConfig, slug: &str, number: &TrackingNumber) -> WireRequest {
    WireRequest {
        operation: ops::TRACK,
        method: Method::Get,
        path: "/v1/tracking".to_owned(),
        query: vec![
            ("carrier_code".to_owned(), carrier_code(config, slug)),
            ("tracking_number".to_owned(), number.as_str().to_owned()),
        ],
        headers: headers(config),
        body: Body::Empty,
    }
}

pub use crate::carrier_status::missing_parts;
use crate::carrier_status::{address_object, AddressKeys};

/// An address in ShipEngine's shape; `phone` where the schema requires one.
pub fn address_json(address: &Address, phone: Option<&str>) -> Value {
    Value::Object(address_object(address, phone, &ADDRESS_KEYS))
}

const ADDRESS_KEYS: AddressKeys = AddressKeys {
    name: "name",
    line1: "address_line1",
    line2: "address_line2",
    city: "city_locality",
    region: "state_province",
    postcode: "postal_code",
    country: "country_code",
};

/// `POST /v1/labels` with `is_return_label: true`: from the customer to the returns warehouse,
/// with the return id as the RMA number. Refuses (`InvalidInput`) a carrier without a configured
/// return service and an address ShipEngine cannot ship from or to, before anything is bought.
pub fn create_return_label(
    config: &ShipEngineConfig,
    request: &ReturnLabelRequest,
) -> PortResult<WireRequest> {
    let op = ops::CREATE_RETURN_LABEL;
    let service = config
        .return_services
        .get(&request.carrier)
        .ok_or_else(|| {
            PortError::invalid_input(op, "no return service configured for this carrier")
                .with_context("carrier", &request.carrier)
        })?;
    for (side, address) in [("from", &request.from), ("to", &request.to)] {
        if let Some(reason) = missing_parts(address) {
            return Err(PortError::invalid_input(op, reason).with_context("address", side));
        }
    }
    let grams = request
        .weight_grams
        .filter(|g| *g > 0)
        .unwrap_or(config.default_weight_grams);
    let phone = Some(config.label_phone.as_str());
    let body = json!({
        "is_return_label": true,
        "rma_number": request.return_id.as_str(),
        "label_format": "pdf",
        "label_download_type": "url",
        "shipment": {
            "carrier_id": service.carrier_id,
            "service_code": service.service_code,
            "ship_from": address_json(&request.from, phone),
            "ship_to": address_json(&request.to, phone),
            "packages": [{"weight": {"value": grams, "unit": "gram"}}],
        },
    });
    Ok(WireRequest {
        operation: op,
        method: Method::Post,
        path: "/v1/labels".to_owned(),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Json(body),
    })
}

/// `POST /v1/addresses/validate` with one address.
pub fn validate_address(config: &ShipEngineConfig, address: &Address) -> WireRequest {
    WireRequest {
        operation: ops::VALIDATE_ADDRESS,
        method: Method::Post,
        path: "/v1/addresses/validate".to_owned(),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Json(Value::Array(vec![address_json(address, None)])),
    }
}

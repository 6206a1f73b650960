//! The requests the UPS adapter sends, built as data. Every API request takes the OAuth access
//! token and a `transId` (unique per request) as arguments, so building stays pure.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use order_agent_core::domain::{Address, TrackingNumber};
use order_agent_core::ports::carrier::{ops, ReturnLabelRequest};
use order_agent_core::ports::{PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};

use super::{UpsConfig, WeightUnit};
use crate::http::{path_segment, Body, HeaderValue, Method, WireRequest};

/// The operation name of the OAuth token request.
pub const OAUTH_TOKEN: &str = "carrier.ups.oauth_token";

/// Countries UPS Address Validation (street level) covers.
pub const ADDRESS_VALIDATION_COUNTRIES: &[&str] = &["US", "PR"];

/// `POST /security/v1/oauth/token` (below the OAuth base URL), form `grant_type=client_credentials`,
/// HTTP basic auth with the client id and secret.
pub fn oauth_token(config: &UpsConfig) -> WireRequest {
    let credentials = STANDARD.encode(format!(
        "{}:{}",
        config.client_id,
        config.client_secret.expose_secret()
    ));
    let mut headers = vec![(
        "authorization".to_owned(),
        HeaderValue::Secret(SecretString::from(format!("Basic {credentials}"))),
    )];
    if !config.shipper_number.is_empty() {
        headers.push((
            "x-merchant-id".to_owned(),
            HeaderValue::Plain(config.shipper_number.clone()),
        ));
    }
    WireRequest {
        operation: OAUTH_TOKEN,
        method: Method::Post,
        path: "/security/v1/oauth/token".to_owned(),
        query: Vec::new(),
        headers,
        body: Body::Form(vec![(
            "grant_type".to_owned(),
            "client_credentials".to_owned(),
        )]),
    }
}

fn api_headers(
    config: &UpsConfig,
    token: &SecretString,
    trans_id: &str,
) -> Vec<(String, HeaderValue)> {
    vec![
        (
            "authorization".to_owned(),
            HeaderValue::Bearer(token.clone()),
        ),
        (
            "transid".to_owned(),
            HeaderValue::Plain(trans_id.to_owned()),
        ),
        (
            "transactionsrc".to_owned(),
            HeaderValue::Plain(config.transaction_src.clone()),
        ),
    ]
}

/// `GET /track/v1/details/{inquiryNumber}` (below the API base URL, which ends in `/api`).
pub fn track(
    config: &UpsConfig,
    token: &SecretString,
    trans_id: &str,
    number: &TrackingNumber,
) -> WireRequest {
    WireRequest {
        operation: ops::TRACK,
        method: Method::Get,
        path: format!("/track/v1/details/{}", path_segment(number.as_str().trim())),
        query: vec![("locale".to_owned(), config.locale.clone())],
        headers: api_headers(config, token, trans_id),
        body: Body::Empty,
    }
}

pub use crate::carrier_status::missing_parts;

/// `text` cut to at most `max` characters (UPS's field limits).
fn cut(text: &str, max: usize) -> String {
    text.trim().chars().take(max).collect()
}

/// An address in the Shipping API's shape.
pub fn ship_address(address: &Address) -> Value {
    let mut lines = vec![Value::String(cut(&address.line1, 35))];
    if let Some(line2) = address.line2.as_deref().filter(|l| !l.trim().is_empty()) {
        lines.push(Value::String(cut(line2, 35)));
    }
    let mut object = Map::new();
    object.insert("AddressLine".to_owned(), Value::Array(lines));
    object.insert("City".to_owned(), Value::String(cut(&address.city, 30)));
    if let Some(region) = address.region.as_deref().filter(|r| !r.trim().is_empty()) {
        object.insert(
            "StateProvinceCode".to_owned(),
            Value::String(cut(region, 5)),
        );
    }
    object.insert(
        "PostalCode".to_owned(),
        Value::String(address.postcode.trim().to_owned()),
    );
    object.insert(
        "CountryCode".to_owned(),
        Value::String(address.country.trim().to_ascii_uppercase()),
    );
    Value::Object(object)
}

fn party(address: &Address, phone: &str) -> Value {
    let mut object = Map::new();
    object.insert("Name".to_owned(), Value::String(cut(&address.name, 35)));
    // UPS takes up to 15 digits, without `+`, spaces or dashes.
    let digits: String = phone
        .chars()
        .filter(char::is_ascii_digit)
        .take(15)
        .collect();
    if !digits.is_empty() {
        object.insert("Phone".to_owned(), json!({"Number": digits}));
    }
    object.insert("Address".to_owned(), ship_address(address));
    Value::Object(object)
}

/// The package weight as UPS wants it: a decimal string of at most five characters in `unit`,
/// rounded up to a tenth.
pub fn package_weight(grams: u32, unit: WeightUnit) -> Option<String> {
    let grams = u64::from(grams.max(1));
    let tenths = match unit {
        WeightUnit::Kgs => grams.div_ceil(100),
        // 1 lb = 453.59237 g, so a tenth of a pound is 45.359237 g.
        WeightUnit::Lbs => (grams * 1_000_000).div_ceil(45_359_237),
    };
    let text = format!("{}.{}", tenths / 10, tenths % 10);
    (text.len() <= 5).then_some(text)
}

/// What UPS would refuse in `request` before anything is bought (`InvalidInput`): an
/// incomplete address or a weight UPS cannot take; otherwise the weight as UPS wants it.
pub fn check_return_label(config: &UpsConfig, request: &ReturnLabelRequest) -> PortResult<String> {
    let op = ops::CREATE_RETURN_LABEL;
    for (side, address) in [("from", &request.from), ("to", &request.to)] {
        if let Some(reason) = missing_parts(address) {
            return Err(PortError::invalid_input(op, reason).with_context("address", side));
        }
    }
    let grams = request
        .weight_grams
        .filter(|g| *g > 0)
        .unwrap_or(config.default_weight_grams);
    package_weight(grams, config.weight_unit).ok_or_else(|| {
        PortError::invalid_input(op, "the parcel is heavier than ups accepts")
            .with_context("weight_grams", grams)
    })
}

/// `POST /shipments/{version}/ship` with a `ReturnService`: the customer is the ship-from, the
/// returns warehouse the ship-to and (with the configured account number) the shipper billed for
/// it, the return id the package reference and the transaction's customer context. Refuses
/// what [`check_return_label`] refuses.
pub fn create_return_label(
    config: &UpsConfig,
    token: &SecretString,
    trans_id: &str,
    request: &ReturnLabelRequest,
) -> PortResult<WireRequest> {
    let op = ops::CREATE_RETURN_LABEL;
    let weight = check_return_label(config, request)?;
    let reference = cut(request.return_id.as_str(), 35);
    let mut shipper = party(&request.to, &config.label_phone);
    if let Value::Object(object) = &mut shipper {
        object.insert(
            "ShipperNumber".to_owned(),
            Value::String(config.shipper_number.clone()),
        );
    }
    let body = json!({
        "ShipmentRequest": {
            "Request": {
                "RequestOption": "nonvalidate",
                "TransactionReference": {"CustomerContext": request.return_id.as_str()},
            },
            "Shipment": {
                "Description": cut(&config.goods_description, 35),
                "ReturnService": {"Code": config.return_service_code},
                "Shipper": shipper,
                "ShipFrom": party(&request.from, &config.label_phone),
                "ShipTo": party(&request.to, &config.label_phone),
                "PaymentInformation": {
                    "ShipmentCharge": [{
                        "Type": "01",
                        "BillShipper": {"AccountNumber": config.shipper_number},
                    }],
                },
                "Service": {"Code": config.service_code},
                "Package": [{
                    "Description": cut(&config.goods_description, 35),
                    "Packaging": {"Code": "02"},
                    "PackageWeight": {
                        "UnitOfMeasurement": {"Code": config.weight_unit.code()},
                        "Weight": weight,
                    },
                    "ReferenceNumber": [{"Value": reference}],
                }],
            },
            "LabelSpecification": {
                "LabelImageFormat": {"Code": "GIF"},
                "LabelStockSize": {"Height": "6", "Width": "4"},
            },
        },
    });
    Ok(WireRequest {
        operation: op,
        method: Method::Post,
        path: format!("/shipments/{}/ship", path_segment(&config.api_version)),
        query: Vec::new(),
        headers: api_headers(config, token, trans_id),
        body: Body::Json(body),
    })
}

/// `POST /addressvalidation/v1/1` (request option 1: street-level validation), one address.
pub fn validate_address(
    config: &UpsConfig,
    token: &SecretString,
    trans_id: &str,
    address: &Address,
) -> WireRequest {
    let mut lines = vec![Value::String(address.line1.trim().to_owned())];
    if let Some(line2) = address.line2.as_deref().filter(|l| !l.trim().is_empty()) {
        lines.push(Value::String(line2.trim().to_owned()));
    }
    let mut key = Map::new();
    key.insert(
        "ConsigneeName".to_owned(),
        Value::String(cut(&address.name, 35)),
    );
    key.insert("AddressLine".to_owned(), Value::Array(lines));
    key.insert(
        "PoliticalDivision2".to_owned(),
        Value::String(address.city.trim().to_owned()),
    );
    if let Some(region) = address.region.as_deref().filter(|r| !r.trim().is_empty()) {
        key.insert(
            "PoliticalDivision1".to_owned(),
            Value::String(region.trim().to_owned()),
        );
    }
    key.insert(
        "PostcodePrimaryLow".to_owned(),
        Value::String(address.postcode.trim().to_owned()),
    );
    key.insert(
        "CountryCode".to_owned(),
        Value::String(address.country.trim().to_ascii_uppercase()),
    );
    WireRequest {
        operation: ops::VALIDATE_ADDRESS,
        method: Method::Post,
        path: "/addressvalidation/v1/1".to_owned(),
        query: vec![("maximumcandidatelistsize".to_owned(), "1".to_owned())],
        headers: api_headers(config, token, trans_id),
        body: Body::Json(json!({"XAVRequest": {"AddressKeyFormat": Value::Object(key)}})),
    }
}

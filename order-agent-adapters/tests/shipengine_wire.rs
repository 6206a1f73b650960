//! The ShipEngine adapter over the wire: the carrier conformance suite against a loopback server
//! that speaks ShipEngine's documented format (`API-Key` header, tracking newest first with
//! `status_code`/`status_detail_code`, `POST /v1/labels`, `POST /v1/addresses/validate` with an
//! array, `{"request_id", "errors": [...]}` bodies), plus the error mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use order_agent_adapters::shipengine::{ReturnService, ShipEngineCarrier, ShipEngineConfig};
use order_agent_core::domain::{ReturnId, TrackingNumber, TrackingStatus};
use order_agent_core::ports::carrier::ReturnLabelRequest;
use order_agent_core::ports::{Carrier, PortErrorKind};
use order_agent_testkit::conformance::carrier;
use secrecy::SecretString;
use serde_json::{json, Value};

const API_KEY: &str = "TEST_mock_key";
const TRACKED: &str = "99.60.123456.12345678";

/// A scripted answer: status, extra headers, JSON body.
type Scripted = (u16, Vec<(&'static str, &'static str)>, Value);

#[derive(Debug, Default)]
struct MockState {
    labels: Vec<Value>,
    received: Vec<(String, String, HeaderMap, String)>,
    scripted: Vec<Scripted>,
}

#[derive(Debug, Clone, Default)]
struct MockShipEngine {
    state: Arc<Mutex<MockState>>,
}

fn error(status: u16, error_type: &str, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({
            "request_id": "7f1c0a8e-0000-4000-8000-000000000000",
            "errors": [{"error_source": "shipengine", "error_type": error_type, "error_code": code, "message": message}],
        })),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn tracking(number: &str) -> Value {
    if number != TRACKED {
        // ShipEngine answers an unknown number with status `UN` and no events.
        return json!({"tracking_number": number, "status_code": "UN", "status_description": "Unknown", "events": []});
    }
    let event = |at: &str, code: &str, detail: &str, carrier_code: &str, text: &str| {
        json!({
            "occurred_at": at, "status_code": code, "status_detail_code": detail,
            "carrier_status_code": carrier_code, "description": text,
            "city_locality": "Zürich-Mülligen", "country_code": "CH",
        })
    };
    json!({
        "tracking_number": number,
        "status_code": "IT",
        "status_detail_code": "OUT_FOR_DELIVERY",
        "carrier_code": "swiss_post",
        "estimated_delivery_date": "2026-11-05T00:00:00Z",
        "events": [
            event("2026-11-04T09:10:00Z", "IT", "OUT_FOR_DELIVERY", "OUT", "Out for delivery"),
            event("2026-11-03T08:00:00Z", "IT", "IN_TRANSIT", "TRN", "In transit"),
            event("2026-11-02T17:00:00Z", "AC", "PICKED_UP", "PUP", "Picked up"),
            event("2026-11-02T17:00:00Z", "XX", "SOMETHING_NEW", "NEW", "A code no table knows"),
        ],
    })
}

/// The carrier's rules, as the testkit's fake carrier applies them: blanks are undeliverable,
/// stray spaces and a lower-case country are corrected.
fn validate(address: &Value) -> Value {
    let text = |k: &str| address[k].as_str().unwrap_or("").to_owned();
    if ["address_line1", "postal_code", "city_locality"]
        .iter()
        .any(|k| text(k).trim().is_empty())
    {
        return json!({"status": "error", "original_address": address, "matched_address": null,
            "messages": [{"code": "a1001", "message": "street, postcode and city are required", "type": "error", "detail_code": null}]});
    }
    let mut matched = address.clone();
    for (k, v) in address.as_object().unwrap() {
        let v = v.as_str().unwrap().trim();
        matched[k] = json!(if k == "country_code" {
            v.to_ascii_uppercase()
        } else {
            v.to_owned()
        });
    }
    json!({"status": "verified", "original_address": address, "matched_address": matched, "messages": []})
}

impl MockShipEngine {
    fn script(&self, status: u16, headers: Vec<(&'static str, &'static str)>, body: Value) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .push((status, headers, body));
    }

    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let mock = self.clone();
                async move { mock.handle(method, uri, headers, body) }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let body = String::from_utf8(body.to_vec()).unwrap();
        let mut s = self.state.lock().unwrap();
        s.received.push((
            method.to_string(),
            uri.to_string(),
            headers.clone(),
            body.clone(),
        ));
        if !s.scripted.is_empty() {
            let (status, extra, value) = s.scripted.remove(0);
            let mut response =
                (StatusCode::from_u16(status).unwrap(), axum::Json(value)).into_response();
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return response;
        }
        if headers.get("api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
            return error(401, "security", "unauthorized", "The API key is invalid.");
        }
        match (method.as_str(), uri.path()) {
            ("GET", "/v1/tracking") => {
                let query = url_decode_pairs(uri.query().unwrap_or(""));
                let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                if get("carrier_code").as_deref() != Some("swiss_post") {
                    return error(
                        400,
                        "validation",
                        "invalid_field_value",
                        "carrier_code is not valid",
                    );
                }
                ok(tracking(&get("tracking_number").unwrap_or_default()))
            }
            ("POST", "/v1/addresses/validate") => {
                let addresses: Vec<Value> = serde_json::from_str(&body).unwrap();
                ok(Value::Array(addresses.iter().map(validate).collect()))
            }
            ("POST", "/v1/labels") => {
                let request: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(request["is_return_label"], json!(true));
                for side in ["ship_from", "ship_to"] {
                    let address = &request["shipment"][side];
                    if validate(address)["status"] == "error" {
                        return error(400, "validation", "invalid_address", "Invalid address");
                    }
                }
                let n = s.labels.len() + 1;
                let label = json!({
                    "label_id": format!("se-{n}"),
                    "status": "completed",
                    "tracking_number": format!("99.00.{n:06}"),
                    "is_return_label": true,
                    "rma_number": request["rma_number"],
                    "label_download": {"pdf": format!("https://api.shipengine.com/v1/downloads/{n}.pdf")},
                });
                s.labels.push(request);
                ok(label)
            }
            _ => error(404, "validation", "not_found", "no such path"),
        }
    }
}

fn url_decode_pairs(text: &str) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16)
                        .unwrap(),
                );
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn config(url: &str) -> ShipEngineConfig {
    ShipEngineConfig::new(SecretString::from(API_KEY), "+41 44 000 00 00")
        .with_base_url(url)
        .with_return_service(
            "swiss-post",
            ReturnService {
                carrier_id: "se-123456".to_owned(),
                service_code: "swiss_post_priority".to_owned(),
            },
        )
}

#[tokio::test]
async fn passes_the_carrier_conformance_suite() {
    let url = MockShipEngine::default().start().await;
    let shipengine = ShipEngineCarrier::new(config(&url)).unwrap();
    let sample = carrier::sample();
    carrier::run_all(&shipengine, &sample.fixture)
        .await
        .unwrap();
}

#[tokio::test]
async fn normalises_tracking_oldest_first_with_unknown_codes_kept() {
    let url = MockShipEngine::default().start().await;
    let shipengine = ShipEngineCarrier::new(config(&url)).unwrap();
    let tracking = shipengine
        .track("swiss-post", &TrackingNumber::new(TRACKED))
        .await
        .unwrap()
        .unwrap();
    let statuses: Vec<TrackingStatus> = tracking.events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        vec![
            TrackingStatus::Unknown,
            TrackingStatus::PickedUp,
            TrackingStatus::InTransit,
            TrackingStatus::OutForDelivery
        ]
    );
    assert_eq!(tracking.status, TrackingStatus::OutForDelivery);
    assert_eq!(tracking.events[3].carrier_code, "OUT");
    assert_eq!(
        tracking.events[3].location.as_deref(),
        Some("Zürich-Mülligen, CH")
    );
    assert_eq!(tracking.eta.unwrap().to_string(), "2026-11-05");
}

#[tokio::test]
async fn buys_a_return_label_from_the_customer_to_the_warehouse() {
    let mock = MockShipEngine::default();
    let url = mock.clone().start().await;
    let shipengine = ShipEngineCarrier::new(config(&url)).unwrap();
    let fixture = carrier::sample().fixture;
    let label = shipengine
        .create_return_label(&ReturnLabelRequest {
            return_id: ReturnId::new("ret_9"),
            carrier: "swiss-post".to_owned(),
            from: fixture.valid_address.clone(),
            to: fixture.returns_warehouse.clone(),
            weight_grams: None,
        })
        .await
        .unwrap();
    assert_eq!(label.label_id, "se-1");
    let sent = mock.state.lock().unwrap().labels[0].clone();
    assert_eq!(sent["rma_number"], "ret_9");
    assert_eq!(sent["shipment"]["carrier_id"], "se-123456");
    assert_eq!(
        sent["shipment"]["ship_from"]["address_line1"],
        "Langstrasse 1"
    );
    assert_eq!(sent["shipment"]["ship_to"]["name"], "Shop Returns");
    assert_eq!(
        sent["shipment"]["packages"][0]["weight"],
        json!({"value": 1000, "unit": "gram"})
    );

    let err = shipengine
        .create_return_label(&ReturnLabelRequest {
            return_id: ReturnId::new("ret_10"),
            carrier: "dhl".to_owned(),
            from: fixture.valid_address,
            to: fixture.returns_warehouse,
            weight_grams: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput, "{err}");
    assert_eq!(mock.state.lock().unwrap().labels.len(), 1);
}

#[tokio::test]
async fn maps_vendor_failures_to_port_errors() {
    let mock = MockShipEngine::default();
    let url = mock.clone().start().await;
    let shipengine = ShipEngineCarrier::new(config(&url)).unwrap();
    let number = TrackingNumber::new(TRACKED);

    mock.script(
        429,
        vec![("retry-after", "5")],
        json!({"request_id": "x", "errors": []}),
    );
    let err = shipengine.track("swiss-post", &number).await.unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(5))
        }
    );

    mock.script(500, vec![], json!({"request_id": "x", "errors": [{"error_type": "system", "error_code": "unspecified"}]}));
    let err = shipengine.track("swiss-post", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert!(err.is_retryable());

    mock.script(404, vec![], json!({"request_id": "x", "errors": []}));
    assert!(shipengine
        .track("swiss-post", &number)
        .await
        .unwrap()
        .is_none());

    mock.script(400, vec![], json!({"request_id": "x", "errors": [{"error_type": "business_rules", "error_code": "insufficient_funds"}]}));
    let err = shipengine
        .validate_address(&carrier::sample().fixture.valid_address)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected);

    let wrong = ShipEngineCarrier::new(ShipEngineConfig {
        api_key: SecretString::from("TEST_wrong"),
        ..config(&url)
    })
    .unwrap();
    let err = wrong.track("swiss-post", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(!format!("{err} {wrong:?}").contains("TEST_wrong"));
}

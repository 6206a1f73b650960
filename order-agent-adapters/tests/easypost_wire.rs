#![cfg(feature = "easypost")]
//! The EasyPost adapter over the wire: the carrier conformance suite against a loopback server
//! that speaks EasyPost's documented format (basic auth with the API key as user, `{"tracker":
//! {...}}` / `{"shipment": {...}}` / `{"address": {...}, "verify": [...]}` bodies, trackers
//! deduplicated by code, shipments found by `reference`, rates bought with `/buy`,
//! `{"error": {"code", "message", "errors"}}` bodies), plus the error mapping and the tracker
//! webhook, checked on EasyPost's own event body from `../shared/specs/webhook-vectors`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use order_agent_adapters::easypost::{
    tracking_from_event, EasyPostCarrier, EasyPostConfig, ReturnService,
};
use order_agent_core::domain::{ReturnId, TrackingNumber, TrackingStatus};
use order_agent_core::ports::carrier::ReturnLabelRequest;
use order_agent_core::ports::{Carrier, PortErrorKind};
use order_agent_testkit::conformance::carrier;
use secrecy::SecretString;
use serde_json::{json, Value};

const API_KEY: &str = "EZTK_test_mock_key";
const TRACKED: &str = "99.60.123456.12345678";

/// A scripted answer: status, extra headers, body text.
type Scripted = (u16, Vec<(&'static str, &'static str)>, String);

#[derive(Debug, Default)]
struct MockState {
    trackers: Vec<(String, Value)>,
    shipments: Vec<Value>,
    bought_rates: Vec<String>,
    calls: Vec<(String, String, String)>,
    scripted: Vec<Scripted>,
    delay: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
struct MockEasyPost {
    state: Arc<Mutex<MockState>>,
}

fn ep_error(status: u16, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"error": {"code": code, "message": message, "errors": []}})),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn tracker(id: &str, code: &str, carrier: &str) -> Value {
    if code != TRACKED {
        // EasyPost answers a code it knows nothing of with an empty `unknown` tracker.
        return json!({"id": id, "object": "Tracker", "tracking_code": code, "status": "unknown",
            "status_detail": "unknown", "carrier": carrier, "tracking_details": []});
    }
    let detail = |at: &str, status: &str, detail: &str, code: &str, text: &str| {
        json!({"object": "TrackingDetail", "message": text, "description": text,
            "status": status, "status_detail": detail, "datetime": at, "source": carrier,
            "carrier_code": code, "tracking_location": {"object": "TrackingLocation",
            "city": "Zürich-Mülligen", "state": null, "country": "CH", "zip": "8010"}})
    };
    json!({
        "id": id, "object": "Tracker", "tracking_code": code, "carrier": carrier,
        "status": "out_for_delivery", "status_detail": "out_for_delivery",
        "est_delivery_date": "2026-11-05T00:00:00Z",
        "tracking_details": [
            detail("2026-11-01T10:00:00Z", "pre_transit", "label_created", "LBL", "Label created"),
            detail("2026-11-02T17:00:00Z", "in_transit", "received_at_origin_facility", "PUP", "Picked up"),
            detail("2026-11-02T17:00:00Z", "teleported", "unknown", "NEW", "A status no table knows"),
            detail("2026-11-03T08:00:00+01:00", "in_transit", "weather_delay", "TRN", "Delayed by weather"),
            detail("2026-11-04T09:10:00Z", "out_for_delivery", "out_for_delivery", "OUT", "Out for delivery"),
        ],
    })
}

/// The carrier's address rules, as the testkit's fake applies them: blanks are undeliverable,
/// stray spaces and a lower-case country are corrected.
fn verify(address: &Value) -> (bool, Value) {
    let text = |k: &str| address[k].as_str().unwrap_or("").to_owned();
    if ["street1", "zip", "city"]
        .iter()
        .any(|k| text(k).trim().is_empty())
    {
        return (false, address.clone());
    }
    let mut standard = address.clone();
    for (k, v) in address.as_object().unwrap() {
        let v = v.as_str().unwrap_or("").trim();
        standard[k] = json!(if k == "country" {
            v.to_ascii_uppercase()
        } else {
            v.to_owned()
        });
    }
    (true, standard)
}

impl MockEasyPost {
    fn script(&self, status: u16, headers: Vec<(&'static str, &'static str)>, body: &str) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .push((status, headers, body.to_owned()));
    }

    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let mock = self.clone();
                async move {
                    let delay = mock.state.lock().unwrap().delay;
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    mock.handle(method, uri, headers, body)
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let body = String::from_utf8(body.to_vec()).unwrap();
        let mut s = self.state.lock().unwrap();
        s.calls
            .push((method.to_string(), uri.path().to_owned(), body.clone()));
        if !s.scripted.is_empty() {
            let (status, extra, text) = s.scripted.remove(0);
            let mut response = (StatusCode::from_u16(status).unwrap(), text).into_response();
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return response;
        }
        let basic = format!("Basic {}", STANDARD.encode(format!("{API_KEY}:")));
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
            return ep_error(401, "APIKEY.INACTIVE", "This api key is no longer active.");
        }
        let request: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap()
        };
        let path = uri.path().to_owned();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("POST", ["v2", "trackers"]) => {
                let code = request["tracker"]["tracking_code"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let carrier = request["tracker"]["carrier"]
                    .as_str()
                    .unwrap_or("SwissPost");
                let id = match s.trackers.iter().find(|(c, _)| *c == code) {
                    Some((_, t)) => t["id"].as_str().unwrap().to_owned(),
                    None => {
                        let id = format!("trk_{}", s.trackers.len() + 1);
                        let t = tracker(&id, &code, carrier);
                        s.trackers.push((code.clone(), t));
                        id
                    }
                };
                ok(tracker(&id, &code, carrier))
            }
            ("GET", ["v2", "trackers", id]) => {
                match s.trackers.iter().find(|(_, t)| t["id"] == *id) {
                    Some((_, t)) => ok(t.clone()),
                    None => ep_error(
                        404,
                        "NOT_FOUND",
                        "The requested resource could not be found.",
                    ),
                }
            }
            ("GET", ["v2", "shipments", key]) => {
                match s
                    .shipments
                    .iter()
                    .find(|sh| sh["id"] == *key || sh["reference"] == *key)
                {
                    Some(shipment) => ok(shipment.clone()),
                    None => ep_error(
                        404,
                        "NOT_FOUND",
                        "The requested resource could not be found.",
                    ),
                }
            }
            ("POST", ["v2", "shipments"]) => {
                let shipment = &request["shipment"];
                for side in ["to_address", "from_address"] {
                    if !verify(&shipment[side]).0 {
                        return ep_error(
                            422,
                            "ADDRESS.VERIFY.FAILURE",
                            "Unable to verify address.",
                        );
                    }
                }
                let n = s.shipments.len() + 1;
                let rate = |i: usize, carrier: &str, service: &str, amount: &str| {
                    json!({"id": format!("rate_{n}_{i}"), "object": "Rate", "carrier": carrier,
                        "service": service, "rate": amount, "currency": "CHF",
                        "shipment_id": format!("shp_{n}")})
                };
                let created = json!({
                    "id": format!("shp_{n}"), "object": "Shipment",
                    "reference": shipment["reference"], "is_return": shipment["is_return"],
                    "to_address": shipment["to_address"], "from_address": shipment["from_address"],
                    "parcel": shipment["parcel"], "postage_label": null, "tracking_code": null,
                    "rates": [
                        rate(1, "SwissPost", "PostPac Priority", "12.00"),
                        rate(2, "SwissPost", "PostPac Economy", "9.50"),
                        rate(3, "USPS", "GroundAdvantage", "5.10"),
                        rate(4, "SwissPost", "PostPac Economy Plus", "10.2"),
                    ],
                });
                s.shipments.push(created.clone());
                ok(created)
            }
            ("POST", ["v2", "shipments", id, "buy"]) => {
                let rate_id = request["rate"]["id"].as_str().unwrap().to_owned();
                let Some(index) = s.shipments.iter().position(|sh| sh["id"] == *id) else {
                    return ep_error(
                        404,
                        "NOT_FOUND",
                        "The requested resource could not be found.",
                    );
                };
                s.bought_rates.push(rate_id);
                let shipment = &mut s.shipments[index];
                shipment["tracking_code"] = json!(format!("99.00.{:06}", index + 1));
                shipment["postage_label"] = json!({"object": "PostageLabel",
                    "id": format!("pl_{}", index + 1),
                    "label_url": format!("https://easypost-files.s3.amazonaws.com/files/postage_label/{}.png", index + 1)});
                ok(shipment.clone())
            }
            ("POST", ["v2", "addresses"]) => {
                assert_eq!(request["verify"], json!(["delivery"]));
                let (success, standard) = verify(&request["address"]);
                let errors = if success {
                    json!([])
                } else {
                    json!([{"code": "E.ADDRESS.NOT_FOUND", "field": "address", "message": "Address not found", "suggestion": null}])
                };
                let mut address = standard;
                address["id"] = json!("adr_1");
                address["object"] = json!("Address");
                address["verifications"] =
                    json!({"delivery": {"success": success, "errors": errors, "details": {}}});
                ok(address)
            }
            _ => ep_error(
                404,
                "NOT_FOUND",
                "The requested resource could not be found.",
            ),
        }
    }
}

fn config(url: &str) -> EasyPostConfig {
    EasyPostConfig::new(SecretString::from(API_KEY))
        .with_base_url(url)
        .with_carrier_name("swiss-post", "SwissPost")
        .with_return_service(
            "swiss-post",
            ReturnService {
                carrier: "SwissPost".to_owned(),
                service: None,
            },
        )
}

async fn started() -> (MockEasyPost, EasyPostCarrier) {
    let mock = MockEasyPost::default();
    let url = mock.clone().start().await;
    let easypost = EasyPostCarrier::new(config(&url)).unwrap();
    (mock, easypost)
}

fn label_request(return_id: &str) -> ReturnLabelRequest {
    let f = carrier::sample().fixture;
    ReturnLabelRequest {
        return_id: ReturnId::new(return_id),
        carrier: "swiss-post".to_owned(),
        from: f.valid_address,
        to: f.returns_warehouse,
        weight_grams: Some(800),
    }
}

#[tokio::test]
async fn passes_the_carrier_conformance_suite() {
    let (_mock, easypost) = started().await;
    carrier::run_all(&easypost, &carrier::sample().fixture)
        .await
        .unwrap();
}

#[tokio::test]
async fn normalises_trackers_oldest_first_with_unknown_codes_kept() {
    let (mock, easypost) = started().await;
    let number = TrackingNumber::new(TRACKED);
    let tracking = easypost
        .track("swiss-post", &number)
        .await
        .unwrap()
        .unwrap();
    let statuses: Vec<TrackingStatus> = tracking.events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        vec![
            TrackingStatus::LabelCreated,
            TrackingStatus::PickedUp,
            TrackingStatus::Unknown,
            TrackingStatus::InTransit,
            TrackingStatus::OutForDelivery,
        ]
    );
    assert_eq!(tracking.status, TrackingStatus::OutForDelivery);
    assert_eq!(
        tracking.events[3].at.to_rfc3339(),
        "2026-11-03T07:00:00+00:00"
    );
    assert_eq!(tracking.events[4].carrier_code, "OUT");
    assert_eq!(
        tracking.events[4].location.as_deref(),
        Some("Zürich-Mülligen, CH")
    );
    assert_eq!(tracking.eta.unwrap().to_string(), "2026-11-05");

    // Tracking again reuses EasyPost's tracker, and the tracker can be read by id.
    easypost
        .track("swiss-post", &number)
        .await
        .unwrap()
        .unwrap();
    let by_id = easypost
        .track_by_id("swiss-post", "trk_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.events, tracking.events);
    assert!(easypost
        .track_by_id("swiss-post", "trk_404")
        .await
        .unwrap()
        .is_none());
    let s = mock.state.lock().unwrap();
    assert_eq!(s.trackers.len(), 1);
    let sent: Value = serde_json::from_str(&s.calls[0].2).unwrap();
    assert_eq!(
        sent,
        json!({"tracker": {"tracking_code": TRACKED, "carrier": "SwissPost"}})
    );
}

#[tokio::test]
async fn buys_the_cheapest_rate_of_the_carrier_for_a_return_once_per_reference() {
    let (mock, easypost) = started().await;
    let label = easypost
        .create_return_label(&label_request("ret_9"))
        .await
        .unwrap();
    assert_eq!(label.label_id, "pl_1");
    assert_eq!(label.tracking_number.as_str(), "99.00.000001");
    assert!(label.label_url.ends_with("/1.png"));
    {
        let s = mock.state.lock().unwrap();
        // SwissPost's cheapest (9.50), not USPS's cheaper rate of another carrier.
        assert_eq!(s.bought_rates, vec!["rate_1_2"]);
        let shipment = &s.shipments[0];
        assert_eq!(shipment["is_return"], json!(true));
        assert_eq!(shipment["reference"], "ret_9");
        // EasyPost swaps the addresses of a return itself: `to_address` is the customer.
        assert_eq!(shipment["to_address"]["street1"], "Langstrasse 1");
        assert_eq!(shipment["from_address"]["name"], "Shop Returns");
        // 800 g is 28.3 oz, rounded up to a tenth.
        assert_eq!(shipment["parcel"]["weight"], json!(28.3));
    }

    // The same return again: found by reference, nothing new created or bought.
    let again = easypost
        .create_return_label(&label_request("ret_9"))
        .await
        .unwrap();
    assert_eq!(again, label);
    {
        let s = mock.state.lock().unwrap();
        assert_eq!(s.shipments.len(), 1);
        assert_eq!(s.bought_rates.len(), 1);
    }

    // An incomplete address is refused before anything is sent, let alone bought.
    let calls = mock.state.lock().unwrap().calls.len();
    let mut bad = label_request("ret_11");
    bad.from = carrier::sample().fixture.invalid_address;
    let err = easypost.create_return_label(&bad).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert_eq!(mock.state.lock().unwrap().calls.len(), calls);
}

#[tokio::test]
async fn resumes_a_return_shipment_created_but_not_bought() {
    let (mock, easypost) = started().await;
    // An earlier attempt created the shipment and failed before buying it.
    let create = order_agent_adapters::easypost::requests::create_return_shipment(
        easypost.config(),
        &label_request("ret_11"),
    )
    .unwrap();
    let sender = order_agent_adapters::http::HttpSender::new(
        &easypost.config().base_url,
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(sender.send(&create).await.unwrap().status, 200);
    assert_eq!(mock.state.lock().unwrap().shipments.len(), 1);
    let label = easypost
        .create_return_label(&label_request("ret_11"))
        .await
        .unwrap();
    assert_eq!(label.tracking_number.as_str(), "99.00.000001");
    let s = mock.state.lock().unwrap();
    assert_eq!(s.shipments.len(), 1, "the existing shipment is bought");
    assert_eq!(s.bought_rates, vec!["rate_1_2"]);
}

#[tokio::test]
async fn maps_vendor_failures_to_port_errors() {
    let (mock, easypost) = started().await;
    let number = TrackingNumber::new(TRACKED);
    let error =
        |code: &str| format!(r#"{{"error":{{"code":"{code}","message":"m","errors":[]}}}}"#);

    mock.script(429, vec![("retry-after", "3")], &error("RATE_LIMITED"));
    let err = easypost.track("swiss-post", &number).await.unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        }
    );
    assert_eq!(err.context_value("easypost_code"), Some("RATE_LIMITED"));

    for status in [500, 503] {
        mock.script(status, vec![], &error("INTERNAL_SERVER_ERROR"));
        let err = easypost.track("swiss-post", &number).await.unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::Unavailable, "{status}");
        assert!(err.is_retryable());
    }

    mock.script(404, vec![], &error("NOT_FOUND"));
    assert!(easypost
        .track("swiss-post", &number)
        .await
        .unwrap()
        .is_none());
    assert!(easypost
        .track("swiss-post", &TrackingNumber::new("99.00.000000.00000000"))
        .await
        .unwrap()
        .is_none());

    mock.script(422, vec![], &error("PARAMETER.INVALID"));
    let err = easypost
        .validate_address(&carrier::sample().fixture.valid_address)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);

    mock.script(200, vec![], "{not json");
    let err = easypost.track("swiss-post", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);

    // The carrier refuses the address at creation: invalid input, nothing bought.
    mock.script(404, vec![], &error("NOT_FOUND"));
    mock.script(422, vec![], &error("ADDRESS.VERIFY.FAILURE"));
    let err = easypost
        .create_return_label(&label_request("ret_12"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput, "{err}");
    assert!(mock.state.lock().unwrap().bought_rates.is_empty());

    // The buy is refused (no funds): rejected.
    mock.script(404, vec![], &error("NOT_FOUND"));
    mock.script(
        200,
        vec![],
        &json!({"id": "shp_x", "is_return": true, "rates": [
            {"id": "rate_x", "carrier": "SwissPost", "service": "PostPac Economy", "rate": "9.50"}]})
        .to_string(),
    );
    mock.script(402, vec![], &error("SHIPMENT.POSTAGE.FAILURE"));
    let err = easypost
        .create_return_label(&label_request("ret_13"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");

    // No rate of the configured carrier: rejected before buying.
    mock.script(404, vec![], &error("NOT_FOUND"));
    mock.script(
        200,
        vec![],
        &json!({"id": "shp_y", "is_return": true, "rates": [
            {"id": "rate_y", "carrier": "USPS", "service": "GroundAdvantage", "rate": "5.10"}]})
        .to_string(),
    );
    let err = easypost
        .create_return_label(&label_request("ret_14"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");
    assert!(mock.state.lock().unwrap().scripted.is_empty());

    // The API key never appears in errors or Debug output.
    let wrong = EasyPostCarrier::new(EasyPostConfig {
        api_key: SecretString::from("EZTK_wrong_key"),
        ..easypost.config().clone()
    })
    .unwrap();
    let err = wrong.track("swiss-post", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(!format!("{err} {err:?} {wrong:?}").contains("EZTK_wrong_key"));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let mock = MockEasyPost::default();
    let url = mock.clone().start().await;
    let mut config = config(&url);
    config.timeout_ms = 200;
    let easypost = EasyPostCarrier::new(config).unwrap();
    mock.state.lock().unwrap().delay = Some(Duration::from_millis(1_000));
    let err = easypost
        .track("swiss-post", &TrackingNumber::new(TRACKED))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout, "{err}");
}

fn event_body() -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/specs/webhook-vectors/easypost_event-body.json");
    match std::fs::read(&path) {
        Ok(body) => Some(body),
        Err(e) => {
            eprintln!(
                "SKIPPED easypost webhook vector: `{}` cannot be read ({e})",
                path.display()
            );
            None
        }
    }
}

#[test]
fn a_tracker_updated_event_is_a_tracking() {
    let Some(body) = event_body() else {
        return;
    };
    let config =
        EasyPostConfig::new(SecretString::from(API_KEY)).with_carrier_name("fedex", "FedEx");
    let tracking = tracking_from_event(&config, &body).unwrap().unwrap();
    assert_eq!(tracking.carrier, "fedex");
    assert_eq!(tracking.tracking_number.as_str(), "1");
    assert_eq!(tracking.events.len(), 7);
    assert!(tracking.events.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(tracking.events[0].status, TrackingStatus::LabelCreated);
    assert_eq!(tracking.events[0].carrier_code, "OC");
    assert_eq!(tracking.status, TrackingStatus::InTransit);
    assert_eq!(
        tracking.events[6].location.as_deref(),
        Some("EDISON, NJ, US")
    );
    assert_eq!(tracking.eta.unwrap().to_string(), "2024-08-05");
}

#[test]
fn other_events_and_unreadable_bodies() {
    let config = EasyPostConfig::new(SecretString::from(API_KEY));
    let batch = json!({"id": "evt_2", "object": "Event", "description": "batch.created", "result": {"object": "Batch"}});
    assert!(tracking_from_event(&config, batch.to_string().as_bytes())
        .unwrap()
        .is_none());
    let empty = json!({"id": "evt_3", "description": "tracker.created",
        "result": {"object": "Tracker", "tracking_code": "X1", "carrier": "USPS", "status": "unknown", "tracking_details": []}});
    assert!(tracking_from_event(&config, empty.to_string().as_bytes())
        .unwrap()
        .is_none());
    let bad_time = json!({"id": "evt_4", "description": "tracker.updated",
        "result": {"tracking_code": "X1", "carrier": "USPS", "status": "in_transit",
            "tracking_details": [{"datetime": "yesterday", "status": "in_transit"}]}});
    let err = tracking_from_event(&config, bad_time.to_string().as_bytes()).unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);
    let err = tracking_from_event(&config, b"\xff not json").unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
}

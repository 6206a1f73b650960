#![cfg(feature = "ups")]
//! The UPS adapter over the wire: the carrier conformance suite against a loopback server that
//! speaks UPS's documented formats (OAuth client credentials with basic auth and a form body,
//! bearer tokens, `transId`/`transactionSrc` headers, tracking activities newest first with
//! `YYYYMMDD`/`HHMMSS` times, the Shipping API's `ShipmentRequest`/`ShipmentResponse`, Address
//! Validation's `XAVRequest`/`XAVResponse`, `{"response": {"errors": [...]}}` bodies), plus the
//! token cache and refresh and the error mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use order_agent_adapters::ups::{UpsCarrier, UpsConfig, WeightUnit};
use order_agent_core::domain::{Address, ReturnId, TrackingNumber, TrackingStatus};
use order_agent_core::ports::carrier::{AddressValidation, ReturnLabelRequest};
use order_agent_core::ports::{Carrier, PortErrorKind};
use order_agent_testkit::conformance::carrier::{self, CarrierFixture};
use secrecy::SecretString;
use serde_json::{json, Value};

const CLIENT_ID: &str = "test-client";
const CLIENT_SECRET: &str = "TEST_ups_secret";
const SHIPPER: &str = "A1B2C3";
const TRACKED: &str = "1ZA1B2C30312345678";
/// A one-pixel GIF, base64, as UPS returns `GraphicImage`.
const GIF: &str = "R0lGODlhAQABAAAAACw=";

/// A scripted answer for the next API call: status, extra headers, body.
type Scripted = (u16, Vec<(&'static str, &'static str)>, String);

#[derive(Debug, Default)]
struct MockState {
    tokens_issued: usize,
    valid_tokens: Vec<String>,
    api_calls: Vec<(String, String, HeaderMap, String)>,
    shipments: Vec<Value>,
    scripted: Vec<Scripted>,
    delay: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
struct MockUps {
    state: Arc<Mutex<MockState>>,
}

fn ups_error(status: u16, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"response": {"errors": [{"code": code, "message": message}]}})),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn us(name: &str, line1: &str, postcode: &str, city: &str) -> Address {
    Address {
        name: name.to_owned(),
        line1: line1.to_owned(),
        line2: None,
        postcode: postcode.to_owned(),
        city: city.to_owned(),
        region: Some("CA".to_owned()),
        country: "US".to_owned(),
    }
}

fn fixture() -> CarrierFixture {
    let mut correctable = us("Pat Example", "  200 Ocean Ave ", "90401", "Santa Monica");
    correctable.country = "us".to_owned();
    CarrierFixture {
        run_id: "ups".to_owned(),
        carrier: "ups".to_owned(),
        tracked: TrackingNumber::new(TRACKED),
        unknown: TrackingNumber::new("1Z0000000000000000"),
        valid_address: us("Pat Example", "200 Ocean Ave", "90401", "Santa Monica"),
        correctable_address: correctable,
        invalid_address: us("Pat Example", "", "", "Santa Monica"),
        returns_warehouse: us("Shop Returns", "50 Warehouse Way", "94107", "San Francisco"),
    }
}

fn tracking(number: &str) -> Response {
    if number != TRACKED {
        return ups_error(404, "TW0001", "Tracking Information Not Found");
    }
    let activity = |date: &str,
                    time: &str,
                    kind: &str,
                    code: &str,
                    status_code: &str,
                    text: &str| {
        json!({
            "date": date, "time": time, "gmtOffset": "-08:00",
            "location": {"address": {"city": "Los Angeles", "stateProvince": "CA", "countryCode": "US"}},
            "status": {"type": kind, "code": code, "statusCode": status_code, "description": text},
        })
    };
    ok(json!({"trackResponse": {"shipment": [{
        "inquiryNumber": number,
        "package": [{
            "trackingNumber": number,
            "deliveryDate": [{"type": "SDD", "date": "20261106"}],
            "currentStatus": {"type": "I", "code": "OT", "statusCode": "021", "description": "Out For Delivery Today"},
            // Newest first, as UPS lists them; one type no table knows.
            "activity": [
                activity("20261105", "071000", "I", "OT", "021", "Out For Delivery Today"),
                activity("20261104", "180000", "I", "AR", "005", "Arrived at Facility"),
                activity("20261103", "120000", "P", "OR", "038", "Pickup Scan"),
                activity("20261103", "120000", "Q", "ZZ", "999", "A type no table knows"),
                activity("20261102", "90000", "M", "MP", "003", "Shipper created a label"),
            ],
        }],
    }]}}))
}

/// The carrier's address rules, as the testkit's fake applies them: blanks are undeliverable,
/// stray spaces and a lower-case country are corrected.
fn validate(key: &Value) -> Response {
    let text = |k: &str| key[k].as_str().unwrap_or("").to_owned();
    let line = key["AddressLine"][0].as_str().unwrap_or("").to_owned();
    if line.trim().is_empty() || text("PostcodePrimaryLow").trim().is_empty() {
        return ok(json!({"XAVResponse": {
            "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
            "NoCandidatesIndicator": "",
        }}));
    }
    ok(json!({"XAVResponse": {
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
        "ValidAddressIndicator": "",
        "Candidate": [{"AddressKeyFormat": {
            "AddressLine": [line.trim()],
            "PoliticalDivision2": text("PoliticalDivision2").trim(),
            "PoliticalDivision1": text("PoliticalDivision1").trim(),
            "PostcodePrimaryLow": text("PostcodePrimaryLow").trim(),
            "CountryCode": text("CountryCode").trim().to_ascii_uppercase(),
        }}],
    }}))
}

fn ship_address_ok(address: &Value) -> bool {
    let line = address["AddressLine"][0].as_str().unwrap_or("");
    !line.trim().is_empty()
        && !address["PostalCode"]
            .as_str()
            .unwrap_or("")
            .trim()
            .is_empty()
        && address["CountryCode"].as_str().unwrap_or("").len() == 2
}

impl MockUps {
    fn script(&self, status: u16, headers: Vec<(&'static str, &'static str)>, body: &str) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .push((status, headers, body.to_owned()));
    }

    fn revoke_tokens(&self) {
        self.state.lock().unwrap().valid_tokens.clear();
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
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let mut s = self.state.lock().unwrap();
        if (method.as_str(), uri.path()) == ("POST", "/security/v1/oauth/token") {
            let basic = format!(
                "Basic {}",
                STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
            );
            if header("authorization") != basic {
                return ups_error(401, "10401", "ClientId is Invalid");
            }
            assert_eq!(header("content-type"), "application/x-www-form-urlencoded");
            assert_eq!(body, "grant_type=client_credentials");
            s.tokens_issued += 1;
            let token = format!("tok-{}", s.tokens_issued);
            s.valid_tokens.push(token.clone());
            return ok(json!({
                "token_type": "Bearer", "issued_at": "1700000000000", "client_id": CLIENT_ID,
                "access_token": token, "expires_in": "14399", "status": "approved",
            }));
        }
        s.api_calls.push((
            method.to_string(),
            uri.to_string(),
            headers.clone(),
            body.clone(),
        ));
        if !s.scripted.is_empty() {
            let (status, extra, text) = s.scripted.remove(0);
            let mut response = (StatusCode::from_u16(status).unwrap(), text).into_response();
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return response;
        }
        let bearer = header("authorization");
        let token = bearer.strip_prefix("Bearer ").unwrap_or("");
        if !s.valid_tokens.iter().any(|t| t == token) {
            return ups_error(401, "250002", "Invalid Authentication Information.");
        }
        if header("transid").is_empty() || header("transactionsrc").is_empty() {
            return ups_error(400, "VSS000", "transId and transactionSrc are required");
        }
        let path = uri.path().to_owned();
        match (method.as_str(), path.as_str()) {
            ("GET", p) if p.starts_with("/api/track/v1/details/") => {
                tracking(p.trim_start_matches("/api/track/v1/details/"))
            }
            ("POST", "/api/addressvalidation/v1/1") => {
                let request: Value = serde_json::from_str(&body).unwrap();
                validate(&request["XAVRequest"]["AddressKeyFormat"])
            }
            ("POST", "/api/shipments/v2409/ship") => {
                let request: Value = serde_json::from_str(&body).unwrap();
                let shipment = &request["ShipmentRequest"]["Shipment"];
                assert!(shipment["ReturnService"]["Code"].is_string());
                for side in ["Shipper", "ShipFrom", "ShipTo"] {
                    if !ship_address_ok(&shipment[side]["Address"]) {
                        return ups_error(
                            400,
                            "120802",
                            "Address Validation Error on ShipTo address",
                        );
                    }
                }
                let n = s.shipments.len() + 1;
                s.shipments.push(request);
                ok(json!({"ShipmentResponse": {
                    "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                    "ShipmentResults": {
                        "BillingWeight": {"UnitOfMeasurement": {"Code": "KGS"}, "Weight": "1.0"},
                        "ShipmentIdentificationNumber": format!("1ZRETURN{n:010}"),
                        "PackageResults": [{
                            "TrackingNumber": format!("1ZRETURN{n:010}"),
                            "ShippingLabel": {"ImageFormat": {"Code": "GIF"}, "GraphicImage": GIF},
                        }],
                    },
                }}))
            }
            _ => ups_error(404, "VSS404", "no such resource"),
        }
    }
}

fn config(url: &str) -> UpsConfig {
    let mut config = UpsConfig::new(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        SHIPPER,
        "+1 415 555 0100",
    )
    .with_base_urls(format!("{url}/api"), url);
    config.service_code = "03".to_owned();
    config.weight_unit = WeightUnit::Lbs;
    config
}

async fn started() -> (MockUps, UpsCarrier) {
    let mock = MockUps::default();
    let url = mock.clone().start().await;
    let ups = UpsCarrier::new(config(&url)).unwrap();
    (mock, ups)
}

#[tokio::test]
async fn passes_the_carrier_conformance_suite() {
    let (_mock, ups) = started().await;
    carrier::run_all(&ups, &fixture()).await.unwrap();
}

#[tokio::test]
async fn normalises_tracking_oldest_first_in_utc_with_unknown_types_kept() {
    let (mock, ups) = started().await;
    let tracking = ups
        .track("ups", &TrackingNumber::new(TRACKED))
        .await
        .unwrap()
        .unwrap();
    let statuses: Vec<TrackingStatus> = tracking.events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        vec![
            TrackingStatus::LabelCreated,
            TrackingStatus::Unknown,
            TrackingStatus::PickedUp,
            TrackingStatus::InTransit,
            TrackingStatus::OutForDelivery,
        ]
    );
    assert_eq!(tracking.status, TrackingStatus::OutForDelivery);
    // 07:10 at GMT-8 is 15:10 UTC; a five-digit time is read as HHMMSS with a leading zero.
    assert_eq!(
        tracking.events[4].at.to_rfc3339(),
        "2026-11-05T15:10:00+00:00"
    );
    assert_eq!(
        tracking.events[0].at.to_rfc3339(),
        "2026-11-02T17:00:00+00:00"
    );
    assert_eq!(tracking.events[4].carrier_code, "OT");
    assert_eq!(
        tracking.events[4].location.as_deref(),
        Some("Los Angeles, CA, US")
    );
    assert_eq!(tracking.eta.unwrap().to_string(), "2026-11-06");

    let calls = &mock.state.lock().unwrap().api_calls;
    let (_, uri, headers, _) = &calls[0];
    assert_eq!(
        uri,
        &format!("/api/track/v1/details/{TRACKED}?locale=en_US")
    );
    assert_eq!(headers["transactionsrc"], "order-agent");
    assert!(headers["transid"].len() <= 32);
}

#[tokio::test]
async fn buys_a_print_return_label_from_the_customer_to_the_warehouse() {
    let (mock, ups) = started().await;
    let f = fixture();
    let label = ups
        .create_return_label(&ReturnLabelRequest {
            return_id: ReturnId::new("ret_9"),
            carrier: "ups".to_owned(),
            from: f.valid_address.clone(),
            to: f.returns_warehouse.clone(),
            weight_grams: Some(800),
        })
        .await
        .unwrap();
    assert_eq!(label.label_id, "1ZRETURN0000000001");
    assert_eq!(label.tracking_number.as_str(), "1ZRETURN0000000001");
    assert_eq!(label.label_url, format!("data:image/gif;base64,{GIF}"));
    let sent = mock.state.lock().unwrap().shipments[0].clone();
    let shipment = &sent["ShipmentRequest"]["Shipment"];
    assert_eq!(shipment["ReturnService"]["Code"], "9");
    assert_eq!(shipment["Shipper"]["ShipperNumber"], SHIPPER);
    assert_eq!(
        shipment["ShipFrom"]["Address"]["AddressLine"][0],
        "200 Ocean Ave"
    );
    assert_eq!(shipment["ShipTo"]["Name"], "Shop Returns");
    assert_eq!(shipment["Service"]["Code"], "03");
    assert_eq!(
        shipment["PaymentInformation"]["ShipmentCharge"][0]["BillShipper"]["AccountNumber"],
        SHIPPER
    );
    // 800 g is 1.76 lb, rounded up to a tenth.
    assert_eq!(
        shipment["Package"][0]["PackageWeight"],
        json!({"UnitOfMeasurement": {"Code": "LBS"}, "Weight": "1.8"})
    );
    assert_eq!(
        shipment["Package"][0]["ReferenceNumber"][0]["Value"],
        "ret_9"
    );

    // An incomplete address is refused before anything is sent, let alone bought.
    let calls = mock.state.lock().unwrap().api_calls.len();
    let err = ups
        .create_return_label(&ReturnLabelRequest {
            return_id: ReturnId::new("ret_10"),
            carrier: "ups".to_owned(),
            from: f.invalid_address,
            to: f.returns_warehouse,
            weight_grams: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    let s = mock.state.lock().unwrap();
    assert_eq!(s.api_calls.len(), calls);
    assert_eq!(s.shipments.len(), 1);
}

#[tokio::test]
async fn caches_the_token_and_fetches_a_new_one_once_on_401() {
    let (mock, ups) = started().await;
    let number = TrackingNumber::new(TRACKED);
    ups.track("ups", &number).await.unwrap().unwrap();
    ups.track("ups", &number).await.unwrap().unwrap();
    assert_eq!(mock.state.lock().unwrap().tokens_issued, 1);

    // UPS revoked the token early: one 401, a new token, the same request again.
    mock.revoke_tokens();
    ups.track("ups", &number).await.unwrap().unwrap();
    {
        let s = mock.state.lock().unwrap();
        assert_eq!(s.tokens_issued, 2);
        assert_eq!(s.api_calls.len(), 4);
        let bearer = |i: usize| {
            s.api_calls[i].2["authorization"]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(bearer(2), "Bearer tok-1");
        assert_eq!(bearer(3), "Bearer tok-2");
    }

    // A 401 that persists is Unauthorized after exactly one refresh.
    let body = r#"{"response":{"errors":[{"code":"250002","message":"Invalid Authentication Information."}]}}"#;
    mock.script(401, vec![], body);
    mock.script(401, vec![], body);
    let err = ups.track("ups", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized, "{err}");
    let s = mock.state.lock().unwrap();
    assert_eq!(s.tokens_issued, 3);
    assert_eq!(s.api_calls.len(), 6);
}

#[tokio::test]
async fn maps_vendor_failures_to_port_errors() {
    let (mock, ups) = started().await;
    let number = TrackingNumber::new(TRACKED);
    let error =
        |code: &str| format!(r#"{{"response":{{"errors":[{{"code":"{code}","message":"m"}}]}}}}"#);

    mock.script(429, vec![("retry-after", "7")], &error("10429"));
    let err = ups.track("ups", &number).await.unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(err.context_value("ups_code"), Some("10429"));

    for status in [500, 503] {
        mock.script(status, vec![], &error("190001"));
        let err = ups.track("ups", &number).await.unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::Unavailable, "{status}");
        assert!(err.is_retryable());
    }

    mock.script(403, vec![], &error("250003"));
    let err = ups.track("ups", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);

    mock.script(400, vec![], &error("120802"));
    let err = ups
        .validate_address(&fixture().valid_address)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);

    // An unknown number answered with 200, a warning and no package is unknown too.
    mock.script(
        200,
        vec![],
        r#"{"trackResponse":{"shipment":[{"inquiryNumber":"1Z0","warnings":[{"code":"TW0001","message":"Tracking Information Not Found"}]}]}}"#,
    );
    assert!(ups.track("ups", &number).await.unwrap().is_none());

    mock.script(200, vec![], "{not json");
    let err = ups.track("ups", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);

    mock.script(200, vec![], r#"{"ShipmentResponse": {"ShipmentResults": {"PackageResults": [{"TrackingNumber": "1Z1"}]}}}"#);
    let f = fixture();
    let err = ups
        .create_return_label(&ReturnLabelRequest {
            return_id: ReturnId::new("ret_bad"),
            carrier: "ups".to_owned(),
            from: f.valid_address,
            to: f.returns_warehouse,
            weight_grams: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::Unexpected,
        "a label without an image"
    );

    // The client secret never appears in errors or Debug output.
    let wrong = UpsCarrier::new(UpsConfig {
        client_secret: SecretString::from("TEST_wrong_secret"),
        ..ups.config().clone()
    })
    .unwrap();
    let err = wrong.track("ups", &number).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(!format!("{err} {err:?} {wrong:?}").contains("TEST_wrong_secret"));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let mock = MockUps::default();
    let url = mock.clone().start().await;
    let mut config = config(&url);
    config.timeout_ms = 200;
    let ups = UpsCarrier::new(config).unwrap();
    mock.state.lock().unwrap().delay = Some(Duration::from_millis(1_000));
    let err = ups
        .track("ups", &TrackingNumber::new(TRACKED))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn addresses_outside_the_us_cannot_be_validated_and_say_so() {
    let (mock, ups) = started().await;
    let swiss = carrier::sample().fixture.valid_address;
    let err = ups.validate_address(&swiss).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");
    assert_eq!(err.context_value("country"), Some("CH"));
    assert!(mock.state.lock().unwrap().api_calls.is_empty());
    // Incomplete addresses are undeliverable wherever they are.
    let mut blank = swiss;
    blank.line1 = String::new();
    assert!(matches!(
        ups.validate_address(&blank).await.unwrap(),
        AddressValidation::Invalid { .. }
    ));
}

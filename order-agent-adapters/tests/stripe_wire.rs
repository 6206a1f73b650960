//! The Stripe adapter over the wire: the payments conformance suite against a loopback server that
//! speaks Stripe's documented REST format (form-encoded refunds, `Idempotency-Key` replay and
//! `idempotency_error`, newest-first cursor pagination, `{"error": {...}}` bodies), plus the error
//! mapping on real responses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use order_agent_adapters::stripe::{StripeConfig, StripePayments};
use order_agent_core::domain::{PaymentId, RefundState, Tender};
use order_agent_core::ports::{Payments, PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::payments;
use secrecy::SecretString;
use serde_json::{json, Value};

const API_KEY: &str = "sk_test_mock_123";

#[derive(Debug, Clone)]
struct StoredRefund {
    id: String,
    payment_intent: String,
    amount: i64,
    currency: String,
    status: &'static str,
    created: i64,
    metadata: BTreeMap<String, String>,
}

impl StoredRefund {
    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "object": "refund",
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "created": self.created,
            "metadata": self.metadata,
            "payment_intent": self.payment_intent,
        })
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path_and_query: String,
    headers: HeaderMap,
    body: String,
}

/// A scripted answer: status, extra headers, JSON body.
type Scripted = (u16, Vec<(&'static str, String)>, Value);

#[derive(Debug, Default)]
struct MockState {
    /// id → (amount_received, currency, payment method type).
    intents: BTreeMap<String, (i64, String, String)>,
    refunds: Vec<StoredRefund>,
    /// Idempotency key → (the form body it came with, the saved answer).
    keys: BTreeMap<String, (String, Value)>,
    clock: i64,
    received: Vec<Received>,
    /// Answers served before any logic, oldest first: (status, headers, body).
    scripted: VecDeque<Scripted>,
}

#[derive(Debug, Clone, Default)]
struct MockStripe {
    state: Arc<Mutex<MockState>>,
}

fn error(
    status: u16,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> Response {
    let mut e = json!({"type": kind, "message": message});
    if let Some(code) = code {
        e["code"] = json!(code);
    }
    if let Some(param) = param {
        e["param"] = json!(param);
    }
    (
        StatusCode::from_u16(status).unwrap(),
        [("request-id", "req_mock")],
        axum::Json(json!({ "error": e })),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn decode(text: &str) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
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
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

impl MockStripe {
    fn with_intent(self, id: &str, received: i64, currency: &str, method: &str) -> MockStripe {
        self.state.lock().unwrap().intents.insert(
            id.to_owned(),
            (received, currency.to_owned(), method.to_owned()),
        );
        self
    }

    fn with_refund(
        self,
        id: &str,
        payment_intent: &str,
        amount: i64,
        status: &'static str,
    ) -> MockStripe {
        {
            let mut s = self.state.lock().unwrap();
            let created = 1_700_000_000 + s.clock;
            let currency = s.intents[payment_intent].1.clone();
            s.refunds.push(StoredRefund {
                id: id.to_owned(),
                payment_intent: payment_intent.to_owned(),
                amount,
                currency,
                status,
                created,
                metadata: BTreeMap::new(),
            });
        }
        self
    }

    fn script(&self, status: u16, headers: Vec<(&'static str, String)>, body: Value) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .push_back((status, headers, body));
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
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
        s.received.push(Received {
            method: method.to_string(),
            path_and_query: uri
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            headers: headers.clone(),
            body: body.clone(),
        });
        if let Some((status, extra, value)) = s.scripted.pop_front() {
            let mut response =
                (StatusCode::from_u16(status).unwrap(), axum::Json(value)).into_response();
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return response;
        }
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {API_KEY}")) {
            return error(
                401,
                "invalid_request_error",
                None,
                None,
                "Invalid API Key provided",
            );
        }
        let path = uri.path();
        let query = decode(uri.query().unwrap_or(""));
        match (method.as_str(), path) {
            ("GET", "/v1/refunds") => list_refunds(&s, &query),
            ("POST", "/v1/refunds") => {
                if headers.get("content-type").and_then(|v| v.to_str().ok())
                    != Some("application/x-www-form-urlencoded")
                {
                    return error(
                        400,
                        "invalid_request_error",
                        None,
                        None,
                        "form body expected",
                    );
                }
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if let Some(key) = &key {
                    if let Some((first_body, answer)) = s.keys.get(key) {
                        if *first_body == body {
                            let mut r = ok(answer.clone());
                            r.headers_mut()
                                .insert("idempotent-replayed", "true".parse().unwrap());
                            return r;
                        }
                        return error(400, "idempotency_error", None, None,
                            "Keys for idempotent requests can only be used with the same parameters they were first used with.");
                    }
                }
                let response = create_refund(&mut s, &decode(&body));
                if let (Some(key), Ok(value)) = (key, &response) {
                    s.keys.insert(key, (body, value.clone()));
                }
                match response {
                    Ok(value) => ok(value),
                    Err(r) => r,
                }
            }
            ("GET", p) if p.starts_with("/v1/charges/") => {
                let id = &p["/v1/charges/".len()..];
                match s.intents.get(id) {
                    Some((received, currency, pm)) => ok(json!({
                        "id": id,
                        "object": "charge",
                        "amount": received,
                        "amount_captured": received,
                        "currency": currency,
                        "payment_method_details": {"type": pm},
                    })),
                    None => error(
                        404,
                        "invalid_request_error",
                        Some("resource_missing"),
                        Some("id"),
                        "No such charge",
                    ),
                }
            }
            ("GET", p) if p.starts_with("/v1/payment_intents/") => {
                let id = &p["/v1/payment_intents/".len()..];
                match s.intents.get(id) {
                    Some((received, currency, pm)) => ok(json!({
                        "id": id,
                        "object": "payment_intent",
                        "amount": received,
                        "amount_received": received,
                        "currency": currency,
                        "status": "succeeded",
                        "payment_method_types": [pm],
                    })),
                    None => error(
                        404,
                        "invalid_request_error",
                        Some("resource_missing"),
                        Some("intent"),
                        "No such payment_intent",
                    ),
                }
            }
            _ => error(
                404,
                "invalid_request_error",
                None,
                None,
                "Unrecognized request URL",
            ),
        }
    }
}

fn list_refunds(s: &MockState, query: &[(String, String)]) -> Response {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let Some(pi) = get("payment_intent").or_else(|| get("charge")) else {
        return error(
            400,
            "invalid_request_error",
            None,
            None,
            "payment_intent expected by the mock",
        );
    };
    if !s.intents.contains_key(&pi) {
        return error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            Some("payment_intent"),
            "No such payment_intent",
        );
    }
    // Stripe caps `limit` at 100; the mock caps it at 2 so the adapter must follow the cursor.
    let limit: usize = get("limit").map_or(10, |l| l.parse().unwrap()).min(2);
    let mut newest_first: Vec<&StoredRefund> = s
        .refunds
        .iter()
        .filter(|r| r.payment_intent == pi)
        .collect();
    newest_first.reverse();
    let start = match get("starting_after") {
        Some(after) => match newest_first.iter().position(|r| r.id == after) {
            Some(i) => i + 1,
            None => {
                return error(
                    400,
                    "invalid_request_error",
                    Some("resource_missing"),
                    Some("starting_after"),
                    "No such refund",
                )
            }
        },
        None => 0,
    };
    let page: Vec<Value> = newest_first
        .iter()
        .skip(start)
        .take(limit)
        .map(|r| r.json())
        .collect();
    let has_more = newest_first.len() > start + page.len();
    ok(json!({"object": "list", "url": "/v1/refunds", "has_more": has_more, "data": page}))
}

// The error side is an HTTP response, as large as it is.
#[allow(clippy::result_large_err)]
fn create_refund(s: &mut MockState, form: &[(String, String)]) -> Result<Value, Response> {
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(pi) = get("payment_intent").or_else(|| get("charge")) else {
        return Err(error(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            Some("payment_intent"),
            "One of charge or payment_intent is required",
        ));
    };
    let Some((received, currency, _)) = s.intents.get(&pi).cloned() else {
        return Err(error(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            Some("payment_intent"),
            "No such payment_intent",
        ));
    };
    let amount: i64 = match get("amount").map(|a| a.parse()) {
        Some(Ok(a)) if a > 0 => a,
        _ => {
            return Err(error(
                400,
                "invalid_request_error",
                Some("parameter_invalid_integer"),
                Some("amount"),
                "Invalid positive integer",
            ))
        }
    };
    let refunded: i64 = s
        .refunds
        .iter()
        .filter(|r| r.payment_intent == pi && !matches!(r.status, "failed" | "canceled"))
        .map(|r| r.amount)
        .sum();
    if amount > received - refunded {
        return Err(error(
            400,
            "invalid_request_error",
            None,
            Some("amount"),
            "Refund amount is greater than unrefunded amount on charge",
        ));
    }
    let metadata: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("metadata[")
                .and_then(|k| k.strip_suffix(']'))
                .map(|k| (k.to_owned(), v.clone()))
        })
        .collect();
    // Two refunds per second, so some share a `created` second as they do on Stripe.
    s.clock += 1;
    let refund = StoredRefund {
        id: format!("re_mock{}", s.clock),
        payment_intent: pi,
        amount,
        currency,
        status: "pending",
        created: 1_700_000_000 + s.clock / 2,
        metadata,
    };
    let value = refund.json();
    s.refunds.push(refund);
    Ok(value)
}

fn config(url: &str) -> StripeConfig {
    StripeConfig::new(SecretString::from(API_KEY)).with_base_url(url)
}

fn conformance_mock() -> MockStripe {
    MockStripe::default()
        .with_intent("pi_conformance", 10_000, "chf", "card")
        .with_refund("re_earlier", "pi_conformance", 1_000, "succeeded")
        .with_refund("re_failed", "pi_conformance", 500, "failed")
}

fn fixture() -> payments::PaymentsFixture {
    payments::PaymentsFixture {
        run_id: "wire".to_owned(),
        payment: PaymentId::new("pi_conformance"),
        unknown_payment: PaymentId::new("pi_unknown"),
    }
}

#[tokio::test]
async fn passes_the_payments_conformance_suite() {
    let url = conformance_mock().start().await;
    let stripe = StripePayments::new(config(&url)).unwrap();
    payments::run_all(&stripe, &fixture()).await.unwrap();
}

#[tokio::test]
async fn a_broken_mock_fails_the_suite() {
    // A mock that ignores Idempotency-Key (refunds again on a replay) must fail the suite, or the
    // suite proves nothing about this adapter.
    #[derive(Debug)]
    struct ForgetfulKeys(StripePayments, MockStripe);
    #[async_trait::async_trait]
    impl Payments for ForgetfulKeys {
        async fn payment(
            &self,
            id: &PaymentId,
        ) -> order_agent_core::ports::PortResult<Option<order_agent_core::domain::Payment>>
        {
            self.0.payment(id).await
        }
        async fn refund(
            &self,
            r: &RefundRequest,
        ) -> order_agent_core::ports::PortResult<order_agent_core::domain::Refund> {
            let out = self.0.refund(r).await;
            self.1.state.lock().unwrap().keys.clear();
            out
        }
        async fn refunds(
            &self,
            id: &PaymentId,
        ) -> order_agent_core::ports::PortResult<Vec<order_agent_core::domain::Refund>> {
            self.0.refunds(id).await
        }
    }
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let broken = ForgetfulKeys(StripePayments::new(config(&url)).unwrap(), mock);
    let report = payments::run_all(&broken, &fixture()).await.unwrap_err();
    assert!(report.failed("payments.refund_is_idempotent"), "{report}");
}

#[tokio::test]
async fn reads_the_payment_with_every_live_refund() {
    let mock = conformance_mock().with_intent("pi_twint", 4_990, "chf", "twint");
    let url = mock.clone().start().await;
    let stripe = StripePayments::new(config(&url)).unwrap();
    let payment = stripe
        .payment(&PaymentId::new("pi_conformance"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.captured, Money::from_minor(10_000, Currency::CHF));
    // The failed refund does not count.
    assert_eq!(payment.refunded, Money::from_minor(1_000, Currency::CHF));
    assert_eq!(payment.tender, Tender::Card);
    let twint = stripe
        .payment(&PaymentId::new("pi_twint"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(twint.tender, Tender::Twint);
    assert_eq!(twint.refunded, Money::zero(Currency::CHF));
    let listed = stripe
        .refunds(&PaymentId::new("pi_conformance"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].state, RefundState::Failed);
}

#[tokio::test]
async fn a_charge_from_an_older_integration_passes_the_suite_too() {
    let mock = MockStripe::default()
        .with_intent("ch_conformance", 10_000, "eur", "sepa_debit")
        .with_refund("re_earlier", "ch_conformance", 1_000, "succeeded");
    let url = mock.start().await;
    let stripe = StripePayments::new(config(&url)).unwrap();
    let fixture = payments::PaymentsFixture {
        run_id: "charge".to_owned(),
        payment: PaymentId::new("ch_conformance"),
        unknown_payment: PaymentId::new("ch_unknown"),
    };
    payments::run_all(&stripe, &fixture).await.unwrap();
    let payment = stripe.payment(&fixture.payment).await.unwrap().unwrap();
    assert_eq!(payment.tender, Tender::BankTransfer);
    assert_eq!(payment.captured, Money::from_minor(10_000, Currency::EUR));
}

#[tokio::test]
async fn sends_the_documented_refund_request() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let stripe = StripePayments::new(config(&url)).unwrap();
    let request = RefundRequest {
        payment_id: PaymentId::new("pi_conformance"),
        amount: Money::from_minor(2_550, Currency::CHF),
        idempotency_key: "refund:ret_7:1".to_owned(),
        metadata: BTreeMap::from([("order_id".to_owned(), "#1042".to_owned())]),
    };
    let refund = stripe.refund(&request).await.unwrap();
    assert_eq!(refund.idempotency_key.as_deref(), Some("refund:ret_7:1"));
    assert_eq!(refund.state, RefundState::Pending);
    let post = mock
        .received()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.path_and_query, "/v1/refunds");
    assert_eq!(post.headers["idempotency-key"], "refund:ret_7:1");
    assert_eq!(
        post.headers["authorization"],
        format!("Bearer {API_KEY}").as_str()
    );
    assert_eq!(
        decode(&post.body),
        vec![
            ("payment_intent".to_owned(), "pi_conformance".to_owned()),
            ("amount".to_owned(), "2550".to_owned()),
            ("metadata[order_id]".to_owned(), "#1042".to_owned()),
            ("metadata[intent]".to_owned(), "refund:ret_7:1".to_owned()),
        ]
    );
}

#[tokio::test]
async fn maps_vendor_failures_to_port_errors() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let stripe = StripePayments::new(config(&url)).unwrap();
    let id = PaymentId::new("pi_conformance");

    mock.script(
        429,
        vec![("retry-after", "2".to_owned())],
        json!({"error": {"type": "invalid_request_error", "code": "rate_limit"}}),
    );
    let err = stripe.payment(&id).await.unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert!(err.is_retryable());

    mock.script(503, vec![], json!({"error": {"type": "api_error"}}));
    let err = stripe.refunds(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert!(err.is_retryable());
    assert_eq!(err.operation(), "payments.refunds");

    // The refund reads the intent first, then posts.
    mock.script(
        200,
        vec![],
        json!({"id": "pi_conformance", "amount_received": 10_000, "currency": "chf"}),
    );
    mock.script(
        402,
        vec![],
        json!({"error": {"type": "card_error", "code": "expired_card"}}),
    );
    let request = RefundRequest {
        payment_id: id.clone(),
        amount: Money::from_minor(1, Currency::CHF),
        idempotency_key: "k-card".to_owned(),
        metadata: BTreeMap::new(),
    };
    let err = stripe.refund(&request).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");
    assert!(!err.is_retryable());

    let wrong_key = StripePayments::new(
        StripeConfig::new(SecretString::from("sk_test_wrong")).with_base_url(&url),
    )
    .unwrap();
    let err = wrong_key.payment(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(!err.to_string().contains("sk_test_wrong"));
    assert!(!format!("{wrong_key:?}").contains("sk_test_wrong"));
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let stripe = StripePayments::new(config(&url)).unwrap();
    let err = stripe.payment(&PaymentId::new("pi_1")).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts and never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let mut config = config(&url);
    config.timeout_ms = 200;
    let stripe = StripePayments::new(config).unwrap();
    let err = stripe.payment(&PaymentId::new("pi_1")).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert!(err.is_retryable());
}

#![cfg(feature = "adyen")]
//! The Adyen adapter over the wire: a loopback server speaking the Checkout API v71 refund format
//! (`X-API-Key`, JSON body, `status: "received"`, `Idempotency-Key` replay, `ServiceError`
//! bodies), with the refund outcomes posted into the adapter as standard notifications (signed
//! with `additionalData.hmacSignature`, verified by `AdyenVerifier`, parsed, applied); the
//! payments conformance suite, a refund failing by webhook, a crash between request and answer,
//! and the error mapping on real responses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use order_agent_adapters::adyen::{
    AdyenConfig, AdyenLedger, AdyenNotification, AdyenPayments, Applied, InMemoryAdyenLedger,
};
use order_agent_adapters::webhooks::adyen::{parse_notification, AdyenVerifier};
use order_agent_adapters::webhooks::{SigningSecrets, WebhookRequest, WebhookVerifier};
use order_agent_core::domain::{PaymentId, RefundState, Tender};
use order_agent_core::ports::{Payments, PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::payments;
use secrecy::SecretString;
use serde_json::{json, Value};

const API_KEY: &str = "AQE_test_mock_key";
const MERCHANT: &str = "ShopECOM";

type Scripted = (u16, Vec<(&'static str, String)>, String);

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Debug, Default)]
struct MockState {
    /// payment pspReference → (captured minor units, currency).
    payments: BTreeMap<String, (i64, String)>,
    /// (payment, refund pspReference, amount, reference).
    refunds: Vec<(String, String, i64, String)>,
    /// Idempotency-Key → (body, answer).
    keys: BTreeMap<String, (Value, Value)>,
    counter: u64,
    received: Vec<Received>,
    scripted: VecDeque<Scripted>,
    /// Process the next refund, then answer only after this delay.
    slow_next: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
struct MockAdyen {
    state: Arc<Mutex<MockState>>,
}

fn service_error(status: u16, code: &str, message: &str, kind: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({
            "status": status,
            "errorCode": code,
            "message": message,
            "errorType": kind,
            "pspReference": "ERR0000000000001",
        })),
    )
        .into_response()
}

impl MockAdyen {
    fn with_payment(self, psp: &str, captured: i64, currency: &str) -> MockAdyen {
        self.state
            .lock()
            .unwrap()
            .payments
            .insert(psp.to_owned(), (captured, currency.to_owned()));
        self
    }

    fn script(&self, status: u16, headers: Vec<(&'static str, String)>, body: &str) {
        self.state
            .lock()
            .unwrap()
            .scripted
            .push_back((status, headers, body.to_owned()));
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    fn refunded(&self, payment: &str) -> i64 {
        self.state
            .lock()
            .unwrap()
            .refunds
            .iter()
            .filter(|r| r.0 == payment)
            .map(|r| r.2)
            .sum()
    }

    /// Adyen's side of a refund that failed: the money was never sent.
    fn fail_refund(&self, psp: &str) {
        self.state.lock().unwrap().refunds.retain(|r| r.1 != psp);
    }

    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v71", listener.local_addr().unwrap());
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let mock = self.clone();
                async move {
                    let (response, delay) = mock.handle(method, uri, headers, body);
                    if let Some(delay) = delay {
                        tokio::time::sleep(delay).await;
                    }
                    response
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn handle(
        &self,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> (Response, Option<Duration>) {
        let mut s = self.state.lock().unwrap();
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        s.received.push(Received {
            path: uri.path().to_owned(),
            headers: headers.clone(),
            body: parsed.clone(),
        });
        if let Some((status, extra, text)) = s.scripted.pop_front() {
            let mut response = (StatusCode::from_u16(status).unwrap(), text).into_response();
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return (response, None);
        }
        if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
            return (
                service_error(
                    401,
                    "000",
                    "HTTP Status Response - Unauthorized",
                    "security",
                ),
                None,
            );
        }
        let path = uri.path();
        let Some(payment) = path
            .strip_prefix("/v71/payments/")
            .and_then(|p| p.strip_suffix("/refunds"))
            .filter(|_| method == Method::POST)
        else {
            return (service_error(404, "000", "Not found", "validation"), None);
        };
        let key = headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(key) = &key {
            if let Some((first, answer)) = s.keys.get(key) {
                if *first == parsed {
                    return (
                        (StatusCode::CREATED, axum::Json(answer.clone())).into_response(),
                        None,
                    );
                }
                return (
                    service_error(
                        422,
                        "704",
                        "request already processed or in progress",
                        "validation",
                    ),
                    None,
                );
            }
        }
        let Some((captured, currency)) = s.payments.get(payment).cloned() else {
            return (
                service_error(
                    422,
                    "167",
                    "Original pspReference required for this operation",
                    "validation",
                ),
                None,
            );
        };
        let value = parsed["amount"]["value"].as_i64().unwrap_or(0);
        if parsed["merchantAccount"] != MERCHANT
            || parsed["amount"]["currency"] != currency.as_str()
        {
            return (
                service_error(422, "000", "Invalid request", "validation"),
                None,
            );
        }
        let refunded: i64 = s
            .refunds
            .iter()
            .filter(|r| r.0 == payment)
            .map(|r| r.2)
            .sum();
        if value <= 0 || value > captured - refunded {
            return (
                service_error(422, "137", "Invalid amount specified", "validation"),
                None,
            );
        }
        s.counter += 1;
        let psp = format!("RFND{:012}", s.counter);
        let reference = parsed["reference"].as_str().unwrap_or_default().to_owned();
        s.refunds
            .push((payment.to_owned(), psp.clone(), value, reference.clone()));
        let answer = json!({
            "merchantAccount": MERCHANT,
            "paymentPspReference": payment,
            "pspReference": psp,
            "reference": reference,
            "status": "received",
            "amount": parsed["amount"],
        });
        if let Some(key) = key {
            s.keys.insert(key, (parsed, answer.clone()));
        }
        let delay = s.slow_next.take();
        (
            (StatusCode::CREATED, axum::Json(answer)).into_response(),
            delay,
        )
    }
}

fn config(url: &str) -> AdyenConfig {
    AdyenConfig::new(SecretString::from(API_KEY), MERCHANT).with_base_url(url)
}

/// A standard notification body as Adyen posts it, read by the webhook parser.
fn notification_body(items: &[Value]) -> Vec<u8> {
    let items: Vec<Value> = items
        .iter()
        .map(|i| json!({ "NotificationRequestItem": i }))
        .collect();
    serde_json::to_vec(&json!({"live": "false", "notificationItems": items})).unwrap()
}

/// The HMAC key of the notification endpoint, hex as the Customer Area shows it.
const HMAC_KEY_HEX: &str = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";

/// One notification item, signed as Adyen signs it (`additionalData.hmacSignature`).
fn item(
    event: &str,
    success: bool,
    psp: &str,
    original: &str,
    reference: &str,
    value: i64,
) -> Value {
    use hmac::Mac as _;
    let success = if success { "true" } else { "false" };
    let signing = format!("{psp}:{original}:{MERCHANT}:{reference}:{value}:CHF:{event}:{success}");
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&hex::decode(HMAC_KEY_HEX).unwrap()).unwrap();
    mac.update(signing.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    json!({
        "eventCode": event,
        "success": success,
        "pspReference": psp,
        "originalReference": original,
        "merchantAccountCode": MERCHANT,
        "merchantReference": reference,
        "amount": {"value": value, "currency": "CHF"},
        "eventDate": "2026-11-26T12:00:00+01:00",
        "paymentMethod": "visa",
        "additionalData": {"hmacSignature": signature},
    })
}

/// What the shop's webhook endpoint does: verify the body, parse its items, apply each.
async fn post_notification(adyen: &AdyenPayments, body: &[u8]) -> Vec<Applied> {
    let verifier =
        AdyenVerifier::new(SigningSecrets::new(SecretString::from(HMAC_KEY_HEX))).unwrap();
    let headers: Vec<(String, String)> = Vec::new();
    verifier
        .verify(&WebhookRequest::new(&headers, body), chrono::Utc::now())
        .unwrap();
    let mut out = Vec::new();
    for item in parse_notification(body).unwrap() {
        out.push(adyen.apply_notification_item(&item).await.unwrap());
    }
    out
}

/// A mock and an adapter whose ledger learnt, by notifications, of payment `PAY_CONFORMANCE`:
/// CHF 100.00 authorised and captured at once, CHF 10.00 refunded in the Customer Area.
async fn setup() -> (MockAdyen, AdyenPayments, Arc<InMemoryAdyenLedger>, String) {
    let mock = MockAdyen::default().with_payment("PAY_CONFORMANCE", 10_000, "CHF");
    mock.state.lock().unwrap().refunds.push((
        "PAY_CONFORMANCE".to_owned(),
        "RFNDMANUAL0001".to_owned(),
        1_000,
        "manual".to_owned(),
    ));
    let url = mock.clone().start().await;
    let ledger = Arc::new(InMemoryAdyenLedger::new());
    let adyen = AdyenPayments::new(config(&url), ledger.clone()).unwrap();
    let body = notification_body(&[
        item(
            "AUTHORISATION",
            true,
            "PAY_CONFORMANCE",
            "",
            "order-1042",
            10_000,
        ),
        item(
            "REFUND",
            true,
            "RFNDMANUAL0001",
            "PAY_CONFORMANCE",
            "manual",
            1_000,
        ),
    ]);
    assert_eq!(
        post_notification(&adyen, &body).await,
        vec![Applied::Changed, Applied::Changed]
    );
    (mock, adyen, ledger, url)
}

fn fixture() -> payments::PaymentsFixture {
    payments::PaymentsFixture {
        run_id: "wire".to_owned(),
        payment: PaymentId::new("PAY_CONFORMANCE"),
        unknown_payment: PaymentId::new("PAY_UNKNOWN"),
    }
}

fn refund_request(key: &str, minor: i64) -> RefundRequest {
    RefundRequest {
        payment_id: PaymentId::new("PAY_CONFORMANCE"),
        amount: Money::from_minor(minor, Currency::CHF),
        idempotency_key: key.to_owned(),
        metadata: BTreeMap::new(),
    }
}

#[tokio::test]
async fn passes_the_payments_conformance_suite() {
    let (mock, adyen, _, _) = setup().await;
    payments::run_all(&adyen, &fixture()).await.unwrap();
    // The suite made five refunds of one minor unit (idempotent, reuse, two ordered, ...) and
    // Adyen saw each once.
    let ours = adyen.refunds(&fixture().payment).await.unwrap();
    let listed: i64 = ours.iter().map(|r| r.amount.to_minor()).sum();
    assert_eq!(mock.refunded("PAY_CONFORMANCE"), listed);
}

/// A deliberately broken ledger: it files every reservation under a fresh key, so it never
/// finds the refund a key already made.
#[derive(Debug, Default)]
struct KeylessLedger {
    inner: InMemoryAdyenLedger,
    calls: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl AdyenLedger for KeylessLedger {
    async fn book(
        &self,
        psp: &str,
    ) -> order_agent_core::ports::PortResult<Option<order_agent_adapters::adyen::AdyenBook>> {
        self.inner.book(psp).await
    }
    async fn reserve(
        &self,
        psp: &str,
        key: &str,
        reference: &str,
        amount: Money,
        now: chrono::DateTime<chrono::Utc>,
    ) -> order_agent_core::ports::PortResult<order_agent_adapters::adyen::Reservation> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner
            .reserve(psp, &format!("{key}#{n}"), reference, amount, now)
            .await
    }
    async fn received(
        &self,
        psp: &str,
        key: &str,
        refund: &str,
    ) -> order_agent_core::ports::PortResult<order_agent_adapters::adyen::AdyenRefundRecord> {
        let n = self.calls.load(std::sync::atomic::Ordering::SeqCst) - 1;
        self.inner
            .received(psp, &format!("{key}#{n}"), refund)
            .await
    }
    async fn release(&self, psp: &str, key: &str) -> order_agent_core::ports::PortResult<()> {
        self.inner.release(psp, key).await
    }
    async fn apply(
        &self,
        n: &AdyenNotification,
        auto_capture: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> order_agent_core::ports::PortResult<Applied> {
        self.inner.apply(n, auto_capture, now).await
    }
}

#[tokio::test]
async fn a_ledger_that_loses_keys_fails_the_suite() {
    let (_, _, _, url) = setup().await;
    let adyen = AdyenPayments::new(config(&url), Arc::new(KeylessLedger::default())).unwrap();
    let body = notification_body(&[item(
        "AUTHORISATION",
        true,
        "PAY_CONFORMANCE",
        "",
        "order-1042",
        10_000,
    )]);
    post_notification(&adyen, &body).await;
    let report = payments::run_all(&adyen, &fixture()).await.unwrap_err();
    assert!(report.failed("payments.refund_is_idempotent"), "{report}");
}

#[tokio::test]
async fn the_outcome_arrives_by_webhook() {
    let (mock, adyen, _, _) = setup().await;
    let id = fixture().payment;
    let refund = adyen
        .refund(&refund_request("return:7", 2_550))
        .await
        .unwrap();
    assert_eq!(refund.state, RefundState::Pending);
    assert_eq!(refund.idempotency_key.as_deref(), Some("return:7"));
    assert!(refund.id.as_str().starts_with("RFND"));
    let before = adyen.payment(&id).await.unwrap().unwrap();
    assert_eq!(before.refunded, Money::from_minor(3_550, Currency::CHF));
    assert_eq!(before.captured, Money::from_minor(10_000, Currency::CHF));
    assert_eq!(before.tender, Tender::Card);

    let reference = mock.received().last().unwrap().body["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = notification_body(&[item(
        "REFUND",
        true,
        refund.id.as_str(),
        "PAY_CONFORMANCE",
        &reference,
        2_550,
    )]);
    assert_eq!(
        post_notification(&adyen, &body).await,
        vec![Applied::Changed]
    );
    // Adyen redelivers until acknowledged; the second delivery changes nothing.
    assert_eq!(
        post_notification(&adyen, &body).await,
        vec![Applied::Duplicate]
    );
    let listed = adyen.refunds(&id).await.unwrap();
    let ours = listed.iter().find(|r| r.id == refund.id).unwrap();
    assert_eq!(ours.state, RefundState::Succeeded);
    assert_eq!(
        listed[0].idempotency_key, None,
        "the Customer Area refund has no key"
    );
    // The same key returns the settled refund without calling Adyen again.
    let posts = mock.received().len();
    let again = adyen
        .refund(&refund_request("return:7", 2_550))
        .await
        .unwrap();
    assert_eq!(again.id, refund.id);
    assert_eq!(again.state, RefundState::Succeeded);
    assert_eq!(mock.received().len(), posts);
}

#[tokio::test]
async fn a_refund_failing_by_webhook_stops_counting() {
    let (mock, adyen, _, _) = setup().await;
    let id = fixture().payment;
    let refund = adyen
        .refund(&refund_request("return:8", 9_000))
        .await
        .unwrap();
    // Everything left is reserved: one more unit is rejected before Adyen is asked.
    let posts = mock.received().len();
    let err = adyen
        .refund(&refund_request("return:9", 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected);
    assert_eq!(mock.received().len(), posts);

    mock.fail_refund(refund.id.as_str());
    let body = notification_body(&[item(
        "REFUND",
        false,
        refund.id.as_str(),
        "PAY_CONFORMANCE",
        "",
        9_000,
    )]);
    post_notification(&adyen, &body).await;
    let listed = adyen.refunds(&id).await.unwrap();
    assert_eq!(
        listed.iter().find(|r| r.id == refund.id).unwrap().state,
        RefundState::Failed
    );
    let payment = adyen.payment(&id).await.unwrap().unwrap();
    assert_eq!(payment.refunded, Money::from_minor(1_000, Currency::CHF));
    // REFUND_FAILED after a success notification fails it too (bank returned it).
    let later = adyen
        .refund(&refund_request("return:10", 500))
        .await
        .unwrap();
    post_notification(
        &adyen,
        &notification_body(&[item(
            "REFUND",
            true,
            later.id.as_str(),
            "PAY_CONFORMANCE",
            "",
            500,
        )]),
    )
    .await;
    post_notification(
        &adyen,
        &notification_body(&[item(
            "REFUND_FAILED",
            true,
            later.id.as_str(),
            "PAY_CONFORMANCE",
            "",
            500,
        )]),
    )
    .await;
    let listed = adyen.refunds(&id).await.unwrap();
    assert_eq!(
        listed.iter().find(|r| r.id == later.id).unwrap().state,
        RefundState::Failed
    );
}

#[tokio::test]
async fn a_crash_between_request_and_answer_refunds_once() {
    let (mock, _, ledger, url) = setup().await;
    let id = fixture().payment;
    // The first process sends the refund; Adyen takes it, but the answer never arrives in time.
    let mut impatient = config(&url);
    impatient.timeout_ms = 200;
    let first = AdyenPayments::new(impatient, ledger.clone()).unwrap();
    mock.state.lock().unwrap().slow_next = Some(Duration::from_secs(2));
    let err = first
        .refund(&refund_request("return:crash", 700))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert_eq!(mock.refunded(id.as_str()), 1_700);
    // Meanwhile the refund counts (pending), so nothing can over-refund.
    let listed = first.refunds(&id).await.unwrap();
    assert_eq!(listed.last().unwrap().state, RefundState::Pending);
    drop(first);

    // A new process with the same ledger retries the same key. A first retry is refused (say the
    // API key was rotated meanwhile): the reservation is kept, since the first attempt went
    // through.
    let second = AdyenPayments::new(config(&url), ledger).unwrap();
    mock.script(
        401,
        vec![],
        r#"{"status":401,"errorCode":"000","message":"HTTP Status Response - Unauthorized","errorType":"security"}"#,
    );
    let err = second
        .refund(&refund_request("return:crash", 700))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(second
        .refunds(&id)
        .await
        .unwrap()
        .iter()
        .any(|r| r.idempotency_key.as_deref() == Some("return:crash")));
    // The next retry gets Adyen's replay of the first answer.
    let refund = second
        .refund(&refund_request("return:crash", 700))
        .await
        .unwrap();
    assert_eq!(mock.refunded(id.as_str()), 1_700, "refunded once");
    assert_eq!(refund.state, RefundState::Pending);
    assert!(refund.id.as_str().starts_with("RFND"));
    let keys: Vec<String> = mock
        .received()
        .iter()
        .filter(|r| r.path.ends_with("/refunds"))
        .map(|r| r.headers["idempotency-key"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, vec!["return:crash", "return:crash", "return:crash"]);
    let listed = second.refunds(&id).await.unwrap();
    assert_eq!(listed.iter().filter(|r| r.id == refund.id).count(), 1);
}

#[tokio::test]
async fn a_webhook_settles_a_refund_whose_answer_was_lost() {
    let (mock, _, ledger, url) = setup().await;
    let mut impatient = config(&url);
    impatient.timeout_ms = 200;
    let adyen = AdyenPayments::new(impatient, ledger).unwrap();
    mock.state.lock().unwrap().slow_next = Some(Duration::from_secs(2));
    adyen
        .refund(&refund_request("return:lost", 300))
        .await
        .unwrap_err();
    let (_, psp, _, reference) = mock.state.lock().unwrap().refunds.last().cloned().unwrap();
    post_notification(
        &adyen,
        &notification_body(&[item(
            "REFUND",
            true,
            &psp,
            "PAY_CONFORMANCE",
            &reference,
            300,
        )]),
    )
    .await;
    let listed = adyen.refunds(&fixture().payment).await.unwrap();
    let settled = listed.last().unwrap();
    assert_eq!(settled.id.as_str(), psp);
    assert_eq!(settled.state, RefundState::Succeeded);
    assert_eq!(settled.idempotency_key.as_deref(), Some("return:lost"));
}

#[tokio::test]
async fn sends_the_documented_refund_request() {
    let (mock, adyen, _, _) = setup().await;
    adyen
        .refund(&refund_request("return:11", 1_990))
        .await
        .unwrap();
    let post = mock.received().pop().unwrap();
    assert_eq!(post.path, "/v71/payments/PAY_CONFORMANCE/refunds");
    assert_eq!(post.headers["x-api-key"], API_KEY);
    assert_eq!(post.headers["idempotency-key"], "return:11");
    assert_eq!(post.headers["content-type"], "application/json");
    assert_eq!(post.body["merchantAccount"], MERCHANT);
    assert_eq!(
        post.body["amount"],
        json!({"value": 1990, "currency": "CHF"})
    );
    assert!(post.body["reference"].as_str().unwrap().starts_with("oa-"));
}

#[tokio::test]
async fn manual_capture_counts_captures_only() {
    let mock = MockAdyen::default().with_payment("PAY_MANUAL", 4_000, "CHF");
    let url = mock.start().await;
    let mut config = config(&url);
    config.auto_capture = false;
    let adyen = AdyenPayments::new(config, Arc::new(InMemoryAdyenLedger::new())).unwrap();
    let id = PaymentId::new("PAY_MANUAL");
    let authorised = AdyenNotification {
        event_code: "AUTHORISATION".to_owned(),
        success: true,
        psp_reference: "PAY_MANUAL".to_owned(),
        original_reference: None,
        merchant_reference: "order-7".to_owned(),
        amount: Some(Money::from_minor(5_000, Currency::CHF)),
        payment_method: None,
    }
    .with_payment_method("twint");
    adyen.apply_notification(&authorised).await.unwrap();
    let payment = adyen.payment(&id).await.unwrap().unwrap();
    assert_eq!(payment.captured, Money::zero(Currency::CHF));
    assert_eq!(payment.tender, Tender::Twint);
    let mut request = refund_request("k", 100);
    request.payment_id = id.clone();
    assert_eq!(
        adyen.refund(&request).await.unwrap_err().kind(),
        PortErrorKind::Rejected
    );
    let body = notification_body(&[item(
        "CAPTURE",
        true,
        "CAPT0001",
        "PAY_MANUAL",
        "order-7",
        4_000,
    )]);
    post_notification(&adyen, &body).await;
    let payment = adyen.payment(&id).await.unwrap().unwrap();
    assert_eq!(payment.captured, Money::from_minor(4_000, Currency::CHF));
    adyen.refund(&request).await.unwrap();
}

#[tokio::test]
async fn maps_vendor_failures_to_port_errors() {
    let (mock, adyen, _, url) = setup().await;
    let id = fixture().payment;

    mock.script(
        429,
        vec![("retry-after", "2".to_owned())],
        r#"{"status":429,"errorCode":"000","message":"Too many requests","errorType":"validation"}"#,
    );
    let err = adyen
        .refund(&refund_request("e:429", 100))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert!(err.is_retryable());

    mock.script(503, vec![], "<html>unavailable</html>");
    let err = adyen
        .refund(&refund_request("e:503", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert!(err.is_retryable());
    // Not refused for good: the reservation stays in flight (and counts) until a retry.
    let listed = adyen.refunds(&id).await.unwrap();
    assert!(listed
        .iter()
        .any(|r| r.idempotency_key.as_deref() == Some("e:503") && r.state == RefundState::Pending));

    mock.script(
        500,
        vec![],
        r#"{"status":500,"errorCode":"901","message":"Internal error","errorType":"internal"}"#,
    );
    let err = adyen
        .refund(&refund_request("e:500", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);

    // Adyen refuses the amount (its books differ from the ledger's): rejected, nothing kept.
    mock.script(
        422,
        vec![],
        r#"{"status":422,"errorCode":"137","message":"Invalid amount specified","errorType":"validation"}"#,
    );
    let err = adyen
        .refund(&refund_request("e:137", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected);
    assert_eq!(err.context_value("adyen_error_code"), Some("137"));
    let listed = adyen.refunds(&id).await.unwrap();
    assert!(!listed
        .iter()
        .any(|r| r.idempotency_key.as_deref() == Some("e:137")));

    mock.script(
        422,
        vec![],
        r#"{"status":422,"errorCode":"704","message":"request already processed or in progress","errorType":"validation"}"#,
    );
    let err = adyen
        .refund(&refund_request("e:704", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Conflict);
    assert!(err.is_retryable());

    mock.script(201, vec![], "{not json");
    let err = adyen
        .refund(&refund_request("e:json", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);

    let wrong = AdyenPayments::new(
        AdyenConfig::new(SecretString::from("AQE_wrong_key"), MERCHANT).with_base_url(&url),
        Arc::new(InMemoryAdyenLedger::new()),
    )
    .unwrap();
    post_notification(
        &wrong,
        &notification_body(&[item(
            "AUTHORISATION",
            true,
            "PAY_CONFORMANCE",
            "",
            "o",
            10_000,
        )]),
    )
    .await;
    let err = wrong
        .refund(&refund_request("e:401", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(!err.to_string().contains("AQE_wrong_key"));
    assert!(!format!("{wrong:?}").contains("AQE_wrong_key"));
    // Refused for good: released, the key is free again.
    assert!(wrong.refunds(&id).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let mut config = config(&url);
    config.timeout_ms = 200;
    let adyen = AdyenPayments::new(config, Arc::new(InMemoryAdyenLedger::new())).unwrap();
    post_notification(
        &adyen,
        &notification_body(&[item(
            "AUTHORISATION",
            true,
            "PAY_CONFORMANCE",
            "",
            "o",
            10_000,
        )]),
    )
    .await;
    let err = adyen.refund(&refund_request("t", 100)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn a_refund_in_flight_beyond_the_idempotency_window_is_not_resent() {
    let mock = MockAdyen::default().with_payment("PAY_CONFORMANCE", 10_000, "CHF");
    let url = mock.clone().start().await;
    let ledger = Arc::new(InMemoryAdyenLedger::new());
    let adyen = AdyenPayments::new(config(&url), ledger.clone()).unwrap();
    let key = "return:week-old";
    let reserved_at = chrono::Utc::now() - chrono::TimeDelta::days(8);
    let authorised = parse_notification(&notification_body(&[item(
        "AUTHORISATION",
        true,
        "PAY_CONFORMANCE",
        "",
        "order-1042",
        10_000,
    )]))
    .unwrap();
    ledger
        .apply(
            &AdyenNotification::from_item(&authorised[0]).unwrap(),
            true,
            reserved_at,
        )
        .await
        .unwrap();
    ledger
        .reserve(
            "PAY_CONFORMANCE",
            key,
            &order_agent_adapters::adyen::requests::reference(key),
            Money::from_minor(400, Currency::CHF),
            reserved_at,
        )
        .await
        .unwrap();
    let err = adyen.refund(&refund_request(key, 400)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Conflict);
    assert!(!err.is_retryable());
    assert_eq!(
        err.context_value("reference"),
        Some(order_agent_adapters::adyen::requests::reference(key).as_str())
    );
    assert!(mock.received().is_empty());
}

#![cfg(feature = "datatrans")]
//! The Datatrans adapter over the wire: a loopback server speaking Datatrans' JSON API as its
//! OpenAPI description documents it (basic auth, `GET /v1/transactions/{id}` with `detail` and
//! `history`, `POST /v1/transactions/{id}/credit` answering the credit's own `transactionId`,
//! `Idempotency-Key` replay, `{"error": {"code", "message"}}` bodies); the payments conformance
//! suite, a crash between request and answer inside and beyond the 60-minute idempotency
//! window, and the error mapping on real responses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use order_agent_adapters::datatrans::{
    requests, CreditRecord, DatatransConfig, DatatransLedger, DatatransPayments,
    InMemoryDatatransLedger, Reservation,
};
use order_agent_core::domain::{PaymentId, RefundState, Tender};
use order_agent_core::ports::{Payments, PortErrorKind, PortResult, RefundRequest};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::payments;
use secrecy::SecretString;
use serde_json::{json, Value};

const MERCHANT: &str = "1100012345";
const PASSWORD: &str = "dt-secret-pw";
const PAYMENT: &str = "240710141415958252";
const UNKNOWN: &str = "240710000000000404";

type Scripted = (u16, Vec<(&'static str, String)>, String);

#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: HeaderMap,
    body: Value,
}

#[derive(Debug, Clone)]
struct Transaction {
    kind: &'static str,
    status: &'static str,
    currency: String,
    method: &'static str,
    refno: String,
    settled: i64,
    /// (amount, success) of each credit action.
    credits: Vec<(i64, bool)>,
}

#[derive(Debug, Default)]
struct MockState {
    transactions: BTreeMap<String, Transaction>,
    keys: BTreeMap<String, (Value, Value)>,
    counter: u64,
    received: Vec<Received>,
    scripted: VecDeque<Scripted>,
    slow_next: Option<Duration>,
}

#[derive(Debug, Clone, Default)]
struct MockDatatrans {
    state: Arc<Mutex<MockState>>,
}

fn dt_error(status: u16, code: &str, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

impl MockDatatrans {
    fn with_payment(
        self,
        id: &str,
        settled: i64,
        method: &'static str,
        credits: &[(i64, bool)],
    ) -> Self {
        self.state.lock().unwrap().transactions.insert(
            id.to_owned(),
            Transaction {
                kind: "payment",
                status: "settled",
                currency: "CHF".to_owned(),
                method,
                refno: "order-1042".to_owned(),
                settled,
                credits: credits.to_vec(),
            },
        );
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

    fn credited(&self, id: &str) -> i64 {
        self.state.lock().unwrap().transactions[id]
            .credits
            .iter()
            .filter(|c| c.1)
            .map(|c| c.0)
            .sum()
    }

    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
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
            method: method.to_string(),
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
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{MERCHANT}:{PASSWORD}"))
        );
        if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return (dt_error(401, "UNAUTHORIZED", "authentication failed"), None);
        }
        let rest = uri.path().strip_prefix("/v1/transactions/").unwrap_or("");
        match (method.as_str(), rest.split_once('/')) {
            ("GET", None) if rest.len() != 18 => (
                dt_error(
                    400,
                    "INVALID_PROPERTY",
                    "status transactionId length must be 18 digits",
                ),
                None,
            ),
            ("GET", None) => match s.transactions.get(rest) {
                Some(t) => {
                    let mut history = vec![
                        json!({"action": "authorize", "amount": t.settled, "source": "api", "date": "2024-07-10T12:14:20Z", "success": true}),
                    ];
                    if t.settled > 0 {
                        history.push(json!({"action": "settle", "amount": t.settled, "source": "api", "date": "2024-07-10T12:15:00Z", "success": true}));
                    }
                    for (amount, success) in &t.credits {
                        history.push(json!({"action": "credit", "amount": amount, "source": "api", "date": "2024-07-11T08:00:00Z", "success": success}));
                    }
                    let mut detail = json!({"authorize": {"amount": t.settled}});
                    if t.kind == "payment" {
                        detail["settle"] = json!({"amount": t.settled});
                    } else {
                        detail["credit"] = json!({"amount": t.settled});
                    }
                    (
                        axum::Json(json!({
                            "transactionId": rest,
                            "merchantId": MERCHANT,
                            "type": t.kind,
                            "status": t.status,
                            "currency": t.currency,
                            "refno": t.refno,
                            "paymentMethod": t.method,
                            "detail": detail,
                            "history": history,
                        }))
                        .into_response(),
                        None,
                    )
                }
                None => (
                    dt_error(404, "TRANSACTION_NOT_FOUND", "transaction not found"),
                    None,
                ),
            },
            ("POST", Some((id, "credit"))) => {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if let Some(key) = &key {
                    if let Some((first, answer)) = s.keys.get(key) {
                        return if *first == parsed {
                            (axum::Json(answer.clone()).into_response(), None)
                        } else {
                            ((StatusCode::UNPROCESSABLE_ENTITY, "").into_response(), None)
                        };
                    }
                }
                let Some(t) = s.transactions.get(id).cloned() else {
                    return (
                        dt_error(404, "TRANSACTION_NOT_FOUND", "transaction not found"),
                        None,
                    );
                };
                let refno = parsed["refno"].as_str().unwrap_or_default().to_owned();
                if parsed["currency"] != t.currency.as_str() || refno.is_empty() || refno.len() > 40
                {
                    return (
                        dt_error(400, "INVALID_PROPERTY", "credit.refno or currency invalid"),
                        None,
                    );
                }
                if t.kind != "payment" || t.status != "settled" {
                    return (
                        dt_error(
                            400,
                            "INVALID_TRANSACTION_STATUS",
                            "the transaction cannot be credited",
                        ),
                        None,
                    );
                }
                let amount = parsed["amount"].as_i64().unwrap_or(0);
                let credited: i64 = t.credits.iter().filter(|c| c.1).map(|c| c.0).sum();
                if amount <= 0 || amount > t.settled - credited {
                    return (
                        dt_error(
                            400,
                            "INVALID_PROPERTY",
                            "credit.amount exceeds the settled amount",
                        ),
                        None,
                    );
                }
                s.counter += 1;
                let credit_id = format!("2407111000000{:05}", s.counter);
                s.transactions
                    .get_mut(id)
                    .unwrap()
                    .credits
                    .push((amount, true));
                s.transactions.insert(
                    credit_id.clone(),
                    Transaction {
                        kind: "credit",
                        status: "settled",
                        currency: t.currency.clone(),
                        method: t.method,
                        refno,
                        settled: amount,
                        credits: Vec::new(),
                    },
                );
                let answer =
                    json!({"transactionId": credit_id, "acquirerAuthorizationCode": "141416"});
                if let Some(key) = key {
                    s.keys.insert(key, (parsed, answer.clone()));
                }
                let delay = s.slow_next.take();
                (axum::Json(answer).into_response(), delay)
            }
            _ => (dt_error(404, "CLIENT_ERROR", "no such endpoint"), None),
        }
    }
}

fn config(url: &str) -> DatatransConfig {
    DatatransConfig::new(MERCHANT, SecretString::from(PASSWORD)).with_base_url(url)
}

fn conformance_mock() -> MockDatatrans {
    MockDatatrans::default().with_payment(PAYMENT, 10_000, "VIS", &[(1_000, true), (500, false)])
}

fn fixture() -> payments::PaymentsFixture {
    payments::PaymentsFixture {
        run_id: "wire".to_owned(),
        payment: PaymentId::new(PAYMENT),
        unknown_payment: PaymentId::new(UNKNOWN),
    }
}

fn refund_request(key: &str, minor: i64) -> RefundRequest {
    RefundRequest {
        payment_id: PaymentId::new(PAYMENT),
        amount: Money::from_minor(minor, Currency::CHF),
        idempotency_key: key.to_owned(),
        metadata: BTreeMap::new(),
    }
}

fn adapter(url: &str) -> DatatransPayments {
    DatatransPayments::new(config(url), Arc::new(InMemoryDatatransLedger::new())).unwrap()
}

#[tokio::test]
async fn passes_the_payments_conformance_suite() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let datatrans = adapter(&url);
    payments::run_all(&datatrans, &fixture()).await.unwrap();
    let listed: i64 = datatrans
        .refunds(&fixture().payment)
        .await
        .unwrap()
        .iter()
        .map(|r| r.amount.to_minor())
        .sum();
    assert_eq!(
        mock.credited(PAYMENT),
        1_000 + listed,
        "each refund credited once"
    );
}

/// A deliberately broken ledger: it files every reservation under a fresh key.
#[derive(Debug, Default)]
struct KeylessLedger {
    inner: InMemoryDatatransLedger,
    calls: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl DatatransLedger for KeylessLedger {
    async fn reserve(
        &self,
        mut record: CreditRecord,
        refundable: Money,
    ) -> PortResult<Reservation> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        record.idempotency_key = format!("{}#{n}", record.idempotency_key);
        self.inner.reserve(record, refundable).await
    }
    async fn confirm(&self, key: &str, transaction_id: &str) -> PortResult<CreditRecord> {
        let n = self.calls.load(std::sync::atomic::Ordering::SeqCst) - 1;
        self.inner
            .confirm(&format!("{key}#{n}"), transaction_id)
            .await
    }
    async fn release(&self, key: &str) -> PortResult<()> {
        self.inner.release(key).await
    }
    async fn credits(&self, payment_id: &str) -> PortResult<Vec<CreditRecord>> {
        self.inner.credits(payment_id).await
    }
}

#[tokio::test]
async fn a_ledger_that_loses_keys_fails_the_suite() {
    let url = conformance_mock().start().await;
    let broken = DatatransPayments::new(config(&url), Arc::new(KeylessLedger::default())).unwrap();
    let report = payments::run_all(&broken, &fixture()).await.unwrap_err();
    assert!(report.failed("payments.refund_is_idempotent"), "{report}");
}

#[tokio::test]
async fn reads_settled_and_credited_amounts_and_twint() {
    let mock = conformance_mock().with_payment("240710141400000001", 4_990, "TWI", &[]);
    let url = mock.clone().start().await;
    let datatrans = adapter(&url);
    let payment = datatrans
        .payment(&fixture().payment)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.captured, Money::from_minor(10_000, Currency::CHF));
    // The failed credit does not count.
    assert_eq!(payment.refunded, Money::from_minor(1_000, Currency::CHF));
    assert_eq!(payment.tender, Tender::Card);
    let twint = datatrans
        .payment(&PaymentId::new("240710141400000001"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(twint.tender, Tender::Twint);
    assert_eq!(twint.refunded, Money::zero(Currency::CHF));
    // An id Datatrans calls invalid names no transaction.
    assert!(datatrans
        .payment(&PaymentId::new("12345"))
        .await
        .unwrap()
        .is_none());
    // Not digits: unknown without asking Datatrans.
    let before = mock.received().len();
    assert!(datatrans
        .payment(&PaymentId::new("pi_123"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(mock.received().len(), before);
}

#[tokio::test]
async fn a_credit_is_its_own_transaction_and_settles() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let datatrans = adapter(&url);
    let refund = datatrans
        .refund(&refund_request("return:7", 2_550))
        .await
        .unwrap();
    assert_eq!(refund.state, RefundState::Pending);
    assert_eq!(refund.idempotency_key.as_deref(), Some("return:7"));
    assert!(requests::is_transaction_id(refund.id.as_str()));
    let listed = datatrans.refunds(&fixture().payment).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, refund.id);
    assert_eq!(
        listed[0].state,
        RefundState::Succeeded,
        "read from the credit's status"
    );
    // A credit is not a payment.
    assert!(datatrans
        .payment(&PaymentId::new(refund.id.as_str()))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn sends_the_documented_credit_request() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    adapter(&url)
        .refund(&refund_request("return:11", 1_990))
        .await
        .unwrap();
    let post = mock
        .received()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(post.path, format!("/v1/transactions/{PAYMENT}/credit"));
    assert_eq!(post.headers["idempotency-key"], "return:11");
    assert_eq!(post.headers["content-type"], "application/json");
    assert_eq!(post.body["amount"], 1990);
    assert_eq!(post.body["currency"], "CHF");
    assert_eq!(post.body["refno"], requests::refno("return:11"));
}

#[tokio::test]
async fn a_crash_between_request_and_answer_credits_once() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let ledger = Arc::new(InMemoryDatatransLedger::new());
    let mut impatient = config(&url);
    impatient.timeout_ms = 200;
    let first = DatatransPayments::new(impatient, ledger.clone()).unwrap();
    mock.state.lock().unwrap().slow_next = Some(Duration::from_secs(2));
    let err = first
        .refund(&refund_request("return:crash", 700))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert_eq!(mock.credited(PAYMENT), 1_700);
    let listed = first.refunds(&fixture().payment).await.unwrap();
    assert_eq!(listed[0].state, RefundState::Pending);
    assert_eq!(listed[0].id.as_str(), requests::refno("return:crash"));
    drop(first);

    let second = DatatransPayments::new(config(&url), ledger).unwrap();
    let refund = second
        .refund(&refund_request("return:crash", 700))
        .await
        .unwrap();
    assert_eq!(mock.credited(PAYMENT), 1_700, "credited once");
    assert!(requests::is_transaction_id(refund.id.as_str()));
    let posts: Vec<Received> = mock
        .received()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].body, posts[1].body);
    assert_eq!(
        posts[0].headers["idempotency-key"],
        posts[1].headers["idempotency-key"]
    );
}

/// Reserves `key` as if a process had sent it `age` ago and crashed before the answer.
async fn stale_reservation(
    ledger: &InMemoryDatatransLedger,
    key: &str,
    minor: i64,
    credited_before: i64,
) {
    let record = CreditRecord {
        payment_id: PAYMENT.to_owned(),
        idempotency_key: key.to_owned(),
        refno: requests::refno(key),
        amount: Money::from_minor(minor, Currency::CHF),
        transaction_id: None,
        credited_before: Money::from_minor(credited_before, Currency::CHF),
        created_at: chrono::Utc::now() - chrono::TimeDelta::hours(2),
    };
    ledger
        .reserve(record, Money::from_minor(9_000, Currency::CHF))
        .await
        .unwrap();
}

#[tokio::test]
async fn beyond_the_idempotency_window_a_landed_credit_is_not_sent_again() {
    // The credit landed two hours ago (Datatrans shows it), the answer was lost, and Datatrans
    // has forgotten the key: the adapter must not credit again.
    let mock = MockDatatrans::default().with_payment(
        PAYMENT,
        10_000,
        "VIS",
        &[(1_000, true), (700, true)],
    );
    let url = mock.clone().start().await;
    let ledger = Arc::new(InMemoryDatatransLedger::new());
    stale_reservation(&ledger, "return:old", 700, 1_000).await;
    let datatrans = DatatransPayments::new(config(&url), ledger).unwrap();
    let err = datatrans
        .refund(&refund_request("return:old", 700))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Conflict);
    assert!(!err.is_retryable());
    assert_eq!(
        err.context_value("refno"),
        Some(requests::refno("return:old").as_str())
    );
    assert!(!mock.received().iter().any(|r| r.method == "POST"));
}

#[tokio::test]
async fn beyond_the_idempotency_window_a_credit_that_never_landed_is_sent() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let ledger = Arc::new(InMemoryDatatransLedger::new());
    stale_reservation(&ledger, "return:never", 700, 1_000).await;
    let datatrans = DatatransPayments::new(config(&url), ledger).unwrap();
    datatrans
        .refund(&refund_request("return:never", 700))
        .await
        .unwrap();
    assert_eq!(mock.credited(PAYMENT), 1_700);
}

#[tokio::test]
async fn maps_vendor_failures_to_port_errors() {
    let mock = conformance_mock();
    let url = mock.clone().start().await;
    let datatrans = adapter(&url);
    let id = fixture().payment;
    let status = r#"{"transactionId":"240710141415958252","type":"payment","status":"settled","currency":"CHF","paymentMethod":"VIS","detail":{"settle":{"amount":10000}},"history":[]}"#;

    mock.script(429, vec![("retry-after", "2".to_owned())], "");
    let err = datatrans.payment(&id).await.unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert!(err.is_retryable());

    mock.script(503, vec![], "<html>maintenance</html>");
    let err = datatrans.payment(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);

    mock.script(200, vec![], status);
    mock.script(
        500,
        vec![],
        r#"{"error":{"code":"UNKNOWN_ERROR","message":"unknown error"}}"#,
    );
    let err = datatrans
        .refund(&refund_request("e:500", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);
    assert!(err.is_retryable());
    // Unknown outcome: the reservation stays (pending) for the retry.
    assert!(datatrans
        .refunds(&id)
        .await
        .unwrap()
        .iter()
        .any(|r| r.idempotency_key.as_deref() == Some("e:500")));

    mock.script(200, vec![], status);
    mock.script(400, vec![], r#"{"error":{"code":"INVALID_TRANSACTION_STATUS","message":"the transaction cannot be credited"}}"#);
    let err = datatrans
        .refund(&refund_request("e:status", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected);
    assert_eq!(
        err.context_value("datatrans_code"),
        Some("INVALID_TRANSACTION_STATUS")
    );
    assert!(!datatrans
        .refunds(&id)
        .await
        .unwrap()
        .iter()
        .any(|r| r.idempotency_key.as_deref() == Some("e:status")));

    mock.script(200, vec![], status);
    mock.script(409, vec![], "");
    let err = datatrans
        .refund(&refund_request("e:409", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Conflict);
    assert!(err.is_retryable());

    mock.script(200, vec![], status);
    mock.script(200, vec![], "{not json");
    let err = datatrans
        .refund(&refund_request("e:json", 100))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);

    mock.script(200, vec![], "{not json");
    let err = datatrans.payment(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);

    let wrong = DatatransPayments::new(
        DatatransConfig::new(MERCHANT, SecretString::from("wrong-pw-123")).with_base_url(&url),
        Arc::new(InMemoryDatatransLedger::new()),
    )
    .unwrap();
    let err = wrong.payment(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(!err.to_string().contains("wrong-pw-123"));
    assert!(!format!("{wrong:?}").contains("wrong-pw-123"));
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
    let datatrans =
        DatatransPayments::new(config, Arc::new(InMemoryDatatransLedger::new())).unwrap();
    let err = datatrans.payment(&fixture().payment).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert!(err.is_retryable());
}

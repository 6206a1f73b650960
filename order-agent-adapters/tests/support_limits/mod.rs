//! Loopback vendors that enforce their published rate limits, and the load scenarios that drive
//! the real adapters against them; shared by `tests/rate_limit_load.rs` and
//! `benches/rate_limits.rs`.
//!
//! - [`EnforcingStripe`] speaks just enough of Stripe's REST format for the adapter's `payment`
//!   and `refund` (payment intents, the refund list, refund creation) and refuses, with HTTP 429
//!   and Stripe's `rate_limit` error body, any request beyond `per_second` in a sliding
//!   one-second window (stricter than a bucket whose burst is one second's worth: no window ever
//!   admits more). The window is per endpoint, or per account for reads and for writes.
//! - [`EnforcingShopify`] answers the GraphQL Admin endpoint from a cost bucket (size and
//!   restore rate configurable) with `extensions.cost` and refuses a query costing more than the
//!   bucket holds with `THROTTLED`.
//!
//! Both log every request with its time since the server started, so a run splits its refusals
//! into the warm-up (the first second) and the steady state.
// Shared by the test (the Stripe half) and the bench (all of it).
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, VecDeque};
use std::error::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use order_agent_adapters::resilience::{RateLimitConfig, ResilienceConfig, ResilienceLayer};
use order_agent_adapters::shopify::{Shopify, ShopifyConfig, ShopifyPlan};
use order_agent_adapters::stripe::{StripeConfig, StripePayments};
use order_agent_core::domain::{Channel, ContactPoint, PaymentId};
use order_agent_core::ports::{Oms, Payments, RefundRequest};
use order_agent_core::{Currency, Money};
use secrecy::SecretString;
use serde_json::{json, Value};

/// Errors of the harness itself (binding, a server that went away).
pub type HarnessResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// The first second of a run: buckets start full and clients learn the vendor's state.
pub const WARM_UP: Duration = Duration::from_secs(1);

const WINDOW: Duration = Duration::from_secs(1);

/// One request a server saw.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Since the server started.
    pub at: Duration,
    /// `GET /v1/payment_intents/:id`, `POST /v1/refunds`, a GraphQL operation name.
    pub endpoint: String,
    /// Shopify: the query's cost; Stripe: 1.
    pub cost: u32,
    /// Answered 429 or `THROTTLED`.
    pub refused: bool,
}

/// What a server saw, split at [`WARM_UP`].
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Requests in all.
    pub requests: u64,
    /// Refused in the first second.
    pub refused_warm_up: u64,
    /// Refused after it.
    pub refused_steady: u64,
    /// Admitted requests per second after the warm-up, per endpoint.
    pub admitted_per_second: BTreeMap<String, f64>,
    /// Admitted cost per second after the warm-up, all endpoints.
    pub admitted_cost_per_second: f64,
}

impl Tally {
    fn of(hits: &[Hit], until: Duration) -> Tally {
        let steady_seconds = until
            .saturating_sub(WARM_UP)
            .as_secs_f64()
            .max(f64::EPSILON);
        let mut tally = Tally::default();
        let mut cost = 0u64;
        for hit in hits.iter().filter(|h| h.at < until) {
            tally.requests += 1;
            match (hit.refused, hit.at < WARM_UP) {
                (true, true) => tally.refused_warm_up += 1,
                (true, false) => tally.refused_steady += 1,
                (false, false) => {
                    *tally
                        .admitted_per_second
                        .entry(hit.endpoint.clone())
                        .or_default() += 1.0 / steady_seconds;
                    cost += u64::from(hit.cost);
                }
                (false, true) => {}
            }
        }
        tally.admitted_cost_per_second = cost as f64 / steady_seconds;
        tally
    }

    /// The busiest endpoint's admitted rate after the warm-up.
    pub fn busiest_per_second(&self) -> f64 {
        self.admitted_per_second
            .values()
            .copied()
            .fold(0.0, f64::max)
    }

    /// All admitted requests per second after the warm-up.
    pub fn total_per_second(&self) -> f64 {
        self.admitted_per_second.values().sum()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn serve<F>(handler: F) -> HarnessResult<String>
where
    F: Fn(Method, Uri, Bytes) -> Response + Clone + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
        let handler = handler.clone();
        async move { handler(method, uri, body) }
    });
    tokio::spawn(async move {
        // A loopback server for one run: when it fails, the run's requests fail and show it.
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// Which requests share one window at Stripe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StripeScope {
    /// Each method and path (ids elided) has its own window.
    PerEndpoint,
    /// One window for the account's reads (GET) and one for its writes (POST), as Stripe
    /// documents its basic limiter.
    ReadsAndWrites,
}

#[derive(Debug)]
struct StripeState {
    started: Instant,
    windows: BTreeMap<String, VecDeque<Instant>>,
    hits: Vec<Hit>,
    next_refund: u64,
}

/// A loopback Stripe that enforces `per_second` requests in any one-second window.
#[derive(Debug, Clone)]
pub struct EnforcingStripe {
    per_second: usize,
    scope: StripeScope,
    retry_after_seconds: Option<u32>,
    state: Arc<Mutex<StripeState>>,
}

impl EnforcingStripe {
    /// A server admitting `per_second` requests per window in `scope`, answering 429 beyond,
    /// with `Retry-After` when given (Stripe itself sends none).
    pub fn new(
        per_second: usize,
        scope: StripeScope,
        retry_after_seconds: Option<u32>,
    ) -> EnforcingStripe {
        EnforcingStripe {
            per_second,
            scope,
            retry_after_seconds,
            state: Arc::new(Mutex::new(StripeState {
                started: Instant::now(),
                windows: BTreeMap::new(),
                hits: Vec::new(),
                next_refund: 0,
            })),
        }
    }

    /// Starts serving on loopback and restarts the clock; answers the base URL.
    pub async fn start(&self) -> HarnessResult<String> {
        let server = self.clone();
        let url = serve(move |method, uri, body| server.handle(&method, &uri, &body)).await?;
        lock(&self.state).started = Instant::now();
        Ok(url)
    }

    /// What the server saw before `until` (since it started).
    pub fn tally(&self, until: Duration) -> Tally {
        Tally::of(&lock(&self.state).hits, until)
    }

    fn handle(&self, method: &Method, uri: &Uri, body: &[u8]) -> Response {
        let path = uri.path();
        let endpoint = match (method.as_str(), path) {
            ("GET", p) if p.starts_with("/v1/payment_intents/") => "GET /v1/payment_intents/:id",
            ("GET", "/v1/refunds") => "GET /v1/refunds",
            ("POST", "/v1/refunds") => "POST /v1/refunds",
            _ => return stripe_error(StatusCode::NOT_FOUND, "resource_missing", "no such route"),
        };
        let window_key = match self.scope {
            StripeScope::PerEndpoint => endpoint,
            StripeScope::ReadsAndWrites if *method == Method::GET => "reads",
            StripeScope::ReadsAndWrites => "writes",
        };
        let mut state = lock(&self.state);
        let now = Instant::now();
        let at = now.saturating_duration_since(state.started);
        let window = state.windows.entry(window_key.to_owned()).or_default();
        while window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        let refused = window.len() >= self.per_second;
        if !refused {
            window.push_back(now);
        }
        state.hits.push(Hit {
            at,
            endpoint: endpoint.to_owned(),
            cost: 1,
            refused,
        });
        if refused {
            let mut response = stripe_error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit",
                "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
            );
            if let Some(seconds) = self.retry_after_seconds {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(seconds));
            }
            return response;
        }
        match endpoint {
            "GET /v1/payment_intents/:id" => {
                let id = path.trim_start_matches("/v1/payment_intents/");
                ok(json!({
                    "id": id,
                    "object": "payment_intent",
                    "amount_received": 10_000,
                    "currency": "chf",
                    "payment_method_types": ["card"],
                    "status": "succeeded",
                }))
            }
            "GET /v1/refunds" => ok(json!({
                "object": "list",
                "url": "/v1/refunds",
                "data": [],
                "has_more": false,
            })),
            _ => {
                state.next_refund += 1;
                let form = decode_form(body);
                let field = |name: &str| form.get(name).cloned().unwrap_or_default();
                let amount: i64 = field("amount").parse().unwrap_or(0);
                ok(json!({
                    "id": format!("re_{}", state.next_refund),
                    "object": "refund",
                    "amount": amount,
                    "currency": "chf",
                    "status": "succeeded",
                    "created": 1_764_000_000,
                    "metadata": {"intent": field("metadata[intent]")},
                    "payment_intent": field("payment_intent"),
                }))
            }
        }
    }
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn stripe_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        json!({"error": {"type": "invalid_request_error", "code": code, "message": message}});
    (status, [("request-id", "req_limits")], axum::Json(body)).into_response()
}

fn decode_form(body: &[u8]) -> BTreeMap<String, String> {
    fn unescape(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'%', Some(byte)) => {
                    out.push(byte);
                    i += 3;
                }
                (b'+', _) => {
                    out.push(b' ');
                    i += 1;
                }
                (byte, _) => {
                    out.push(byte);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

/// One Stripe load run.
#[derive(Debug, Clone)]
pub struct StripeScenario {
    /// The server's limit per window.
    pub per_second: usize,
    /// What shares a window.
    pub scope: StripeScope,
    /// `Retry-After` on 429s.
    pub retry_after_seconds: Option<u32>,
    /// The client's limiter; none for the control.
    pub limiter: Option<RateLimitConfig>,
    /// Concurrent callers, each alternating `refund` and `payment`.
    pub callers: usize,
    /// How long they call.
    pub duration: Duration,
}

/// What a run achieved.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Port calls that succeeded before the end.
    pub calls_ok: u64,
    /// Port calls that failed (after the layer's retries).
    pub calls_failed: u64,
    /// The run's length.
    pub duration: Duration,
    /// What the server saw.
    pub server: Tally,
}

impl Outcome {
    /// Successful port calls per second.
    pub fn calls_per_second(&self) -> f64 {
        self.calls_ok as f64 / self.duration.as_secs_f64()
    }
}

#[derive(Debug, Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
}

/// Runs `callers` tasks of `call(caller, n)` for `duration`, then stops them mid-call.
async fn drive<F, Fut>(callers: usize, duration: Duration, call: F) -> Arc<Counters>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let counters = Arc::new(Counters::default());
    let tasks: Vec<_> = (0..callers)
        .map(|caller| {
            let counters = counters.clone();
            let call = call.clone();
            tokio::spawn(async move {
                for n in 0.. {
                    let counter = if call(caller, n).await {
                        &counters.ok
                    } else {
                        &counters.failed
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    for task in &tasks {
        task.abort();
    }
    for task in tasks {
        let _ = task.await;
    }
    counters
}

fn layer(limiter: Option<RateLimitConfig>) -> HarnessResult<ResilienceLayer> {
    Ok(ResilienceLayer::new(ResilienceConfig {
        rate_limit: limiter,
        ..ResilienceConfig::default()
    })?)
}

/// Drives the Stripe adapter behind a [`ResilienceLayer`] against an [`EnforcingStripe`].
pub async fn run_stripe(scenario: &StripeScenario) -> HarnessResult<Outcome> {
    let server = EnforcingStripe::new(
        scenario.per_second,
        scenario.scope,
        scenario.retry_after_seconds,
    );
    let url = server.start().await?;
    let adapter = StripePayments::new(
        StripeConfig::new(SecretString::from("sk_test_limits")).with_base_url(url),
    )?;
    let payments = Arc::new(layer(scenario.limiter.clone())?.wrap(adapter));
    let counters = drive(scenario.callers, scenario.duration, move |caller, n| {
        let payments = payments.clone();
        async move {
            let id = PaymentId::new(format!("pi_{caller}"));
            if n % 2 == 0 {
                let request = RefundRequest {
                    payment_id: id,
                    amount: Money::from_minor(100, Currency::CHF),
                    idempotency_key: format!("limits-{caller}-{n}"),
                    metadata: BTreeMap::new(),
                };
                payments.refund(&request).await.is_ok()
            } else {
                payments.payment(&id).await.is_ok()
            }
        }
    })
    .await;
    Ok(Outcome {
        calls_ok: counters.ok.load(Ordering::Relaxed),
        calls_failed: counters.failed.load(Ordering::Relaxed),
        duration: scenario.duration,
        server: server.tally(scenario.duration),
    })
}

#[derive(Debug)]
struct ShopifyState {
    started: Instant,
    available: f64,
    at: Instant,
    hits: Vec<Hit>,
}

/// A loopback Shopify GraphQL Admin endpoint with a cost bucket.
#[derive(Debug, Clone)]
pub struct EnforcingShopify {
    bucket_size: f64,
    restore_per_second: f64,
    report_cost: bool,
    state: Arc<Mutex<ShopifyState>>,
}

impl EnforcingShopify {
    /// A full bucket of `bucket_size` points restored at `restore_per_second`; `report_cost`
    /// false leaves `extensions.cost` out of every answer, so a client cannot learn the bucket.
    pub fn new(bucket_size: f64, restore_per_second: f64, report_cost: bool) -> EnforcingShopify {
        let now = Instant::now();
        EnforcingShopify {
            bucket_size,
            restore_per_second,
            report_cost,
            state: Arc::new(Mutex::new(ShopifyState {
                started: now,
                available: bucket_size,
                at: now,
                hits: Vec::new(),
            })),
        }
    }

    /// Starts serving on loopback with a full bucket; answers the base URL.
    pub async fn start(&self) -> HarnessResult<String> {
        let server = self.clone();
        let url = serve(move |_method, _uri, body| server.handle(&body)).await?;
        let mut state = lock(&self.state);
        let now = Instant::now();
        state.started = now;
        state.at = now;
        state.available = self.bucket_size;
        Ok(url)
    }

    /// What the server saw before `until` (since it started).
    pub fn tally(&self, until: Duration) -> Tally {
        Tally::of(&lock(&self.state).hits, until)
    }

    fn handle(&self, body: &[u8]) -> Response {
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let name = request["operationName"].as_str().unwrap_or("").to_owned();
        // Shopify computes the cost from the query; these are the adapter's documents'.
        let cost: u32 = match name.as_str() {
            "CustomerById" => 5,
            "CustomersByContact" => 20,
            _ => 10,
        };
        let mut state = lock(&self.state);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(state.at).as_secs_f64();
        state.available =
            (state.available + elapsed * self.restore_per_second).min(self.bucket_size);
        state.at = now;
        let at = now.saturating_duration_since(state.started);
        let refused = f64::from(cost) > state.available;
        if !refused {
            state.available -= f64::from(cost);
        }
        state.hits.push(Hit {
            at,
            endpoint: name.clone(),
            cost,
            refused,
        });
        let throttle_status = json!({
            "maximumAvailable": self.bucket_size,
            "currentlyAvailable": state.available,
            "restoreRate": self.restore_per_second,
        });
        let mut answer = if refused {
            json!({"errors": [{
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
            }]})
        } else {
            json!({"data": {"customers": {"nodes": []}, "customer": null}})
        };
        if self.report_cost {
            answer["extensions"] = json!({"cost": {
                "requestedQueryCost": cost,
                "actualQueryCost": if refused { Value::Null } else { json!(cost) },
                "throttleStatus": throttle_status,
            }});
        }
        ok(answer)
    }
}

/// One Shopify load run.
#[derive(Debug, Clone)]
pub struct ShopifyScenario {
    /// The server's bucket, points.
    pub bucket_size: f64,
    /// The server's restore rate, points per second.
    pub restore_per_second: f64,
    /// With the adapter's cost bucket learning from `extensions.cost`; without, the adapter
    /// believes in a Plus bucket and the server reports no cost, so it never waits.
    pub client_bucket: bool,
    /// Concurrent callers of `customer_by_contact` (20 points each).
    pub callers: usize,
    /// How long they call.
    pub duration: Duration,
}

/// Drives the Shopify adapter (behind a [`ResilienceLayer`] for its retries, without a request
/// rate limit) against an [`EnforcingShopify`].
pub async fn run_shopify(scenario: &ShopifyScenario) -> HarnessResult<Outcome> {
    let server = EnforcingShopify::new(
        scenario.bucket_size,
        scenario.restore_per_second,
        scenario.client_bucket,
    );
    let url = server.start().await?;
    let plan = if scenario.client_bucket {
        ShopifyPlan::Standard
    } else {
        ShopifyPlan::Plus
    };
    let adapter =
        Shopify::new(ShopifyConfig::new(url, SecretString::from("shpat_limits")).with_plan(plan))?;
    let oms = Arc::new(layer(None)?.wrap(adapter));
    let counters = drive(scenario.callers, scenario.duration, move |caller, n| {
        let oms = oms.clone();
        async move {
            let contact = ContactPoint {
                channel: Channel::Email,
                address: format!("buyer-{caller}-{n}@example.com"),
            };
            oms.customer_by_contact(&contact).await.is_ok()
        }
    })
    .await;
    Ok(Outcome {
        calls_ok: counters.ok.load(Ordering::Relaxed),
        calls_failed: counters.failed.load(Ordering::Relaxed),
        duration: scenario.duration,
        server: server.tally(scenario.duration),
    })
}

//! Timeouts, retries, rate limiting and circuit breaking as wrappers around any port, in the
//! style of a tower `Layer`: a [`ResilienceLayer`] holds what one vendor account shares (its rate
//! limiter and its circuit breaker) and [`wrap`](ResilienceLayer::wrap)s ports into
//! [`Resilient`] ports that implement the same trait. Adapters stay free of this logic.
//!
//! Each call through a [`Resilient`] port:
//! 1. fails fast with [`Unavailable`](PortErrorKind::Unavailable) while the circuit is open, so the
//!    agent escalates "system unavailable" instead of waiting or guessing;
//! 2. waits for a token of the account's rate limiter (a token bucket at a share, 80% by default,
//!    of the vendor's published limit, which also never grants more than that share in any
//!    one-second window, the window vendors count in);
//! 3. runs the inner call under a per-attempt timeout (a timeout is
//!    [`Timeout`](PortErrorKind::Timeout): the effect may have happened);
//! 4. on a retryable error retries, with jittered exponential backoff that waits at least what
//!    `Retry-After` asked for, but only when retrying is safe: reads always, a refund because it
//!    carries an idempotency key, never a write that is not idempotent (a return label is bought
//!    once per call).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use order_agent_adapters::resilience::{RateLimitConfig, ResilienceConfig, ResilienceLayer};
//! use order_agent_core::ports::Payments;
//! use order_agent_testkit::conformance::payments;
//! use order_agent_testkit::fakes::FakePayments;
//!
//! let mut config = ResilienceConfig::default();
//! config.rate_limit = Some(RateLimitConfig::share_of(25.0)); // Stripe test mode: 25 requests/s
//! let stripe_account = ResilienceLayer::new(config).unwrap();
//! let sample = payments::sample();
//! let payments = stripe_account.wrap(FakePayments::new().with_payments(sample.payments.clone()));
//! payments::run_all(&payments, &sample.fixture).await.unwrap();
//! # });
//! ```

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use order_agent_core::ports::{PortError, PortErrorKind, PortResult};
use serde::Deserialize;

mod backoff;
mod breaker;
mod ports;
mod rate;

pub use breaker::BreakerState;

use backoff::Backoff;
use breaker::{CircuitBreaker, Permit};
use rate::TokenBucket;

/// The operation name of configuration errors.
const CONFIG_OP: &str = "resilience.config";

/// How hard to try, per vendor account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResilienceConfig {
    /// Gives up on one attempt after this many milliseconds.
    pub timeout_ms: u64,
    /// Retries.
    pub retry: RetryConfig,
    /// The account's rate limit; none when absent.
    pub rate_limit: Option<RateLimitConfig>,
    /// The circuit breaker.
    pub breaker: BreakerConfig,
    /// Seeds the backoff jitter; a random seed when absent. Tests pin it.
    pub jitter_seed: Option<u64>,
}

impl Default for ResilienceConfig {
    fn default() -> Self {
        ResilienceConfig {
            timeout_ms: 10_000,
            retry: RetryConfig::default(),
            rate_limit: None,
            breaker: BreakerConfig::default(),
            jitter_seed: None,
        }
    }
}

/// Retries with jittered exponential backoff.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Attempts in all, the first included; 1 disables retries.
    pub max_attempts: u32,
    /// The backoff before the first retry, doubled for each further one.
    pub base_delay_ms: u64,
    /// The backoff never exceeds this.
    pub max_delay_ms: u64,
    /// A `Retry-After` longer than this is not waited for: the error is returned at once.
    pub max_retry_after_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 3,
            base_delay_ms: 200,
            max_delay_ms: 5_000,
            max_retry_after_ms: 30_000,
        }
    }
}

/// A token bucket at a share of the vendor's published limit.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// The vendor's published limit for the account, requests per second (Stripe: 100 live, 25
    /// test mode).
    pub published_per_second: f64,
    /// The share of it this process uses, in (0, 1]; 0.8 by default, leaving room for other
    /// clients of the account.
    #[serde(default = "default_share")]
    pub share: f64,
    /// Requests that may go at once after a quiet spell; when absent, the headroom the share
    /// leaves in one second (published minus effective rate, at least one: 5 of Stripe's 25), so
    /// that a burst followed by a second at the full rate stays within the published limit.
    /// Whatever the burst, no second ever holds more than [`per_window`](Self::per_window)
    /// requests.
    #[serde(default)]
    pub burst: Option<u32>,
    /// HTTP requests one call of an operation makes, by operation name, where it is more than
    /// one: a call takes that many tokens. Stripe's `payments.refund` reads the payment intent
    /// and then creates the refund, so against Stripe's per-account limit it costs 2.
    #[serde(default)]
    pub costs: BTreeMap<String, u32>,
}

fn default_share() -> f64 {
    0.8
}

impl RateLimitConfig {
    /// The default share (80%) of `published_per_second`.
    pub fn share_of(published_per_second: f64) -> RateLimitConfig {
        RateLimitConfig {
            published_per_second,
            share: default_share(),
            burst: None,
            costs: BTreeMap::new(),
        }
    }

    /// The same, with `operation` costing `requests` tokens a call.
    pub fn with_cost(mut self, operation: &str, requests: u32) -> RateLimitConfig {
        self.costs.insert(operation.to_owned(), requests);
        self
    }

    /// Requests per second this process allows itself.
    pub fn effective_per_second(&self) -> f64 {
        self.published_per_second * self.share
    }

    /// The most requests this process sends in any one-second window: the effective rate rounded
    /// down, at least one. Vendors count per second in a window, so this, not the bucket's
    /// average, is what keeps them from answering 429.
    pub fn per_window(&self) -> usize {
        let whole = self.effective_per_second().floor();
        if whole >= 1.0 && whole.is_finite() {
            // Bounded by the check above and by any rate a vendor publishes.
            whole.min(f64::from(u32::MAX)) as usize
        } else {
            1
        }
    }

    fn default_burst(&self) -> f64 {
        (self.published_per_second - self.effective_per_second())
            .floor()
            .max(1.0)
    }
}

/// Opens after consecutive failures; lets one probe through after a pause.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Consecutive failed attempts (unavailable or timed out) that open the circuit.
    pub failure_threshold: u32,
    /// How long the circuit stays open before one probe is let through (half-open).
    pub open_ms: u64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            open_ms: 30_000,
        }
    }
}

/// Whether a call may be sent again after an error that may have left an effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Safety {
    /// No effect: always safe to retry.
    Read,
    /// An effect deduplicated by an idempotency key: safe to retry with the same key.
    IdempotentWrite,
    /// An effect without a key (buying a label): never retried.
    Write,
}

impl Safety {
    fn may_retry(self, error: &PortError) -> bool {
        error.is_retryable() && matches!(self, Safety::Read | Safety::IdempotentWrite)
    }
}

#[derive(Debug)]
struct Shared {
    timeout: Duration,
    retry: RetryConfig,
    limiter: Option<TokenBucket>,
    costs: BTreeMap<String, u32>,
    breaker: CircuitBreaker,
    backoff: Backoff,
}

/// What one vendor account shares across the ports it serves: the rate limiter and the circuit
/// breaker. Cheap to clone; clones share them.
#[derive(Debug, Clone)]
pub struct ResilienceLayer {
    shared: Arc<Shared>,
}

impl ResilienceLayer {
    /// A layer for one vendor account. Refuses (`InvalidInput`) a zero timeout, zero attempts, a
    /// zero failure threshold, or a rate limit that is not positive or a share outside (0, 1].
    pub fn new(config: ResilienceConfig) -> PortResult<ResilienceLayer> {
        if config.timeout_ms == 0 {
            return Err(PortError::invalid_input(
                CONFIG_OP,
                "timeout must be positive",
            ));
        }
        if config.retry.max_attempts == 0 {
            return Err(PortError::invalid_input(
                CONFIG_OP,
                "at least one attempt is needed",
            ));
        }
        if config.breaker.failure_threshold == 0 {
            return Err(PortError::invalid_input(
                CONFIG_OP,
                "failure threshold must be positive",
            ));
        }
        let limiter = match &config.rate_limit {
            Some(limit) => {
                let ok = limit.published_per_second.is_finite()
                    && limit.published_per_second > 0.0
                    && limit.share > 0.0
                    && limit.share <= 1.0;
                if !ok {
                    return Err(PortError::invalid_input(
                        CONFIG_OP,
                        "rate limit must be positive with a share in (0, 1]",
                    ));
                }
                let rate = limit.effective_per_second();
                let burst = limit
                    .burst
                    .map_or_else(|| limit.default_burst(), |b| f64::from(b.max(1)));
                Some(TokenBucket::new(rate, burst, limit.per_window()))
            }
            None => None,
        };
        Ok(ResilienceLayer {
            shared: Arc::new(Shared {
                timeout: Duration::from_millis(config.timeout_ms),
                backoff: Backoff::new(
                    Duration::from_millis(config.retry.base_delay_ms),
                    Duration::from_millis(config.retry.max_delay_ms),
                    config.jitter_seed,
                ),
                retry: config.retry,
                limiter,
                costs: config
                    .rate_limit
                    .as_ref()
                    .map(|limit| limit.costs.clone())
                    .unwrap_or_default(),
                breaker: CircuitBreaker::new(
                    config.breaker.failure_threshold,
                    Duration::from_millis(config.breaker.open_ms),
                ),
            }),
        })
    }

    /// Wraps `inner`; every port wrapped by this layer (or its clones) shares its limiter and
    /// breaker.
    pub fn wrap<P>(&self, inner: P) -> Resilient<P> {
        Resilient {
            inner,
            layer: self.clone(),
        }
    }

    /// The circuit's state now.
    pub fn breaker_state(&self) -> BreakerState {
        self.shared.breaker.state()
    }

    /// Runs `call` under the timeout, limiter, breaker and retry policy.
    pub async fn run<T, F, Fut>(
        &self,
        op: &'static str,
        safety: Safety,
        mut call: F,
    ) -> PortResult<T>
    where
        F: FnMut() -> Fut + Send,
        Fut: Future<Output = PortResult<T>> + Send,
        T: Send,
    {
        let shared = &self.shared;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let permit: Permit = shared.breaker.admit(op)?;
            if let Some(limiter) = &shared.limiter {
                let cost = shared.costs.get(op).copied().unwrap_or(1);
                limiter.acquire_n(cost).await;
            }
            let result = match tokio::time::timeout(shared.timeout, call()).await {
                Ok(result) => result,
                Err(_) => Err(PortError::timeout(op, "no answer within the call timeout")
                    .with_context("timeout_ms", shared.timeout.as_millis())),
            };
            let failed = matches!(
                &result,
                Err(e) if matches!(e.kind(), PortErrorKind::Unavailable | PortErrorKind::Timeout)
            );
            shared.breaker.record(permit, failed);
            let error = match result {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            if !safety.may_retry(&error) || attempt >= shared.retry.max_attempts {
                return Err(with_attempts(error, attempt));
            }
            let backoff = shared.backoff.delay(attempt);
            let wait = match error.retry_after() {
                Some(asked) if asked > Duration::from_millis(shared.retry.max_retry_after_ms) => {
                    return Err(with_attempts(error, attempt));
                }
                Some(asked) => asked.max(backoff),
                None => backoff,
            };
            tokio::time::sleep(wait).await;
        }
    }
}

fn with_attempts(error: PortError, attempts: u32) -> PortError {
    if attempts > 1 {
        error.with_context("attempts", attempts)
    } else {
        error
    }
}

/// A port behind a [`ResilienceLayer`]; implements the same port trait as `P`.
#[derive(Debug, Clone)]
pub struct Resilient<P> {
    inner: P,
    layer: ResilienceLayer,
}

impl<P> Resilient<P> {
    /// The wrapped port.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The layer (shared limiter and breaker).
    pub fn layer(&self) -> &ResilienceLayer {
        &self.layer
    }
}

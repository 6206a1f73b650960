//! The resilience layer's rate limiter against a loopback Stripe that enforces 25 requests per
//! second per endpoint in a sliding window: at the default 80% share no request is refused after
//! the first second, and the same load without the limiter is refused (the server does enforce).
//! A correctness check in real time, not a timing assertion: the share leaves a fifth of the
//! limit as margin for a slow machine. `cargo bench --bench rate_limits` measures the same at a
//! larger scale.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use order_agent_adapters::resilience::RateLimitConfig;

#[path = "support_limits/mod.rs"]
mod support_limits;

use support_limits::{run_stripe, StripeScenario, StripeScope};

const STRIPE_TEST_MODE_PER_SECOND: usize = 25;

fn scenario(limiter: Option<RateLimitConfig>, duration: Duration) -> StripeScenario {
    StripeScenario {
        per_second: STRIPE_TEST_MODE_PER_SECOND,
        scope: StripeScope::PerEndpoint,
        retry_after_seconds: None,
        limiter,
        callers: 8,
        duration,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_keeps_an_enforcing_stripe_from_refusing_after_the_warm_up() {
    let limited = run_stripe(&scenario(
        Some(RateLimitConfig::share_of(25.0)),
        Duration::from_millis(2_500),
    ))
    .await
    .unwrap();
    // Each refund reads the intent first, so that endpoint carries every call.
    let busiest = limited
        .server
        .admitted_per_second
        .get("GET /v1/payment_intents/:id")
        .copied()
        .unwrap_or(0.0);
    assert!(
        limited.server.requests > STRIPE_TEST_MODE_PER_SECOND as u64,
        "the run must go beyond one window to test anything: {limited:?}"
    );
    assert!(busiest > 0.0, "{limited:?}");
    assert_eq!(limited.server.refused_steady, 0, "{limited:?}");
    // Nor in the first second: the limiter never grants more than 20 in any second, so a full
    // bucket plus its refill cannot crowd the first window either.
    assert_eq!(limited.server.refused_warm_up, 0, "{limited:?}");
    assert_eq!(limited.calls_failed, 0, "{limited:?}");

    let control = run_stripe(&scenario(None, Duration::from_millis(600)))
        .await
        .unwrap();
    assert!(
        control.server.refused_warm_up + control.server.refused_steady > 0,
        "without the limiter the server must refuse: {control:?}"
    );
}

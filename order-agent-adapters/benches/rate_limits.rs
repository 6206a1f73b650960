//! Run: `cargo bench -p order-agent-adapters --bench rate_limits`
//!
//! Whether the rate limits the agent keeps per vendor account hold against servers that enforce
//! the vendors' published limits, under load, in one run with the raw limit printed beside each
//! figure and a control without the client-side limit that shows the server does refuse.
//!
//! - Stripe: the real adapter behind a `ResilienceLayer` (`RateLimitConfig::share_of(25.0)`,
//!   80%) against a loopback Stripe enforcing 25 requests/s per endpoint (test mode) in a sliding
//!   one-second window, answering 429 with Stripe's `rate_limit` body; callers alternate
//!   `refund` (read the intent, create the refund) and `payment` (read the intent, list its
//!   refunds). Once without `Retry-After` (as Stripe answers) and once with `Retry-After: 1`.
//!   Then the same limiter against one window for the account's reads and one for its writes,
//!   which is how Stripe documents its basic limiter.
//! - Shopify: the real adapter (its own cost bucket, 80% of the restore rate, learning the shop's
//!   bucket from `extensions.cost`) against a loopback GraphQL endpoint with a cost bucket
//!   restoring 100 points/s (Standard plan) but smaller than the plan's 2000 points so the run
//!   stays short; callers run `customer_by_contact` (20 points). The control runs the adapter
//!   believing in a Plus bucket against a server that reports no cost, so it never waits.
//!
//! The first second is the warm-up (buckets start full, the client learns the vendor's state);
//! refusals are counted before and after it. Nothing is asserted about timings.
//!
//! `ORDER_AGENT_BENCH_LIMIT_SECONDS` (default 8, per run), `ORDER_AGENT_BENCH_LIMIT_CALLERS`
//! (default 32) and `ORDER_AGENT_BENCH_SHOPIFY_BUCKET` (default 400 points) change the size.

use std::error::Error;
use std::time::Duration;

use order_agent_adapters::resilience::RateLimitConfig;

#[path = "../tests/support_limits/mod.rs"]
mod support_limits;

use support_limits::{
    run_shopify, run_stripe, Outcome, ShopifyScenario, StripeScenario, StripeScope,
};

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const STRIPE_TEST_MODE_PER_SECOND: usize = 25;
const SHOPIFY_STANDARD_RESTORE_PER_SECOND: f64 = 100.0;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn refusals(outcome: &Outcome) -> String {
    format!(
        "warm-up {}, steady {}",
        outcome.server.refused_warm_up, outcome.server.refused_steady
    )
}

/// Admitted requests per second after the warm-up in the server's busiest window.
fn busiest_window(scope: StripeScope, outcome: &Outcome) -> f64 {
    match scope {
        StripeScope::PerEndpoint => outcome.server.busiest_per_second(),
        StripeScope::ReadsAndWrites => {
            let of = |method: &str| -> f64 {
                outcome
                    .server
                    .admitted_per_second
                    .iter()
                    .filter(|(endpoint, _)| endpoint.starts_with(method))
                    .map(|(_, rate)| rate)
                    .sum()
            };
            of("GET ").max(of("POST "))
        }
    }
}

async fn stripe(
    label: &str,
    scope: StripeScope,
    retry_after_seconds: Option<u32>,
    callers: usize,
    duration: Duration,
) -> BenchResult<()> {
    let mut limit = RateLimitConfig::share_of(STRIPE_TEST_MODE_PER_SECOND as f64);
    if scope == StripeScope::ReadsAndWrites {
        // Counted per account, every HTTP request counts: `payment` makes two reads, `refund` a
        // read and a write.
        limit = limit
            .with_cost("payments.payment", 2)
            .with_cost("payments.refund", 2);
    }
    let share = limit.share;
    let scenario = StripeScenario {
        per_second: STRIPE_TEST_MODE_PER_SECOND,
        scope,
        retry_after_seconds,
        limiter: Some(limit),
        callers,
        duration,
    };
    let limited = run_stripe(&scenario).await?;
    let control = run_stripe(&StripeScenario {
        limiter: None,
        ..scenario
    })
    .await?;
    let window = match scope {
        StripeScope::PerEndpoint => "per endpoint",
        StripeScope::ReadsAndWrites => "for reads and for writes",
    };
    println!(
        "{label}: {:.1} req/s admitted in the busiest window, {:.1} req/s in all, {:.1} calls/s \
         (limit {STRIPE_TEST_MODE_PER_SECOND}/s {window}, share {share}); 429s: {}; \
         failed calls {}; control without limiter: {} 429s ({}), {:.1} req/s admitted in the \
         busiest window, failed calls {}",
        busiest_window(scope, &limited),
        limited.server.total_per_second(),
        limited.calls_per_second(),
        refusals(&limited),
        limited.calls_failed,
        control.server.refused_warm_up + control.server.refused_steady,
        refusals(&control),
        busiest_window(scope, &control),
        control.calls_failed,
    );
    for (endpoint, rate) in &limited.server.admitted_per_second {
        println!("  {endpoint}: {rate:.1} req/s admitted after the warm-up");
    }
    Ok(())
}

async fn shopify(bucket: f64, callers: usize, duration: Duration) -> BenchResult<()> {
    let scenario = ShopifyScenario {
        bucket_size: bucket,
        restore_per_second: SHOPIFY_STANDARD_RESTORE_PER_SECOND,
        client_bucket: true,
        callers,
        duration,
    };
    let paced = run_shopify(&scenario).await?;
    let control = run_shopify(&ShopifyScenario {
        client_bucket: false,
        ..scenario
    })
    .await?;
    println!(
        "shopify (bucket {bucket} points): {:.1} points/s admitted after the warm-up, {:.1} \
         calls/s (restore {SHOPIFY_STANDARD_RESTORE_PER_SECOND}/s, client share 0.8); \
         THROTTLED: {}; failed calls {}; control without client bucket: THROTTLED {} ({}), \
         {:.1} points/s admitted, failed calls {}",
        paced.server.admitted_cost_per_second,
        paced.calls_per_second(),
        refusals(&paced),
        paced.calls_failed,
        control.server.refused_warm_up + control.server.refused_steady,
        refusals(&control),
        control.server.admitted_cost_per_second,
        control.calls_failed,
    );
    Ok(())
}

fn main() -> BenchResult<()> {
    let seconds: u64 = env_or("ORDER_AGENT_BENCH_LIMIT_SECONDS", 8);
    let callers: usize = env_or("ORDER_AGENT_BENCH_LIMIT_CALLERS", 32);
    let bucket: f64 = env_or("ORDER_AGENT_BENCH_SHOPIFY_BUCKET", 400.0);
    let duration = Duration::from_secs(seconds.max(2));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        println!(
            "{callers} concurrent callers, {} s per run, warm-up = the first second",
            duration.as_secs()
        );
        stripe("stripe", StripeScope::PerEndpoint, None, callers, duration).await?;
        stripe(
            "stripe with Retry-After: 1",
            StripeScope::PerEndpoint,
            Some(1),
            callers,
            duration,
        )
        .await?;
        stripe(
            "stripe, reads and writes per account",
            StripeScope::ReadsAndWrites,
            None,
            callers,
            duration,
        )
        .await?;
        shopify(bucket, callers, duration).await
    })
}

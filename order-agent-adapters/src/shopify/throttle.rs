//! A client-side copy of Shopify's cost bucket, so the adapter waits before a query the shop's
//! bucket cannot pay for instead of being answered `THROTTLED`.
//!
//! Shopify gives each app on each shop a leaky bucket of query-cost points (Standard plan: 2000
//! points restored at 100 points/s; Advanced: 4000 at 200/s; Plus: 20000 at 1000/s). This bucket
//! starts full at the plan's size and refills at a configurable share (default 80%) of the plan's
//! restore rate, leaving headroom for other apps' estimates and clock drift. Before a query it
//! takes the query's estimated cost, waiting for the missing points first; after every response
//! it adopts Shopify's own `throttleStatus` (what Shopify says is available is the truth).
//!
//! This is vendor-specific pacing, not a retry policy: retries stay in `resilience`.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::responses::ThrottleStatus;

/// A Shopify plan's GraphQL Admin API bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopifyPlan {
    /// Basic, Shopify and other standard plans: 2000 points, 100 points/s.
    #[default]
    Standard,
    /// Advanced Shopify: 4000 points, 200 points/s.
    Advanced,
    /// Shopify Plus: 20000 points, 1000 points/s.
    Plus,
}

impl ShopifyPlan {
    /// The bucket size, in points.
    pub fn bucket_size(self) -> f64 {
        match self {
            ShopifyPlan::Standard => 2000.0,
            ShopifyPlan::Advanced => 4000.0,
            ShopifyPlan::Plus => 20000.0,
        }
    }

    /// The published restore rate, points per second.
    pub fn restore_rate(self) -> f64 {
        match self {
            ShopifyPlan::Standard => 100.0,
            ShopifyPlan::Advanced => 200.0,
            ShopifyPlan::Plus => 1000.0,
        }
    }
}

#[derive(Debug)]
struct Level {
    capacity: f64,
    available: f64,
    rate: f64,
    at: Instant,
}

impl Level {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.available = (self.available + elapsed * self.rate).min(self.capacity);
        self.at = now;
    }
}

/// The client-side cost bucket (one per shop and access token).
#[derive(Debug)]
pub struct CostBucket {
    share: f64,
    level: Mutex<Level>,
}

impl CostBucket {
    /// A full bucket for `plan`, refilling at `share_percent` (1..=100) of its restore rate.
    pub fn new(plan: ShopifyPlan, share_percent: u8) -> CostBucket {
        let share = f64::from(share_percent.clamp(1, 100)) / 100.0;
        CostBucket {
            share,
            level: Mutex::new(Level {
                capacity: plan.bucket_size(),
                available: plan.bucket_size(),
                rate: plan.restore_rate() * share,
                at: Instant::now(),
            }),
        }
    }

    /// Points available now, by this bucket's reckoning.
    pub fn available(&self) -> f64 {
        let mut level = self.lock();
        level.refill(Instant::now());
        level.available
    }

    /// The refill rate in use, points per second.
    pub fn restore_rate(&self) -> f64 {
        self.lock().rate
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Level> {
        // A poisoned lock only means another caller panicked mid-update; the level is still a
        // number, so keep using it.
        self.level
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes `cost` points, first waiting until the bucket holds them. A cost above the bucket
    /// size waits for a full bucket.
    pub async fn acquire(&self, cost: u32) {
        loop {
            let wait = {
                let mut level = self.lock();
                level.refill(Instant::now());
                let cost = f64::from(cost).min(level.capacity);
                if level.available >= cost {
                    level.available -= cost;
                    return;
                }
                Duration::from_secs_f64(((cost - level.available) / level.rate).max(0.001))
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Adopts Shopify's view of the bucket after a response: its size, what is available now, and
    /// the share of its restore rate.
    pub fn observe(&self, status: &ThrottleStatus) {
        let valid = |v: f64| v.is_finite() && v >= 0.0;
        if !(valid(status.maximum_available)
            && valid(status.currently_available)
            && valid(status.restore_rate))
            || status.maximum_available == 0.0
            || status.restore_rate == 0.0
        {
            return;
        }
        let mut level = self.lock();
        level.capacity = status.maximum_available;
        level.available = status.currently_available.min(status.maximum_available);
        level.rate = status.restore_rate * self.share;
        level.at = Instant::now();
    }
}

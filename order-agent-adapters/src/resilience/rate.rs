//! A token bucket that reserves: a caller takes a token now and, if the bucket is in debt, waits
//! until its token would have been there, so concurrent callers queue in arrival order.
//!
//! Vendors count requests per second in a window (Stripe: a bucket whose burst is one second's
//! worth; others a sliding second). A bucket alone lets `burst + rate` requests into one second
//! after a quiet spell, which such a window refuses once that exceeds the published limit. So
//! besides the bucket, every grant also waits until the grant `per_window` places before it is a
//! whole window old: no window ever holds more than `per_window` grants.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// The window vendors count their per-second limits in.
pub(super) const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct State {
    /// Tokens (negative: reserved ahead) at `at`.
    tokens: f64,
    at: Instant,
    /// The last `per_window` grant times, oldest first (they never decrease).
    grants: VecDeque<Instant>,
}

#[derive(Debug)]
pub(super) struct TokenBucket {
    per_second: f64,
    capacity: f64,
    per_window: usize,
    state: Mutex<State>,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilled at `per_second`, granting at most `per_window`
    /// (at least one) tokens in any [`WINDOW`].
    pub(super) fn new(per_second: f64, capacity: f64, per_window: usize) -> TokenBucket {
        let per_window = per_window.max(1);
        TokenBucket {
            per_second,
            capacity,
            per_window,
            state: Mutex::new(State {
                tokens: capacity,
                at: Instant::now(),
                grants: VecDeque::with_capacity(per_window),
            }),
        }
    }

    /// Reserves one token and answers when it may be used.
    fn reserve(&self) -> Instant {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(state.at).as_secs_f64();
        let tokens = (state.tokens + elapsed * self.per_second).min(self.capacity) - 1.0;
        state.tokens = tokens;
        state.at = now;
        let mut due = if tokens >= 0.0 {
            now
        } else {
            now + Duration::from_secs_f64(-tokens / self.per_second)
        };
        if state.grants.len() >= self.per_window {
            if let Some(oldest) = state.grants.pop_front() {
                due = due.max(oldest + WINDOW);
            }
        }
        state.grants.push_back(due);
        due
    }

    /// Takes one token, waiting until it is due.
    #[cfg(test)]
    pub(super) async fn acquire(&self) {
        self.acquire_n(1).await;
    }

    /// Takes `n` tokens (at least one) for a call that makes `n` requests, waiting until the
    /// last of them is due: every request of the call counts against the rate and the window.
    pub(super) async fn acquire_n(&self, n: u32) {
        let mut due = self.reserve();
        for _ in 1..n.max(1) {
            due = due.max(self.reserve());
        }
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The most grants any window of [`WINDOW`] holds.
    fn busiest_window(grants: &[Instant]) -> usize {
        grants
            .iter()
            .map(|start| {
                grants
                    .iter()
                    .filter(|t| **t >= *start && **t < *start + WINDOW)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    async fn grant_times(bucket: &std::sync::Arc<TokenBucket>, calls: usize) -> Vec<Instant> {
        let tasks: Vec<_> = (0..calls)
            .map(|_| {
                let bucket = bucket.clone();
                tokio::spawn(async move {
                    bucket.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap());
        }
        times.sort();
        times
    }

    fn bucket(per_second: f64, capacity: f64, per_window: usize) -> std::sync::Arc<TokenBucket> {
        std::sync::Arc::new(TokenBucket::new(per_second, capacity, per_window))
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_bucket_and_its_refill_never_crowd_one_window() {
        // 20/s with a burst of 20: the bucket alone would grant 20 at once and 20 more within
        // the same second, 40 in a window a 25-per-second vendor refuses from the 26th.
        let times = grant_times(&bucket(20.0, 20.0, 20), 100).await;
        assert_eq!(busiest_window(&times), 20);
        // The sustained rate is still the bucket's: 100 grants in 5 windows.
        let span = times[99] - times[0];
        assert!(span >= Duration::from_millis(4_000), "{span:?}");
        assert!(span <= Duration::from_millis(4_800), "{span:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refilled_burst_after_a_pause_stays_within_the_window() {
        // A burst, the paced rest, a pause that refills the bucket, and a second burst: the
        // second burst waits for the first one's window to pass.
        let limiter = bucket(20.0, 5.0, 20);
        let mut times = grant_times(&limiter, 15).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        times.extend(grant_times(&limiter, 30).await);
        assert_eq!(busiest_window(&times), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn grants_are_paced_at_the_rate_once_the_burst_is_spent() {
        let times = grant_times(&bucket(20.0, 1.0, 20), 21).await;
        for pair in times.windows(2) {
            let gap = pair[1] - pair[0];
            assert!(gap >= Duration::from_millis(49), "{gap:?}");
            assert!(gap <= Duration::from_millis(51), "{gap:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_of_several_requests_takes_as_many_tokens() {
        // Four requests a window, calls of two requests each: two calls a window at most.
        let bucket = std::sync::Arc::new(TokenBucket::new(4.0, 1.0, 4));
        let mut grants = Vec::new();
        for _ in 0..10 {
            bucket.acquire_n(2).await;
            grants.push(Instant::now());
        }
        assert!(
            busiest_window(&grants) <= 2,
            "{} calls in one window",
            busiest_window(&grants)
        );
        assert!(Instant::now() - grants[0] >= Duration::from_secs(4));
    }
}

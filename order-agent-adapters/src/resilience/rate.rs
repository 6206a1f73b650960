//! A token bucket that reserves: a caller takes a token now and, if the bucket is in debt, waits
//! until its token would have been there, so concurrent callers queue in arrival order.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(super) struct TokenBucket {
    per_second: f64,
    capacity: f64,
    /// Tokens (negative: reserved ahead) at `at`.
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilled at `per_second`.
    pub(super) fn new(per_second: f64, capacity: f64) -> TokenBucket {
        TokenBucket {
            per_second,
            capacity,
            state: Mutex::new((capacity, Instant::now())),
        }
    }

    /// Takes one token, waiting until it is due.
    pub(super) async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(state.1).as_secs_f64();
            let tokens = (state.0 + elapsed * self.per_second).min(self.capacity) - 1.0;
            *state = (tokens, now);
            if tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-tokens / self.per_second)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

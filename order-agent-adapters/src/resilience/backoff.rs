//! Exponential backoff with "equal jitter": half the exponential delay, plus a random part up to
//! the other half, so retries from many workers spread out but never come back at once.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug)]
pub(super) struct Backoff {
    base: Duration,
    max: Duration,
    /// SplitMix64 state.
    state: Mutex<u64>,
}

impl Backoff {
    pub(super) fn new(base: Duration, max: Duration, seed: Option<u64>) -> Backoff {
        let seed = seed.unwrap_or_else(|| RandomState::new().build_hasher().finish());
        Backoff {
            base,
            max,
            state: Mutex::new(seed),
        }
    }

    /// The wait before retry number `attempt` (1 for the first retry): in
    /// `[d/2, d]` where `d = min(max, base * 2^(attempt-1))`.
    pub(super) fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let full = self.base.saturating_mul(1u32 << exponent).min(self.max);
        let half = full / 2;
        let spread = u64::try_from((full - half).as_micros()).unwrap_or(u64::MAX);
        let random = if spread == 0 {
            0
        } else {
            self.next() % (spread + 1)
        };
        half + Duration::from_micros(random)
    }

    fn next(&self) -> u64 {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_the_jitter_band_and_cap() {
        let backoff = Backoff::new(
            Duration::from_millis(100),
            Duration::from_millis(1_000),
            Some(7),
        );
        for _ in 0..100 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let capped = backoff.delay(30);
            assert!(capped >= Duration::from_millis(500) && capped <= Duration::from_millis(1_000));
        }
        let spread: std::collections::BTreeSet<Duration> =
            (0..20).map(|_| backoff.delay(2)).collect();
        assert!(spread.len() > 1, "no jitter");
    }
}

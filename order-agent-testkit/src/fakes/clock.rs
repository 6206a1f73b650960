//! A clock the test controls.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use order_agent_core::ports::{Clock, ClockRef};

use super::faults::lock;

/// A clock that stands still (or ticks a fixed step per reading) until the test moves it.
///
/// Clones share one time, so a test can hand a clone to the agent and move it from outside.
#[derive(Debug, Clone)]
pub struct FakeClock {
    inner: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
struct ClockState {
    now: DateTime<Utc>,
    step: Duration,
}

impl FakeClock {
    /// 2025-03-03 09:00 UTC, a Monday: the default start of every fake.
    pub fn default_start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 3, 9, 0, 0)
            .single()
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    /// A clock standing still at `now`.
    pub fn at(now: DateTime<Utc>) -> FakeClock {
        FakeClock::ticking(now, Duration::zero())
    }

    /// A clock at `start` that moves `step` forward after each reading, so that consecutive
    /// timestamps differ.
    pub fn ticking(start: DateTime<Utc>, step: Duration) -> FakeClock {
        FakeClock {
            inner: Arc::new(Mutex::new(ClockState { now: start, step })),
        }
    }

    /// This clock behind a [`ClockRef`] (sharing its time).
    pub fn shared(&self) -> ClockRef {
        Arc::new(self.clone())
    }

    /// Moves the clock forward by `by` (a negative `by` is ignored: a clock never goes back).
    pub fn advance(&self, by: Duration) {
        if by > Duration::zero() {
            let mut state = lock(&self.inner);
            state.now += by;
        }
    }

    /// Sets the time to `to` if it is not before the current time.
    pub fn set(&self, to: DateTime<Utc>) {
        let mut state = lock(&self.inner);
        if to > state.now {
            state.now = to;
        }
    }

    /// The current time without ticking.
    pub fn peek(&self) -> DateTime<Utc> {
        lock(&self.inner).now
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        FakeClock::at(FakeClock::default_start())
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        let mut state = lock(&self.inner);
        let now = state.now;
        let step = state.step;
        state.now += step;
        now
    }
}

/// The clock fakes use by default: ticking one second per reading from
/// [`FakeClock::default_start`].
pub(crate) fn default_fake_clock() -> ClockRef {
    Arc::new(FakeClock::ticking(
        FakeClock::default_start(),
        Duration::seconds(1),
    ))
}

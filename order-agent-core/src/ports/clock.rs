//! The time, as a port, so that the shell can be driven by a fake clock in tests and simulations.

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};

/// A source of the current time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time.
    ///
    /// # Behavior
    ///
    /// - MUST NOT go backwards: each call on the same clock MUST return a time at or after the
    ///   previous call's.
    fn now(&self) -> DateTime<Utc>;
}

/// A shared clock.
pub type ClockRef = Arc<dyn Clock>;

/// The system's wall clock, kept from going backwards when the system time is stepped back.
#[derive(Debug, Default)]
pub struct SystemClock {
    last: Mutex<Option<DateTime<Utc>>>,
}

impl SystemClock {
    /// A system clock.
    pub fn new() -> SystemClock {
        SystemClock::default()
    }

    /// A system clock behind a [`ClockRef`].
    pub fn shared() -> ClockRef {
        Arc::new(SystemClock::new())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        let wall = Utc::now();
        // A poisoned lock only means another thread panicked mid-update of a plain timestamp.
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        let now = match *last {
            Some(previous) if previous > wall => previous,
            _ => wall,
        };
        *last = Some(now);
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_does_not_go_backwards() {
        let clock = SystemClock::new();
        let mut previous = clock.now();
        for _ in 0..1000 {
            let now = clock.now();
            assert!(now >= previous);
            previous = now;
        }
    }
}

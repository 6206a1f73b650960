//! A circuit breaker: closed (calls go through, consecutive failures counted), open (calls fail
//! fast until a pause is over), half-open (one probe goes through; its outcome closes or reopens
//! the circuit).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use order_agent_core::ports::{PortError, PortResult};
use tokio::time::Instant;

/// The state of a circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail fast with `Unavailable`.
    Open,
    /// One probe call is let through.
    HalfOpen,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// `probe`: when the probe in flight started; a probe lost without an outcome (its future
    /// dropped) stops blocking after the open pause.
    HalfOpen {
        probe: Option<Instant>,
    },
}

/// What `admit` let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Permit {
    Normal,
    Probe,
}

#[derive(Debug)]
pub(super) struct CircuitBreaker {
    threshold: u32,
    open_for: Duration,
    state: Mutex<State>,
}

impl CircuitBreaker {
    pub(super) fn new(threshold: u32, open_for: Duration) -> CircuitBreaker {
        CircuitBreaker {
            threshold,
            open_for,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() < until => BreakerState::Open,
            State::Open { .. } | State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Lets a call through, or fails fast with `Unavailable` while open.
    pub(super) fn admit(&self, op: &'static str) -> PortResult<Permit> {
        let mut state = self.lock();
        let now = Instant::now();
        match *state {
            State::Closed { .. } => Ok(Permit::Normal),
            State::Open { until } if now < until => Err(open_error(op, until - now)),
            State::HalfOpen {
                probe: Some(started),
            } if now < started + self.open_for => {
                Err(open_error(op, started + self.open_for - now))
            }
            State::Open { .. } | State::HalfOpen { .. } => {
                *state = State::HalfOpen { probe: Some(now) };
                Ok(Permit::Probe)
            }
        }
    }

    /// Records the outcome of a call `admit` let through.
    pub(super) fn record(&self, permit: Permit, failed: bool) {
        let mut state = self.lock();
        let now = Instant::now();
        match (permit, *state) {
            (Permit::Probe, State::HalfOpen { .. }) => {
                *state = if failed {
                    State::Open {
                        until: now + self.open_for,
                    }
                } else {
                    State::Closed { failures: 0 }
                };
            }
            (Permit::Normal, State::Closed { failures }) => {
                *state = if !failed {
                    State::Closed { failures: 0 }
                } else if failures + 1 >= self.threshold {
                    State::Open {
                        until: now + self.open_for,
                    }
                } else {
                    State::Closed {
                        failures: failures + 1,
                    }
                };
            }
            // A late outcome from before the state changed says nothing about now.
            _ => {}
        }
    }
}

fn open_error(op: &'static str, remaining: Duration) -> PortError {
    PortError::unavailable(
        op,
        "circuit open after repeated failures, not calling the service",
    )
    .with_context("retry_in_ms", remaining.as_millis())
}

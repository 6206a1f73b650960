//! Fault injection and call recording shared by every fake.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use order_agent_core::ports::{PortError, PortErrorKind, PortResult};
use serde::Serialize;

/// Locks a mutex, recovering the data if a panicking test poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One way a call can go wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Waits this long, then carries on normally. Several latencies on one call add up.
    Latency(Duration),
    /// Fails with an error of this kind before any effect.
    Error(PortErrorKind),
    /// Hangs this long, then fails with [`PortErrorKind::Timeout`] before any effect.
    Timeout(Duration),
    /// Applies the effect, then fails with [`PortErrorKind::Timeout`]: the answer got lost, the
    /// refund (label, message, ticket) exists all the same.
    TimeoutAfterEffect,
    /// Delivers the message twice (messaging only; other fakes ignore it).
    DuplicateDelivery,
}

#[derive(Debug, Clone)]
struct Rule {
    /// `None` matches every operation.
    operation: Option<String>,
    fault: Fault,
    /// `None`: until cleared.
    remaining: Option<u32>,
}

/// Which faults the fakes inject, per operation (`payments.refund`, `oms.order`, ... the names in
/// each port's `ops` module).
///
/// Cheap to clone; clones share one configuration, so one `Faults` can drive several fakes and be
/// changed while a test runs.
///
/// ```
/// use std::time::Duration;
/// use order_agent_core::ports::{payments::ops, PortErrorKind};
/// use order_agent_testkit::fakes::{Fault, Faults};
///
/// let faults = Faults::new();
/// faults
///     .times(ops::REFUND, Fault::Error(PortErrorKind::Unavailable), 2) // the next two refunds fail
///     .always(ops::REFUNDS, Fault::Latency(Duration::from_millis(5)));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Vec<Rule>>>,
    fired: Arc<Mutex<Vec<(String, Fault)>>>,
}

impl Faults {
    /// No faults.
    pub fn new() -> Faults {
        Faults::default()
    }

    /// Injects `fault` into every call of `operation` until cleared.
    pub fn always(&self, operation: &str, fault: Fault) -> &Faults {
        self.push(Some(operation), fault, None)
    }

    /// Injects `fault` into the next `n` calls of `operation`.
    pub fn times(&self, operation: &str, fault: Fault, n: u32) -> &Faults {
        self.push(Some(operation), fault, Some(n))
    }

    /// Injects `fault` into the next call of `operation`.
    pub fn once(&self, operation: &str, fault: Fault) -> &Faults {
        self.times(operation, fault, 1)
    }

    /// Injects `fault` into every call of every operation until cleared.
    pub fn everywhere(&self, fault: Fault) -> &Faults {
        self.push(None, fault, None)
    }

    /// Removes the faults of `operation` (not those set with [`everywhere`](Self::everywhere)).
    pub fn clear(&self, operation: &str) -> &Faults {
        lock(&self.rules).retain(|r| r.operation.as_deref() != Some(operation));
        self
    }

    /// Removes every fault.
    pub fn clear_all(&self) -> &Faults {
        lock(&self.rules).clear();
        self
    }

    /// The faults injected so far, in order, with their operation.
    pub fn fired(&self) -> Vec<(String, Fault)> {
        lock(&self.fired).clone()
    }

    fn push(&self, operation: Option<&str>, fault: Fault, remaining: Option<u32>) -> &Faults {
        lock(&self.rules).push(Rule {
            operation: operation.map(str::to_owned),
            fault,
            remaining,
        });
        self
    }

    /// Takes the faults due for one call of `operation`: sleeps the latency, fails for an error or
    /// a timeout, and otherwise tells the fake what to do after its effect.
    pub(crate) async fn enter(&self, operation: &'static str) -> PortResult<Injected> {
        let due: Vec<Fault> = {
            let mut rules = lock(&self.rules);
            let mut due = Vec::new();
            for rule in rules.iter_mut() {
                let matches = rule.operation.as_deref().is_none_or(|op| op == operation);
                if !matches || rule.remaining == Some(0) {
                    continue;
                }
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
                due.push(rule.fault);
            }
            rules.retain(|r| r.remaining != Some(0));
            due
        };
        lock(&self.fired).extend(due.iter().map(|f| (operation.to_owned(), *f)));

        let mut injected = Injected {
            operation,
            timeout_after_effect: false,
            duplicate_delivery: false,
        };
        let mut latency = Duration::ZERO;
        let mut failure: Option<Fault> = None;
        for fault in due {
            match fault {
                Fault::Latency(d) => latency += d,
                Fault::Error(_) | Fault::Timeout(_) => {
                    failure.get_or_insert(fault);
                }
                Fault::TimeoutAfterEffect => injected.timeout_after_effect = true,
                Fault::DuplicateDelivery => injected.duplicate_delivery = true,
            }
        }
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        match failure {
            Some(Fault::Error(kind)) => Err(PortError::new(kind, operation)
                .with_message("injected fault")
                .with_context("fault", kind.as_str())),
            Some(Fault::Timeout(after)) => {
                tokio::time::sleep(after).await;
                Err(PortError::timeout(
                    operation,
                    "injected timeout before the effect",
                ))
            }
            _ => Ok(injected),
        }
    }
}

/// What a fake must do around its effect for one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Injected {
    operation: &'static str,
    timeout_after_effect: bool,
    pub(crate) duplicate_delivery: bool,
}

impl Injected {
    /// Turns a successful effect into a timeout when asked to.
    pub(crate) fn finish<T>(self, result: PortResult<T>) -> PortResult<T> {
        match result {
            Ok(_) if self.timeout_after_effect => Err(PortError::timeout(
                self.operation,
                "injected timeout after the effect was applied",
            )),
            other => other,
        }
    }
}

/// How a recorded call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// It succeeded.
    Ok,
    /// It failed with this kind.
    Err(PortErrorKind),
}

/// One call a fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The operation, e.g. `payments.refund`.
    pub operation: &'static str,
    /// Its arguments, as JSON.
    pub args: serde_json::Value,
    /// How it ended.
    pub outcome: CallOutcome,
}

/// The calls fakes received, in order. Clones share one log, so fakes given the same log record
/// one timeline across ports ("the refund came before the message").
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl CallLog {
    /// An empty log.
    pub fn new() -> CallLog {
        CallLog::default()
    }

    /// Every call, in order.
    pub fn all(&self) -> Vec<Call> {
        lock(&self.calls).clone()
    }

    /// The calls of `operation`, in order.
    pub fn of(&self, operation: &str) -> Vec<Call> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.operation == operation)
            .cloned()
            .collect()
    }

    /// How many calls of `operation` there were.
    pub fn count(&self, operation: &str) -> usize {
        lock(&self.calls)
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    /// The operations called, in order.
    pub fn operations(&self) -> Vec<&'static str> {
        lock(&self.calls).iter().map(|c| c.operation).collect()
    }

    /// Forgets every call.
    pub fn clear(&self) {
        lock(&self.calls).clear();
    }

    fn record<T>(&self, operation: &'static str, args: serde_json::Value, result: &PortResult<T>) {
        let outcome = match result {
            Ok(_) => CallOutcome::Ok,
            Err(e) => CallOutcome::Err(e.kind()),
        };
        lock(&self.calls).push(Call {
            operation,
            args,
            outcome,
        });
    }
}

/// The fault configuration and call log of one fake.
#[derive(Debug, Clone, Default)]
pub(crate) struct Instrumentation {
    pub(crate) faults: Faults,
    pub(crate) calls: CallLog,
}

impl Instrumentation {
    /// Runs one call: injects the faults due, applies `effect`, records the call.
    pub(crate) async fn call<T>(
        &self,
        operation: &'static str,
        args: impl Serialize,
        effect: impl FnOnce(Injected) -> PortResult<T>,
    ) -> PortResult<T> {
        let args = serde_json::to_value(args).unwrap_or(serde_json::Value::Null);
        let result = match self.faults.enter(operation).await {
            Ok(injected) => injected.finish(effect(injected)),
            Err(e) => Err(e),
        };
        self.calls.record(operation, args, &result);
        result
    }
}

/// Builder methods every fake shares.
macro_rules! instrumented {
    ($fake:ty) => {
        impl $fake {
            /// Injects faults from `faults` (shared with its clones).
            #[must_use]
            pub fn with_faults(mut self, faults: $crate::fakes::Faults) -> Self {
                self.instrumentation.faults = faults;
                self
            }

            /// Records calls into `log` (shared with its clones).
            #[must_use]
            pub fn with_call_log(mut self, log: $crate::fakes::CallLog) -> Self {
                self.instrumentation.calls = log;
                self
            }

            /// The fault configuration; change it at any time.
            pub fn faults(&self) -> &$crate::fakes::Faults {
                &self.instrumentation.faults
            }

            /// The calls received so far.
            pub fn calls(&self) -> &$crate::fakes::CallLog {
                &self.instrumentation.calls
            }
        }
    };
}
pub(crate) use instrumented;

//! One conformance suite per port: public `async fn`s that test exactly the MUST sentences of the
//! port's `# Behavior` docs. Every adapter's tests call them; the in-memory fakes pass them, and
//! the broken fakes in [`crate::fakes::broken`] prove that they fail when a contract is broken.
//!
//! Each suite has a `run_all` that runs every check and returns a [`ConformanceReport`] listing
//! the checks that failed (it does not panic, so a test can assert that a broken adapter fails),
//! and each check is also a public function returning `Result<(), ConformanceFailure>`. Suites
//! take a fixture describing data the adapter's backend holds (ids of an order that can be
//! cancelled, a payment with some refundable amount, ...); each module has a `sample()` that
//! builds matching seed data for the fakes.
//!
//! Checks that write use keys and ids derived from the fixture's `run_id`, so a suite can run
//! again against a sandbox account without tripping over its earlier runs.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use order_agent_testkit::conformance::payments;
//! use order_agent_testkit::fakes::FakePayments;
//!
//! let sample = payments::sample();
//! let fake = FakePayments::new().with_payments(sample.payments.clone());
//! payments::run_all(&fake, &sample.fixture).await.unwrap();
//! # });
//! ```

use std::fmt;
use std::future::Future;

use order_agent_core::ports::{PortErrorKind, PortResult};

pub mod carrier;
pub mod clock;
pub mod helpdesk;
pub mod interpreter;
pub mod inventory;
pub mod messaging;
pub mod oms;
pub mod payments;
pub mod queue;
pub(crate) mod sample_data;
pub mod store;

/// One check that failed: its name (e.g. `payments.refund_is_idempotent`) and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check}: {message}")]
pub struct ConformanceFailure {
    /// The check.
    pub check: &'static str,
    /// What went wrong, lowercase.
    pub message: String,
}

impl ConformanceFailure {
    /// A failure of `check`.
    pub fn new(check: &'static str, message: impl Into<String>) -> ConformanceFailure {
        ConformanceFailure {
            check,
            message: message.into(),
        }
    }
}

/// The failures of one suite run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConformanceReport {
    /// The suite, e.g. `payments`.
    pub suite: &'static str,
    /// How many checks ran.
    pub checks_run: usize,
    /// The checks that failed, in the order they ran.
    pub failures: Vec<ConformanceFailure>,
}

impl ConformanceReport {
    /// Whether `check` failed.
    pub fn failed(&self, check: &str) -> bool {
        self.failures.iter().any(|f| f.check == check)
    }

    /// The names of the failed checks.
    pub fn failed_checks(&self) -> Vec<&'static str> {
        self.failures.iter().map(|f| f.check).collect()
    }
}

impl fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} conformance: {} of {} checks failed",
            self.suite,
            self.failures.len(),
            self.checks_run
        )?;
        for failure in &self.failures {
            write!(f, "\n  - {failure}")?;
        }
        Ok(())
    }
}

/// The outcome of one check.
pub type CheckResult = Result<(), ConformanceFailure>;

/// Runs checks in order and collects their failures.
#[derive(Debug)]
pub(crate) struct Runner {
    report: ConformanceReport,
}

impl Runner {
    pub(crate) fn new(suite: &'static str) -> Runner {
        Runner {
            report: ConformanceReport {
                suite,
                checks_run: 0,
                failures: Vec::new(),
            },
        }
    }

    pub(crate) async fn check(&mut self, check: impl Future<Output = CheckResult>) {
        self.report.checks_run += 1;
        if let Err(failure) = check.await {
            self.report.failures.push(failure);
        }
    }

    pub(crate) fn finish(self) -> Result<(), ConformanceReport> {
        if self.report.failures.is_empty() {
            Ok(())
        } else {
            Err(self.report)
        }
    }
}

/// Fails `check` with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($check:expr, $cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::conformance::ConformanceFailure::new($check, format!($($fmt)+)));
        }
    };
}
pub(crate) use ensure;

/// Unwraps a port call that must succeed.
pub(crate) fn ok<T>(
    check: &'static str,
    what: &str,
    result: PortResult<T>,
) -> Result<T, ConformanceFailure> {
    result.map_err(|e| ConformanceFailure::new(check, format!("{what} failed: {e}")))
}

/// Checks that a port call failed with an error of `expected` kind (ignoring kind payloads).
pub(crate) fn expect_kind<T: fmt::Debug>(
    check: &'static str,
    what: &str,
    expected: PortErrorKind,
    result: PortResult<T>,
) -> CheckResult {
    match result {
        Err(e) if std::mem::discriminant(&e.kind()) == std::mem::discriminant(&expected) => Ok(()),
        Err(e) => Err(ConformanceFailure::new(
            check,
            format!("{what}: expected {expected}, got error `{e}`"),
        )),
        Ok(v) => Err(ConformanceFailure::new(
            check,
            format!("{what}: expected {expected}, got success {v:?}"),
        )),
    }
}

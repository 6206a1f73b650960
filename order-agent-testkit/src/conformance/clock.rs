//! The [`Clock`] conformance suite.

use order_agent_core::ports::Clock;

use super::{ensure, CheckResult, ConformanceReport, Runner};

/// Runs every clock check.
pub async fn run_all(clock: &dyn Clock) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("clock");
    runner.check(never_goes_backwards(clock)).await;
    runner.finish()
}

/// A thousand readings in a row never go backwards.
pub async fn never_goes_backwards(clock: &dyn Clock) -> CheckResult {
    const CHECK: &str = "clock.never_goes_backwards";
    let mut previous = clock.now();
    for _ in 0..1000 {
        let now = clock.now();
        ensure!(
            CHECK,
            now >= previous,
            "the clock went from {previous} back to {now}"
        );
        previous = now;
    }
    Ok(())
}

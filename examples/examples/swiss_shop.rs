// Run with: cargo run -p order-agent-examples --example swiss_shop [-- --json]
//
//! The Swiss demo shop: loads and validates the sample policy `examples/policies/swiss-shop.toml`,
//! asks the policy engine about eighteen situations on the built-in demo orders (returns,
//! inspection, final sale, hygiene, expired windows, the EU withdrawal floor, store credit,
//! exchanges, receipts with grades, limits, fraud, cancellations, address and item changes) and
//! prints each decision with its reasons and money breakdown. `--json` prints the decisions as one
//! JSON array instead.
//!
//! The clock is fixed (12 January 2026, 10:30 in Zürich) so the output is the same on every run.

use std::process::ExitCode;

use order_agent_core::policy::{decide, validate_toml, Outcome};
use order_agent_examples::{
    demo_now, render_scenario, scenario_json, swiss_shop_scenarios, SWISS_SHOP_POLICY,
};
use order_agent_testkit::demo_shop::DemoShop;

fn main() -> ExitCode {
    let json = std::env::args().skip(1).any(|a| a == "--json");
    let unknown: Vec<String> = std::env::args().skip(1).filter(|a| a != "--json").collect();
    if !unknown.is_empty() {
        eprintln!("unknown arguments: {}", unknown.join(" "));
        eprintln!("usage: cargo run -p order-agent-examples --example swiss_shop [-- --json]");
        return ExitCode::from(2);
    }

    let (policy, validation) = match validate_toml(SWISS_SHOP_POLICY) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("swiss-shop.toml: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in &validation.warnings {
        eprintln!("swiss-shop.toml: warning: {w}");
    }
    if !validation.is_ok() {
        for e in &validation.errors {
            eprintln!("swiss-shop.toml: error: {e}");
        }
        return ExitCode::FAILURE;
    }

    let now = demo_now();
    let shop = DemoShop::new(now);
    let scenarios = swiss_shop_scenarios(&shop);

    if json {
        let decisions: Vec<serde_json::Value> = scenarios
            .iter()
            .map(|s| scenario_json(s, &decide(&s.request, &s.facts, &policy, now)))
            .collect();
        match serde_json::to_string_pretty(&decisions) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("cannot serialise the decisions: {e}");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }

    println!(
        "Alpenfaden demo shop · policy {} ({} rules, {}) · now {}",
        policy.version,
        policy.returns.rules.len(),
        policy.timezone,
        now.with_timezone(&policy.timezone)
            .format("%Y-%m-%d %H:%M %Z")
    );
    println!();
    let mut tally = [0usize; 3];
    for (i, scenario) in scenarios.iter().enumerate() {
        let decision = decide(&scenario.request, &scenario.facts, &policy, now);
        let slot = match decision.outcome {
            Outcome::Approve => 0,
            Outcome::Deny => 1,
            Outcome::NeedsHuman => 2,
        };
        if let Some(count) = tally.get_mut(slot) {
            *count += 1;
        }
        println!("{}", render_scenario(i + 1, scenario, &decision));
    }
    println!(
        "{} scenarios: {} approved, {} denied, {} for a human",
        scenarios.len(),
        tally[0],
        tally[1],
        tally[2]
    );
    ExitCode::SUCCESS
}

// Run with: cargo run --release -p order-agent-examples --example policy_properties [-- POLICY.toml [CASES]]
//
//! Property-test your own return policy without writing Rust: loads a policy file (the sample
//! Swiss-shop policy by default), validates it, then puts thousands of generated but consistent
//! orders, customers and requests (returns, receipts, cancellations, changes) to the engine and
//! checks what a merchant relies on:
//!
//! - no approved refund is above the policy's auto-refund limit;
//! - no tender ever gets more than it captured minus what it already refunded;
//! - a final-sale or hygiene item is only ever approved through a statutory floor;
//! - fraud-flagged and disputed orders never move money automatically (when the policy says so);
//! - every decision has reasons, and the same input always gives the same decision.
//!
//! On a failure it prints the smallest case proptest found, as JSON, and exits with status 1.

use std::process::ExitCode;

use order_agent_core::money::Money;
use order_agent_core::policy::{decide, validate_toml, Outcome, Policy, ReasonCode, Request};
use order_agent_testkit::strategies::{arb_facts, arb_now, arb_request};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let path = args.next();
    let cases: u32 = args.next().and_then(|c| c.parse().ok()).unwrap_or(5_000);
    let text = match &path {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("cannot read `{path}`: {e}");
                return ExitCode::from(2);
            }
        },
        None => order_agent_examples::SWISS_SHOP_POLICY.to_owned(),
    };
    let (policy, validation) = match validate_toml(&text) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    for warning in &validation.warnings {
        eprintln!("warning: {warning}");
    }
    if !validation.errors.is_empty() {
        for error in &validation.errors {
            eprintln!("error: {error}");
        }
        return ExitCode::from(2);
    }
    println!(
        "policy {} ({}): {cases} generated cases",
        policy.version,
        path.as_deref().unwrap_or("the sample Swiss-shop policy")
    );

    // The generated orders are in CHF: a policy in another currency sees only currency
    // mismatches, which go to a person.
    let strategy = arb_facts().prop_flat_map(|facts| {
        let order = facts.order.clone();
        (arb_request(&order), Just(facts), arb_now(&order))
    });
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let outcomes: [std::cell::Cell<u32>; 3] = Default::default();
    let result = runner.run(&strategy, |(request, facts, now)| {
        let decision = decide(&request, &facts, &policy, now);
        let index = match decision.outcome {
            Outcome::Approve => 0,
            Outcome::Deny => 1,
            Outcome::NeedsHuman => 2,
        };
        if let Some(count) = outcomes.get(index) {
            count.set(count.get() + 1);
        }
        check(&policy, &request, &facts, now, &decision)
    });
    println!(
        "  approved {}, denied {}, for a person {}",
        outcomes[0].get(),
        outcomes[1].get(),
        outcomes[2].get()
    );
    match result {
        Ok(()) => {
            println!("  all properties hold");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("  a property fails: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(
    policy: &Policy,
    request: &Request,
    facts: &order_agent_core::policy::Facts,
    now: chrono::DateTime<chrono::Utc>,
    decision: &order_agent_core::policy::Decision,
) -> Result<(), TestCaseError> {
    let explain = || serde_json::to_string(&(request, facts, decision)).unwrap_or_default();
    prop_assert!(!decision.reasons.is_empty(), "unexplained: {}", explain());
    prop_assert_eq!(decision, &decide(request, facts, policy, now));
    let Some(refund) = decision.refund.as_ref() else {
        return Ok(());
    };
    for tender in &refund.tenders {
        if let Some(id) = &tender.payment_id {
            let payment = facts.order.payments.iter().find(|p| &p.id == id);
            let refundable = payment
                .and_then(|p| p.refundable().ok())
                .unwrap_or(Money::zero(tender.amount.currency()));
            prop_assert!(
                tender.amount.to_minor() <= refundable.to_minor(),
                "tender {} gets {} of {}: {}",
                id,
                tender.amount,
                refundable,
                explain()
            );
        }
    }
    if decision.outcome != Outcome::Approve
        || matches!(
            request,
            Request::AddressChange(_) | Request::ItemModification(_)
        )
    {
        return Ok(());
    }
    if let Some(limit) = policy.limits.max_auto_refund {
        let limit =
            Money::new(limit, policy.currency).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(
            refund.total.to_minor() <= limit.to_minor(),
            "approved {} above the limit {}: {}",
            refund.total,
            limit,
            explain()
        );
    }
    if let Request::Return(r) = request {
        for line in &r.lines {
            let Some(order_line) = facts.order.line(&line.line_id) else {
                continue;
            };
            let approved = decision
                .lines
                .iter()
                .any(|v| v.line_id == line.line_id && v.outcome == Outcome::Approve);
            if approved && order_line.final_sale && policy.returns.final_sale_not_returnable {
                prop_assert!(
                    decision.has_reason(ReasonCode::LegalFloor),
                    "final-sale line approved without a legal floor: {}",
                    explain()
                );
            }
        }
    }
    prop_assert!(
        !(facts.order.risk.fraud_flagged && policy.fraud.flagged_orders_need_human),
        "fraud-flagged order approved: {}",
        explain()
    );
    prop_assert!(
        !(facts.order.risk.disputed && policy.limits.disputes_need_human),
        "disputed order approved: {}",
        explain()
    );
    Ok(())
}

//! Property tests of the policy engine: invariants over arbitrary valid policies and consistent
//! facts, and a differential test of the refund maths against a small exact reference model.
//!
//! `PROPTEST_CASES=10000 cargo test -p order-agent-core --test properties --release` runs a long
//! session; the default is 256 cases per property.

// Test helpers outside `#[test]` functions may fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use order_agent_core::domain::{
    LineId, Order, OrderStatus, ResolutionKind, ReturnLine, ReturnReason, ReturnRequest, TaxMode,
};
use order_agent_core::money::Money;
use order_agent_core::policy::{decide, Decision, Facts, Outcome, Policy, ReasonCode, Request};
use order_agent_testkit::strategies::{arb_case, arb_facts_for, arb_order};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn money_moving(request: &Request) -> bool {
    matches!(
        request,
        Request::Return(_) | Request::Receipt { .. } | Request::Cancellation(_)
    )
}

/// What each payment can still refund, by payment id.
fn refundable(order: &Order) -> BTreeMap<String, Money> {
    order
        .payments
        .iter()
        .map(|p| (p.id.to_string(), p.refundable().unwrap()))
        .collect()
}

fn check_invariants(
    request: &Request,
    facts: &Facts,
    policy: &Policy,
    now: DateTime<Utc>,
    decision: &Decision,
) -> Result<(), TestCaseError> {
    // Determinism.
    prop_assert_eq!(decision, &decide(request, facts, policy, now));
    prop_assert_eq!(&decision.policy_version, &policy.version);
    // Fail closed: an engine error never approves.
    if !decision.errors.is_empty() || decision.has_reason(ReasonCode::RuleError) {
        prop_assert_eq!(decision.outcome, Outcome::NeedsHuman);
    }
    // Every decision is explained.
    prop_assert!(!decision.reasons.is_empty(), "no reasons: {decision:?}");

    let Some(refund) = &decision.refund else {
        return Ok(());
    };
    let currency = facts.order.currency;
    let available = refundable(&facts.order);
    let total_available = Money::sum(currency, available.values().copied()).unwrap();
    // Never more than captured minus already refunded, per tender and in total.
    let mut to_payments = Money::zero(currency);
    for tender in &refund.tenders {
        prop_assert!(tender.amount.is_positive());
        if let Some(id) = &tender.payment_id {
            let cap = available.get(id.as_str()).copied();
            prop_assert!(cap.is_some(), "refund to unknown payment {id}");
            prop_assert!(
                tender.amount.try_cmp(&cap.unwrap()).unwrap() != Ordering::Greater,
                "tender {id} gets {} but can refund {:?}",
                tender.amount,
                cap
            );
            to_payments = to_payments.checked_add(tender.amount).unwrap();
        }
    }
    prop_assert!(to_payments.try_cmp(&total_available).unwrap() != Ordering::Greater);
    let base = refund.total.checked_sub(refund.store_credit_bonus).unwrap();
    prop_assert!(base.try_cmp(&total_available).unwrap() != Ordering::Greater);
    prop_assert!(!refund.total.is_negative());
    // The tenders carry exactly the total.
    let tender_sum = Money::sum(currency, refund.tenders.iter().map(|t| t.amount)).unwrap();
    prop_assert_eq!(tender_sum, refund.total);
    // Lines never have negative nets, and fees never exceed what they are taken from.
    for line in &refund.lines {
        prop_assert!(!line.net.is_negative());
        prop_assert!(!line.fees.is_negative());
    }

    // Above every limit the outcome is never approve.
    if decision.outcome == Outcome::Approve && money_moving(request) {
        let limits = &policy.limits;
        if let Some(max) = limits.max_auto_refund {
            let max = Money::new(max, currency).unwrap();
            prop_assert!(
                refund.total.try_cmp(&max).unwrap() != Ordering::Greater,
                "approved {} above the limit {max}",
                refund.total
            );
        }
        if let Some(period) = &limits.max_refunded_per_customer {
            let before = facts.customer.history.refunded_in_period;
            prop_assert!(before.is_some(), "approved with unknown period refunds");
            let after = before.unwrap().checked_add(refund.total).unwrap();
            let max = Money::new(period.amount, currency).unwrap();
            prop_assert!(after.try_cmp(&max).unwrap() != Ordering::Greater);
        }
        if let Some(high) = limits.high_value_order {
            let captured =
                Money::sum(currency, facts.order.payments.iter().map(|p| p.captured)).unwrap();
            prop_assert!(
                captured
                    .try_cmp(&Money::new(high, currency).unwrap())
                    .unwrap()
                    == Ordering::Less
            );
        }
        if facts.order.risk.fraud_flagged {
            prop_assert!(!policy.fraud.flagged_orders_need_human);
        }
        if facts.order.risk.disputed {
            prop_assert!(!limits.disputes_need_human);
        }
        if let Some(limit) = &policy.fraud.max_returns_in_period {
            prop_assert!(facts.customer.history.returns_in_period < limit.count);
        }
        let email = facts.order.email.to_lowercase();
        prop_assert!(!policy
            .fraud
            .blocklisted_emails
            .iter()
            .any(|b| b.trim().to_lowercase() == email));
        if limits.partial_refunds_need_human {
            prop_assert!(!decision.has_reason(ReasonCode::PartialRefund));
            prop_assert!(!decision.has_reason(ReasonCode::CappedAtRefundable));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn every_decision_keeps_the_money_invariants((request, facts, policy, now) in arb_case()) {
        let decision = decide(&request, &facts, &policy, now);
        check_invariants(&request, &facts, &policy, now, &decision)?;
    }

    #[test]
    fn full_return_refunds_exactly_what_was_paid(
        (facts, splits) in arb_order(1..20).prop_flat_map(|order| {
            let n = order.lines.len();
            (arb_facts_for(order), proptest::collection::vec(1u32..4, n))
        }),
    ) {
        let facts = permissive_facts(facts);
        let policy = permissive_policy();
        let now = facts.order.placed_at + Duration::days(3);
        let order = &facts.order;

        // Reference model: the customer paid exactly the captured amounts; a full return with
        // merchant fault (shipping refunded, no fees) gives all of it back, to the cent.
        let captured = Money::sum(order.currency, order.payments.iter().map(|p| p.captured)).unwrap();

        // 1. one return of everything.
        let all = ReturnRequest {
            order_id: order.id.clone(),
            resolution: ResolutionKind::Refund,
            lines: order
                .lines
                .iter()
                .map(|l| ReturnLine { line_id: l.id.clone(), quantity: l.quantity, reason: ReturnReason::WrongItem, exchange_for: None })
                .collect(),
        };
        let decision = decide(&Request::Return(all), &facts, &policy, now);
        prop_assert_eq!(decision.outcome, Outcome::Approve, "{:?}", decision.reasons);
        let refund = decision.refund.unwrap();
        prop_assert_eq!(refund.total, captured);
        reference_line_check(order, &refund.lines)?;

        // 2. the same units returned in several returns, one after another: the sum is the same.
        let mut facts = facts.clone();
        let mut refunded_total = Money::zero(order.currency);
        let mut round = 0;
        loop {
            let mut lines = Vec::new();
            for (line, split) in facts.order.lines.iter().zip(&splits) {
                let done = facts.returned_quantities.get(&line.id).copied().unwrap_or(0);
                let left = line.quantity - done;
                let step = (*split).min(left);
                if step > 0 {
                    lines.push(ReturnLine { line_id: line.id.clone(), quantity: step, reason: ReturnReason::WrongItem, exchange_for: None });
                }
            }
            if lines.is_empty() {
                break;
            }
            round += 1;
            prop_assert!(round <= 100);
            let request = ReturnRequest { order_id: facts.order.id.clone(), resolution: ResolutionKind::Refund, lines: lines.clone() };
            let decision = decide(&Request::Return(request), &facts, &policy, now);
            prop_assert_eq!(decision.outcome, Outcome::Approve, "{:?}", decision.reasons);
            let refund = decision.refund.unwrap();
            refunded_total = refunded_total.checked_add(refund.total).unwrap();
            // Apply the refund to the facts as the runtime would.
            for tender in &refund.tenders {
                let id = tender.payment_id.clone().unwrap();
                let payment = facts.order.payments.iter_mut().find(|p| p.id == id).unwrap();
                payment.refunded = payment.refunded.checked_add(tender.amount).unwrap();
            }
            for l in &lines {
                *facts.returned_quantities.entry(l.line_id.clone()).or_insert(0) += l.quantity;
            }
        }
        prop_assert_eq!(refunded_total, captured);
    }
}

/// Each line's refund is within 3 minor units of its exact share (discount, tax and shipping
/// allocation each round by less than one unit).
fn reference_line_check(
    order: &Order,
    lines: &[order_agent_core::policy::RefundLine],
) -> Result<(), TestCaseError> {
    let after: Vec<Decimal> = order
        .lines
        .iter()
        .map(|l| l.after_line_discount().unwrap().amount())
        .collect();
    let merchandise: Decimal = after.iter().sum();
    let discount = order
        .order_discount
        .map_or(Decimal::ZERO, |d| d.amount())
        .min(merchandise);
    let weights: Vec<Decimal> = order
        .lines
        .iter()
        .zip(&after)
        .map(|(l, a)| *a * l.tax_rate)
        .collect();
    let weight_sum: Decimal = weights.iter().sum();
    let unit = Decimal::new(1, order.currency.minor_units());
    for refund_line in lines {
        let i = order
            .lines
            .iter()
            .position(|l| l.id == refund_line.line_id)
            .unwrap();
        let share = if merchandise.is_zero() {
            Decimal::ZERO
        } else {
            after[i] / merchandise
        };
        let paid = after[i] - discount * share;
        let tax = if order.tax_mode == TaxMode::Excluded && !weight_sum.is_zero() {
            order.tax_total.amount() * weights[i] / weight_sum
        } else {
            Decimal::ZERO
        };
        let paid_sum = merchandise - discount;
        let shipping = if paid_sum.is_zero() {
            order.shipping.amount() / Decimal::from(order.lines.len())
        } else {
            order.shipping.amount() * paid / paid_sum
        };
        let exact = paid + tax + shipping;
        let diff = (refund_line.net.amount() - exact).abs();
        prop_assert!(
            diff <= unit * Decimal::from(3),
            "line {} net {} differs from exact {exact} by {diff}",
            refund_line.line_id,
            refund_line.net
        );
    }
    Ok(())
}

/// Facts where nothing but the maths matters: delivered, nothing refunded, no risk signals.
fn permissive_facts(mut facts: Facts) -> Facts {
    facts.order.status = OrderStatus::Delivered;
    facts.order.risk = Default::default();
    for p in &mut facts.order.payments {
        p.refunded = Money::zero(p.refunded.currency());
    }
    facts.returned_quantities = BTreeMap::<LineId, u32>::new();
    for line in &mut facts.order.lines {
        line.final_sale = false;
        line.tags.clear();
    }
    facts
}

fn permissive_policy() -> Policy {
    Policy::from_toml_str(
        r#"
        version = "permissive"
        currency = "CHF"
        timezone = "Europe/Zurich"
        [returns]
        default_window_days = 3650
        [fees]
        refund_original_shipping_for = ["wrong_item"]
        [limits]
        partial_refunds_need_human = true
        [fraud]
        flagged_orders_need_human = true
        "#,
    )
    .unwrap()
}

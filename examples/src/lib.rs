//! Shared pieces of the runnable examples: the Swiss-shop scenarios and readable renderings of
//! decisions (plain text for people, JSON for tools).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use order_agent_core::domain::{
    AddressChangeRequest, CancellationReason, CancellationRequest, InspectionGrade, ItemChange,
    ItemModificationRequest, LineId, OrderId, ResolutionKind, ReturnReason, TaxMode, VariantId,
};
use order_agent_core::money::Money;
use order_agent_core::policy::{Decision, Facts, Outcome, RefundBreakdown, Request};
use order_agent_testkit::builders::{address, hours_after, ReceiptBuilder, ReturnRequestBuilder};
use order_agent_testkit::demo_shop::{self, DemoShop};
use serde::Serialize;

/// The repository README's code blocks, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The sample policy of the Swiss demo shop, as shipped in `examples/policies/swiss-shop.toml`.
pub const SWISS_SHOP_POLICY: &str = include_str!("../policies/swiss-shop.toml");

/// One question put to the engine about one demo order.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// What the scenario shows.
    pub title: &'static str,
    /// The question.
    pub request: Request,
    /// What the agent knows.
    pub facts: Facts,
    /// The outcome the sample policy is meant to produce.
    pub expected: Outcome,
}

/// Builds the demo scenarios against `shop` (see [`demo_shop`]); scenarios whose order is missing
/// are skipped.
pub fn swiss_shop_scenarios(shop: &DemoShop) -> Vec<Scenario> {
    let now = shop.now;
    let mut scenarios = Vec::new();
    let mut add = |title: &'static str, order: &str, expected: Outcome, request: Request| {
        if let Some(facts) = shop.facts(order) {
            scenarios.push(Scenario {
                title,
                request,
                facts,
                expected,
            });
        }
    };
    let ret = |order: &str, line: &str, reason: ReturnReason, resolution: ResolutionKind| {
        ReturnRequestBuilder::new(order)
            .line(line, 1, reason)
            .resolution(resolution)
            .build()
    };

    add(
        "Apparel return within 30 days, for a refund",
        demo_shop::ORDER_APPAREL_DELIVERED,
        Outcome::Approve,
        Request::Return(ret(
            demo_shop::ORDER_APPAREL_DELIVERED,
            "l1",
            ReturnReason::DoesNotFit,
            ResolutionKind::Refund,
        )),
    );
    let speaker_return = ret(
        demo_shop::ORDER_ELECTRONICS_DELIVERED,
        "l1",
        ReturnReason::ChangedMind,
        ResolutionKind::Refund,
    );
    add(
        "Electronics return: authorised, the refund waits for inspection",
        demo_shop::ORDER_ELECTRONICS_DELIVERED,
        Outcome::Approve,
        Request::Return(speaker_return.clone()),
    );
    add(
        "Final-sale item: not returnable",
        demo_shop::ORDER_FINAL_SALE,
        Outcome::Deny,
        Request::Return(ret(
            demo_shop::ORDER_FINAL_SALE,
            "l1",
            ReturnReason::ChangedMind,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Hygiene item: not returnable",
        demo_shop::ORDER_HYGIENE,
        Outcome::Deny,
        Request::Return(ret(
            demo_shop::ORDER_HYGIENE,
            "l1",
            ReturnReason::DoesNotFit,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Return window expired",
        demo_shop::ORDER_WINDOW_EXPIRED,
        Outcome::Deny,
        Request::Return(ret(
            demo_shop::ORDER_WINDOW_EXPIRED,
            "l1",
            ReturnReason::DoesNotFit,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Final sale shipped to Germany: the EU 14-day withdrawal right applies",
        demo_shop::ORDER_EU_FINAL_SALE,
        Outcome::Approve,
        Request::Return(ret(
            demo_shop::ORDER_EU_FINAL_SALE,
            "l1",
            ReturnReason::ChangedMind,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Gold member takes store credit with a 10% bonus",
        demo_shop::ORDER_GOLD_DRESS,
        Outcome::Approve,
        Request::Return(ret(
            demo_shop::ORDER_GOLD_DRESS,
            "l1",
            ReturnReason::DoesNotFit,
            ResolutionKind::StoreCredit,
        )),
    );
    add(
        "Exchange the sweater for size L",
        demo_shop::ORDER_EXCHANGE,
        Outcome::Approve,
        Request::Return(
            ReturnRequestBuilder::new(demo_shop::ORDER_EXCHANGE)
                .exchange("l1", 1, ReturnReason::DoesNotFit, "v-merino-sweater-l")
                .build(),
        ),
    );
    add(
        "Speaker received and graded `refurbish`: 80% refunded",
        demo_shop::ORDER_ELECTRONICS_DELIVERED,
        Outcome::Approve,
        Request::Receipt {
            receipt: ReceiptBuilder::matching(
                "rma-1002",
                &speaker_return,
                Some(InspectionGrade::Refurbish),
            )
            .received_at(hours_after(now, -2))
            .build(),
            authorised: speaker_return,
        },
    );
    add(
        "Refund above the CHF 150 auto-refund limit",
        demo_shop::ORDER_EXPENSIVE_JACKET,
        Outcome::NeedsHuman,
        Request::Return(ret(
            demo_shop::ORDER_EXPENSIVE_JACKET,
            "l1",
            ReturnReason::ChangedMind,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Return on a fraud-flagged order",
        demo_shop::ORDER_FRAUD_FLAGGED,
        Outcome::NeedsHuman,
        Request::Return(ret(
            demo_shop::ORDER_FRAUD_FLAGGED,
            "l2",
            ReturnReason::ChangedMind,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Defective laptop from a high-value order",
        demo_shop::ORDER_HIGH_VALUE_LAPTOP,
        Outcome::NeedsHuman,
        Request::Return(ret(
            demo_shop::ORDER_HIGH_VALUE_LAPTOP,
            "l1",
            ReturnReason::Defective,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Refund split over a gift card and a card",
        demo_shop::ORDER_GIFT_CARD_AND_CARD,
        Outcome::Approve,
        Request::Return(ret(
            demo_shop::ORDER_GIFT_CARD_AND_CARD,
            "l1",
            ReturnReason::DoesNotFit,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Holiday gift returned in January: seasonal extension",
        demo_shop::ORDER_HOLIDAY_GIFT,
        Outcome::Approve,
        Request::Return(ret(
            demo_shop::ORDER_HOLIDAY_GIFT,
            "l1",
            ReturnReason::ChangedMind,
            ResolutionKind::Refund,
        )),
    );
    add(
        "Cancellation before fulfilment",
        demo_shop::ORDER_UNFULFILLED,
        Outcome::Approve,
        Request::Cancellation(CancellationRequest {
            order_id: OrderId::new(demo_shop::ORDER_UNFULFILLED),
            reason: CancellationReason::OrderedByMistake,
        }),
    );
    add(
        "Cancellation after the parcel shipped",
        demo_shop::ORDER_IN_TRANSIT,
        Outcome::Deny,
        Request::Cancellation(CancellationRequest {
            order_id: OrderId::new(demo_shop::ORDER_IN_TRANSIT),
            reason: CancellationReason::ChangedMind,
        }),
    );
    add(
        "Address change before fulfilment",
        demo_shop::ORDER_CHANGEABLE,
        Outcome::Approve,
        Request::AddressChange(AddressChangeRequest {
            order_id: OrderId::new(demo_shop::ORDER_CHANGEABLE),
            new_address: address("Jonas Meier", "Laupenstrasse 18", "3008", "Bern", "CH"),
        }),
    );
    add(
        "Item modification: sweater S to M, three T-shirts to two",
        demo_shop::ORDER_CHANGEABLE,
        Outcome::Approve,
        Request::ItemModification(ItemModificationRequest {
            order_id: OrderId::new(demo_shop::ORDER_CHANGEABLE),
            changes: vec![
                ItemChange::SwapVariant {
                    line_id: LineId::new("l1"),
                    variant_id: VariantId::new("v-merino-sweater-m"),
                },
                ItemChange::ReduceQuantity {
                    line_id: LineId::new("l2"),
                    quantity: 2,
                },
            ],
        }),
    );
    scenarios
}

/// The serialised (snake_case) name of an enum value such as a reason code or an outcome.
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => "?".to_owned(),
    }
}

/// One line describing the request, e.g. `return l1 ×1 (does_not_fit) for refund`.
pub fn describe_request(request: &Request) -> String {
    match request {
        Request::Return(r) => {
            let lines: Vec<String> = r
                .lines
                .iter()
                .map(|l| {
                    let exchange = l
                        .exchange_for
                        .as_ref()
                        .map(|v| format!(" → {v}"))
                        .unwrap_or_default();
                    format!(
                        "{} ×{} ({}){exchange}",
                        l.line_id,
                        l.quantity,
                        wire_name(&l.reason)
                    )
                })
                .collect();
            format!(
                "return {} for {}",
                lines.join(", "),
                wire_name(&r.resolution)
            )
        }
        Request::Receipt { receipt, .. } => {
            let lines: Vec<String> = receipt
                .lines
                .iter()
                .map(|l| {
                    let grade = l
                        .grade
                        .map(|g| format!(" graded {}", wire_name(&g)))
                        .unwrap_or_else(|| " ungraded".to_owned());
                    format!("{} ×{}{grade}", l.line_id, l.quantity)
                })
                .collect();
            format!(
                "receipt {} at {}: {}",
                receipt.return_id,
                receipt.location,
                lines.join(", ")
            )
        }
        Request::Cancellation(c) => format!("cancel ({})", wire_name(&c.reason)),
        Request::AddressChange(a) => format!(
            "ship to {}, {} {}, {}",
            a.new_address.line1, a.new_address.postcode, a.new_address.city, a.new_address.country
        ),
        Request::ItemModification(m) => {
            let changes: Vec<String> = m
                .changes
                .iter()
                .map(|c| match c {
                    ItemChange::SwapVariant {
                        line_id,
                        variant_id,
                    } => format!("{line_id} → {variant_id}"),
                    ItemChange::ReduceQuantity { line_id, quantity } => {
                        format!("{line_id} to {quantity} units")
                    }
                })
                .collect();
            format!("modify items: {}", changes.join(", "))
        }
    }
}

/// The amount without the currency; a zero is always `0.00`, never `-0.00`.
fn amount(m: &Money) -> String {
    if m.is_zero() {
        Money::zero(m.currency()).amount().to_string()
    } else {
        m.amount().to_string()
    }
}

fn negative(m: &Money) -> String {
    if m.is_zero() {
        amount(m)
    } else {
        format!("-{}", m.amount())
    }
}

/// Renders a money breakdown as a small table: per line item, discount, tax, shipping, fees and
/// net; then return shipping, bonus, exchange difference, total and tenders. `tax_mode` is the
/// order's, and says whether the tax column is included in the item prices or added to them.
pub fn render_breakdown(refund: &RefundBreakdown, tax_mode: TaxMode) -> String {
    let mut out = String::new();
    let currency = refund.total.currency();
    let _ = writeln!(
        out,
        "  money ({}, {currency}):",
        wire_name(&refund.resolution)
    );
    let _ = writeln!(
        out,
        "    {:<6} {:>3} {:>10} {:>10} {:>9} {:>9} {:>9} {:>10}",
        "line", "qty", "item", "discount", "tax*", "shipping", "fees", "net"
    );
    for l in &refund.lines {
        let _ = writeln!(
            out,
            "    {:<6} {:>3} {:>10} {:>10} {:>9} {:>9} {:>9} {:>10}",
            l.line_id.as_str(),
            l.quantity,
            amount(&l.item),
            negative(&l.discount),
            amount(&l.tax),
            amount(&l.shipping),
            negative(&l.fees),
            amount(&l.net)
        );
    }
    let row = |out: &mut String, label: &str, value: String| {
        let _ = writeln!(out, "    {label:<62} {value:>10}");
    };
    if !refund.return_shipping_fee.is_zero() {
        row(
            &mut out,
            "return shipping fee",
            negative(&refund.return_shipping_fee),
        );
    }
    if !refund.store_credit_bonus.is_zero() {
        row(
            &mut out,
            "store-credit bonus",
            format!("+{}", amount(&refund.store_credit_bonus)),
        );
    }
    if let Some(diff) = &refund.exchange_difference {
        let label = if diff.is_positive() {
            "exchange: customer pays"
        } else {
            "exchange difference"
        };
        row(&mut out, label, amount(diff));
    }
    row(&mut out, "total to the customer", amount(&refund.total));
    for t in &refund.tenders {
        let payment = t
            .payment_id
            .as_ref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_else(|| " (new)".to_owned());
        row(
            &mut out,
            &format!("  → {}{payment}", wire_name(&t.tender)),
            amount(&t.amount),
        );
    }
    let _ = writeln!(
        out,
        "    * {}",
        match tax_mode {
            TaxMode::Included => "tax included in the prices, shown for information",
            TaxMode::Excluded => "tax added to the prices, included in the net",
        }
    );
    out
}

/// Renders one decision for people: outcome, reasons (code, rule, line, detail), line verdicts
/// and the money breakdown (see [`render_breakdown`] for `tax_mode`).
pub fn render_decision(decision: &Decision, tax_mode: TaxMode) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  outcome: {}   (policy {})",
        wire_name(&decision.outcome).to_uppercase(),
        decision.policy_version
    );
    if !decision.reasons.is_empty() {
        let _ = writeln!(out, "  reasons:");
        for r in &decision.reasons {
            let line = r.line_id.as_ref().map(LineId::as_str).unwrap_or("-");
            let _ = writeln!(
                out,
                "    {:<28} {:<36} {:<4} {}",
                wire_name(&r.code),
                r.rule,
                line,
                r.detail
            );
        }
    }
    if !decision.lines.is_empty() {
        let _ = writeln!(out, "  lines:");
        for l in &decision.lines {
            let mut extra = String::new();
            if let Some(rule) = &l.rule {
                let _ = write!(extra, "  rule {rule}");
            }
            if let Some(grade) = &l.grade {
                let _ = write!(extra, "  grade {}", wire_name(grade));
            }
            if let Some(restock) = &l.restock {
                let _ = write!(extra, "  restock {}", wire_name(restock));
            }
            let _ = writeln!(
                out,
                "    {:<4} ×{:<2} {}{extra}",
                l.line_id.as_str(),
                l.quantity,
                wire_name(&l.outcome)
            );
        }
    }
    if let Some(refund) = &decision.refund {
        out.push_str(&render_breakdown(refund, tax_mode));
    }
    for e in &decision.errors {
        let _ = writeln!(out, "  error: {e}");
    }
    out
}

/// Renders a scenario header and its decision.
pub fn render_scenario(number: usize, scenario: &Scenario, decision: &Decision) -> String {
    let order = &scenario.facts.order;
    let customer = &scenario.facts.customer;
    let mut out = String::new();
    let title = format!("{number}. {}", scenario.title);
    let _ = writeln!(
        out,
        "── {title} {}",
        "─".repeat(90usize.saturating_sub(title.chars().count()))
    );
    let _ = writeln!(
        out,
        "  order {} ({}) · {} ({}{}) · ships to {}",
        order.number,
        wire_name(&order.status),
        customer.name,
        customer.locale.tag(),
        customer
            .loyalty_tier
            .as_deref()
            .map(|t| format!(", {t}"))
            .unwrap_or_default(),
        order.shipping_address.country
    );
    for l in &order.lines {
        let mut flags = Vec::new();
        if l.final_sale {
            flags.push("final sale".to_owned());
        }
        flags.extend(l.tags.iter().cloned());
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        };
        let _ = writeln!(
            out,
            "    {:<4} {} ×{} at {} ({}){flags}",
            l.id.as_str(),
            l.title,
            l.quantity,
            l.unit_price,
            l.category
        );
    }
    let _ = writeln!(out, "  request: {}", describe_request(&scenario.request));
    out.push_str(&render_decision(decision, order.tax_mode));
    if decision.outcome != scenario.expected {
        let _ = writeln!(
            out,
            "  note: the sample policy is meant to give `{}` here",
            wire_name(&scenario.expected)
        );
    }
    out
}

/// A scenario and its decision as one JSON object.
pub fn scenario_json(scenario: &Scenario, decision: &Decision) -> serde_json::Value {
    serde_json::json!({
        "scenario": scenario.title,
        "order_id": scenario.facts.order.id,
        "request": scenario.request,
        "expected": scenario.expected,
        "decision": decision,
    })
}

/// The instant the demo runs at (see [`demo_shop::demo_now`]).
pub fn demo_now() -> DateTime<Utc> {
    demo_shop::demo_now()
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_agent_core::policy::{decide, validate_toml, Policy, ReasonCode};

    fn policy() -> Policy {
        let (policy, validation) = validate_toml(SWISS_SHOP_POLICY).unwrap();
        assert!(validation.is_ok(), "{:?}", validation.errors);
        policy
    }

    #[test]
    fn every_scenario_gets_the_outcome_the_sample_policy_promises() {
        let policy = policy();
        let shop = DemoShop::new(demo_now());
        let scenarios = swiss_shop_scenarios(&shop);
        assert_eq!(scenarios.len(), 18);
        let mut wrong = Vec::new();
        for s in &scenarios {
            let decision = decide(&s.request, &s.facts, &policy, shop.now);
            if decision.outcome != s.expected {
                wrong.push(format!(
                    "{}: got {:?}, expected {:?}\n{}",
                    s.title,
                    decision.outcome,
                    s.expected,
                    render_decision(&decision, s.facts.order.tax_mode)
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn scenarios_carry_the_reasons_they_are_about() {
        let policy = policy();
        let shop = DemoShop::new(demo_now());
        let expected = [
            (0, ReasonCode::WithinWindow),
            (1, ReasonCode::InspectionRequired),
            (2, ReasonCode::FinalSale),
            (3, ReasonCode::Hygiene),
            (4, ReasonCode::WindowExpired),
            (5, ReasonCode::LegalFloor),
            (6, ReasonCode::StoreCreditBonus),
            (8, ReasonCode::GradeDeduction),
            (9, ReasonCode::AboveRefundLimit),
            (10, ReasonCode::FraudFlagged),
            (11, ReasonCode::HighValueOrder),
            (13, ReasonCode::SeasonalExtension),
            (14, ReasonCode::ChangeAllowed),
            (15, ReasonCode::AlreadyFulfilled),
        ];
        let scenarios = swiss_shop_scenarios(&shop);
        for (index, code) in expected {
            let s = &scenarios[index];
            let decision = decide(&s.request, &s.facts, &policy, shop.now);
            assert!(
                decision.has_reason(code),
                "{}: no {code:?}\n{}",
                s.title,
                render_decision(&decision, s.facts.order.tax_mode)
            );
        }
    }

    #[test]
    fn renderings_show_reasons_and_money() {
        let policy = policy();
        let shop = DemoShop::new(demo_now());
        let scenarios = swiss_shop_scenarios(&shop);
        let s = &scenarios[0];
        let decision = decide(&s.request, &s.facts, &policy, shop.now);
        let text = render_scenario(1, s, &decision);
        assert!(text.contains("within_window"), "{text}");
        assert!(text.contains("total to the customer"), "{text}");
        let json = scenario_json(s, &decision);
        assert_eq!(json["decision"]["outcome"], "approve");
        assert_eq!(json["request"]["kind"], "return");
    }
}

//! Decisions per second on realistic orders of 5 to 20 lines.
//!
//! Run: `cargo bench -p order-agent-core --bench decide`
//! Criterion prints the time per decision and the throughput in decisions per second ("elem/s").

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use order_agent_core::domain::OrderStatus;
use order_agent_core::domain::{
    CancellationReason, CancellationRequest, InspectionGrade, ReturnReason,
};
use order_agent_core::policy::{decide, Facts, Policy, Request};
use order_agent_testkit::builders::{
    days_after, default_placed_at, CustomerBuilder, FactsBuilder, OrderBuilder, OrderLineBuilder,
    ReceiptBuilder, ReturnRequestBuilder, ShipmentBuilder,
};
use std::hint::black_box;

const POLICY: &str = include_str!("../tests/golden/policies/shop.toml");

/// A delivered order of `lines` lines mixing apparel and electronics, with a line discount, an
/// order discount, and card + gift card tenders.
fn order_facts(lines: usize, seed: u64) -> Facts {
    let placed = default_placed_at();
    let mut order = OrderBuilder::new(&format!("o-{seed}-{lines}"))
        .placed_at(placed)
        .order_discount_minor(1_000 + (seed as i64 % 7) * 13)
        .shipping_minor(790)
        .gift_card_minor(2_500);
    let mut shipment = ShipmentBuilder::new("s1").delivered_days_after(placed, 1, 3);
    for i in 0..lines {
        let id = format!("l{i}");
        let price = 1_990 + ((seed as i64 + i as i64 * 7_919) % 20_000);
        let line = if i % 4 == 3 {
            OrderLineBuilder::electronics(&id, "Bluetooth Speaker", price)
        } else {
            OrderLineBuilder::apparel(&id, "Merino Sweater", price)
                .quantity(1 + (i as u32 % 3))
                .discount_minor(if i % 5 == 0 { 500 } else { 0 })
        };
        shipment = shipment.line(&id, 1 + (i as u32 % 3));
        order = order.line(line);
    }
    let order = order.shipment(shipment).build();
    FactsBuilder::new(order)
        .customer(CustomerBuilder::new("c-1").history(8, 1).build())
        .build()
}

fn return_of_two(facts: &Facts) -> Request {
    let lines = &facts.order.lines;
    let mut b = ReturnRequestBuilder::for_order(&facts.order);
    for line in lines.iter().take(2) {
        b = b.line(line.id.as_str(), 1, ReturnReason::DoesNotFit);
    }
    Request::Return(b.build())
}

fn now(facts: &Facts) -> DateTime<Utc> {
    days_after(facts.order.placed_at, 12)
}

fn bench_decide(c: &mut Criterion) {
    let Ok(policy) = Policy::from_toml_str(POLICY) else {
        return;
    };
    let mut group = c.benchmark_group("decide");
    group.throughput(Throughput::Elements(1));
    for lines in [5usize, 10, 20] {
        let cases: Vec<(Facts, Request)> = (0..32)
            .map(|seed| {
                let facts = order_facts(lines, seed);
                let request = return_of_two(&facts);
                (facts, request)
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("return", lines), &cases, |b, cases| {
            let mut i = 0;
            b.iter(|| {
                let (facts, request) = &cases[i % cases.len()];
                i += 1;
                black_box(decide(black_box(request), facts, &policy, now(facts)))
            })
        });
        let receipts: Vec<(Facts, Request)> = cases
            .iter()
            .map(|(facts, request)| {
                let Request::Return(authorised) = request else {
                    unreachable!()
                };
                let receipt =
                    ReceiptBuilder::matching("r-1", authorised, Some(InspectionGrade::New)).build();
                (
                    facts.clone(),
                    Request::Receipt {
                        authorised: authorised.clone(),
                        receipt,
                    },
                )
            })
            .collect();
        group.bench_with_input(BenchmarkId::new("receipt", lines), &receipts, |b, cases| {
            let mut i = 0;
            b.iter(|| {
                let (facts, request) = &cases[i % cases.len()];
                i += 1;
                black_box(decide(black_box(request), facts, &policy, now(facts)))
            })
        });
        let cancellations: Vec<(Facts, Request)> = cases
            .iter()
            .map(|(facts, _)| {
                let mut facts = facts.clone();
                facts.order.status = OrderStatus::Unfulfilled;
                facts.order.shipments.clear();
                let request = Request::Cancellation(CancellationRequest {
                    order_id: facts.order.id.clone(),
                    reason: CancellationReason::ChangedMind,
                });
                (facts, request)
            })
            .collect();
        group.bench_with_input(
            BenchmarkId::new("cancellation", lines),
            &cancellations,
            |b, cases| {
                let mut i = 0;
                b.iter(|| {
                    let (facts, request) = &cases[i % cases.len()];
                    i += 1;
                    black_box(decide(black_box(request), facts, &policy, now(facts)))
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench_decide);
criterion_main!(benches);

//! The crash-and-concurrency property test: four workers on one PostgreSQL schema work a durable
//! event queue while the test interleaves warehouse receipts, duplicate and replayed webhooks,
//! carrier exceptions, staff approvals, vendor outages, refunds that time out after succeeding,
//! clock jumps past leases and past the processor's 24-hour idempotency window, and crashes: a
//! worker's future is dropped at its N-th suspension point (waiting for the database or a
//! vendor), for a random N, and the worker restarts with a fresh connection pool.
//!
//! After the steps, the system heals (faults cleared, leases expire, one worker drains the queue)
//! and the test checks: 0 double refunds (one processor refund per intent key), 0 refunds above
//! what was captured, 0 lost events (every accepted event processed, none pending or dead), 0
//! intents stuck, and every refund above the auto-refund limit paid only on an approval ticket.
//!
//! CI runs `CHAOS_CASES` (default 16) cases. The long run:
//! `CHAOS_CASES=10000 cargo test --release -p order-agent-adapters --test chaos -- --nocapture`.
//! Skips (saying so) with `ORDER_AGENT_SKIP_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::Duration;
use order_agent_adapters::store::{PostgresConfig, PostgresStore};
use order_agent_core::agent::{Agent, Approval};
use order_agent_core::domain::{
    InspectionGrade, LineId, LocationId, OrderId, Receipt, ReceivedLine, RefundState,
    ResolutionKind, ReturnAuthorisation, ReturnId, ReturnLine, ReturnReason, ReturnRequest,
    TrackingStatus,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::money::Money;
use order_agent_core::ports::{
    payments::ops as payments_ops, EventInbox, EventQueue, RefundIntentState, RefundIntentStore,
    ReturnStore, StoreRef,
};
use order_agent_testkit::builders::{days_before, tracking_event};
use order_agent_testkit::fakes::{FakePayments, Fault};
use order_agent_testkit::world::World;
use proptest::prelude::*;

const URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const WORKERS: usize = 4;

/// A return the test receives: order, lines (id, quantity, graded?).
struct Planned {
    id: &'static str,
    order: &'static str,
    lines: &'static [(&'static str, u32, bool)],
}

/// Apparel returns refund on arrival; the jacket (CHF 329) is above the CHF 150 limit and waits
/// for approval; the speaker needs a grade, which the receipt carries.
const RETURNS: &[Planned] = &[
    Planned {
        id: "ret-a",
        order: "ds-1001",
        lines: &[("l2", 2, false)],
    },
    Planned {
        id: "ret-b",
        order: "ds-1007",
        lines: &[("l1", 1, false)],
    },
    Planned {
        id: "ret-c",
        order: "ds-1010",
        lines: &[("l1", 1, false)],
    },
    Planned {
        id: "ret-d",
        order: "ds-1008",
        lines: &[("l1", 1, false)],
    },
    Planned {
        id: "ret-e",
        order: "ds-1002",
        lines: &[("l1", 1, true)],
    },
];

/// Orders whose parcels the carrier reports on.
const TRACKED: &[&str] = &["ds-1013", "ds-1015", "ds-1016", "ds-1017"];

#[derive(Debug, Clone)]
enum Op {
    /// The warehouse scans return `n` in: a new webhook.
    Receipt(usize),
    /// An accepted webhook is delivered again under the same id.
    Redeliver(usize),
    /// An accepted webhook's content arrives again under a new id.
    Replay(usize),
    /// The carrier reports a parcel status.
    Tracking(usize, TrackingStatus),
    /// All four workers take one turn at once; each may crash after so many suspensions.
    Work([Option<u16>; WORKERS]),
    /// Time passes (minutes).
    Advance(u32),
    /// The next refund call succeeds at the processor but times out for the caller.
    RefundTimesOutAfterSucceeding,
    /// The next `n` refund calls fail, the processor being unavailable.
    RefundsDown(u32),
    /// Staff approve the held refunds of return `n`'s order.
    Approve(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let crash = prop_oneof![
        3 => Just(None),
        2 => (1u16..60).prop_map(Some),
    ];
    prop_oneof![
        4 => (0..RETURNS.len()).prop_map(Op::Receipt),
        2 => any::<prop::sample::Index>().prop_map(|i| Op::Redeliver(i.index(1 << 16))),
        2 => any::<prop::sample::Index>().prop_map(|i| Op::Replay(i.index(1 << 16))),
        2 => (0..TRACKED.len(), prop_oneof![
            Just(TrackingStatus::InTransit),
            Just(TrackingStatus::Lost),
            Just(TrackingStatus::CustomsHold),
            Just(TrackingStatus::Damaged),
        ]).prop_map(|(o, s)| Op::Tracking(o, s)),
        8 => [crash.clone(), crash.clone(), crash.clone(), crash].prop_map(Op::Work),
        2 => prop_oneof![1u32..10, 120u32..600, 1_400u32..1_600].prop_map(Op::Advance),
        1 => Just(Op::RefundTimesOutAfterSucceeding),
        1 => (1u32..4).prop_map(Op::RefundsDown),
        1 => (0..RETURNS.len()).prop_map(Op::Approve),
    ]
}

/// Drops the inner future at its `n`-th suspension: a crash while waiting for I/O.
struct CrashAfter<F: Future> {
    inner: Option<Pin<Box<F>>>,
    suspensions_left: Option<u16>,
}

impl<F: Future> Future for CrashAfter<F> {
    /// `None`: crashed.
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending => match self.suspensions_left {
                Some(0) => {
                    self.inner = None;
                    Poll::Ready(None)
                }
                Some(n) => {
                    self.suspensions_left = Some(n - 1);
                    Poll::Pending
                }
                None => Poll::Pending,
            },
        }
    }
}

static SCHEMAS: AtomicU64 = AtomicU64::new(0);

struct Harness {
    world: World,
    schema: String,
    workers: Vec<Agent>,
    /// The store as the test reads it (its own pool).
    store: Arc<PostgresStore>,
    accepted: Vec<Event>,
    next_event: u64,
    approved: Vec<OrderId>,
}

impl Harness {
    async fn new() -> Harness {
        let mut world = World::demo();
        // A processor that forgets idempotency keys after 24 hours and does not itself refuse
        // over-refunds, so that a mistake of the agent would show instead of being caught there.
        world.payments = Arc::new(
            FakePayments::new()
                .with_payments_of(world.shop.orders.iter())
                .with_clock(world.clock.shared())
                .with_idempotency_window(Duration::hours(24))
                .with_refunds_beyond_captured(),
        );
        // Every vendor call suspends, so crashes land around vendor calls too.
        for faults in [
            world.payments.faults(),
            world.helpdesk.faults(),
            world.messaging.faults(),
            world.inventory.faults(),
        ] {
            faults.everywhere(Fault::Latency(std::time::Duration::from_micros(50)));
        }
        let schema = format!(
            "chaos_{}_{}",
            std::process::id(),
            SCHEMAS.fetch_add(1, Ordering::SeqCst)
        );
        let store = Arc::new(connect(&schema).await);
        for planned in RETURNS {
            store
                .insert_return_authorisation(&authorisation(&world, planned))
                .await
                .unwrap();
        }
        let mut harness = Harness {
            world,
            schema,
            workers: Vec::new(),
            store,
            accepted: Vec::new(),
            next_event: 0,
            approved: Vec::new(),
        };
        for _ in 0..WORKERS {
            let agent = harness.agent().await;
            harness.workers.push(agent);
        }
        harness
    }

    /// A worker process: the shared vendors, its own pool on the shared schema.
    async fn agent(&self) -> Agent {
        let store: StoreRef = Arc::new(connect(&self.schema).await);
        let ports = order_agent_core::agent::Ports {
            store,
            ..self.world.ports()
        };
        Agent::new(ports, World::demo_policy().unwrap(), World::demo_config()).unwrap()
    }

    fn event_id(&mut self) -> String {
        self.next_event += 1;
        format!("evt-{}", self.next_event)
    }

    async fn accept(&mut self, event: Event) {
        let new = self.workers[0].accept(&event).await.unwrap();
        assert!(new, "a fresh event id was not new");
        self.accepted.push(event);
    }

    async fn step(&mut self, op: &Op) {
        match op {
            Op::Receipt(n) => {
                let id = self.event_id();
                let event = receipt(&self.world, &id, &RETURNS[*n]);
                self.accept(event).await;
            }
            Op::Redeliver(i) => {
                if let Some(event) = pick(&self.accepted, *i).cloned() {
                    let new = self.workers[1].accept(&event).await.unwrap();
                    assert!(!new, "a redelivered event was accepted as new");
                }
            }
            Op::Replay(i) => {
                if let Some(mut event) = pick(&self.accepted, *i).cloned() {
                    event.id = self.event_id();
                    self.accept(event).await;
                }
            }
            Op::Tracking(o, status) => {
                let id = self.event_id();
                let order = self
                    .world
                    .shop
                    .orders
                    .iter()
                    .find(|order| order.id.as_str() == TRACKED[*o])
                    .unwrap();
                let Some(shipment) = order.shipments.first() else {
                    return;
                };
                let now = self.world.clock.peek();
                let event = Event {
                    id,
                    source: "carrier:swiss-post".to_owned(),
                    at: now,
                    kind: EventKind::TrackingUpdate {
                        order_id: order.id.clone(),
                        shipment_id: shipment.id.clone(),
                        event: tracking_event(now, *status, Some("Zürich")),
                    },
                };
                self.accept(event).await;
            }
            Op::Work(crashes) => {
                let names: Vec<String> = (0..WORKERS).map(|i| format!("w{i}")).collect();
                let runs =
                    self.workers
                        .iter()
                        .zip(crashes)
                        .zip(&names)
                        .map(|((agent, crash), name)| CrashAfter {
                            inner: Some(Box::pin(agent.work_queue(name, 4))),
                            suspensions_left: *crash,
                        });
                let results = futures_util::future::join_all(runs).await;
                for (i, result) in results.into_iter().enumerate() {
                    match result {
                        // Store errors are allowed (a crash of another worker may have left a
                        // connection broken); nothing may be lost because of them.
                        Some(_) => {}
                        None => self.workers[i] = self.agent().await,
                    }
                }
            }
            Op::Advance(minutes) => self
                .world
                .clock
                .advance(Duration::minutes(i64::from(*minutes))),
            Op::RefundTimesOutAfterSucceeding => {
                self.world
                    .payments
                    .faults()
                    .once(payments_ops::REFUND, Fault::TimeoutAfterEffect);
            }
            Op::RefundsDown(n) => {
                self.world.payments.faults().times(
                    payments_ops::REFUND,
                    Fault::Error(order_agent_core::ports::PortErrorKind::Unavailable),
                    *n,
                );
            }
            Op::Approve(n) => {
                let order = OrderId::new(RETURNS[*n].order);
                self.workers[2]
                    .resolve_held_refunds(&order, None, Approval::Approve)
                    .await;
                self.approved.push(order);
            }
        }
    }

    /// No more faults; time passes until every lease and retry is due; one worker drains.
    async fn heal(&mut self) {
        self.world.payments.faults().clear_all();
        self.world
            .payments
            .faults()
            .everywhere(Fault::Latency(std::time::Duration::from_micros(50)));
        let healer = self.agent().await;
        for _ in 0..40 {
            self.world.clock.advance(Duration::hours(2));
            healer.work_queue("healer", 64).await.unwrap();
            let stats = self
                .store
                .queue_stats(self.world.clock.peek())
                .await
                .unwrap();
            if stats.pending == 0 {
                break;
            }
        }
        // Staff approve again where paying the approved refund failed (the processor was down).
        for order in self.approved.clone() {
            let outcome = healer
                .resolve_held_refunds(&order, None, Approval::Approve)
                .await;
            if std::env::var_os("CHAOS_DEBUG").is_some() {
                eprintln!("heal approve {order}: {outcome:?}");
            }
        }
    }

    async fn check(&self) {
        let now = self.world.clock.peek();
        let stats = self.store.queue_stats(now).await.unwrap();
        assert_eq!(stats.pending, 0, "events left pending: {stats:?}");
        assert_eq!(stats.dead, 0, "events given up: {stats:?}");
        for event in &self.accepted {
            assert!(
                self.store
                    .is_processed(&event.source, &event.id)
                    .await
                    .unwrap(),
                "event {} was accepted but never processed",
                event.id
            );
        }

        let refunds = self.world.payments.all_refunds();
        let mut by_key: BTreeMap<String, Vec<Money>> = BTreeMap::new();
        let mut by_payment: BTreeMap<String, Money> = BTreeMap::new();
        for refund in refunds.iter().filter(|r| r.state != RefundState::Failed) {
            let key = refund.idempotency_key.clone().unwrap_or_default();
            by_key.entry(key).or_default().push(refund.amount);
            let sum = by_payment
                .entry(refund.payment_id.to_string())
                .or_insert_with(|| Money::zero(refund.amount.currency()));
            *sum = sum.checked_add(refund.amount).unwrap();
        }
        for (key, amounts) in &by_key {
            assert_eq!(amounts.len(), 1, "intent {key} was refunded {amounts:?}");
        }
        for order in &self.world.shop.orders {
            for payment in &order.payments {
                if let Some(sum) = by_payment.get(payment.id.as_str()) {
                    assert!(
                        sum.try_cmp(&payment.captured).unwrap().is_le(),
                        "payment {} refunded {sum}, captured {}",
                        payment.id,
                        payment.captured
                    );
                }
            }
        }

        let limit = Money::from_minor(
            15_000,
            order_agent_core::Currency::from_code("CHF").unwrap(),
        );
        let tickets = self.world.helpdesk.tickets();
        for planned in RETURNS {
            let intents = self
                .store
                .refund_intents_of_order(&OrderId::new(planned.order))
                .await
                .unwrap();
            for intent in intents {
                assert!(
                    !matches!(
                        intent.state,
                        RefundIntentState::Pending | RefundIntentState::Approved
                    ),
                    "intent {} is stuck in {:?}",
                    intent.key,
                    intent.state
                );
                let paid = by_key.get(&intent.key).map(|a| a[0]);
                match intent.state {
                    RefundIntentState::Succeeded => {
                        assert_eq!(
                            paid,
                            Some(intent.amount),
                            "intent {} paid {paid:?}",
                            intent.key
                        )
                    }
                    _ => assert_eq!(paid, None, "intent {} not succeeded but paid", intent.key),
                }
                let above_limit = intent.amount.try_cmp(&limit).unwrap().is_gt();
                if above_limit || intent.state == RefundIntentState::NeedsApproval {
                    let ticket = intent.approval_ticket.as_ref().unwrap_or_else(|| {
                        panic!(
                            "intent {} above the limit has no approval ticket",
                            intent.key
                        )
                    });
                    assert!(
                        tickets.iter().any(|t| &t.id == ticket),
                        "approval ticket {ticket} of {} does not exist",
                        intent.key
                    );
                }
            }
        }
        // Every return received was settled one way or the other: refunded, or held on a ticket.
        let received: std::collections::BTreeSet<&str> = self
            .accepted
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ReturnReceived { receipt } => Some(receipt.return_id.as_str()),
                _ => None,
            })
            .collect();
        for planned in RETURNS.iter().filter(|p| received.contains(p.id)) {
            let intents = self
                .store
                .refund_intents_of_order(&OrderId::new(planned.order))
                .await
                .unwrap();
            assert!(
                intents
                    .iter()
                    .any(|i| i.key.starts_with(&format!("refund:{}:", planned.id))),
                "return {} was received but has no refund intent",
                planned.id
            );
        }
    }

    async fn drop_schema(&self) {
        let (client, connection) = tokio_postgres::connect(URL, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

async fn connect(schema: &str) -> PostgresStore {
    let mut config = PostgresConfig::new(URL).with_schema(schema);
    config.pool_size = 2;
    PostgresStore::connect(&config).await.unwrap()
}

fn pick<T>(items: &[T], index: usize) -> Option<&T> {
    (!items.is_empty()).then(|| &items[index % items.len()])
}

fn authorisation(world: &World, planned: &Planned) -> ReturnAuthorisation {
    ReturnAuthorisation {
        id: ReturnId::new(planned.id),
        request: ReturnRequest {
            order_id: OrderId::new(planned.order),
            lines: planned
                .lines
                .iter()
                .map(|(line, quantity, _)| ReturnLine {
                    line_id: LineId::new(*line),
                    quantity: *quantity,
                    reason: ReturnReason::ChangedMind,
                    exchange_for: None,
                })
                .collect(),
            resolution: ResolutionKind::Refund,
        },
        authorised_at: days_before(world.clock.peek(), 2),
        policy_version: "chaos".to_owned(),
    }
}

/// The warehouse's scan of a return; the same return always arrives at the same time, so a
/// replay is the same receipt.
fn receipt(world: &World, id: &str, planned: &Planned) -> Event {
    let at = days_before(world.shop.now, 1);
    Event {
        id: id.to_owned(),
        source: "warehouse:zrh-1".to_owned(),
        at,
        kind: EventKind::ReturnReceived {
            receipt: Receipt {
                return_id: ReturnId::new(planned.id),
                lines: planned
                    .lines
                    .iter()
                    .map(|(line, quantity, graded)| ReceivedLine {
                        line_id: LineId::new(*line),
                        quantity: *quantity,
                        grade: graded.then_some(InspectionGrade::New),
                    })
                    .collect(),
                received_at: at,
                location: LocationId::new("zrh-1"),
                receive_only: false,
            },
        },
    }
}

fn cases() -> u32 {
    std::env::var("CHAOS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

#[test]
fn crashes_duplicates_and_four_workers_never_double_refund_or_lose_an_event() {
    if std::env::var_os("ORDER_AGENT_SKIP_POSTGRES").is_some() {
        eprintln!(
            "skipped: ORDER_AGENT_SKIP_POSTGRES is set (this test needs PostgreSQL at {URL})"
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let counts = std::sync::Mutex::new((0u64, 0u64, 0u64));
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec(op(), 10..60))| {
        runtime.block_on(async {
            let mut harness = Harness::new().await;
            for op in &ops {
                harness.step(op).await;
            }
            harness.heal().await;
            harness.check().await;
            {
                let mut counts = counts.lock().unwrap();
                counts.0 += 1;
                counts.1 += harness.accepted.len() as u64;
                counts.2 += harness.world.payments.all_refunds().len() as u64;
            }
            harness.drop_schema().await;
        });
    });
    let (cases, events, refunds) = *counts.lock().unwrap();
    eprintln!(
        "chaos: {cases} cases, {events} events accepted, {refunds} refunds, \
         0 double refunds, 0 over-captured, 0 lost events"
    );
}

//! The simulated shop: customers and orders generated from a seed, parcels moving through the
//! carrier's network with realistic incidents, customers writing in, returns coming back, all
//! driven through the real [`Agent`] over the testkit's in-memory fakes, day by day on a fake
//! clock.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Zurich;
use order_agent_core::agent::{ActionTaken, Agent, EventOutcome};
use order_agent_core::domain::{
    CancellationReason, CancellationRequest, Channel, Customer, ExchangeOffer, InspectionGrade,
    LineId, Locale, LocationId, OrderId, OrderStatus, ProductId, Receipt, ReceivedLine,
    ResolutionKind, ReturnId, ReturnLine, ReturnReason, ReturnRequest, ShipmentId, Sku, Tender,
    TicketId, TrackingNumber, TrackingStatus, VariantId,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::flows::monitor::apply_event;
use order_agent_core::policy::{Facts, Policy, Request};
use order_agent_core::ports::{Oms, Payments, ReturnStore, Tracking};
use order_agent_core::replies::Reply;
use order_agent_core::understanding::BuiltinInterpreter;
use order_agent_core::{Currency, Money};
use order_agent_testkit::builders::{
    address, tracking_event, CustomerBuilder, OrderBuilder, OrderLineBuilder, ShipmentBuilder,
};
use order_agent_testkit::fakes::{
    FakeCarrier, FakeClock, FakeHelpdesk, FakeInventory, FakeMessaging, FakeOms, FakePayments,
    FakeStore,
};
use order_agent_testkit::world::World;

use super::audit::Audit;
use super::catalog::{self, Place, Product, CATALOG, SIZES, TENDERS};
use super::figures::{ContactResult, Recorder};
use super::phrases::{self, Topic};
use super::rng::Rng;
use crate::policy::HistoryEntry;

/// What the simulation is asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) orders_per_day: u32,
    pub(crate) contact_rate: f64,
    pub(crate) days: u32,
    pub(crate) seed: u64,
    pub(crate) record_history: bool,
    pub(crate) record_transcripts: bool,
}

/// How a parcel's journey goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journey {
    OnTime,
    /// Delivered this many days after the promised latest date, with scans on the way.
    Late(i64),
    /// A failed delivery attempt, delivered the next day.
    AttemptFailed,
    /// Held at customs for this many days, then delivered.
    Customs(i64),
    /// Scans stop after sorting.
    Lost,
    /// Address problem, then back to the shop.
    ReturnedToSender,
    /// Damaged in transit, delivered anyway.
    Damaged,
}

#[derive(Debug, Clone)]
struct SimCustomer {
    record: Customer,
    place: Place,
    phone: String,
}

#[derive(Debug, Clone)]
struct SimLine {
    line_id: String,
    product: Product,
    size: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Placed,
    Shipped,
    Delivered,
    Cancelled,
    Lost,
    BackToShop,
}

#[derive(Debug, Clone)]
struct SimOrder {
    id: OrderId,
    number: String,
    customer: usize,
    placed_at: DateTime<Utc>,
    lines: Vec<SimLine>,
    journey: Journey,
    carrier: &'static str,
    tracking: TrackingNumber,
    shipment: ShipmentId,
    phase: Phase,
    delivered_at: Option<DateTime<Utc>>,
    promised_latest: Option<NaiveDate>,
    returns: Vec<ReturnId>,
    contacted: BTreeSet<Topic>,
}

/// Something that happens at a time.
#[derive(Debug, Clone)]
enum Happening {
    Place(usize),
    Ship(usize),
    Scan(usize, TrackingStatus, &'static str),
    Contact(u64),
    Receipt(usize, ReturnId),
    DailyCheck(u32),
}

/// The shop and everything around it.
pub(crate) struct Shop {
    settings: Settings,
    rng: Rng,
    start: DateTime<Utc>,
    clock: Arc<FakeClock>,
    oms: Arc<FakeOms>,
    carrier: Arc<FakeCarrier>,
    payments: Arc<FakePayments>,
    helpdesk: Arc<FakeHelpdesk>,
    store: Arc<FakeStore>,
    agent: Agent,
    customers: Vec<SimCustomer>,
    orders: Vec<SimOrder>,
    offers: Vec<ExchangeOffer>,
    agenda: BTreeMap<(DateTime<Utc>, u64), Happening>,
    sequence: u64,
    web_sessions: u64,
    seen_tickets: BTreeSet<TicketId>,
    /// What the customer in the conversation being handled wants, for labelling hand-overs.
    current_topic: Option<Topic>,
    /// The orders as built, until they are placed (then the OMS holds them).
    unplaced: Vec<Option<order_agent_core::domain::Order>>,
    index: BTreeMap<OrderId, usize>,
    pub(crate) recorder: Recorder,
    pub(crate) audit: Audit,
    pub(crate) history: Vec<HistoryEntry>,
    /// Every conversation, when asked for.
    pub(crate) transcripts: Vec<String>,
}

/// Local time in Zürich on `date` at `hour:minute`, as UTC.
fn zurich_at(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let naive = date.and_hms_opt(hour, minute, 0).unwrap_or_default();
    Zurich
        .from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
}

fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Zurich).date_naive()
}

/// The first day simulated: Monday 2 March 2026, outside any seasonal extension.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

fn locale_for(rng: &mut Rng) -> (Locale, &'static [Place]) {
    // Mostly Swiss customers; neighbours in Germany, France and Italy.
    match rng.weighted(&[0.46, 0.17, 0.05, 0.04, 0.13, 0.08, 0.07]) {
        0 => (Locale::De, catalog::CH_DE),
        1 => (Locale::Fr, catalog::CH_FR),
        2 => (Locale::It, catalog::CH_IT),
        3 => (Locale::En, catalog::CH_DE),
        4 => (Locale::De, catalog::DE),
        5 => (Locale::Fr, catalog::FR),
        _ => (Locale::It, catalog::IT),
    }
}

fn ascii_lower(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'ä' | 'Ä' => 'a',
            'ö' | 'Ö' => 'o',
            'ü' | 'Ü' => 'u',
            'é' | 'è' | 'ê' | 'É' => 'e',
            'à' | 'â' => 'a',
            'ï' | 'î' => 'i',
            'ç' => 'c',
            'ô' => 'o',
            other => other.to_ascii_lowercase(),
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

impl Shop {
    /// Generates the month's customers and orders and wires the agent over fresh fakes.
    pub(crate) fn new(settings: Settings, policy: Policy) -> Result<Shop, String> {
        let rng = Rng::new(settings.seed);
        let start = zurich_at(first_day(), 6, 0);
        let clock = Arc::new(FakeClock::at(start));
        let mut gen = rng.fork(1);
        let mut customers: Vec<SimCustomer> = Vec::new();
        let mut orders: Vec<SimOrder> = Vec::new();
        let mut built = Vec::new();
        let weights: Vec<f64> = CATALOG.iter().map(|p| p.popularity).collect();
        let mut number = 100_000u64;
        for day in 0..settings.days {
            let date = first_day() + Duration::days(i64::from(day));
            // Busier on Mondays and Sundays, quieter on Fridays and Saturdays.
            let factor = [1.15, 1.0, 1.0, 0.95, 0.85, 0.9, 1.15][(day % 7) as usize];
            let count = (f64::from(settings.orders_per_day) * factor).round() as u32;
            for _ in 0..count {
                number += 1;
                // A third of orders come from returning customers.
                let customer = if !customers.is_empty() && gen.chance(0.33) {
                    gen.below(customers.len())
                } else {
                    let (locale, places) = locale_for(&mut gen);
                    let first = gen
                        .pick(catalog::first_names(locale))
                        .copied()
                        .unwrap_or("Alex");
                    let last = gen
                        .pick(catalog::last_names(locale))
                        .copied()
                        .unwrap_or("Muster");
                    let place = gen.pick(places).copied().unwrap_or(catalog::CH_DE[0]);
                    let n = customers.len() + 1;
                    let domain = match place.country {
                        "DE" => "example.de",
                        "FR" => "example.fr",
                        "IT" => "example.it",
                        _ => "example.ch",
                    };
                    let email = format!("{}.{}{n}@{domain}", ascii_lower(first), ascii_lower(last));
                    let phone = format!(
                        "+41 79 {:03} {:02} {:02}",
                        gen.below(1000),
                        gen.below(100),
                        gen.below(100)
                    );
                    let mut builder = CustomerBuilder::new(&format!("c-{n}"))
                        .name(&format!("{first} {last}"))
                        .email(&email)
                        .locale(locale)
                        .history(0, 0)
                        .contact(Channel::Email, &email)
                        .contact(Channel::Whatsapp, &phone);
                    if gen.chance(0.06) {
                        builder = builder.tier("gold");
                    }
                    customers.push(SimCustomer {
                        record: builder.build(),
                        place,
                        phone,
                    });
                    customers.len() - 1
                };
                let minute = gen.between(7 * 60, 23 * 60 - 1);
                let placed_at = zurich_at(date, (minute / 60) as u32, (minute % 60) as u32);
                let lines_count = match gen.weighted(&[0.62, 0.28, 0.10]) {
                    0 => 1,
                    1 => 2,
                    _ => 3,
                };
                let mut lines = Vec::new();
                for l in 0..lines_count {
                    let product = CATALOG[gen.weighted(&weights)];
                    if lines
                        .iter()
                        .any(|x: &SimLine| x.product.code == product.code)
                    {
                        continue;
                    }
                    let size = product
                        .sized
                        .then(|| SIZES[gen.weighted(&[0.25, 0.45, 0.30])]);
                    lines.push(SimLine {
                        line_id: format!("L{}", l + 1),
                        product,
                        size,
                    });
                }
                let c = &customers[customer];
                let country = c.place.country;
                let eu = country != "CH";
                let journey = match gen.weighted(&[
                    0.855,
                    0.06,
                    0.02,
                    if eu { 0.06 } else { 0.0 },
                    0.011,
                    0.005,
                    0.003,
                ]) {
                    0 => Journey::OnTime,
                    1 => Journey::Late(gen.between(1, 5)),
                    2 => Journey::AttemptFailed,
                    3 => Journey::Customs(gen.between(2, 4)),
                    4 => Journey::Lost,
                    5 => Journey::ReturnedToSender,
                    _ => Journey::Damaged,
                };
                let carrier = catalog::carrier_for(country, gen.chance(0.5));
                let id = format!("o-{number}");
                let mut builder = OrderBuilder::new(&id)
                    .number(&format!("#{number}"))
                    .for_customer(&c.record)
                    .phone(&c.phone)
                    .placed_at(placed_at)
                    .ship_to(address(
                        &c.record.name,
                        c.place.street,
                        c.place.postcode,
                        c.place.city,
                        country,
                    ));
                let mut subtotal = 0;
                for line in &lines {
                    let sku = match line.size {
                        Some(size) => format!("{}-{}", line.product.code, size.to_uppercase()),
                        None => line.product.code.to_owned(),
                    };
                    let mut b = OrderLineBuilder::new(
                        &line.line_id,
                        line.product.title,
                        line.product.price_minor,
                    )
                    .category(line.product.category)
                    .sku(&sku)
                    .product(&format!("p-{}", line.product.code))
                    .variant(&format!("v-{}", sku.to_lowercase()));
                    if let Some(tag) = line.product.tag {
                        b = b.tag(tag);
                    }
                    // Outlet items: 30% off, final sale.
                    if line.product.category != "electronics" && gen.chance(0.05) {
                        b = b
                            .discount_minor(line.product.price_minor * 3 / 10)
                            .final_sale();
                    }
                    subtotal += line.product.price_minor;
                    builder = builder.line(b);
                }
                if gen.chance(0.10) {
                    builder =
                        builder.order_discount_minor(if subtotal > 10_000 { 2_000 } else { 1_000 });
                }
                builder = builder.shipping_minor(match (eu, subtotal >= 5_000) {
                    (false, true) => 0,
                    (false, false) => 790,
                    (true, _) => 1_490,
                });
                let tender =
                    TENDERS[gen.weighted(&TENDERS.iter().map(|t| t.1).collect::<Vec<_>>())].0;
                builder = if tender == Tender::GiftCard {
                    builder.gift_card_minor(5_000)
                } else {
                    builder.paid_with(tender)
                };
                let order = builder.build();
                let tracking = TrackingNumber::new(match carrier {
                    "swiss-post" => format!("99.60.{number}.{:08}", gen.below(100_000_000)),
                    "ups" => format!("1Z999AA1{number}"),
                    _ => format!("JJD00{number}{:04}", gen.below(10_000)),
                });
                orders.push(SimOrder {
                    id: order.id.clone(),
                    number: number.to_string(),
                    customer,
                    placed_at,
                    lines,
                    journey,
                    carrier,
                    tracking,
                    shipment: ShipmentId::new(format!("s-{number}-1")),
                    phase: Phase::Placed,
                    delivered_at: None,
                    promised_latest: None,
                    returns: Vec::new(),
                    contacted: BTreeSet::new(),
                });
                built.push(order);
            }
        }

        // Exchange stock: every size of every sized product, a few sold out.
        let mut offers = Vec::new();
        let mut inventory = FakeInventory::new().with_location("zrh-1");
        for product in CATALOG {
            let sizes: Vec<Option<&str>> = if product.sized {
                SIZES.iter().map(|s| Some(*s)).collect()
            } else {
                vec![None]
            };
            for size in sizes {
                let sku = match size {
                    Some(size) => format!("{}-{}", product.code, size.to_uppercase()),
                    None => product.code.to_owned(),
                };
                let available = if gen.chance(0.1) {
                    0
                } else {
                    gen.between(3, 25) as u32
                };
                inventory = inventory.with_stock(Sku::new(sku.clone()), "zrh-1", available);
                if size.is_some() {
                    offers.push(ExchangeOffer {
                        product_id: ProductId::new(format!("p-{}", product.code)),
                        variant_id: VariantId::new(format!("v-{}", sku.to_lowercase())),
                        sku: Sku::new(sku),
                        unit_price: Money::from_minor(product.price_minor, Currency::CHF),
                        available,
                    });
                }
            }
        }
        let oms = Arc::new(FakeOms::new().with_variants(offers.clone()));
        let payments = Arc::new(
            FakePayments::new()
                .with_payments_of(built.iter())
                .with_clock(clock.shared()),
        );
        let helpdesk = Arc::new(FakeHelpdesk::new().with_clock(clock.shared()));
        let carrier = Arc::new(FakeCarrier::new());
        let store = Arc::new(FakeStore::new());
        let ports = order_agent_core::agent::Ports {
            oms: oms.clone(),
            carrier: carrier.clone(),
            payments: payments.clone(),
            messaging: Arc::new(FakeMessaging::new()),
            helpdesk: helpdesk.clone(),
            inventory: Arc::new(inventory),
            store: store.clone(),
            interpreter: Arc::new(BuiltinInterpreter::new()),
            clock: clock.shared(),
        };
        let agent = Agent::new(ports, policy.clone(), World::demo_config())
            .map_err(|e| format!("the agent refuses the policy: {e}"))?;

        let mut shop = Shop {
            recorder: Recorder::new(settings.days),
            audit: Audit::new(&policy),
            history: Vec::new(),
            transcripts: Vec::new(),
            settings,
            rng: rng.fork(2),
            start,
            clock,
            oms,
            carrier,
            payments,
            helpdesk,
            store,
            agent,
            customers,
            orders: Vec::new(),
            offers,
            agenda: BTreeMap::new(),
            sequence: 0,
            web_sessions: 0,
            seen_tickets: BTreeSet::new(),
            current_topic: None,
            unplaced: built.into_iter().map(Some).collect(),
            index: orders
                .iter()
                .enumerate()
                .map(|(i, o)| (o.id.clone(), i))
                .collect(),
        };
        for (i, order) in orders.iter().enumerate() {
            shop.schedule(order.placed_at, Happening::Place(i));
        }
        shop.orders = orders;
        Ok(shop)
    }
}

/// How a contact ended, as seen from the conversation.
fn is_final(reply: &Reply) -> bool {
    !matches!(
        reply,
        Reply::AskVerification { .. }
            | Reply::NotVerified
            | Reply::AskWhichOrder { .. }
            | Reply::AskReturnDetails { .. }
            | Reply::Clarify
    )
}

/// The label of an escalation for the figures: its kind, and the reason that sent it to a person.
fn escalation_label(key: &str, reasons: &[String]) -> String {
    const HUMAN: [&str; 16] = [
        "above_refund_limit",
        "above_customer_period_limit",
        "high_value_order",
        "fraud_flagged",
        "return_rate_too_high",
        "too_many_returns",
        "blocklisted",
        "partial_refund",
        "disputed",
        "capped_at_refundable",
        "warranty_claim",
        "rule_error",
        "reason_not_allowed",
        "currency_mismatch",
        "receipt_mismatch",
        "inspection_required",
    ];
    let kind = key
        .strip_prefix("ticket:")
        .unwrap_or(key)
        .split(':')
        .next()
        .unwrap_or("other");
    match kind {
        "exception" => format!(
            "shipping exception: {}",
            key.rsplit(':').next().unwrap_or("other").replace('_', " ")
        ),
        "handover" => {
            let topic = reasons
                .iter()
                .find_map(|r| r.strip_prefix("handover:"))
                .unwrap_or("customer_request");
            format!("handed over: {}", topic.replace('_', " "))
        }
        "unavailable" => "system unavailable".to_owned(),
        _ => {
            // The strongest reason a person was needed, in the order of `HUMAN`.
            let why = HUMAN
                .iter()
                .find(|h| reasons.iter().any(|r| r == *h))
                .map(|h| (*h).to_owned())
                .or_else(|| reasons.last().cloned())
                .map_or_else(|| "other".to_owned(), |r| r.replace('_', " "));
            let what = match kind {
                "return" => "return request",
                "cancel" => "cancellation",
                "approval" => "refund on receipt",
                "grade" => "receipt needs a grade",
                "store-credit" => "store credit to issue",
                other => other,
            };
            format!("{what}: {why}")
        }
    }
}

impl Shop {
    fn schedule(&mut self, at: DateTime<Utc>, happening: Happening) {
        self.sequence += 1;
        self.agenda.insert((at, self.sequence), happening);
    }

    fn day_of(&self, at: DateTime<Utc>) -> usize {
        usize::try_from((local_date(at) - first_day()).num_days()).unwrap_or(0)
    }

    /// Runs the month.
    pub(crate) async fn run(&mut self) {
        // Contacts and the nightly check, day by day.
        let mut contacts = self.rng.fork(3);
        for day in 0..self.settings.days {
            let date = first_day() + Duration::days(i64::from(day));
            let orders_today = self
                .orders
                .iter()
                .filter(|o| local_date(o.placed_at) == date)
                .count();
            for _ in 0..orders_today {
                if contacts.chance(self.settings.contact_rate) {
                    let minute = contacts.between(8 * 60, 22 * 60 - 1);
                    let at = zurich_at(date, (minute / 60) as u32, (minute % 60) as u32);
                    let seed = contacts.next_u64();
                    self.schedule(at, Happening::Contact(seed));
                }
            }
            self.schedule(zurich_at(date, 23, 30), Happening::DailyCheck(day));
        }
        let end = zurich_at(
            first_day() + Duration::days(i64::from(self.settings.days)),
            0,
            0,
        );
        while let Some(((at, _), happening)) = self.agenda.pop_first() {
            if at >= end {
                break;
            }
            self.clock.set(at);
            match happening {
                Happening::Place(i) => self.place(i),
                Happening::Ship(i) => self.ship(i).await,
                Happening::Scan(i, status, location) => self.scan(i, status, location).await,
                Happening::Contact(seed) => self.contact(seed).await,
                Happening::Receipt(i, return_id) => self.receipt(i, &return_id).await,
                Happening::DailyCheck(day) => self.daily_check(day).await,
            }
        }
        let left: Vec<Money> = self
            .payments
            .all_refunds()
            .iter()
            .map(|r| r.amount)
            .collect();
        self.audit.finish(&self.payments, left.len()).await;
        self.recorder.tickets = self.helpdesk.tickets().len();
        let _ = self.start;
    }

    fn place(&mut self, i: usize) {
        let Some(order) = self.unplaced.get_mut(i).and_then(Option::take) else {
            return;
        };
        let placed_at = order.placed_at;
        if let Some(c) = self
            .orders
            .get(i)
            .and_then(|o| self.customers.get_mut(o.customer))
        {
            c.record.history.orders += 1;
            self.oms.insert_customer(c.record.clone());
        }
        self.oms.insert_order(order);
        let day = self.day_of(placed_at);
        self.recorder.order_placed(day);
        // Picked and packed the same afternoon when ordered before two, else the next morning.
        let local = placed_at.with_timezone(&Zurich);
        let date = local.date_naive();
        let ship_at = if chrono::Timelike::hour(&local) < 14 {
            zurich_at(date, 16, self.rng.below(50) as u32)
        } else {
            zurich_at(date + Duration::days(1), 9, self.rng.below(50) as u32)
        };
        self.schedule(ship_at, Happening::Ship(i));
    }

    /// Applies `event` to the OMS's order, as the OMS would on the same webhook, keeps the
    /// carrier's tracking in step, and hands the event to the agent.
    async fn feed(&mut self, i: usize, event: Event) -> Option<EventOutcome> {
        let order_id = self.orders.get(i)?.id.clone();
        let current = self.oms.order_snapshot(&order_id)?;
        let updated = apply_event(&current, &event);
        if let Some(shipment) = updated.shipments.first() {
            if let Some(number) = &shipment.tracking_number {
                self.carrier.set_tracking(Tracking {
                    carrier: shipment.carrier.clone(),
                    tracking_number: number.clone(),
                    status: shipment
                        .events
                        .last()
                        .map_or(TrackingStatus::LabelCreated, |e| e.status),
                    events: shipment.events.clone(),
                    eta: None,
                });
            }
        }
        self.oms.insert_order(updated);
        let outcome = self.agent.handle_event(&event).await;
        let day = self.day_of(event.at);
        let new_tickets = self.new_tickets(&outcome.actions);
        let kind = match &event.kind {
            EventKind::ShipmentCreated { .. } => "shipment created (OMS)",
            EventKind::TrackingUpdate { .. } => "carrier scan",
            EventKind::ReturnReceived { .. } => "warehouse receipt",
            _ => "other",
        };
        self.recorder
            .event(day, kind, !new_tickets.is_empty(), &outcome);
        Some(outcome)
    }

    /// The tickets among `actions` that were not open before, recorded by reason.
    fn new_tickets(&mut self, actions: &[ActionTaken]) -> Vec<String> {
        let mut labels = Vec::new();
        for action in actions {
            if let ActionTaken::TicketOpened { ticket_id, key } = action {
                if self.seen_tickets.insert(ticket_id.clone()) {
                    let reasons = self
                        .helpdesk
                        .tickets()
                        .into_iter()
                        .find(|t| &t.id == ticket_id)
                        .map(|t| t.escalation.reasons)
                        .unwrap_or_default();
                    let mut label = escalation_label(key, &reasons);
                    if let (Some(topic), true) = (
                        self.current_topic
                            .filter(|t| !matches!(t, Topic::Complaint | Topic::Human)),
                        label.starts_with("handed over"),
                    ) {
                        label = format!(
                            "{label} (customer wrote about: {})",
                            crate::input::wire_name(&topic).replace('_', " ")
                        );
                    }
                    self.recorder
                        .escalation(self.day_of(self.clock.peek()), &label);
                    labels.push(label);
                }
            }
        }
        labels
    }

    async fn ship(&mut self, i: usize) {
        let Some(order) = self.orders.get(i).cloned() else {
            return;
        };
        let Some(current) = self.oms.order_snapshot(&order.id) else {
            return;
        };
        if current.status == OrderStatus::Cancelled {
            if let Some(o) = self.orders.get_mut(i) {
                o.phase = Phase::Cancelled;
            }
            return;
        }
        let now = self.clock.peek();
        let ship_date = local_date(now);
        let country = current.shipping_address.country.clone();
        let transit = if country == "CH" {
            1
        } else {
            self.rng.between(2, 3)
        };
        let promised_latest = ship_date + Duration::days(transit + i64::from(country == "CH"));
        let shipment = ShipmentBuilder::new(order.shipment.as_str())
            .carrier(order.carrier)
            .tracking_number(order.tracking.as_str())
            .promised(ship_date + Duration::days(1), promised_latest)
            .without_implied_scans()
            .scan(now, TrackingStatus::LabelCreated, "")
            .build();
        let mut shipment = shipment;
        shipment.lines = current
            .lines
            .iter()
            .map(|l| order_agent_core::domain::ShipmentLine {
                line_id: l.id.clone(),
                quantity: l.quantity,
            })
            .collect();
        let event = Event {
            id: format!("oms-shipment-{}", order.shipment),
            source: "oms".to_owned(),
            at: now,
            kind: EventKind::ShipmentCreated {
                order_id: order.id.clone(),
                shipment,
            },
        };
        self.feed(i, event).await;
        if let Some(o) = self.orders.get_mut(i) {
            o.phase = Phase::Shipped;
            o.promised_latest = Some(promised_latest);
        }
        // The parcel's journey, as the carrier will report it.
        let hub = match country.as_str() {
            "CH" => "Härkingen",
            "DE" => "Weil am Rhein",
            "FR" => "Saint-Louis",
            _ => "Chiasso",
        };
        self.schedule(
            now + Duration::hours(2),
            Happening::Scan(i, TrackingStatus::PickedUp, "Zürich-Mülligen"),
        );
        self.schedule(
            now + Duration::hours(9),
            Happening::Scan(i, TrackingStatus::InTransit, hub),
        );
        let due = ship_date + Duration::days(transit);
        let at = |date: NaiveDate, rng: &mut Rng| {
            zurich_at(date, rng.between(9, 16) as u32, rng.below(60) as u32)
        };
        let deliver = |shop: &mut Shop, date: NaiveDate| {
            shop.schedule(
                zurich_at(date, 7, 40),
                Happening::Scan(i, TrackingStatus::OutForDelivery, "local depot"),
            );
            let when = at(date, &mut shop.rng);
            shop.schedule(when, Happening::Scan(i, TrackingStatus::Delivered, ""));
        };
        match order.journey {
            Journey::OnTime => deliver(self, due),
            Journey::Late(days) => {
                let arrival = promised_latest + Duration::days(days);
                // Sorted again every other day on the way.
                let mut d = ship_date + Duration::days(2);
                while d < arrival {
                    let when = at(d, &mut self.rng);
                    self.schedule(
                        when,
                        Happening::Scan(i, TrackingStatus::InTransit, "sorting centre"),
                    );
                    d += Duration::days(2);
                }
                deliver(self, arrival);
            }
            Journey::AttemptFailed => {
                let when = at(due, &mut self.rng);
                self.schedule(
                    when,
                    Happening::Scan(i, TrackingStatus::DeliveryAttemptFailed, ""),
                );
                deliver(self, due + Duration::days(1));
            }
            Journey::Customs(days) => {
                let held = ship_date + Duration::days(1);
                let when = at(held, &mut self.rng);
                self.schedule(when, Happening::Scan(i, TrackingStatus::CustomsHold, hub));
                let released = held + Duration::days(days);
                let when = at(released, &mut self.rng);
                self.schedule(when, Happening::Scan(i, TrackingStatus::InTransit, hub));
                deliver(self, released + Duration::days(1));
            }
            Journey::Lost => {}
            Journey::ReturnedToSender => {
                let when = at(due, &mut self.rng);
                self.schedule(when, Happening::Scan(i, TrackingStatus::AddressIssue, ""));
                let when = at(due + Duration::days(2), &mut self.rng);
                self.schedule(
                    when,
                    Happening::Scan(i, TrackingStatus::ReturnedToSender, ""),
                );
            }
            Journey::Damaged => {
                let when = at(ship_date + Duration::days(1), &mut self.rng);
                self.schedule(when, Happening::Scan(i, TrackingStatus::Damaged, hub));
                deliver(self, due + Duration::days(1));
            }
        }
    }

    async fn scan(&mut self, i: usize, status: TrackingStatus, location: &'static str) {
        let Some(order) = self.orders.get(i).cloned() else {
            return;
        };
        let now = self.clock.peek();
        self.sequence += 1;
        let event = Event {
            id: format!("{}-{}-{}", order.carrier, order.tracking, self.sequence),
            source: format!("carrier:{}", order.carrier),
            at: now,
            kind: EventKind::TrackingUpdate {
                order_id: order.id.clone(),
                shipment_id: order.shipment.clone(),
                event: tracking_event(now, status, Some(location).filter(|l| !l.is_empty())),
            },
        };
        self.feed(i, event).await;
        if let Some(o) = self.orders.get_mut(i) {
            match status {
                TrackingStatus::Delivered => {
                    o.phase = Phase::Delivered;
                    o.delivered_at = Some(now);
                }
                TrackingStatus::ReturnedToSender => o.phase = Phase::BackToShop,
                _ => {}
            }
        }
    }

    /// The scheduled check of every parcel still on its way: silent parcels and delays.
    async fn daily_check(&mut self, day: u32) {
        let open: Vec<usize> = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o.phase, Phase::Shipped | Phase::Lost))
            .map(|(i, _)| i)
            .collect();
        for i in open {
            let Some(order_id) = self.orders.get(i).map(|o| o.id.clone()) else {
                continue;
            };
            let outcome = self.agent.check_order(&order_id).await;
            let new_tickets = self.new_tickets(&outcome.actions);
            // A check that finds nothing new (nothing, or an exception already ticketed and
            // notified) is no work for anyone; one that finds a new exception is an event like
            // any other.
            let acted = outcome
                .actions
                .iter()
                .any(|a| matches!(a, ActionTaken::MessageSent { .. }));
            if acted || !new_tickets.is_empty() {
                self.recorder.event(
                    day as usize,
                    "scheduled check finding a new exception",
                    !new_tickets.is_empty(),
                    &outcome,
                );
            }
            if outcome
                .exceptions
                .iter()
                .any(|e| e.kind == order_agent_core::flows::shipping::ExceptionKind::Lost)
            {
                if let Some(o) = self.orders.get_mut(i) {
                    o.phase = Phase::Lost;
                }
            }
        }
    }

    /// What the shell would know about an order now, gathered independently of the agent: the
    /// OMS's order with the processor's payments, the customer, and earlier returns.
    async fn facts_now(&self, order_id: &OrderId, except: Option<&ReturnId>) -> Option<Facts> {
        let mut order = self.oms.order_snapshot(order_id)?;
        for payment in &mut order.payments {
            if let Ok(Some(fresh)) = self.payments.payment(&payment.id).await {
                *payment = fresh;
            }
        }
        let customer = self.oms.customer(&order.customer_id).await.ok()??;
        let mut returned_quantities: BTreeMap<LineId, u32> = BTreeMap::new();
        let earlier = self
            .store
            .return_authorisations_of_order(order_id)
            .await
            .unwrap_or_default();
        for authorisation in earlier.iter().filter(|a| Some(&a.id) != except) {
            for line in &authorisation.request.lines {
                *returned_quantities.entry(line.line_id.clone()).or_insert(0) += line.quantity;
            }
        }
        Some(Facts {
            order,
            customer,
            returned_quantities,
            exchange_offers: Vec::new(),
            gift_card_balance: None,
        })
    }

    fn remember(&mut self, request: &Request, facts: &Facts, source: &str) {
        if self.settings.record_history {
            self.history.push(HistoryEntry {
                request: request.clone(),
                facts: facts.clone(),
                now: self.clock.peek(),
                source: Some(source.to_owned()),
            });
        }
    }

    /// After money may have moved: keeps the customer's history in the OMS up to date, as the
    /// OMS would, so that rolling limits see it.
    fn book_refunds(&mut self, customer: usize, refunded: Money, returns_authorised: u32) {
        let Some(c) = self.customers.get_mut(customer) else {
            return;
        };
        let history = &mut c.record.history;
        history.returns += returns_authorised;
        history.returns_in_period += returns_authorised;
        if refunded.is_positive() {
            history.refunded_in_period = history
                .refunded_in_period
                .and_then(|r| r.checked_add(refunded).ok());
        }
        self.oms.insert_customer(c.record.clone());
    }

    async fn receipt(&mut self, i: usize, return_id: &ReturnId) {
        let Some(order) = self.orders.get(i).cloned() else {
            return;
        };
        let Ok(Some(authorisation)) = self.store.return_authorisation(return_id).await else {
            return;
        };
        let now = self.clock.peek();
        let mut rng = self.rng.fork(self.sequence);
        let lines = authorisation
            .request
            .lines
            .iter()
            .map(|l| {
                let electronics = order.lines.iter().any(|s| {
                    s.line_id == l.line_id.as_str() && s.product.category == "electronics"
                });
                // The warehouse grades what needs inspection; apparel is scanned in.
                let grade = if electronics {
                    let defective =
                        matches!(l.reason, ReturnReason::Defective | ReturnReason::Damaged);
                    let weights: &[f64] = if defective {
                        &[0.05, 0.05, 0.05, 0.1, 0.75, 0.0]
                    } else {
                        &[0.5, 0.32, 0.1, 0.05, 0.02, 0.01]
                    };
                    Some(
                        [
                            InspectionGrade::New,
                            InspectionGrade::OpenBox,
                            InspectionGrade::Refurbish,
                            InspectionGrade::Damaged,
                            InspectionGrade::Defective,
                            InspectionGrade::NotAsSold,
                        ][rng.weighted(weights)],
                    )
                } else {
                    None
                };
                ReceivedLine {
                    line_id: l.line_id.clone(),
                    quantity: l.quantity,
                    grade,
                }
            })
            .collect();
        let receipt = Receipt {
            return_id: return_id.clone(),
            lines,
            received_at: now,
            location: LocationId::new("zrh-1"),
            receive_only: false,
        };
        let request = Request::Receipt {
            authorised: authorisation.request.clone(),
            receipt: receipt.clone(),
        };
        // The full facts, with the variants on offer: an exchange's difference is priced from
        // them. (The agent's shell gathers receipt facts without them; see the report.)
        let facts = self
            .facts_now(&order.id, Some(return_id))
            .await
            .map(|facts| self.with_offers(facts));
        if let Some(facts) = &facts {
            self.remember(&request, facts, "receipt");
        }
        let before = self.payments.all_refunds().len();
        let event = Event {
            id: format!("wh-{return_id}"),
            source: "warehouse:zrh-1".to_owned(),
            at: now,
            kind: EventKind::ReturnReceived { receipt },
        };
        let outcome = self.feed(i, event).await;
        let after = self.payments.all_refunds();
        let made: Vec<_> = after.get(before..).unwrap_or_default().to_vec();
        let refunded = self.audit.check_step(
            &format!("receipt of {return_id}"),
            &request,
            facts.as_ref(),
            now,
            &made,
        );
        if let Some(outcome) = &outcome {
            self.recorder.money(outcome, &made);
        }
        self.book_refunds(order.customer, refunded, 0);
    }
}

/// What a customer in a conversation has said so far, and how they behave.
struct Speaker {
    locale: Locale,
    channel: Channel,
    sender: String,
    order_ref: String,
    email: String,
    postcode: String,
    order_given: bool,
    email_given: bool,
    postcode_given: bool,
    /// Types a wrong postcode the first time.
    typo: bool,
    typo_made: bool,
}

impl Speaker {
    /// The details still missing, as the customer would write them (`answer`: the agent just
    /// asked for them).
    fn missing_details(&mut self, rng: &mut Rng, answer: bool) -> String {
        let email = (!self.email_given).then(|| self.email.clone());
        let postcode = (!self.postcode_given).then(|| {
            if self.typo && !self.typo_made {
                self.typo_made = true;
                let mut wrong: Vec<char> = self.postcode.chars().collect();
                if let Some(last) = wrong.last_mut() {
                    *last = if *last == '9' {
                        '1'
                    } else {
                        char::from(*last as u8 + 1)
                    };
                }
                wrong.into_iter().collect()
            } else {
                self.postcode.clone()
            }
        });
        self.email_given |= email.is_some();
        self.postcode_given |= postcode.is_some();
        phrases::details(
            rng,
            self.locale,
            email.as_deref(),
            postcode.as_deref(),
            answer,
        )
    }

    /// Answers a request for identity details: most people give what was asked for (email and
    /// postcode) again in full; some only what they think is missing.
    fn answer_details(&mut self, rng: &mut Rng) -> String {
        if rng.chance(0.85) {
            self.email_given = false;
            self.postcode_given = false;
        } else if self.channel == Channel::Email {
            // Writing from their address, they consider the email given.
            self.email_given = true;
        }
        let text = self.missing_details(rng, true);
        if text.is_empty() {
            self.email_given = false;
            self.postcode_given = false;
            return self.missing_details(rng, true);
        }
        text
    }
}

impl Shop {
    /// Orders a customer with `topic` would write about, with how likely each is.
    fn candidates(&self, topic: Topic, now: DateTime<Utc>) -> Vec<(usize, f64)> {
        let today = local_date(now);
        let age = |o: &SimOrder| (now - o.placed_at).num_hours();
        let since_delivery =
            |o: &SimOrder| o.delivered_at.map_or(i64::MAX, |d| (now - d).num_days());
        self.orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.placed_at <= now && !o.contacted.contains(&topic))
            .filter_map(|(i, o)| {
                let weight = match topic {
                    Topic::Wismo => match o.phase {
                        // Late and silent parcels draw more questions, but most questions are
                        // about parcels on their way as promised.
                        Phase::Lost => 3.0,
                        Phase::Shipped if o.promised_latest.is_some_and(|p| today > p) => 3.0,
                        Phase::Shipped if matches!(o.journey, Journey::Customs(_)) => 2.0,
                        Phase::Shipped if age(o) >= 36 => 1.0,
                        Phase::Placed if age(o) >= 24 => 0.7,
                        _ => 0.0,
                    },
                    Topic::Return => {
                        let d = since_delivery(o);
                        if o.phase == Phase::Delivered
                            && o.returns.is_empty()
                            && (1..=25).contains(&d)
                        {
                            if matches!(o.journey, Journey::Damaged) {
                                5.0
                            } else {
                                1.0
                            }
                        } else {
                            0.0
                        }
                    }
                    Topic::Exchange => {
                        let d = since_delivery(o);
                        let sized = o.lines.iter().any(|l| l.size.is_some());
                        if o.phase == Phase::Delivered
                            && o.returns.is_empty()
                            && sized
                            && (1..=20).contains(&d)
                        {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Topic::Cancel => match o.phase {
                        Phase::Placed if age(o) <= 30 => 1.0,
                        Phase::Shipped if age(o) <= 30 => 0.25,
                        _ => 0.0,
                    },
                    Topic::AddressChange => {
                        if o.phase == Phase::Placed {
                            1.0
                        } else {
                            0.0
                        }
                    }
                    Topic::RefundStatus => {
                        if o.returns.is_empty() {
                            0.0
                        } else {
                            1.0
                        }
                    }
                    Topic::Question | Topic::Complaint | Topic::Human => {
                        if age(o) <= 20 * 24 {
                            1.0
                        } else {
                            0.0
                        }
                    }
                };
                (weight > 0.0).then_some((i, weight))
            })
            .collect()
    }

    /// `facts` with the variants on offer for the order's products.
    fn with_offers(&self, mut facts: Facts) -> Facts {
        let products: BTreeSet<&ProductId> =
            facts.order.lines.iter().map(|l| &l.product_id).collect();
        facts.exchange_offers = self
            .offers
            .iter()
            .filter(|o| products.contains(&o.product_id))
            .cloned()
            .collect();
        facts
    }

    async fn facts_of_customer(&self, customer: usize) -> BTreeMap<OrderId, Facts> {
        let mut all = BTreeMap::new();
        let ids: Vec<OrderId> = self
            .orders
            .iter()
            .filter(|o| o.customer == customer && o.placed_at <= self.clock.peek())
            .map(|o| o.id.clone())
            .collect();
        for id in ids {
            if let Some(facts) = self.facts_now(&id, None).await {
                all.insert(id, self.with_offers(facts));
            }
        }
        all
    }

    /// One customer contact: a conversation of a few messages until the agent answers, asks a
    /// person, or the customer gives up.
    async fn contact(&mut self, seed: u64) {
        let mut rng = Rng::new(seed);
        let now = self.clock.peek();
        let day = self.day_of(now);
        let topics = [
            (Topic::Wismo, 0.33),
            (Topic::Return, 0.22),
            (Topic::Exchange, 0.05),
            (Topic::Cancel, 0.07),
            (Topic::AddressChange, 0.05),
            (Topic::RefundStatus, 0.08),
            (Topic::Question, 0.10),
            (Topic::Complaint, 0.05),
            (Topic::Human, 0.05),
        ];
        let weights: Vec<f64> = topics.iter().map(|t| t.1).collect();
        // Early in the month nothing has been delivered yet, so nobody returns anything: draw
        // again among the topics someone has a reason to write about.
        let mut topic = Topic::Question;
        let mut candidates = Vec::new();
        for _ in 0..8 {
            let drawn = topics[rng.weighted(&weights)].0;
            let found = self.candidates(drawn, now);
            if !found.is_empty() {
                topic = drawn;
                candidates = found;
                break;
            }
        }
        if candidates.is_empty() {
            candidates = self.candidates(topic, now);
        }
        let Some(&(i, _)) =
            candidates.get(rng.weighted(&candidates.iter().map(|c| c.1).collect::<Vec<_>>()))
        else {
            return;
        };
        let Some(order) = self.orders.get(i).cloned() else {
            return;
        };
        if let Some(o) = self.orders.get_mut(i) {
            o.contacted.insert(topic);
        }
        let Some(customer) = self.customers.get(order.customer).cloned() else {
            return;
        };
        let locale = customer.record.locale;
        let channel = [Channel::Email, Channel::WebChat, Channel::Whatsapp]
            [rng.weighted(&[0.45, 0.40, 0.15])];
        let sender = match channel {
            Channel::Email => customer.record.email.clone(),
            Channel::Whatsapp | Channel::Sms => customer.phone.clone(),
            Channel::WebChat => {
                self.web_sessions += 1;
                format!("web-{}", self.web_sessions)
            }
        };
        let order_topic = !matches!(topic, Topic::Question | Topic::Human);
        let order_ref = if rng.chance(0.6) {
            format!("#{}", order.number)
        } else {
            order.number.clone()
        };
        let mut speaker = Speaker {
            locale,
            channel,
            sender: sender.clone(),
            order_ref: order_ref.clone(),
            email: customer.record.email.clone(),
            postcode: customer.place.postcode.to_owned(),
            order_given: order_topic
                && rng.chance(if topic == Topic::Complaint { 0.7 } else { 0.9 }),
            email_given: false,
            postcode_given: false,
            typo: rng.chance(0.03),
            typo_made: false,
        };

        // The item and the reason, for returns and exchanges.
        let sized: Vec<&SimLine> = order.lines.iter().filter(|l| l.size.is_some()).collect();
        let line = if topic == Topic::Exchange {
            sized.get(rng.below(sized.len())).copied()
        } else {
            order.lines.get(rng.below(order.lines.len()))
        };
        let line = line.cloned();
        let reason = line.as_ref().map(|l| {
            let options: &[(ReturnReason, f64)] = if l.product.category == "electronics" {
                &[
                    (ReturnReason::Defective, 0.25),
                    (ReturnReason::ChangedMind, 0.40),
                    (ReturnReason::Damaged, 0.10),
                    (ReturnReason::NotAsDescribed, 0.15),
                    (ReturnReason::WrongItem, 0.10),
                ]
            } else if topic == Topic::Exchange {
                &[(ReturnReason::DoesNotFit, 1.0)]
            } else if order.journey == Journey::Damaged {
                &[(ReturnReason::Damaged, 1.0)]
            } else {
                &[
                    (ReturnReason::DoesNotFit, 0.50),
                    (ReturnReason::ChangedMind, 0.25),
                    (ReturnReason::NotAsDescribed, 0.10),
                    (ReturnReason::Damaged, 0.07),
                    (ReturnReason::WrongItem, 0.08),
                ]
            };
            options[rng.weighted(&options.iter().map(|o| o.1).collect::<Vec<_>>())].0
        });
        let reason_text = reason
            .map(|r| phrases::reason(&mut rng, locale, r))
            .unwrap_or_default();
        let item_word = line.as_ref().map_or(String::new(), |l| {
            let words = l.product.words;
            match locale {
                Locale::En => words[0].to_owned(),
                Locale::De if rng.chance(0.6) => words[1].to_owned(),
                Locale::Fr if rng.chance(0.6) => words[2].to_owned(),
                Locale::It if rng.chance(0.6) => words[3].to_owned(),
                _ => l.product.title.to_owned(),
            }
        });
        let new_size = line
            .as_ref()
            .and_then(|l| l.size)
            .map(|current| {
                let others: Vec<&str> = SIZES.iter().copied().filter(|s| *s != current).collect();
                others.get(rng.below(others.len())).copied().unwrap_or("l")
            })
            .unwrap_or("l")
            .to_uppercase();

        // What the customer wants, as a request for the backtest history.
        let focus_facts = self.facts_of_customer(order.customer).await;
        if let (Some(facts), Some(l), Some(reason)) = (focus_facts.get(&order.id), &line, reason) {
            if matches!(topic, Topic::Return | Topic::Exchange) {
                let exchange_for = (topic == Topic::Exchange).then(|| {
                    VariantId::new(format!("v-{}-{}", l.product.code, new_size).to_lowercase())
                });
                let request = Request::Return(ReturnRequest {
                    order_id: order.id.clone(),
                    lines: vec![ReturnLine {
                        line_id: LineId::new(l.line_id.clone()),
                        quantity: 1,
                        reason,
                        exchange_for,
                    }],
                    resolution: if topic == Topic::Exchange {
                        ResolutionKind::Exchange
                    } else {
                        ResolutionKind::Refund
                    },
                });
                self.remember(&request, facts, "return request");
            }
        }
        if let Some(facts) = focus_facts.get(&order.id) {
            if topic == Topic::Cancel {
                let request = Request::Cancellation(CancellationRequest {
                    order_id: order.id.clone(),
                    reason: CancellationReason::Other,
                });
                self.remember(&request, facts, "cancellation request");
            }
        }

        let opening_ref = if speaker.order_given {
            order_ref.as_str()
        } else {
            ""
        };
        let mut text =
            phrases::opening(&mut rng, locale, topic, opening_ref, &item_word, &new_size);
        if (topic == Topic::Return && rng.chance(0.75)) || topic == Topic::Exchange {
            text = format!("{text} {reason_text}");
        }
        let give_email = channel != Channel::Email && rng.chance(0.55);
        let give_postcode = rng.chance(0.35);
        if order_topic && (give_email || give_postcode) {
            // The details the customer volunteers up front.
            let mut first = Speaker {
                email_given: !give_email,
                postcode_given: !give_postcode,
                ..Speaker {
                    locale,
                    channel,
                    sender: sender.clone(),
                    order_ref: order_ref.clone(),
                    email: speaker.email.clone(),
                    postcode: speaker.postcode.clone(),
                    order_given: true,
                    email_given: false,
                    postcode_given: false,
                    typo: speaker.typo,
                    typo_made: false,
                }
            };
            let details = first.missing_details(&mut rng, false);
            speaker.email_given |= give_email;
            speaker.postcode_given |= give_postcode;
            speaker.typo_made |= first.typo_made;
            text = format!("{text} {details}");
        }

        self.current_topic = Some(topic);
        let mut escalated = false;
        let mut result = ContactResult::Abandoned;
        let mut asked_details = 0;
        let mut asked_items = 0;
        let mut rephrased = false;
        let mut retried = false;
        let mut turns = 0u32;
        let mut facts = focus_facts;
        let mut transcript = format!(
            "== {} {:?} {} order {} ({:?}, {:?})\n",
            now.format("%Y-%m-%d %H:%M"),
            topic,
            locale.tag(),
            order.number,
            order.phase,
            channel
        );
        loop {
            turns += 1;
            if turns > 7 {
                break;
            }
            let before = self.payments.all_refunds().len();
            let turn = match self
                .agent
                .handle_message(channel, &speaker.sender, &text)
                .await
            {
                Ok(turn) => turn,
                Err(e) => {
                    self.recorder.agent_errors.push(format!("{e}"));
                    break;
                }
            };
            let now = self.clock.peek();
            if self.settings.record_transcripts {
                let _ = std::fmt::Write::write_fmt(
                    &mut transcript,
                    format_args!(
                        "> {text}\n< {}\n  [{}]\n",
                        turn.rendered.body.replace('\n', " / "),
                        turn.reasons.join(", ")
                    ),
                );
            }
            let made: Vec<_> = self
                .payments
                .all_refunds()
                .get(before..)
                .unwrap_or_default()
                .to_vec();
            if turn
                .actions
                .iter()
                .any(|a| matches!(a, ActionTaken::TicketOpened { .. }))
            {
                escalated = true;
            }
            self.new_tickets(&turn.actions);
            self.recorder.money(
                &EventOutcome {
                    actions: turn.actions.clone(),
                    ..EventOutcome::default()
                },
                &made,
            );
            // Money that moved in a conversation can only be a cancellation's refund.
            let cancelled = turn.actions.iter().find_map(|a| match a {
                ActionTaken::OrderCancelled { order_id } => Some(order_id.clone()),
                _ => None,
            });
            if let Some(order_id) = &cancelled {
                self.recorder.cancellations += 1;
                if let Some(&j) = self.index.get(order_id) {
                    if let Some(o) = self.orders.get_mut(j) {
                        o.phase = Phase::Cancelled;
                    }
                }
            }
            if !made.is_empty() || cancelled.is_some() {
                let request = Request::Cancellation(CancellationRequest {
                    order_id: cancelled.clone().unwrap_or_else(|| order.id.clone()),
                    reason: CancellationReason::Other,
                });
                let facts_then = cancelled.as_ref().and_then(|id| facts.get(id));
                let refunded = self.audit.check_step(
                    &format!("conversation with {}", speaker.sender),
                    &request,
                    facts_then,
                    now,
                    &made,
                );
                self.book_refunds(order.customer, refunded, 0);
            }
            for action in &turn.actions {
                if let ActionTaken::ReturnAuthorised { return_id } = action {
                    self.authorised(return_id, &facts, order.customer).await;
                }
            }
            if matches!(turn.reply, Reply::ReturnDenied { .. }) {
                self.recorder.returns_denied += 1;
            }
            match &turn.reply {
                Reply::AskVerification { .. } => {
                    asked_details += 1;
                    if asked_details > 2 {
                        break;
                    }
                    let mut parts = Vec::new();
                    if order_topic && !speaker.order_given {
                        speaker.order_given = true;
                        parts.push(phrases::which_order(locale, &speaker.order_ref));
                    }
                    parts.push(speaker.answer_details(&mut rng));
                    text = parts.join(" ");
                }
                Reply::NotVerified => {
                    if speaker.typo_made && !retried {
                        // "Sorry, wrong postcode": they try again with the right one.
                        retried = true;
                        speaker.postcode_given = false;
                        speaker.typo = false;
                        if speaker.channel != Channel::Email {
                            speaker.email_given = false;
                        }
                        let mut parts = Vec::new();
                        if order_topic {
                            parts.push(phrases::which_order(locale, &speaker.order_ref));
                        }
                        parts.push(speaker.missing_details(&mut rng, true));
                        text = parts.join(" ");
                    } else {
                        break;
                    }
                }
                Reply::AskWhichOrder { .. } => {
                    speaker.order_given = true;
                    text = phrases::which_order(locale, &speaker.order_ref);
                }
                Reply::AskReturnDetails { items, .. } => {
                    asked_items += 1;
                    if asked_items > 3 {
                        break;
                    }
                    let Some(l) = &line else { break };
                    let titles: Vec<&str> = order.lines.iter().map(|l| l.product.title).collect();
                    let variant_question = topic == Topic::Exchange
                        && !items.iter().any(|i| titles.contains(&i.as_str()));
                    text = if asked_items > 1 && !variant_question {
                        // Asked again, people write a whole sentence and put the reason in
                        // other words.
                        let again = reason
                            .map(|r| phrases::reason_again(&mut rng, locale, r, &reason_text))
                            .unwrap_or_default();
                        let sentence = phrases::opening(
                            &mut rng,
                            locale,
                            topic,
                            &speaker.order_ref,
                            l.product.title,
                            &new_size,
                        );
                        format!("{sentence} {again}")
                    } else if variant_question {
                        phrases::which_size(locale, l.product.title, &new_size)
                    } else if topic == Topic::Exchange {
                        format!(
                            "{} {}",
                            phrases::which_item(locale, l.product.title, &reason_text),
                            phrases::which_size(locale, l.product.title, &new_size)
                        )
                    } else {
                        phrases::which_item(locale, l.product.title, &reason_text)
                    };
                }
                Reply::Clarify => {
                    self.recorder.not_understood += 1;
                    if rephrased {
                        break;
                    }
                    rephrased = true;
                    asked_items += 1;
                    // Asked what it is about, people say it again with the order number and,
                    // for order questions, their details.
                    let reference = if order_topic {
                        speaker.order_given = true;
                        speaker.order_ref.clone()
                    } else {
                        String::new()
                    };
                    let item = line
                        .as_ref()
                        .map_or(item_word.as_str(), |l| l.product.title);
                    text = phrases::opening_avoiding(
                        &mut rng, locale, topic, &reference, item, &new_size, &text,
                    );
                    if matches!(topic, Topic::Return | Topic::Exchange) {
                        let again = reason
                            .map(|r| phrases::reason_again(&mut rng, locale, r, &reason_text))
                            .unwrap_or_default();
                        text = format!("{text} {again}");
                    }
                    if order_topic {
                        speaker.email_given = false;
                        speaker.postcode_given = false;
                        text = format!("{text} {}", speaker.missing_details(&mut rng, false));
                    }
                }
                reply => {
                    debug_assert!(is_final(reply));
                    result = if escalated
                        || matches!(
                            reply,
                            Reply::HandedToHuman { .. } | Reply::SystemUnavailable
                        ) {
                        ContactResult::Escalated
                    } else {
                        ContactResult::Automated
                    };
                    break;
                }
            }
            // The next message comes after the agent's reply was read; facts may have changed.
            facts = self.facts_of_customer(order.customer).await;
        }
        self.current_topic = None;
        if escalated {
            result = ContactResult::Escalated;
        }
        if self.settings.record_transcripts {
            transcript.push_str(&format!("=> {result:?}\n"));
            self.transcripts.push(transcript);
        }
        self.recorder
            .contact(day, topic, locale, channel, result, turns);
    }

    /// A return the agent authorised: checked against the policy, booked in the customer's
    /// history, and (mostly) sent back to the warehouse a few days later.
    async fn authorised(
        &mut self,
        return_id: &ReturnId,
        facts: &BTreeMap<OrderId, Facts>,
        customer: usize,
    ) {
        self.recorder.returns_authorised += 1;
        let Ok(Some(authorisation)) = self.store.return_authorisation(return_id).await else {
            return;
        };
        let order_id = authorisation.request.order_id.clone();
        let now = self.clock.peek();
        self.audit.check_authorisation(
            return_id,
            &Request::Return(authorisation.request.clone()),
            facts.get(&order_id),
            now,
        );
        self.book_refunds(customer, Money::zero(Currency::CHF), 1);
        let Some(&i) = self.index.get(&order_id) else {
            return;
        };
        if let Some(o) = self.orders.get_mut(i) {
            o.returns.push(return_id.clone());
        }
        // Most customers send the parcel; some change their mind and keep the item.
        if self.rng.chance(0.88) {
            let days = self.rng.between(3, 8);
            let date = local_date(now) + Duration::days(days);
            let at = zurich_at(
                date,
                self.rng.between(10, 16) as u32,
                self.rng.below(60) as u32,
            );
            self.schedule(at, Happening::Receipt(i, return_id.clone()));
        }
    }
}

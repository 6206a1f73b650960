//! Proptest strategies for internally consistent orders, facts, requests, policies and clocks.
//!
//! Everything generated here is data a real shop could produce: payments capture exactly the
//! order total and never refund more than they captured, shipments only carry lines of their
//! order, delivered parcels were shipped first, customers' histories add up, and policies pass
//! [`Policy::validate`](order_agent_core::policy::Policy::validate) without errors. Requests, on
//! the other hand, are deliberately a mix of valid and invalid (unknown lines, zero or too many
//! units), because the engine must answer every input.
//!
//! Orders are in CHF, the currency [`arb_policy`] uses, so that most cases reach the interesting
//! rules instead of stopping at a currency mismatch.
//!
//! ```
//! use order_agent_core::policy::decide;
//! use order_agent_testkit::strategies::arb_case;
//! use proptest::prelude::*;
//!
//! proptest!(ProptestConfig::with_cases(16), |((request, facts, policy, now) in arb_case())| {
//!     let decision = decide(&request, &facts, &policy, now);
//!     prop_assert_eq!(decision.policy_version, policy.version);
//! });
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use order_agent_core::domain::{
    AddressChangeRequest, CancellationReason, CancellationRequest, Customer, ExchangeOffer,
    InspectionGrade, ItemChange, ItemModificationRequest, LineId, Locale, Order, OrderStatus,
    ProductId, Receipt, ResolutionKind, ReturnLine, ReturnReason, ReturnRequest, Sku, TaxMode,
    Tender, TrackingStatus, VariantId,
};
use order_agent_core::money::{Currency, Money};
use order_agent_core::policy::{
    AddressChangePolicy, CancellationPolicy, CountLimit, ExceptionPolicy, Facts, FeeAmount,
    FeesPolicy, FraudPolicy, GradeRule, ItemModificationPolicy, LegalFloor, LimitsPolicy,
    LineMatcher, NonReturnableReason, PeriodLimit, Policy, ReceivingPolicy, Request,
    RestockDisposition, ReturnRule, ReturnsPolicy, SeasonalExtension, WindowStart,
};
use proptest::collection::{vec, SizeRange};
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::builders::{
    address, days_after, hours_after, CustomerBuilder, OrderBuilder, OrderLineBuilder,
    ReceiptBuilder, ShipmentBuilder,
};

/// Sizes offered in exchanges; variant ids end in one of these.
const SIZES: [&str; 5] = ["xs", "s", "m", "l", "xl"];

/// Products per category in the generated catalog.
const PRODUCTS_PER_CATEGORY: usize = 6;

/// Every return reason, every resolution, every grade: as slices for sampling.
const RESOLUTIONS: [ResolutionKind; 3] = [
    ResolutionKind::Refund,
    ResolutionKind::StoreCredit,
    ResolutionKind::Exchange,
];

const CANCELLATION_REASONS: [CancellationReason; 6] = [
    CancellationReason::ChangedMind,
    CancellationReason::OrderedByMistake,
    CancellationReason::FoundCheaper,
    CancellationReason::DeliveryTooSlow,
    CancellationReason::Fraud,
    CancellationReason::Other,
];

const DISPOSITIONS: [RestockDisposition; 5] = [
    RestockDisposition::Sellable,
    RestockDisposition::OpenBox,
    RestockDisposition::Refurbish,
    RestockDisposition::ReturnToVendor,
    RestockDisposition::Scrap,
];

/// The first instant orders are placed at: 2025-01-01T00:00:00Z.
const EPOCH_2025: i64 = 1_735_689_600;

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

fn secs_after(base: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    Duration::try_seconds(secs)
        .and_then(|d| base.checked_add_signed(d))
        .unwrap_or(base)
}

/// Keeps the entries of `all` whose mask bit is set, in order.
fn masked<T: Clone>(all: &[T], mask: &[bool]) -> Vec<T> {
    all.iter()
        .zip(mask)
        .filter(|(_, keep)| **keep)
        .map(|(x, _)| x.clone())
        .collect()
}

/// Like [`masked`], but never empty: falls back to the first entry.
fn masked_non_empty<T: Clone>(all: &[T], mask: &[bool]) -> Vec<T> {
    let kept = masked(all, mask);
    if kept.is_empty() {
        all.iter().take(1).cloned().collect()
    } else {
        kept
    }
}

// ---------------------------------------------------------------------------------------------
// Money and catalog
// ---------------------------------------------------------------------------------------------

/// A non-negative amount in `currency`, from zero to 10 000 major units (never more precise than
/// the currency allows).
pub fn arb_money(currency: Currency) -> BoxedStrategy<Money> {
    let max_minor = 10_000i64.saturating_mul(10i64.saturating_pow(currency.minor_units()));
    (0..=max_minor)
        .prop_map(move |minor| Money::from_minor(minor, currency))
        .boxed()
}

/// A merchandising category of the generated catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CatalogCategory {
    /// Clothing; some underwear is tagged `hygiene`.
    Apparel,
    /// Devices; the expensive lines.
    Electronics,
    /// Cosmetics; always tagged `hygiene`.
    Cosmetics,
    /// Bags, belts, scarves.
    Accessories,
}

impl CatalogCategory {
    /// The category string on order lines.
    pub fn name(self) -> &'static str {
        match self {
            CatalogCategory::Apparel => "apparel",
            CatalogCategory::Electronics => "electronics",
            CatalogCategory::Cosmetics => "cosmetics",
            CatalogCategory::Accessories => "accessories",
        }
    }

    /// Unit price range in rappen.
    fn price_range(self) -> std::ops::RangeInclusive<i64> {
        match self {
            CatalogCategory::Apparel => 990..=34_900,
            CatalogCategory::Electronics => 1_990..=299_900,
            CatalogCategory::Cosmetics => 490..=12_900,
            CatalogCategory::Accessories => 1_490..=24_900,
        }
    }

    fn title(self, product: usize) -> &'static str {
        const APPAREL: [&str; PRODUCTS_PER_CATEGORY] = [
            "Merino Sweater",
            "Organic Cotton T-Shirt",
            "Down Jacket",
            "Slim Chinos",
            "Merino Briefs",
            "Linen Shirt",
        ];
        const ELECTRONICS: [&str; PRODUCTS_PER_CATEGORY] = [
            "Bluetooth Speaker",
            "Noise-Cancelling Headphones",
            "14\" Laptop",
            "Fitness Watch",
            "In-Ear Earbuds",
            "USB-C Charger",
        ];
        const COSMETICS: [&str; PRODUCTS_PER_CATEGORY] = [
            "Alpine Face Cream",
            "Lip Balm",
            "Sun Lotion SPF 50",
            "Shampoo",
            "Eau de Parfum",
            "Hand Cream",
        ];
        const ACCESSORIES: [&str; PRODUCTS_PER_CATEGORY] = [
            "Leather Belt",
            "Wool Scarf",
            "Canvas Backpack",
            "Beanie",
            "Gloves",
            "Wallet",
        ];
        let titles = match self {
            CatalogCategory::Apparel => &APPAREL,
            CatalogCategory::Electronics => &ELECTRONICS,
            CatalogCategory::Cosmetics => &COSMETICS,
            CatalogCategory::Accessories => &ACCESSORIES,
        };
        titles.get(product).copied().unwrap_or("Article")
    }
}

fn arb_category() -> BoxedStrategy<CatalogCategory> {
    prop_oneof![
        4 => Just(CatalogCategory::Apparel),
        3 => Just(CatalogCategory::Electronics),
        2 => Just(CatalogCategory::Cosmetics),
        1 => Just(CatalogCategory::Accessories),
    ]
    .boxed()
}

/// The product id of catalog product `index` of `category`.
fn product_id(category: CatalogCategory, index: usize) -> String {
    format!("p-{}-{index}", category.name())
}

/// The variant id of `product_id` in `size`: `p-apparel-3` in `m` is `v-apparel-3-m`.
pub fn variant_of(product_id: &ProductId, size: &str) -> VariantId {
    let stem = product_id
        .as_str()
        .strip_prefix("p-")
        .unwrap_or(product_id.as_str());
    VariantId::new(format!("v-{stem}-{size}"))
}

#[derive(Debug, Clone)]
struct LineSpec {
    category: CatalogCategory,
    product: usize,
    size: usize,
    quantity: u32,
    unit_price: i64,
    discount_percent: Option<i64>,
    final_sale: bool,
    extra_hygiene: bool,
}

fn arb_line_spec() -> BoxedStrategy<LineSpec> {
    arb_category()
        .prop_flat_map(|category| {
            (
                0..PRODUCTS_PER_CATEGORY,
                0..SIZES.len(),
                prop_oneof![6 => Just(1u32), 2 => Just(2u32), 1 => 3u32..=5],
                category.price_range(),
                prop::option::weighted(0.2, 5i64..=50),
                prop::bool::weighted(0.15),
                prop::bool::weighted(0.1),
            )
                .prop_map(
                    move |(product, size, quantity, price, discount_percent, final_sale, hyg)| {
                        LineSpec {
                            category,
                            product,
                            size,
                            quantity,
                            // Swiss prices end on 5 rappen.
                            unit_price: price - price % 5,
                            discount_percent,
                            final_sale,
                            extra_hygiene: hyg,
                        }
                    },
                )
        })
        .boxed()
}

impl LineSpec {
    fn builder(&self, index: usize) -> OrderLineBuilder {
        let size = SIZES.get(self.size).copied().unwrap_or("m");
        let product = product_id(self.category, self.product);
        let pid = ProductId::new(product.clone());
        let variant = variant_of(&pid, size);
        let title = format!(
            "{} – {}",
            self.category.title(self.product),
            size.to_uppercase()
        );
        let mut b = OrderLineBuilder::new(&format!("l{}", index + 1), &title, self.unit_price)
            .category(self.category.name())
            .quantity(self.quantity)
            .sku(&format!(
                "{}-{}",
                product.trim_start_matches("p-").to_uppercase(),
                size.to_uppercase()
            ))
            .product(&product)
            .variant(variant.as_str())
            .final_sale_if(self.final_sale);
        if self.category == CatalogCategory::Cosmetics
            || (self.extra_hygiene && self.category == CatalogCategory::Apparel)
            || (self.category == CatalogCategory::Electronics && self.product == 4)
        {
            b = b.tag("hygiene");
        }
        if self.final_sale {
            b = b.tag("clearance");
        }
        if let Some(pct) = self.discount_percent {
            let gross = self.unit_price.saturating_mul(i64::from(self.quantity));
            b = b.discount_minor(gross.saturating_mul(pct) / 100);
        }
        b
    }
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

/// How far an order got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Pending,
    Unfulfilled,
    PartiallyShipped,
    InTransit,
    Delivered,
    SplitDelivered,
    SplitOneInTransit,
    Cancelled,
}

fn arb_stage() -> BoxedStrategy<Stage> {
    prop_oneof![
        1 => Just(Stage::Pending),
        2 => Just(Stage::Unfulfilled),
        1 => Just(Stage::PartiallyShipped),
        2 => Just(Stage::InTransit),
        7 => Just(Stage::Delivered),
        2 => Just(Stage::SplitDelivered),
        1 => Just(Stage::SplitOneInTransit),
        1 => Just(Stage::Cancelled),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Timing {
    placed_offset: i64,
    ship_days: i64,
    transit_days: i64,
    second_parcel_days: i64,
    exception: Option<TrackingStatus>,
    carrier: &'static str,
    late: bool,
}

fn arb_timing() -> BoxedStrategy<Timing> {
    (
        0i64..(730 * 86_400),
        0i64..=3,
        1i64..=6,
        1i64..=5,
        prop::option::weighted(
            0.15,
            prop::sample::select(vec![
                TrackingStatus::CustomsHold,
                TrackingStatus::DeliveryAttemptFailed,
                TrackingStatus::AddressIssue,
                TrackingStatus::Exception,
                TrackingStatus::AvailableForPickup,
            ]),
        ),
        prop::sample::select(vec!["swiss-post", "swiss-post", "dhl", "ups", "dpd"]),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(placed_offset, ship_days, transit_days, second, exception, carrier, late)| Timing {
                placed_offset,
                ship_days,
                transit_days,
                second_parcel_days: second,
                exception,
                carrier,
                late,
            },
        )
        .boxed()
}

/// Payment plan: the primary tender, an optional gift-card share in percent, and the refunded
/// share of each payment in percent.
#[derive(Debug, Clone)]
struct PaymentPlan {
    primary: Tender,
    gift_card_percent: Option<i64>,
    refunded_percent: [i64; 2],
}

fn arb_refunded_percent() -> BoxedStrategy<i64> {
    prop_oneof![7 => Just(0i64), 2 => 1i64..=99, 1 => Just(100i64)].boxed()
}

fn arb_payment_plan() -> BoxedStrategy<PaymentPlan> {
    (
        prop_oneof![
            6 => Just(Tender::Card),
            2 => Just(Tender::Twint),
            2 => Just(Tender::Paypal),
            1 => Just(Tender::BankTransfer),
        ],
        prop::option::weighted(0.25, 5i64..=95),
        arb_refunded_percent(),
        arb_refunded_percent(),
    )
        .prop_map(|(primary, gift_card_percent, r1, r2)| PaymentPlan {
            primary,
            gift_card_percent,
            refunded_percent: [r1, r2],
        })
        .boxed()
}

/// A realistic shipping address in CH (most often) or a neighbouring country.
pub fn arb_address() -> BoxedStrategy<order_agent_core::domain::Address> {
    prop::sample::select(vec![
        ("Bahnhofstrasse 21", "8001", "Zürich", "CH"),
        ("Marktgasse 12", "3011", "Bern", "CH"),
        ("Rue du Rhône 48", "1204", "Genève", "CH"),
        ("Via Nassa 5", "6900", "Lugano", "CH"),
        ("Freie Strasse 34", "4001", "Basel", "CH"),
        ("Avenue de la Gare 10", "1003", "Lausanne", "CH"),
        ("Kaiserstrasse 7", "79098", "Freiburg im Breisgau", "DE"),
        ("Rue de la République 3", "68100", "Mulhouse", "FR"),
        ("Via Roma 18", "22100", "Como", "IT"),
        ("Marktstrasse 2", "6850", "Dornbirn", "AT"),
        ("Städtle 15", "9490", "Vaduz", "LI"),
    ])
    .prop_map(|(line1, postcode, city, country)| {
        address("Kim Muster", line1, postcode, city, country)
    })
    .boxed()
}

/// An order of `lines` lines (clamped to 1–20) in CHF with mixed categories (apparel,
/// electronics, cosmetics tagged `hygiene`, accessories), final-sale lines, line and order
/// discounts, both tax modes, one or two tenders (a gift card plus another) capturing exactly the
/// total, sometimes partly or fully refunded, and shipments in every stage from unfulfilled to
/// split and delivered, some with carrier exceptions.
pub fn arb_order(lines: impl Into<SizeRange>) -> BoxedStrategy<Order> {
    let (lo, hi) = lines.into().start_end_incl();
    let lo = lo.clamp(1, 20);
    let hi = hi.clamp(lo, 20);
    (
        vec(arb_line_spec(), lo..=hi),
        prop_oneof![4 => Just(TaxMode::Included), 1 => Just(TaxMode::Excluded)],
        prop::option::weighted(0.25, 5i64..=30),
        prop::sample::select(vec![0i64, 0, 790, 990, 1490]),
        arb_payment_plan(),
        arb_stage(),
        arb_timing(),
        (
            0u32..500,
            arb_address(),
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.03),
            prop_oneof![3 => Just(0u32), 1 => 1u32..=2],
        ),
    )
        .prop_map(
            |(
                specs,
                tax_mode,
                order_discount_percent,
                shipping,
                plan,
                stage,
                timing,
                (customer, ship_to, fraud, disputed, modifications),
            )| {
                build_order(
                    &specs,
                    tax_mode,
                    order_discount_percent,
                    shipping,
                    &plan,
                    stage,
                    &timing,
                    customer,
                    ship_to,
                    fraud,
                    disputed,
                    modifications,
                )
            },
        )
        .boxed()
}

#[allow(clippy::too_many_arguments)]
fn build_order(
    specs: &[LineSpec],
    tax_mode: TaxMode,
    order_discount_percent: Option<i64>,
    shipping: i64,
    plan: &PaymentPlan,
    stage: Stage,
    timing: &Timing,
    customer: u32,
    ship_to: order_agent_core::domain::Address,
    fraud: bool,
    disputed: bool,
    modifications: u32,
) -> Order {
    let placed = ts(EPOCH_2025.saturating_add(timing.placed_offset));
    let id = format!("o-{}", timing.placed_offset % 1_000_000);
    let lines: Vec<OrderLineBuilder> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| s.builder(i))
        .collect();
    let mut b = OrderBuilder::new(&id)
        .customer(
            &format!("c-{customer}"),
            &format!("customer{customer}@example.ch"),
        )
        .placed_at(placed)
        .tax_mode(tax_mode)
        .lines(lines.clone())
        .shipping_minor(shipping)
        .ship_to(ship_to)
        .paid_with(plan.primary)
        .modifications_made(if stage.before_fulfilment() {
            modifications
        } else {
            0
        });
    if let Some(pct) = order_discount_percent {
        let subtotal = b.totals().subtotal;
        b = b.order_discount_minor(subtotal.saturating_mul(pct) / 100);
    }
    if let Some(pct) = plan.gift_card_percent {
        let total = b.totals().total;
        b = b.gift_card_minor(total.saturating_mul(pct) / 100);
    }
    if fraud {
        b = b.fraud_flagged();
    }
    if disputed {
        b = b.disputed();
    }
    b = add_shipments(b, &lines, stage, timing, placed);
    match stage {
        Stage::Pending => b = b.status(OrderStatus::Pending),
        Stage::Cancelled => b = b.status(OrderStatus::Cancelled),
        _ => {}
    }
    let mut order = b.build();
    for (i, p) in order.payments.iter_mut().enumerate() {
        let pct = if stage == Stage::Cancelled {
            100
        } else {
            plan.refunded_percent.get(i).copied().unwrap_or(0)
        };
        let captured = p.captured.to_minor();
        p.refunded = Money::from_minor(captured.saturating_mul(pct) / 100, p.captured.currency());
    }
    order
}

impl Stage {
    fn before_fulfilment(self) -> bool {
        matches!(self, Stage::Pending | Stage::Unfulfilled)
    }
}

fn in_transit_parcel(id: &str, timing: &Timing, shipped: DateTime<Utc>) -> ShipmentBuilder {
    let promised_latest = days_after(shipped, timing.transit_days).date_naive();
    let mut s = ShipmentBuilder::new(id)
        .carrier(timing.carrier)
        .shipped_at(shipped)
        .promised(
            days_after(shipped, 1).date_naive().min(promised_latest),
            promised_latest,
        )
        .scan(
            hours_after(shipped, 10),
            TrackingStatus::InTransit,
            "Härkingen",
        );
    if let Some(status) = timing.exception {
        s = s.scan(
            days_after(shipped, timing.transit_days.min(2)),
            status,
            "Basel",
        );
    }
    s
}

fn add_shipments(
    mut b: OrderBuilder,
    lines: &[OrderLineBuilder],
    stage: Stage,
    timing: &Timing,
    placed: DateTime<Utc>,
) -> OrderBuilder {
    let shipped = hours_after(days_after(placed, timing.ship_days), 5);
    let transit = timing.transit_days + if timing.late { 4 } else { 0 };
    let delivered_parcel = |id: &str, shipped: DateTime<Utc>| {
        ShipmentBuilder::new(id)
            .carrier(timing.carrier)
            .delivered_days_after(shipped, 0, transit)
            .promised(
                days_after(shipped, 1).date_naive(),
                days_after(shipped, timing.transit_days).date_naive(),
            )
    };
    let half = lines.len().div_ceil(2);
    let with_lines = |mut s: ShipmentBuilder, ls: &[OrderLineBuilder], partial_single: bool| {
        for l in ls {
            let quantity = l.ordered_units();
            let q = if partial_single && quantity > 1 {
                quantity - 1
            } else {
                quantity
            };
            s = s.line(l.id(), q);
        }
        s
    };
    match stage {
        Stage::Pending | Stage::Unfulfilled | Stage::Cancelled => {}
        Stage::PartiallyShipped => {
            let first = lines.get(..half.min(lines.len().saturating_sub(1)).max(1));
            let partial_single = lines.len() == 1;
            if let Some(first) = first {
                b = b.shipment(with_lines(
                    in_transit_parcel("s1", timing, shipped),
                    first,
                    partial_single,
                ));
            }
        }
        Stage::InTransit => {
            b = b.shipment(in_transit_parcel("s1", timing, shipped));
        }
        Stage::Delivered => {
            b = b.shipment(delivered_parcel("s1", shipped));
        }
        Stage::SplitDelivered | Stage::SplitOneInTransit => {
            let (first, second) = lines.split_at(half.min(lines.len()));
            let later = days_after(shipped, timing.second_parcel_days);
            b = b.shipment(with_lines(delivered_parcel("s1", shipped), first, false));
            if !second.is_empty() {
                let parcel = if stage == Stage::SplitDelivered {
                    delivered_parcel("s2", later)
                } else {
                    in_transit_parcel("s2", timing, later)
                };
                b = b.shipment(with_lines(parcel, second, false));
            }
        }
    }
    b
}

// ---------------------------------------------------------------------------------------------
// Customers and facts
// ---------------------------------------------------------------------------------------------

/// A customer with id `id` and email `email`: any locale, sometimes a loyalty tier, a return
/// history where returns never exceed orders, and (mostly) a known refunded amount in the period.
pub fn arb_customer(id: String, email: String) -> BoxedStrategy<Customer> {
    (
        prop::sample::select(vec![Locale::En, Locale::De, Locale::Fr, Locale::It]),
        prop::option::weighted(0.3, prop::sample::select(vec!["gold", "silver"])),
        1u32..=40,
        prop_oneof![8 => 0u32..=25, 2 => 26u32..=100],
        prop_oneof![8 => 0u32..=2, 2 => 3u32..=8],
        prop::option::weighted(0.9, 0i64..=60_000),
        prop::sample::select(vec![
            "Anna Müller",
            "Luca Rossi",
            "Sophie Dubois",
            "James Miller",
            "Lena Schmid",
            "Marco Bernasconi",
        ]),
    )
        .prop_map(
            move |(locale, tier, orders, returns_pct, in_period, refunded, name)| {
                let returns = orders.saturating_mul(returns_pct) / 100;
                let mut b = CustomerBuilder::new(&id)
                    .name(name)
                    .email(&email)
                    .locale(locale)
                    .history(orders, returns)
                    .returns_in_period(in_period.min(returns));
                if let Some(t) = tier {
                    b = b.tier(t);
                }
                b = match refunded {
                    Some(minor) => b.refunded_in_period(Money::from_minor(minor, Currency::CHF)),
                    None => b.refunded_in_period_unknown(),
                };
                b.build()
            },
        )
        .boxed()
}

/// Exchange offers for other sizes of the order's products, at the same price (mostly) or a
/// slightly different one, with 0–5 units available.
pub fn arb_exchange_offers(order: &Order) -> BoxedStrategy<Vec<ExchangeOffer>> {
    let mut products: Vec<(ProductId, Sku, i64)> = Vec::new();
    let mut seen = BTreeSet::new();
    for l in &order.lines {
        if seen.insert(l.product_id.clone()) {
            products.push((l.product_id.clone(), l.sku.clone(), l.unit_price.to_minor()));
        }
    }
    let currency = order.currency;
    let n = products.len();
    vec(
        (
            prop::bool::weighted(0.6),
            0..SIZES.len(),
            prop_oneof![4 => Just(0i64), 1 => -500i64..=500],
            0u32..=5,
        ),
        n,
    )
    .prop_map(move |choices| {
        products
            .iter()
            .zip(choices)
            .filter(|(_, (offered, ..))| *offered)
            .map(|((product, sku, price), (_, size, delta, available))| {
                let size = SIZES.get(size).copied().unwrap_or("m");
                ExchangeOffer {
                    product_id: product.clone(),
                    variant_id: variant_of(product, size),
                    sku: Sku::new(format!("{sku}-{}", size.to_uppercase())),
                    unit_price: Money::from_minor((price + delta).max(0), currency),
                    available,
                }
            })
            .collect()
    })
    .boxed()
}

/// Facts around `order`: its customer, units already returned (only of delivered lines, never
/// more than bought), exchange offers and sometimes a gift-card balance.
pub fn arb_facts_for(order: Order) -> BoxedStrategy<Facts> {
    let delivered: Vec<(LineId, u32)> = order
        .lines
        .iter()
        .filter(|l| order.line_delivered_at(&l.id).is_some())
        .map(|l| (l.id.clone(), l.quantity))
        .collect();
    let returned =
        vec(prop::option::weighted(0.2, 0u32..=100), delivered.len()).prop_map(move |choices| {
            delivered
                .iter()
                .zip(choices)
                .filter_map(|((id, q), pct)| {
                    pct.map(|p| (id.clone(), q.saturating_mul(p) / 100))
                        .filter(|(_, units)| *units > 0)
                })
                .collect::<BTreeMap<_, _>>()
        });
    let currency = order.currency;
    (
        arb_customer(order.customer_id.as_str().to_owned(), order.email.clone()),
        returned,
        arb_exchange_offers(&order),
        prop::option::weighted(
            0.3,
            (0i64..=30_000).prop_map(move |m| Money::from_minor(m, currency)),
        ),
    )
        .prop_map(
            move |(customer, returned_quantities, exchange_offers, gift_card_balance)| Facts {
                order: order.clone(),
                customer,
                returned_quantities,
                exchange_offers,
                gift_card_balance,
            },
        )
        .boxed()
}

/// Facts around an [`arb_order`] of 1–20 lines (mostly 1–3, sometimes 4–8, now and then 9–20).
pub fn arb_facts() -> BoxedStrategy<Facts> {
    prop_oneof![
        4 => arb_order(1..=3),
        2 => arb_order(4..=8),
        1 => arb_order(9..=20),
    ]
    .prop_flat_map(arb_facts_for)
    .boxed()
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

fn arb_reason() -> BoxedStrategy<ReturnReason> {
    prop::sample::select(ReturnReason::ALL.to_vec()).boxed()
}

fn arb_resolution() -> BoxedStrategy<ResolutionKind> {
    prop_oneof![
        3 => Just(ResolutionKind::Refund),
        1 => Just(ResolutionKind::StoreCredit),
        1 => Just(ResolutionKind::Exchange),
    ]
    .boxed()
}

#[derive(Debug, Clone, Copy)]
enum LinePick {
    Valid,
    UnknownLine,
    ZeroUnits,
    TooManyUnits,
}

/// A return request for `order`: three times in five a structurally valid one (see
/// [`arb_valid_return_request`]), otherwise one mixing valid lines with invalid ones: unknown
/// line ids, zero units, more units than bought, repeated lines, and now and then no lines at
/// all. Exchanges name a size of the same product (sometimes one nobody offers).
pub fn arb_return_request(order: &Order) -> BoxedStrategy<ReturnRequest> {
    let valid = arb_valid_return_request(order);
    let order_id = order.id.clone();
    let lines: Vec<(LineId, u32, ProductId)> = order
        .lines
        .iter()
        .map(|l| (l.id.clone(), l.quantity, l.product_id.clone()))
        .collect();
    let n = lines.len();
    let pick = prop_oneof![
        12 => Just(LinePick::Valid),
        1 => Just(LinePick::UnknownLine),
        1 => Just(LinePick::ZeroUnits),
        1 => Just(LinePick::TooManyUnits),
    ];
    let one = (pick, 0..n.max(1), 1u32..=100, arb_reason(), 0..SIZES.len());
    let max = n.clamp(1, 6);
    let messy = prop_oneof![
        1 => Just(Vec::new()),
        15 => vec(one, 1..=max),
    ]
    .prop_flat_map(move |picks| {
        let order_id = order_id.clone();
        let lines = lines.clone();
        arb_resolution().prop_map(move |resolution| {
            let request_lines = picks
                .iter()
                .map(|(pick, index, pct, reason, size)| {
                    let (id, bought, product) = lines.get(*index).cloned().unwrap_or_else(|| {
                        (LineId::new("l-missing"), 1, ProductId::new("p-missing"))
                    });
                    let quantity = match pick {
                        LinePick::Valid => (bought.saturating_mul(*pct) / 100).max(1),
                        LinePick::UnknownLine | LinePick::TooManyUnits => bought.saturating_add(1),
                        LinePick::ZeroUnits => 0,
                    };
                    let line_id = match pick {
                        LinePick::UnknownLine => LineId::new(format!("{id}-unknown")),
                        _ => id,
                    };
                    ReturnLine {
                        line_id,
                        quantity,
                        reason: *reason,
                        exchange_for: (resolution == ResolutionKind::Exchange).then(|| {
                            variant_of(&product, SIZES.get(*size).copied().unwrap_or("m"))
                        }),
                    }
                })
                .collect();
            ReturnRequest {
                order_id: order_id.clone(),
                lines: request_lines,
                resolution,
            }
        })
    });
    prop_oneof![3 => valid, 2 => messy].boxed()
}

/// A structurally valid return request for `order`: 1–6 distinct existing lines, each with
/// 1 to the bought number of units. (Whether the policy allows it is another matter.)
pub fn arb_valid_return_request(order: &Order) -> BoxedStrategy<ReturnRequest> {
    let order_id = order.id.clone();
    let lines: Vec<(LineId, u32, ProductId)> = order
        .lines
        .iter()
        .map(|l| (l.id.clone(), l.quantity, l.product_id.clone()))
        .collect();
    if lines.is_empty() {
        return Just(ReturnRequest {
            order_id,
            lines: Vec::new(),
            resolution: ResolutionKind::Refund,
        })
        .boxed();
    }
    let n = lines.len();
    (
        vec((any::<bool>(), 1u32..=100, arb_reason(), 0..SIZES.len()), n),
        0..n,
        arb_resolution(),
    )
        .prop_map(move |(choices, forced, resolution)| {
            let request_lines = lines
                .iter()
                .zip(&choices)
                .enumerate()
                .filter(|(i, (_, (keep, ..)))| *keep || *i == forced)
                .take(6)
                .map(
                    |(_, ((id, bought, product), (_, pct, reason, size)))| ReturnLine {
                        line_id: id.clone(),
                        quantity: (bought.saturating_mul(*pct) / 100).clamp(1, (*bought).max(1)),
                        reason: *reason,
                        exchange_for: (resolution == ResolutionKind::Exchange)
                            .then(|| variant_of(product, SIZES.get(*size).copied().unwrap_or("m"))),
                    },
                )
                .collect();
            ReturnRequest {
                order_id: order_id.clone(),
                lines: request_lines,
                resolution,
            }
        })
        .boxed()
}

/// A warehouse receipt for the `authorised` return, received 1–30 days after `after`: mostly
/// every authorised unit, sometimes fewer or more, now and then an unexpected line; graded or
/// not with any grade; rarely receive-only.
pub fn arb_receipt(authorised: &ReturnRequest, after: DateTime<Utc>) -> BoxedStrategy<Receipt> {
    let lines: Vec<(LineId, u32)> = authorised
        .lines
        .iter()
        .map(|l| (l.line_id.clone(), l.quantity))
        .collect();
    let n = lines.len();
    (
        vec(
            (
                prop_oneof![17 => Just(0i32), 2 => Just(-1i32), 1 => Just(1i32)],
                prop::option::weighted(0.7, prop::sample::select(InspectionGrade::ALL.to_vec())),
            ),
            n,
        ),
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.05),
        1i64..=30,
        0u32..10_000,
        prop::sample::select(vec!["zrh-1", "zrh-1", "bsl-2"]),
    )
        .prop_map(
            move |(choices, unexpected, receive_only, days, rma, location)| {
                let mut b = ReceiptBuilder::new(&format!("rma-{rma}"))
                    .received_at(hours_after(days_after(after, days), 7))
                    .location(location);
                for ((id, quantity), (delta, grade)) in lines.iter().zip(choices) {
                    let q = match delta {
                        -1 => quantity.saturating_sub(1),
                        1 => quantity.saturating_add(1),
                        _ => *quantity,
                    };
                    b = b.line(id.as_str(), q, grade);
                }
                if unexpected {
                    b = b.line("l-unexpected", 1, None);
                }
                if receive_only {
                    b = b.receive_only();
                }
                b.build()
            },
        )
        .boxed()
}

/// Any request about `order`: a return (valid or not), a receipt of a valid return, a
/// cancellation, an address change (same or another country) or an item modification.
pub fn arb_request(order: &Order) -> BoxedStrategy<Request> {
    let order_id = order.id.clone();
    let placed = order.placed_at;
    let after = order
        .shipments
        .iter()
        .filter_map(|s| s.delivered_at.or(s.shipped_at))
        .max()
        .unwrap_or(placed);
    let returns = arb_return_request(order).prop_map(Request::Return);
    let receipts = arb_valid_return_request(order).prop_flat_map(move |authorised| {
        arb_receipt(&authorised, after).prop_map(move |receipt| Request::Receipt {
            authorised: authorised.clone(),
            receipt,
        })
    });
    let cancel_id = order_id.clone();
    let cancellations =
        prop::sample::select(CANCELLATION_REASONS.to_vec()).prop_map(move |reason| {
            Request::Cancellation(CancellationRequest {
                order_id: cancel_id.clone(),
                reason,
            })
        });
    let address_id = order_id.clone();
    let address_changes = arb_address().prop_map(move |new_address| {
        Request::AddressChange(AddressChangeRequest {
            order_id: address_id.clone(),
            new_address,
        })
    });
    let modifications = arb_item_modification(order).prop_map(Request::ItemModification);
    // Changes are mostly asked while they are still possible, returns once the goods arrived.
    let (w_return, w_receipt, w_change) = match order.status {
        status if status.is_before_fulfilment() => (1, 1, 3),
        OrderStatus::Cancelled => (1, 1, 1),
        _ => (6, 3, 1),
    };
    prop_oneof![
        w_return => returns,
        w_receipt => receipts,
        w_change => cancellations,
        w_change => address_changes,
        w_change => modifications,
    ]
    .boxed()
}

/// An item modification of `order`: size swaps and quantity reductions, now and then of an
/// unknown line or to a quantity that is no reduction.
pub fn arb_item_modification(order: &Order) -> BoxedStrategy<ItemModificationRequest> {
    let order_id = order.id.clone();
    let lines: Vec<(LineId, u32, ProductId)> = order
        .lines
        .iter()
        .map(|l| (l.id.clone(), l.quantity, l.product_id.clone()))
        .collect();
    let n = lines.len().max(1);
    vec(
        (
            any::<bool>(),
            0..n,
            0u32..=5,
            0..SIZES.len(),
            prop::bool::weighted(0.05),
        ),
        0..=3,
    )
    .prop_map(move |changes| ItemModificationRequest {
        order_id: order_id.clone(),
        changes: changes
            .iter()
            .map(|(swap, index, quantity, size, unknown)| {
                let (id, bought, product) = lines
                    .get(*index)
                    .cloned()
                    .unwrap_or_else(|| (LineId::new("l-missing"), 1, ProductId::new("p-missing")));
                let line_id = if *unknown {
                    LineId::new(format!("{id}-unknown"))
                } else {
                    id
                };
                if *swap {
                    ItemChange::SwapVariant {
                        line_id,
                        variant_id: variant_of(&product, SIZES.get(*size).copied().unwrap_or("m")),
                    }
                } else {
                    ItemChange::ReduceQuantity {
                        line_id,
                        quantity: (*quantity).min(bought),
                    }
                }
            })
            .collect(),
    })
    .boxed()
}

/// An instant to decide at, for `order`: mostly within 45 days of its last delivery (or of the
/// order when nothing was delivered), sometimes up to 200 days later, in the first days after the
/// order, or right around the usual window ends (14, 30 and 60 days after delivery, give or take
/// a day). Never before the order was placed.
pub fn arb_now(order: &Order) -> BoxedStrategy<DateTime<Utc>> {
    let placed = order.placed_at;
    let base = order
        .shipments
        .iter()
        .filter_map(|s| s.delivered_at)
        .max()
        .unwrap_or(placed);
    let soon = (0i64..(45 * 86_400)).prop_map(move |s| secs_after(base.max(placed), s));
    let late = (0i64..(200 * 86_400)).prop_map(move |s| secs_after(base.max(placed), s));
    let early = (0i64..(20 * 86_400)).prop_map(move |s| secs_after(placed, s));
    let boundary = (
        prop::sample::select(vec![13i64, 14, 15, 29, 30, 31, 59, 60, 61]),
        -12i64..=36,
    )
        .prop_map(move |(days, hours)| hours_after(days_after(base, days), hours).max(placed));
    prop_oneof![4 => soon, 1 => late, 1 => early, 2 => boundary].boxed()
}

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

fn arb_fee() -> BoxedStrategy<FeeAmount> {
    prop_oneof![
        (0u32..=25).prop_map(|p| FeeAmount::Percent(Decimal::from(p))),
        (0i64..=2_000).prop_map(|m| FeeAmount::Fixed(Decimal::new(m, 2))),
    ]
    .boxed()
}

fn arb_amount(range: std::ops::RangeInclusive<i64>) -> BoxedStrategy<Decimal> {
    range.prop_map(|minor| Decimal::new(minor, 2)).boxed()
}

fn arb_rule(
    id: &'static str,
    matcher: LineMatcher,
    not_returnable: Option<NonReturnableReason>,
) -> BoxedStrategy<ReturnRule> {
    (
        prop::option::of(14i64..=90),
        any::<bool>(),
        prop::option::weighted(0.3, vec(any::<bool>(), RESOLUTIONS.len())),
        prop::option::weighted(0.4, 0u32..=20),
        prop::option::weighted(0.4, arb_fee()),
    )
        .prop_map(
            move |(window_days, inspection, resolutions, bonus, restocking)| {
                let returnable = not_returnable.is_none();
                let resolutions = resolutions.map(|mask| masked_non_empty(&RESOLUTIONS, &mask));
                let allows_credit = resolutions
                    .as_ref()
                    .is_none_or(|r| r.contains(&ResolutionKind::StoreCredit));
                ReturnRule {
                    id: id.into(),
                    matcher: matcher.clone(),
                    window_days: if returnable { window_days } else { None },
                    not_returnable,
                    inspection_required: returnable && inspection,
                    resolutions: if returnable { resolutions } else { None },
                    store_credit_bonus_percent: if returnable && allows_credit {
                        bonus.map(Decimal::from)
                    } else {
                        None
                    },
                    restocking_fee: if returnable { restocking } else { None },
                }
            },
        )
        .boxed()
}

fn matcher(categories: &[&str], tags: &[&str]) -> LineMatcher {
    LineMatcher {
        categories: categories.iter().map(|s| (*s).to_owned()).collect(),
        tags: tags.iter().map(|s| (*s).to_owned()).collect(),
        skus: Vec::new(),
    }
}

fn arb_rules() -> BoxedStrategy<Vec<ReturnRule>> {
    (
        prop::option::weighted(
            0.7,
            arb_rule(
                "hygiene",
                matcher(&[], &["hygiene"]),
                Some(NonReturnableReason::Hygiene),
            ),
        ),
        prop::option::weighted(
            0.2,
            arb_rule(
                "clearance",
                matcher(&[], &["clearance"]),
                Some(NonReturnableReason::FinalSale),
            ),
        ),
        prop::option::weighted(
            0.7,
            arb_rule("electronics", matcher(&["electronics"], &[]), None),
        ),
        prop::option::weighted(
            0.6,
            arb_rule("apparel", matcher(&["apparel", "accessories"], &[]), None),
        ),
        prop::option::weighted(
            0.3,
            arb_rule("cosmetics", matcher(&["cosmetics"], &[]), None),
        ),
    )
        .prop_map(|(a, b, c, d, e)| [a, b, c, d, e].into_iter().flatten().collect())
        .boxed()
}

fn arb_seasonal_extensions() -> BoxedStrategy<Vec<SeasonalExtension>> {
    vec((2025i32..=2026, 0u32..=40, 0u32..=40, 0u32..=60), 0..=2)
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (year, start, length, after))| {
                    let from = NaiveDate::from_ymd_opt(year, 11, 1)
                        .unwrap_or_default()
                        .checked_add_days(chrono::Days::new(u64::from(start)))
                        .unwrap_or_default();
                    let to = from
                        .checked_add_days(chrono::Days::new(u64::from(length)))
                        .unwrap_or(from);
                    let until = to
                        .checked_add_days(chrono::Days::new(u64::from(after)))
                        .unwrap_or(to);
                    SeasonalExtension {
                        id: format!("season-{}", i + 1).into(),
                        purchased_from: from,
                        purchased_to: to,
                        returns_until: until,
                    }
                })
                .collect()
        })
        .boxed()
}

fn arb_returns_policy() -> BoxedStrategy<ReturnsPolicy> {
    (
        14i64..=60,
        prop_oneof![3 => Just(WindowStart::Delivery), 1 => Just(WindowStart::Order)],
        0i64..=7,
        prop_oneof![
            4 => Just(vec![true; RESOLUTIONS.len()]),
            1 => vec(any::<bool>(), RESOLUTIONS.len()),
        ],
        any::<bool>(),
        any::<bool>(),
        arb_rules(),
        arb_seasonal_extensions(),
    )
        .prop_map(
            |(window, start, transit, resolutions, final_sale, defects, rules, seasonal)| {
                ReturnsPolicy {
                    default_window_days: window,
                    window_starts_at: start,
                    transit_allowance_days: transit,
                    default_resolutions: masked_non_empty(&RESOLUTIONS, &resolutions),
                    final_sale_not_returnable: final_sale,
                    defects_to_human: defects,
                    rules,
                    seasonal_extensions: seasonal,
                }
            },
        )
        .boxed()
}

fn arb_fees_policy() -> BoxedStrategy<FeesPolicy> {
    let reasons = ReturnReason::ALL;
    (
        prop::option::weighted(0.3, arb_fee()),
        vec(any::<bool>(), reasons.len()),
        prop::option::weighted(0.6, arb_amount(0..=1_290)),
        vec(any::<bool>(), reasons.len()),
        any::<bool>(),
        vec(any::<bool>(), reasons.len()),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            move |(restocking, waived, shipping, shipping_waived, gold, original, on_exchange)| {
                FeesPolicy {
                    restocking,
                    restocking_waived_for: masked(&reasons, &waived),
                    return_shipping: shipping,
                    return_shipping_waived_for: masked(&reasons, &shipping_waived),
                    free_returns_for_tiers: if gold {
                        vec!["gold".to_owned()]
                    } else {
                        Vec::new()
                    },
                    refund_original_shipping_for: masked(&reasons, &original),
                    fees_on_exchange_and_credit: on_exchange,
                }
            },
        )
        .boxed()
}

fn arb_limits_policy() -> BoxedStrategy<LimitsPolicy> {
    (
        prop::option::weighted(
            0.9,
            prop_oneof![1 => arb_amount(2_000..=15_000), 3 => arb_amount(15_000..=100_000)],
        ),
        prop::option::weighted(
            0.4,
            (arb_amount(10_000..=200_000), 1i64..=365).prop_map(|(amount, period_days)| {
                PeriodLimit {
                    amount,
                    period_days,
                }
            }),
        ),
        prop::option::weighted(0.5, arb_amount(50_000..=500_000)),
        any::<bool>(),
        prop::bool::weighted(0.9),
    )
        .prop_map(
            |(max, per_customer, high, partial, disputes)| LimitsPolicy {
                max_auto_refund: max,
                max_refunded_per_customer: per_customer,
                high_value_order: high,
                partial_refunds_need_human: partial,
                disputes_need_human: disputes,
            },
        )
        .boxed()
}

fn arb_fraud_policy() -> BoxedStrategy<FraudPolicy> {
    (
        prop::bool::weighted(0.9),
        prop::option::weighted(0.5, (20i64..=100).prop_map(|p| Decimal::new(p, 2))),
        1u32..=10,
        prop::option::weighted(
            0.4,
            (1u32..=10, 1i64..=365)
                .prop_map(|(count, period_days)| CountLimit { count, period_days }),
        ),
        any::<bool>(),
    )
        .prop_map(
            |(flagged, rate, min_orders, returns, blocklist)| FraudPolicy {
                flagged_orders_need_human: flagged,
                max_return_rate: rate,
                min_orders_for_rate: min_orders,
                max_returns_in_period: returns,
                blocklisted_emails: if blocklist {
                    vec!["customer13@example.ch".to_owned()]
                } else {
                    Vec::new()
                },
                blocklisted_addresses: if blocklist {
                    vec!["Marktgasse 12|3011|CH".to_owned()]
                } else {
                    Vec::new()
                },
            },
        )
        .boxed()
}

fn arb_receiving_policy() -> BoxedStrategy<ReceivingPolicy> {
    (
        vec(
            prop::option::weighted(
                0.5,
                (0u32..=100, prop::sample::select(DISPOSITIONS.to_vec())),
            ),
            InspectionGrade::ALL.len(),
        ),
        prop::sample::select(DISPOSITIONS.to_vec()),
    )
        .prop_map(|(grades, ungraded)| ReceivingPolicy {
            grades: InspectionGrade::ALL
                .iter()
                .zip(grades)
                .filter_map(|(grade, rule)| {
                    rule.map(|(percent, restock)| {
                        (
                            *grade,
                            GradeRule {
                                refund_percent: Decimal::from(percent),
                                restock,
                            },
                        )
                    })
                })
                .collect(),
            ungraded_restock: ungraded,
        })
        .boxed()
}

fn arb_change_policies() -> BoxedStrategy<(
    CancellationPolicy,
    AddressChangePolicy,
    ItemModificationPolicy,
)> {
    (
        prop::bool::weighted(0.9),
        prop_oneof![4 => Just(vec![true; 2]), 1 => vec(any::<bool>(), 2)],
        prop_oneof![
            4 => Just(vec![true; CANCELLATION_REASONS.len()]),
            1 => vec(any::<bool>(), CANCELLATION_REASONS.len()),
        ],
        prop::bool::weighted(0.9),
        any::<bool>(),
        prop::bool::weighted(0.9),
        0u32..=3,
    )
        .prop_map(|(cancel, states, reasons, address, country, modify, max)| {
            (
                CancellationPolicy {
                    enabled: cancel,
                    allowed_states: masked(
                        &[OrderStatus::Pending, OrderStatus::Unfulfilled],
                        &states,
                    ),
                    allowed_reasons: masked(&CANCELLATION_REASONS, &reasons),
                },
                AddressChangePolicy {
                    enabled: address,
                    allow_country_change: country,
                },
                ItemModificationPolicy {
                    enabled: modify,
                    max_per_order: max,
                },
            )
        })
        .boxed()
}

fn arb_exception_policy() -> BoxedStrategy<ExceptionPolicy> {
    (
        0i64..=5,
        1i64..=14,
        prop::option::of(1i64..=14),
        prop::option::of(1i64..=14),
    )
        .prop_map(|(delay, lost, post, dhl)| {
            let mut by_carrier = BTreeMap::new();
            if let Some(days) = post {
                by_carrier.insert("swiss-post".to_owned(), days);
            }
            if let Some(days) = dhl {
                by_carrier.insert("dhl".to_owned(), days);
            }
            ExceptionPolicy {
                delay_days: delay,
                lost_after_days_without_scan: lost,
                lost_after_days_by_carrier: by_carrier,
                ..ExceptionPolicy::default()
            }
        })
        .boxed()
}

fn arb_legal_floors() -> BoxedStrategy<Vec<LegalFloor>> {
    let countries = ["DE", "FR", "IT", "AT", "LI", "CH"];
    prop::option::weighted(
        0.5,
        (
            vec(any::<bool>(), countries.len()),
            7i64..=14,
            prop::bool::weighted(0.8),
            any::<bool>(),
        ),
    )
    .prop_map(move |floor| {
        floor
            .map(|(mask, days, overrides, exempt_hygiene)| LegalFloor {
                id: "eu-withdrawal".into(),
                countries: masked_non_empty(&countries, &mask)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                withdrawal_days: days,
                overrides_final_sale: overrides,
                exempt: if exempt_hygiene {
                    matcher(&[], &["hygiene"])
                } else {
                    LineMatcher::default()
                },
            })
            .into_iter()
            .collect()
    })
    .boxed()
}

/// A valid policy in CHF (no errors from
/// [`Policy::validate`](order_agent_core::policy::Policy::validate)): windows of 14–90 days from
/// delivery or order, optional hygiene, clearance, electronics, apparel and cosmetics rules,
/// seasonal extensions, percentage or fixed fees with waivers, limits, fraud signals, grade
/// rules, order-change settings, exception thresholds and sometimes an EU-style legal floor.
pub fn arb_policy() -> BoxedStrategy<Policy> {
    (
        0u32..10_000,
        prop_oneof![
            4 => Just(chrono_tz::Europe::Zurich),
            1 => Just(chrono_tz::Europe::Berlin),
            1 => Just(chrono_tz::UTC),
        ],
        arb_returns_policy(),
        arb_fees_policy(),
        arb_limits_policy(),
        arb_fraud_policy(),
        arb_receiving_policy(),
        arb_change_policies(),
        arb_exception_policy(),
        arb_legal_floors(),
    )
        .prop_map(
            |(
                version,
                timezone,
                returns,
                fees,
                limits,
                fraud,
                receiving,
                (cancellation, address_change, item_modification),
                exceptions,
                legal_floors,
            )| {
                let timezone: Tz = timezone;
                Policy {
                    version: format!("prop-{version}"),
                    currency: Currency::CHF,
                    timezone,
                    returns,
                    fees,
                    limits,
                    fraud,
                    receiving,
                    cancellation,
                    address_change,
                    item_modification,
                    exceptions,
                    legal_floors,
                }
            },
        )
        .boxed()
}

/// A whole engine input: a request about the facts' order, the facts, a valid policy and an
/// instant to decide at.
pub fn arb_case() -> BoxedStrategy<(Request, Facts, Policy, DateTime<Utc>)> {
    arb_facts()
        .prop_flat_map(|facts| {
            let order = facts.order.clone();
            (
                arb_request(&order),
                Just(facts),
                arb_policy(),
                arb_now(&order),
            )
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total_of(order: &Order) -> Money {
        let c = order.currency;
        let mut total = Money::zero(c);
        for l in &order.lines {
            total = total.checked_add(l.after_line_discount().unwrap()).unwrap();
        }
        if let Some(d) = order.order_discount {
            total = total.checked_sub(d).unwrap();
        }
        total = total.checked_add(order.shipping).unwrap();
        if order.tax_mode == TaxMode::Excluded {
            total = total.checked_add(order.tax_total).unwrap();
        }
        total
    }

    proptest! {
        #[test]
        fn orders_are_consistent(order in arb_order(1..=20)) {
            prop_assert!(!order.lines.is_empty() && order.lines.len() <= 20);
            let captured = Money::sum(order.currency, order.payments.iter().map(|p| p.captured)).unwrap();
            prop_assert_eq!(captured, total_of(&order));
            prop_assert!(order.payments.len() <= 2);
            for p in &order.payments {
                prop_assert!(!p.captured.is_negative());
                prop_assert!(!p.refunded.is_negative());
                prop_assert!(p.refunded.try_cmp(&p.captured).unwrap() != std::cmp::Ordering::Greater);
            }
            let ids: BTreeSet<_> = order.lines.iter().map(|l| l.id.clone()).collect();
            prop_assert_eq!(ids.len(), order.lines.len());
            let mut shipped: BTreeMap<LineId, u32> = BTreeMap::new();
            for s in &order.shipments {
                for sl in &s.lines {
                    prop_assert!(ids.contains(&sl.line_id));
                    *shipped.entry(sl.line_id.clone()).or_default() += sl.quantity;
                }
                if let (Some(shipped_at), Some(delivered)) = (s.shipped_at, s.delivered_at) {
                    prop_assert!(shipped_at <= delivered);
                }
                prop_assert!(s.shipped_at.is_none_or(|t| t >= order.placed_at));
            }
            for l in &order.lines {
                prop_assert!(shipped.get(&l.id).copied().unwrap_or(0) <= l.quantity);
                if l.has_tag("hygiene") {
                    prop_assert!(l.category == "cosmetics" || l.category == "apparel" || l.category == "electronics");
                }
            }
            if order.status == OrderStatus::Delivered {
                for l in &order.lines {
                    prop_assert!(order.line_delivered_at(&l.id).is_some());
                }
            }
        }

        #[test]
        fn facts_are_consistent(facts in arb_facts()) {
            prop_assert_eq!(&facts.customer.id, &facts.order.customer_id);
            prop_assert!(facts.customer.history.returns <= facts.customer.history.orders);
            for (id, units) in &facts.returned_quantities {
                let line = facts.order.line(id);
                prop_assert!(line.is_some_and(|l| *units <= l.quantity));
            }
            for offer in &facts.exchange_offers {
                prop_assert!(facts.order.lines.iter().any(|l| l.product_id == offer.product_id));
            }
        }

        #[test]
        fn valid_return_requests_name_existing_lines_once(
            (order, request) in arb_order(1..=8).prop_flat_map(|o| {
                let r = arb_valid_return_request(&o);
                (Just(o), r)
            })
        ) {
            prop_assert!(!request.lines.is_empty());
            let mut seen = BTreeSet::new();
            for l in &request.lines {
                prop_assert!(seen.insert(l.line_id.clone()));
                let line = order.line(&l.line_id).unwrap();
                prop_assert!(l.quantity >= 1 && l.quantity <= line.quantity);
            }
        }

        #[test]
        fn receipts_follow_the_authorised_return(
            (order, request, receipt) in arb_order(1..=8).prop_flat_map(|o| {
                let r = arb_valid_return_request(&o);
                (Just(o), r)
            }).prop_flat_map(|(o, r)| {
                let receipt = arb_receipt(&r, o.placed_at);
                (Just(o), Just(r), receipt)
            })
        ) {
            prop_assert!(receipt.received_at > order.placed_at);
            for rl in &receipt.lines {
                prop_assert!(rl.line_id.as_str() == "l-unexpected" || request.lines.iter().any(|l| l.line_id == rl.line_id));
            }
        }

        #[test]
        fn policies_are_valid(policy in arb_policy()) {
            let validation = policy.validate();
            prop_assert!(validation.errors.is_empty(), "{:?}", validation.errors);
        }

        #[test]
        fn now_is_never_before_the_order(
            (order, now) in arb_order(1..=4).prop_flat_map(|o| {
                let n = arb_now(&o);
                (Just(o), n)
            })
        ) {
            prop_assert!(now >= order.placed_at);
        }
    }

    #[test]
    fn return_requests_include_invalid_lines() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let order = arb_order(3..=3).new_tree(&mut runner).unwrap().current();
        let strategy = arb_return_request(&order);
        let mut invalid = 0;
        let mut empty = 0;
        for _ in 0..400 {
            let request = strategy.new_tree(&mut runner).unwrap().current();
            if request.lines.is_empty() {
                empty += 1;
            }
            if request.lines.iter().any(|l| {
                order
                    .line(&l.line_id)
                    .is_none_or(|line| l.quantity == 0 || l.quantity > line.quantity)
            }) {
                invalid += 1;
            }
        }
        assert!(invalid > 0, "no invalid request generated");
        assert!(empty > 0, "no empty request generated");
    }
}

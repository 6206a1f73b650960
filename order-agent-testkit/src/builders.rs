//! Builders for realistic, internally consistent test data.
//!
//! Defaults describe a Swiss shop: amounts in CHF, prices including 8.1 % VAT, a Zürich shipping
//! address, orders placed on a fixed date. Every builder is panic-free and `build()`s straight to
//! the domain value. [`OrderBuilder`] derives what must agree with the lines — the included or
//! added tax, and the captured payments — so that a built order always satisfies
//!
//! ```text
//! total = Σ line (units × unit price − line discount) − order discount + shipping (+ tax when excluded)
//!       = Σ payments.captured
//! ```
//!
//! unless payments are given explicitly with [`OrderBuilder::payment`].
//!
//! Amounts are given in minor units of the order's currency (`8990` is CHF 89.90), so a builder can
//! never meet a second currency.
//!
//! ```
//! use order_agent_testkit::builders::{chf_minor, OrderBuilder, OrderLineBuilder, ShipmentBuilder, utc};
//!
//! let placed = utc(2026, 3, 2, 9, 0);
//! let order = OrderBuilder::new("o-1001")
//!     .placed_at(placed)
//!     .line(OrderLineBuilder::apparel("l1", "Merino Sweater – M / Navy", 8990).quantity(2))
//!     .line(OrderLineBuilder::electronics("l2", "Bluetooth Speaker", 12900))
//!     .order_discount_minor(1000)
//!     .shipping_minor(790)
//!     .gift_card_minor(5000)
//!     .shipment(ShipmentBuilder::new("s1").delivered_days_after(placed, 1, 3))
//!     .build();
//! assert_eq!(order.payments.len(), 2);
//! assert_eq!(order.payments[0].captured, chf_minor(5000));
//! assert_eq!(order.payments[1].captured, chf_minor(2 * 8990 + 12900 - 1000 + 790 - 5000));
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use order_agent_core::domain::{
    Address, ContactPoint, Customer, CustomerId, ExchangeOffer, InspectionGrade, LineId, Locale,
    LocationId, Order, OrderId, OrderLine, OrderNumber, OrderStatus, Payment, PaymentId, ProductId,
    Receipt, ReceivedLine, ResolutionKind, ReturnHistory, ReturnId, ReturnLine, ReturnReason,
    ReturnRequest, RiskSignals, Shipment, ShipmentId, ShipmentLine, Sku, TaxMode, Tender,
    TrackingEvent, TrackingNumber, TrackingStatus, VariantId,
};
use order_agent_core::money::{Currency, Money};
use order_agent_core::policy::Facts;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Swiss standard VAT rate since 2024, 8.1 %, as a fraction.
pub const SWISS_VAT: Decimal = Decimal::from_parts(81, 0, 0, false, 3);

/// An amount in Swiss francs given in rappen: `chf_minor(1250)` is CHF 12.50.
pub fn chf_minor(rappen: i64) -> Money {
    Money::from_minor(rappen, Currency::CHF)
}

/// A whole number of Swiss francs: `chf(150)` is CHF 150.00.
pub fn chf(francs: i64) -> Money {
    Money::from_minor(francs.saturating_mul(100), Currency::CHF)
}

/// An amount in `currency` given in its minor units.
pub fn money_minor(minor: i64, currency: Currency) -> Money {
    Money::from_minor(minor, currency)
}

/// A UTC instant; an impossible date falls back to the Unix epoch rather than panicking.
pub fn utc(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// A wall-clock time in Zürich (`Europe/Zurich`, the demo shop's time zone) as a UTC instant. In
/// the autumn hour that occurs twice the earlier instant is taken; a time skipped by the spring
/// change, or an impossible date, falls back to the Unix epoch rather than panicking.
pub fn zurich(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Zurich
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .earliest()
        .map_or(DateTime::UNIX_EPOCH, |t| t.with_timezone(&Utc))
}

/// A calendar date; an impossible date falls back to 1970-01-01 rather than panicking.
pub fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

/// When orders are placed unless a builder is told otherwise: Monday 2 March 2026, 10:00 in Zürich.
pub fn default_placed_at() -> DateTime<Utc> {
    zurich(2026, 3, 2, 10, 0)
}

/// A realistic Swiss shipping address (Zürich).
pub fn zurich_address(name: &str) -> Address {
    Address {
        name: name.to_owned(),
        line1: "Bahnhofstrasse 21".to_owned(),
        line2: None,
        postcode: "8001".to_owned(),
        city: "Zürich".to_owned(),
        region: Some("ZH".to_owned()),
        country: "CH".to_owned(),
    }
}

/// An address from its parts, without a second line or region.
pub fn address(name: &str, line1: &str, postcode: &str, city: &str, country: &str) -> Address {
    Address {
        name: name.to_owned(),
        line1: line1.to_owned(),
        line2: None,
        postcode: postcode.to_owned(),
        city: city.to_owned(),
        region: None,
        country: country.to_owned(),
    }
}

/// `base` plus `days` days (saturating at the representable range).
pub fn days_after(base: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    Duration::try_days(days)
        .and_then(|d| base.checked_add_signed(d))
        .unwrap_or(base)
}

/// `base` minus `days` days (saturating at the representable range).
pub fn days_before(base: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    Duration::try_days(days)
        .and_then(|d| base.checked_sub_signed(d))
        .unwrap_or(base)
}

/// `base` plus `hours` hours (saturating at the representable range).
pub fn hours_after(base: DateTime<Utc>, hours: i64) -> DateTime<Utc> {
    Duration::try_hours(hours)
        .and_then(|d| base.checked_add_signed(d))
        .unwrap_or(base)
}

/// Rounds `value` (in minor units) half away from zero to a whole minor unit.
fn round_minor(value: Decimal) -> i64 {
    value
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .unwrap_or(0)
}

/// The tax in minor units on a line worth `base` minor units at `rate`: the included share
/// (`base × rate ÷ (1 + rate)`) or the amount added on top (`base × rate`), rounded half away
/// from zero. Exposed so tests can state expected tax the way the builders compute it.
pub fn line_tax_minor(base: i64, rate: Decimal, mode: TaxMode) -> i64 {
    let base = Decimal::from(base);
    let exact = match mode {
        TaxMode::Included => base
            .checked_mul(rate)
            .and_then(|x| x.checked_div(Decimal::ONE + rate)),
        TaxMode::Excluded => base.checked_mul(rate),
    };
    exact.map(round_minor).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Order lines
// ---------------------------------------------------------------------------------------------

/// Builds an [`OrderLine`]. The price is in minor units of the order's currency.
#[derive(Debug, Clone)]
pub struct OrderLineBuilder {
    id: String,
    sku: Option<String>,
    product_id: Option<String>,
    variant_id: Option<String>,
    title: String,
    category: String,
    tags: Vec<String>,
    quantity: u32,
    unit_price_minor: i64,
    line_discount_minor: Option<i64>,
    tax_rate: Decimal,
    final_sale: bool,
}

impl OrderLineBuilder {
    /// A line `id` of one unit of `title` at `unit_price_minor`, category `apparel`, Swiss VAT.
    pub fn new(id: &str, title: &str, unit_price_minor: i64) -> Self {
        OrderLineBuilder {
            id: id.to_owned(),
            sku: None,
            product_id: None,
            variant_id: None,
            title: title.to_owned(),
            category: "apparel".to_owned(),
            tags: Vec::new(),
            quantity: 1,
            unit_price_minor,
            line_discount_minor: None,
            tax_rate: SWISS_VAT,
            final_sale: false,
        }
    }

    /// An apparel line.
    pub fn apparel(id: &str, title: &str, unit_price_minor: i64) -> Self {
        Self::new(id, title, unit_price_minor).category("apparel")
    }

    /// An electronics line.
    pub fn electronics(id: &str, title: &str, unit_price_minor: i64) -> Self {
        Self::new(id, title, unit_price_minor).category("electronics")
    }

    /// A cosmetics line, tagged `hygiene`.
    pub fn cosmetics(id: &str, title: &str, unit_price_minor: i64) -> Self {
        Self::new(id, title, unit_price_minor)
            .category("cosmetics")
            .tag("hygiene")
    }

    /// The SKU; defaults to `SKU-<line id>`.
    pub fn sku(mut self, sku: &str) -> Self {
        self.sku = Some(sku.to_owned());
        self
    }

    /// The product; defaults to `p-<sku>`.
    pub fn product(mut self, product_id: &str) -> Self {
        self.product_id = Some(product_id.to_owned());
        self
    }

    /// The variant; defaults to `v-<sku>`.
    pub fn variant(mut self, variant_id: &str) -> Self {
        self.variant_id = Some(variant_id.to_owned());
        self
    }

    /// The merchandising category.
    pub fn category(mut self, category: &str) -> Self {
        category.clone_into(&mut self.category);
        self
    }

    /// Adds a tag such as `hygiene` or `clearance`.
    pub fn tag(mut self, tag: &str) -> Self {
        self.tags.push(tag.to_owned());
        self
    }

    /// Units ordered (default 1).
    pub fn quantity(mut self, quantity: u32) -> Self {
        self.quantity = quantity;
        self
    }

    /// Unit price in minor units.
    pub fn unit_price_minor(mut self, unit_price_minor: i64) -> Self {
        self.unit_price_minor = unit_price_minor;
        self
    }

    /// Discount on the whole line, in minor units (positive).
    pub fn discount_minor(mut self, discount_minor: i64) -> Self {
        self.line_discount_minor = Some(discount_minor);
        self
    }

    /// Tax rate as a fraction (default [`SWISS_VAT`]).
    pub fn tax_rate(mut self, rate: Decimal) -> Self {
        self.tax_rate = rate;
        self
    }

    /// Marks the line final sale.
    pub fn final_sale(mut self) -> Self {
        self.final_sale = true;
        self
    }

    /// Sets or clears the final-sale flag.
    pub fn final_sale_if(mut self, final_sale: bool) -> Self {
        self.final_sale = final_sale;
        self
    }

    /// The line id this builder will produce.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The units this line will order.
    pub fn ordered_units(&self) -> u32 {
        self.quantity
    }

    /// Units × unit price − line discount, never below zero, in minor units.
    pub fn after_line_discount_minor(&self) -> i64 {
        let gross = self
            .unit_price_minor
            .saturating_mul(i64::from(self.quantity));
        gross
            .saturating_sub(self.line_discount_minor.unwrap_or(0))
            .max(0)
    }

    /// Builds the line in CHF.
    pub fn build(self) -> OrderLine {
        self.build_in(Currency::CHF)
    }

    /// Builds the line in `currency`.
    pub fn build_in(self, currency: Currency) -> OrderLine {
        let sku = self.sku.unwrap_or_else(|| format!("SKU-{}", self.id));
        let product_id = self.product_id.unwrap_or_else(|| format!("p-{sku}"));
        let variant_id = self.variant_id.unwrap_or_else(|| format!("v-{sku}"));
        OrderLine {
            id: LineId::new(self.id),
            sku: Sku::new(sku),
            product_id: ProductId::new(product_id),
            variant_id: VariantId::new(variant_id),
            title: self.title,
            category: self.category,
            tags: self.tags,
            quantity: self.quantity,
            unit_price: Money::from_minor(self.unit_price_minor, currency),
            line_discount: self
                .line_discount_minor
                .map(|d| Money::from_minor(d, currency)),
            tax_rate: self.tax_rate,
            final_sale: self.final_sale,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shipments
// ---------------------------------------------------------------------------------------------

/// Builds a [`Shipment`] with its tracking events.
///
/// Without explicit [`ShipmentBuilder::line`]s, a shipment added to an [`OrderBuilder`] carries
/// every unit of every line of the order.
#[derive(Debug, Clone)]
pub struct ShipmentBuilder {
    id: String,
    carrier: String,
    tracking_number: Option<Option<String>>,
    lines: Vec<ShipmentLine>,
    promised: Option<(NaiveDate, NaiveDate)>,
    shipped_at: Option<DateTime<Utc>>,
    delivered_at: Option<DateTime<Utc>>,
    carrier_eta: Option<NaiveDate>,
    events: Vec<TrackingEvent>,
    auto_events: bool,
}

/// The carrier code and description a builder records for `status`.
fn default_scan(status: TrackingStatus) -> (&'static str, &'static str) {
    match status {
        TrackingStatus::LabelCreated => ("LABEL", "Shipping label created"),
        TrackingStatus::PickedUp => ("PICKUP", "Parcel picked up"),
        TrackingStatus::InTransit => ("TRANSIT", "Parcel sorted"),
        TrackingStatus::OutForDelivery => ("OUT_FOR_DELIVERY", "Out for delivery"),
        TrackingStatus::Delivered => ("DELIVERED", "Delivered"),
        TrackingStatus::DeliveryAttemptFailed => ("ATTEMPT_FAILED", "Recipient not at home"),
        TrackingStatus::AvailableForPickup => ("PICKUP_POINT", "Ready for collection"),
        TrackingStatus::CustomsHold => ("CUSTOMS", "Held at customs, documents required"),
        TrackingStatus::AddressIssue => ("ADDRESS", "Address incomplete"),
        TrackingStatus::Damaged => ("DAMAGED", "Parcel damaged"),
        TrackingStatus::Lost => ("LOST", "Parcel declared lost"),
        TrackingStatus::ReturnedToSender => ("RTS", "Returned to sender"),
        TrackingStatus::Exception => ("EXCEPTION", "Delivery exception"),
        TrackingStatus::Unknown => ("UNKNOWN", "Status not recognised"),
    }
}

/// A normalised tracking event with the builders' default carrier code and description.
pub fn tracking_event(
    at: DateTime<Utc>,
    status: TrackingStatus,
    location: Option<&str>,
) -> TrackingEvent {
    let (code, description) = default_scan(status);
    TrackingEvent {
        at,
        status,
        carrier_code: code.to_owned(),
        description: description.to_owned(),
        location: location.map(str::to_owned),
    }
}

impl ShipmentBuilder {
    /// A Swiss Post parcel `id`, not yet shipped.
    pub fn new(id: &str) -> Self {
        ShipmentBuilder {
            id: id.to_owned(),
            carrier: "swiss-post".to_owned(),
            tracking_number: None,
            lines: Vec::new(),
            promised: None,
            shipped_at: None,
            delivered_at: None,
            carrier_eta: None,
            events: Vec::new(),
            auto_events: true,
        }
    }

    /// Carrier slug, e.g. `swiss-post`, `dhl`, `ups`.
    pub fn carrier(mut self, carrier: &str) -> Self {
        carrier.clone_into(&mut self.carrier);
        self
    }

    /// Tracking number; defaults to one derived from the shipment id.
    pub fn tracking_number(mut self, number: &str) -> Self {
        self.tracking_number = Some(Some(number.to_owned()));
        self
    }

    /// No tracking number (not labelled yet).
    pub fn without_tracking_number(mut self) -> Self {
        self.tracking_number = Some(None);
        self
    }

    /// Carries `quantity` units of `line_id`.
    pub fn line(mut self, line_id: &str, quantity: u32) -> Self {
        self.lines.push(ShipmentLine {
            line_id: LineId::new(line_id),
            quantity,
        });
        self
    }

    /// The promised delivery window.
    pub fn promised(mut self, earliest: NaiveDate, latest: NaiveDate) -> Self {
        self.promised = Some((earliest, latest));
        self
    }

    /// The carrier's estimated delivery date.
    pub fn carrier_eta(mut self, eta: NaiveDate) -> Self {
        self.carrier_eta = Some(eta);
        self
    }

    /// Left the warehouse at `at` (adds a label and a pick-up scan).
    pub fn shipped_at(mut self, at: DateTime<Utc>) -> Self {
        self.shipped_at = Some(at);
        self
    }

    /// Delivered at `at` (adds out-for-delivery and delivery scans).
    pub fn delivered_at(mut self, at: DateTime<Utc>) -> Self {
        self.delivered_at = Some(at);
        self
    }

    /// Shipped `ship_days` after `placed` and delivered `transit_days` later, with a sorting scan
    /// in between and a promised window ending on the delivery day.
    pub fn delivered_days_after(
        self,
        placed: DateTime<Utc>,
        ship_days: i64,
        transit_days: i64,
    ) -> Self {
        let shipped = hours_after(days_after(placed, ship_days), 6);
        let delivered = hours_after(days_after(shipped, transit_days), 3);
        let promised_latest = delivered.date_naive();
        self.shipped_at(shipped)
            .scan(
                hours_after(shipped, 8),
                TrackingStatus::InTransit,
                "Härkingen",
            )
            .promised(days_before(delivered, 2).date_naive(), promised_latest)
            .delivered_at(delivered)
    }

    /// Adds a scan with the default code and description for `status`.
    pub fn scan(mut self, at: DateTime<Utc>, status: TrackingStatus, location: &str) -> Self {
        self.events.push(tracking_event(
            at,
            status,
            Some(location).filter(|l| !l.is_empty()),
        ));
        self
    }

    /// Adds a fully specified event.
    pub fn event(mut self, event: TrackingEvent) -> Self {
        self.events.push(event);
        self
    }

    /// Do not add the label, pick-up, out-for-delivery and delivery scans that `shipped_at` and
    /// `delivered_at` imply; only the scans given explicitly are kept.
    pub fn without_implied_scans(mut self) -> Self {
        self.auto_events = false;
        self
    }

    /// Whether explicit lines were given.
    fn has_lines(&self) -> bool {
        !self.lines.is_empty()
    }

    /// Builds the shipment (with the lines given, possibly none).
    pub fn build(self) -> Shipment {
        let mut events = self.events;
        if self.auto_events {
            if let Some(at) = self.shipped_at {
                events.push(tracking_event(
                    hours_after(at, -2),
                    TrackingStatus::LabelCreated,
                    None,
                ));
                events.push(tracking_event(
                    at,
                    TrackingStatus::PickedUp,
                    Some("Zürich-Mülligen"),
                ));
            }
            if let Some(at) = self.delivered_at {
                events.push(tracking_event(
                    hours_after(at, -4),
                    TrackingStatus::OutForDelivery,
                    None,
                ));
                events.push(tracking_event(at, TrackingStatus::Delivered, None));
            }
        }
        events.sort_by_key(|e| e.at);
        let tracking_number = match self.tracking_number {
            Some(explicit) => explicit,
            None => self
                .shipped_at
                .or(self.delivered_at)
                .map(|_| format!("99.60.{}", self.id)),
        };
        Shipment {
            id: ShipmentId::new(self.id),
            carrier: self.carrier,
            tracking_number: tracking_number.map(TrackingNumber::new),
            lines: self.lines,
            promised: self.promised.map(|(earliest, latest)| {
                order_agent_core::domain::DeliveryWindow { earliest, latest }
            }),
            shipped_at: self.shipped_at,
            delivered_at: self.delivered_at,
            carrier_eta: self.carrier_eta,
            events,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct PaymentSpec {
    id: Option<String>,
    tender: Tender,
    captured_minor: i64,
    refunded_minor: i64,
}

/// Builds an [`Order`] whose tax and payments agree with its lines.
#[derive(Debug, Clone)]
pub struct OrderBuilder {
    id: String,
    number: Option<String>,
    customer_id: String,
    email: String,
    phone: Option<String>,
    currency: Currency,
    placed_at: DateTime<Utc>,
    status: Option<OrderStatus>,
    tax_mode: TaxMode,
    lines: Vec<OrderLineBuilder>,
    order_discount_minor: Option<i64>,
    shipping_minor: i64,
    shipping_address: Option<Address>,
    billing_address: Option<Address>,
    payments: Vec<PaymentSpec>,
    primary_tender: Tender,
    gift_card_minor: Option<i64>,
    refunded_minor: i64,
    shipments: Vec<ShipmentBuilder>,
    risk: RiskSignals,
    modifications_made: u32,
}

/// The amounts an [`OrderBuilder`] derives, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderTotals {
    /// Σ lines after line discounts.
    pub subtotal: i64,
    /// The order discount, capped at the subtotal.
    pub order_discount: i64,
    /// Shipping charged.
    pub shipping: i64,
    /// Tax included in or added to the lines (shipping carries no tax in these builders).
    pub tax: i64,
    /// What the customer pays.
    pub total: i64,
}

impl OrderBuilder {
    /// An order `id` (number `#<id>`) of customer `c-1` placed at [`default_placed_at`], with
    /// tax included, free shipping, paid by card and shipped to Zürich. Add lines before building.
    pub fn new(id: &str) -> Self {
        OrderBuilder {
            id: id.to_owned(),
            number: None,
            customer_id: "c-1".to_owned(),
            email: "anna.muster@example.ch".to_owned(),
            phone: None,
            currency: Currency::CHF,
            placed_at: default_placed_at(),
            status: None,
            tax_mode: TaxMode::Included,
            lines: Vec::new(),
            order_discount_minor: None,
            shipping_minor: 0,
            shipping_address: None,
            billing_address: None,
            payments: Vec::new(),
            primary_tender: Tender::Card,
            gift_card_minor: None,
            refunded_minor: 0,
            shipments: Vec::new(),
            risk: RiskSignals::default(),
            modifications_made: 0,
        }
    }

    /// The customer-facing number (default `#<id>`).
    pub fn number(mut self, number: &str) -> Self {
        self.number = Some(number.to_owned());
        self
    }

    /// The customer and the checkout email.
    pub fn customer(mut self, customer_id: &str, email: &str) -> Self {
        customer_id.clone_into(&mut self.customer_id);
        email.clone_into(&mut self.email);
        self
    }

    /// The customer of `customer`, with its email.
    pub fn for_customer(self, customer: &Customer) -> Self {
        self.customer(customer.id.as_str(), &customer.email)
    }

    /// Checkout phone number.
    pub fn phone(mut self, phone: &str) -> Self {
        self.phone = Some(phone.to_owned());
        self
    }

    /// The order currency (default CHF); every amount given in minor units is in it.
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    /// When the order was placed.
    pub fn placed_at(mut self, at: DateTime<Utc>) -> Self {
        self.placed_at = at;
        self
    }

    /// An explicit status; by default it is derived from the shipments.
    pub fn status(mut self, status: OrderStatus) -> Self {
        self.status = Some(status);
        self
    }

    /// Prices include (default) or exclude tax.
    pub fn tax_mode(mut self, mode: TaxMode) -> Self {
        self.tax_mode = mode;
        self
    }

    /// Adds a line.
    pub fn line(mut self, line: OrderLineBuilder) -> Self {
        self.lines.push(line);
        self
    }

    /// Adds lines.
    pub fn lines(mut self, lines: impl IntoIterator<Item = OrderLineBuilder>) -> Self {
        self.lines.extend(lines);
        self
    }

    /// A discount on the whole order (coupon) in minor units, capped at the subtotal.
    pub fn order_discount_minor(mut self, discount: i64) -> Self {
        self.order_discount_minor = Some(discount);
        self
    }

    /// Shipping charged, in minor units.
    pub fn shipping_minor(mut self, shipping: i64) -> Self {
        self.shipping_minor = shipping;
        self
    }

    /// Shipping address (default: Zürich).
    pub fn ship_to(mut self, address: Address) -> Self {
        self.shipping_address = Some(address);
        self
    }

    /// Billing address (default: none).
    pub fn bill_to(mut self, address: Address) -> Self {
        self.billing_address = Some(address);
        self
    }

    /// The tender that pays what gift cards do not cover (default card).
    pub fn paid_with(mut self, tender: Tender) -> Self {
        self.primary_tender = tender;
        self
    }

    /// A gift card pays up to `amount` minor units; the primary tender pays the rest.
    pub fn gift_card_minor(mut self, amount: i64) -> Self {
        self.gift_card_minor = Some(amount);
        self
    }

    /// So much has already been refunded, spread over the derived payments primary tender first,
    /// and never more than was captured.
    pub fn refunded_minor(mut self, amount: i64) -> Self {
        self.refunded_minor = amount;
        self
    }

    /// An explicit payment. Once any is given, payments are no longer derived from the total;
    /// keeping them consistent is then the caller's business.
    pub fn payment(mut self, tender: Tender, captured_minor: i64, refunded_minor: i64) -> Self {
        self.payments.push(PaymentSpec {
            id: None,
            tender,
            captured_minor,
            refunded_minor,
        });
        self
    }

    /// An explicit payment with a given processor id.
    pub fn payment_with_id(
        mut self,
        id: &str,
        tender: Tender,
        captured_minor: i64,
        refunded_minor: i64,
    ) -> Self {
        self.payments.push(PaymentSpec {
            id: Some(id.to_owned()),
            tender,
            captured_minor,
            refunded_minor,
        });
        self
    }

    /// Adds a shipment; one without explicit lines carries every unit of every line.
    pub fn shipment(mut self, shipment: ShipmentBuilder) -> Self {
        self.shipments.push(shipment);
        self
    }

    /// Flags the order as a fraud risk.
    pub fn fraud_flagged(mut self) -> Self {
        self.risk.fraud_flagged = true;
        self
    }

    /// Marks a dispute or chargeback as open.
    pub fn disputed(mut self) -> Self {
        self.risk.disputed = true;
        self
    }

    /// Number of item modifications already made.
    pub fn modifications_made(mut self, count: u32) -> Self {
        self.modifications_made = count;
        self
    }

    /// The amounts the built order will carry, in minor units.
    pub fn totals(&self) -> OrderTotals {
        let bases = self.line_bases();
        let subtotal = bases.iter().fold(0i64, |acc, b| acc.saturating_add(b.0));
        let order_discount = bases.iter().fold(0i64, |acc, b| acc.saturating_add(b.1));
        let tax = bases.iter().fold(0i64, |acc, b| acc.saturating_add(b.2));
        let mut total = subtotal
            .saturating_sub(order_discount)
            .saturating_add(self.shipping_minor);
        if self.tax_mode == TaxMode::Excluded {
            total = total.saturating_add(tax);
        }
        OrderTotals {
            subtotal,
            order_discount,
            shipping: self.shipping_minor,
            tax,
            total,
        }
    }

    /// Per line: (after line discount, allocated order discount, tax), in minor units. The order
    /// discount is allocated pro rata by largest remainder, like the engine does.
    fn line_bases(&self) -> Vec<(i64, i64, i64)> {
        let afters: Vec<i64> = self
            .lines
            .iter()
            .map(OrderLineBuilder::after_line_discount_minor)
            .collect();
        let subtotal = afters.iter().fold(0i64, |acc, a| acc.saturating_add(*a));
        let discount = self
            .order_discount_minor
            .unwrap_or(0)
            .clamp(0, subtotal.max(0));
        let weights: Vec<Decimal> = afters.iter().map(|a| Decimal::from(*a)).collect();
        let shares: Vec<i64> = if discount == 0 || weights.is_empty() {
            vec![0; afters.len()]
        } else {
            Money::from_minor(discount, self.currency)
                .allocate(&weights)
                .map(|parts| parts.iter().map(|p| p.to_minor()).collect::<Vec<_>>())
                .unwrap_or_else(|_| vec![0; afters.len()])
        };
        afters
            .iter()
            .zip(shares.iter().chain(std::iter::repeat(&0)))
            .zip(&self.lines)
            .map(|((after, share), line)| {
                let base = after.saturating_sub(*share);
                (
                    *after,
                    *share,
                    line_tax_minor(base, line.tax_rate, self.tax_mode),
                )
            })
            .collect()
    }

    /// Builds the order.
    pub fn build(self) -> Order {
        let totals = self.totals();
        let currency = self.currency;
        let m = |minor: i64| Money::from_minor(minor, currency);

        let payments = if self.payments.is_empty() {
            let mut specs = Vec::new();
            let gift = self
                .gift_card_minor
                .map(|g| g.clamp(0, totals.total.max(0)));
            let primary = totals.total.saturating_sub(gift.unwrap_or(0)).max(0);
            let mut refund_left = self.refunded_minor.max(0);
            let mut take = |captured: i64| {
                let r = refund_left.min(captured);
                refund_left -= r;
                r
            };
            let primary_refunded = take(primary);
            let gift_refunded = gift.map(&mut take);
            if let (Some(g), Some(gr)) = (gift, gift_refunded) {
                specs.push(PaymentSpec {
                    id: Some(format!("pay-{}-gift", self.id)),
                    tender: Tender::GiftCard,
                    captured_minor: g,
                    refunded_minor: gr,
                });
            }
            if primary > 0 || gift.is_none() {
                specs.push(PaymentSpec {
                    id: Some(format!(
                        "pay-{}-{}",
                        self.id,
                        tender_slug(self.primary_tender)
                    )),
                    tender: self.primary_tender,
                    captured_minor: primary,
                    refunded_minor: primary_refunded,
                });
            }
            specs
        } else {
            self.payments
        };
        let payments = payments
            .into_iter()
            .enumerate()
            .map(|(i, p)| Payment {
                id: PaymentId::new(p.id.unwrap_or_else(|| format!("pay-{}-{}", self.id, i + 1))),
                tender: p.tender,
                captured: m(p.captured_minor),
                refunded: m(p.refunded_minor),
            })
            .collect();

        let all_lines: Vec<ShipmentLine> = self
            .lines
            .iter()
            .map(|l| ShipmentLine {
                line_id: LineId::new(l.id.clone()),
                quantity: l.quantity,
            })
            .collect();
        let shipments: Vec<Shipment> = self
            .shipments
            .into_iter()
            .map(|s| {
                if s.has_lines() {
                    s.build()
                } else {
                    let mut built = s.build();
                    built.lines.clone_from(&all_lines);
                    built
                }
            })
            .collect();

        let status = self
            .status
            .unwrap_or_else(|| derive_status(&all_lines, &shipments));
        let customer_name = self
            .email
            .split('@')
            .next()
            .unwrap_or("Customer")
            .replace('.', " ");
        let order_discount = self
            .order_discount_minor
            .map(|_| m(totals.order_discount))
            .filter(|d| !d.is_zero());

        Order {
            number: OrderNumber::new(self.number.unwrap_or_else(|| format!("#{}", self.id))),
            id: OrderId::new(self.id),
            customer_id: CustomerId::new(self.customer_id),
            email: self.email,
            phone: self.phone,
            currency,
            placed_at: self.placed_at,
            status,
            tax_mode: self.tax_mode,
            lines: self
                .lines
                .into_iter()
                .map(|l| l.build_in(currency))
                .collect(),
            order_discount,
            shipping: m(totals.shipping),
            tax_total: m(totals.tax),
            shipping_address: self
                .shipping_address
                .unwrap_or_else(|| zurich_address(&customer_name)),
            billing_address: self.billing_address,
            payments,
            shipments,
            risk: self.risk,
            modifications_made: self.modifications_made,
        }
    }
}

fn tender_slug(tender: Tender) -> &'static str {
    match tender {
        Tender::Card => "card",
        Tender::Paypal => "paypal",
        Tender::Twint => "twint",
        Tender::BankTransfer => "bank",
        Tender::GiftCard => "gift",
        Tender::StoreCredit => "credit",
    }
}

/// The status the shipments imply: unfulfilled without shipped units, delivered when every unit
/// arrived, fulfilled when every unit left, partially fulfilled otherwise.
fn derive_status(lines: &[ShipmentLine], shipments: &[Shipment]) -> OrderStatus {
    let mut shipped: BTreeMap<&LineId, u32> = BTreeMap::new();
    let mut delivered: BTreeMap<&LineId, u32> = BTreeMap::new();
    for s in shipments {
        let left = s.shipped_at.is_some() || s.delivered_at.is_some();
        for l in &s.lines {
            if left {
                let e = shipped.entry(&l.line_id).or_insert(0);
                *e = e.saturating_add(l.quantity);
            }
            if s.delivered_at.is_some() {
                let e = delivered.entry(&l.line_id).or_insert(0);
                *e = e.saturating_add(l.quantity);
            }
        }
    }
    let covered = |map: &BTreeMap<&LineId, u32>| {
        lines
            .iter()
            .all(|l| map.get(&l.line_id).copied().unwrap_or(0) >= l.quantity)
    };
    if lines.is_empty() || shipped.values().all(|q| *q == 0) {
        OrderStatus::Unfulfilled
    } else if covered(&delivered) {
        OrderStatus::Delivered
    } else if covered(&shipped) {
        OrderStatus::Fulfilled
    } else {
        OrderStatus::PartiallyFulfilled
    }
}

// ---------------------------------------------------------------------------------------------
// Customers and facts
// ---------------------------------------------------------------------------------------------

/// Builds a [`Customer`].
#[derive(Debug, Clone)]
pub struct CustomerBuilder {
    customer: Customer,
}

impl CustomerBuilder {
    /// Customer `id` named `Anna Muster`, German-speaking, no tier, two orders, no returns and
    /// nothing refunded in the rolling period (CHF 0, known).
    pub fn new(id: &str) -> Self {
        CustomerBuilder {
            customer: Customer {
                id: CustomerId::new(id),
                name: "Anna Muster".to_owned(),
                email: "anna.muster@example.ch".to_owned(),
                contact_points: Vec::new(),
                locale: Locale::De,
                loyalty_tier: None,
                history: ReturnHistory {
                    orders: 2,
                    returns: 0,
                    returns_in_period: 0,
                    refunded_in_period: Some(Money::zero(Currency::CHF)),
                },
            },
        }
    }

    /// Name for greetings.
    pub fn name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.customer.name);
        self
    }

    /// Primary email.
    pub fn email(mut self, email: &str) -> Self {
        email.clone_into(&mut self.customer.email);
        self
    }

    /// Preferred language.
    pub fn locale(mut self, locale: Locale) -> Self {
        self.customer.locale = locale;
        self
    }

    /// Loyalty tier, e.g. `gold`.
    pub fn tier(mut self, tier: &str) -> Self {
        self.customer.loyalty_tier = Some(tier.to_owned());
        self
    }

    /// Adds a verified contact point.
    pub fn contact(mut self, channel: order_agent_core::domain::Channel, address: &str) -> Self {
        self.customer.contact_points.push(ContactPoint {
            channel,
            address: address.to_owned(),
        });
        self
    }

    /// All-time orders and returns.
    pub fn history(mut self, orders: u32, returns: u32) -> Self {
        self.customer.history.orders = orders;
        self.customer.history.returns = returns;
        self
    }

    /// Returns within the fraud look-back period.
    pub fn returns_in_period(mut self, returns: u32) -> Self {
        self.customer.history.returns_in_period = returns;
        self
    }

    /// Money refunded within the rolling limit period.
    pub fn refunded_in_period(mut self, refunded: Money) -> Self {
        self.customer.history.refunded_in_period = Some(refunded);
        self
    }

    /// The money refunded within the rolling period is unknown (the engine then asks a human
    /// whenever a per-customer limit applies).
    pub fn refunded_in_period_unknown(mut self) -> Self {
        self.customer.history.refunded_in_period = None;
        self
    }

    /// Builds the customer; an email contact point is added when none was given.
    pub fn build(mut self) -> Customer {
        if self.customer.contact_points.is_empty() {
            self.customer.contact_points.push(ContactPoint {
                channel: order_agent_core::domain::Channel::Email,
                address: self.customer.email.clone(),
            });
        }
        self.customer
    }
}

/// Builds [`Facts`] around an order.
#[derive(Debug, Clone)]
pub struct FactsBuilder {
    order: Order,
    customer: Option<Customer>,
    returned: BTreeMap<LineId, u32>,
    offers: Vec<ExchangeOffer>,
    gift_card_balance: Option<Money>,
}

impl FactsBuilder {
    /// Facts about `order`; the customer defaults to one matching the order's customer and email.
    pub fn new(order: Order) -> Self {
        FactsBuilder {
            order,
            customer: None,
            returned: BTreeMap::new(),
            offers: Vec::new(),
            gift_card_balance: None,
        }
    }

    /// The customer who owns the order.
    pub fn customer(mut self, customer: Customer) -> Self {
        self.customer = Some(customer);
        self
    }

    /// `quantity` units of `line_id` were already returned.
    pub fn returned(mut self, line_id: &str, quantity: u32) -> Self {
        self.returned.insert(LineId::new(line_id), quantity);
        self
    }

    /// A variant on offer for exchanges.
    pub fn exchange_offer(mut self, offer: ExchangeOffer) -> Self {
        self.offers.push(offer);
        self
    }

    /// Variants on offer for exchanges.
    pub fn exchange_offers(mut self, offers: impl IntoIterator<Item = ExchangeOffer>) -> Self {
        self.offers.extend(offers);
        self
    }

    /// Balance on the customer's gift card.
    pub fn gift_card_balance(mut self, balance: Money) -> Self {
        self.gift_card_balance = Some(balance);
        self
    }

    /// Builds the facts.
    pub fn build(self) -> Facts {
        let customer = self.customer.unwrap_or_else(|| {
            CustomerBuilder::new(self.order.customer_id.as_str())
                .email(&self.order.email)
                .build()
        });
        Facts {
            order: self.order,
            customer,
            returned_quantities: self.returned,
            exchange_offers: self.offers,
            gift_card_balance: self.gift_card_balance,
        }
    }
}

/// An exchange offer for another variant of `line`'s product, at `unit_price_minor` in the line's
/// currency, with `available` units.
pub fn exchange_offer(
    line: &OrderLine,
    variant_id: &str,
    unit_price_minor: i64,
    available: u32,
) -> ExchangeOffer {
    ExchangeOffer {
        product_id: line.product_id.clone(),
        variant_id: VariantId::new(variant_id),
        sku: Sku::new(format!("{}-{variant_id}", line.sku)),
        unit_price: Money::from_minor(unit_price_minor, line.unit_price.currency()),
        available,
    }
}

// ---------------------------------------------------------------------------------------------
// Returns and receipts
// ---------------------------------------------------------------------------------------------

/// Builds a [`ReturnRequest`].
#[derive(Debug, Clone)]
pub struct ReturnRequestBuilder {
    request: ReturnRequest,
}

impl ReturnRequestBuilder {
    /// A refund request for order `order_id`, with no lines yet.
    pub fn new(order_id: &str) -> Self {
        ReturnRequestBuilder {
            request: ReturnRequest {
                order_id: OrderId::new(order_id),
                lines: Vec::new(),
                resolution: ResolutionKind::Refund,
            },
        }
    }

    /// A refund request for `order`, with no lines yet.
    pub fn for_order(order: &Order) -> Self {
        Self::new(order.id.as_str())
    }

    /// Every unit of every line of `order`, for `reason`.
    pub fn everything(order: &Order, reason: ReturnReason) -> Self {
        let mut b = Self::for_order(order);
        for l in &order.lines {
            b = b.line(l.id.as_str(), l.quantity, reason);
        }
        b
    }

    /// Returns `quantity` units of `line_id` for `reason`.
    pub fn line(mut self, line_id: &str, quantity: u32, reason: ReturnReason) -> Self {
        self.request.lines.push(ReturnLine {
            line_id: LineId::new(line_id),
            quantity,
            reason,
            exchange_for: None,
        });
        self
    }

    /// Exchanges `quantity` units of `line_id` for variant `variant_id`; sets the resolution to
    /// exchange.
    pub fn exchange(
        mut self,
        line_id: &str,
        quantity: u32,
        reason: ReturnReason,
        variant_id: &str,
    ) -> Self {
        self.request.lines.push(ReturnLine {
            line_id: LineId::new(line_id),
            quantity,
            reason,
            exchange_for: Some(VariantId::new(variant_id)),
        });
        self.request.resolution = ResolutionKind::Exchange;
        self
    }

    /// The wanted resolution (default refund).
    pub fn resolution(mut self, resolution: ResolutionKind) -> Self {
        self.request.resolution = resolution;
        self
    }

    /// Builds the request.
    pub fn build(self) -> ReturnRequest {
        self.request
    }
}

/// Builds a [`Receipt`].
#[derive(Debug, Clone)]
pub struct ReceiptBuilder {
    receipt: Receipt,
}

impl ReceiptBuilder {
    /// A receipt for return `return_id` at the Zürich warehouse (`zrh-1`), received at
    /// [`default_placed_at`] + 14 days, with no lines yet.
    pub fn new(return_id: &str) -> Self {
        ReceiptBuilder {
            receipt: Receipt {
                return_id: ReturnId::new(return_id),
                lines: Vec::new(),
                received_at: days_after(default_placed_at(), 14),
                location: LocationId::new("zrh-1"),
                receive_only: false,
            },
        }
    }

    /// Every authorised unit arrived, each with `grade` (or ungraded).
    pub fn matching(
        return_id: &str,
        authorised: &ReturnRequest,
        grade: Option<InspectionGrade>,
    ) -> Self {
        let mut b = Self::new(return_id);
        for l in &authorised.lines {
            b = b.line(l.line_id.as_str(), l.quantity, grade);
        }
        b
    }

    /// `quantity` units of `line_id` arrived, with an optional grade.
    pub fn line(mut self, line_id: &str, quantity: u32, grade: Option<InspectionGrade>) -> Self {
        self.receipt.lines.push(ReceivedLine {
            line_id: LineId::new(line_id),
            quantity,
            grade,
        });
        self
    }

    /// When it arrived.
    pub fn received_at(mut self, at: DateTime<Utc>) -> Self {
        self.receipt.received_at = at;
        self
    }

    /// Where it arrived.
    pub fn location(mut self, location: &str) -> Self {
        self.receipt.location = LocationId::new(location);
        self
    }

    /// Staff asked to receive without refunding.
    pub fn receive_only(mut self) -> Self {
        self.receipt.receive_only = true;
        self
    }

    /// Builds the receipt.
    pub fn build(self) -> Receipt {
        self.receipt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(order: &Order) -> Money {
        Money::sum(order.currency, order.payments.iter().map(|p| p.captured)).unwrap()
    }

    fn expected_total(order: &Order) -> Money {
        let mut total = Money::zero(order.currency);
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

    #[test]
    fn card_payment_captures_the_total_with_included_tax() {
        let order = OrderBuilder::new("o-1")
            .line(OrderLineBuilder::apparel("l1", "Sweater", 8990).quantity(2))
            .line(OrderLineBuilder::electronics("l2", "Speaker", 12900).discount_minor(900))
            .order_discount_minor(1000)
            .shipping_minor(790)
            .build();
        // 179.80 + 120.00 - 10.00 + 7.90
        assert_eq!(captured(&order), chf_minor(29770));
        assert_eq!(captured(&order), expected_total(&order));
        assert_eq!(order.payments.len(), 1);
        assert_eq!(order.payments[0].tender, Tender::Card);
        assert_eq!(order.payments[0].refunded, chf_minor(0));
        // Included VAT on 289.80 of goods (after the coupon): 8.1/108.1 of each line.
        assert_eq!(order.tax_total, chf_minor(1302 + 869));
        assert_eq!(order.status, OrderStatus::Unfulfilled);
        assert_eq!(order.order_discount, Some(chf_minor(1000)));
    }

    #[test]
    fn excluded_tax_is_added_to_the_total() {
        let order = OrderBuilder::new("o-2")
            .tax_mode(TaxMode::Excluded)
            .line(OrderLineBuilder::apparel("l1", "Shirt", 10000))
            .build();
        assert_eq!(order.tax_total, chf_minor(810));
        assert_eq!(captured(&order), chf_minor(10810));
        assert_eq!(captured(&order), expected_total(&order));
    }

    #[test]
    fn gift_card_and_card_split_the_total_and_refunds_never_exceed_captures() {
        let order = OrderBuilder::new("o-3")
            .line(OrderLineBuilder::apparel("l1", "Coat", 32900))
            .gift_card_minor(5000)
            .refunded_minor(1_000_000)
            .build();
        assert_eq!(order.payments[0].tender, Tender::GiftCard);
        assert_eq!(order.payments[0].captured, chf_minor(5000));
        assert_eq!(order.payments[1].tender, Tender::Card);
        assert_eq!(order.payments[1].captured, chf_minor(27900));
        for p in &order.payments {
            assert_eq!(p.refunded, p.captured);
        }
    }

    #[test]
    fn gift_card_larger_than_the_total_pays_everything() {
        let order = OrderBuilder::new("o-4")
            .line(OrderLineBuilder::apparel("l1", "Socks", 1990))
            .gift_card_minor(10000)
            .build();
        assert_eq!(order.payments.len(), 1);
        assert_eq!(order.payments[0].tender, Tender::GiftCard);
        assert_eq!(order.payments[0].captured, chf_minor(1990));
    }

    #[test]
    fn order_discount_is_capped_at_the_subtotal() {
        let order = OrderBuilder::new("o-5")
            .line(OrderLineBuilder::apparel("l1", "Socks", 1990))
            .order_discount_minor(5000)
            .shipping_minor(790)
            .build();
        assert_eq!(order.order_discount, Some(chf_minor(1990)));
        assert_eq!(captured(&order), chf_minor(790));
        assert_eq!(order.tax_total, chf_minor(0));
    }

    #[test]
    fn shipments_default_to_every_line_and_derive_the_status() {
        let placed = default_placed_at();
        let order = OrderBuilder::new("o-6")
            .line(OrderLineBuilder::apparel("l1", "Sweater", 8990).quantity(2))
            .line(OrderLineBuilder::apparel("l2", "Scarf", 3990))
            .shipment(ShipmentBuilder::new("s1").delivered_days_after(placed, 1, 2))
            .build();
        assert_eq!(order.status, OrderStatus::Delivered);
        assert_eq!(order.shipments[0].lines.len(), 2);
        assert_eq!(order.shipments[0].lines[0].quantity, 2);
        assert_eq!(order.shipments[0].status(), TrackingStatus::Delivered);
        assert!(order.line_delivered_at(&LineId::new("l2")).is_some());

        let split = OrderBuilder::new("o-7")
            .line(OrderLineBuilder::apparel("l1", "Sweater", 8990))
            .line(OrderLineBuilder::electronics("l2", "Speaker", 12900))
            .shipment(
                ShipmentBuilder::new("s1")
                    .line("l1", 1)
                    .delivered_days_after(placed, 1, 2),
            )
            .shipment(
                ShipmentBuilder::new("s2")
                    .line("l2", 1)
                    .shipped_at(days_after(placed, 3)),
            )
            .build();
        // Everything left the warehouse, not everything arrived.
        assert_eq!(split.status, OrderStatus::Fulfilled);
        assert_eq!(split.shipments[1].status(), TrackingStatus::PickedUp);

        let partial = OrderBuilder::new("o-7b")
            .line(OrderLineBuilder::apparel("l1", "Sweater", 8990))
            .line(OrderLineBuilder::electronics("l2", "Speaker", 12900))
            .shipment(
                ShipmentBuilder::new("s1")
                    .line("l1", 1)
                    .shipped_at(days_after(placed, 1)),
            )
            .build();
        assert_eq!(partial.status, OrderStatus::PartiallyFulfilled);

        let shipped = OrderBuilder::new("o-8")
            .line(OrderLineBuilder::apparel("l1", "Sweater", 8990))
            .shipment(ShipmentBuilder::new("s1").shipped_at(days_after(placed, 1)))
            .build();
        assert_eq!(shipped.status, OrderStatus::Fulfilled);
    }

    #[test]
    fn tracking_events_are_sorted_oldest_first() {
        let t = default_placed_at();
        let s = ShipmentBuilder::new("s1")
            .scan(days_after(t, 3), TrackingStatus::CustomsHold, "Basel")
            .shipped_at(days_after(t, 1))
            .build();
        let times: Vec<_> = s.events.iter().map(|e| e.at).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted);
        assert_eq!(s.status(), TrackingStatus::CustomsHold);
        assert!(s.tracking_number.is_some());
    }

    #[test]
    fn facts_default_to_the_order_customer() {
        let order = OrderBuilder::new("o-9")
            .customer("c-42", "luca.rossi@example.ch")
            .line(OrderLineBuilder::apparel("l1", "Sweater", 8990))
            .build();
        let facts = FactsBuilder::new(order).returned("l1", 1).build();
        assert_eq!(facts.customer.id, CustomerId::new("c-42"));
        assert_eq!(facts.customer.email, "luca.rossi@example.ch");
        assert_eq!(facts.returned_quantities.get(&LineId::new("l1")), Some(&1));
    }

    #[test]
    fn return_and_receipt_builders() {
        let order = OrderBuilder::new("o-10")
            .line(OrderLineBuilder::apparel("l1", "Sweater", 8990).quantity(2))
            .build();
        let req = ReturnRequestBuilder::for_order(&order)
            .exchange("l1", 1, ReturnReason::DoesNotFit, "v-sweater-l")
            .build();
        assert_eq!(req.resolution, ResolutionKind::Exchange);
        let receipt = ReceiptBuilder::matching("rma-1", &req, Some(InspectionGrade::New)).build();
        assert_eq!(receipt.lines.len(), 1);
        assert_eq!(receipt.lines[0].grade, Some(InspectionGrade::New));
        let all = ReturnRequestBuilder::everything(&order, ReturnReason::ChangedMind).build();
        assert_eq!(all.lines[0].quantity, 2);
    }

    #[test]
    fn impossible_dates_do_not_panic() {
        assert_eq!(utc(2026, 2, 30, 0, 0), DateTime::UNIX_EPOCH);
        assert_eq!(date(2026, 13, 1), NaiveDate::default());
        assert_eq!(chf(150), chf_minor(15000));
        assert_eq!(zurich(2026, 3, 2, 10, 0), utc(2026, 3, 2, 9, 0));
        assert_eq!(zurich(2026, 7, 1, 10, 0), utc(2026, 7, 1, 8, 0));
        assert_eq!(zurich(2026, 3, 29, 2, 30), DateTime::UNIX_EPOCH);
    }
}

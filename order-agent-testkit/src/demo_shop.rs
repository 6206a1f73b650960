//! A built-in demo shop: "Alpenfaden", a Swiss online shop selling apparel and electronics, with
//! thirteen customers (English, German, French and Italian speakers) and twenty orders in every
//! state the agent meets — delivered, in transit, lost, held at customs, late, split, unfulfilled,
//! final sale, hygiene, high value, fraud-flagged, paid with a gift card.
//!
//! Every timestamp is relative to the `now` given to [`DemoShop::new`], so a demo or a simulation
//! always sees the same situation ("delivered ten days ago"). Only the holiday-gift order
//! ([`ORDER_HOLIDAY_GIFT`]) depends on the calendar: the sample policy's holiday extension covers
//! it when `now` is [`demo_now`] (placed 5 December 2025, asked about on 12 January 2026).
//!
//! ```
//! use order_agent_testkit::demo_shop::{demo_now, DemoShop, ORDER_APPAREL_DELIVERED};
//!
//! let shop = DemoShop::new(demo_now());
//! let facts = shop.facts(ORDER_APPAREL_DELIVERED).expect("the demo order exists");
//! assert_eq!(facts.customer.id, facts.order.customer_id);
//! assert_eq!(shop.orders.len(), 20);
//! ```

use chrono::{DateTime, Utc};
use order_agent_core::domain::{
    Channel, Customer, ExchangeOffer, Locale, Order, ProductId, Sku, Tender, TrackingStatus,
    VariantId,
};
use order_agent_core::money::Money;
use order_agent_core::policy::Facts;

use crate::builders::{
    address, chf, chf_minor, days_after, days_before, hours_after, utc, CustomerBuilder,
    FactsBuilder, OrderBuilder, OrderLineBuilder, ShipmentBuilder,
};

/// 12 January 2026, 09:30 UTC (10:30 in Zürich): the instant the examples run at.
pub fn demo_now() -> DateTime<Utc> {
    utc(2026, 1, 12, 9, 30)
}

/// Apparel delivered ten days ago, with a CHF 20 coupon: an in-window return for a refund.
pub const ORDER_APPAREL_DELIVERED: &str = "ds-1001";
/// A Bluetooth speaker delivered eight days ago: electronics need inspection before the refund.
pub const ORDER_ELECTRONICS_DELIVERED: &str = "ds-1002";
/// A clearance rain jacket sold as final sale, delivered in Switzerland five days ago.
pub const ORDER_FINAL_SALE: &str = "ds-1003";
/// Merino briefs, tagged `hygiene`, delivered six days ago.
pub const ORDER_HYGIENE: &str = "ds-1004";
/// Chinos delivered 72 days ago: the return window has passed.
pub const ORDER_WINDOW_EXPIRED: &str = "ds-1005";
/// Final-sale sneakers delivered to Germany six days ago: the EU withdrawal floor applies.
pub const ORDER_EU_FINAL_SALE: &str = "ds-1006";
/// A linen dress for a gold member, delivered nine days ago: store credit with a bonus.
pub const ORDER_GOLD_DRESS: &str = "ds-1007";
/// A merino sweater in M delivered seven days ago; size L is in stock for an exchange.
pub const ORDER_EXCHANGE: &str = "ds-1008";
/// A CHF 2199 laptop delivered four days ago: a high-value order.
pub const ORDER_HIGH_VALUE_LAPTOP: &str = "ds-1009";
/// A CHF 329 down jacket delivered twelve days ago: a refund above the auto-refund limit.
pub const ORDER_EXPENSIVE_JACKET: &str = "ds-1010";
/// An apparel order the payment provider flagged as a fraud risk, delivered three days ago.
pub const ORDER_FRAUD_FLAGGED: &str = "ds-1011";
/// Placed twelve hours ago and not picked yet: can be cancelled.
pub const ORDER_UNFULFILLED: &str = "ds-1012";
/// Shipped two days ago and in transit, due tomorrow: too late to cancel.
pub const ORDER_IN_TRANSIT: &str = "ds-1013";
/// Placed this morning, not picked yet: its address and items can still change.
pub const ORDER_CHANGEABLE: &str = "ds-1014";
/// Shipped sixteen days ago; the last scan is twelve days old: the parcel is probably lost.
pub const ORDER_LOST_PARCEL: &str = "ds-1015";
/// Shipped to Austria four days ago; held at customs for two days.
pub const ORDER_CUSTOMS_HOLD: &str = "ds-1016";
/// Promised four days ago at the latest and still in transit: late against the promise.
pub const ORDER_LATE: &str = "ds-1017";
/// Split shipment: the sweater arrived two days ago, the headphones are still on their way.
pub const ORDER_SPLIT_SHIPMENT: &str = "ds-1018";
/// Paid CHF 50 by gift card and the rest by card, delivered nine days ago.
pub const ORDER_GIFT_CARD_AND_CARD: &str = "ds-1019";
/// A holiday gift placed 38 days ago and delivered 35 days ago: outside 30 days, inside the
/// holiday extension when `now` is in January.
pub const ORDER_HOLIDAY_GIFT: &str = "ds-1020";

/// The demo shop's customers, orders and exchange stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoShop {
    /// The instant every timestamp is relative to.
    pub now: DateTime<Utc>,
    /// Customers.
    pub customers: Vec<Customer>,
    /// Orders, by id `ds-1001` to `ds-1020` (see the `ORDER_*` constants).
    pub orders: Vec<Order>,
    /// Variants in stock for exchanges and size swaps.
    pub exchange_offers: Vec<ExchangeOffer>,
}

impl DemoShop {
    /// The demo shop as it stands at `now`.
    pub fn new(now: DateTime<Utc>) -> DemoShop {
        DemoShop {
            now,
            customers: customers(),
            orders: orders(now),
            exchange_offers: exchange_offers(),
        }
    }

    /// The order with id `id`.
    pub fn order(&self, id: &str) -> Option<&Order> {
        self.orders.iter().find(|o| o.id.as_str() == id)
    }

    /// The customer with id `id`.
    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id.as_str() == id)
    }

    /// What the agent would gather about order `id`: the order, its customer and the exchange
    /// offers for its products. `None` when there is no such order (or customer).
    pub fn facts(&self, id: &str) -> Option<Facts> {
        let order = self.order(id)?.clone();
        let customer = self.customer(order.customer_id.as_str())?.clone();
        let offers: Vec<ExchangeOffer> = self
            .exchange_offers
            .iter()
            .filter(|o| order.lines.iter().any(|l| l.product_id == o.product_id))
            .cloned()
            .collect();
        Some(
            FactsBuilder::new(order)
                .customer(customer)
                .exchange_offers(offers)
                .build(),
        )
    }
}

struct Person {
    id: &'static str,
    name: &'static str,
    email: &'static str,
    phone: &'static str,
    locale: Locale,
    tier: Option<&'static str>,
    orders: u32,
    returns: u32,
    refunded_in_period: i64,
}

const PEOPLE: [Person; 13] = [
    Person {
        id: "c-anna",
        name: "Anna Müller",
        email: "anna.mueller@example.ch",
        phone: "+41791234501",
        locale: Locale::De,
        tier: Some("silver"),
        orders: 6,
        returns: 1,
        refunded_in_period: 4590,
    },
    Person {
        id: "c-luca",
        name: "Luca Rossi",
        email: "luca.rossi@example.ch",
        phone: "+41791234502",
        locale: Locale::It,
        tier: None,
        orders: 3,
        returns: 0,
        refunded_in_period: 0,
    },
    Person {
        id: "c-sophie",
        name: "Sophie Dubois",
        email: "sophie.dubois@example.ch",
        phone: "+41791234503",
        locale: Locale::Fr,
        tier: None,
        orders: 4,
        returns: 1,
        refunded_in_period: 0,
    },
    Person {
        id: "c-james",
        name: "James Miller",
        email: "james.miller@example.com",
        phone: "+41791234504",
        locale: Locale::En,
        tier: None,
        orders: 2,
        returns: 0,
        refunded_in_period: 0,
    },
    Person {
        id: "c-lena",
        name: "Lena Schmidt",
        email: "lena.schmidt@example.de",
        phone: "+491701234505",
        locale: Locale::De,
        tier: None,
        orders: 1,
        returns: 0,
        refunded_in_period: 0,
    },
    Person {
        id: "c-claire",
        name: "Claire Fontaine",
        email: "claire.fontaine@example.ch",
        phone: "+41791234506",
        locale: Locale::Fr,
        tier: Some("gold"),
        orders: 24,
        returns: 5,
        refunded_in_period: 0,
    },
    Person {
        id: "c-jonas",
        name: "Jonas Meier",
        email: "jonas.meier@example.ch",
        phone: "+41791234507",
        locale: Locale::De,
        tier: None,
        orders: 5,
        returns: 1,
        refunded_in_period: 0,
    },
    Person {
        id: "c-thomas",
        name: "Thomas Keller",
        email: "thomas.keller@example.ch",
        phone: "+41791234508",
        locale: Locale::De,
        tier: Some("gold"),
        orders: 11,
        returns: 1,
        refunded_in_period: 0,
    },
    Person {
        id: "c-giulia",
        name: "Giulia Bernasconi",
        email: "giulia.bernasconi@example.ch",
        phone: "+41791234509",
        locale: Locale::It,
        tier: None,
        orders: 3,
        returns: 0,
        refunded_in_period: 0,
    },
    Person {
        id: "c-alex",
        name: "Alex Novak",
        email: "alex.novak@example.net",
        phone: "+41791234510",
        locale: Locale::En,
        tier: None,
        orders: 1,
        returns: 0,
        refunded_in_period: 0,
    },
    Person {
        id: "c-nina",
        name: "Nina Frei",
        email: "nina.frei@example.ch",
        phone: "+41791234511",
        locale: Locale::De,
        tier: None,
        orders: 7,
        returns: 2,
        refunded_in_period: 0,
    },
    Person {
        id: "c-pierre",
        name: "Pierre Lambert",
        email: "pierre.lambert@example.ch",
        phone: "+41791234512",
        locale: Locale::Fr,
        tier: None,
        orders: 2,
        returns: 0,
        refunded_in_period: 0,
    },
    Person {
        id: "c-katrin",
        name: "Katrin Huber",
        email: "katrin.huber@example.at",
        phone: "+436641234513",
        locale: Locale::De,
        tier: None,
        orders: 2,
        returns: 0,
        refunded_in_period: 0,
    },
];

fn customers() -> Vec<Customer> {
    PEOPLE
        .iter()
        .map(|p| {
            let mut b = CustomerBuilder::new(p.id)
                .name(p.name)
                .email(p.email)
                .locale(p.locale)
                .contact(Channel::Email, p.email)
                .contact(Channel::Whatsapp, p.phone)
                .history(p.orders, p.returns)
                .returns_in_period(p.returns.min(1))
                .refunded_in_period(chf_minor(p.refunded_in_period));
            if let Some(tier) = p.tier {
                b = b.tier(tier);
            }
            b.build()
        })
        .collect()
}

fn person(id: &str) -> Option<&'static Person> {
    PEOPLE.iter().find(|p| p.id == id)
}

/// An order builder for customer `customer_id`, shipped to the customer's address.
fn order_for(
    id: &str,
    customer_id: &str,
    placed: DateTime<Utc>,
    ship_to: order_agent_core::domain::Address,
) -> OrderBuilder {
    let (email, phone) = person(customer_id).map_or(("", ""), |p| (p.email, p.phone));
    OrderBuilder::new(id)
        .number(&format!("#{}", id.trim_start_matches("ds-")))
        .customer(customer_id, email)
        .phone(phone)
        .placed_at(placed)
        .ship_to(ship_to)
}

// The catalogue, prices in rappen, VAT included.
fn sweater(line: &str, size: &str) -> OrderLineBuilder {
    let upper = size.to_uppercase();
    OrderLineBuilder::apparel(line, &format!("Merino Sweater – {upper} / Navy"), 11900)
        .sku(&format!("MER-SW-NAVY-{upper}"))
        .product("p-merino-sweater")
        .variant(&format!("v-merino-sweater-{size}"))
}

fn tshirt(line: &str) -> OrderLineBuilder {
    OrderLineBuilder::apparel(line, "Organic Cotton T-Shirt – M / White", 3990)
        .sku("ORG-TS-WHT-M")
        .product("p-organic-tshirt")
        .variant("v-organic-tshirt-m")
}

fn chinos(line: &str) -> OrderLineBuilder {
    OrderLineBuilder::apparel(line, "Slim Chinos – 32 / Sand", 8990)
        .sku("CHN-SL-SND-32")
        .product("p-slim-chinos")
        .variant("v-slim-chinos-32")
}

fn scarf(line: &str) -> OrderLineBuilder {
    OrderLineBuilder::new(line, "Wool Scarf – Bordeaux", 4900)
        .category("accessories")
        .sku("ACC-SCF-BDX")
        .product("p-wool-scarf")
        .variant("v-wool-scarf-bordeaux")
}

fn down_jacket(line: &str) -> OrderLineBuilder {
    OrderLineBuilder::apparel(line, "Down Jacket – L / Black", 32900)
        .sku("DWN-JK-BLK-L")
        .product("p-down-jacket")
        .variant("v-down-jacket-l")
}

fn speaker(line: &str) -> OrderLineBuilder {
    OrderLineBuilder::electronics(line, "Bluetooth Speaker – Graphite", 12900)
        .sku("AUD-SPK-GRA")
        .product("p-bt-speaker")
        .variant("v-bt-speaker-graphite")
}

fn headphones(line: &str) -> OrderLineBuilder {
    OrderLineBuilder::electronics(line, "Noise-Cancelling Headphones", 34900)
        .sku("AUD-NC-700")
        .product("p-nc-headphones")
        .variant("v-nc-headphones-black")
}

fn charger(line: &str) -> OrderLineBuilder {
    OrderLineBuilder::electronics(line, "USB-C Charger 65 W", 3990)
        .sku("PWR-USBC-65")
        .product("p-usbc-charger")
        .variant("v-usbc-charger-65")
}

/// Shipped `shipped` days before `now` and delivered `delivered` days before `now` by Swiss Post.
fn delivered(id: &str, now: DateTime<Utc>, shipped: i64, delivered: i64) -> ShipmentBuilder {
    let shipped_at = hours_after(days_before(now, shipped), -3);
    let delivered_at = hours_after(days_before(now, delivered), 2);
    ShipmentBuilder::new(id)
        .shipped_at(shipped_at)
        .scan(
            hours_after(shipped_at, 9),
            TrackingStatus::InTransit,
            "Briefzentrum Härkingen",
        )
        .promised(
            days_before(now, delivered + 1).date_naive(),
            days_after(delivered_at, 1).date_naive(),
        )
        .delivered_at(delivered_at)
}

fn orders(now: DateTime<Utc>) -> Vec<Order> {
    let d = |days: i64| days_before(now, days);
    let zurich = address("Anna Müller", "Seefeldstrasse 45", "8008", "Zürich", "CH");
    let lugano = address("Luca Rossi", "Via Nassa 5", "6900", "Lugano", "CH");
    let lausanne = address(
        "Sophie Dubois",
        "Avenue de la Gare 10",
        "1003",
        "Lausanne",
        "CH",
    );
    let basel = address("James Miller", "Freie Strasse 34", "4001", "Basel", "CH");
    let freiburg = address(
        "Lena Schmidt",
        "Kaiser-Joseph-Strasse 7",
        "79098",
        "Freiburg im Breisgau",
        "DE",
    );
    let geneva = address("Claire Fontaine", "Rue du Rhône 48", "1204", "Genève", "CH");
    let bern = address("Jonas Meier", "Marktgasse 12", "3011", "Bern", "CH");
    let zug = address("Thomas Keller", "Baarerstrasse 22", "6300", "Zug", "CH");
    let bellinzona = address(
        "Giulia Bernasconi",
        "Viale Stazione 8",
        "6500",
        "Bellinzona",
        "CH",
    );
    let zurich_alex = address("Alex Novak", "Langstrasse 120", "8004", "Zürich", "CH");
    let luzern = address("Nina Frei", "Hertensteinstrasse 3", "6004", "Luzern", "CH");
    let neuchatel = address(
        "Pierre Lambert",
        "Rue du Seyon 9",
        "2000",
        "Neuchâtel",
        "CH",
    );
    let vienna = address(
        "Katrin Huber",
        "Mariahilfer Strasse 88",
        "1070",
        "Wien",
        "AT",
    );

    vec![
        order_for(ORDER_APPAREL_DELIVERED, "c-anna", d(13), zurich.clone())
            .line(sweater("l1", "m"))
            .line(tshirt("l2").quantity(2))
            .order_discount_minor(2000)
            .shipment(delivered("s1", now, 12, 10))
            .build(),
        order_for(ORDER_ELECTRONICS_DELIVERED, "c-luca", d(11), lugano.clone())
            .line(speaker("l1"))
            .paid_with(Tender::Twint)
            .shipment(delivered("s1", now, 10, 8))
            .build(),
        order_for(ORDER_FINAL_SALE, "c-sophie", d(8), lausanne)
            .line(
                OrderLineBuilder::apparel("l1", "Rain Jacket – S / Olive (outlet)", 7900)
                    .sku("OUT-RJ-OLV-S")
                    .product("p-rain-jacket")
                    .variant("v-rain-jacket-s")
                    .tag("clearance")
                    .final_sale(),
            )
            .shipping_minor(790)
            .shipment(delivered("s1", now, 7, 5))
            .build(),
        order_for(ORDER_HYGIENE, "c-james", d(9), basel)
            .line(
                OrderLineBuilder::apparel("l1", "Merino Briefs 3-Pack – M", 4990)
                    .sku("UND-BR-3P-M")
                    .product("p-merino-briefs")
                    .variant("v-merino-briefs-m")
                    .tag("hygiene"),
            )
            .shipping_minor(790)
            .shipment(delivered("s1", now, 8, 6))
            .build(),
        order_for(ORDER_WINDOW_EXPIRED, "c-anna", d(75), zurich.clone())
            .line(chinos("l1"))
            .shipping_minor(790)
            .shipment(delivered("s1", now, 74, 72))
            .build(),
        order_for(ORDER_EU_FINAL_SALE, "c-lena", d(10), freiburg)
            .line(
                OrderLineBuilder::new("l1", "Trail Sneakers – 39 / Grey (outlet)", 9900)
                    .category("footwear")
                    .sku("OUT-TS-GRY-39")
                    .product("p-trail-sneakers")
                    .variant("v-trail-sneakers-39")
                    .tag("clearance")
                    .final_sale(),
            )
            .shipping_minor(1490)
            .paid_with(Tender::Paypal)
            .shipment(delivered("s1", now, 9, 6).carrier("dhl"))
            .build(),
        order_for(ORDER_GOLD_DRESS, "c-claire", d(12), geneva.clone())
            .line(
                OrderLineBuilder::apparel("l1", "Linen Dress – 38 / Sage", 10900)
                    .sku("LIN-DR-SGE-38")
                    .product("p-linen-dress")
                    .variant("v-linen-dress-38"),
            )
            .shipment(delivered("s1", now, 11, 9))
            .build(),
        order_for(ORDER_EXCHANGE, "c-jonas", d(10), bern.clone())
            .line(sweater("l1", "m"))
            .shipment(delivered("s1", now, 9, 7))
            .build(),
        order_for(ORDER_HIGH_VALUE_LAPTOP, "c-thomas", d(7), zug)
            .line(
                OrderLineBuilder::electronics("l1", "14\" Laptop – 32 GB / 1 TB", 219_900)
                    .sku("CMP-LT14-32-1T")
                    .product("p-laptop-14")
                    .variant("v-laptop-14-32-1t"),
            )
            .line(charger("l2"))
            .shipment(delivered("s1", now, 6, 4))
            .build(),
        order_for(ORDER_EXPENSIVE_JACKET, "c-nina", d(15), luzern.clone())
            .line(down_jacket("l1"))
            .shipment(delivered("s1", now, 14, 12))
            .build(),
        order_for(ORDER_FRAUD_FLAGGED, "c-alex", d(6), zurich_alex)
            .line(tshirt("l1").quantity(2))
            .line(scarf("l2"))
            .fraud_flagged()
            .shipment(delivered("s1", now, 5, 3))
            .build(),
        order_for(
            ORDER_UNFULFILLED,
            "c-giulia",
            hours_after(now, -12),
            bellinzona.clone(),
        )
        .line(scarf("l1"))
        .line(tshirt("l2"))
        .shipping_minor(790)
        .paid_with(Tender::Twint)
        .build(),
        order_for(ORDER_IN_TRANSIT, "c-pierre", d(3), neuchatel)
            .line(chinos("l1"))
            .shipping_minor(790)
            .shipment(
                ShipmentBuilder::new("s1")
                    .shipped_at(d(2))
                    .scan(
                        hours_after(d(2), 8),
                        TrackingStatus::InTransit,
                        "Briefzentrum Härkingen",
                    )
                    .scan(
                        hours_after(d(1), 4),
                        TrackingStatus::InTransit,
                        "Paketzentrum Daillens",
                    )
                    .promised(d(0).date_naive(), days_after(now, 1).date_naive())
                    .carrier_eta(days_after(now, 1).date_naive()),
            )
            .build(),
        order_for(ORDER_CHANGEABLE, "c-jonas", hours_after(now, -2), bern)
            .line(sweater("l1", "s"))
            .line(tshirt("l2").quantity(3))
            .build(),
        order_for(ORDER_LOST_PARCEL, "c-luca", d(17), lugano)
            .line(headphones("l1"))
            .shipment(
                ShipmentBuilder::new("s1")
                    .shipped_at(d(16))
                    .scan(
                        hours_after(d(16), 9),
                        TrackingStatus::InTransit,
                        "Briefzentrum Härkingen",
                    )
                    .scan(
                        hours_after(d(12), -2),
                        TrackingStatus::InTransit,
                        "Paketzentrum Cadenazzo",
                    )
                    .promised(d(15).date_naive(), d(13).date_naive()),
            )
            .build(),
        order_for(ORDER_CUSTOMS_HOLD, "c-katrin", d(5), vienna)
            .line(sweater("l1", "s"))
            .line(charger("l2"))
            .shipping_minor(1490)
            .shipment(
                ShipmentBuilder::new("s1")
                    .carrier("dhl")
                    .shipped_at(d(4))
                    .scan(
                        hours_after(d(4), 10),
                        TrackingStatus::InTransit,
                        "Export hub Basel",
                    )
                    .scan(
                        hours_after(d(2), 7),
                        TrackingStatus::CustomsHold,
                        "Zollamt Feldkirch",
                    )
                    .promised(d(2).date_naive(), d(1).date_naive()),
            )
            .build(),
        order_for(ORDER_LATE, "c-sophie", d(9), geneva)
            .line(scarf("l1"))
            .line(chinos("l2"))
            .shipment(
                ShipmentBuilder::new("s1")
                    .carrier("ups")
                    .shipped_at(d(8))
                    .scan(
                        hours_after(d(7), 5),
                        TrackingStatus::InTransit,
                        "UPS Hub Genève",
                    )
                    .scan(
                        hours_after(d(1), 11),
                        TrackingStatus::DeliveryAttemptFailed,
                        "Genève",
                    )
                    .promised(d(6).date_naive(), d(4).date_naive())
                    .carrier_eta(days_after(now, 1).date_naive()),
            )
            .build(),
        order_for(ORDER_SPLIT_SHIPMENT, "c-nina", d(5), luzern)
            .line(sweater("l1", "l"))
            .line(headphones("l2"))
            .shipment(delivered("s1", now, 4, 2).line("l1", 1))
            .shipment(
                ShipmentBuilder::new("s2")
                    .carrier("dhl")
                    .line("l2", 1)
                    .shipped_at(d(1))
                    .scan(
                        hours_after(d(1), 6),
                        TrackingStatus::InTransit,
                        "DHL Hub Leipzig",
                    )
                    .promised(d(0).date_naive(), days_after(now, 2).date_naive()),
            )
            .build(),
        order_for(ORDER_GIFT_CARD_AND_CARD, "c-giulia", d(12), bellinzona)
            .line(chinos("l1"))
            .line(tshirt("l2"))
            .gift_card_minor(5000)
            .shipment(delivered("s1", now, 11, 9))
            .build(),
        order_for(ORDER_HOLIDAY_GIFT, "c-anna", d(38), zurich)
            .line(scarf("l1"))
            .shipping_minor(790)
            .shipment(delivered("s1", now, 37, 35))
            .build(),
    ]
}

fn exchange_offers() -> Vec<ExchangeOffer> {
    let offer =
        |product: &str, variant: &str, sku: &str, price: Money, available: u32| ExchangeOffer {
            product_id: ProductId::new(product),
            variant_id: VariantId::new(variant),
            sku: Sku::new(sku),
            unit_price: price,
            available,
        };
    vec![
        offer(
            "p-merino-sweater",
            "v-merino-sweater-s",
            "MER-SW-NAVY-S",
            chf(119),
            2,
        ),
        offer(
            "p-merino-sweater",
            "v-merino-sweater-m",
            "MER-SW-NAVY-M",
            chf(119),
            5,
        ),
        offer(
            "p-merino-sweater",
            "v-merino-sweater-l",
            "MER-SW-NAVY-L",
            chf(119),
            3,
        ),
        offer(
            "p-merino-sweater",
            "v-merino-sweater-xl",
            "MER-SW-NAVY-XL",
            chf(119),
            0,
        ),
        offer(
            "p-organic-tshirt",
            "v-organic-tshirt-l",
            "ORG-TS-WHT-L",
            chf_minor(3990),
            12,
        ),
        offer(
            "p-slim-chinos",
            "v-slim-chinos-34",
            "CHN-SL-SND-34",
            chf_minor(8990),
            4,
        ),
        offer(
            "p-down-jacket",
            "v-down-jacket-xl",
            "DWN-JK-BLK-XL",
            chf(349),
            1,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_agent_core::domain::{LineId, OrderStatus, TaxMode};

    #[test]
    fn every_order_has_its_customer_and_consistent_payments() {
        let shop = DemoShop::new(demo_now());
        assert_eq!(shop.orders.len(), 20);
        assert!(shop.customers.len() >= 12);
        let locales: std::collections::BTreeSet<_> =
            shop.customers.iter().map(|c| c.locale.tag()).collect();
        assert_eq!(locales.len(), 4);
        for order in &shop.orders {
            let facts = shop.facts(order.id.as_str()).unwrap();
            assert_eq!(facts.customer.email, order.email);
            let captured =
                Money::sum(order.currency, order.payments.iter().map(|p| p.captured)).unwrap();
            let mut total = Money::zero(order.currency);
            for l in &order.lines {
                total = total.checked_add(l.after_line_discount().unwrap()).unwrap();
            }
            if let Some(d) = order.order_discount {
                total = total.checked_sub(d).unwrap();
            }
            total = total.checked_add(order.shipping).unwrap();
            assert_eq!(order.tax_mode, TaxMode::Included);
            assert_eq!(captured, total, "order {}", order.id);
            for s in &order.shipments {
                for sl in &s.lines {
                    assert!(order.line(&sl.line_id).is_some());
                }
                for e in &s.events {
                    assert!(e.at <= shop.now, "order {} has a future scan", order.id);
                }
            }
            assert!(order.placed_at <= shop.now);
        }
    }

    #[test]
    fn the_named_situations_hold() {
        let now = demo_now();
        let shop = DemoShop::new(now);
        let order = |id| shop.order(id).unwrap();

        assert_eq!(
            order(ORDER_APPAREL_DELIVERED).status,
            OrderStatus::Delivered
        );
        assert_eq!(order(ORDER_UNFULFILLED).status, OrderStatus::Unfulfilled);
        assert_eq!(order(ORDER_CHANGEABLE).status, OrderStatus::Unfulfilled);
        assert_eq!(order(ORDER_IN_TRANSIT).status, OrderStatus::Fulfilled);
        assert_eq!(order(ORDER_SPLIT_SHIPMENT).status, OrderStatus::Fulfilled);
        assert!(order(ORDER_FINAL_SALE).lines[0].final_sale);
        assert!(order(ORDER_HYGIENE).lines[0].has_tag("hygiene"));
        assert!(order(ORDER_FRAUD_FLAGGED).risk.fraud_flagged);
        assert_eq!(order(ORDER_EU_FINAL_SALE).shipping_address.country, "DE");
        assert_eq!(order(ORDER_GIFT_CARD_AND_CARD).payments.len(), 2);
        assert_eq!(
            order(ORDER_GIFT_CARD_AND_CARD).payments[0].tender,
            Tender::GiftCard
        );
        assert_ne!(
            order(ORDER_HIGH_VALUE_LAPTOP).payments[0]
                .captured
                .try_cmp(&chf(1500))
                .unwrap(),
            std::cmp::Ordering::Less
        );

        let lost = &order(ORDER_LOST_PARCEL).shipments[0];
        assert_eq!(lost.status(), TrackingStatus::InTransit);
        assert!(lost.last_event().unwrap().at <= days_before(now, 12));

        let customs = &order(ORDER_CUSTOMS_HOLD).shipments[0];
        assert_eq!(customs.status(), TrackingStatus::CustomsHold);

        let late = &order(ORDER_LATE).shipments[0];
        assert!(late.promised.unwrap().latest < now.date_naive());
        assert!(late.delivered_at.is_none());

        let split = order(ORDER_SPLIT_SHIPMENT);
        assert_eq!(split.shipments.len(), 2);
        assert!(split.line_delivered_at(&LineId::new("l1")).is_some());
        assert!(split.line_delivered_at(&LineId::new("l2")).is_none());

        let expired = order(ORDER_WINDOW_EXPIRED);
        assert!(expired.line_delivered_at(&LineId::new("l1")).unwrap() < days_before(now, 70));

        // The holiday gift falls in the sample policy's holiday-2025 extension at demo_now.
        let gift = order(ORDER_HOLIDAY_GIFT);
        assert_eq!(
            gift.placed_at.date_naive(),
            chrono::NaiveDate::from_ymd_opt(2025, 12, 5).unwrap()
        );
        assert!(shop.facts(ORDER_EXCHANGE).unwrap().exchange_offers.len() >= 3);
        assert!(shop.facts("ds-9999").is_none());
    }
}

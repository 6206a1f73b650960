//! Small, fixed seed data for the conformance samples: two customers and their orders in CHF.

use chrono::{DateTime, TimeZone, Utc};
use order_agent_core::domain::{
    Address, Channel, ContactPoint, Customer, CustomerId, Locale, Order, OrderId, OrderLine,
    OrderNumber, OrderStatus, Payment, PaymentId, ReturnHistory, RiskSignals, TaxMode, Tender,
};
use order_agent_core::{Currency, Money};
use rust_decimal::Decimal;

pub(crate) fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

pub(crate) fn chf(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CHF)
}

pub(crate) fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

pub(crate) fn address(name: &str, line1: &str, postcode: &str, city: &str) -> Address {
    Address {
        name: name.to_owned(),
        line1: line1.to_owned(),
        line2: None,
        postcode: postcode.to_owned(),
        city: city.to_owned(),
        region: None,
        country: "CH".to_owned(),
    }
}

pub(crate) fn customers() -> Vec<Customer> {
    vec![
        Customer {
            id: CustomerId::new("cus_anna"),
            name: "Anna Muster".to_owned(),
            email: "anna@example.ch".to_owned(),
            contact_points: vec![
                ContactPoint {
                    channel: Channel::Email,
                    address: "anna.work@example.ch".to_owned(),
                },
                ContactPoint {
                    channel: Channel::Sms,
                    address: "+41791234567".to_owned(),
                },
            ],
            locale: Locale::De,
            loyalty_tier: Some("gold".to_owned()),
            history: ReturnHistory::default(),
        },
        Customer {
            id: CustomerId::new("cus_ben"),
            name: "Ben Beispiel".to_owned(),
            email: "ben@example.com".to_owned(),
            contact_points: Vec::new(),
            locale: Locale::En,
            loyalty_tier: None,
            history: ReturnHistory::default(),
        },
    ]
}

/// (line id, units, unit price in minor units)
type LineSpec = (&'static str, u32, i64);

fn order(
    n: u32,
    customer: &str,
    email: &str,
    placed_at: DateTime<Utc>,
    status: OrderStatus,
    lines: &[LineSpec],
) -> Order {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(id, quantity, price)| OrderLine {
            id: (*id).into(),
            sku: format!("SKU-{id}").into(),
            product_id: format!("prod_{id}").into(),
            variant_id: format!("var_{id}_m").into(),
            title: format!("Article {id}"),
            category: "apparel".to_owned(),
            tags: Vec::new(),
            quantity: *quantity,
            unit_price: chf(*price),
            line_discount: None,
            tax_rate: Decimal::new(81, 3),
            final_sale: false,
        })
        .collect();
    let goods: i64 = lines
        .iter()
        .map(|l| l.unit_price.to_minor() * i64::from(l.quantity))
        .sum();
    let shipping = 900;
    Order {
        id: OrderId::new(format!("o_{n}")),
        number: OrderNumber::new(format!("#{n}")),
        customer_id: CustomerId::new(customer),
        email: email.to_owned(),
        phone: None,
        currency: Currency::CHF,
        placed_at,
        status,
        tax_mode: TaxMode::Included,
        lines,
        order_discount: None,
        shipping: chf(shipping),
        tax_total: chf((goods + shipping) * 81 / 1081),
        shipping_address: address("Anna Muster", "Langstrasse 1", "8004", "Zürich"),
        billing_address: None,
        payments: vec![Payment {
            id: PaymentId::new(format!("pay_{n}")),
            tender: Tender::Card,
            captured: chf(goods + shipping),
            refunded: chf(0),
        }],
        shipments: Vec::new(),
        risk: RiskSignals::default(),
        modifications_made: 0,
    }
}

/// Orders: anna has 1001 (delivered), 1002 (unfulfilled, to cancel), 1003 (unfulfilled, to
/// readdress), 1004 (pending, to modify), 1005 (fulfilled); ben has 2001 (delivered).
pub(crate) fn orders() -> Vec<Order> {
    let anna = ("cus_anna", "anna@example.ch");
    vec![
        order(
            1001,
            anna.0,
            anna.1,
            at(2025, 2, 1, 10),
            OrderStatus::Delivered,
            &[("l1", 1, 8900), ("l2", 2, 1200)],
        ),
        order(
            1002,
            anna.0,
            anna.1,
            at(2025, 2, 20, 10),
            OrderStatus::Unfulfilled,
            &[("l1", 3, 4500)],
        ),
        order(
            1003,
            anna.0,
            anna.1,
            at(2025, 2, 25, 10),
            OrderStatus::Unfulfilled,
            &[("l1", 1, 12900)],
        ),
        order(
            1004,
            anna.0,
            anna.1,
            at(2025, 2, 27, 10),
            OrderStatus::Pending,
            &[("l1", 3, 2500), ("l2", 1, 4000)],
        ),
        order(
            1005,
            anna.0,
            anna.1,
            at(2025, 1, 15, 10),
            OrderStatus::Fulfilled,
            &[("l1", 1, 5900)],
        ),
        order(
            2001,
            "cus_ben",
            "ben@example.com",
            at(2025, 2, 10, 10),
            OrderStatus::Delivered,
            &[("l1", 2, 3000)],
        ),
    ]
}

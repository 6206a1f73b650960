//! Orders and their lines.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::ids::{CustomerId, LineId, OrderId, OrderNumber, ProductId, Sku, VariantId};
use super::payment::Payment;
use super::shipment::Shipment;
use crate::money::{Currency, Money};

/// Whether the order's prices include tax (typical for B2C in CH and the EU) or have tax added on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    /// Unit prices already contain the tax; `tax` amounts are the included share.
    Included,
    /// Tax is charged on top of the unit prices.
    Excluded,
}

/// Where an order stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed, payment possibly not captured yet.
    Pending,
    /// Paid and waiting to be picked.
    Unfulfilled,
    /// Some lines shipped.
    PartiallyFulfilled,
    /// Every line shipped.
    Fulfilled,
    /// Every line delivered.
    Delivered,
    /// Cancelled.
    Cancelled,
    /// Closed (archived) by the merchant.
    Closed,
}

impl OrderStatus {
    /// True while nothing has left the warehouse, so the order can still be changed.
    pub fn is_before_fulfilment(self) -> bool {
        matches!(self, OrderStatus::Pending | OrderStatus::Unfulfilled)
    }
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Recipient's name.
    pub name: String,
    /// Street and number.
    pub line1: String,
    /// Additional address line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    /// Postal code.
    pub postcode: String,
    /// City.
    pub city: String,
    /// Region or canton, where used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. `CH`.
    pub country: String,
}

impl Address {
    /// A normalised key for comparing addresses (blocklists): upper-cased, whitespace collapsed.
    pub fn normalized_key(&self) -> String {
        let norm = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase()
        };
        format!(
            "{}|{}|{}",
            norm(&self.line1),
            norm(&self.postcode),
            norm(&self.country)
        )
    }

    /// Whether this address matches a `line1|postcode|country` key, comparing as
    /// [`Address::normalized_key`] would (case and runs of whitespace ignored), without allocating
    /// for ASCII text.
    pub fn matches_key(&self, key: &str) -> bool {
        let mut parts = key.split('|');
        let (Some(line1), Some(postcode), Some(country), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        // Cheapest and most discriminating first.
        same_words(&self.postcode, postcode)
            && same_words(&self.country, country)
            && same_words(&self.line1, line1)
    }
}

/// Equal word by word, ignoring case and the amount of whitespace between words.
fn same_words(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (a.split_whitespace(), b.split_whitespace());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) => {
                let upper = |s: &str| s.chars().flat_map(char::to_uppercase).collect::<Vec<_>>();
                if !(p.eq_ignore_ascii_case(q) || (!p.is_ascii() && upper(p) == upper(q))) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// One line of an order: a quantity of one variant at one unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderLine {
    /// Line id, unique within the order.
    pub id: LineId,
    /// The SKU.
    pub sku: Sku,
    /// The product this variant belongs to.
    pub product_id: ProductId,
    /// The variant.
    pub variant_id: VariantId,
    /// Display title, e.g. `Merino Sweater – M / Navy`.
    pub title: String,
    /// Merchandising category, e.g. `apparel`, `electronics`.
    pub category: String,
    /// Free tags, e.g. `hygiene`, `clearance`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Units ordered.
    pub quantity: u32,
    /// Price of one unit before discounts (tax included or not as per the order's [`TaxMode`]).
    pub unit_price: Money,
    /// Discount applied to this line as a whole (all units), a positive amount.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub line_discount: Option<Money>,
    /// Tax rate of this line as a fraction, e.g. `0.081` for Swiss VAT.
    pub tax_rate: Decimal,
    /// Sold as final sale: not returnable under merchant rules.
    #[serde(default)]
    pub final_sale: bool,
}

impl OrderLine {
    /// Units × unit price, before discounts.
    pub fn gross(&self) -> Result<Money, crate::money::MoneyError> {
        self.unit_price.times(self.quantity)
    }

    /// Gross minus the line discount (never below zero).
    pub fn after_line_discount(&self) -> Result<Money, crate::money::MoneyError> {
        let gross = self.gross()?;
        match self.line_discount {
            Some(d) => Ok(gross.checked_sub(d)?.clamp_non_negative()),
            None => Ok(gross),
        }
    }

    /// Whether the line carries `tag` (case-insensitive).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }
}

/// Risk signals the OMS or payment processor attached to an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskSignals {
    /// The processor or OMS flagged the order as risky.
    #[serde(default)]
    pub fraud_flagged: bool,
    /// A chargeback or dispute is open on a payment of this order.
    #[serde(default)]
    pub disputed: bool,
}

/// An order, as the OMS knows it, with its payments and shipments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// Internal id.
    pub id: OrderId,
    /// Customer-facing number.
    pub number: OrderNumber,
    /// The customer who placed it.
    pub customer_id: CustomerId,
    /// Email given at checkout.
    pub email: String,
    /// Phone given at checkout, E.164 where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Order currency; every amount of the order is in it.
    pub currency: Currency,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Its status.
    pub status: OrderStatus,
    /// Whether prices include tax.
    pub tax_mode: TaxMode,
    /// The lines.
    pub lines: Vec<OrderLine>,
    /// Discount on the whole order (coupon), a positive amount, allocated to lines pro rata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_discount: Option<Money>,
    /// Shipping charged.
    pub shipping: Money,
    /// Total tax charged or included.
    pub tax_total: Money,
    /// Shipping address.
    pub shipping_address: Address,
    /// Billing address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    /// Payments, one per tender.
    pub payments: Vec<Payment>,
    /// Shipments (parcels).
    #[serde(default)]
    pub shipments: Vec<Shipment>,
    /// Risk signals.
    #[serde(default)]
    pub risk: RiskSignals,
    /// Number of item modifications already made to this order.
    #[serde(default)]
    pub modifications_made: u32,
}

impl Order {
    /// Finds a line by id.
    pub fn line(&self, id: &LineId) -> Option<&OrderLine> {
        self.lines.iter().find(|l| &l.id == id)
    }

    /// Delivery time of the line: the latest delivery among the shipments that carry it.
    pub fn line_delivered_at(&self, id: &LineId) -> Option<DateTime<Utc>> {
        self.shipments
            .iter()
            .filter(|s| s.carries(id))
            .filter_map(|s| s.delivered_at)
            .max()
    }

    /// Ship time of the line: the latest ship time among the shipments that carry it.
    pub fn line_shipped_at(&self, id: &LineId) -> Option<DateTime<Utc>> {
        self.shipments
            .iter()
            .filter(|s| s.carries(id))
            .filter_map(|s| s.shipped_at)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(line1: &str, postcode: &str, country: &str) -> Address {
        Address {
            name: "A".into(),
            line1: line1.into(),
            line2: None,
            postcode: postcode.into(),
            city: "Zürich".into(),
            region: None,
            country: country.into(),
        }
    }

    #[test]
    fn address_keys_ignore_case_and_spacing() {
        let a = address("Bahnhofstrasse  666", "8001", "CH");
        assert!(a.matches_key("bahnhofstrasse 666|8001|ch"));
        assert!(a.matches_key(" BAHNHOFSTRASSE 666 | 8001 |CH"));
        assert!(!a.matches_key("Bahnhofstrasse 66|8001|CH"));
        assert!(!a.matches_key("Bahnhofstrasse 666|8001"));
        assert!(!a.matches_key("Bahnhofstrasse 666|8001|CH|x"));
        assert!(address("Überlandstrasse 1", "8050", "CH").matches_key("ÜBERLANDSTRASSE 1|8050|CH"));
        assert!(a.matches_key(&a.normalized_key()));
    }
}

//! Shopify's answers parsed with serde, mapped onto the domain, and ONE table from Shopify's
//! failures (HTTP statuses, top-level GraphQL `errors`, mutation `userErrors`) to
//! [`PortErrorKind`](order_agent_core::ports::PortErrorKind)s.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use order_agent_core::domain::{
    Address, Channel, ContactPoint, Customer, CustomerId, ExchangeOffer, Locale, Order, OrderId,
    OrderLine, OrderNumber, OrderStatus, Payment, PaymentId, ProductId, Refund, RefundState,
    ReturnHistory, RiskSignals, Shipment, ShipmentId, ShipmentLine, TaxMode, Tender, TrackingEvent,
    TrackingNumber, TrackingStatus,
};
use order_agent_core::ports::{PortError, PortResult};
use order_agent_core::redact::redact;
use order_agent_core::{Currency, Money};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{status_error, WireResponse};

// ---------------------------------------------------------------------------------------------
// The envelope

/// A GraphQL response: `data`, `errors`, `extensions.cost`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub errors: Option<Vec<GraphqlError>>,
    #[serde(default)]
    pub extensions: Option<Extensions>,
}

/// One top-level GraphQL error.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GraphqlError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub extensions: Option<ErrorExtensions>,
}

/// The `extensions` of a top-level error.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorExtensions {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub problems: Option<Value>,
}

/// The response's `extensions`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Extensions {
    #[serde(default)]
    pub cost: Option<QueryCost>,
}

/// `extensions.cost`: what the query was estimated to cost, what it cost, and the bucket after.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCost {
    /// The cost Shopify reserved before running the query.
    pub requested_query_cost: f64,
    /// What it cost (absent when the query did not run).
    #[serde(default)]
    pub actual_query_cost: Option<f64>,
    /// The bucket after the query.
    pub throttle_status: ThrottleStatus,
}

/// `extensions.cost.throttleStatus`: the app's bucket on this shop.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    /// The bucket size, in points.
    pub maximum_available: f64,
    /// Points available now.
    pub currently_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
}

/// How long a `THROTTLED` query must wait: the missing points at the restore rate, in whole
/// seconds rounded up (at least one).
pub fn throttled_wait(cost: &QueryCost) -> Option<Duration> {
    let status = cost.throttle_status;
    if !(status.restore_rate.is_finite() && status.restore_rate > 0.0) {
        return None;
    }
    let missing = (cost.requested_query_cost - status.currently_available).max(0.0);
    let seconds = (missing / status.restore_rate).ceil().clamp(1.0, 3600.0);
    Some(Duration::from_secs_f64(seconds))
}

/// Parses the JSON body of a 2xx answer into the envelope.
pub(crate) fn envelope(op: &'static str, response: &WireResponse) -> PortResult<Envelope> {
    serde_json::from_slice(&response.body).map_err(|e| {
        PortError::unexpected(
            op,
            "shopify answered with a body that is not a graphql response",
        )
        .with_context("status", response.status)
        .with_source(e)
    })
}

/// `data` parsed into `T`, or the error table's answer for the top-level errors.
pub(crate) fn data<T: DeserializeOwned>(op: &'static str, envelope: Envelope) -> PortResult<T> {
    let cost = envelope.extensions.and_then(|e| e.cost);
    if let Some(errors) = envelope.errors.filter(|e| !e.is_empty()) {
        return Err(graphql_error(op, &errors, cost.as_ref()));
    }
    let data = envelope
        .data
        .ok_or_else(|| PortError::unexpected(op, "shopify answered without data or errors"))?;
    serde_json::from_value(data).map_err(|e| {
        PortError::unexpected(op, "shopify answered with data of an unexpected shape")
            .with_source(e)
    })
}

// ---------------------------------------------------------------------------------------------
// The error table

/// HTTP failures: 401/403 unauthorized, 404 a wrong shop or api version (unexpected: retrying
/// cannot help), 429 rate limited with `Retry-After`, 5xx unavailable; the rest as
/// [`status_error`].
pub(crate) fn http_error(op: &'static str, response: &WireResponse) -> PortError {
    match response.status {
        401 | 403 => PortError::unauthorized(
            op,
            "shopify refused the access token or its scopes for this shop",
        )
        .with_context("status", response.status),
        404 => PortError::unexpected(
            op,
            "no shopify admin graphql api at this address: check the shop domain and the api version",
        )
        .with_context("status", 404),
        429 => PortError::rate_limited(op, response.retry_after()).with_context("status", 429),
        500..=599 => PortError::unavailable(op, "shopify answered with a server error")
            .with_context("status", response.status),
        _ => status_error(op, response),
    }
}

/// Top-level GraphQL errors: `THROTTLED` rate limited (with the wait the bucket needs),
/// `ACCESS_DENIED` unauthorized, `INTERNAL_SERVER_ERROR` unavailable, an idempotency clash a
/// conflict, an invalid variable value invalid input, `MAX_COST_EXCEEDED` invalid input, and
/// anything else (a document Shopify cannot parse or validate) unexpected.
pub(crate) fn graphql_error(
    op: &'static str,
    errors: &[GraphqlError],
    cost: Option<&QueryCost>,
) -> PortError {
    let code_of = |e: &GraphqlError| {
        e.extensions
            .as_ref()
            .and_then(|x| x.code.clone())
            .unwrap_or_default()
    };
    let first = errors.first().cloned().unwrap_or(GraphqlError {
        message: String::new(),
        extensions: None,
    });
    if errors.iter().any(|e| code_of(e) == "THROTTLED") {
        let wait = cost.and_then(throttled_wait);
        return PortError::rate_limited(op, wait).with_message("shopify throttled the query cost");
    }
    let code = code_of(&first);
    let message = first.message.trim().to_owned();
    let err = match code.as_str() {
        "ACCESS_DENIED" => {
            PortError::unauthorized(op, "the access token lacks a scope for this query")
        }
        "INTERNAL_SERVER_ERROR" => PortError::unavailable(op, "shopify failed to run the query"),
        "MAX_COST_EXCEEDED" => {
            PortError::invalid_input(op, "the query costs more than shopify allows")
        }
        "IDEMPOTENCY_CONCURRENT_REQUEST" => PortError::conflict(
            op,
            "another request with the same idempotency key is in progress",
        )
        .with_retryable(true),
        c if c.contains("IDEMPOTEN") => {
            PortError::conflict(op, "the idempotency key was used for another request")
        }
        _ if message.starts_with("Variable $")
            || first
                .extensions
                .as_ref()
                .is_some_and(|x| x.problems.is_some()) =>
        {
            PortError::invalid_input(op, "shopify refused a variable of the query")
        }
        _ if message.to_ascii_lowercase().contains("invalid global id") => {
            PortError::invalid_input(op, "shopify refused an id that is not one of its ids")
        }
        _ => PortError::unexpected(op, "shopify refused the graphql document"),
    };
    let err = if code.is_empty() {
        err
    } else {
        err.with_context("code", code)
    };
    err.with_context("shopify_message", vendor_message(&message))
}

/// One `userErrors` entry of a mutation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UserError {
    /// The path of the input field at fault.
    #[serde(default)]
    pub field: Option<Vec<String>>,
    /// What Shopify says.
    #[serde(default)]
    pub message: String,
    /// The error code, on mutations that have one.
    #[serde(default)]
    pub code: Option<String>,
}

/// `userErrors`: not found for an unknown record, invalid input for a malformed or missing field,
/// unauthorized for a missing permission, conflict for an idempotency clash, and rejected for the
/// rest (Shopify understood the request and refused it under its rules, e.g. more than is
/// refundable, an order that cannot be cancelled).
pub fn user_error(op: &'static str, errors: &[UserError]) -> PortError {
    let Some(first) = errors.first() else {
        return PortError::unexpected(op, "shopify reported an empty error");
    };
    let code = first.code.as_deref().unwrap_or("").to_ascii_uppercase();
    let message = first.message.to_ascii_lowercase();
    let field = first.field.clone().unwrap_or_default();
    let field_last = field.last().map(String::as_str).unwrap_or("");
    let not_found = code.contains("NOT_FOUND")
        || message.contains("not found")
        || message.contains("does not exist")
        || message.contains("doesn't exist");
    let err = if not_found {
        PortError::not_found(op, "shopify does not know a record of the request")
    } else if code.contains("IDEMPOTEN") {
        PortError::conflict(op, "the idempotency key was used for another request")
    } else if code.contains("PERMISSION") || code.contains("ACCESS_DENIED") {
        PortError::unauthorized(op, "the access token lacks a permission for this change")
    } else if matches!(
        code.as_str(),
        "INVALID" | "BLANK" | "PRESENT" | "TOO_LONG" | "TOO_SHORT" | "INCLUSION" | "TAKEN"
    ) || (code.is_empty() && field_last != "amount" && message.contains("is invalid"))
    {
        PortError::invalid_input(op, "shopify refused a field of the request")
    } else {
        PortError::rejected(op, "shopify refused the change")
    };
    let err = if field.is_empty() {
        err
    } else {
        err.with_context("field", field.join("."))
    };
    let err = if code.is_empty() {
        err
    } else {
        err.with_context("code", code)
    };
    err.with_context("shopify_message", vendor_message(&first.message))
}

/// Shopify's own words for an error, for the error's context: redacted, because a user error can
/// quote the customer's address or email, and cut to 300 characters.
fn vendor_message(text: &str) -> String {
    redact(text).chars().take(300).collect()
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// `{ id }`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IdRef {
    pub id: String,
}

/// A connection's `nodes`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Nodes<T> {
    #[serde(default = "Vec::new")]
    pub nodes: Vec<T>,
}

/// `MoneyBag`: the shop-currency side is what the adapter reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MoneyBag {
    pub shop_money: MoneyV2,
}

/// `MoneyV2`: a decimal string and a currency code.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MoneyV2 {
    pub amount: String,
    pub currency_code: String,
}

/// The currency `code` names, or an error.
pub(crate) fn currency(op: &'static str, code: &str) -> PortResult<Currency> {
    Currency::from_code(code.trim()).map_err(|e| {
        PortError::unexpected(op, "shopify sent a currency this library does not know")
            .with_context("currency", code)
            .with_source(e)
    })
}

/// The exact amount a decimal string names in `currency`.
pub(crate) fn money(op: &'static str, amount: &str, currency: Currency) -> PortResult<Money> {
    Money::parse(amount, currency).map_err(|e| {
        PortError::unexpected(
            op,
            "shopify sent an amount that is not exact in its currency",
        )
        .with_context("amount", amount)
        .with_source(e)
    })
}

impl MoneyV2 {
    fn to_money(&self, op: &'static str) -> PortResult<Money> {
        money(op, &self.amount, currency(op, &self.currency_code)?)
    }
}

impl MoneyBag {
    fn to_money(&self, op: &'static str) -> PortResult<Money> {
        self.shop_money.to_money(op)
    }
}

fn sum(
    op: &'static str,
    currency: Currency,
    parts: impl IntoIterator<Item = Money>,
) -> PortResult<Money> {
    Money::sum(currency, parts).map_err(|e| {
        PortError::unexpected(op, "amounts in another currency than the order's").with_source(e)
    })
}

// ---------------------------------------------------------------------------------------------
// Orders

/// `{ order }`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderData {
    pub order: Option<ShopifyOrder>,
}

/// `{ orders { nodes } }`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrdersData {
    pub orders: Nodes<ShopifyOrder>,
}

/// `{ customer { orders { nodes } } }`.
#[derive(Debug, Deserialize)]
pub(crate) struct CustomerOrdersData {
    pub customer: Option<CustomerOrders>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CustomerOrders {
    pub orders: Nodes<ShopifyOrder>,
}

/// An order as the `OrderFields` fragment selects it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShopifyOrder {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub display_financial_status: Option<String>,
    pub display_fulfillment_status: String,
    pub currency_code: String,
    #[serde(default)]
    pub taxes_included: bool,
    #[serde(default)]
    pub customer: Option<IdRef>,
    #[serde(default)]
    pub shipping_address: Option<MailingAddress>,
    #[serde(default)]
    pub billing_address: Option<MailingAddress>,
    pub total_shipping_price_set: MoneyBag,
    #[serde(default)]
    pub total_tax_set: Option<MoneyBag>,
    #[serde(default)]
    pub total_discounts_set: Option<MoneyBag>,
    pub line_items: Nodes<LineItem>,
    #[serde(default)]
    pub fulfillment_orders: Option<Nodes<FulfillmentOrder>>,
    #[serde(default)]
    pub fulfillments: Vec<Fulfillment>,
    #[serde(default)]
    pub transactions: Vec<Transaction>,
    #[serde(default)]
    pub modifications: Option<MetafieldValue>,
}

/// A `MailingAddress`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MailingAddress {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address1: Option<String>,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub zip: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub province_code: Option<String>,
    #[serde(default)]
    pub country_code_v2: Option<String>,
}

impl MailingAddress {
    fn to_address(&self) -> Address {
        let text = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_owned();
        let optional = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Address {
            name: text(&self.name),
            line1: text(&self.address1),
            line2: optional(&self.address2),
            postcode: text(&self.zip),
            city: text(&self.city),
            region: optional(&self.province_code),
            country: text(&self.country_code_v2),
        }
    }
}

/// A `LineItem`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LineItem {
    pub id: String,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub title: String,
    pub current_quantity: u32,
    #[serde(default)]
    pub product: Option<Product>,
    #[serde(default)]
    pub variant: Option<IdRef>,
    pub original_unit_price_set: MoneyBag,
    #[serde(default)]
    pub total_discount_set: Option<MoneyBag>,
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Product {
    pub id: String,
    #[serde(default)]
    pub product_type: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A `TaxLine`; `rate` is a JSON number (a fraction, `0.081`), read exactly from its text.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TaxLine {
    #[serde(default)]
    pub rate: Option<serde_json::Number>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct FulfillmentOrder {
    #[allow(dead_code)]
    pub id: String,
    pub status: String,
}

/// A `Fulfillment` with its tracking.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fulfillment {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub display_status: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub estimated_delivery_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub tracking_info: Vec<TrackingInfo>,
    #[serde(default)]
    pub fulfillment_line_items: Option<Nodes<FulfillmentLineItem>>,
}

/// `FulfillmentTrackingInfo`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TrackingInfo {
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub url: Option<String>,
}

/// A `FulfillmentLineItem`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FulfillmentLineItem {
    pub id: String,
    pub quantity: u32,
    pub line_item: IdRef,
}

/// An `OrderTransaction`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Transaction {
    pub id: String,
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub parent_transaction: Option<IdRef>,
    pub amount_set: MoneyBag,
}

/// A metafield's `value`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MetafieldValue {
    pub value: String,
}

/// The agent's status for Shopify's order statuses, as a table.
///
/// | Shopify | status |
/// |---|---|
/// | `cancelledAt` set | `Cancelled` |
/// | `FULFILLED`, every fulfilment delivered | `Delivered` |
/// | `FULFILLED` | `Fulfilled` |
/// | `PARTIALLY_FULFILLED`, `IN_PROGRESS`, `PENDING_FULFILLMENT`, an unknown value, or a fulfilment order `IN_PROGRESS`/`INCOMPLETE` | `PartiallyFulfilled` (fails closed: the warehouse may have started) |
/// | `UNFULFILLED`, `OPEN`, `ON_HOLD`, `SCHEDULED`, `REQUEST_DECLINED`, `RESTOCKED` and `closed` | `Closed` |
/// | the same, financial status `PENDING`, `AUTHORIZED`, `EXPIRED` or `PARTIALLY_PAID` | `Pending` |
/// | the same, otherwise | `Unfulfilled` |
pub fn order_status(
    cancelled: bool,
    closed: bool,
    financial: Option<&str>,
    fulfillment: &str,
    every_fulfilment_delivered: bool,
    warehouse_started: bool,
) -> OrderStatus {
    if cancelled {
        return OrderStatus::Cancelled;
    }
    match fulfillment {
        "FULFILLED" if every_fulfilment_delivered => OrderStatus::Delivered,
        "FULFILLED" => OrderStatus::Fulfilled,
        "UNFULFILLED" | "OPEN" | "ON_HOLD" | "SCHEDULED" | "REQUEST_DECLINED" | "RESTOCKED"
            if !warehouse_started =>
        {
            if closed {
                OrderStatus::Closed
            } else if matches!(
                financial,
                Some("PENDING" | "AUTHORIZED" | "EXPIRED" | "PARTIALLY_PAID")
            ) {
                OrderStatus::Pending
            } else {
                OrderStatus::Unfulfilled
            }
        }
        _ => OrderStatus::PartiallyFulfilled,
    }
}

/// The tracking status a fulfilment's `displayStatus` (or `status`) stands for, as a table.
pub fn fulfilment_tracking_status(display: &str) -> TrackingStatus {
    match display {
        "LABEL_PRINTED"
        | "LABEL_PURCHASED"
        | "SUBMITTED"
        | "CONFIRMED"
        | "FULFILLED"
        | "MARKED_AS_FULFILLED"
        | "SUCCESS"
        | "OPEN"
        | "PENDING" => TrackingStatus::LabelCreated,
        "PICKED_UP" => TrackingStatus::PickedUp,
        "IN_TRANSIT" => TrackingStatus::InTransit,
        "OUT_FOR_DELIVERY" => TrackingStatus::OutForDelivery,
        "DELIVERED" => TrackingStatus::Delivered,
        "ATTEMPTED_DELIVERY" => TrackingStatus::DeliveryAttemptFailed,
        "READY_FOR_PICKUP" => TrackingStatus::AvailableForPickup,
        "NOT_DELIVERED" | "FAILURE" => TrackingStatus::Exception,
        _ => TrackingStatus::Unknown,
    }
}

/// The tender a transaction's gateway stands for.
pub fn tender(gateway: &str) -> Tender {
    let gateway = gateway.to_ascii_lowercase();
    if gateway.contains("paypal") {
        Tender::Paypal
    } else if gateway.contains("twint") {
        Tender::Twint
    } else if gateway.contains("gift_card") || gateway.contains("gift card") {
        Tender::GiftCard
    } else if gateway.contains("store_credit") || gateway.contains("shopify_store_credit") {
        Tender::StoreCredit
    } else if gateway.contains("bank") || gateway.contains("manual") || gateway.contains("invoice")
    {
        Tender::BankTransfer
    } else {
        Tender::Card
    }
}

fn is_payment_transaction(kind: &str, status: &str) -> bool {
    matches!(kind, "SALE" | "CAPTURE") && status == "SUCCESS"
}

fn refund_counts(status: &str) -> bool {
    !matches!(status, "FAILURE" | "ERROR")
}

fn tax_rate(op: &'static str, lines: &[TaxLine]) -> PortResult<Decimal> {
    let mut total = Decimal::ZERO;
    for line in lines {
        if let Some(rate) = &line.rate {
            let text = rate.to_string();
            let value = Decimal::from_str(&text)
                .or_else(|_| Decimal::from_scientific(&text))
                .map_err(|e| {
                    PortError::unexpected(op, "shopify sent a tax rate that is not a number")
                        .with_context("rate", &text)
                        .with_source(e)
                })?;
            total += value;
        }
    }
    Ok(total.normalize())
}

const FINAL_SALE_TAGS: [&str; 3] = ["final-sale", "final_sale", "final sale"];

impl ShopifyOrder {
    /// The domain order.
    pub(crate) fn into_order(self, op: &'static str) -> PortResult<Order> {
        let currency = currency(op, &self.currency_code)?;
        let mut lines = Vec::with_capacity(self.line_items.nodes.len());
        let mut line_discounts = Vec::new();
        for item in &self.line_items.nodes {
            let unit_price = item.original_unit_price_set.to_money(op)?;
            let discount = match &item.total_discount_set {
                Some(bag) => Some(bag.to_money(op)?).filter(|m| !m.is_zero()),
                None => None,
            };
            if let Some(d) = discount {
                line_discounts.push(d);
            }
            let tags = item
                .product
                .as_ref()
                .map(|p| p.tags.clone())
                .unwrap_or_default();
            let final_sale = tags
                .iter()
                .any(|t| FINAL_SALE_TAGS.contains(&t.trim().to_ascii_lowercase().as_str()));
            lines.push(OrderLine {
                id: item.id.as_str().into(),
                sku: item.sku.clone().unwrap_or_default().into(),
                product_id: item
                    .product
                    .as_ref()
                    .map(|p| p.id.clone())
                    .unwrap_or_default()
                    .into(),
                variant_id: item
                    .variant
                    .as_ref()
                    .map(|v| v.id.clone())
                    .unwrap_or_default()
                    .into(),
                title: item.title.clone(),
                category: item
                    .product
                    .as_ref()
                    .and_then(|p| p.product_type.clone())
                    .unwrap_or_default(),
                tags,
                quantity: item.current_quantity,
                unit_price,
                line_discount: discount,
                tax_rate: tax_rate(op, &item.tax_lines)?,
                final_sale,
            });
        }
        let line_discount_total = sum(op, currency, line_discounts)?;
        let order_discount = match &self.total_discounts_set {
            Some(bag) => {
                let total = bag.to_money(op)?;
                let rest = total.checked_sub(line_discount_total).map_err(|e| {
                    PortError::unexpected(op, "discounts in another currency").with_source(e)
                })?;
                rest.is_positive().then_some(rest)
            }
            None => None,
        };

        let live: Vec<&Fulfillment> = self
            .fulfillments
            .iter()
            .filter(|f| !matches!(f.status.as_str(), "CANCELLED" | "ERROR" | "FAILURE"))
            .collect();
        let every_delivered = !live.is_empty()
            && live.iter().all(|f| {
                f.delivered_at.is_some() || f.display_status.as_deref() == Some("DELIVERED")
            });
        let warehouse_started = self.fulfillment_orders.as_ref().is_some_and(|fo| {
            fo.nodes
                .iter()
                .any(|f| matches!(f.status.as_str(), "IN_PROGRESS" | "INCOMPLETE"))
        }) || !live.is_empty();
        let status = order_status(
            self.cancelled_at.is_some(),
            self.closed,
            self.display_financial_status.as_deref(),
            &self.display_fulfillment_status,
            every_delivered,
            warehouse_started,
        );

        let mut shipments = Vec::new();
        for f in &live {
            let lines: Vec<ShipmentLine> = f
                .fulfillment_line_items
                .as_ref()
                .map(|n| {
                    n.nodes
                        .iter()
                        .map(|fli| ShipmentLine {
                            line_id: fli.line_item.id.as_str().into(),
                            quantity: fli.quantity,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let display = f.display_status.clone().unwrap_or_else(|| f.status.clone());
            let event_at = f.delivered_at.unwrap_or(f.created_at);
            let parcels: Vec<Option<&TrackingInfo>> = if f.tracking_info.is_empty() {
                vec![None]
            } else {
                f.tracking_info.iter().map(Some).collect()
            };
            for (i, info) in parcels.into_iter().enumerate() {
                let carrier = info.and_then(|t| t.company.clone()).unwrap_or_default();
                shipments.push(Shipment {
                    id: ShipmentId::new(if i == 0 {
                        f.id.clone()
                    } else {
                        format!("{}#{}", f.id, i + 1)
                    }),
                    carrier: carrier.clone(),
                    tracking_number: info
                        .and_then(|t| t.number.clone())
                        .filter(|n| !n.trim().is_empty())
                        .map(TrackingNumber::new),
                    lines: if i == 0 { lines.clone() } else { Vec::new() },
                    promised: None,
                    shipped_at: Some(f.created_at),
                    delivered_at: f.delivered_at,
                    carrier_eta: f.estimated_delivery_at.map(|t| t.date_naive()),
                    events: vec![TrackingEvent {
                        at: event_at,
                        status: fulfilment_tracking_status(&display),
                        carrier_code: display.clone(),
                        description: display.to_ascii_lowercase().replace('_', " "),
                        location: None,
                    }],
                });
            }
        }

        let mut payments = Vec::new();
        for t in &self.transactions {
            if !is_payment_transaction(&t.kind, &t.status) {
                continue;
            }
            let captured = t.amount_set.to_money(op)?;
            let mut refunds = Vec::new();
            for r in &self.transactions {
                let child = r.parent_transaction.as_ref().is_some_and(|p| p.id == t.id);
                if child && r.kind == "REFUND" && refund_counts(&r.status) {
                    refunds.push(r.amount_set.to_money(op)?);
                }
            }
            payments.push(Payment {
                id: PaymentId::new(t.id.clone()),
                tender: tender(t.gateway.as_deref().unwrap_or("")),
                captured,
                refunded: sum(op, captured.currency(), refunds)?,
            });
        }

        let modifications_made = match &self.modifications {
            Some(m) => m.value.trim().parse::<u32>().map_err(|e| {
                PortError::unexpected(op, "the order's modifications metafield is not a count")
                    .with_source(e)
            })?,
            None => 0,
        };

        Ok(Order {
            id: OrderId::new(self.id),
            number: OrderNumber::new(self.name),
            customer_id: CustomerId::new(self.customer.map(|c| c.id).unwrap_or_default()),
            email: self.email.unwrap_or_default(),
            phone: self.phone.filter(|p| !p.trim().is_empty()),
            currency,
            placed_at: self.created_at,
            status,
            tax_mode: if self.taxes_included {
                TaxMode::Included
            } else {
                TaxMode::Excluded
            },
            lines,
            order_discount,
            shipping: self.total_shipping_price_set.to_money(op)?,
            tax_total: match &self.total_tax_set {
                Some(bag) => bag.to_money(op)?,
                None => Money::zero(currency),
            },
            shipping_address: self
                .shipping_address
                .as_ref()
                .map(MailingAddress::to_address)
                .unwrap_or_else(|| MailingAddress::empty().to_address()),
            billing_address: self
                .billing_address
                .as_ref()
                .map(MailingAddress::to_address),
            payments,
            shipments,
            risk: RiskSignals::default(),
            modifications_made,
        })
    }
}

impl MailingAddress {
    fn empty() -> MailingAddress {
        MailingAddress {
            name: None,
            address1: None,
            address2: None,
            zip: None,
            city: None,
            province_code: None,
            country_code_v2: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Customers

/// `{ customer }`.
#[derive(Debug, Deserialize)]
pub(crate) struct CustomerData {
    pub customer: Option<ShopifyCustomer>,
}

/// `{ customers { nodes } }`.
#[derive(Debug, Deserialize)]
pub(crate) struct CustomersData {
    pub customers: Nodes<ShopifyCustomer>,
}

/// A customer as the `CustomerFields` fragment selects it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShopifyCustomer {
    pub id: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub number_of_orders: Option<Value>,
    #[serde(default)]
    pub default_email_address: Option<EmailAddress>,
    #[serde(default)]
    pub default_phone_number: Option<PhoneNumber>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EmailAddress {
    #[serde(default)]
    pub email_address: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PhoneNumber {
    #[serde(default)]
    pub phone_number: Option<String>,
}

/// The tag prefixes that carry a loyalty tier (`loyalty:gold`).
const LOYALTY_TAG_PREFIXES: [&str; 2] = ["loyalty:", "tier:"];

fn locale(tag: Option<&str>) -> Locale {
    let tag = tag.unwrap_or("").trim().to_ascii_lowercase();
    match tag.split(['-', '_']).next().unwrap_or("") {
        "de" => Locale::De,
        "fr" => Locale::Fr,
        "it" => Locale::It,
        _ => Locale::En,
    }
}

impl ShopifyCustomer {
    /// The customer's primary email, trimmed.
    pub(crate) fn email(&self) -> String {
        self.default_email_address
            .as_ref()
            .and_then(|e| e.email_address.as_deref())
            .unwrap_or("")
            .trim()
            .to_owned()
    }

    /// The customer's phone number, trimmed, if any.
    pub(crate) fn phone(&self) -> Option<String> {
        self.default_phone_number
            .as_ref()
            .and_then(|p| p.phone_number.as_deref())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
    }

    /// The domain customer: the phone number is its one contact point, on SMS.
    pub(crate) fn into_customer(self) -> Customer {
        let orders = match &self.number_of_orders {
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
            _ => 0,
        };
        let loyalty_tier = self.tags.iter().find_map(|tag| {
            let tag = tag.trim();
            LOYALTY_TAG_PREFIXES
                .iter()
                .find_map(|p| tag.strip_prefix(p))
                .map(|t| t.trim().to_owned())
        });
        let contact_points = self
            .phone()
            .map(|phone| ContactPoint {
                channel: Channel::Sms,
                address: phone,
            })
            .into_iter()
            .collect();
        Customer {
            id: CustomerId::new(self.id.clone()),
            name: self.display_name.clone(),
            email: self.email(),
            contact_points,
            locale: locale(self.locale.as_deref()),
            loyalty_tier,
            history: ReturnHistory {
                orders,
                ..ReturnHistory::default()
            },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations

/// `{ orderCancel { job, orderCancelUserErrors } }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderCancelData {
    pub order_cancel: Option<OrderCancelPayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderCancelPayload {
    #[serde(default)]
    pub order_cancel_user_errors: Vec<UserError>,
}

/// A mutation payload with only `userErrors` read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserErrorsPayload {
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

/// `{ orderUpdate }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderUpdateData {
    pub order_update: Option<UserErrorsPayload>,
}

/// `{ orderEditBegin }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderEditBeginData {
    pub order_edit_begin: Option<OrderEditBeginPayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderEditBeginPayload {
    #[serde(default)]
    pub calculated_order: Option<CalculatedOrder>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CalculatedOrder {
    pub id: String,
    pub line_items: Nodes<CalculatedLineItem>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CalculatedLineItem {
    pub id: String,
    #[allow(dead_code)]
    pub quantity: u32,
}

/// `{ orderEditSetQuantity }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderEditSetQuantityData {
    pub order_edit_set_quantity: Option<UserErrorsPayload>,
}

/// `{ orderEditAddVariant }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderEditAddVariantData {
    pub order_edit_add_variant: Option<UserErrorsPayload>,
}

/// `{ orderEditCommit }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderEditCommitData {
    pub order_edit_commit: Option<UserErrorsPayload>,
}

/// `{ metafieldsSet }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MetafieldsSetData {
    pub metafields_set: Option<UserErrorsPayload>,
}

/// `{ order { returns, fulfillments, lineItems } }`.
#[derive(Debug, Deserialize)]
pub(crate) struct OrderReturnsData {
    pub order: Option<OrderReturns>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OrderReturns {
    pub returns: Nodes<ShopifyReturn>,
    #[serde(default)]
    pub fulfillments: Vec<ReturnableFulfillment>,
    pub line_items: Nodes<IdRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShopifyReturn {
    pub id: String,
    pub return_line_items: Nodes<ReturnLineItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReturnLineItem {
    #[serde(default)]
    pub return_reason_note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReturnableFulfillment {
    pub fulfillment_line_items: Nodes<FulfillmentLineItem>,
}

/// `{ returnCreate }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReturnCreateData {
    pub return_create: Option<ReturnCreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReturnCreatePayload {
    #[serde(default, rename = "return")]
    pub created: Option<IdRef>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------------------------------------
// Products

/// `{ shop { currencyCode }, product { variants } }`.
#[derive(Debug, Deserialize)]
pub(crate) struct ProductVariantsData {
    pub shop: Shop,
    pub product: Option<ShopifyProduct>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Shop {
    pub currency_code: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShopifyProduct {
    pub id: String,
    pub variants: Nodes<Variant>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Variant {
    pub id: String,
    #[serde(default)]
    pub sku: Option<String>,
    pub price: String,
    #[serde(default)]
    pub inventory_quantity: Option<i64>,
}

impl ProductVariantsData {
    /// The exchange offers: each variant once, priced in the shop's currency, availability never
    /// negative.
    pub(crate) fn into_offers(self, op: &'static str) -> PortResult<Vec<ExchangeOffer>> {
        let Some(product) = self.product else {
            return Ok(Vec::new());
        };
        let currency = currency(op, &self.shop.currency_code)?;
        let mut offers: Vec<ExchangeOffer> = Vec::new();
        for v in product.variants.nodes {
            if offers.iter().any(|o| o.variant_id.as_str() == v.id) {
                continue;
            }
            let available = v
                .inventory_quantity
                .unwrap_or(0)
                .clamp(0, i64::from(u32::MAX));
            offers.push(ExchangeOffer {
                product_id: ProductId::new(product.id.clone()),
                variant_id: v.id.as_str().into(),
                sku: v.sku.unwrap_or_default().into(),
                unit_price: money(op, &v.price, currency)?,
                available: u32::try_from(available).unwrap_or(u32::MAX),
            });
        }
        Ok(offers)
    }
}

// ---------------------------------------------------------------------------------------------
// Payments

/// `{ node }` for a payment transaction.
#[derive(Debug, Deserialize)]
pub(crate) struct PaymentData {
    pub node: Option<PaymentNode>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentNode {
    #[serde(rename = "__typename")]
    pub typename: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    #[serde(default)]
    pub amount_set: Option<MoneyBag>,
    #[serde(default)]
    pub order: Option<PaymentOrder>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PaymentOrder {
    pub id: String,
    #[serde(default)]
    pub refunds: Vec<ShopifyRefund>,
}

/// A payment transaction as the adapter needs it: the order, gateway, captured amount and the
/// refunds against it.
#[derive(Debug, Clone)]
pub(crate) struct PaymentTransaction {
    pub id: PaymentId,
    pub order: String,
    pub gateway: String,
    pub captured: Money,
    pub refunds: Vec<ShopifyRefund>,
}

impl PaymentData {
    /// The payment transaction, or `None` when the id is not a successful sale or capture.
    pub(crate) fn into_transaction(
        self,
        op: &'static str,
    ) -> PortResult<Option<PaymentTransaction>> {
        let Some(node) = self.node else {
            return Ok(None);
        };
        if node.typename != "OrderTransaction" {
            return Ok(None);
        }
        let (Some(id), Some(kind), Some(status), Some(amount), Some(order)) =
            (node.id, node.kind, node.status, node.amount_set, node.order)
        else {
            return Err(PortError::unexpected(
                op,
                "shopify sent a transaction without its fields",
            ));
        };
        if !is_payment_transaction(&kind, &status) {
            return Ok(None);
        }
        Ok(Some(PaymentTransaction {
            id: PaymentId::new(id),
            order: order.id,
            gateway: node.gateway.unwrap_or_default(),
            captured: amount.to_money(op)?,
            refunds: order.refunds,
        }))
    }
}

impl PaymentTransaction {
    /// The refunds against this payment, oldest first.
    pub(crate) fn refunds(&self, op: &'static str) -> PortResult<Vec<Refund>> {
        let mut refunds = Vec::new();
        for r in &self.refunds {
            if let Some(refund) = r.to_refund(op, &self.id)? {
                refunds.push(refund);
            }
        }
        refunds.sort_by_key(|r| r.created_at);
        Ok(refunds)
    }

    /// The domain payment: captured, and refunded by every refund that is not failed.
    pub(crate) fn to_payment(&self, op: &'static str) -> PortResult<Payment> {
        let live = self
            .refunds(op)?
            .into_iter()
            .filter(|r| r.state != RefundState::Failed)
            .map(|r| r.amount);
        Ok(Payment {
            id: self.id.clone(),
            tender: tender(&self.gateway),
            captured: self.captured,
            refunded: sum(op, self.captured.currency(), live)?,
        })
    }
}

/// A `Refund` as the `RefundFields` fragment selects it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ShopifyRefund {
    pub id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
    pub transactions: Nodes<RefundTransaction>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundTransaction {
    #[allow(dead_code)]
    pub id: String,
    pub kind: String,
    pub status: String,
    #[serde(default)]
    pub parent_transaction: Option<IdRef>,
    pub amount_set: MoneyBag,
}

impl ShopifyRefund {
    /// The part of this refund against `payment`, or `None` when none of it is.
    pub(crate) fn to_refund(
        &self,
        op: &'static str,
        payment: &PaymentId,
    ) -> PortResult<Option<Refund>> {
        let ours: Vec<&RefundTransaction> = self
            .transactions
            .nodes
            .iter()
            .filter(|t| {
                t.kind == "REFUND"
                    && t.parent_transaction
                        .as_ref()
                        .is_some_and(|p| p.id == payment.as_str())
            })
            .collect();
        let Some(first) = ours.first() else {
            return Ok(None);
        };
        let first_amount = first.amount_set.to_money(op)?;
        let amounts = ours
            .iter()
            .map(|t| t.amount_set.to_money(op))
            .collect::<PortResult<Vec<Money>>>()?;
        let amount = sum(op, first_amount.currency(), amounts)?;
        let state = if ours.iter().all(|t| !refund_counts(&t.status)) {
            RefundState::Failed
        } else if ours
            .iter()
            .any(|t| matches!(t.status.as_str(), "PENDING" | "AWAITING_RESPONSE"))
        {
            RefundState::Pending
        } else {
            RefundState::Succeeded
        };
        Ok(Some(Refund {
            id: self.id.as_str().into(),
            payment_id: payment.clone(),
            amount,
            state,
            idempotency_key: self
                .note
                .as_deref()
                .and_then(super::requests::idempotency_key_of_note),
            created_at: self.created_at,
        }))
    }
}

/// `{ refundCreate }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundCreateData {
    pub refund_create: Option<RefundCreatePayload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundCreatePayload {
    #[serde(default)]
    pub refund: Option<ShopifyRefund>,
    #[serde(default)]
    pub user_errors: Vec<UserError>,
}

//! What commercetools answers: the resources the adapter reads, their mapping onto the domain,
//! and the one error table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use order_agent_core::domain::{
    Address, Channel, ContactPoint, Customer, CustomerId, ExchangeOffer, LineId, Locale, Order,
    OrderId, OrderLine, OrderNumber, OrderStatus, Payment, PaymentId, ProductId, ReturnHistory,
    RiskSignals, Shipment, ShipmentId, ShipmentLine, Sku, TaxMode, Tender, TrackingNumber,
    VariantId,
};
use order_agent_core::ports::{PortError, PortErrorKind, PortResult};
use order_agent_core::{Currency, Money};
use serde::Deserialize;
use serde_json::Value;

use super::requests::{CONTACT_POINTS_FIELD, MODIFICATIONS_FIELD};
use crate::http::{status_error, WireResponse};

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    /// Seconds.
    pub(crate) expires_in: u64,
}

/// A `TypedMoney` (`centPrecision` or `highPrecision`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtMoney {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    currency_code: String,
    cent_amount: i64,
    #[serde(default)]
    fraction_digits: Option<u32>,
    #[serde(default)]
    precise_amount: Option<i64>,
}

/// `custom`: a Type reference and its field values.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct CustomFields {
    #[serde(default)]
    pub(crate) fields: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtAddress {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    company: Option<String>,
    #[serde(default)]
    street_name: Option<String>,
    #[serde(default)]
    street_number: Option<String>,
    #[serde(default)]
    additional_street_info: Option<String>,
    #[serde(default)]
    postal_code: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    state: Option<String>,
    country: String,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    mobile: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtPrice {
    value: CtMoney,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtVariant {
    pub(crate) id: i64,
    #[serde(default)]
    sku: Option<String>,
    #[serde(default)]
    price: Option<CtPrice>,
    #[serde(default)]
    availability: Option<CtAvailability>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtAvailability {
    #[serde(default)]
    is_on_stock: Option<bool>,
    #[serde(default)]
    available_quantity: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtTaxRate {
    /// A JSON number such as `0.081`; read from its decimal text, never through a float.
    amount: serde_json::Number,
    #[serde(default)]
    included_in_price: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtLineItem {
    pub(crate) id: String,
    pub(crate) product_id: String,
    #[serde(default)]
    name: BTreeMap<String, String>,
    pub(crate) variant: CtVariant,
    price: CtPrice,
    pub(crate) quantity: u32,
    total_price: CtMoney,
    #[serde(default)]
    tax_rate: Option<CtTaxRate>,
    #[serde(default)]
    pub(crate) custom: Option<CustomFields>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtItemQuantity {
    id: String,
    quantity: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtTrackingData {
    #[serde(default)]
    tracking_id: Option<String>,
    #[serde(default)]
    carrier: Option<String>,
    #[serde(default)]
    is_return: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtParcel {
    id: String,
    created_at: DateTime<Utc>,
    #[serde(default)]
    tracking_data: Option<CtTrackingData>,
    #[serde(default)]
    items: Vec<CtItemQuantity>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtDelivery {
    id: String,
    created_at: DateTime<Utc>,
    #[serde(default)]
    items: Vec<CtItemQuantity>,
    #[serde(default)]
    parcels: Vec<CtParcel>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtShippingInfo {
    #[serde(default)]
    price: Option<CtMoney>,
    #[serde(default)]
    deliveries: Vec<CtDelivery>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtTaxedPrice {
    #[serde(default)]
    total_tax: Option<CtMoney>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtReturnItem {
    pub(crate) id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtReturnInfo {
    #[serde(default)]
    pub(crate) items: Vec<CtReturnItem>,
    #[serde(default)]
    pub(crate) return_tracking_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtTransaction {
    #[serde(rename = "type")]
    kind: String,
    amount: CtMoney,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtPaymentMethodInfo {
    #[serde(default)]
    method: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtPayment {
    id: String,
    #[serde(default)]
    interface_id: Option<String>,
    #[serde(default)]
    payment_method_info: Option<CtPaymentMethodInfo>,
    #[serde(default)]
    transactions: Vec<CtTransaction>,
}

#[derive(Debug, Clone, Deserialize)]
struct CtPaymentReference {
    /// Present when the reference was expanded.
    #[serde(default)]
    obj: Option<CtPayment>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct CtPaymentInfo {
    #[serde(default)]
    payments: Vec<CtPaymentReference>,
}

/// An order, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtOrder {
    pub(crate) id: String,
    pub(crate) version: i64,
    #[serde(default)]
    order_number: Option<String>,
    #[serde(default)]
    customer_id: Option<String>,
    #[serde(default)]
    customer_email: Option<String>,
    created_at: DateTime<Utc>,
    #[serde(default)]
    pub(crate) line_items: Vec<CtLineItem>,
    total_price: CtMoney,
    #[serde(default)]
    taxed_price: Option<CtTaxedPrice>,
    #[serde(default)]
    shipping_address: Option<CtAddress>,
    #[serde(default)]
    billing_address: Option<CtAddress>,
    #[serde(default)]
    shipping_info: Option<CtShippingInfo>,
    pub(crate) order_state: String,
    #[serde(default)]
    pub(crate) shipment_state: Option<String>,
    #[serde(default)]
    payment_state: Option<String>,
    #[serde(default)]
    pub(crate) return_info: Vec<CtReturnInfo>,
    #[serde(default)]
    payment_info: Option<CtPaymentInfo>,
    #[serde(default)]
    discount_on_total_price: Option<CtDiscountOnTotalPrice>,
    #[serde(default)]
    pub(crate) custom: Option<CustomFields>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CtDiscountOnTotalPrice {
    discounted_amount: CtMoney,
}

/// A query result page.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PagedQuery<T> {
    pub(crate) results: Vec<T>,
}

#[derive(Debug, Clone, Deserialize)]
struct CtCustomerGroup {
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct CtCustomerGroupReference {
    #[serde(default)]
    obj: Option<CtCustomerGroup>,
}

/// A customer, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtCustomer {
    id: String,
    email: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    customer_group: Option<CtCustomerGroupReference>,
    #[serde(default)]
    custom: Option<CustomFields>,
}

/// An order edit, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CtOrderEdit {
    pub(crate) id: String,
    pub(crate) version: i64,
    #[serde(default)]
    pub(crate) result: Option<CtOrderEditResult>,
}

/// The outcome of an order edit.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CtOrderEditResult {
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

/// A product projection, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CtProductProjection {
    id: String,
    master_variant: CtVariant,
    #[serde(default)]
    variants: Vec<CtVariant>,
}

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    crate::http::parse_json("commercetools", op, response)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorObject>,
    /// The auth service's OAuth error (`invalid_client`, `invalid_token`, `insufficient_scope`).
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorObject {
    #[serde(default)]
    code: String,
    #[serde(default)]
    current_version: Option<i64>,
}

/// commercetools error codes for a request that is well-formed but refused under its rules.
const REJECTED_CODES: &[&str] = &[
    "InvalidOperation",
    "EditPreviewFailed",
    "OutOfStock",
    "MatchingPriceNotFound",
    "MissingTaxRateForCountry",
    "ShippingMethodDoesNotMatchCart",
];

/// commercetools error codes for a malformed request.
const INVALID_CODES: &[&str] = &[
    "InvalidInput",
    "InvalidJsonInput",
    "InvalidField",
    "RequiredField",
    "DuplicateField",
    "InvalidDateRange",
    "ReferencedResourceNotFound",
    "SyntaxError",
    "InvalidSubject",
];

/// The one table from commercetools' status and error code to a [`PortErrorKind`].
pub(crate) fn error(op: &'static str, response: &WireResponse) -> PortError {
    let body: ErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
    let first = body.errors.iter().find(|e| !e.code.is_empty());
    let code = first
        .map(|e| e.code.as_str())
        .or(body.error.as_deref())
        .unwrap_or("");
    let status = response.status;
    let err = match (status, code) {
        (429, _) => PortError::rate_limited(op, response.retry_after()),
        (_, "ConcurrentModification") => {
            // Re-reading and retrying is the adapter's job; this surfaces only when its bounded
            // retries ran out, and trying again later may succeed.
            PortError::conflict(op, "the resource changed concurrently").with_retryable(true)
        }
        (_, "PendingOperation") => {
            PortError::conflict(op, "another operation on the resource is in progress")
                .with_retryable(true)
        }
        (_, "invalid_client") => PortError::unauthorized(op, "client credentials refused"),
        (_, "insufficient_scope") => PortError::unauthorized(op, "the api client lacks a scope"),
        (401, _) | (_, "invalid_token") => PortError::unauthorized(op, "access token refused"),
        (403, _) => PortError::unauthorized(op, "the api client lacks a permission"),
        (_, "ResourceNotFound") | (404, _) => PortError::not_found(op, "no such resource"),
        (_, "OverCapacity" | "ServiceUnavailable" | "QueryTimedOut" | "ExtensionNoResponse") => {
            PortError::unavailable(op, "commercetools is over capacity or timed out")
        }
        (_, code) if REJECTED_CODES.contains(&code) => {
            PortError::rejected(op, "refused by commercetools")
        }
        (_, code) if INVALID_CODES.contains(&code) => {
            PortError::invalid_input(op, "request refused by commercetools")
        }
        (500..=599, _) => PortError::unavailable(op, "commercetools server error"),
        (400..=499, _) => PortError::invalid_input(op, "request refused by commercetools"),
        _ => status_error(op, response),
    };
    let mut err = if err.context_value("status").is_some() {
        err
    } else {
        err.with_context("status", status)
    };
    if !code.is_empty() {
        err = err.with_context("ct_code", code);
    }
    if let Some(version) = first.and_then(|e| e.current_version) {
        err = err.with_context("current_version", version);
    }
    if let Some(id) = response.header("x-correlation-id") {
        err = err.with_context("correlation_id", id);
    }
    err
}

/// Whether `err` says the resource does not exist.
pub(crate) fn is_missing(err: &PortError) -> bool {
    err.kind() == PortErrorKind::NotFound
}

/// Whether `err` is a stale version that a re-read may fix.
pub(crate) fn is_concurrent_modification(err: &PortError) -> bool {
    err.kind() == PortErrorKind::Conflict
        && err.context_value("ct_code") == Some("ConcurrentModification")
}

fn currency(op: &'static str, code: &str) -> PortResult<Currency> {
    Currency::from_code(code).map_err(|e| {
        PortError::unexpected(op, "unknown currency in the commercetools response")
            .with_context("currency", code)
            .with_source(e)
    })
}

/// `minor` as a decimal text with `digits` decimals (`1250`, 2 is `12.50`).
fn decimal_text(minor: i64, digits: u32) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs().to_string();
    let digits = digits as usize;
    if digits == 0 {
        return format!("{sign}{magnitude}");
    }
    let padded = format!("{magnitude:0>width$}", width = digits + 1);
    let (whole, fraction) = padded.split_at(padded.len() - digits);
    format!("{sign}{whole}.{fraction}")
}

impl CtMoney {
    /// The exact amount: `centAmount` scaled by `fractionDigits`; for `highPrecision` money its
    /// `preciseAmount`, refused when it is finer than the currency's minor unit.
    pub(crate) fn to_money(&self, op: &'static str) -> PortResult<Money> {
        let currency = currency(op, &self.currency_code)?;
        let (minor, digits) = match (self.kind.as_deref(), self.precise_amount) {
            (Some("highPrecision"), Some(precise)) => (
                precise,
                self.fraction_digits.unwrap_or(currency.minor_units()),
            ),
            (Some("highPrecision"), None) => (self.cent_amount, currency.minor_units()),
            _ => (
                self.cent_amount,
                self.fraction_digits.unwrap_or(currency.minor_units()),
            ),
        };
        if digits == currency.minor_units() {
            return Ok(Money::from_minor(minor, currency));
        }
        Money::parse(&decimal_text(minor, digits), currency).map_err(|e| {
            PortError::unexpected(op, "amount finer than the currency's minor unit")
                .with_context("currency", self.currency_code.as_str())
                .with_source(e)
        })
    }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

impl CtAddress {
    /// The domain address: names joined (the company when there is no name), street name and
    /// number joined, `region` or else `state`.
    pub(crate) fn to_address(&self) -> Address {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .filter_map(non_empty_ref)
            .collect::<Vec<_>>()
            .join(" ");
        let name = if name.is_empty() {
            non_empty(self.company.as_deref()).unwrap_or_default()
        } else {
            name
        };
        let line1 = [self.street_name.as_deref(), self.street_number.as_deref()]
            .into_iter()
            .filter_map(non_empty_ref)
            .collect::<Vec<_>>()
            .join(" ");
        Address {
            name,
            line1,
            line2: non_empty(self.additional_street_info.as_deref()),
            postcode: non_empty(self.postal_code.as_deref()).unwrap_or_default(),
            city: non_empty(self.city.as_deref()).unwrap_or_default(),
            region: non_empty(self.region.as_deref()).or(non_empty(self.state.as_deref())),
            country: self.country.trim().to_owned(),
        }
    }

    fn phone(&self) -> Option<String> {
        non_empty(self.mobile.as_deref()).or(non_empty(self.phone.as_deref()))
    }
}

fn non_empty_ref(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// The table from commercetools' order, shipment and payment states to an [`OrderStatus`].
///
/// | orderState | shipmentState | paymentState | status |
/// |---|---|---|---|
/// | `Cancelled` | any | any | `Cancelled` |
/// | other | `Delivered` | any | `Delivered` |
/// | other | `Shipped` | any | `Fulfilled` |
/// | other | `Partial` | any | `PartiallyFulfilled` |
/// | `Complete` | other or none | any | `Fulfilled` |
/// | `Open`/`Confirmed` | other or none, but a delivery exists | any | `PartiallyFulfilled` |
/// | `Open`/`Confirmed` | other or none | `Paid` | `Unfulfilled` |
/// | `Open`/`Confirmed` | other or none | other or none | `Pending` |
///
/// An unknown order state counts as `Fulfilled`, so nothing is changed on an order the table
/// does not understand.
pub fn order_status(
    order_state: &str,
    shipment_state: Option<&str>,
    payment_state: Option<&str>,
    has_deliveries: bool,
) -> OrderStatus {
    match (order_state, shipment_state) {
        ("Cancelled", _) => OrderStatus::Cancelled,
        (_, Some("Delivered")) => OrderStatus::Delivered,
        (_, Some("Shipped")) => OrderStatus::Fulfilled,
        (_, Some("Partial")) => OrderStatus::PartiallyFulfilled,
        ("Open" | "Confirmed", _) if has_deliveries => OrderStatus::PartiallyFulfilled,
        ("Open" | "Confirmed", _) if payment_state == Some("Paid") => OrderStatus::Unfulfilled,
        ("Open" | "Confirmed", _) => OrderStatus::Pending,
        _ => OrderStatus::Fulfilled,
    }
}

/// The tender of a commercetools payment from its `paymentMethodInfo.method` (free text).
pub fn tender(method: Option<&str>) -> Tender {
    let method = method.unwrap_or("").to_ascii_lowercase();
    let has = |word: &str| method.contains(word);
    if has("twint") {
        Tender::Twint
    } else if has("paypal") {
        Tender::Paypal
    } else if has("gift") {
        Tender::GiftCard
    } else if has("store") && has("credit") {
        Tender::StoreCredit
    } else if has("invoice") || has("transfer") || has("sepa") || has("bank") || has("prepay") {
        Tender::BankTransfer
    } else {
        Tender::Card
    }
}

fn custom_string(custom: Option<&CustomFields>, name: &str) -> Option<String> {
    custom
        .and_then(|c| c.fields.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn custom_bool(custom: Option<&CustomFields>, name: &str) -> bool {
    custom
        .and_then(|c| c.fields.get(name))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Line item custom field with the line's merchandising category.
pub const LINE_CATEGORY_FIELD: &str = "orderAgentCategory";
/// Line item custom field (Set of String) with the line's tags.
pub const LINE_TAGS_FIELD: &str = "orderAgentTags";
/// Line item custom field (Boolean): sold as final sale.
pub const LINE_FINAL_SALE_FIELD: &str = "orderAgentFinalSale";
/// Order custom field (Boolean): flagged as risky.
pub const FRAUD_FLAGGED_FIELD: &str = "orderAgentFraudFlagged";
/// Order custom field (Boolean): a payment is disputed.
pub const DISPUTED_FIELD: &str = "orderAgentDisputed";

fn title(name: &BTreeMap<String, String>, locale: &str) -> String {
    name.get(locale)
        .or_else(|| {
            let language = locale.split(['-', '_']).next().unwrap_or(locale);
            name.get(language).or_else(|| {
                name.iter()
                    .find(|(k, _)| k.starts_with(language))
                    .map(|(_, v)| v)
            })
        })
        .or_else(|| name.values().next())
        .cloned()
        .unwrap_or_default()
}

/// A decimal from the text of a JSON number (`0.081`), never through a float; the decimal type
/// is the one of the domain field it fills.
fn decimal<T: std::str::FromStr>(op: &'static str, number: &serde_json::Number) -> PortResult<T> {
    number.to_string().parse::<T>().map_err(|_| {
        PortError::unexpected(op, "tax rate is not a decimal number")
            .with_context("tax_rate", number)
    })
}

impl CtOrder {
    /// The domain order. `locale` picks the line titles.
    pub(crate) fn to_order(&self, op: &'static str, locale: &str) -> PortResult<Order> {
        let currency = currency(op, &self.total_price.currency_code)?;
        let context = |e: PortError| e.with_context("order_id", &self.id);
        let mut lines = Vec::with_capacity(self.line_items.len());
        let mut included = true;
        for item in &self.line_items {
            let unit_price = item.price.value.to_money(op).map_err(context)?;
            let total = item.total_price.to_money(op).map_err(context)?;
            let gross = unit_price.times(item.quantity).map_err(|e| {
                context(PortError::unexpected(op, "line amounts do not add up").with_source(e))
            })?;
            let discount = gross.checked_sub(total).map_err(|e| {
                context(
                    PortError::unexpected(op, "line in another currency than the order")
                        .with_source(e),
                )
            })?;
            let tax_rate = match &item.tax_rate {
                Some(t) => {
                    included &= t.included_in_price;
                    decimal(op, &t.amount).map_err(context)?
                }
                None => decimal(op, &serde_json::Number::from(0)).map_err(context)?,
            };
            let custom = item.custom.as_ref();
            lines.push(OrderLine {
                id: LineId::new(item.id.clone()),
                sku: Sku::new(item.variant.sku.clone().unwrap_or_default()),
                product_id: ProductId::new(item.product_id.clone()),
                variant_id: VariantId::new(item.variant.id.to_string()),
                title: title(&item.name, locale),
                category: custom_string(custom, LINE_CATEGORY_FIELD).unwrap_or_default(),
                tags: custom
                    .and_then(|c| c.fields.get(LINE_TAGS_FIELD))
                    .and_then(Value::as_array)
                    .map(|tags| {
                        tags.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                quantity: item.quantity,
                unit_price,
                line_discount: discount.is_positive().then_some(discount),
                tax_rate,
                final_sale: custom_bool(custom, LINE_FINAL_SALE_FIELD),
            });
        }
        let money = |m: Option<&CtMoney>| -> PortResult<Money> {
            match m {
                Some(m) => m.to_money(op).map_err(context),
                None => Ok(Money::zero(currency)),
            }
        };
        let shipping_info = self.shipping_info.as_ref();
        let deliveries: &[CtDelivery] = shipping_info
            .map(|s| s.deliveries.as_slice())
            .unwrap_or(&[]);
        // An order without shipping (digital goods) is addressed to its billing address.
        let shipping_address = self
            .shipping_address
            .as_ref()
            .or(self.billing_address.as_ref())
            .ok_or_else(|| {
                context(PortError::unexpected(
                    op,
                    "order without a shipping or billing address",
                ))
            })?;
        let custom = self.custom.as_ref();
        Ok(Order {
            id: OrderId::new(self.id.clone()),
            number: OrderNumber::new(self.order_number.clone().unwrap_or_else(|| self.id.clone())),
            customer_id: CustomerId::new(self.customer_id.clone().unwrap_or_default()),
            email: self.customer_email.clone().unwrap_or_default(),
            phone: shipping_address.phone(),
            currency,
            placed_at: self.created_at,
            status: order_status(
                &self.order_state,
                self.shipment_state.as_deref(),
                self.payment_state.as_deref(),
                !deliveries.is_empty(),
            ),
            tax_mode: if included {
                TaxMode::Included
            } else {
                TaxMode::Excluded
            },
            lines,
            order_discount: match &self.discount_on_total_price {
                Some(d) => Some(d.discounted_amount.to_money(op).map_err(context)?),
                None => None,
            },
            shipping: money(shipping_info.and_then(|s| s.price.as_ref()))?,
            tax_total: money(self.taxed_price.as_ref().and_then(|t| t.total_tax.as_ref()))?,
            shipping_address: shipping_address.to_address(),
            billing_address: self.billing_address.as_ref().map(CtAddress::to_address),
            payments: self.payments(op, currency).map_err(context)?,
            shipments: shipments(deliveries),
            risk: RiskSignals {
                fraud_flagged: custom_bool(custom, FRAUD_FLAGGED_FIELD),
                disputed: custom_bool(custom, DISPUTED_FIELD),
            },
            modifications_made: self.modifications_made(),
        })
    }

    /// The count kept in [`MODIFICATIONS_FIELD`].
    pub(crate) fn modifications_made(&self) -> u32 {
        self.custom
            .as_ref()
            .and_then(|c| c.fields.get(MODIFICATIONS_FIELD))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    }

    /// Expanded payments: captured = successful `Charge` transactions, refunded = successful
    /// `Refund` transactions. Unexpanded references are skipped.
    fn payments(&self, op: &'static str, currency: Currency) -> PortResult<Vec<Payment>> {
        let refs = self
            .payment_info
            .as_ref()
            .map(|p| p.payments.as_slice())
            .unwrap_or(&[]);
        let mut out = Vec::new();
        for payment in refs.iter().filter_map(|r| r.obj.as_ref()) {
            let mut captured = Money::zero(currency);
            let mut refunded = Money::zero(currency);
            for t in &payment.transactions {
                if t.state.as_deref() != Some("Success") {
                    continue;
                }
                let amount = t.amount.to_money(op)?;
                let add = |sum: Money| {
                    sum.checked_add(amount).map_err(|e| {
                        PortError::unexpected(op, "payment in another currency than the order")
                            .with_source(e)
                    })
                };
                match t.kind.as_str() {
                    "Charge" => captured = add(captured)?,
                    "Refund" => refunded = add(refunded)?,
                    _ => {}
                }
            }
            out.push(Payment {
                id: PaymentId::new(
                    payment
                        .interface_id
                        .clone()
                        .filter(|i| !i.is_empty())
                        .unwrap_or_else(|| payment.id.clone()),
                ),
                tender: tender(
                    payment
                        .payment_method_info
                        .as_ref()
                        .and_then(|m| m.method.as_deref()),
                ),
                captured,
                refunded,
            });
        }
        Ok(out)
    }
}

/// One shipment per parcel (its items, or the delivery's when the parcel lists none); a delivery
/// without parcels is one shipment without tracking. Return parcels are left out. Delivery times
/// are not known to commercetools: they come from the carrier.
fn shipments(deliveries: &[CtDelivery]) -> Vec<Shipment> {
    let lines = |items: &[CtItemQuantity]| -> Vec<ShipmentLine> {
        items
            .iter()
            .map(|i| ShipmentLine {
                line_id: LineId::new(i.id.clone()),
                quantity: i.quantity,
            })
            .collect()
    };
    let mut out = Vec::new();
    for delivery in deliveries {
        if delivery.parcels.is_empty() {
            out.push(Shipment {
                id: ShipmentId::new(delivery.id.clone()),
                carrier: String::new(),
                tracking_number: None,
                lines: lines(&delivery.items),
                promised: None,
                shipped_at: Some(delivery.created_at),
                delivered_at: None,
                carrier_eta: None,
                events: Vec::new(),
            });
            continue;
        }
        for parcel in &delivery.parcels {
            let tracking = parcel.tracking_data.as_ref();
            if tracking.is_some_and(|t| t.is_return) {
                continue;
            }
            let items = if parcel.items.is_empty() {
                &delivery.items
            } else {
                &parcel.items
            };
            out.push(Shipment {
                id: ShipmentId::new(parcel.id.clone()),
                carrier: tracking
                    .and_then(|t| non_empty(t.carrier.as_deref()))
                    .map(|c| c.to_ascii_lowercase().replace([' ', '_'], "-"))
                    .unwrap_or_default(),
                tracking_number: tracking
                    .and_then(|t| non_empty(t.tracking_id.as_deref()))
                    .map(TrackingNumber::new),
                lines: lines(items),
                promised: None,
                shipped_at: Some(parcel.created_at),
                delivered_at: None,
                carrier_eta: None,
                events: Vec::new(),
            });
        }
    }
    out
}

fn locale(tag: Option<&str>) -> Locale {
    let language = tag
        .unwrap_or("")
        .split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    match language.as_str() {
        "de" => Locale::De,
        "fr" => Locale::Fr,
        "it" => Locale::It,
        _ => Locale::En,
    }
}

fn channel(tag: &str) -> Option<Channel> {
    match tag {
        "email" => Some(Channel::Email),
        "whatsapp" => Some(Channel::Whatsapp),
        "sms" => Some(Channel::Sms),
        "web_chat" => Some(Channel::WebChat),
        _ => None,
    }
}

impl CtCustomer {
    /// The domain customer: contact points from [`CONTACT_POINTS_FIELD`] (unknown channels
    /// skipped), the loyalty tier from the expanded customer group's key (or name). Return
    /// history is not kept by commercetools and is left empty.
    pub(crate) fn to_customer(&self) -> Customer {
        let name = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .filter_map(non_empty_ref)
            .collect::<Vec<_>>()
            .join(" ");
        let contact_points = self
            .custom
            .as_ref()
            .and_then(|c| c.fields.get(CONTACT_POINTS_FIELD))
            .and_then(Value::as_array)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(|entry| {
                        let (tag, address) = entry.split_once(':')?;
                        Some(ContactPoint {
                            channel: channel(tag)?,
                            address: address.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let group = self.customer_group.as_ref().and_then(|g| g.obj.as_ref());
        Customer {
            id: CustomerId::new(self.id.clone()),
            name,
            email: self.email.clone(),
            contact_points,
            locale: locale(self.locale.as_deref()),
            loyalty_tier: group
                .and_then(|g| non_empty(g.key.as_deref()).or(non_empty(g.name.as_deref()))),
            history: ReturnHistory::default(),
        }
    }
}

impl CtProductProjection {
    /// The offers: every variant with a SKU and a price in `currency`, available units from its
    /// inventory (0 when it tracks none and is not on stock).
    pub(crate) fn to_offers(
        &self,
        op: &'static str,
        currency: Currency,
    ) -> PortResult<Vec<ExchangeOffer>> {
        let mut out: Vec<ExchangeOffer> = Vec::new();
        for variant in std::iter::once(&self.master_variant).chain(&self.variants) {
            let (Some(sku), Some(price)) = (non_empty(variant.sku.as_deref()), &variant.price)
            else {
                continue;
            };
            let unit_price = price.value.to_money(op)?;
            if unit_price.currency() != currency {
                continue;
            }
            let id = VariantId::new(variant.id.to_string());
            if out.iter().any(|o| o.variant_id == id) {
                continue;
            }
            let available = variant
                .availability
                .as_ref()
                .map(|a| match a.available_quantity {
                    Some(n) => u32::try_from(n.max(0)).unwrap_or(u32::MAX),
                    None => u32::from(a.is_on_stock == Some(true)),
                })
                .unwrap_or(0);
            out.push(ExchangeOffer {
                product_id: ProductId::new(self.id.clone()),
                variant_id: id,
                sku: Sku::new(sku),
                unit_price,
                available,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_places_the_point() {
        assert_eq!(decimal_text(1250, 2), "12.50");
        assert_eq!(decimal_text(5, 3), "0.005");
        assert_eq!(decimal_text(-5, 2), "-0.05");
        assert_eq!(decimal_text(42, 0), "42");
    }

    fn ct_money(value: serde_json::Value) -> CtMoney {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn money_is_exact_and_refuses_sub_cent_precision() {
        let cent = ct_money(
            serde_json::json!({"type": "centPrecision", "currencyCode": "CHF", "centAmount": 1990, "fractionDigits": 2}),
        );
        assert_eq!(
            cent.to_money("t").unwrap(),
            Money::from_minor(1990, Currency::CHF)
        );
        let yen = ct_money(
            serde_json::json!({"type": "centPrecision", "currencyCode": "JPY", "centAmount": 500, "fractionDigits": 0}),
        );
        assert_eq!(
            yen.to_money("t").unwrap(),
            Money::from_minor(500, Currency::JPY)
        );
        let precise = ct_money(
            serde_json::json!({"type": "highPrecision", "currencyCode": "CHF", "centAmount": 4990, "preciseAmount": 499000, "fractionDigits": 4}),
        );
        assert_eq!(
            precise.to_money("t").unwrap(),
            Money::from_minor(4990, Currency::CHF)
        );
        let finer = ct_money(
            serde_json::json!({"type": "highPrecision", "currencyCode": "CHF", "centAmount": 4991, "preciseAmount": 499050, "fractionDigits": 4}),
        );
        assert_eq!(
            finer.to_money("t").unwrap_err().kind(),
            PortErrorKind::Unexpected
        );
        let unknown = ct_money(serde_json::json!({"currencyCode": "XYZ", "centAmount": 1}));
        assert!(unknown.to_money("t").is_err());
    }
}

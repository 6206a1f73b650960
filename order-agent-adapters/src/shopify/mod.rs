//! [Shopify](https://shopify.dev/docs/api/admin-graphql) as the [`Oms`] port and, for shops on
//! Shopify Payments, the [`Payments`] port, over the Admin GraphQL API
//! (`POST {base_url}/admin/api/{api_version}/graphql.json`, `X-Shopify-Access-Token`, API version
//! pinned by [`ShopifyConfig::api_version`], default [`DEFAULT_API_VERSION`]).
//!
//! # What it covers
//!
//! Ids are Shopify GIDs: orders `gid://shopify/Order/N`, customers `gid://shopify/Customer/N`,
//! lines `gid://shopify/LineItem/N`, products `gid://shopify/Product/N`, variants
//! `gid://shopify/ProductVariant/N`. Any other id is unknown (`None`, an empty list, or
//! `NotFound` for commands).
//!
//! - [`Oms::order`], [`Oms::order_by_number`] (`orders(query: "name:\"#1042\" OR name:\"1042\"")`,
//!   then compared exactly, `#` and whitespace ignored), [`Oms::orders_of_customer`] (the
//!   customer's `orders`, newest first): lines with their current quantity (after edits), prices
//!   in shop money (`shopMoney`, exact decimals; presentment money is not read), discounts, tax
//!   rate, customer, addresses, status (table in `responses::order_status`: cancelled, the
//!   display fulfilment status, delivery of every fulfilment, fulfilment orders in progress, the
//!   financial status), fulfilments as shipments (one per tracking number — the fulfilment's
//!   lines on the first — with carrier, number, shipped/delivered dates, the carrier's estimate
//!   and the display status as one tracking event; the tracking URL has no place in the domain),
//!   successful `SALE`/`CAPTURE` transactions as payments with the `REFUND` transactions against
//!   each as refunded, and `modifications_made` from the order metafield
//!   `order_agent.modifications` this adapter writes.
//! - [`Oms::customer`], [`Oms::customer_by_contact`]: email on [`Channel::Email`] (the
//!   customer's default email, case-insensitively), phone on [`Channel::Sms`] (the default phone
//!   number, which is the customer's one contact point: Shopify does not verify it, the shop's
//!   record is taken as is); Shopify keeps no WhatsApp or web-chat contacts, so those channels
//!   never match. Loyalty tier from a `loyalty:`/`tier:` tag.
//! - [`Oms::cancel_order`]: `orderCancel` with the reason, `refund: false`, `restock: false`
//!   (the agent refunds and restocks through its own ports); an order already cancelled is
//!   returned unchanged, one that has left the warehouse is `Rejected` before anything is sent.
//!   Shopify cancels in a job: the order is read back up to four times, 200 ms apart, and if
//!   the job has still not shown it is returned with status `Cancelled` (what Shopify accepted).
//! - [`Oms::change_shipping_address`]: `orderUpdate` with `shippingAddress` (the name split at
//!   its last space into first and last name); `Rejected` once the order has left the warehouse
//!   or is cancelled; the same address again changes nothing.
//! - [`Oms::modify_items`]: order editing (`orderEditBegin`, `orderEditSetQuantity` without
//!   restock, `orderEditAddVariant` for the new side of a variant swap, `orderEditCommit` without
//!   notifying the customer), all changes validated before the edit begins (an uncommitted edit
//!   changes nothing); then the count in `order_agent.modifications` goes up by one
//!   (`metafieldsSet`). Any price difference is for the shell to settle through [`Payments`].
//! - [`Oms::record_return`]: `returnCreate` (an open, approved return) over the fulfilment line
//!   items of the returned lines; each return line's `returnReasonNote` carries the
//!   authorisation id, and the order's `returns` are searched for it first, so recording again
//!   answers the same return. A line not fulfilled (enough) to be returned is `Rejected`. An
//!   exchange is recorded as the return only: exchange line items are not created.
//! - [`Oms::exchange_offers`]: the product's variants with price (shop currency) and inventory
//!   quantity (never negative).
//! - [`Payments`]: a [`PaymentId`] is the GID of the successful `SALE` or `CAPTURE`
//!   `OrderTransaction` (`gid://shopify/OrderTransaction/N`), as [`Oms::order`] reports it.
//!   [`Payments::payment`] reads it with its order's refunds; [`Payments::refund`] checks the
//!   payment, currency, an earlier refund with the same key (same amount: that refund; other
//!   amount: `Conflict`) and what is refundable, then sends `refundCreate` with one `REFUND`
//!   transaction (`parentId` the payment, its gateway, the exact amount) under
//!   `@idempotent(key: ...)` with the request's key; the refund's `note` carries the key and the
//!   metadata, and [`Payments::refunds`] reads the key back from it.
//!
//! # Not covered
//!
//! Presentment (customer) currency amounts; risk signals (the order's risk assessments are not
//! read); more than 100 lines, 20 fulfilments or 100 transactions on one order, more than 250
//! orders of one customer; draft orders; creating exchange line items; refunds to store credit;
//! shops not on Shopify Payments for [`Payments`] (the refund goes to the payment's gateway).
//!
//! # Rate limits
//!
//! Shopify limits GraphQL by query cost, per app and shop: a bucket of 2000/4000/20000 points
//! restored at 100/200/1000 points per second on the Standard/Advanced/Plus plans
//! ([`PUBLISHED_STANDARD_RATE_PER_SECOND`]). A `THROTTLED` answer (HTTP 200,
//! `errors[].extensions.code`) becomes [`PortError::rate_limited`] with the wait Shopify's
//! `throttleStatus` implies; HTTP 429 with its `Retry-After`. Besides, a client-side
//! [`CostBucket`] waits before a query whose estimated cost the bucket
//! cannot pay (see [`throttle`]). Retries, timeouts beyond one request and circuit breaking are
//! the `resilience` wrappers' job.
//!
//! Requests are built as data in [`requests`] from the documents in [`queries`]; answers and the
//! one error table are in `responses`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::{
    AddressChangeRequest, CancellationRequest, Channel, ContactPoint, Customer, CustomerId,
    ExchangeOffer, ItemChange, ItemModificationRequest, LineId, Order, OrderId, OrderNumber,
    OrderStatus, Payment, PaymentId, ProductId, Refund, ReturnAuthorisation, VariantId,
};
use order_agent_core::ports::oms::{normalize_order_number, ops as oms_ops};
use order_agent_core::ports::payments::ops as pay_ops;
use order_agent_core::ports::{Oms, Payments, PortError, PortResult, RefundRequest};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::http::HttpSender;

pub mod queries;
pub mod requests;
mod responses;
pub mod throttle;

pub use responses::{
    fulfilment_tracking_status, order_status, tender, throttled_wait, user_error, QueryCost,
    ThrottleStatus, UserError,
};
pub use throttle::{CostBucket, ShopifyPlan};

use requests::{is_gid_of, GraphqlRequest, ReturnLineInput};
use responses::{
    CustomerData, CustomerOrdersData, CustomersData, MetafieldsSetData, OrderCancelData, OrderData,
    OrderEditAddVariantData, OrderEditBeginData, OrderEditCommitData, OrderEditSetQuantityData,
    OrderReturnsData, OrderUpdateData, OrdersData, PaymentData, PaymentTransaction,
    ProductVariantsData, RefundCreateData, ReturnCreateData,
};

/// The Admin API version the adapter is written and tested against: the first with the
/// `@idempotent` directive on `refundCreate`.
pub const DEFAULT_API_VERSION: &str = "2026-01";

/// Shopify's published GraphQL Admin restore rate on the Standard plan, query-cost points per
/// second per app and shop (Advanced 200, Plus 1000).
pub const PUBLISHED_STANDARD_RATE_PER_SECOND: u32 = 100;

/// Reads of a cancelled order while Shopify's cancel job has not shown yet.
const CANCEL_READ_BACK_ATTEMPTS: usize = 3;
/// The pause between those reads.
const CANCEL_READ_BACK_PAUSE: Duration = Duration::from_millis(200);

/// How to reach one shop.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopifyConfig {
    /// The shop's base URL, `https://{shop}.myshopify.com` (or a loopback mock).
    pub base_url: String,
    /// The Admin API access token (`shpat_...`) with `read_orders`, `write_orders`,
    /// `read_customers`, `read_products`, `write_returns`, `write_order_edits` and, for refunds,
    /// the refund permission. Never logged.
    pub access_token: SecretString,
    /// The pinned Admin API version, [`DEFAULT_API_VERSION`] unless set.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The shop's plan, which sizes the client-side cost bucket.
    #[serde(default)]
    pub plan: ShopifyPlan,
    /// The share (percent, 1..=100) of the plan's restore rate the client-side bucket refills
    /// at; default 80.
    #[serde(default = "default_bucket_share")]
    pub bucket_share_percent: u8,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}

fn default_bucket_share() -> u8 {
    80
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl ShopifyConfig {
    /// A configuration for the shop at `base_url` with `access_token`, on the Standard plan.
    pub fn new(base_url: impl Into<String>, access_token: SecretString) -> ShopifyConfig {
        ShopifyConfig {
            base_url: base_url.into(),
            access_token,
            api_version: default_api_version(),
            plan: ShopifyPlan::default(),
            bucket_share_percent: default_bucket_share(),
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration on another plan.
    #[must_use]
    pub fn with_plan(mut self, plan: ShopifyPlan) -> ShopifyConfig {
        self.plan = plan;
        self
    }

    /// The same configuration with another bucket share (percent of the restore rate).
    #[must_use]
    pub fn with_bucket_share_percent(mut self, share: u8) -> ShopifyConfig {
        self.bucket_share_percent = share;
        self
    }

    /// The same configuration with another per-request timeout.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> ShopifyConfig {
        self.timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }
}

/// The Shopify adapter: one shop, as [`Oms`] and as [`Payments`].
#[derive(Debug, Clone)]
pub struct Shopify {
    config: ShopifyConfig,
    http: HttpSender,
    bucket: Arc<CostBucket>,
}

impl Shopify {
    /// An adapter for the shop `config` describes.
    pub fn new(config: ShopifyConfig) -> PortResult<Shopify> {
        let http = HttpSender::new(&config.base_url, Duration::from_millis(config.timeout_ms))?;
        let bucket = Arc::new(CostBucket::new(config.plan, config.bucket_share_percent));
        Ok(Shopify {
            config,
            http,
            bucket,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ShopifyConfig {
        &self.config
    }

    /// The client-side cost bucket.
    pub fn bucket(&self) -> &CostBucket {
        &self.bucket
    }

    async fn run<T: DeserializeOwned>(&self, request: &GraphqlRequest) -> PortResult<T> {
        let op = request.operation;
        self.bucket.acquire(request.document.estimated_cost).await;
        let wire = requests::wire(&self.config, request);
        let response = self.http.send(&wire).await?;
        if !(200..300).contains(&response.status) {
            return Err(responses::http_error(op, &response)
                .with_context("operation_name", request.document.name));
        }
        let envelope = responses::envelope(op, &response)?;
        if let Some(cost) = envelope.extensions.as_ref().and_then(|e| e.cost.as_ref()) {
            self.bucket.observe(&cost.throttle_status);
        }
        responses::data(op, envelope)
            .map_err(|e| e.with_context("operation_name", request.document.name))
    }

    async fn fetch_order(&self, op: &'static str, id: &OrderId) -> PortResult<Option<Order>> {
        if !is_gid_of("Order", id.as_str()) {
            return Ok(None);
        }
        let data: OrderData = self.run(&requests::order(op, id)).await?;
        data.order.map(|o| o.into_order(op)).transpose()
    }

    async fn existing_order(&self, op: &'static str, id: &OrderId) -> PortResult<Order> {
        self.fetch_order(op, id)
            .await?
            .ok_or_else(|| PortError::not_found(op, "no such order").with_context("order_id", id))
    }

    async fn payment_transaction(
        &self,
        op: &'static str,
        id: &PaymentId,
    ) -> PortResult<Option<PaymentTransaction>> {
        if !is_gid_of("OrderTransaction", id.as_str()) {
            return Ok(None);
        }
        let data: PaymentData = self.run(&requests::payment(op, id)).await?;
        data.into_transaction(op)
    }
}

fn refuse_unless_open(op: &'static str, order: &Order, what: &str) -> PortResult<()> {
    if order.status == OrderStatus::Cancelled {
        return Err(
            PortError::rejected(op, format!("the order is cancelled: cannot {what}"))
                .with_context("order_id", &order.id),
        );
    }
    if !order.status.is_before_fulfilment() {
        return Err(PortError::rejected(
            op,
            format!("the order has left the warehouse: cannot {what}"),
        )
        .with_context("order_id", &order.id)
        .with_context("status", format!("{:?}", order.status).to_lowercase()));
    }
    Ok(())
}

fn same_phone(a: &str, b: &str) -> bool {
    let digits = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect()
    };
    let (a, b) = (digits(a), digits(b));
    !a.is_empty() && a == b
}

fn user_errors(op: &'static str, errors: &[responses::UserError]) -> PortResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(user_error(op, errors))
    }
}

fn missing_payload(op: &'static str, mutation: &str) -> PortError {
    PortError::unexpected(op, "shopify answered the mutation without its payload")
        .with_context("mutation", mutation)
}

#[async_trait]
impl Oms for Shopify {
    async fn order(&self, id: &OrderId) -> PortResult<Option<Order>> {
        self.fetch_order(oms_ops::ORDER, id).await
    }

    async fn order_by_number(&self, number: &OrderNumber) -> PortResult<Option<Order>> {
        let op = oms_ops::ORDER_BY_NUMBER;
        let Some(request) = requests::orders_by_name(op, number) else {
            return Ok(None);
        };
        let wanted = normalize_order_number(number.as_str());
        let data: OrdersData = self.run(&request).await?;
        data.orders
            .nodes
            .into_iter()
            .find(|o| normalize_order_number(&o.name) == wanted)
            .map(|o| o.into_order(op))
            .transpose()
    }

    async fn orders_of_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> PortResult<Vec<Order>> {
        let op = oms_ops::ORDERS_OF_CUSTOMER;
        if limit == 0 || !is_gid_of("Customer", customer.as_str()) {
            return Ok(Vec::new());
        }
        let data: CustomerOrdersData = self
            .run(&requests::orders_of_customer(op, customer, limit))
            .await?;
        let Some(found) = data.customer else {
            return Ok(Vec::new());
        };
        let mut orders = found
            .orders
            .nodes
            .into_iter()
            .map(|o| o.into_order(op))
            .collect::<PortResult<Vec<Order>>>()?;
        orders.retain(|o| &o.customer_id == customer);
        orders.sort_by_key(|o| std::cmp::Reverse(o.placed_at));
        orders.truncate(limit);
        Ok(orders)
    }

    async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>> {
        let op = oms_ops::CUSTOMER;
        if !is_gid_of("Customer", id.as_str()) {
            return Ok(None);
        }
        let data: CustomerData = self.run(&requests::customer(op, id)).await?;
        Ok(data.customer.map(|c| c.into_customer()))
    }

    async fn customer_by_contact(&self, contact: &ContactPoint) -> PortResult<Option<Customer>> {
        let op = oms_ops::CUSTOMER_BY_CONTACT;
        let Some(request) = requests::customers_by_contact(op, contact) else {
            return Ok(None);
        };
        let address = contact.address.trim();
        let data: CustomersData = self.run(&request).await?;
        Ok(data
            .customers
            .nodes
            .into_iter()
            .find(|c| match contact.channel {
                Channel::Email => c.email().eq_ignore_ascii_case(address),
                Channel::Sms => c.phone().is_some_and(|p| same_phone(&p, address)),
                _ => false,
            })
            .map(|c| c.into_customer()))
    }

    async fn cancel_order(&self, request: &CancellationRequest) -> PortResult<Order> {
        let op = oms_ops::CANCEL_ORDER;
        let order = self.existing_order(op, &request.order_id).await?;
        if order.status == OrderStatus::Cancelled {
            return Ok(order);
        }
        refuse_unless_open(op, &order, "cancel it")?;
        let data: OrderCancelData = self.run(&requests::cancel_order(op, request)).await?;
        let payload = data
            .order_cancel
            .ok_or_else(|| missing_payload(op, "orderCancel"))?;
        user_errors(op, &payload.order_cancel_user_errors)
            .map_err(|e| e.with_context("order_id", &request.order_id))?;
        // Shopify cancels in a job: give it a moment to show, then report what was accepted.
        let mut after = self.existing_order(op, &request.order_id).await?;
        for _ in 0..CANCEL_READ_BACK_ATTEMPTS {
            if after.status == OrderStatus::Cancelled {
                break;
            }
            tokio::time::sleep(CANCEL_READ_BACK_PAUSE).await;
            after = self.existing_order(op, &request.order_id).await?;
        }
        after.status = OrderStatus::Cancelled;
        Ok(after)
    }

    async fn change_shipping_address(&self, request: &AddressChangeRequest) -> PortResult<Order> {
        let op = oms_ops::CHANGE_SHIPPING_ADDRESS;
        let order = self.existing_order(op, &request.order_id).await?;
        refuse_unless_open(op, &order, "change its address")?;
        if order.shipping_address == request.new_address {
            return Ok(order);
        }
        let data: OrderUpdateData = self
            .run(&requests::change_shipping_address(
                op,
                &request.order_id,
                &request.new_address,
            ))
            .await?;
        let payload = data
            .order_update
            .ok_or_else(|| missing_payload(op, "orderUpdate"))?;
        user_errors(op, &payload.user_errors)
            .map_err(|e| e.with_context("order_id", &request.order_id))?;
        self.existing_order(op, &request.order_id).await
    }

    async fn modify_items(&self, request: &ItemModificationRequest) -> PortResult<Order> {
        let op = oms_ops::MODIFY_ITEMS;
        let order = self.existing_order(op, &request.order_id).await?;
        refuse_unless_open(op, &order, "change its items")?;

        let mut quantities: Vec<(LineId, u32)> = Vec::new();
        let mut additions: Vec<(VariantId, u32)> = Vec::new();
        for change in &request.changes {
            let line_id = match change {
                ItemChange::ReduceQuantity { line_id, .. }
                | ItemChange::SwapVariant { line_id, .. } => line_id,
            };
            let line = order.line(line_id).ok_or_else(|| {
                PortError::invalid_input(op, "the order has no such line")
                    .with_context("line_id", line_id)
            })?;
            match change {
                ItemChange::ReduceQuantity { quantity, .. } => {
                    if *quantity > line.quantity {
                        return Err(
                            PortError::invalid_input(op, "a quantity can only be reduced")
                                .with_context("line_id", line_id)
                                .with_context("ordered", line.quantity)
                                .with_context("asked", quantity),
                        );
                    }
                    if *quantity != line.quantity {
                        quantities.retain(|(l, _)| l != line_id);
                        quantities.push((line_id.clone(), *quantity));
                    }
                }
                ItemChange::SwapVariant { variant_id, .. } => {
                    if &line.variant_id != variant_id && line.quantity > 0 {
                        quantities.retain(|(l, _)| l != line_id);
                        quantities.push((line_id.clone(), 0));
                        additions.push((variant_id.clone(), line.quantity));
                    }
                }
            }
        }
        if quantities.is_empty() && additions.is_empty() {
            return Ok(order);
        }

        let begin: OrderEditBeginData = self
            .run(&requests::order_edit_begin(op, &request.order_id))
            .await?;
        let payload = begin
            .order_edit_begin
            .ok_or_else(|| missing_payload(op, "orderEditBegin"))?;
        user_errors(op, &payload.user_errors)?;
        let calculated = payload
            .calculated_order
            .ok_or_else(|| missing_payload(op, "orderEditBegin"))?;
        for (line_id, quantity) in &quantities {
            let wanted = requests::calculated_line_id(line_id);
            let calculated_line = calculated
                .line_items
                .nodes
                .iter()
                .find(|l| Some(&l.id) == wanted.as_ref())
                .ok_or_else(|| {
                    PortError::unexpected(op, "the order edit does not show a line of the order")
                        .with_context("line_id", line_id)
                })?;
            let data: OrderEditSetQuantityData = self
                .run(&requests::order_edit_set_quantity(
                    op,
                    &calculated.id,
                    &calculated_line.id,
                    *quantity,
                ))
                .await?;
            let payload = data
                .order_edit_set_quantity
                .ok_or_else(|| missing_payload(op, "orderEditSetQuantity"))?;
            user_errors(op, &payload.user_errors)
                .map_err(|e| e.with_context("line_id", line_id))?;
        }
        for (variant_id, quantity) in &additions {
            let data: OrderEditAddVariantData = self
                .run(&requests::order_edit_add_variant(
                    op,
                    &calculated.id,
                    variant_id,
                    *quantity,
                ))
                .await?;
            let payload = data
                .order_edit_add_variant
                .ok_or_else(|| missing_payload(op, "orderEditAddVariant"))?;
            user_errors(op, &payload.user_errors)
                .map_err(|e| e.with_context("variant_id", variant_id))?;
        }
        let commit: OrderEditCommitData = self
            .run(&requests::order_edit_commit(op, &calculated.id))
            .await?;
        let payload = commit
            .order_edit_commit
            .ok_or_else(|| missing_payload(op, "orderEditCommit"))?;
        user_errors(op, &payload.user_errors)?;

        let count = order.modifications_made.saturating_add(1);
        let set: MetafieldsSetData = self
            .run(&requests::set_modifications(op, &request.order_id, count))
            .await?;
        let payload = set
            .metafields_set
            .ok_or_else(|| missing_payload(op, "metafieldsSet"))?;
        user_errors(op, &payload.user_errors)
            .map_err(|e| e.with_message("the items changed but the change count was not saved"))?;
        self.existing_order(op, &request.order_id).await
    }

    async fn record_return(&self, authorisation: &ReturnAuthorisation) -> PortResult<String> {
        let op = oms_ops::RECORD_RETURN;
        let order_id = &authorisation.request.order_id;
        let not_found =
            || PortError::not_found(op, "no such order").with_context("order_id", order_id);
        if !is_gid_of("Order", order_id.as_str()) {
            return Err(not_found());
        }
        let data: OrderReturnsData = self.run(&requests::order_returns(op, order_id)).await?;
        let order = data.order.ok_or_else(not_found)?;

        let marker = format!("{}{} (", requests::RETURN_NOTE_PREFIX, authorisation.id);
        if let Some(existing) = order.returns.nodes.iter().find(|r| {
            r.return_line_items.nodes.iter().any(|l| {
                l.return_reason_note
                    .as_deref()
                    .is_some_and(|n| n.starts_with(&marker))
            })
        }) {
            return Ok(existing.id.clone());
        }

        let mut lines = Vec::new();
        for line in &authorisation.request.lines {
            if !order
                .line_items
                .nodes
                .iter()
                .any(|l| l.id == line.line_id.as_str())
            {
                return Err(PortError::invalid_input(op, "the order has no such line")
                    .with_context("line_id", &line.line_id));
            }
            let mut wanted = line.quantity;
            for fli in order
                .fulfillments
                .iter()
                .flat_map(|f| f.fulfillment_line_items.nodes.iter())
                .filter(|fli| fli.line_item.id == line.line_id.as_str())
            {
                if wanted == 0 {
                    break;
                }
                let take = wanted.min(fli.quantity);
                if take > 0 {
                    lines.push(ReturnLineInput {
                        fulfillment_line_item: fli.id.clone(),
                        quantity: take,
                        reason: line.reason,
                    });
                    wanted -= take;
                }
            }
            if wanted > 0 {
                return Err(PortError::rejected(
                    op,
                    "the line has not been fulfilled in the quantity to return",
                )
                .with_context("line_id", &line.line_id)
                .with_context("quantity", line.quantity));
            }
        }
        if lines.is_empty() {
            return Err(PortError::invalid_input(op, "the return has no units"));
        }
        let data: ReturnCreateData = self
            .run(&requests::return_create(op, authorisation, &lines))
            .await?;
        let payload = data
            .return_create
            .ok_or_else(|| missing_payload(op, "returnCreate"))?;
        user_errors(op, &payload.user_errors)
            .map_err(|e| e.with_context("return_id", &authorisation.id))?;
        payload
            .created
            .map(|r| r.id)
            .ok_or_else(|| missing_payload(op, "returnCreate"))
    }

    async fn exchange_offers(&self, product: &ProductId) -> PortResult<Vec<ExchangeOffer>> {
        let op = oms_ops::EXCHANGE_OFFERS;
        if !is_gid_of("Product", product.as_str()) {
            return Ok(Vec::new());
        }
        let data: ProductVariantsData = self.run(&requests::product_variants(op, product)).await?;
        data.into_offers(op)
    }
}

#[async_trait]
impl Payments for Shopify {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        let op = pay_ops::PAYMENT;
        self.payment_transaction(op, id)
            .await?
            .map(|t| t.to_payment(op))
            .transpose()
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        let op = pay_ops::REFUND;
        let id = &request.payment_id;
        if !request.amount.is_positive() {
            return Err(
                PortError::invalid_input(op, "a refund amount must be positive")
                    .with_context("amount", request.amount),
            );
        }
        let Some(transaction) = self.payment_transaction(op, id).await? else {
            return Err(PortError::not_found(op, "no such payment").with_context("payment_id", id));
        };
        if request.amount.currency() != transaction.captured.currency() {
            return Err(
                PortError::invalid_input(op, "refund currency differs from the payment's")
                    .with_context("payment_id", id)
                    .with_context("amount", request.amount),
            );
        }
        let earlier = transaction.refunds(op)?;
        if let Some(first) = earlier
            .iter()
            .find(|r| r.idempotency_key.as_deref() == Some(request.idempotency_key.as_str()))
        {
            return if first.amount == request.amount {
                Ok(first.clone())
            } else {
                Err(PortError::conflict(
                    op,
                    "the idempotency key was used for a refund of another amount",
                )
                .with_context("payment_id", id)
                .with_context("refund_id", &first.id))
            };
        }
        let payment = transaction.to_payment(op)?;
        let refundable = payment
            .refundable()
            .map_err(|e| PortError::unexpected(op, "refunds do not add up").with_source(e))?;
        let too_much = request
            .amount
            .try_cmp(&refundable)
            .map_err(|e| PortError::unexpected(op, "amounts do not compare").with_source(e))?
            .is_gt();
        if too_much {
            return Err(PortError::rejected(op, "amount exceeds what is refundable")
                .with_context("payment_id", id)
                .with_context("refundable", refundable)
                .with_context("amount", request.amount));
        }
        let data: RefundCreateData = self
            .run(&requests::refund_create(
                op,
                request,
                &transaction.order,
                &transaction.gateway,
            ))
            .await
            .map_err(|e| e.with_context("payment_id", id))?;
        let payload = data
            .refund_create
            .ok_or_else(|| missing_payload(op, "refundCreate"))?;
        user_errors(op, &payload.user_errors).map_err(|e| e.with_context("payment_id", id))?;
        let refund = payload
            .refund
            .ok_or_else(|| missing_payload(op, "refundCreate"))?
            .to_refund(op, id)?
            .ok_or_else(|| {
                PortError::unexpected(
                    op,
                    "shopify's refund has no transaction against the payment",
                )
                .with_context("payment_id", id)
            })?;
        if refund.amount != request.amount {
            return Err(
                PortError::unexpected(op, "shopify refunded another amount than asked")
                    .with_context("payment_id", id)
                    .with_context("refund_id", &refund.id),
            );
        }
        Ok(refund)
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        let op = pay_ops::REFUNDS;
        match self.payment_transaction(op, id).await? {
            Some(transaction) => transaction.refunds(op),
            None => Ok(Vec::new()),
        }
    }
}

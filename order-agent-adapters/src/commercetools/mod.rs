//! [commercetools](https://docs.commercetools.com/api/projects/orders) as the [`Oms`] port: orders,
//! customers and the changes the agent makes to orders, over the HTTP API of one project.
//!
//! # Authentication
//!
//! OAuth 2 client credentials: `POST {auth_url}/oauth/token` with HTTP basic auth (client id and
//! secret) and `grant_type=client_credentials&scope=...`. The access token is cached with its
//! expiry, fetched again shortly before it expires (5 minutes, or half its lifetime when that is
//! shorter), and once more when the API answers 401 (a revoked token); a second 401 is
//! `Unauthorized`. The client secret is a [`SecretString`], never logged or shown in `Debug`.
//! Default scopes: `manage_orders`, `manage_order_edits`, `view_customers`,
//! `view_published_products`, each `:{projectKey}`.
//!
//! # Operations
//!
//! - [`Oms::order`]: `GET /{projectKey}/orders/{id}?expand=paymentInfo.payments[*]`; 404 is
//!   `Ok(None)`.
//! - [`Oms::order_by_number`]: `GET /{projectKey}/orders?where=orderNumber in ("1042", "#1042")`,
//!   so the stored number may carry a `#` or not.
//! - [`Oms::orders_of_customer`]: `where=customerId="..."`, `sort=createdAt desc`, `limit` at most
//!   500 (commercetools' page size limit).
//! - [`Oms::customer`] and [`Oms::customer_by_contact`]: `/{projectKey}/customers` (not in the
//!   request subset of the OpenAPI file this adapter is checked against; documented at
//!   <https://docs.commercetools.com/api/projects/customers>). Email matches `lowercaseEmail`
//!   (commercetools keeps it lower-cased) or an email entry of the contact points. commercetools
//!   has no verified phone or chat contact: verified contact points are kept in a customer
//!   Custom Field [`requests::CONTACT_POINTS_FIELD`] (Set of String, entries `channel:address`)
//!   and matched with `custom(fields(... contains "sms:+4179..."))`, so a number registered for
//!   WhatsApp does not match on SMS. The loyalty tier is the customer group's key.
//! - [`Oms::cancel_order`]: `changeOrderState` to `Cancelled`, with the reason (snake case, e.g.
//!   `changed_mind`) in the order Custom Field [`requests::CANCELLATION_REASON_FIELD`], in the
//!   same update: `setCustomField` when the order has custom fields, else `setCustomType` with
//!   the Type keyed [`CommercetoolsConfig::order_type_key`]. The project's order Type must define
//!   the agent's fields. Already cancelled: answered unchanged. Not before fulfilment (table in
//!   [`order_status`]): `Rejected`, nothing sent.
//! - [`Oms::change_shipping_address`]: `setShippingAddress`; the same address again is answered
//!   unchanged; cancelled or not before fulfilment: `Rejected`.
//! - [`Oms::record_return`]: `addReturnInfo` with one `Advised` item per line (`lineItemId`,
//!   `quantity`, `comment` = the reason code), `returnTrackingId` = the agent's return id and
//!   `returnDate` = when it was authorised. The existing `returnInfo` is read first: a return
//!   whose `returnTrackingId` is the agent's return id is not added again. The OMS id answered is
//!   the id commercetools gave the return's first item.
//! - [`Oms::modify_items`]: through an [order edit](https://docs.commercetools.com/api/projects/order-edits)
//!   (`POST /{projectKey}/orders/edits` with staged actions, then `.../apply` with the edit's and
//!   the order's versions): `changeLineItemQuantity` for a reduced quantity, `removeLineItem` plus
//!   `addLineItem` (same product, the wanted variant's numeric id, same quantity) for a swap, and
//!   the count of modifications in the order Custom Field [`requests::MODIFICATIONS_FIELD`].
//!   Every change is checked against the order before anything is sent (all or nothing); changes
//!   the order already shows are dropped, and a request left empty changes nothing. A swapped-in
//!   line gets a new line id from commercetools; it carries the id of the line it replaces in the
//!   line item Custom Field [`requests::REPLACES_LINE_FIELD`] (Type keyed
//!   [`CommercetoolsConfig::line_item_type_key`], with the old line's category, tags and final
//!   sale copied), so repeating the swap finds it and changes nothing.
//! - [`Oms::exchange_offers`]: `GET /{projectKey}/product-projections/{id}?priceCurrency=..`
//!   (and `priceCountry`): every variant with a SKU and a price in the shop's currency, units
//!   available from the variant's inventory availability. 404 is an empty list.
//!
//! Every update carries the order's `version`. A 409 `ConcurrentModification` (someone changed
//! the order between the read and the write) makes the adapter read the order again, re-check
//! the rules against the fresh state and send again, at most
//! [`CommercetoolsConfig::max_version_retries`] times; then it answers a retryable `Conflict`.
//! This loop is part of commercetools' update protocol, not a generic retry: all other retries,
//! rate limits and circuit breaking are the `resilience` wrappers' job.
//!
//! # Mapping
//!
//! Money is `centAmount` scaled by `fractionDigits` (exact; `highPrecision` prices use
//! `preciseAmount` and are refused when finer than the currency's minor unit). Lines: the unit
//! price is `price.value`, the line discount is units × unit price − `totalPrice`, the tax rate
//! is `taxRate.amount` read from its decimal text, category, tags and final sale from line item
//! Custom Fields ([`LINE_CATEGORY_FIELD`], [`LINE_TAGS_FIELD`], [`LINE_FINAL_SALE_FIELD`]). The
//! order discount is `discountOnTotalPrice`, the tax total `taxedPrice.totalTax`, shipping
//! `shippingInfo.price`. Payments are the expanded payments (captured: successful `Charge`
//! transactions; refunded: successful `Refund` ones; id: `interfaceId`, else the payment id).
//! Shipments are `shippingInfo.deliveries[].parcels[]` with their `trackingData` (return
//! parcels left out); commercetools knows no delivery time, which comes from the carrier port.
//!
//! # Not covered
//!
//! Store-scoped endpoints (`/{projectKey}/in-store/key={storeKey}/...`), custom line items,
//! multiple shipping addresses (`itemShippingAddresses`), the customer's return history (left
//! empty: the shell counts it), and deleting an order edit that failed to apply (it stays
//! unapplied in the project).
//!
//! # Rate limit
//!
//! commercetools publishes no request-rate limit for its HTTP API
//! ([`PUBLISHED_RATE_PER_SECOND`] is `None`); it asks clients to ramp traffic up gradually and to
//! retry 502/503 with backoff. A 429 (or an `OverCapacity` 503) is still mapped to
//! `RateLimited`/`Unavailable` for the wrappers.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use order_agent_core::domain::{
    AddressChangeRequest, CancellationRequest, ContactPoint, Customer, CustomerId, ExchangeOffer,
    ItemChange, ItemModificationRequest, LineId, Order, OrderId, OrderNumber, OrderStatus,
    ProductId, ReturnAuthorisation,
};
use order_agent_core::ports::oms::{normalize_order_number, ops};
use order_agent_core::ports::{Oms, PortError, PortResult};
use order_agent_core::Currency;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::http::{HttpSender, WireRequest, WireResponse};

pub mod requests;
mod responses;

pub use responses::{
    order_status, tender, DISPUTED_FIELD, FRAUD_FLAGGED_FIELD, LINE_CATEGORY_FIELD,
    LINE_FINAL_SALE_FIELD, LINE_TAGS_FIELD,
};
use responses::{CtCustomer, CtOrder, CtOrderEdit, CtProductProjection, PagedQuery};

/// The API of a project hosted in Europe on Google Cloud.
pub const DEFAULT_API_URL: &str = "https://api.europe-west1.gcp.commercetools.com";

/// The auth service for [`DEFAULT_API_URL`].
pub const DEFAULT_AUTH_URL: &str = "https://auth.europe-west1.gcp.commercetools.com";

/// commercetools publishes no request-rate limit for its HTTP API.
pub const PUBLISHED_RATE_PER_SECOND: Option<u32> = None;

/// A token is fetched again this long before it expires (or at half its lifetime, if shorter).
pub const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How to reach one commercetools project.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommercetoolsConfig {
    /// The project key, the first path segment of every API path.
    pub project_key: String,
    /// The API client's id.
    pub client_id: String,
    /// The API client's secret. Never logged.
    pub client_secret: SecretString,
    /// The scopes to ask for; the defaults listed in the module docs when empty.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The API's base URL (region-specific); [`DEFAULT_API_URL`] unless configured.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// The auth service's base URL; [`DEFAULT_AUTH_URL`] unless configured.
    #[serde(default = "default_auth_url")]
    pub auth_url: String,
    /// The locale line titles are read in (`de-CH`, `en`); falls back to its language, then to
    /// any.
    #[serde(default = "default_locale")]
    pub locale: String,
    /// The shop's currency (ISO 4217), for exchange offers' prices.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The country prices are selected for, when prices vary by country.
    #[serde(default)]
    pub price_country: Option<String>,
    /// The key of the order Type set on orders that have no custom fields yet; it must define
    /// the agent's order fields.
    #[serde(default = "default_order_type_key")]
    pub order_type_key: String,
    /// The key of the line item Type set on a line swapped in by [`Oms::modify_items`]; it must
    /// define [`requests::REPLACES_LINE_FIELD`] (String) and the line fields of the module docs.
    #[serde(default = "default_line_item_type_key")]
    pub line_item_type_key: String,
    /// How often an update is re-read and sent again after a 409 `ConcurrentModification`.
    #[serde(default = "default_max_version_retries")]
    pub max_version_retries: u32,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_api_url() -> String {
    DEFAULT_API_URL.to_owned()
}

fn default_auth_url() -> String {
    DEFAULT_AUTH_URL.to_owned()
}

fn default_locale() -> String {
    "en".to_owned()
}

fn default_currency() -> String {
    "CHF".to_owned()
}

fn default_order_type_key() -> String {
    "order-agent-order".to_owned()
}

fn default_line_item_type_key() -> String {
    "order-agent-line-item".to_owned()
}

fn default_max_version_retries() -> u32 {
    3
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl CommercetoolsConfig {
    /// A configuration for project `project_key` with an API client's credentials, against the
    /// default region.
    pub fn new(
        project_key: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> CommercetoolsConfig {
        CommercetoolsConfig {
            project_key: project_key.into(),
            client_id: client_id.into(),
            client_secret,
            scopes: Vec::new(),
            api_url: default_api_url(),
            auth_url: default_auth_url(),
            locale: default_locale(),
            currency: default_currency(),
            price_country: None,
            order_type_key: default_order_type_key(),
            line_item_type_key: default_line_item_type_key(),
            max_version_retries: default_max_version_retries(),
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against other API and auth URLs (another region, a mock).
    #[must_use]
    pub fn with_urls(
        mut self,
        api_url: impl Into<String>,
        auth_url: impl Into<String>,
    ) -> CommercetoolsConfig {
        self.api_url = api_url.into();
        self.auth_url = auth_url.into();
        self
    }

    /// The scopes asked for: the configured ones, else the defaults for the project.
    pub fn scopes(&self) -> Vec<String> {
        if !self.scopes.is_empty() {
            return self.scopes.clone();
        }
        [
            "manage_orders",
            "manage_order_edits",
            "view_customers",
            "view_published_products",
        ]
        .iter()
        .map(|scope| format!("{scope}:{}", self.project_key))
        .collect()
    }
}

struct CachedToken {
    value: SecretString,
    refresh_at: Instant,
}

/// The commercetools [`Oms`] adapter.
pub struct CommercetoolsOms {
    config: CommercetoolsConfig,
    currency: Currency,
    api: HttpSender,
    auth: HttpSender,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for CommercetoolsOms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommercetoolsOms")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What an update should do with the order as it is now.
enum Plan<T> {
    /// Nothing to send: this is the answer.
    Done(T),
    /// Send these update actions.
    Send(Vec<Value>),
}

impl CommercetoolsOms {
    /// An adapter for the project `config` describes.
    pub fn new(config: CommercetoolsConfig) -> PortResult<CommercetoolsOms> {
        let timeout = Duration::from_millis(config.timeout_ms);
        let currency = Currency::from_code(config.currency.trim()).map_err(|e| {
            PortError::invalid_input("oms.config", "unknown shop currency")
                .with_context("currency", &config.currency)
                .with_source(e)
        })?;
        Ok(CommercetoolsOms {
            api: HttpSender::new(&config.api_url, timeout)?,
            auth: HttpSender::new(&config.auth_url, timeout)?,
            currency,
            config,
            token: Mutex::new(None),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CommercetoolsConfig {
        &self.config
    }

    async fn access_token(&self, op: &'static str) -> PortResult<SecretString> {
        let mut slot = self.token.lock().await;
        if let Some(token) = slot.as_ref() {
            if Instant::now() < token.refresh_at {
                return Ok(token.value.clone());
            }
        }
        let request = requests::token(&self.config);
        let response = self
            .auth
            .send(&request)
            .await
            .map_err(|e| e.with_operation(op))?;
        if !(200..300).contains(&response.status) {
            *slot = None;
            return Err(responses::error(op, &response).with_context("step", "token"));
        }
        let parsed: responses::TokenResponse = responses::parse(op, &response)?;
        let lifetime = Duration::from_secs(parsed.expires_in);
        let margin = TOKEN_REFRESH_MARGIN.min(lifetime / 2);
        let value = SecretString::from(parsed.access_token);
        *slot = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        });
        Ok(value)
    }

    async fn forget_token(&self, refused: &SecretString) {
        let mut slot = self.token.lock().await;
        if slot
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == refused.expose_secret())
        {
            *slot = None;
        }
    }

    /// Sends `request` with a token; a 401 drops the token and tries once more with a new one.
    async fn call(&self, request: &WireRequest) -> PortResult<WireResponse> {
        let op = request.operation;
        let mut refreshed = false;
        loop {
            let token = self.access_token(op).await?;
            let mut authorized = request.clone();
            requests::authorize(&mut authorized, &token);
            let response = self.api.send(&authorized).await?;
            if (200..300).contains(&response.status) {
                return Ok(response);
            }
            if response.status == 401 && !refreshed {
                refreshed = true;
                self.forget_token(&token).await;
                continue;
            }
            return Err(responses::error(op, &response));
        }
    }

    async fn read_order(&self, op: &'static str, id: &OrderId) -> PortResult<Option<CtOrder>> {
        match self.call(&requests::order(&self.config, op, id)).await {
            Ok(response) => responses::parse(op, &response).map(Some),
            Err(e) if responses::is_missing(&e) => Ok(None),
            Err(e) => Err(e.with_context("order_id", id)),
        }
    }

    fn to_order(&self, op: &'static str, order: &CtOrder) -> PortResult<Order> {
        order.to_order(op, &self.config.locale)
    }

    /// Reads the order, asks `plan` what to do, sends the actions with the order's version, and
    /// on a stale version reads again and re-plans, a bounded number of times.
    async fn update<T>(
        &self,
        op: &'static str,
        id: &OrderId,
        plan: impl Fn(&CtOrder) -> PortResult<Plan<T>>,
        finish: impl Fn(&CtOrder) -> PortResult<T>,
    ) -> PortResult<T> {
        let mut attempt = 0;
        loop {
            let Some(current) = self.read_order(op, id).await? else {
                return Err(PortError::not_found(op, "no such order").with_context("order_id", id));
            };
            let actions = match plan(&current)? {
                Plan::Done(answer) => return Ok(answer),
                Plan::Send(actions) => actions,
            };
            let request = requests::update_order(&self.config, op, id, current.version, actions);
            match self.call(&request).await {
                Ok(response) => return finish(&responses::parse(op, &response)?),
                Err(e)
                    if responses::is_concurrent_modification(&e)
                        && attempt < self.config.max_version_retries =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e.with_context("order_id", id)),
            }
        }
    }

    /// The action that sets one order custom field: `setCustomField` when the order has custom
    /// fields, else `setCustomType` with the configured Type and that field.
    fn custom_field_action(&self, order: &CtOrder, name: &str, value: Value) -> Value {
        if order.custom.is_some() {
            requests::set_custom_field(name, value)
        } else {
            let mut fields = serde_json::Map::new();
            fields.insert(name.to_owned(), value);
            requests::set_custom_type(&self.config.order_type_key, fields)
        }
    }

    async fn query_orders(&self, request: &WireRequest) -> PortResult<Vec<CtOrder>> {
        let response = self.call(request).await?;
        let page: PagedQuery<CtOrder> = responses::parse(request.operation, &response)?;
        Ok(page.results)
    }

    /// The staged actions for `changes` against `order`, all checked first.
    fn item_actions(
        op: &'static str,
        order: &CtOrder,
        changes: &[ItemChange],
        line_item_type_key: &str,
    ) -> PortResult<Vec<Value>> {
        let mut actions = Vec::new();
        let mut seen: Vec<&LineId> = Vec::new();
        for change in changes {
            let line_id = match change {
                ItemChange::SwapVariant { line_id, .. }
                | ItemChange::ReduceQuantity { line_id, .. } => line_id,
            };
            if seen.contains(&line_id) {
                return Err(PortError::invalid_input(op, "a line is changed twice")
                    .with_context("line_id", line_id));
            }
            seen.push(line_id);
            let swap = matches!(change, ItemChange::SwapVariant { .. });
            let line = order
                .line_items
                .iter()
                .find(|l| l.id == line_id.as_str())
                .or_else(|| {
                    // A swap applied before replaced the line with one that names it.
                    order
                        .line_items
                        .iter()
                        .filter(|_| swap)
                        .find(|l| replaced_line(l) == Some(line_id.as_str()))
                });
            let Some(line) = line else {
                return Err(PortError::invalid_input(op, "the order has no such line")
                    .with_context("line_id", line_id));
            };
            match change {
                ItemChange::ReduceQuantity { quantity, .. } => {
                    if *quantity > line.quantity {
                        return Err(
                            PortError::invalid_input(op, "quantity above the ordered one")
                                .with_context("line_id", line_id)
                                .with_context("quantity", quantity),
                        );
                    }
                    if *quantity < line.quantity {
                        actions.push(requests::change_line_item_quantity(line_id, *quantity));
                    }
                }
                ItemChange::SwapVariant { variant_id, .. } => {
                    let wanted: i64 = variant_id.as_str().trim().parse().map_err(|_| {
                        PortError::invalid_input(op, "a variant id is a number")
                            .with_context("variant_id", variant_id)
                    })?;
                    if wanted != line.variant.id {
                        actions.push(requests::remove_line_item(line_id));
                        let mut fields = serde_json::Map::new();
                        fields.insert(
                            requests::REPLACES_LINE_FIELD.to_owned(),
                            Value::String(line.id.clone()),
                        );
                        let kept = line.custom.as_ref().map(|c| &c.fields);
                        for name in [LINE_CATEGORY_FIELD, LINE_TAGS_FIELD, LINE_FINAL_SALE_FIELD] {
                            if let Some(value) = kept.and_then(|f| f.get(name)) {
                                fields.insert(name.to_owned(), value.clone());
                            }
                        }
                        actions.push(requests::add_line_item(
                            &ProductId::new(line.product_id.clone()),
                            wanted,
                            line.quantity,
                            line_item_type_key,
                            fields,
                        ));
                    }
                }
            }
        }
        Ok(actions)
    }
}

/// The line a swapped-in line replaces, from [`requests::REPLACES_LINE_FIELD`].
fn replaced_line(line: &responses::CtLineItem) -> Option<&str> {
    line.custom
        .as_ref()
        .and_then(|c| c.fields.get(requests::REPLACES_LINE_FIELD))
        .and_then(Value::as_str)
}

fn is_open(order: &Order) -> Result<(), &'static str> {
    if order.status == OrderStatus::Cancelled {
        Err("the order is cancelled")
    } else if !order.status.is_before_fulfilment() {
        Err("the order has left the warehouse")
    } else {
        Ok(())
    }
}

#[async_trait]
impl Oms for CommercetoolsOms {
    async fn order(&self, id: &OrderId) -> PortResult<Option<Order>> {
        let op = ops::ORDER;
        match self.read_order(op, id).await? {
            Some(order) => self.to_order(op, &order).map(Some),
            None => Ok(None),
        }
    }

    async fn order_by_number(&self, number: &OrderNumber) -> PortResult<Option<Order>> {
        let op = ops::ORDER_BY_NUMBER;
        let wanted = normalize_order_number(number.as_str());
        if wanted.is_empty() {
            return Ok(None);
        }
        let found = self
            .query_orders(&requests::order_by_number(&self.config, wanted))
            .await
            .map_err(|e| e.with_context("order_number", number))?;
        found
            .iter()
            .map(|o| self.to_order(op, o))
            .find(|o| {
                o.as_ref().map_or(true, |o| {
                    normalize_order_number(o.number.as_str()) == wanted
                })
            })
            .transpose()
    }

    async fn orders_of_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> PortResult<Vec<Order>> {
        let op = ops::ORDERS_OF_CUSTOMER;
        if limit == 0 || customer.as_str().trim().is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .query_orders(&requests::orders_of_customer(&self.config, customer, limit))
            .await
            .map_err(|e| e.with_context("customer_id", customer))?;
        let mut orders = found
            .iter()
            .map(|o| self.to_order(op, o))
            .filter(|o| o.as_ref().map_or(true, |o| &o.customer_id == customer))
            .collect::<PortResult<Vec<Order>>>()?;
        orders.sort_by_key(|o| std::cmp::Reverse(o.placed_at));
        orders.truncate(limit);
        Ok(orders)
    }

    async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>> {
        let op = ops::CUSTOMER;
        match self.call(&requests::customer(&self.config, id)).await {
            Ok(response) => {
                let customer: CtCustomer = responses::parse(op, &response)?;
                Ok(Some(customer.to_customer()))
            }
            Err(e) if responses::is_missing(&e) => Ok(None),
            Err(e) => Err(e.with_context("customer_id", id)),
        }
    }

    async fn customer_by_contact(&self, contact: &ContactPoint) -> PortResult<Option<Customer>> {
        let op = ops::CUSTOMER_BY_CONTACT;
        if contact.address.trim().is_empty() {
            return Ok(None);
        }
        let response = self
            .call(&requests::customer_by_contact(&self.config, contact))
            .await?;
        let page: PagedQuery<CtCustomer> = responses::parse(op, &response)?;
        Ok(page.results.first().map(CtCustomer::to_customer))
    }

    async fn cancel_order(&self, request: &CancellationRequest) -> PortResult<Order> {
        let op = ops::CANCEL_ORDER;
        let reason = serde_json::to_value(request.reason).map_err(|e| {
            PortError::unexpected(op, "cannot encode the cancellation reason").with_source(e)
        })?;
        self.update(
            op,
            &request.order_id,
            |current| {
                let order = self.to_order(op, current)?;
                if order.status == OrderStatus::Cancelled {
                    return Ok(Plan::Done(order));
                }
                if !order.status.is_before_fulfilment() {
                    return Err(PortError::rejected(op, "the order has left the warehouse")
                        .with_context("order_id", &order.id));
                }
                Ok(Plan::Send(vec![
                    requests::change_order_state("Cancelled"),
                    self.custom_field_action(
                        current,
                        requests::CANCELLATION_REASON_FIELD,
                        reason.clone(),
                    ),
                ]))
            },
            |updated| self.to_order(op, updated),
        )
        .await
    }

    async fn change_shipping_address(&self, request: &AddressChangeRequest) -> PortResult<Order> {
        let op = ops::CHANGE_SHIPPING_ADDRESS;
        self.update(
            op,
            &request.order_id,
            |current| {
                let order = self.to_order(op, current)?;
                is_open(&order).map_err(|why| {
                    PortError::rejected(op, why).with_context("order_id", &order.id)
                })?;
                if order.shipping_address == request.new_address {
                    return Ok(Plan::Done(order));
                }
                Ok(Plan::Send(vec![requests::set_shipping_address(
                    &request.new_address,
                )]))
            },
            |updated| self.to_order(op, updated),
        )
        .await
    }

    async fn modify_items(&self, request: &ItemModificationRequest) -> PortResult<Order> {
        let op = ops::MODIFY_ITEMS;
        let id = &request.order_id;
        let mut attempt = 0;
        loop {
            let Some(current) = self.read_order(op, id).await? else {
                return Err(PortError::not_found(op, "no such order").with_context("order_id", id));
            };
            let order = self.to_order(op, &current)?;
            is_open(&order)
                .map_err(|why| PortError::rejected(op, why).with_context("order_id", id))?;
            let mut staged = Self::item_actions(
                op,
                &current,
                &request.changes,
                &self.config.line_item_type_key,
            )
            .map_err(|e| e.with_context("order_id", id))?;
            if staged.is_empty() {
                return Ok(order);
            }
            staged.push(self.custom_field_action(
                &current,
                requests::MODIFICATIONS_FIELD,
                Value::from(current.modifications_made().saturating_add(1)),
            ));
            let created = self
                .call(&requests::create_order_edit(&self.config, id, staged))
                .await
                .map_err(|e| e.with_context("order_id", id))?;
            let edit: CtOrderEdit = responses::parse(op, &created)?;
            let apply =
                requests::apply_order_edit(&self.config, &edit.id, edit.version, current.version);
            match self.call(&apply).await {
                Ok(response) => {
                    let applied: CtOrderEdit = responses::parse(op, &response)?;
                    let kind = applied.result.map(|r| r.kind).unwrap_or_default();
                    if kind != "Applied" {
                        return Err(PortError::rejected(op, "the order edit was not applied")
                            .with_context("order_id", id)
                            .with_context("edit_result", kind));
                    }
                    let updated = self.read_order(op, id).await?.ok_or_else(|| {
                        PortError::unexpected(op, "the edited order disappeared")
                            .with_context("order_id", id)
                    })?;
                    return self.to_order(op, &updated);
                }
                Err(e)
                    if responses::is_concurrent_modification(&e)
                        && attempt < self.config.max_version_retries =>
                {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(e
                        .with_context("order_id", id)
                        .with_context("order_edit_id", &edit.id))
                }
            }
        }
    }

    async fn record_return(&self, authorisation: &ReturnAuthorisation) -> PortResult<String> {
        let op = ops::RECORD_RETURN;
        let return_id = authorisation.id.as_str();
        let recorded = |order: &CtOrder| -> Option<PortResult<String>> {
            order
                .return_info
                .iter()
                .find(|info| info.return_tracking_id.as_deref() == Some(return_id))
                .map(|info| {
                    info.items
                        .first()
                        .map(|item| item.id.clone())
                        .ok_or_else(|| {
                            PortError::unexpected(op, "the recorded return has no items")
                                .with_context("return_id", return_id)
                        })
                })
        };
        let return_date = authorisation
            .authorised_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.update(
            op,
            &authorisation.request.order_id,
            |current| {
                if let Some(id) = recorded(current) {
                    return id.map(Plan::Done);
                }
                if authorisation.request.lines.is_empty() {
                    return Err(PortError::invalid_input(op, "a return without lines"));
                }
                let mut items = Vec::new();
                for line in &authorisation.request.lines {
                    let Some(item) = current
                        .line_items
                        .iter()
                        .find(|l| l.id == line.line_id.as_str())
                    else {
                        return Err(PortError::invalid_input(op, "the order has no such line")
                            .with_context("line_id", &line.line_id));
                    };
                    if line.quantity == 0 || line.quantity > item.quantity {
                        return Err(PortError::invalid_input(
                            op,
                            "return quantity is zero or above the ordered one",
                        )
                        .with_context("line_id", &line.line_id)
                        .with_context("quantity", line.quantity));
                    }
                    let reason = serde_json::to_value(line.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    items.push(requests::ReturnItemDraft {
                        line_item_id: line.line_id.clone(),
                        quantity: line.quantity,
                        comment: reason,
                    });
                }
                Ok(Plan::Send(vec![requests::add_return_info(
                    return_id,
                    &return_date,
                    &items,
                )]))
            },
            |updated| {
                recorded(updated).unwrap_or_else(|| {
                    Err(
                        PortError::unexpected(op, "commercetools did not keep the return")
                            .with_context("return_id", return_id),
                    )
                })
            },
        )
        .await
    }

    async fn exchange_offers(&self, product: &ProductId) -> PortResult<Vec<ExchangeOffer>> {
        let op = ops::EXCHANGE_OFFERS;
        match self
            .call(&requests::product_projection(&self.config, product))
            .await
        {
            Ok(response) => {
                let projection: CtProductProjection = responses::parse(op, &response)?;
                projection.to_offers(op, self.currency)
            }
            Err(e) if responses::is_missing(&e) => Ok(Vec::new()),
            Err(e) => Err(e.with_context("product_id", product)),
        }
    }
}

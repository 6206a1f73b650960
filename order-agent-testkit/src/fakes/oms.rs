//! An in-memory OMS.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use order_agent_core::domain::{
    AddressChangeRequest, CancellationReason, CancellationRequest, Channel, ContactPoint, Customer,
    CustomerId, ExchangeOffer, ItemChange, ItemModificationRequest, Order, OrderId, OrderNumber,
    OrderStatus, ProductId, ReturnAuthorisation, ReturnId, VariantId,
};
use order_agent_core::ports::oms::{normalize_order_number, ops};
use order_agent_core::ports::{Oms, PortError, PortResult};
use serde_json::json;

use super::faults::{instrumented, lock, Instrumentation};

/// A return the fake OMS recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedReturn {
    /// The id the fake OMS gave it.
    pub oms_return_id: String,
    /// The authorisation as recorded (the first time).
    pub authorisation: ReturnAuthorisation,
}

#[derive(Debug, Default)]
struct OmsState {
    orders: BTreeMap<OrderId, Order>,
    customers: BTreeMap<CustomerId, Customer>,
    variants: BTreeMap<VariantId, ExchangeOffer>,
    returns: BTreeMap<ReturnId, RecordedReturn>,
    cancellations: Vec<(OrderId, CancellationReason)>,
}

/// An OMS holding orders and customers in memory, with the semantics the [`Oms`] contract asks
/// for.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use order_agent_core::domain::OrderId;
/// use order_agent_core::ports::Oms;
/// use order_agent_testkit::fakes::FakeOms;
///
/// let oms = FakeOms::new();
/// assert!(oms.order(&OrderId::new("o_404")).await.unwrap().is_none());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct FakeOms {
    state: Mutex<OmsState>,
    instrumentation: Instrumentation,
}

instrumented!(FakeOms);

impl FakeOms {
    /// An empty OMS.
    pub fn new() -> FakeOms {
        FakeOms::default()
    }

    /// Adds orders (replacing any with the same id).
    #[must_use]
    pub fn with_orders(self, orders: impl IntoIterator<Item = Order>) -> FakeOms {
        for order in orders {
            self.insert_order(order);
        }
        self
    }

    /// Adds customers (replacing any with the same id).
    #[must_use]
    pub fn with_customers(self, customers: impl IntoIterator<Item = Customer>) -> FakeOms {
        for customer in customers {
            self.insert_customer(customer);
        }
        self
    }

    /// Adds the catalogue of variants that item swaps may choose from. Without a catalogue any
    /// variant is accepted and only the line's variant id changes.
    #[must_use]
    pub fn with_variants(self, variants: impl IntoIterator<Item = ExchangeOffer>) -> FakeOms {
        {
            let mut state = lock(&self.state);
            for v in variants {
                state.variants.insert(v.variant_id.clone(), v);
            }
        }
        self
    }

    /// Adds or replaces an order.
    pub fn insert_order(&self, order: Order) {
        lock(&self.state).orders.insert(order.id.clone(), order);
    }

    /// Adds or replaces a customer.
    pub fn insert_customer(&self, customer: Customer) {
        lock(&self.state)
            .customers
            .insert(customer.id.clone(), customer);
    }

    /// The order as it stands, without going through the port (no faults, no recording).
    pub fn order_snapshot(&self, id: &OrderId) -> Option<Order> {
        lock(&self.state).orders.get(id).cloned()
    }

    /// The returns recorded, by return id.
    pub fn recorded_returns(&self) -> Vec<RecordedReturn> {
        lock(&self.state).returns.values().cloned().collect()
    }

    /// The cancellations made, in order, with their reason.
    pub fn cancellations(&self) -> Vec<(OrderId, CancellationReason)> {
        lock(&self.state).cancellations.clone()
    }
}

fn emails_match(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn contact_matches(customer: &Customer, contact: &ContactPoint) -> bool {
    let on_channel = customer
        .contact_points
        .iter()
        .filter(|cp| cp.channel == contact.channel);
    match contact.channel {
        Channel::Email => {
            emails_match(&customer.email, &contact.address)
                || on_channel
                    .clone()
                    .any(|cp| emails_match(&cp.address, &contact.address))
        }
        _ => on_channel
            .clone()
            .any(|cp| cp.address.trim() == contact.address.trim()),
    }
}

fn not_before_fulfilment(operation: &'static str, order: &Order) -> PortError {
    PortError::rejected(
        operation,
        "the order has left the warehouse or is cancelled",
    )
    .with_context("order_id", &order.id)
    .with_context("status", format!("{:?}", order.status).to_lowercase())
}

#[async_trait]
impl Oms for FakeOms {
    async fn order(&self, id: &OrderId) -> PortResult<Option<Order>> {
        self.instrumentation
            .call(ops::ORDER, json!({ "id": id }), |_| {
                Ok(lock(&self.state).orders.get(id).cloned())
            })
            .await
    }

    async fn order_by_number(&self, number: &OrderNumber) -> PortResult<Option<Order>> {
        self.instrumentation
            .call(ops::ORDER_BY_NUMBER, json!({ "number": number }), |_| {
                let wanted = normalize_order_number(number.as_str());
                Ok(lock(&self.state)
                    .orders
                    .values()
                    .find(|o| normalize_order_number(o.number.as_str()) == wanted)
                    .cloned())
            })
            .await
    }

    async fn orders_of_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> PortResult<Vec<Order>> {
        self.instrumentation
            .call(
                ops::ORDERS_OF_CUSTOMER,
                json!({ "customer": customer, "limit": limit }),
                |_| {
                    let mut orders: Vec<Order> = lock(&self.state)
                        .orders
                        .values()
                        .filter(|o| &o.customer_id == customer)
                        .cloned()
                        .collect();
                    orders.sort_by_key(|o| std::cmp::Reverse(o.placed_at));
                    orders.truncate(limit);
                    Ok(orders)
                },
            )
            .await
    }

    async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>> {
        self.instrumentation
            .call(ops::CUSTOMER, json!({ "id": id }), |_| {
                Ok(lock(&self.state).customers.get(id).cloned())
            })
            .await
    }

    async fn customer_by_contact(&self, contact: &ContactPoint) -> PortResult<Option<Customer>> {
        self.instrumentation
            .call(ops::CUSTOMER_BY_CONTACT, contact, |_| {
                Ok(lock(&self.state)
                    .customers
                    .values()
                    .find(|c| contact_matches(c, contact))
                    .cloned())
            })
            .await
    }

    async fn cancel_order(&self, request: &CancellationRequest) -> PortResult<Order> {
        self.instrumentation
            .call(ops::CANCEL_ORDER, request, |_| {
                let mut state = lock(&self.state);
                let order = state.orders.get_mut(&request.order_id).ok_or_else(|| {
                    PortError::not_found(ops::CANCEL_ORDER, "no such order")
                        .with_context("order_id", &request.order_id)
                })?;
                if order.status == OrderStatus::Cancelled {
                    return Ok(order.clone());
                }
                if !order.status.is_before_fulfilment() {
                    return Err(not_before_fulfilment(ops::CANCEL_ORDER, order));
                }
                order.status = OrderStatus::Cancelled;
                let order = order.clone();
                state
                    .cancellations
                    .push((request.order_id.clone(), request.reason));
                Ok(order)
            })
            .await
    }

    async fn change_shipping_address(&self, request: &AddressChangeRequest) -> PortResult<Order> {
        self.instrumentation
            .call(ops::CHANGE_SHIPPING_ADDRESS, request, |_| {
                let mut state = lock(&self.state);
                let order = state.orders.get_mut(&request.order_id).ok_or_else(|| {
                    PortError::not_found(ops::CHANGE_SHIPPING_ADDRESS, "no such order")
                        .with_context("order_id", &request.order_id)
                })?;
                if !order.status.is_before_fulfilment() {
                    return Err(not_before_fulfilment(ops::CHANGE_SHIPPING_ADDRESS, order));
                }
                order.shipping_address = request.new_address.clone();
                Ok(order.clone())
            })
            .await
    }

    async fn modify_items(&self, request: &ItemModificationRequest) -> PortResult<Order> {
        self.instrumentation
            .call(ops::MODIFY_ITEMS, request, |_| {
                let mut state = lock(&self.state);
                let variants = state.variants.clone();
                let order = state.orders.get_mut(&request.order_id).ok_or_else(|| {
                    PortError::not_found(ops::MODIFY_ITEMS, "no such order")
                        .with_context("order_id", &request.order_id)
                })?;
                if !order.status.is_before_fulfilment() {
                    return Err(not_before_fulfilment(ops::MODIFY_ITEMS, order));
                }
                // Apply to a copy so that an invalid change leaves the order untouched.
                let mut changed = order.clone();
                for change in &request.changes {
                    apply_change(&mut changed, change, &variants)?;
                }
                changed.lines.retain(|l| l.quantity > 0);
                if changed != *order {
                    changed.modifications_made += 1;
                    *order = changed;
                }
                Ok(order.clone())
            })
            .await
    }

    async fn exchange_offers(&self, product: &ProductId) -> PortResult<Vec<ExchangeOffer>> {
        self.instrumentation
            .call(ops::EXCHANGE_OFFERS, json!({ "product": product }), |_| {
                Ok(lock(&self.state)
                    .variants
                    .values()
                    .filter(|v| &v.product_id == product)
                    .cloned()
                    .collect())
            })
            .await
    }

    async fn record_return(&self, authorisation: &ReturnAuthorisation) -> PortResult<String> {
        self.instrumentation
            .call(ops::RECORD_RETURN, authorisation, |_| {
                let mut state = lock(&self.state);
                if let Some(existing) = state.returns.get(&authorisation.id) {
                    return Ok(existing.oms_return_id.clone());
                }
                let order = state
                    .orders
                    .get(&authorisation.request.order_id)
                    .ok_or_else(|| {
                        PortError::not_found(ops::RECORD_RETURN, "no such order")
                            .with_context("order_id", &authorisation.request.order_id)
                    })?;
                if let Some(line) = authorisation
                    .request
                    .lines
                    .iter()
                    .find(|l| order.line(&l.line_id).is_none())
                {
                    return Err(PortError::invalid_input(
                        ops::RECORD_RETURN,
                        "the order has no such line",
                    )
                    .with_context("line_id", &line.line_id));
                }
                let oms_return_id = format!("oms_ret_{}", state.returns.len() + 1);
                state.returns.insert(
                    authorisation.id.clone(),
                    RecordedReturn {
                        oms_return_id: oms_return_id.clone(),
                        authorisation: authorisation.clone(),
                    },
                );
                Ok(oms_return_id)
            })
            .await
    }
}

fn apply_change(
    order: &mut Order,
    change: &ItemChange,
    variants: &BTreeMap<VariantId, ExchangeOffer>,
) -> PortResult<()> {
    let line_id = match change {
        ItemChange::SwapVariant { line_id, .. } | ItemChange::ReduceQuantity { line_id, .. } => {
            line_id
        }
    };
    let line = order
        .lines
        .iter_mut()
        .find(|l| &l.id == line_id)
        .ok_or_else(|| {
            PortError::invalid_input(ops::MODIFY_ITEMS, "the order has no such line")
                .with_context("line_id", line_id)
        })?;
    match change {
        ItemChange::ReduceQuantity { quantity, .. } => {
            if *quantity > line.quantity {
                return Err(PortError::invalid_input(
                    ops::MODIFY_ITEMS,
                    "the quantity can only be reduced",
                )
                .with_context("line_id", line_id)
                .with_context("quantity", quantity));
            }
            line.quantity = *quantity;
        }
        ItemChange::SwapVariant { variant_id, .. } => {
            if variants.is_empty() {
                line.variant_id = variant_id.clone();
            } else {
                let offer = variants
                    .get(variant_id)
                    .filter(|v| v.product_id == line.product_id)
                    .ok_or_else(|| {
                        PortError::invalid_input(
                            ops::MODIFY_ITEMS,
                            "no such variant of the line's product",
                        )
                        .with_context("variant_id", variant_id)
                    })?;
                line.variant_id = offer.variant_id.clone();
                line.sku = offer.sku.clone();
            }
        }
    }
    Ok(())
}

//! The order management system (Shopify, Shopware, WooCommerce, an ERP): orders, customers, and the
//! changes the agent makes to them.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use super::error::PortResult;
use crate::domain::{
    AddressChangeRequest, CancellationRequest, Channel, ContactPoint, Customer, CustomerId,
    ExchangeOffer, ItemModificationRequest, Order, OrderId, OrderNumber, ProductId,
    ReturnAuthorisation,
};

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`Oms::order`](super::Oms::order).
    pub const ORDER: &str = "oms.order";
    /// [`Oms::order_by_number`](super::Oms::order_by_number).
    pub const ORDER_BY_NUMBER: &str = "oms.order_by_number";
    /// [`Oms::orders_of_customer`](super::Oms::orders_of_customer).
    pub const ORDERS_OF_CUSTOMER: &str = "oms.orders_of_customer";
    /// [`Oms::customer`](super::Oms::customer).
    pub const CUSTOMER: &str = "oms.customer";
    /// [`Oms::customer_by_contact`](super::Oms::customer_by_contact).
    pub const CUSTOMER_BY_CONTACT: &str = "oms.customer_by_contact";
    /// [`Oms::cancel_order`](super::Oms::cancel_order).
    pub const CANCEL_ORDER: &str = "oms.cancel_order";
    /// [`Oms::change_shipping_address`](super::Oms::change_shipping_address).
    pub const CHANGE_SHIPPING_ADDRESS: &str = "oms.change_shipping_address";
    /// [`Oms::modify_items`](super::Oms::modify_items).
    pub const MODIFY_ITEMS: &str = "oms.modify_items";
    /// [`Oms::record_return`](super::Oms::record_return).
    pub const RECORD_RETURN: &str = "oms.record_return";
    /// [`Oms::exchange_offers`](super::Oms::exchange_offers).
    pub const EXCHANGE_OFFERS: &str = "oms.exchange_offers";
}

/// The shop's order management system.
///
/// Lookups answer `Ok(None)` (or an empty list) for what does not exist; commands answer
/// [`PortErrorKind::NotFound`](super::PortErrorKind::NotFound) when the order they act on does not
/// exist. Commands never move money: refunds go through [`Payments`](super::Payments).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Oms: Send + Sync + Debug + 'static {
    /// The order with the OMS id `id`, with its payments and shipments.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` when no order has that id, MUST NOT return an error for it.
    /// - The returned order's `id` MUST equal `id`.
    async fn order(&self, id: &OrderId) -> PortResult<Option<Order>>;

    /// The order the customer knows as `number`, e.g. `#1042`.
    ///
    /// # Behavior
    ///
    /// - MUST find the order whether or not `number` and the stored number carry a leading `#`, and
    ///   MUST ignore surrounding whitespace.
    /// - MUST return `Ok(None)` when no order has that number, MUST NOT return an error for it.
    async fn order_by_number(&self, number: &OrderNumber) -> PortResult<Option<Order>>;

    /// Up to `limit` orders placed by `customer`, newest first.
    ///
    /// # Behavior
    ///
    /// - MUST return orders sorted by `placed_at`, newest first, and at most `limit` of them.
    /// - MUST return only orders whose `customer_id` is `customer`.
    /// - MUST return an empty list for an unknown customer, MUST NOT return an error for it.
    async fn orders_of_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> PortResult<Vec<Order>>;

    /// The customer with id `id`.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` when no customer has that id, MUST NOT return an error for it.
    async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>>;

    /// The customer reachable at `contact`: on [`Channel::Email`] the primary email or a verified
    /// email contact point; on other channels a verified contact point.
    ///
    /// # Behavior
    ///
    /// - MUST compare email addresses case-insensitively and ignoring surrounding whitespace.
    /// - MUST return `Ok(None)` when no customer matches, MUST NOT return an error for it.
    /// - MUST NOT match a contact point of another channel (a phone number given on
    ///   [`Channel::Sms`] does not match the same number registered only for
    ///   [`Channel::Whatsapp`]).
    async fn customer_by_contact(&self, contact: &ContactPoint) -> PortResult<Option<Customer>>;

    /// Cancels the order, recording `request.reason`, and returns the order as it is afterwards.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent: cancelling an order that is already cancelled MUST return it
    ///   unchanged with `Ok`.
    /// - MUST return [`Rejected`](super::PortErrorKind::Rejected) when the order has left the
    ///   warehouse (not [`OrderStatus::is_before_fulfilment`](crate::domain::OrderStatus)), and
    ///   MUST NOT change it then.
    /// - MUST return [`NotFound`](super::PortErrorKind::NotFound) for an unknown order.
    /// - The returned order MUST have status [`Cancelled`](crate::domain::OrderStatus::Cancelled).
    /// - MUST NOT refund or restock on its own: the shell does both through their ports.
    async fn cancel_order(&self, request: &CancellationRequest) -> PortResult<Order>;

    /// Ships the order to `request.new_address` and returns the order as it is afterwards.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent: setting the address the order already has MUST succeed unchanged.
    /// - MUST return [`Rejected`](super::PortErrorKind::Rejected) when the order has left the
    ///   warehouse or is cancelled, and MUST NOT change it then.
    /// - MUST return [`NotFound`](super::PortErrorKind::NotFound) for an unknown order.
    /// - The returned order's `shipping_address` MUST equal `request.new_address`.
    async fn change_shipping_address(&self, request: &AddressChangeRequest) -> PortResult<Order>;

    /// Applies item changes (swap a variant, reduce a quantity) and returns the order afterwards.
    ///
    /// # Behavior
    ///
    /// - Every change states the wanted end state, so applying the same request twice MUST leave
    ///   the order as after the first; a request that changes nothing MUST NOT count towards
    ///   `modifications_made`.
    /// - A request that changes something MUST increase `modifications_made` by one.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for a line the order does
    ///   not have or a quantity above the ordered one, and MUST NOT apply any change of the
    ///   request then (all or nothing).
    /// - MUST return [`Rejected`](super::PortErrorKind::Rejected) when the order has left the
    ///   warehouse or is cancelled, and [`NotFound`](super::PortErrorKind::NotFound) for an
    ///   unknown order.
    async fn modify_items(&self, request: &ItemModificationRequest) -> PortResult<Order>;

    /// Records an authorised return (or exchange, by its resolution) in the OMS and returns the
    /// OMS's own id for it.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent by `authorisation.id`: recording the same return again MUST return
    ///   the same OMS id and MUST NOT create a second return.
    /// - Different returns MUST get different OMS ids.
    /// - MUST return [`NotFound`](super::PortErrorKind::NotFound) for an unknown order and
    ///   [`InvalidInput`](super::PortErrorKind::InvalidInput) for a line the order does not have.
    async fn record_return(&self, authorisation: &ReturnAuthorisation) -> PortResult<String>;

    /// The variants of `product` a customer may exchange into, with their current price and the
    /// units available to promise.
    ///
    /// # Behavior
    ///
    /// - MUST return only variants of `product` (each `product_id` equals `product`), each once.
    /// - MUST return an empty list for an unknown product, MUST NOT return an error for it.
    /// - Prices MUST be in the shop's currency; availability MUST NOT be negative.
    async fn exchange_offers(&self, product: &ProductId) -> PortResult<Vec<ExchangeOffer>>;
}

/// A shared OMS.
pub type OmsRef = Arc<dyn Oms>;

/// Conveniences over any [`Oms`]; adapters never implement this.
#[async_trait]
pub trait OmsExt: Oms {
    /// The customer whose primary email or verified email contact point is `email`.
    async fn customer_by_email(&self, email: &str) -> PortResult<Option<Customer>> {
        self.customer_by_contact(&ContactPoint {
            channel: Channel::Email,
            address: email.to_owned(),
        })
        .await
    }

    /// The order numbered `number`, only if it belongs to `customer`: the lookup to use before
    /// telling anyone about an order.
    async fn order_of_customer(
        &self,
        number: &OrderNumber,
        customer: &CustomerId,
    ) -> PortResult<Option<Order>> {
        Ok(self
            .order_by_number(number)
            .await?
            .filter(|order| &order.customer_id == customer))
    }
}

impl<T: Oms + ?Sized> OmsExt for T {}

/// Normalises an order number for comparison: surrounding whitespace and a leading `#` removed.
///
/// ```
/// use order_agent_core::ports::oms::normalize_order_number;
/// assert_eq!(normalize_order_number(" #1042 "), "1042");
/// ```
pub fn normalize_order_number(number: &str) -> &str {
    let trimmed = number.trim();
    trimmed.strip_prefix('#').unwrap_or(trimmed).trim_start()
}

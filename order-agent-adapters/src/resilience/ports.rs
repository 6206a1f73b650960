//! The port traits for [`Resilient`] ports: each method names its operation and how safe it is
//! to retry, from its contract's idempotency sentence.

use async_trait::async_trait;
use order_agent_core::domain::{
    Address, AddressChangeRequest, CancellationRequest, ContactPoint, Customer, CustomerId,
    Escalation, ExchangeOffer, ItemModificationRequest, Order, OrderId, OrderNumber, Payment,
    PaymentId, ProductId, Refund, ReturnAuthorisation, Sku, TicketId, TrackingNumber,
};
use order_agent_core::ports::carrier::{
    self, AddressValidation, ReturnLabel, ReturnLabelRequest, Tracking,
};
use order_agent_core::ports::{helpdesk, inventory, messaging, oms, payments};
use order_agent_core::ports::{
    Carrier, Delivery, Helpdesk, Inventory, Messaging, Oms, OutboundMessage, Payments, PortResult,
    RefundRequest, RestockRequest, StockMovement, Ticket, TicketUpdate,
};

use super::{Resilient, Safety};

#[async_trait]
impl<P: Payments> Payments for Resilient<P> {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        self.layer
            .run(payments::ops::PAYMENT, Safety::Read, || {
                self.inner.payment(id)
            })
            .await
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        // The processor deduplicates by the key, so sending the same request again cannot refund
        // twice; without a key it could.
        let safety = if request.idempotency_key.is_empty() {
            Safety::Write
        } else {
            Safety::IdempotentWrite
        };
        self.layer
            .run(payments::ops::REFUND, safety, || self.inner.refund(request))
            .await
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        self.layer
            .run(payments::ops::REFUNDS, Safety::Read, || {
                self.inner.refunds(id)
            })
            .await
    }
}

#[async_trait]
impl<P: Carrier> Carrier for Resilient<P> {
    async fn track(
        &self,
        carrier_slug: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        self.layer
            .run(carrier::ops::TRACK, Safety::Read, || {
                self.inner.track(carrier_slug, tracking_number)
            })
            .await
    }

    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel> {
        // Each call buys a label: never sent twice.
        self.layer
            .run(carrier::ops::CREATE_RETURN_LABEL, Safety::Write, || {
                self.inner.create_return_label(request)
            })
            .await
    }

    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation> {
        self.layer
            .run(carrier::ops::VALIDATE_ADDRESS, Safety::Read, || {
                self.inner.validate_address(address)
            })
            .await
    }
}

#[async_trait]
impl<P: Oms> Oms for Resilient<P> {
    async fn order(&self, id: &OrderId) -> PortResult<Option<Order>> {
        self.layer
            .run(oms::ops::ORDER, Safety::Read, || self.inner.order(id))
            .await
    }

    async fn order_by_number(&self, number: &OrderNumber) -> PortResult<Option<Order>> {
        self.layer
            .run(oms::ops::ORDER_BY_NUMBER, Safety::Read, || {
                self.inner.order_by_number(number)
            })
            .await
    }

    async fn orders_of_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> PortResult<Vec<Order>> {
        self.layer
            .run(oms::ops::ORDERS_OF_CUSTOMER, Safety::Read, || {
                self.inner.orders_of_customer(customer, limit)
            })
            .await
    }

    async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>> {
        self.layer
            .run(oms::ops::CUSTOMER, Safety::Read, || self.inner.customer(id))
            .await
    }

    async fn customer_by_contact(&self, contact: &ContactPoint) -> PortResult<Option<Customer>> {
        self.layer
            .run(oms::ops::CUSTOMER_BY_CONTACT, Safety::Read, || {
                self.inner.customer_by_contact(contact)
            })
            .await
    }

    async fn cancel_order(&self, request: &CancellationRequest) -> PortResult<Order> {
        // Idempotent by contract: cancelling a cancelled order returns it.
        self.layer
            .run(oms::ops::CANCEL_ORDER, Safety::IdempotentWrite, || {
                self.inner.cancel_order(request)
            })
            .await
    }

    async fn change_shipping_address(&self, request: &AddressChangeRequest) -> PortResult<Order> {
        // Idempotent by contract: it states the end state.
        self.layer
            .run(
                oms::ops::CHANGE_SHIPPING_ADDRESS,
                Safety::IdempotentWrite,
                || self.inner.change_shipping_address(request),
            )
            .await
    }

    async fn modify_items(&self, request: &ItemModificationRequest) -> PortResult<Order> {
        // Idempotent by contract: every change states the wanted end state.
        self.layer
            .run(oms::ops::MODIFY_ITEMS, Safety::IdempotentWrite, || {
                self.inner.modify_items(request)
            })
            .await
    }

    async fn record_return(&self, authorisation: &ReturnAuthorisation) -> PortResult<String> {
        // Idempotent by contract, by the authorisation id.
        self.layer
            .run(oms::ops::RECORD_RETURN, Safety::IdempotentWrite, || {
                self.inner.record_return(authorisation)
            })
            .await
    }

    async fn exchange_offers(&self, product: &ProductId) -> PortResult<Vec<ExchangeOffer>> {
        self.layer
            .run(oms::ops::EXCHANGE_OFFERS, Safety::Read, || {
                self.inner.exchange_offers(product)
            })
            .await
    }
}

#[async_trait]
impl<P: Messaging> Messaging for Resilient<P> {
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery> {
        // Delivery is at least once: a retry after a timeout may reach the customer twice, so
        // the wrapper leaves re-sending to the shell's outbox.
        self.layer
            .run(messaging::ops::SEND, Safety::Write, || {
                self.inner.send(message)
            })
            .await
    }
}

#[async_trait]
impl<P: Helpdesk> Helpdesk for Resilient<P> {
    async fn open_ticket(&self, key: &str, escalation: &Escalation) -> PortResult<Ticket> {
        let safety = if key.is_empty() {
            Safety::Write
        } else {
            Safety::IdempotentWrite
        };
        self.layer
            .run(helpdesk::ops::OPEN_TICKET, safety, || {
                self.inner.open_ticket(key, escalation)
            })
            .await
    }

    async fn update_ticket(&self, id: &TicketId, update: &TicketUpdate) -> PortResult<Ticket> {
        self.layer
            .run(
                helpdesk::ops::UPDATE_TICKET,
                Safety::IdempotentWrite,
                || self.inner.update_ticket(id, update),
            )
            .await
    }

    async fn add_note(&self, id: &TicketId, body: &str) -> PortResult<()> {
        // Not idempotent by contract: a retry may add the note twice.
        self.layer
            .run(helpdesk::ops::ADD_NOTE, Safety::Write, || {
                self.inner.add_note(id, body)
            })
            .await
    }

    async fn ticket(&self, id: &TicketId) -> PortResult<Option<Ticket>> {
        self.layer
            .run(helpdesk::ops::TICKET, Safety::Read, || {
                self.inner.ticket(id)
            })
            .await
    }
}

#[async_trait]
impl<P: Inventory> Inventory for Resilient<P> {
    async fn restock(&self, request: &RestockRequest) -> PortResult<StockMovement> {
        let safety = if request.idempotency_key.is_empty() {
            Safety::Write
        } else {
            Safety::IdempotentWrite
        };
        self.layer
            .run(inventory::ops::RESTOCK, safety, || {
                self.inner.restock(request)
            })
            .await
    }

    async fn available(&self, sku: &Sku) -> PortResult<Option<u32>> {
        self.layer
            .run(inventory::ops::AVAILABLE, Safety::Read, || {
                self.inner.available(sku)
            })
            .await
    }
}

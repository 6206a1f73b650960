//! Deliberately broken fakes. Each breaks one sentence of a port contract; the tests run the
//! conformance suites against them to prove the suites catch the breach. Never use them for
//! anything else.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::domain::{
    Address, AddressChangeRequest, CancellationRequest, ContactPoint, Customer, CustomerId,
    ItemModificationRequest, Order, OrderId, OrderNumber, Payment, PaymentId, Refund,
    ReturnAuthorisation, TrackingNumber,
};
use order_agent_core::ports::{
    AddressValidation, Carrier, Claim, ClaimedEvent, ConversationKey, ConversationState,
    ConversationStore, DecisionLog, DecisionRecord, EventInbox, EventQueue, LoggedDecision, Oms,
    Payments, PortError, PortResult, QueueStats, QueuedEvent, RefundRequest, Retry, ReturnLabel,
    ReturnLabelRequest, Tracking, Versioned,
};

use super::faults::lock;
use super::{FakeCarrier, FakeOms, FakePayments};

/// Payments that ignore idempotency keys: every call refunds again.
#[derive(Debug)]
pub struct PaymentsIgnoringIdempotencyKeys {
    inner: FakePayments,
    calls: AtomicU64,
}

impl PaymentsIgnoringIdempotencyKeys {
    /// Wraps `inner`.
    pub fn new(inner: FakePayments) -> Self {
        PaymentsIgnoringIdempotencyKeys {
            inner,
            calls: AtomicU64::new(0),
        }
    }
}

#[async_trait]
impl Payments for PaymentsIgnoringIdempotencyKeys {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        self.inner.payment(id).await
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let mut fresh = request.clone();
        fresh.idempotency_key = format!("{}#{n}", request.idempotency_key);
        self.inner.refund(&fresh).await
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        self.inner.refunds(id).await
    }
}

/// An OMS that answers an error instead of `Ok(None)` for an unknown order.
#[derive(Debug)]
pub struct OmsFailingOnMissingOrder {
    inner: FakeOms,
}

impl OmsFailingOnMissingOrder {
    /// Wraps `inner`.
    pub fn new(inner: FakeOms) -> Self {
        OmsFailingOnMissingOrder { inner }
    }
}

#[async_trait]
impl Oms for OmsFailingOnMissingOrder {
    async fn order(&self, id: &OrderId) -> PortResult<Option<Order>> {
        match self.inner.order(id).await? {
            Some(order) => Ok(Some(order)),
            None => Err(PortError::not_found("oms.order", "no such order")),
        }
    }

    async fn order_by_number(&self, number: &OrderNumber) -> PortResult<Option<Order>> {
        self.inner.order_by_number(number).await
    }

    async fn orders_of_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> PortResult<Vec<Order>> {
        self.inner.orders_of_customer(customer, limit).await
    }

    async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>> {
        self.inner.customer(id).await
    }

    async fn customer_by_contact(&self, contact: &ContactPoint) -> PortResult<Option<Customer>> {
        self.inner.customer_by_contact(contact).await
    }

    async fn cancel_order(&self, request: &CancellationRequest) -> PortResult<Order> {
        self.inner.cancel_order(request).await
    }

    async fn change_shipping_address(&self, request: &AddressChangeRequest) -> PortResult<Order> {
        self.inner.change_shipping_address(request).await
    }

    async fn modify_items(&self, request: &ItemModificationRequest) -> PortResult<Order> {
        self.inner.modify_items(request).await
    }

    async fn record_return(&self, authorisation: &ReturnAuthorisation) -> PortResult<String> {
        self.inner.record_return(authorisation).await
    }

    async fn exchange_offers(
        &self,
        product: &order_agent_core::domain::ProductId,
    ) -> PortResult<Vec<order_agent_core::domain::ExchangeOffer>> {
        self.inner.exchange_offers(product).await
    }
}

/// A carrier that lists tracking events newest first.
#[derive(Debug)]
pub struct CarrierWithNewestEventsFirst {
    inner: FakeCarrier,
}

impl CarrierWithNewestEventsFirst {
    /// Wraps `inner`.
    pub fn new(inner: FakeCarrier) -> Self {
        CarrierWithNewestEventsFirst { inner }
    }
}

#[async_trait]
impl Carrier for CarrierWithNewestEventsFirst {
    async fn track(
        &self,
        carrier: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        Ok(self
            .inner
            .track(carrier, tracking_number)
            .await?
            .map(|mut t| {
                t.events.reverse();
                t
            }))
    }

    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel> {
        self.inner.create_return_label(request).await
    }

    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation> {
        self.inner.validate_address(address).await
    }
}

/// An inbox that forgets: every event is processed "for the first time", so a redelivered
/// webhook would refund twice.
#[derive(Debug, Default)]
pub struct ForgetfulInbox;

#[async_trait]
impl EventInbox for ForgetfulInbox {
    async fn mark_processed(&self, _source: &str, _event_id: &str) -> PortResult<bool> {
        Ok(true)
    }

    async fn is_processed(&self, _source: &str, _event_id: &str) -> PortResult<bool> {
        Ok(false)
    }
}

/// A decision log that hands out each sequence number twice (1, 1, 2, 2, ...).
#[derive(Debug, Default)]
pub struct DecisionLogReusingSequenceNumbers {
    records: Mutex<Vec<LoggedDecision>>,
}

#[async_trait]
impl DecisionLog for DecisionLogReusingSequenceNumbers {
    async fn append_decision(&self, record: &DecisionRecord) -> PortResult<u64> {
        let mut records = lock(&self.records);
        let sequence = records.len() as u64 / 2 + 1;
        records.push(LoggedDecision {
            sequence,
            record: record.clone(),
        });
        Ok(sequence)
    }

    async fn decisions(&self, from: u64, limit: usize) -> PortResult<Vec<LoggedDecision>> {
        Ok(lock(&self.records)
            .iter()
            .filter(|d| d.sequence >= from)
            .take(limit)
            .cloned()
            .collect())
    }
}

/// A conversation store where the last write wins: it ignores the expected version.
#[derive(Debug, Default)]
pub struct LastWriteWinsConversationStore {
    conversations: Mutex<BTreeMap<ConversationKey, Versioned<ConversationState>>>,
}

#[async_trait]
impl ConversationStore for LastWriteWinsConversationStore {
    async fn conversation(
        &self,
        key: &ConversationKey,
    ) -> PortResult<Option<Versioned<ConversationState>>> {
        Ok(lock(&self.conversations).get(key).cloned())
    }

    async fn save_conversation(
        &self,
        key: &ConversationKey,
        state: &ConversationState,
        _expected_version: Option<u64>,
    ) -> PortResult<u64> {
        let mut conversations = lock(&self.conversations);
        let version = conversations.get(key).map_or(1, |v| v.version + 1);
        conversations.insert(
            key.clone(),
            Versioned {
                version,
                value: state.clone(),
            },
        );
        Ok(version)
    }

    async fn delete_conversation(&self, key: &ConversationKey) -> PortResult<()> {
        lock(&self.conversations).remove(key);
        Ok(())
    }
}

/// A queue that ignores claims in flight: every claim is answered as if every earlier claim had
/// expired, so two workers get the same order at once.
#[derive(Debug, Default)]
pub struct QueueIgnoringClaims {
    inner: super::FakeStore,
    claims: AtomicU64,
}

#[async_trait]
impl EventQueue for QueueIgnoringClaims {
    async fn enqueue_event(&self, event: &QueuedEvent) -> PortResult<bool> {
        self.inner.enqueue_event(event).await
    }

    async fn claim_events(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<ClaimedEvent>> {
        // Each claim pretends a year more has passed, so every earlier lease has run out (and
        // every retry time too).
        let years = self.claims.fetch_add(1, Ordering::SeqCst) as i64 + 1;
        let far = now + chrono::Duration::days(365 * years);
        self.inner
            .claim_events(worker, far, far + (until - now), limit)
            .await
    }

    async fn complete_event(&self, source: &str, id: &str, claim: &Claim) -> PortResult<bool> {
        self.inner.complete_event(source, id, claim).await
    }

    async fn retry_event(
        &self,
        source: &str,
        id: &str,
        claim: &Claim,
        retry: &Retry,
        error: &str,
    ) -> PortResult<bool> {
        self.inner
            .retry_event(source, id, claim, retry, error)
            .await
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> PortResult<QueueStats> {
        self.inner.queue_stats(now).await
    }
}

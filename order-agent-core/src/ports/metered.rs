//! Per-operation call metrics for any port: a wrapper, like the resilience wrappers, so adapters
//! stay free of it.
//!
//! A [`Metered`] port delegates every call to the port inside and records, per port and
//! operation, the number of calls by outcome (`ok` or the [`PortErrorKind`](super::PortErrorKind) name) and a latency
//! histogram into a shared [`CallMetrics`], which renders them in the Prometheus text format.
//! Every call runs in a `port_call` tracing span with `port` and `operation` fields only: no
//! arguments, so no personal data; a `debug` event in it at the end gives the outcome and the
//! latency.
//!
//! It lives next to the port traits because it depends on nothing but them: every shell (the
//! HTTP service, the queue workers, a shop's own binary) can meter its ports, whatever adapters
//! it uses.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use order_agent_core::domain::Sku;
//! use order_agent_core::ports::{mocks::MockInventory, CallMetrics, Inventory, Metered};
//!
//! let mut inventory = MockInventory::new();
//! inventory.expect_available().returning(|_| Ok(Some(3)));
//! let metrics = CallMetrics::new();
//! let metered = Metered::new(Arc::new(inventory), metrics.clone());
//! assert_eq!(metered.available(&Sku::new("TEE-M")).await.unwrap(), Some(3));
//! assert!(metrics.render().contains(
//!     "order_agent_vendor_calls_total{port=\"inventory\",operation=\"available\",outcome=\"ok\"} 1"
//! ));
//! # });
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tracing::Instrument as _;

use super::carrier::{self, AddressValidation, ReturnLabel, ReturnLabelRequest, Tracking};
use super::{helpdesk, inventory, messaging, oms, payments};
use super::{
    Carrier, Delivery, Helpdesk, Inventory, Messaging, Oms, OutboundMessage, Payments, PortResult,
    RefundRequest, RestockRequest, StockMovement, Ticket, TicketUpdate,
};
use crate::domain::{
    Address, AddressChangeRequest, CancellationRequest, ContactPoint, Customer, CustomerId,
    Escalation, ExchangeOffer, ItemModificationRequest, Order, OrderId, OrderNumber, Payment,
    PaymentId, ProductId, Refund, ReturnAuthorisation, Sku, TicketId, TrackingNumber,
};

/// Upper bounds of the latency histogram, in seconds: from a cache hit to a slow vendor.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The calls of one operation.
#[derive(Debug, Default, Clone, PartialEq)]
struct Series {
    /// Calls by outcome: `ok` or an error kind's name.
    outcomes: BTreeMap<&'static str, u64>,
    /// Cumulative counts per bucket of [`LATENCY_BUCKETS`].
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Call counts and latencies per port and operation, shared by every [`Metered`] port.
///
/// Cheap to clone; clones share the figures.
#[derive(Debug, Clone, Default)]
pub struct CallMetrics {
    series: Arc<Mutex<BTreeMap<(&'static str, &'static str), Series>>>,
}

impl CallMetrics {
    /// No calls yet.
    pub fn new() -> CallMetrics {
        CallMetrics::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(&'static str, &'static str), Series>> {
        // Counters left behind by a panic elsewhere are still worth reporting.
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records one call of `operation` (a name from a port's `ops` module, `port.operation`)
    /// that ended with `outcome` (`ok` or a [`PortErrorKind`](super::PortErrorKind) name) after
    /// `elapsed`.
    pub fn record(&self, operation: &'static str, outcome: &'static str, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let mut series = self.lock();
        let s = series.entry(split(operation)).or_default();
        *s.outcomes.entry(outcome).or_default() += 1;
        s.count += 1;
        s.sum += seconds;
        for (bound, n) in LATENCY_BUCKETS.iter().zip(s.buckets.iter_mut()) {
            if seconds <= *bound {
                *n += 1;
            }
        }
    }

    /// The calls of `operation` that ended with `outcome` so far.
    pub fn calls(&self, operation: &'static str, outcome: &str) -> u64 {
        self.lock()
            .get(&split(operation))
            .and_then(|s| s.outcomes.get(outcome).copied())
            .unwrap_or(0)
    }

    /// Everything in the Prometheus text exposition format (version 0.0.4):
    /// `order_agent_vendor_calls_total{port,operation,outcome}` and the histogram
    /// `order_agent_vendor_call_seconds{port,operation}`.
    pub fn render(&self) -> String {
        let series = self.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP order_agent_vendor_calls_total Calls to vendors through the ports, by outcome \
             (`ok` or the error kind).\n# TYPE order_agent_vendor_calls_total counter"
        );
        for ((port, operation), s) in series.iter() {
            for (outcome, n) in &s.outcomes {
                let _ = writeln!(
                    out,
                    "order_agent_vendor_calls_total{{port=\"{port}\",operation=\"{operation}\",\
                     outcome=\"{outcome}\"}} {n}"
                );
            }
        }
        let name = "order_agent_vendor_call_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Latency of calls to vendors through the ports, errors included.\n\
             # TYPE {name} histogram"
        );
        for ((port, operation), s) in series.iter() {
            let labels = format!("port=\"{port}\",operation=\"{operation}\"");
            for (bound, n) in LATENCY_BUCKETS.iter().zip(s.buckets.iter()) {
                let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", s.count);
            let _ = writeln!(out, "{name}_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "{name}_count{{{labels}}} {}", s.count);
        }
        out
    }

    /// Runs `call` as `operation` in a `port_call` span, and records its outcome and latency.
    async fn measure<T, F>(&self, operation: &'static str, call: F) -> PortResult<T>
    where
        F: Future<Output = PortResult<T>>,
    {
        let (port, op) = split(operation);
        let span = tracing::info_span!("port_call", port, operation = op);
        let started = Instant::now();
        let result = call.instrument(span.clone()).await;
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        };
        self.record(operation, outcome, elapsed);
        // The outcome only, never the error's message: a vendor's words may quote the customer.
        span.in_scope(|| {
            tracing::debug!(
                outcome,
                elapsed_ms = elapsed.as_millis() as u64,
                "port call"
            )
        });
        result
    }
}

/// `oms.order` as (`oms`, `order`); a name without a dot as (`other`, name).
fn split(operation: &'static str) -> (&'static str, &'static str) {
    operation.split_once('.').unwrap_or(("other", operation))
}

/// A port whose calls are counted and timed into a [`CallMetrics`]; implements the same port
/// trait as the port inside (`Arc<dyn Oms>` as well as a concrete adapter).
#[derive(Debug)]
pub struct Metered<P: ?Sized> {
    inner: Arc<P>,
    metrics: CallMetrics,
}

impl<P: ?Sized> Metered<P> {
    /// Meters `inner` into `metrics`.
    pub fn new(inner: Arc<P>, metrics: CallMetrics) -> Metered<P> {
        Metered { inner, metrics }
    }

    /// The port inside.
    pub fn inner(&self) -> &Arc<P> {
        &self.inner
    }
}

#[async_trait]
impl<P: Payments + ?Sized> Payments for Metered<P> {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        self.metrics
            .measure(payments::ops::PAYMENT, self.inner.payment(id))
            .await
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        self.metrics
            .measure(payments::ops::REFUND, self.inner.refund(request))
            .await
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        self.metrics
            .measure(payments::ops::REFUNDS, self.inner.refunds(id))
            .await
    }
}

#[async_trait]
impl<P: Carrier + ?Sized> Carrier for Metered<P> {
    async fn track(
        &self,
        carrier_slug: &str,
        tracking_number: &TrackingNumber,
    ) -> PortResult<Option<Tracking>> {
        self.metrics
            .measure(
                carrier::ops::TRACK,
                self.inner.track(carrier_slug, tracking_number),
            )
            .await
    }

    async fn create_return_label(&self, request: &ReturnLabelRequest) -> PortResult<ReturnLabel> {
        self.metrics
            .measure(
                carrier::ops::CREATE_RETURN_LABEL,
                self.inner.create_return_label(request),
            )
            .await
    }

    async fn validate_address(&self, address: &Address) -> PortResult<AddressValidation> {
        self.metrics
            .measure(
                carrier::ops::VALIDATE_ADDRESS,
                self.inner.validate_address(address),
            )
            .await
    }
}

#[async_trait]
impl<P: Oms + ?Sized> Oms for Metered<P> {
    async fn order(&self, id: &OrderId) -> PortResult<Option<Order>> {
        self.metrics
            .measure(oms::ops::ORDER, self.inner.order(id))
            .await
    }

    async fn order_by_number(&self, number: &OrderNumber) -> PortResult<Option<Order>> {
        self.metrics
            .measure(
                oms::ops::ORDER_BY_NUMBER,
                self.inner.order_by_number(number),
            )
            .await
    }

    async fn orders_of_customer(
        &self,
        customer: &CustomerId,
        limit: usize,
    ) -> PortResult<Vec<Order>> {
        self.metrics
            .measure(
                oms::ops::ORDERS_OF_CUSTOMER,
                self.inner.orders_of_customer(customer, limit),
            )
            .await
    }

    async fn customer(&self, id: &CustomerId) -> PortResult<Option<Customer>> {
        self.metrics
            .measure(oms::ops::CUSTOMER, self.inner.customer(id))
            .await
    }

    async fn customer_by_contact(&self, contact: &ContactPoint) -> PortResult<Option<Customer>> {
        self.metrics
            .measure(
                oms::ops::CUSTOMER_BY_CONTACT,
                self.inner.customer_by_contact(contact),
            )
            .await
    }

    async fn cancel_order(&self, request: &CancellationRequest) -> PortResult<Order> {
        self.metrics
            .measure(oms::ops::CANCEL_ORDER, self.inner.cancel_order(request))
            .await
    }

    async fn change_shipping_address(&self, request: &AddressChangeRequest) -> PortResult<Order> {
        self.metrics
            .measure(
                oms::ops::CHANGE_SHIPPING_ADDRESS,
                self.inner.change_shipping_address(request),
            )
            .await
    }

    async fn modify_items(&self, request: &ItemModificationRequest) -> PortResult<Order> {
        self.metrics
            .measure(oms::ops::MODIFY_ITEMS, self.inner.modify_items(request))
            .await
    }

    async fn record_return(&self, authorisation: &ReturnAuthorisation) -> PortResult<String> {
        self.metrics
            .measure(
                oms::ops::RECORD_RETURN,
                self.inner.record_return(authorisation),
            )
            .await
    }

    async fn exchange_offers(&self, product: &ProductId) -> PortResult<Vec<ExchangeOffer>> {
        self.metrics
            .measure(
                oms::ops::EXCHANGE_OFFERS,
                self.inner.exchange_offers(product),
            )
            .await
    }
}

#[async_trait]
impl<P: Messaging + ?Sized> Messaging for Metered<P> {
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery> {
        self.metrics
            .measure(messaging::ops::SEND, self.inner.send(message))
            .await
    }
}

#[async_trait]
impl<P: Helpdesk + ?Sized> Helpdesk for Metered<P> {
    async fn open_ticket(&self, key: &str, escalation: &Escalation) -> PortResult<Ticket> {
        self.metrics
            .measure(
                helpdesk::ops::OPEN_TICKET,
                self.inner.open_ticket(key, escalation),
            )
            .await
    }

    async fn update_ticket(&self, id: &TicketId, update: &TicketUpdate) -> PortResult<Ticket> {
        self.metrics
            .measure(
                helpdesk::ops::UPDATE_TICKET,
                self.inner.update_ticket(id, update),
            )
            .await
    }

    async fn add_note(&self, id: &TicketId, body: &str) -> PortResult<()> {
        self.metrics
            .measure(helpdesk::ops::ADD_NOTE, self.inner.add_note(id, body))
            .await
    }

    async fn ticket(&self, id: &TicketId) -> PortResult<Option<Ticket>> {
        self.metrics
            .measure(helpdesk::ops::TICKET, self.inner.ticket(id))
            .await
    }
}

#[async_trait]
impl<P: Inventory + ?Sized> Inventory for Metered<P> {
    async fn restock(&self, request: &RestockRequest) -> PortResult<StockMovement> {
        self.metrics
            .measure(inventory::ops::RESTOCK, self.inner.restock(request))
            .await
    }

    async fn available(&self, sku: &Sku) -> PortResult<Option<u32>> {
        self.metrics
            .measure(inventory::ops::AVAILABLE, self.inner.available(sku))
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn renders_calls_by_outcome_and_a_cumulative_histogram() {
        let m = CallMetrics::new();
        m.record("payments.refund", "ok", Duration::from_millis(3));
        m.record("payments.refund", "unavailable", Duration::from_millis(300));
        let text = m.render();
        let labels = "port=\"payments\",operation=\"refund\"";
        assert!(text.contains(&format!(
            "order_agent_vendor_calls_total{{{labels},outcome=\"ok\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "order_agent_vendor_calls_total{{{labels},outcome=\"unavailable\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "order_agent_vendor_call_seconds_bucket{{{labels},le=\"0.005\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "order_agent_vendor_call_seconds_bucket{{{labels},le=\"0.5\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "order_agent_vendor_call_seconds_bucket{{{labels},le=\"+Inf\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "order_agent_vendor_call_seconds_count{{{labels}}} 2\n"
        )));
        assert_eq!(m.calls("payments.refund", "unavailable"), 1);
    }
}

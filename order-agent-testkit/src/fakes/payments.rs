//! An in-memory payment processor.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::domain::{Order, Payment, PaymentId, Refund, RefundId, RefundState};
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{ClockRef, Payments, PortError, PortResult, RefundRequest};
use order_agent_core::Money;
use serde_json::json;

use super::clock::default_fake_clock;
use super::faults::{instrumented, lock, Instrumentation};

#[derive(Debug)]
struct PaymentsState {
    /// Payments as seeded; `refunded` holds what was refunded before the fake started.
    payments: BTreeMap<PaymentId, Payment>,
    /// Refunds made through the fake, oldest first.
    refunds: Vec<Refund>,
    /// Idempotency key → the request's payment and amount, and the refund it made.
    keys: BTreeMap<String, (PaymentId, Money, RefundId, DateTime<Utc>)>,
    new_refund_state: RefundState,
    idempotency_window: Option<chrono::Duration>,
    refunds_beyond_captured: bool,
}

/// A payment processor that enforces idempotency keys (same key, same refund; same key, other
/// request: `Conflict`) and never refunds more than captured minus refunded (`Rejected`).
#[derive(Debug)]
pub struct FakePayments {
    state: Mutex<PaymentsState>,
    clock: ClockRef,
    instrumentation: Instrumentation,
}

instrumented!(FakePayments);

impl Default for FakePayments {
    fn default() -> Self {
        FakePayments {
            state: Mutex::new(PaymentsState {
                payments: BTreeMap::new(),
                refunds: Vec::new(),
                keys: BTreeMap::new(),
                new_refund_state: RefundState::Succeeded,
                idempotency_window: None,
                refunds_beyond_captured: false,
            }),
            clock: default_fake_clock(),
            instrumentation: Instrumentation::default(),
        }
    }
}

impl FakePayments {
    /// A processor without payments.
    pub fn new() -> FakePayments {
        FakePayments::default()
    }

    /// Adds payments; their `refunded` amount counts as refunded before the fake started.
    #[must_use]
    pub fn with_payments(self, payments: impl IntoIterator<Item = Payment>) -> FakePayments {
        {
            let mut state = lock(&self.state);
            for p in payments {
                state.payments.insert(p.id.clone(), p);
            }
        }
        self
    }

    /// Adds every payment of `orders`.
    #[must_use]
    pub fn with_payments_of<'a>(self, orders: impl IntoIterator<Item = &'a Order>) -> FakePayments {
        let payments: Vec<Payment> = orders
            .into_iter()
            .flat_map(|o| o.payments.iter().cloned())
            .collect();
        self.with_payments(payments)
    }

    /// Stamps refunds with `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: ClockRef) -> FakePayments {
        self.clock = clock;
        self
    }

    /// New refunds start in `state` (`Pending` for processors that confirm by webhook, like
    /// Adyen); the default is `Succeeded`.
    #[must_use]
    pub fn with_new_refund_state(self, state: RefundState) -> FakePayments {
        lock(&self.state).new_refund_state = state;
        self
    }

    /// Forgets an idempotency key `window` after its first use, as real processors do (Stripe:
    /// 24 hours): a request with a forgotten key refunds again. By default keys are kept forever.
    #[must_use]
    pub fn with_idempotency_window(self, window: chrono::Duration) -> FakePayments {
        lock(&self.state).idempotency_window = Some(window);
        self
    }

    /// Accepts refunds beyond what is refundable, as a careless processor might, so that a test
    /// can see an over-refund happen instead of having the processor refuse it.
    #[must_use]
    pub fn with_refunds_beyond_captured(self) -> FakePayments {
        lock(&self.state).refunds_beyond_captured = true;
        self
    }

    /// Moves refund `id` to `state`, as a processor webhook would; a failed refund no longer
    /// counts as refunded. Returns whether the refund exists.
    pub fn settle(&self, id: &RefundId, state: RefundState) -> bool {
        let mut guard = lock(&self.state);
        match guard.refunds.iter_mut().find(|r| &r.id == id) {
            Some(refund) => {
                refund.state = state;
                true
            }
            None => false,
        }
    }

    /// Every refund made through the fake, oldest first.
    pub fn all_refunds(&self) -> Vec<Refund> {
        lock(&self.state).refunds.clone()
    }
}

impl PaymentsState {
    /// The payment with `refunded` including the live refunds made here.
    fn current(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        let Some(seeded) = self.payments.get(id) else {
            return Ok(None);
        };
        let mut refunded = seeded.refunded;
        for r in self
            .refunds
            .iter()
            .filter(|r| &r.payment_id == id && r.state != RefundState::Failed)
        {
            refunded = refunded.checked_add(r.amount).map_err(|e| {
                PortError::unexpected(ops::PAYMENT, "refunds do not add up").with_source(e)
            })?;
        }
        Ok(Some(Payment {
            refunded,
            ..seeded.clone()
        }))
    }
}

#[async_trait]
impl Payments for FakePayments {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        self.instrumentation
            .call(ops::PAYMENT, json!({ "id": id }), |_| {
                lock(&self.state).current(id)
            })
            .await
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        self.instrumentation
            .call(ops::REFUND, request, |_| {
                let mut state = lock(&self.state);
                let key = &request.idempotency_key;
                let now = self.clock.now();
                let window = state.idempotency_window;
                let remembered = state
                    .keys
                    .get(key)
                    .filter(|(_, _, _, first)| window.is_none_or(|w| now - *first <= w));
                if let Some((payment_id, amount, refund_id, _)) = remembered {
                    if payment_id != &request.payment_id || amount != &request.amount {
                        return Err(PortError::conflict(
                            ops::REFUND,
                            "idempotency key was used for another refund",
                        )
                        .with_context("idempotency_key", key));
                    }
                    let refund_id = refund_id.clone();
                    return state
                        .refunds
                        .iter()
                        .find(|r| r.id == refund_id)
                        .cloned()
                        .ok_or_else(|| PortError::unexpected(ops::REFUND, "refund vanished"));
                }
                if key.trim().is_empty() {
                    return Err(PortError::invalid_input(
                        ops::REFUND,
                        "an idempotency key is required",
                    ));
                }
                let payment = state.current(&request.payment_id)?.ok_or_else(|| {
                    PortError::not_found(ops::REFUND, "no such payment")
                        .with_context("payment_id", &request.payment_id)
                })?;
                if request.amount.currency() != payment.captured.currency() {
                    return Err(PortError::invalid_input(
                        ops::REFUND,
                        "amount is not in the payment's currency",
                    )
                    .with_context("amount", request.amount)
                    .with_context("payment_currency", payment.captured.currency()));
                }
                if !request.amount.is_positive() {
                    return Err(
                        PortError::invalid_input(ops::REFUND, "amount must be positive")
                            .with_context("amount", request.amount),
                    );
                }
                let refundable = payment.refundable().map_err(|e| {
                    PortError::unexpected(ops::REFUND, "refundable amount").with_source(e)
                })?;
                let exceeds = request
                    .amount
                    .try_cmp(&refundable)
                    .map_err(|e| PortError::unexpected(ops::REFUND, "compare").with_source(e))?
                    .is_gt();
                if exceeds && !state.refunds_beyond_captured {
                    return Err(PortError::rejected(
                        ops::REFUND,
                        "amount exceeds what is refundable",
                    )
                    .with_context("amount", request.amount)
                    .with_context("refundable", refundable));
                }
                let refund = Refund {
                    id: RefundId::new(format!("re_{}", state.refunds.len() + 1)),
                    payment_id: request.payment_id.clone(),
                    amount: request.amount,
                    state: state.new_refund_state,
                    idempotency_key: Some(key.clone()),
                    created_at: now,
                };
                state.keys.insert(
                    key.clone(),
                    (
                        request.payment_id.clone(),
                        request.amount,
                        refund.id.clone(),
                        now,
                    ),
                );
                state.refunds.push(refund.clone());
                Ok(refund)
            })
            .await
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        self.instrumentation
            .call(ops::REFUNDS, json!({ "id": id }), |_| {
                Ok(lock(&self.state)
                    .refunds
                    .iter()
                    .filter(|r| &r.payment_id == id)
                    .cloned()
                    .collect())
            })
            .await
    }
}

//! The payment processor (Stripe, Adyen, PayPal, Datatrans): refunds.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::error::{PortError, PortResult};
use crate::domain::{Payment, PaymentId, Refund, RefundState};
use crate::money::{Currency, Money};

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`Payments::payment`](super::Payments::payment).
    pub const PAYMENT: &str = "payments.payment";
    /// [`Payments::refund`](super::Payments::refund).
    pub const REFUND: &str = "payments.refund";
    /// [`Payments::refunds`](super::Payments::refunds).
    pub const REFUNDS: &str = "payments.refunds";
}

/// A refund to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The payment to refund.
    pub payment_id: PaymentId,
    /// How much; positive, in the payment's currency.
    pub amount: Money,
    /// The caller's key: the same key always means the same refund.
    pub idempotency_key: String,
    /// Free key-value metadata stored with the refund (order id, return id, reason codes).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A payment processor.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Payments: Send + Sync + Debug + 'static {
    /// The payment `id` as the processor knows it now: captured and refunded so far.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for an unknown payment, MUST NOT return an error for it.
    /// - `refunded` MUST include every refund that is not failed, pending ones included.
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>>;

    /// Refunds `request.amount` of `request.payment_id`.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent by `request.idempotency_key`: the same key with the same payment and
    ///   amount MUST return the refund of the first call and MUST NOT refund again.
    /// - The same key with another payment or amount MUST return
    ///   [`Conflict`](super::PortErrorKind::Conflict) and MUST NOT refund.
    /// - MUST return [`Rejected`](super::PortErrorKind::Rejected) when the amount exceeds what is
    ///   refundable (captured minus every refund not failed), and MUST NOT refund anything then.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for an amount that is not
    ///   positive or not in the payment's currency.
    /// - MUST return [`NotFound`](super::PortErrorKind::NotFound) for an unknown payment.
    /// - The returned refund MUST carry the request's payment and amount, and MUST NOT be
    ///   [`RefundState::Failed`] when the processor accepted it.
    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund>;

    /// Every refund of payment `id`, oldest first.
    ///
    /// # Behavior
    ///
    /// - MUST list refunds oldest first and include every refund [`refund`](Self::refund)
    ///   returned for this payment, exactly once.
    /// - MUST return an empty list for an unknown payment, MUST NOT return an error for it.
    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>>;
}

/// A shared payment processor.
pub type PaymentsRef = Arc<dyn Payments>;

/// Conveniences over any [`Payments`]; adapters never implement this.
#[async_trait]
pub trait PaymentsExt: Payments {
    /// The sum of the refunds of payment `id` that are not failed, in `currency`.
    async fn refunded_total(&self, id: &PaymentId, currency: Currency) -> PortResult<Money> {
        let refunds = self.refunds(id).await?;
        let live = refunds
            .iter()
            .filter(|r| r.state != RefundState::Failed)
            .map(|r| r.amount);
        Money::sum(currency, live).map_err(|e| {
            PortError::unexpected(ops::REFUNDS, "refunds do not add up")
                .with_context("payment_id", id)
                .with_source(e)
        })
    }
}

impl<T: Payments + ?Sized> PaymentsExt for T {}

//! Payments per tender and the refunds made against them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{PaymentId, RefundId};
use crate::money::{Money, MoneyError};

/// How the customer paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tender {
    /// A payment card.
    Card,
    /// PayPal.
    Paypal,
    /// TWINT (Switzerland).
    Twint,
    /// A bank transfer or invoice.
    BankTransfer,
    /// A gift card.
    GiftCard,
    /// Store credit.
    StoreCredit,
}

impl Tender {
    /// Gift cards and store credit are money the merchant issued, not customer cash.
    pub fn is_merchant_issued(self) -> bool {
        matches!(self, Tender::GiftCard | Tender::StoreCredit)
    }
}

/// One tender's payment on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// Processor id of the payment (charge, payment intent, PSP reference).
    pub id: PaymentId,
    /// The tender.
    pub tender: Tender,
    /// Amount captured (taken from the customer).
    pub captured: Money,
    /// Amount refunded so far, across all refunds.
    pub refunded: Money,
}

impl Payment {
    /// What can still be refunded on this payment: captured minus refunded, never below zero.
    pub fn refundable(&self) -> Result<Money, MoneyError> {
        Ok(self
            .captured
            .checked_sub(self.refunded)?
            .clamp_non_negative())
    }
}

/// State of a refund at the processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    /// Accepted, outcome not final yet (Adyen reports it by webhook).
    Pending,
    /// Money sent back.
    Succeeded,
    /// Refused by the processor.
    Failed,
}

/// A refund as the processor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refund {
    /// Processor id.
    pub id: RefundId,
    /// The payment refunded.
    pub payment_id: PaymentId,
    /// Amount.
    pub amount: Money,
    /// State.
    pub state: RefundState,
    /// The idempotency key it was created with, when the processor echoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

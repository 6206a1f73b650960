//! The credit ledger the Datatrans adapter keeps: which credit (refund) each idempotency key
//! made, because Datatrans links a credit to its payment in neither direction the API can read
//! (the payment's `history` lists credit amounts and dates, not their transaction ids or
//! `refno`s, and a credit's status does not name its payment).
//!
//! [`CreditBook`] holds the rules as pure code; a [`DatatransLedger`] applies them atomically
//! and durably. [`InMemoryDatatransLedger`] is for tests and demos; production shops back the
//! ledger with their own store (one row per credit keyed by idempotency key, the reservation in
//! one transaction with the refundable check).

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::domain::{PaymentId, Refund, RefundId, RefundState};
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{PortError, PortResult};
use order_agent_core::Money;
use serde::{Deserialize, Serialize};

/// One credit this adapter made (or is making).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRecord {
    /// The payment's `transactionId`.
    pub payment_id: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// The `refno` sent, derived from the key.
    pub refno: String,
    /// Amount.
    pub amount: Money,
    /// The credit's own `transactionId`, once Datatrans answered.
    pub transaction_id: Option<String>,
    /// What the payment had credited (successful `credit` actions in its history) when the
    /// credit was reserved: a later retry compares against it.
    pub credited_before: Money,
    /// When it was reserved.
    pub created_at: DateTime<Utc>,
}

impl CreditRecord {
    /// The refund as the port reports it, in `state`: its id is the credit's `transactionId`,
    /// or the `refno` while Datatrans' answer is not recorded.
    pub fn to_refund(&self, state: RefundState) -> Refund {
        Refund {
            id: RefundId::new(
                self.transaction_id
                    .clone()
                    .unwrap_or_else(|| self.refno.clone()),
            ),
            payment_id: PaymentId::new(self.payment_id.clone()),
            amount: self.amount,
            state,
            idempotency_key: Some(self.idempotency_key.clone()),
            created_at: self.created_at,
        }
    }
}

/// The outcome of a reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// A new credit, recorded in flight: send it.
    New(CreditRecord),
    /// The key's credit already exists: return it, or resend it if still in flight.
    Existing(CreditRecord),
}

/// Every credit the ledger knows, in reservation order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditBook {
    /// Credits, oldest first.
    pub credits: Vec<CreditRecord>,
}

impl CreditBook {
    /// Reserves `record` atomically with the refundable check: the key's existing credit when
    /// the payment and amount match, `Conflict` when they do not; `Rejected` when the amount
    /// exceeds `refundable` (what Datatrans shows) minus the payment's credits still in flight;
    /// otherwise records it in flight. `record.created_at` is raised to the last credit's time
    /// if the clock went back, so the list stays oldest first.
    pub fn reserve(
        &mut self,
        mut record: CreditRecord,
        refundable: Money,
    ) -> PortResult<Reservation> {
        let op = ops::REFUND;
        if let Some(existing) = self
            .credits
            .iter()
            .find(|c| c.idempotency_key == record.idempotency_key)
        {
            return if existing.payment_id == record.payment_id && existing.amount == record.amount {
                Ok(Reservation::Existing(existing.clone()))
            } else {
                Err(
                    PortError::conflict(op, "idempotency key already used for another refund")
                        .with_context("payment_id", &record.payment_id),
                )
            };
        }
        let mut left = refundable;
        for c in self
            .credits
            .iter()
            .filter(|c| c.payment_id == record.payment_id && c.transaction_id.is_none())
        {
            left = left.checked_sub(c.amount).map_err(|e| {
                PortError::unexpected(op, "credits in another currency").with_source(e)
            })?;
        }
        if record.amount.currency() != left.currency() || record.amount.to_minor() > left.to_minor()
        {
            return Err(PortError::rejected(op, "amount exceeds what is refundable")
                .with_context("payment_id", &record.payment_id)
                .with_context("amount", record.amount)
                .with_context("refundable", left.clamp_non_negative()));
        }
        if let Some(last) = self.credits.last() {
            record.created_at = record.created_at.max(last.created_at);
        }
        self.credits.push(record.clone());
        Ok(Reservation::New(record))
    }

    /// Records the credit's `transactionId` for `key`.
    pub fn confirm(&mut self, key: &str, transaction_id: &str) -> PortResult<CreditRecord> {
        let record = self
            .credits
            .iter_mut()
            .find(|c| c.idempotency_key == key)
            .ok_or_else(|| {
                PortError::unexpected(ops::REFUND, "reserved credit missing from the ledger")
            })?;
        record.transaction_id = Some(transaction_id.to_owned());
        Ok(record.clone())
    }

    /// Forgets the in-flight credit of `key` after Datatrans refused it for good.
    pub fn release(&mut self, key: &str) {
        self.credits
            .retain(|c| c.idempotency_key != key || c.transaction_id.is_some());
    }
}

/// Keeps the credits, applying [`CreditBook`]'s rules atomically.
///
/// # Behavior
///
/// - [`reserve`](Self::reserve) MUST act as if alone: two reservations of one payment MUST NOT
///   both pass the refundable check.
/// - Records MUST survive restarts in production, so a credit reserved before a crash is resent
///   with the same `Idempotency-Key` and `refno` on the caller's retry.
#[async_trait]
pub trait DatatransLedger: Send + Sync + std::fmt::Debug + 'static {
    /// [`CreditBook::reserve`].
    async fn reserve(&self, record: CreditRecord, refundable: Money) -> PortResult<Reservation>;
    /// [`CreditBook::confirm`].
    async fn confirm(&self, key: &str, transaction_id: &str) -> PortResult<CreditRecord>;
    /// [`CreditBook::release`].
    async fn release(&self, key: &str) -> PortResult<()>;
    /// The credits of payment `payment_id`, oldest first.
    async fn credits(&self, payment_id: &str) -> PortResult<Vec<CreditRecord>>;
}

/// A [`DatatransLedger`] in memory: lost on restart, for tests and demos.
#[derive(Debug, Default)]
pub struct InMemoryDatatransLedger {
    book: Mutex<CreditBook>,
}

impl InMemoryDatatransLedger {
    /// An empty ledger.
    pub fn new() -> InMemoryDatatransLedger {
        InMemoryDatatransLedger::default()
    }

    fn with<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut CreditBook) -> PortResult<T>,
    ) -> PortResult<T> {
        let mut book = self
            .book
            .lock()
            .map_err(|_| PortError::unexpected(op, "ledger lock poisoned"))?;
        f(&mut book)
    }
}

#[async_trait]
impl DatatransLedger for InMemoryDatatransLedger {
    async fn reserve(&self, record: CreditRecord, refundable: Money) -> PortResult<Reservation> {
        self.with(ops::REFUND, |book| book.reserve(record, refundable))
    }

    async fn confirm(&self, key: &str, transaction_id: &str) -> PortResult<CreditRecord> {
        self.with(ops::REFUND, |book| book.confirm(key, transaction_id))
    }

    async fn release(&self, key: &str) -> PortResult<()> {
        self.with(ops::REFUND, |book| {
            book.release(key);
            Ok(())
        })
    }

    async fn credits(&self, payment_id: &str) -> PortResult<Vec<CreditRecord>> {
        self.with(ops::REFUNDS, |book| {
            Ok(book
                .credits
                .iter()
                .filter(|c| c.payment_id == payment_id)
                .cloned()
                .collect())
        })
    }
}

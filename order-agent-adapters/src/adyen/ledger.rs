//! The payment ledger the Adyen adapter keeps, because the Checkout API cannot be asked what a
//! payment captured and refunded: Adyen tells it once, by webhook.
//!
//! [`AdyenBook`] holds the rules as pure, synchronous code: reserving a refund (idempotency by
//! key, the refundable check), recording Adyen's answer, and applying a notification. An
//! [`AdyenLedger`] keeps books durably and applies those rules atomically;
//! [`InMemoryAdyenLedger`] keeps them in memory (tests, single-process demos). Production shops
//! back the ledger with their own store: read the book, call the same [`AdyenBook`] method and
//! write it back in one transaction (e.g. a row per payment serialised with serde, updated with
//! compare-and-set), so that two refunds of one payment cannot both pass the refundable check.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::domain::{PaymentId, Refund, RefundId, RefundState, Tender};
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{PortError, PortResult};
use order_agent_core::{Currency, Money};
use serde::{Deserialize, Serialize};

/// A notification item as the ledger reads it (one `NotificationRequestItem` of a verified
/// standard notification).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdyenNotification {
    /// `eventCode`, e.g. `REFUND`.
    pub event_code: String,
    /// `success`.
    pub success: bool,
    /// `pspReference`: the payment for `AUTHORISATION`, the modification otherwise.
    pub psp_reference: String,
    /// `originalReference`: the payment a modification belongs to.
    pub original_reference: Option<String>,
    /// `merchantReference`: for a refund this adapter made, the `reference` it sent.
    pub merchant_reference: String,
    /// `amount`, when present.
    pub amount: Option<Money>,
    /// `paymentMethod` of an `AUTHORISATION` (e.g. `visa`, `twint`, `paypal`), when known.
    pub payment_method: Option<String>,
}

impl AdyenNotification {
    /// The payment this notification is about.
    pub fn payment_reference(&self) -> &str {
        match self.original_reference.as_deref() {
            Some(original) if !original.is_empty() && self.event_code != "AUTHORISATION" => {
                original
            }
            _ => &self.psp_reference,
        }
    }

    /// `pspReference:eventCode:success`, the same id the webhook verifier deduplicates on.
    pub fn dedup_id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.psp_reference, self.event_code, self.success
        )
    }

    /// The same notification with its `paymentMethod`.
    #[must_use]
    pub fn with_payment_method(mut self, method: impl Into<String>) -> AdyenNotification {
        self.payment_method = Some(method.into());
        self
    }
}

#[cfg(feature = "webhooks")]
impl AdyenNotification {
    /// Reads an item the webhook verifier parsed
    /// ([`parse_notification`](crate::webhooks::adyen::parse_notification)). Errors
    /// (`InvalidInput`) on an amount that is not an integer in a known currency. The item does not
    /// carry `paymentMethod`: add it with [`with_payment_method`](Self::with_payment_method).
    pub fn from_item(
        item: &crate::webhooks::adyen::AdyenNotificationItem,
    ) -> PortResult<AdyenNotification> {
        const OP: &str = "adyen.notification";
        let amount = if item.amount_value.is_empty() && item.amount_currency.is_empty() {
            None
        } else {
            let value: i64 = item.amount_value.parse().map_err(|_| {
                PortError::invalid_input(OP, "notification amount is not an integer")
            })?;
            let currency = Currency::from_code(&item.amount_currency).map_err(|e| {
                PortError::invalid_input(OP, "notification currency unknown")
                    .with_context("currency", &item.amount_currency)
                    .with_source(e)
            })?;
            Some(Money::from_minor(value, currency))
        };
        Ok(AdyenNotification {
            event_code: item.event_code.clone(),
            success: item.is_success(),
            psp_reference: item.psp_reference.clone(),
            original_reference: Some(item.original_reference.clone()).filter(|r| !r.is_empty()),
            merchant_reference: item.merchant_reference.clone(),
            amount,
            payment_method: None,
        })
    }
}

/// Where a refund stands in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdyenRefundState {
    /// Reserved and sent (or about to be); Adyen's answer not recorded yet.
    InFlight,
    /// Adyen answered `received`; the outcome comes by webhook.
    Received,
    /// `REFUND` with `success: true`.
    Succeeded,
    /// `REFUND` with `success: false`, or `REFUND_FAILED`.
    Failed,
    /// `REFUNDED_REVERSED`: the money came back to the merchant.
    Reversed,
}

impl AdyenRefundState {
    /// The port's view: in flight and received are pending; reversed is failed.
    pub fn port_state(self) -> RefundState {
        match self {
            AdyenRefundState::InFlight | AdyenRefundState::Received => RefundState::Pending,
            AdyenRefundState::Succeeded => RefundState::Succeeded,
            AdyenRefundState::Failed | AdyenRefundState::Reversed => RefundState::Failed,
        }
    }

    fn is_live(self) -> bool {
        self.port_state() != RefundState::Failed
    }
}

/// One refund of a payment, made by this adapter or learnt from a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdyenRefundRecord {
    /// The `reference` sent to Adyen (derived from the key); for a refund made elsewhere, its
    /// `merchantReference`.
    pub reference: String,
    /// The caller's idempotency key; `None` for a refund made elsewhere (Customer Area).
    pub idempotency_key: Option<String>,
    /// Amount.
    pub amount: Money,
    /// Adyen's `pspReference` of the refund, once known.
    pub psp_reference: Option<String>,
    /// State.
    pub state: AdyenRefundState,
    /// When the ledger first saw it.
    pub created_at: DateTime<Utc>,
}

impl AdyenRefundRecord {
    /// The refund as the port reports it: its id is the `pspReference`, or the reference while
    /// Adyen's answer is not recorded.
    pub fn to_refund(&self, payment: &PaymentId) -> Refund {
        Refund {
            id: RefundId::new(
                self.psp_reference
                    .clone()
                    .unwrap_or_else(|| self.reference.clone()),
            ),
            payment_id: payment.clone(),
            amount: self.amount,
            state: self.state.port_state(),
            idempotency_key: self.idempotency_key.clone(),
            created_at: self.created_at,
        }
    }

    fn matches(&self, n: &AdyenNotification) -> bool {
        self.psp_reference.as_deref() == Some(n.psp_reference.as_str())
            || (!n.merchant_reference.is_empty() && self.reference == n.merchant_reference)
    }
}

/// What the ledger knows of one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdyenBook {
    /// The payment's `pspReference`.
    pub psp_reference: String,
    /// The currency, from the first notification with an amount.
    pub currency: Option<Currency>,
    /// The tender, from the `AUTHORISATION`'s `paymentMethod` (cards when unknown).
    pub tender: Tender,
    /// The amount of a successful `AUTHORISATION`.
    pub authorised: Option<Money>,
    /// Whether the authorisation captured at once (the account captures immediately).
    pub auto_captured: bool,
    /// The sum of successful `CAPTURE`s minus `CAPTURE_FAILED`s.
    pub captures: Option<Money>,
    /// Refunds, oldest first.
    pub refunds: Vec<AdyenRefundRecord>,
    /// The notifications applied (`pspReference:eventCode:success`), so a redelivery changes
    /// nothing.
    pub applied: Vec<String>,
}

/// The outcome of [`AdyenBook::reserve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// A new refund, recorded in flight: send it.
    New(AdyenRefundRecord),
    /// The key's refund already exists: return it, or resend it if still in flight.
    Existing(AdyenRefundRecord),
}

/// What a notification changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The ledger changed.
    Changed,
    /// Already applied earlier (Adyen redelivers).
    Duplicate,
    /// An event the ledger does not track, or nothing to change.
    Ignored,
}

fn money_error(op: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::unexpected(op, "amounts in different currencies").with_source(e)
}

impl AdyenBook {
    /// An empty book for payment `psp_reference`.
    pub fn new(psp_reference: impl Into<String>) -> AdyenBook {
        AdyenBook {
            psp_reference: psp_reference.into(),
            currency: None,
            tender: Tender::Card,
            authorised: None,
            auto_captured: false,
            captures: None,
            refunds: Vec::new(),
            applied: Vec::new(),
        }
    }

    /// What was captured: the captures when any was notified, else the authorisation when it
    /// captured at once, else zero.
    pub fn captured(&self) -> Option<Money> {
        let currency = self.currency?;
        Some(match (self.captures, self.authorised) {
            (Some(captures), _) => captures,
            (None, Some(authorised)) if self.auto_captured => authorised,
            _ => Money::zero(currency),
        })
    }

    /// The sum of the refunds that are not failed, pending ones included.
    pub fn refunded(&self, op: &'static str) -> PortResult<Option<Money>> {
        let Some(currency) = self.currency else {
            return Ok(None);
        };
        let live = self
            .refunds
            .iter()
            .filter(|r| r.state.is_live())
            .map(|r| r.amount);
        Money::sum(currency, live)
            .map(Some)
            .map_err(|e| money_error(op, e))
    }

    /// Reserves a refund of `amount` under `key`, atomically with the refundable check:
    /// the key's existing refund when the payment and amount match, `Conflict` when they do not,
    /// `InvalidInput` for another currency, `Rejected` above captured minus refunds not failed;
    /// otherwise records it in flight.
    pub fn reserve(
        &mut self,
        key: &str,
        reference: &str,
        amount: Money,
        now: DateTime<Utc>,
    ) -> PortResult<Reservation> {
        let op = ops::REFUND;
        if let Some(existing) = self
            .refunds
            .iter()
            .find(|r| r.idempotency_key.as_deref() == Some(key))
        {
            return if existing.amount == amount {
                Ok(Reservation::Existing(existing.clone()))
            } else {
                Err(
                    PortError::conflict(op, "idempotency key already used for another amount")
                        .with_context("payment_id", &self.psp_reference),
                )
            };
        }
        let (Some(captured), Some(refunded)) = (self.captured(), self.refunded(op)?) else {
            return Err(PortError::not_found(op, "no such payment in the ledger")
                .with_context("payment_id", &self.psp_reference));
        };
        if Some(amount.currency()) != self.currency {
            return Err(
                PortError::invalid_input(op, "refund currency differs from the payment's")
                    .with_context("payment_id", &self.psp_reference)
                    .with_context("amount", amount),
            );
        }
        let refundable = captured
            .checked_sub(refunded)
            .map_err(|e| money_error(op, e))?;
        if amount.to_minor() > refundable.to_minor() {
            return Err(PortError::rejected(op, "amount exceeds what is refundable")
                .with_context("payment_id", &self.psp_reference)
                .with_context("amount", amount)
                .with_context("refundable", refundable));
        }
        let record = AdyenRefundRecord {
            reference: reference.to_owned(),
            idempotency_key: Some(key.to_owned()),
            amount,
            psp_reference: None,
            state: AdyenRefundState::InFlight,
            created_at: self.next_time(now),
        };
        self.refunds.push(record.clone());
        Ok(Reservation::New(record))
    }

    /// Records Adyen's `received` answer for the refund of `key`.
    pub fn received(&mut self, key: &str, psp_reference: &str) -> PortResult<AdyenRefundRecord> {
        let record = self
            .refunds
            .iter_mut()
            .find(|r| r.idempotency_key.as_deref() == Some(key))
            .ok_or_else(|| {
                PortError::unexpected(ops::REFUND, "reserved refund missing from the ledger")
            })?;
        record.psp_reference = Some(psp_reference.to_owned());
        if record.state == AdyenRefundState::InFlight {
            record.state = AdyenRefundState::Received;
        }
        Ok(record.clone())
    }

    /// Forgets the in-flight refund of `key` after Adyen refused it for good (nothing refunded).
    pub fn release(&mut self, key: &str) {
        self.refunds.retain(|r| {
            r.idempotency_key.as_deref() != Some(key) || r.state != AdyenRefundState::InFlight
        });
    }

    /// Applies one notification about this payment; `auto_capture` says whether a successful
    /// `AUTHORISATION` captures at once (the merchant account's capture delay is immediate).
    pub fn apply(
        &mut self,
        n: &AdyenNotification,
        auto_capture: bool,
        now: DateTime<Utc>,
    ) -> PortResult<Applied> {
        const OP: &str = "adyen.notification";
        let id = n.dedup_id();
        if self.applied.contains(&id) {
            return Ok(Applied::Duplicate);
        }
        if let (Some(amount), None) = (n.amount, self.currency) {
            self.currency = Some(amount.currency());
        }
        if let (Some(amount), Some(currency)) = (n.amount, self.currency) {
            if amount.currency() != currency {
                return Err(
                    PortError::invalid_input(OP, "notification in another currency")
                        .with_context("payment_id", &self.psp_reference),
                );
            }
        }
        let changed = match (n.event_code.as_str(), n.success) {
            ("AUTHORISATION", true) => {
                self.authorised = n.amount;
                self.auto_captured = auto_capture;
                if let Some(method) = &n.payment_method {
                    self.tender = tender(method);
                }
                true
            }
            ("CAPTURE", true) => {
                let amount = n.amount.ok_or_else(|| {
                    PortError::invalid_input(OP, "capture notification without amount")
                })?;
                let before = self.captures.unwrap_or(Money::zero(amount.currency()));
                self.captures = Some(before.checked_add(amount).map_err(|e| money_error(OP, e))?);
                true
            }
            // Adyen sends CAPTURE_FAILED with `success: true`: the capture it announced failed.
            ("CAPTURE_FAILED", _) => match (self.captures, n.amount) {
                (Some(captures), Some(amount)) => {
                    let left = captures
                        .checked_sub(amount)
                        .map_err(|e| money_error(OP, e))?;
                    self.captures = Some(left.clamp_non_negative());
                    true
                }
                _ => false,
            },
            ("REFUND", success) => {
                let state = if success {
                    AdyenRefundState::Succeeded
                } else {
                    AdyenRefundState::Failed
                };
                self.settle_refund(n, state, success, now)?
            }
            ("REFUND_FAILED", _) => self.settle_refund(n, AdyenRefundState::Failed, false, now)?,
            ("REFUNDED_REVERSED", _) => {
                self.settle_refund(n, AdyenRefundState::Reversed, false, now)?
            }
            ("CANCEL_OR_REFUND", success) => {
                let ours = self.refunds.iter().any(|r| r.matches(n));
                if ours {
                    let state = if success {
                        AdyenRefundState::Succeeded
                    } else {
                        AdyenRefundState::Failed
                    };
                    self.settle_refund(n, state, false, now)?
                } else if success {
                    // A payment cancelled before capture refunds nothing; after capture, all
                    // that was left.
                    let left = match (self.captured(), self.refunded(OP)?) {
                        (Some(captured), Some(refunded)) => captured
                            .checked_sub(refunded)
                            .map_err(|e| money_error(OP, e))?
                            .clamp_non_negative(),
                        _ => return Ok(Applied::Ignored),
                    };
                    if left.is_positive() {
                        let created_at = self.next_time(now);
                        self.refunds.push(AdyenRefundRecord {
                            reference: n.merchant_reference.clone(),
                            idempotency_key: None,
                            amount: left,
                            psp_reference: Some(n.psp_reference.clone()),
                            state: AdyenRefundState::Succeeded,
                            created_at,
                        });
                    } else if self.captures.is_none() {
                        self.authorised = None;
                    }
                    true
                } else {
                    false
                }
            }
            _ => false,
        };
        if !changed {
            return Ok(Applied::Ignored);
        }
        self.applied.push(id);
        Ok(Applied::Changed)
    }

    /// Moves the refund `n` is about to `state`; a refund unknown to the ledger that succeeded
    /// (made in the Customer Area) is added when `add_unknown`.
    fn settle_refund(
        &mut self,
        n: &AdyenNotification,
        state: AdyenRefundState,
        add_unknown: bool,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        if let Some(record) = self.refunds.iter_mut().find(|r| r.matches(n)) {
            if record.psp_reference.is_none() && n.event_code == "REFUND" {
                record.psp_reference = Some(n.psp_reference.clone());
            }
            // A late REFUND success never undoes a reversal or a failure.
            let terminal = matches!(
                record.state,
                AdyenRefundState::Failed | AdyenRefundState::Reversed
            );
            if !terminal {
                record.state = state;
            }
            return Ok(!terminal);
        }
        if !add_unknown {
            return Ok(false);
        }
        let amount = n.amount.ok_or_else(|| {
            PortError::invalid_input("adyen.notification", "refund notification without amount")
        })?;
        let created_at = self.next_time(now);
        self.refunds.push(AdyenRefundRecord {
            reference: n.merchant_reference.clone(),
            idempotency_key: None,
            amount,
            psp_reference: Some(n.psp_reference.clone()),
            state,
            created_at,
        });
        Ok(true)
    }

    /// `now`, or the last refund's time if the clock went back, so the list stays oldest first.
    fn next_time(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.refunds
            .last()
            .map_or(now, |last| now.max(last.created_at))
    }
}

/// Adyen's `paymentMethod` as a tender; cards and card wallets are the fallback.
pub fn tender(method: &str) -> Tender {
    let method = method.to_ascii_lowercase();
    match method.as_str() {
        "twint" | "twint_pos" => Tender::Twint,
        "paypal" => Tender::Paypal,
        "giftcard" | "givex" | "svs" | "valuelink" => Tender::GiftCard,
        m if m.starts_with("sepadirectdebit")
            || m.starts_with("ideal")
            || m.starts_with("directebanking")
            || m.starts_with("ach")
            || m.starts_with("banktransfer")
            || m.starts_with("trustly")
            || m.starts_with("eps") =>
        {
            Tender::BankTransfer
        }
        m if m.ends_with("giftcard") => Tender::GiftCard,
        _ => Tender::Card,
    }
}

/// Keeps [`AdyenBook`]s, one per payment, and applies their rules atomically.
///
/// # Behavior
///
/// - Idempotency keys MUST be unique across payments: [`reserve`](Self::reserve) with a key
///   another payment's refund holds MUST return `Conflict`.
/// - Every method on one payment MUST act as if alone (no two reservations may both pass the
///   refundable check): run the [`AdyenBook`] method under a lock or in one transaction.
/// - Books MUST survive restarts in production: a refund reserved before a crash is resent
///   with the same `Idempotency-Key` on the caller's retry.
#[async_trait]
pub trait AdyenLedger: Send + Sync + std::fmt::Debug + 'static {
    /// The book of payment `psp_reference`, `None` when no notification about it arrived.
    async fn book(&self, psp_reference: &str) -> PortResult<Option<AdyenBook>>;

    /// [`AdyenBook::reserve`] on the payment's book; `NotFound` when there is none.
    async fn reserve(
        &self,
        psp_reference: &str,
        key: &str,
        reference: &str,
        amount: Money,
        now: DateTime<Utc>,
    ) -> PortResult<Reservation>;

    /// [`AdyenBook::received`] on the payment's book.
    async fn received(
        &self,
        psp_reference: &str,
        key: &str,
        refund_psp_reference: &str,
    ) -> PortResult<AdyenRefundRecord>;

    /// [`AdyenBook::release`] on the payment's book.
    async fn release(&self, psp_reference: &str, key: &str) -> PortResult<()>;

    /// [`AdyenBook::apply`] on the book of the notification's payment, created when missing.
    async fn apply(
        &self,
        notification: &AdyenNotification,
        auto_capture: bool,
        now: DateTime<Utc>,
    ) -> PortResult<Applied>;
}

/// An [`AdyenLedger`] in memory: lost on restart, for tests and demos.
#[derive(Debug, Default)]
pub struct InMemoryAdyenLedger {
    books: Mutex<BTreeMap<String, AdyenBook>>,
}

impl InMemoryAdyenLedger {
    /// An empty ledger.
    pub fn new() -> InMemoryAdyenLedger {
        InMemoryAdyenLedger::default()
    }

    fn with<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut BTreeMap<String, AdyenBook>) -> PortResult<T>,
    ) -> PortResult<T> {
        let mut books = self
            .books
            .lock()
            .map_err(|_| PortError::unexpected(op, "ledger lock poisoned"))?;
        f(&mut books)
    }
}

fn missing(op: &'static str, psp_reference: &str) -> PortError {
    PortError::not_found(op, "no such payment in the ledger")
        .with_context("payment_id", psp_reference)
}

#[async_trait]
impl AdyenLedger for InMemoryAdyenLedger {
    async fn book(&self, psp_reference: &str) -> PortResult<Option<AdyenBook>> {
        self.with(ops::PAYMENT, |books| Ok(books.get(psp_reference).cloned()))
    }

    async fn reserve(
        &self,
        psp_reference: &str,
        key: &str,
        reference: &str,
        amount: Money,
        now: DateTime<Utc>,
    ) -> PortResult<Reservation> {
        self.with(ops::REFUND, |books| {
            let elsewhere = books.iter().any(|(payment, book)| {
                payment != psp_reference
                    && book
                        .refunds
                        .iter()
                        .any(|r| r.idempotency_key.as_deref() == Some(key))
            });
            if elsewhere {
                return Err(PortError::conflict(
                    ops::REFUND,
                    "idempotency key already used for another payment",
                )
                .with_context("payment_id", psp_reference));
            }
            books
                .get_mut(psp_reference)
                .ok_or_else(|| missing(ops::REFUND, psp_reference))?
                .reserve(key, reference, amount, now)
        })
    }

    async fn received(
        &self,
        psp_reference: &str,
        key: &str,
        refund_psp_reference: &str,
    ) -> PortResult<AdyenRefundRecord> {
        self.with(ops::REFUND, |books| {
            books
                .get_mut(psp_reference)
                .ok_or_else(|| missing(ops::REFUND, psp_reference))?
                .received(key, refund_psp_reference)
        })
    }

    async fn release(&self, psp_reference: &str, key: &str) -> PortResult<()> {
        self.with(ops::REFUND, |books| {
            if let Some(book) = books.get_mut(psp_reference) {
                book.release(key);
            }
            Ok(())
        })
    }

    async fn apply(
        &self,
        notification: &AdyenNotification,
        auto_capture: bool,
        now: DateTime<Utc>,
    ) -> PortResult<Applied> {
        self.with("adyen.notification", |books| {
            let payment = notification.payment_reference().to_owned();
            if payment.is_empty() {
                return Err(PortError::invalid_input(
                    "adyen.notification",
                    "notification names no payment",
                ));
            }
            let mut book = books
                .get(&payment)
                .cloned()
                .unwrap_or_else(|| AdyenBook::new(payment.clone()));
            let applied = book.apply(notification, auto_capture, now)?;
            if applied == Applied::Changed {
                books.insert(payment, book);
            }
            Ok(applied)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chf(minor: i64) -> Money {
        Money::from_minor(minor, Currency::CHF)
    }

    fn note(
        code: &str,
        success: bool,
        psp: &str,
        original: &str,
        reference: &str,
        amount: i64,
    ) -> AdyenNotification {
        AdyenNotification {
            event_code: code.to_owned(),
            success,
            psp_reference: psp.to_owned(),
            original_reference: Some(original.to_owned()).filter(|o| !o.is_empty()),
            merchant_reference: reference.to_owned(),
            amount: Some(chf(amount)),
            payment_method: None,
        }
    }

    #[test]
    fn manual_capture_counts_captures_only() {
        let now = Utc::now();
        let mut book = AdyenBook::new("PAY1");
        book.apply(
            &note("AUTHORISATION", true, "PAY1", "", "o1", 5_000),
            false,
            now,
        )
        .unwrap();
        assert_eq!(book.captured(), Some(chf(0)));
        book.apply(
            &note("CAPTURE", true, "CAP1", "PAY1", "o1", 3_000),
            false,
            now,
        )
        .unwrap();
        assert_eq!(book.captured(), Some(chf(3_000)));
        assert_eq!(
            book.apply(
                &note("CAPTURE", true, "CAP1", "PAY1", "o1", 3_000),
                false,
                now
            )
            .unwrap(),
            Applied::Duplicate
        );
        book.apply(
            &note("CAPTURE_FAILED", true, "CAP1", "PAY1", "o1", 3_000),
            false,
            now,
        )
        .unwrap();
        assert_eq!(book.captured(), Some(chf(0)));
    }

    #[test]
    fn refunds_move_by_notification_and_never_come_back_from_failure() {
        let now = Utc::now();
        let mut book = AdyenBook::new("PAY1");
        book.apply(
            &note("AUTHORISATION", true, "PAY1", "", "o1", 5_000),
            true,
            now,
        )
        .unwrap();
        let Reservation::New(r) = book.reserve("k1", "oa-1", chf(1_000), now).unwrap() else {
            panic!("new reservation expected")
        };
        assert_eq!(r.state, AdyenRefundState::InFlight);
        book.received("k1", "REF1").unwrap();
        book.apply(
            &note("REFUND_FAILED", true, "REF1", "PAY1", "oa-1", 1_000),
            true,
            now,
        )
        .unwrap();
        book.apply(
            &note("REFUND", true, "REF1", "PAY1", "oa-1", 1_000),
            true,
            now,
        )
        .unwrap();
        assert_eq!(book.refunds[0].state, AdyenRefundState::Failed);
        assert_eq!(book.refunded(ops::PAYMENT).unwrap(), Some(chf(0)));
        // A refund made in the Customer Area is learnt from its notification.
        book.apply(
            &note("REFUND", true, "REF2", "PAY1", "manual", 700),
            true,
            now,
        )
        .unwrap();
        assert_eq!(book.refunded(ops::PAYMENT).unwrap(), Some(chf(700)));
        assert_eq!(book.refunds[1].idempotency_key, None);
    }

    #[test]
    fn cancel_or_refund_after_capture_refunds_what_was_left() {
        let now = Utc::now();
        let mut book = AdyenBook::new("PAY1");
        book.apply(
            &note("AUTHORISATION", true, "PAY1", "", "o1", 5_000),
            true,
            now,
        )
        .unwrap();
        book.reserve("k1", "oa-1", chf(1_000), now).unwrap();
        book.apply(
            &note("CANCEL_OR_REFUND", true, "MOD1", "PAY1", "o1", 5_000),
            true,
            now,
        )
        .unwrap();
        assert_eq!(book.refunded(ops::PAYMENT).unwrap(), Some(chf(5_000)));
    }

    #[test]
    fn tenders_from_payment_methods() {
        assert_eq!(tender("twint"), Tender::Twint);
        assert_eq!(tender("paypal"), Tender::Paypal);
        assert_eq!(tender("sepadirectdebit"), Tender::BankTransfer);
        assert_eq!(tender("visa"), Tender::Card);
        assert_eq!(tender("givex"), Tender::GiftCard);
    }
}

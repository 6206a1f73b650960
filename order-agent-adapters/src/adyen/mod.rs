//! [Adyen](https://docs.adyen.com/online-payments/refund) as the [`Payments`] port: refunds
//! through the Checkout API (v71), with their outcome from webhooks.
//!
//! Adyen answers a refund with `status: "received"` only; the outcome arrives later in a
//! `REFUND` (`success` true or false), `REFUND_FAILED` or `REFUNDED_REVERSED` notification. The
//! Checkout API has no endpoint to read a payment, so the adapter keeps a payment ledger
//! ([`AdyenLedger`], fed by [`AdyenPayments::apply_notification`] with the verified
//! notifications `AUTHORISATION`, `CAPTURE`, `CAPTURE_FAILED`, `REFUND`, `REFUND_FAILED`,
//! `REFUNDED_REVERSED` and `CANCEL_OR_REFUND`). [`InMemoryAdyenLedger`] is for tests and demos;
//! production shops back the ledger with their own store (see [`ledger`]).
//!
//! - [`Payments::payment`]: the ledger's book: captured from `CAPTURE`s, or from a successful
//!   `AUTHORISATION` when the account captures immediately ([`AdyenConfig::auto_capture`]);
//!   refunded = every refund not failed, pending included. `None` until a notification about the
//!   payment arrived.
//! - [`Payments::refund`]: the ledger reserves the refund atomically (idempotent by key,
//!   `Conflict` on a key reused with another amount, `Rejected` above captured minus refunds not
//!   failed) before anything is sent; then `POST {base}/payments/{pspReference}/refunds` with
//!   `merchantAccount`, `amount`, `reference` (derived from the key) and the `Idempotency-Key`
//!   header. A definitive refusal of the first attempt releases the reservation; a timeout, an
//!   outage or a rate limit keeps it in flight, and the caller's retry resends the same request
//!   with the same `Idempotency-Key`, which Adyen answers with the first answer (keys live at
//!   least 7 days), so a crash between request and answer refunds once. A resend is never
//!   released (the first attempt may have gone through). A `REFUND` notification also finds an
//!   in-flight refund by its `reference` and settles it, normally long before the key expires.
//!   A refund still in flight after [`REPLAY_WINDOW`] (Adyen keeps keys at least 7 days) is not
//!   resent: the retry fails closed with a non-retryable `Conflict` naming the `reference`, for
//!   a human to look it up in the Customer Area.
//! - [`Payments::refunds`]: the ledger's refunds of the payment, oldest first, with their keys;
//!   refunds made elsewhere (Customer Area) appear once their notification arrived, without key.
//!
//! Not covered: reading payments that no notification told the ledger about; captures,
//! cancellations and reversals initiated by the agent; line items for the payment methods that
//! require them on partial refunds (Klarna, Afterpay, ...); platform splits; the request's
//! metadata (Adyen's refund takes none: the ledger keeps the key); the classic
//! `/pal/servlet/Payment` API.
//!
//! Requests are built as data in [`requests`]; errors map to kinds in one table
//! (`responses::error`). Retries, rate limits and circuit breaking are the `resilience`
//! wrappers' job, not this adapter's.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use order_agent_core::domain::{Payment, PaymentId, Refund};
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{Payments, PortError, PortResult, RefundRequest};
use secrecy::SecretString;
use serde::Deserialize;

use crate::http::{HttpSender, WireRequest, WireResponse};

pub mod ledger;
pub mod requests;
mod responses;

pub use ledger::{
    AdyenBook, AdyenLedger, AdyenNotification, AdyenRefundRecord, AdyenRefundState, Applied,
    InMemoryAdyenLedger, Reservation,
};
pub use requests::MerchantRefundReason;

/// The Checkout API v71 on Adyen's test environment. Live accounts use their own prefix:
/// `https://{PREFIX}-checkout-live.adyenpayments.com/checkout/v71`.
pub const DEFAULT_BASE_URL: &str = "https://checkout-test.adyen.com/v71";

/// Adyen publishes no fixed request rate for the Checkout API (it throttles with 429 under
/// abnormal load); configure the `resilience` rate limiter from your account's agreement.
pub const PUBLISHED_RATE_PER_SECOND: Option<u32> = None;

/// How long a retry of an in-flight refund may simply resend it: Adyen keeps idempotency keys
/// for at least 7 days; one day of margin.
pub const REPLAY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::days(6);

/// How to reach one Adyen merchant account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdyenConfig {
    /// The API key of a web service user with the refund permission (`X-API-Key`). Never
    /// logged.
    pub api_key: SecretString,
    /// The merchant account that processed the payments.
    pub merchant_account: String,
    /// The Checkout API base URL, version included; [`DEFAULT_BASE_URL`] unless live or a mock.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Whether a successful `AUTHORISATION` captures at once (the account's capture delay is
    /// "immediate", Adyen's default). When false, only `CAPTURE` notifications count.
    #[serde(default = "default_auto_capture")]
    pub auto_capture: bool,
    /// The `merchantRefundReason` sent with every refund, if any.
    #[serde(default)]
    pub merchant_refund_reason: Option<MerchantRefundReason>,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_auto_capture() -> bool {
    true
}

fn default_timeout_ms() -> u64 {
    30_000
}

impl AdyenConfig {
    /// A configuration for `api_key` and `merchant_account` against the test environment.
    pub fn new(api_key: SecretString, merchant_account: impl Into<String>) -> AdyenConfig {
        AdyenConfig {
            api_key,
            merchant_account: merchant_account.into(),
            base_url: default_base_url(),
            auto_capture: default_auto_capture(),
            merchant_refund_reason: None,
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against another base URL (live, a mock, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> AdyenConfig {
        self.base_url = base_url.into();
        self
    }
}

/// The Adyen [`Payments`] adapter.
#[derive(Debug, Clone)]
pub struct AdyenPayments {
    config: AdyenConfig,
    http: HttpSender,
    ledger: Arc<dyn AdyenLedger>,
}

impl AdyenPayments {
    /// An adapter for the account `config` describes, keeping its books in `ledger`.
    pub fn new(config: AdyenConfig, ledger: Arc<dyn AdyenLedger>) -> PortResult<AdyenPayments> {
        let http = HttpSender::new(&config.base_url, Duration::from_millis(config.timeout_ms))?;
        Ok(AdyenPayments {
            config,
            http,
            ledger,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &AdyenConfig {
        &self.config
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn AdyenLedger> {
        &self.ledger
    }

    /// Applies one notification item, already verified (`AdyenVerifier`), to the ledger:
    /// records authorisations and captures, moves refunds from pending to succeeded or failed.
    /// Redeliveries change nothing; events the ledger does not track are ignored.
    pub async fn apply_notification(
        &self,
        notification: &AdyenNotification,
    ) -> PortResult<Applied> {
        self.ledger
            .apply(notification, self.config.auto_capture, Utc::now())
            .await
    }

    /// [`apply_notification`](Self::apply_notification) for an item the webhook parser read.
    #[cfg(feature = "webhooks")]
    pub async fn apply_notification_item(
        &self,
        item: &crate::webhooks::adyen::AdyenNotificationItem,
    ) -> PortResult<Applied> {
        self.apply_notification(&AdyenNotification::from_item(item)?)
            .await
    }

    async fn call(&self, request: &WireRequest) -> PortResult<WireResponse> {
        self.http.send_checked(request, responses::error).await
    }

    /// Sends the reserved refund. Only a first attempt refused for good releases the
    /// reservation: a resend may be refused (a rotated key, say) after the first attempt went
    /// through, so its reservation stays until a notification settles it.
    async fn send_refund(
        &self,
        wire: &WireRequest,
        request: &RefundRequest,
        first_attempt: bool,
    ) -> PortResult<Refund> {
        let op = ops::REFUND;
        let id = &request.payment_id;
        let key = request.idempotency_key.as_str();
        let response = match self.call(wire).await {
            Ok(response) => response,
            Err(e) => {
                if first_attempt && responses::refused_for_good(&e) {
                    self.ledger.release(id.as_str(), key).await?;
                }
                return Err(e.with_context("payment_id", id));
            }
        };
        let received: responses::RefundReceived = responses::parse(op, &response)?;
        if received.status != "received" || received.psp_reference.is_empty() {
            return Err(
                PortError::unexpected(op, "adyen did not acknowledge the refund")
                    .with_context("payment_id", id)
                    .with_context("adyen_status", &received.status),
            );
        }
        if let Some(reference) = &received.reference {
            if *reference != requests::reference(key) {
                return Err(
                    PortError::unexpected(op, "adyen acknowledged another reference")
                        .with_context("payment_id", id),
                );
            }
        }
        let record = self
            .ledger
            .received(id.as_str(), key, &received.psp_reference)
            .await?;
        Ok(record.to_refund(id))
    }
}

#[async_trait]
impl Payments for AdyenPayments {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        let op = ops::PAYMENT;
        let Some(book) = self.ledger.book(id.as_str()).await? else {
            return Ok(None);
        };
        let (Some(captured), Some(refunded)) = (book.captured(), book.refunded(op)?) else {
            return Ok(None);
        };
        Ok(Some(Payment {
            id: id.clone(),
            tender: book.tender,
            captured,
            refunded,
        }))
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        let op = ops::REFUND;
        let wire = requests::create_refund(&self.config, request)?;
        let id = &request.payment_id;
        let key = request.idempotency_key.as_str();
        if self.payment(id).await?.is_none() {
            return Err(PortError::not_found(op, "no such payment").with_context("payment_id", id));
        }
        let reservation = self
            .ledger
            .reserve(
                id.as_str(),
                key,
                &requests::reference(key),
                request.amount,
                Utc::now(),
            )
            .await?;
        match reservation {
            Reservation::New(_) => self.send_refund(&wire, request, true).await,
            Reservation::Existing(record) if record.state != AdyenRefundState::InFlight => {
                Ok(record.to_refund(id))
            }
            Reservation::Existing(record) if Utc::now() - record.created_at > REPLAY_WINDOW => {
                Err(PortError::conflict(
                    op,
                    "refund outcome unknown beyond the adyen idempotency window, reconcile by reference",
                )
                .with_retryable(false)
                .with_context("payment_id", id)
                .with_context("reference", &record.reference))
            }
            // Reserved before a crash or a lost answer: send again, same Idempotency-Key.
            Reservation::Existing(_) => self.send_refund(&wire, request, false).await,
        }
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        Ok(self
            .ledger
            .book(id.as_str())
            .await?
            .map(|book| book.refunds.iter().map(|r| r.to_refund(id)).collect())
            .unwrap_or_default())
    }
}

//! [Datatrans](https://api-reference.datatrans.ch/) (Swiss PSP: cards, TWINT, PostFinance, ...)
//! as the [`Payments`] port: credits (refunds) against settled transactions, over the JSON API
//! with basic auth (merchant id and password).
//!
//! - [`Payments::payment`]: `GET /v1/transactions/{transactionId}`: captured is
//!   `detail.settle.amount` once `settled` or `transmitted`; refunded is the sum of the `credit`
//!   actions in its `history` not marked failed; the tender comes from `paymentMethod` (`TWI` is
//!   TWINT). `None` for an unknown id (`TRANSACTION_NOT_FOUND`, an id Datatrans calls invalid,
//!   or not digits), and for a transaction that is not a payment (a credit, a card check).
//! - [`Payments::refund`]: the payment is read (currency, refundable = settled minus credited),
//!   then the [`DatatransLedger`] reserves the credit atomically (idempotent by key; `Conflict` on
//!   a key reused for another payment or amount; `Rejected` above what is refundable, credits
//!   still in flight included), then `POST /v1/transactions/{transactionId}/credit` with
//!   `amount`, `currency`, `refno` (derived from the key) and the `Idempotency-Key` header. A
//!   credit is its own transaction: its `transactionId` is the refund's id.
//! - [`Payments::refunds`]: the ledger's credits of the payment, oldest first, each state read
//!   from the credit's own status (`settled`/`transmitted` succeeded, `canceled`/`failed`
//!   failed, otherwise pending). Datatrans links a credit to its payment in neither direction the
//!   API can read (the payment's history has amounts and dates only), so the ledger is the list;
//!   credits made elsewhere (the merchant back office) count in `refunded` but are not listed.
//!
//! # A crash between request and answer
//!
//! The credit is reserved in the ledger before it is sent. When the answer is lost (timeout,
//! crash), the caller's retry with the same key resends the same body with the same
//! `Idempotency-Key`, and Datatrans replays the first answer: **for 60 minutes** (Datatrans'
//! idempotency window). A retry later than [`REPLAY_WINDOW`] after the reservation first
//! compares the payment's credited total with the one recorded at reservation: if it grew by
//! at least the amount, the credit may have happened and the adapter refuses with a
//! non-retryable `Conflict` naming the `refno`, for the agent's reconciliation (a human matches
//! the `refno` in the back office) instead of crediting twice; if not, nothing was credited and
//! the credit is sent again. The window in which a double credit stays possible is a retry
//! after 60 minutes while another credit of the same amount landed on the same payment
//! meanwhile: the check then refuses (fails closed), it never sends.
//!
//! A credit whose answer was lost counts at once in `refund`'s refundable check (as in flight),
//! and in `payment`'s `refunded` once Datatrans shows it in the payment's history.
//!
//! Not covered: the request's metadata (a credit takes none besides `refno`); authorisations, settlements, cancellations; marketplace splits; multi-currency
//! processing (`mcp`); reading credits made outside this adapter one by one.
//!
//! Requests are built as data in [`requests`]; errors map to kinds in one table
//! (`responses::error`). Retries, rate limits and circuit breaking are the `resilience`
//! wrappers' job.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use order_agent_core::domain::{Payment, PaymentId, Refund, RefundState};
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{Payments, PortError, PortErrorKind, PortResult, RefundRequest};
use order_agent_core::Money;
use secrecy::SecretString;
use serde::Deserialize;

use crate::http::{HttpSender, WireRequest, WireResponse};

pub mod ledger;
pub mod requests;
mod responses;

pub use ledger::{CreditBook, CreditRecord, DatatransLedger, InMemoryDatatransLedger, Reservation};

use responses::{CreditResponse, TransactionStatus};

/// Datatrans' sandbox. Live: `https://api.datatrans.com`.
pub const DEFAULT_BASE_URL: &str = "https://api.sandbox.datatrans.com";

/// Datatrans publishes no request rate limit for its JSON API; configure the `resilience` rate
/// limiter from your contract.
pub const PUBLISHED_RATE_PER_SECOND: Option<u32> = None;

/// How long a retry of an in-flight credit may simply resend it: Datatrans keeps idempotency
/// keys for 60 minutes; 5 minutes of margin for clocks and slow requests.
pub const REPLAY_WINDOW: chrono::TimeDelta = chrono::TimeDelta::minutes(55);

/// How to reach one Datatrans merchant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatatransConfig {
    /// The merchant id (basic auth user name).
    pub merchant_id: String,
    /// The server-to-server API password (basic auth password). Never logged.
    pub password: SecretString,
    /// The API base URL; [`DEFAULT_BASE_URL`] unless live or a mock.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_timeout_ms() -> u64 {
    30_000
}

impl DatatransConfig {
    /// A configuration for `merchant_id` and `password` against the sandbox.
    pub fn new(merchant_id: impl Into<String>, password: SecretString) -> DatatransConfig {
        DatatransConfig {
            merchant_id: merchant_id.into(),
            password,
            base_url: default_base_url(),
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against another base URL (live, a mock, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> DatatransConfig {
        self.base_url = base_url.into();
        self
    }
}

/// The Datatrans [`Payments`] adapter.
#[derive(Debug, Clone)]
pub struct DatatransPayments {
    config: DatatransConfig,
    http: HttpSender,
    ledger: Arc<dyn DatatransLedger>,
}

impl DatatransPayments {
    /// An adapter for the merchant `config` describes, recording its credits in `ledger`.
    pub fn new(
        config: DatatransConfig,
        ledger: Arc<dyn DatatransLedger>,
    ) -> PortResult<DatatransPayments> {
        let http = HttpSender::new(&config.base_url, Duration::from_millis(config.timeout_ms))?;
        Ok(DatatransPayments {
            config,
            http,
            ledger,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DatatransConfig {
        &self.config
    }

    async fn call(&self, request: &WireRequest) -> PortResult<WireResponse> {
        self.http.send_checked(request, responses::error).await
    }

    /// The status of transaction `id`, `None` when Datatrans does not know it.
    async fn status(&self, op: &'static str, id: &str) -> PortResult<Option<TransactionStatus>> {
        let request = match requests::status(&self.config, op, id) {
            Ok(request) => request,
            Err(e) if e.kind() == PortErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        match self.call(&request).await {
            Ok(response) => responses::parse(op, &response).map(Some),
            Err(e) if e.kind() == PortErrorKind::NotFound => Ok(None),
            // The only property of a status request is the id ("transactionId length must be
            // 18 digits"): such an id names no transaction.
            Err(e) if e.context_value("datatrans_code") == Some("INVALID_PROPERTY") => Ok(None),
            Err(e) => Err(e.with_context("transaction_id", id)),
        }
    }

    async fn lookup(
        &self,
        op: &'static str,
        id: &PaymentId,
    ) -> PortResult<Option<TransactionStatus>> {
        Ok(self
            .status(op, id.as_str())
            .await?
            .filter(TransactionStatus::is_payment))
    }

    /// The refund of `record` with its state read from the credit's own status.
    async fn refund_of(&self, op: &'static str, record: &CreditRecord) -> PortResult<Refund> {
        let Some(id) = &record.transaction_id else {
            return Ok(record.to_refund(RefundState::Pending));
        };
        let Some(credit) = self.status(op, id).await? else {
            return Err(
                PortError::unexpected(op, "datatrans does not know a credit it made")
                    .with_context("transaction_id", id),
            );
        };
        if credit.refno.as_deref().is_some_and(|r| r != record.refno) {
            return Err(PortError::unexpected(op, "credit carries another refno")
                .with_context("transaction_id", id));
        }
        Ok(record.to_refund(responses::credit_state(credit.status.as_deref())))
    }

    /// Sends the reserved credit. Only a first attempt refused for good releases the
    /// reservation: a resend may be refused after the first attempt went through.
    async fn send_credit(
        &self,
        wire: &WireRequest,
        request: &RefundRequest,
        first_attempt: bool,
    ) -> PortResult<Refund> {
        let op = ops::REFUND;
        let key = request.idempotency_key.as_str();
        let response = match self.call(wire).await {
            Ok(response) => response,
            Err(e) => {
                if first_attempt && responses::refused_for_good(&e) {
                    self.ledger.release(key).await?;
                }
                return Err(e.with_context("payment_id", &request.payment_id));
            }
        };
        let credit: CreditResponse = responses::parse(op, &response)?;
        if !requests::is_transaction_id(&credit.transaction_id) {
            return Err(PortError::unexpected(op, "credit without a transaction id")
                .with_context("payment_id", &request.payment_id));
        }
        let record = self.ledger.confirm(key, &credit.transaction_id).await?;
        Ok(record.to_refund(RefundState::Pending))
    }
}

#[async_trait]
impl Payments for DatatransPayments {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        let op = ops::PAYMENT;
        let Some(found) = self.lookup(op, id).await? else {
            return Ok(None);
        };
        let (captured, refunded) = found.amounts(op)?;
        Ok(Some(Payment {
            id: id.clone(),
            tender: responses::tender(found.payment_method.as_deref()),
            captured,
            refunded,
        }))
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        let op = ops::REFUND;
        let wire = requests::credit(&self.config, request)?;
        let id = &request.payment_id;
        let key = request.idempotency_key.as_str();
        let Some(found) = self.lookup(op, id).await? else {
            return Err(PortError::not_found(op, "no such payment").with_context("payment_id", id));
        };
        let (settled, credited) = found.amounts(op)?;
        if request.amount.currency() != settled.currency() {
            return Err(
                PortError::invalid_input(op, "refund currency differs from the payment's")
                    .with_context("payment_id", id)
                    .with_context("amount", request.amount),
            );
        }
        let refundable = settled
            .checked_sub(credited)
            .map_err(|e| PortError::unexpected(op, "amounts do not add up").with_source(e))?;
        let now = Utc::now();
        let record = CreditRecord {
            payment_id: id.as_str().to_owned(),
            idempotency_key: key.to_owned(),
            refno: requests::refno(key),
            amount: request.amount,
            transaction_id: None,
            credited_before: credited,
            created_at: now,
        };
        match self.ledger.reserve(record, refundable).await? {
            Reservation::New(_) => self.send_credit(&wire, request, true).await,
            Reservation::Existing(existing) if existing.transaction_id.is_some() => {
                self.refund_of(op, &existing).await
            }
            Reservation::Existing(existing) => {
                if now - existing.created_at > REPLAY_WINDOW {
                    let landed: Money = existing
                        .credited_before
                        .checked_add(existing.amount)
                        .map_err(|e| {
                            PortError::unexpected(op, "amounts do not add up").with_source(e)
                        })?;
                    if credited.to_minor() >= landed.to_minor() {
                        return Err(PortError::conflict(
                            op,
                            "refund outcome unknown beyond the datatrans idempotency window, reconcile by refno",
                        )
                        .with_retryable(false)
                        .with_context("payment_id", id)
                        .with_context("refno", &existing.refno));
                    }
                }
                self.send_credit(&wire, request, false).await
            }
        }
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        let op = ops::REFUNDS;
        let mut out = Vec::new();
        for record in self.ledger.credits(id.as_str()).await? {
            out.push(self.refund_of(op, &record).await?);
        }
        Ok(out)
    }
}

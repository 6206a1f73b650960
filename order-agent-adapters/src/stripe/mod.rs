//! [Stripe](https://docs.stripe.com/api/refunds) as the [`Payments`] port: payment intents and
//! their refunds.
//!
//! - [`Payments::payment`]: `GET /v1/payment_intents/{id}` gives what was captured
//!   (`amount_received`; `GET /v1/charges/{id}` and `amount_captured` for a `ch_` id from an
//!   older integration); what was refunded is the sum of the intent's refunds that are not failed
//!   or canceled (pending ones included), listed as below.
//! - [`Payments::refund`]: the intent is read first (unknown: `NotFound`; another currency:
//!   `InvalidInput`), then `POST /v1/refunds` with `payment_intent`, `amount` in minor units, the
//!   request's metadata plus `metadata[intent]` = the idempotency key, and the `Idempotency-Key`
//!   header. Stripe replays the first answer for a key reused with the same parameters and
//!   refuses it with `idempotency_error` (`Conflict`) otherwise.
//! - [`Payments::refunds`]: `GET /v1/refunds?payment_intent=..`, every page, oldest first; each
//!   refund's `idempotency_key` comes from its `metadata[intent]`.
//!
//! Requests are built as data in [`requests`]; errors map to kinds in one table
//! (`responses::error`). Retries, timeouts beyond one request, rate limits and circuit breaking
//! are the `resilience` wrappers' job, not this adapter's.

use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::{Payment, PaymentId, Refund};
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{Payments, PortError, PortResult, RefundRequest};
use order_agent_core::Money;
use secrecy::SecretString;
use serde::Deserialize;

use crate::http::{HttpSender, WireRequest, WireResponse};

pub mod requests;
mod responses;

use responses::{RefundPage, StripePayment, StripeRefund};

/// Stripe's API.
pub const DEFAULT_BASE_URL: &str = "https://api.stripe.com";

/// Stripe's published rate limit in live mode, requests per second per account (test mode: 25).
pub const PUBLISHED_LIVE_RATE_PER_SECOND: u32 = 100;

/// Pages read at most when listing one payment's refunds.
const MAX_PAGES: usize = 100;

/// How to reach one Stripe account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeConfig {
    /// The secret or restricted API key (`sk_...`/`rk_...`); it needs read access to payment
    /// intents and write access to refunds. Never logged.
    pub api_key: SecretString,
    /// The API base URL; [`DEFAULT_BASE_URL`] unless testing against a mock.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Pins the API version (`Stripe-Version`), e.g. `2024-06-20`; the account's default when
    /// absent.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Acts on a connected account (`Stripe-Account`, `acct_...`).
    #[serde(default)]
    pub account: Option<String>,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl StripeConfig {
    /// A configuration for `api_key` against the real API.
    pub fn new(api_key: SecretString) -> StripeConfig {
        StripeConfig {
            api_key,
            base_url: default_base_url(),
            api_version: None,
            account: None,
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against another base URL (a mock, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> StripeConfig {
        self.base_url = base_url.into();
        self
    }
}

/// The Stripe [`Payments`] adapter.
#[derive(Debug, Clone)]
pub struct StripePayments {
    config: StripeConfig,
    http: HttpSender,
}

impl StripePayments {
    /// An adapter for the account `config` describes.
    pub fn new(config: StripeConfig) -> PortResult<StripePayments> {
        let http = HttpSender::new(&config.base_url, Duration::from_millis(config.timeout_ms))?;
        Ok(StripePayments { config, http })
    }

    /// The configuration.
    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    async fn call(&self, request: &WireRequest) -> PortResult<WireResponse> {
        self.http.send_checked(request, responses::error).await
    }

    async fn lookup(&self, op: &'static str, id: &PaymentId) -> PortResult<Option<StripePayment>> {
        match self.call(&requests::payment(&self.config, id)).await {
            Ok(response) => responses::parse(op, &response).map(Some),
            Err(e) if responses::is_missing(&e) => Ok(None),
            Err(e) => Err(e.with_operation(op).with_context("payment_id", id)),
        }
    }

    async fn list(&self, op: &'static str, id: &PaymentId) -> PortResult<Vec<StripeRefund>> {
        let mut all: Vec<StripeRefund> = Vec::new();
        for _ in 0..MAX_PAGES {
            let last = all.last().map(|r| r.id.clone());
            let request = requests::list_refunds(&self.config, id, last.as_deref());
            let page: RefundPage = match self.call(&request).await {
                Ok(response) => responses::parse(op, &response)?,
                Err(e) if responses::is_missing(&e) => return Ok(Vec::new()),
                Err(e) => return Err(e.with_operation(op).with_context("payment_id", id)),
            };
            let more = page.has_more && !page.data.is_empty();
            all.extend(page.data);
            if !more {
                // Stripe lists newest first; reversing keeps refunds created in the same second
                // in creation order.
                all.reverse();
                all.sort_by_key(|r| r.created);
                return Ok(all);
            }
        }
        Err(PortError::unexpected(op, "too many refunds to list").with_context("payment_id", id))
    }
}

#[async_trait]
impl Payments for StripePayments {
    async fn payment(&self, id: &PaymentId) -> PortResult<Option<Payment>> {
        let op = ops::PAYMENT;
        let Some(found) = self.lookup(op, id).await? else {
            return Ok(None);
        };
        let currency = responses::currency(op, &found.currency)?;
        let mut refunded = Money::zero(currency);
        for refund in self.list(op, id).await? {
            let refund = refund.into_refund(op, id)?;
            if refund.state != order_agent_core::domain::RefundState::Failed {
                refunded = refunded.checked_add(refund.amount).map_err(|e| {
                    PortError::unexpected(op, "refunds in another currency than the payment")
                        .with_context("payment_id", id)
                        .with_source(e)
                })?;
            }
        }
        Ok(Some(Payment {
            id: id.clone(),
            tender: responses::tender(found.method()),
            captured: Money::from_minor(found.captured(), currency),
            refunded,
        }))
    }

    async fn refund(&self, request: &RefundRequest) -> PortResult<Refund> {
        let op = ops::REFUND;
        let wire = requests::create_refund(&self.config, request)?;
        let id = &request.payment_id;
        let Some(found) = self.lookup(op, id).await? else {
            return Err(PortError::not_found(op, "no such payment").with_context("payment_id", id));
        };
        let currency = responses::currency(op, &found.currency)?;
        if request.amount.currency() != currency {
            return Err(
                PortError::invalid_input(op, "refund currency differs from the payment's")
                    .with_context("payment_id", id)
                    .with_context("amount", request.amount),
            );
        }
        let response = self
            .call(&wire)
            .await
            .map_err(|e| e.with_context("payment_id", id))?;
        let refund: StripeRefund = responses::parse(op, &response)?;
        let refund = refund.into_refund(op, id)?;
        if refund.amount != request.amount {
            return Err(
                PortError::unexpected(op, "stripe refunded another amount than asked")
                    .with_context("payment_id", id)
                    .with_context("refund_id", &refund.id),
            );
        }
        Ok(refund)
    }

    async fn refunds(&self, id: &PaymentId) -> PortResult<Vec<Refund>> {
        let op = ops::REFUNDS;
        self.list(op, id)
            .await?
            .into_iter()
            .map(|r| r.into_refund(op, id))
            .collect()
    }
}

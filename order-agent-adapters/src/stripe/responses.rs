//! What Stripe answers: the objects the adapter reads and the error table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use order_agent_core::domain::{PaymentId, Refund, RefundId, RefundState, Tender};
use order_agent_core::ports::{PortError, PortErrorKind, PortResult};
use order_agent_core::{Currency, Money};
use serde::Deserialize;

use super::requests::INTENT_METADATA_KEY;
use crate::http::{status_error, WireResponse};

/// A payment intent or a charge, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StripePayment {
    /// Payment intents: what was captured.
    #[serde(default)]
    amount_received: Option<i64>,
    /// Charges: what was captured.
    #[serde(default)]
    amount_captured: Option<i64>,
    pub(crate) currency: String,
    /// Payment intents.
    #[serde(default)]
    payment_method_types: Vec<String>,
    /// Charges.
    #[serde(default)]
    payment_method_details: Option<PaymentMethodDetails>,
}

#[derive(Debug, Clone, Deserialize)]
struct PaymentMethodDetails {
    #[serde(rename = "type")]
    kind: String,
}

impl StripePayment {
    /// Captured, in minor units.
    pub(crate) fn captured(&self) -> i64 {
        self.amount_received.or(self.amount_captured).unwrap_or(0)
    }

    /// The payment method type, e.g. `card`.
    pub(crate) fn method(&self) -> Option<&str> {
        self.payment_method_types
            .first()
            .map(String::as_str)
            .or(self
                .payment_method_details
                .as_ref()
                .map(|d| d.kind.as_str()))
    }
}

/// A refund, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct StripeRefund {
    pub(crate) id: String,
    pub(crate) amount: i64,
    pub(crate) currency: String,
    #[serde(default)]
    pub(crate) status: Option<String>,
    pub(crate) created: i64,
    #[serde(default)]
    pub(crate) metadata: BTreeMap<String, String>,
}

/// One page of `GET /v1/refunds`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RefundPage {
    pub(crate) data: Vec<StripeRefund>,
    pub(crate) has_more: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    error: StripeError,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct StripeError {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    param: String,
}

/// Stripe error codes that mean "understood, refused under Stripe's rules".
const REJECTED_CODES: &[&str] = &[
    "amount_too_large",
    "charge_already_refunded",
    "charge_disputed",
    "refund_disputed_payment",
    "balance_insufficient",
    "insufficient_funds",
    "payment_intent_unexpected_state",
];

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    crate::http::parse_json("stripe", op, response)
}

/// The one table from Stripe's status, error type and code to a [`PortErrorKind`]; the
/// `Stripe-Should-Retry` header, when present, decides whether retrying may help.
pub(crate) fn error(op: &'static str, response: &WireResponse) -> PortError {
    let body: ErrorEnvelope = serde_json::from_slice(&response.body).unwrap_or_default();
    let e = body.error;
    let status = response.status;
    let err = match (status, e.kind.as_str(), e.code.as_str()) {
        (429, _, _) | (_, _, "rate_limit") => PortError::rate_limited(op, response.retry_after()),
        (_, "idempotency_error", _) => {
            PortError::conflict(op, "idempotency key already used for another request")
        }
        (401, _, _) => PortError::unauthorized(op, "api key refused"),
        (403, _, _) => PortError::unauthorized(op, "api key lacks a permission"),
        (_, _, "resource_missing") => PortError::not_found(op, "no such object"),
        (_, "card_error", _) => PortError::rejected(op, "refused by the card network"),
        (_, _, code) if REJECTED_CODES.contains(&code) => {
            PortError::rejected(op, "refused by stripe")
        }
        (_, "invalid_request_error", _) if e.param == "amount" => {
            PortError::rejected(op, "amount not refundable")
        }
        // Concurrent use of one idempotency key: the first request is still running.
        (409, _, _) => {
            PortError::conflict(op, "a request with this key is in progress").with_retryable(true)
        }
        (500..=599, _, _) | (_, "api_error", _) => {
            PortError::unavailable(op, "stripe server error")
        }
        (400..=499, "invalid_request_error", _) => {
            PortError::invalid_input(op, "request refused by stripe")
        }
        _ => status_error(op, response),
    };
    let mut err = if err.context_value("status").is_some() {
        err
    } else {
        err.with_context("status", status)
    };
    for (key, value) in [("stripe_type", &e.kind), ("stripe_code", &e.code)] {
        if !value.is_empty() {
            err = err.with_context(key, value);
        }
    }
    if let Some(id) = response.header("request-id") {
        err = err.with_context("request_id", id);
    }
    match response.header("stripe-should-retry") {
        Some("true") => err.with_retryable(true),
        Some("false") => err.with_retryable(false),
        _ => err,
    }
}

/// Whether `err` says the object does not exist.
pub(crate) fn is_missing(err: &PortError) -> bool {
    err.kind() == PortErrorKind::NotFound
}

/// Stripe's lowercase currency code as a [`Currency`].
pub(crate) fn currency(op: &'static str, code: &str) -> PortResult<Currency> {
    Currency::from_code(&code.to_ascii_uppercase()).map_err(|e| {
        PortError::unexpected(op, "unknown currency in the stripe response")
            .with_context("currency", code)
            .with_source(e)
    })
}

/// The tender of a payment from its payment method type; cards (and wallets that pay by card)
/// are the fallback.
pub(crate) fn tender(method: Option<&str>) -> Tender {
    match method {
        Some("paypal") => Tender::Paypal,
        Some("twint") => Tender::Twint,
        Some(
            "sepa_debit" | "us_bank_account" | "bacs_debit" | "au_becs_debit" | "acss_debit"
            | "customer_balance" | "sofort" | "ideal" | "bancontact" | "eps" | "giropay" | "p24",
        ) => Tender::BankTransfer,
        _ => Tender::Card,
    }
}

/// Stripe refund statuses: `failed` and `canceled` are failed; `pending` and `requires_action`
/// are pending; `succeeded` succeeded.
pub(crate) fn refund_state(status: Option<&str>) -> RefundState {
    match status {
        Some("succeeded") => RefundState::Succeeded,
        Some("failed" | "canceled") => RefundState::Failed,
        _ => RefundState::Pending,
    }
}

impl StripeRefund {
    /// The refund as the port reports it.
    pub(crate) fn into_refund(self, op: &'static str, payment: &PaymentId) -> PortResult<Refund> {
        let currency = currency(op, &self.currency)?;
        let created_at: DateTime<Utc> =
            DateTime::from_timestamp(self.created, 0).ok_or_else(|| {
                PortError::unexpected(op, "refund creation time out of range")
                    .with_context("refund_id", &self.id)
            })?;
        Ok(Refund {
            id: RefundId::new(self.id),
            payment_id: payment.clone(),
            amount: Money::from_minor(self.amount, currency),
            state: refund_state(self.status.as_deref()),
            idempotency_key: self.metadata.get(INTENT_METADATA_KEY).cloned(),
            created_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str, headers: &[(&str, &str)]) -> WireResponse {
        WireResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_table() {
        let cases = [
            (
                429,
                r#"{"error":{"type":"invalid_request_error","code":"rate_limit"}}"#,
                PortErrorKind::RateLimited {
                    retry_after: Some(std::time::Duration::from_secs(3)),
                },
            ),
            (
                400,
                r#"{"error":{"type":"idempotency_error"}}"#,
                PortErrorKind::Conflict,
            ),
            (
                401,
                r#"{"error":{"type":"invalid_request_error"}}"#,
                PortErrorKind::Unauthorized,
            ),
            (
                404,
                r#"{"error":{"type":"invalid_request_error","code":"resource_missing"}}"#,
                PortErrorKind::NotFound,
            ),
            (
                400,
                r#"{"error":{"type":"invalid_request_error","code":"resource_missing","param":"payment_intent"}}"#,
                PortErrorKind::NotFound,
            ),
            (
                402,
                r#"{"error":{"type":"card_error","code":"card_declined"}}"#,
                PortErrorKind::Rejected,
            ),
            (
                400,
                r#"{"error":{"type":"invalid_request_error","code":"charge_already_refunded"}}"#,
                PortErrorKind::Rejected,
            ),
            (
                400,
                r#"{"error":{"type":"invalid_request_error","param":"amount"}}"#,
                PortErrorKind::Rejected,
            ),
            (
                400,
                r#"{"error":{"type":"invalid_request_error","param":"currency"}}"#,
                PortErrorKind::InvalidInput,
            ),
            (
                409,
                r#"{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use"}}"#,
                PortErrorKind::Conflict,
            ),
            (
                500,
                r#"{"error":{"type":"api_error"}}"#,
                PortErrorKind::Unavailable,
            ),
            (503, "<html>", PortErrorKind::Unavailable),
        ];
        for (status, body, kind) in cases {
            let err = error(
                "payments.refund",
                &response(status, body, &[("retry-after", "3")]),
            );
            assert_eq!(err.kind(), kind, "{status} {body}");
            assert_eq!(
                err.context_value("status"),
                Some(status.to_string().as_str())
            );
        }
        let conflict = error("payments.refund", &response(409, "{}", &[]));
        assert!(conflict.is_retryable());
        let told = error(
            "payments.refund",
            &response(
                500,
                "{}",
                &[("stripe-should-retry", "false"), ("request-id", "req_1")],
            ),
        );
        assert!(!told.is_retryable());
        assert_eq!(told.context_value("request_id"), Some("req_1"));
    }

    #[test]
    fn refund_states() {
        assert_eq!(refund_state(Some("succeeded")), RefundState::Succeeded);
        assert_eq!(refund_state(Some("pending")), RefundState::Pending);
        assert_eq!(refund_state(Some("requires_action")), RefundState::Pending);
        assert_eq!(refund_state(Some("canceled")), RefundState::Failed);
        assert_eq!(refund_state(Some("failed")), RefundState::Failed);
    }
}

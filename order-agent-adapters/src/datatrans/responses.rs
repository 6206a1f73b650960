//! What Datatrans answers: the status and credit responses, and the one error table.

use order_agent_core::domain::{RefundState, Tender};
use order_agent_core::ports::{PortError, PortErrorKind, PortResult};
use order_agent_core::{Currency, Money};
use serde::Deserialize;

use crate::http::{status_error, WireResponse};

/// `GET /v1/transactions/{id}`, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransactionStatus {
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) status: Option<String>,
    #[serde(default)]
    pub(crate) currency: Option<String>,
    #[serde(default)]
    pub(crate) refno: Option<String>,
    #[serde(default)]
    pub(crate) payment_method: Option<String>,
    #[serde(default)]
    pub(crate) detail: Option<Detail>,
    #[serde(default)]
    pub(crate) history: Vec<Action>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Detail {
    #[serde(default)]
    settle: Option<AmountDetail>,
    #[serde(default)]
    credit: Option<AmountDetail>,
}

#[derive(Debug, Clone, Deserialize)]
struct AmountDetail {
    #[serde(default)]
    amount: Option<i64>,
}

/// One entry of a transaction's `history`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Action {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    amount: Option<i64>,
    #[serde(default)]
    success: Option<bool>,
}

/// `POST /v1/transactions/{id}/credit`: the credit's own transaction.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreditResponse {
    pub(crate) transaction_id: String,
}

impl TransactionStatus {
    /// The currency.
    pub(crate) fn currency(&self, op: &'static str) -> PortResult<Currency> {
        let code = self.currency.as_deref().unwrap_or_default();
        Currency::from_code(code).map_err(|e| {
            PortError::unexpected(op, "unknown currency in the datatrans response")
                .with_context("currency", code)
                .with_source(e)
        })
    }

    /// Whether this is a payment (not a credit or a card check).
    pub(crate) fn is_payment(&self) -> bool {
        matches!(self.kind.as_deref(), None | Some("payment"))
    }

    /// Settled (captured), in minor units: `detail.settle.amount` once settled or transmitted.
    pub(crate) fn settled(&self) -> i64 {
        match self.status.as_deref() {
            Some("settled" | "transmitted") => self
                .detail
                .as_ref()
                .and_then(|d| d.settle.as_ref())
                .and_then(|s| s.amount)
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// Credited so far, in minor units: the `credit` actions of the history not marked failed;
    /// `detail.credit.amount` when the history has none.
    pub(crate) fn credited(&self) -> i64 {
        let credits: Vec<&Action> = self
            .history
            .iter()
            .filter(|a| a.action.as_deref() == Some("credit"))
            .collect();
        if credits.is_empty() {
            return self
                .detail
                .as_ref()
                .and_then(|d| d.credit.as_ref())
                .and_then(|c| c.amount)
                .unwrap_or(0);
        }
        credits
            .iter()
            .filter(|a| a.success != Some(false))
            .filter_map(|a| a.amount)
            .sum()
    }

    /// Settled and credited as money.
    pub(crate) fn amounts(&self, op: &'static str) -> PortResult<(Money, Money)> {
        let currency = self.currency(op)?;
        Ok((
            Money::from_minor(self.settled(), currency),
            Money::from_minor(self.credited(), currency),
        ))
    }
}

/// The tender of a payment method code (`TWI` is TWINT); cards are the fallback.
pub(crate) fn tender(method: Option<&str>) -> Tender {
    match method {
        Some("TWI") => Tender::Twint,
        Some("PAP") => Tender::Paypal,
        // SEPA direct debit, PostFinance, eps, iDEAL, invoices (Byjuno, Klarna).
        Some("ELV" | "PFC" | "PEF" | "EPS" | "DIB" | "INT" | "KLN") => Tender::BankTransfer,
        _ => Tender::Card,
    }
}

/// A credit transaction's status as a refund state.
pub(crate) fn credit_state(status: Option<&str>) -> RefundState {
    match status {
        Some("settled" | "transmitted") => RefundState::Succeeded,
        Some("canceled" | "failed") => RefundState::Failed,
        _ => RefundState::Pending,
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    error: DatatransError,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct DatatransError {
    #[serde(default)]
    code: String,
}

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    crate::http::parse_json("datatrans", op, response)
}

/// The one table from Datatrans' `error.code` (then the HTTP status) to a [`PortErrorKind`].
pub(crate) fn error(op: &'static str, response: &WireResponse) -> PortError {
    let body: ErrorEnvelope = serde_json::from_slice(&response.body).unwrap_or_default();
    let code = body.error.code.as_str();
    let status = response.status;
    let err = match (status, code) {
        (429, _) => PortError::rate_limited(op, response.retry_after()),
        (_, "TRANSACTION_NOT_FOUND") => PortError::not_found(op, "no such transaction"),
        (_, "UNAUTHORIZED" | "FORBIDDEN") | (401 | 403, _) => {
            PortError::unauthorized(op, "credentials refused")
        }
        (
            _,
            "INVALID_TRANSACTION_STATUS"
            | "DECLINED"
            | "SOFT_DECLINED"
            | "REFERRAL"
            | "BLOCKED_CARD"
            | "EXPIRED_CARD"
            | "INVALID_CARD"
            | "UNSUPPORTED_CARD"
            | "BLOCKED_BY_VELOCITY_CHECKER"
            | "NOT_SUPPORTED_BY_THIRD_PARTY"
            | "UNSUPPORTED_PAYMENT_METHOD"
            | "INVALID_SETUP"
            | "INVALID_STATE",
        ) => PortError::rejected(op, "refused by datatrans"),
        (_, "DUPLICATE_REFNO") => PortError::conflict(op, "refno already used"),
        (_, "SERVER_ERROR" | "UNKNOWN_ERROR" | "THIRD_PARTY_ERROR") | (500..=599, _) => {
            PortError::unavailable(op, "datatrans server error")
        }
        // Idempotency: the first request with this key is still running.
        (409, _) => {
            PortError::conflict(op, "a request with this key is in progress").with_retryable(true)
        }
        // Idempotency: the key came with another body.
        (422, _) => PortError::conflict(op, "idempotency key already used for another request"),
        (
            400,
            "INVALID_PROPERTY"
            | "UNRECOGNIZED_PROPERTY"
            | "INVALID_JSON_PAYLOAD"
            | "INVALID_HEADER"
            | "CLIENT_ERROR"
            | "INVALID_SIGN"
            | "INVALID_ALIAS"
            | "INVALID_CVV"
            | "",
        ) => PortError::invalid_input(op, "request refused by datatrans"),
        _ => status_error(op, response),
    };
    let err = if err.context_value("status").is_some() {
        err
    } else {
        err.with_context("status", status)
    };
    if code.is_empty() {
        err
    } else {
        err.with_context("datatrans_code", code)
    }
}

/// Whether an error proves Datatrans did not credit (so the reservation can be released).
pub(crate) fn refused_for_good(err: &PortError) -> bool {
    !err.is_retryable()
        && matches!(
            err.kind(),
            PortErrorKind::InvalidInput
                | PortErrorKind::Rejected
                | PortErrorKind::Unauthorized
                | PortErrorKind::NotFound
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> WireResponse {
        WireResponse {
            status,
            headers: vec![("retry-after".to_owned(), "3".to_owned())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn coded(code: &str) -> String {
        format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#)
    }

    #[test]
    fn error_table() {
        let cases = [
            (
                429,
                String::new(),
                PortErrorKind::RateLimited {
                    retry_after: Some(std::time::Duration::from_secs(3)),
                },
            ),
            (404, coded("TRANSACTION_NOT_FOUND"), PortErrorKind::NotFound),
            (400, coded("TRANSACTION_NOT_FOUND"), PortErrorKind::NotFound),
            (401, coded("UNAUTHORIZED"), PortErrorKind::Unauthorized),
            (403, String::new(), PortErrorKind::Unauthorized),
            (
                400,
                coded("INVALID_TRANSACTION_STATUS"),
                PortErrorKind::Rejected,
            ),
            (400, coded("DECLINED"), PortErrorKind::Rejected),
            (400, coded("DUPLICATE_REFNO"), PortErrorKind::Conflict),
            (400, coded("INVALID_PROPERTY"), PortErrorKind::InvalidInput),
            (
                400,
                coded("UNRECOGNIZED_PROPERTY"),
                PortErrorKind::InvalidInput,
            ),
            (500, coded("UNKNOWN_ERROR"), PortErrorKind::Unavailable),
            (400, coded("UNKNOWN_ERROR"), PortErrorKind::Unavailable),
            (503, "<html>".to_owned(), PortErrorKind::Unavailable),
            (409, String::new(), PortErrorKind::Conflict),
            (422, String::new(), PortErrorKind::Conflict),
        ];
        for (status, body, kind) in cases {
            let err = error("payments.refund", &response(status, &body));
            assert_eq!(err.kind(), kind, "{status} {body}");
            assert_eq!(
                err.context_value("status"),
                Some(status.to_string().as_str())
            );
        }
        assert!(error("payments.refund", &response(409, "")).is_retryable());
        assert!(!error("payments.refund", &response(422, "")).is_retryable());
        assert!(refused_for_good(&error(
            "payments.refund",
            &response(400, &coded("INVALID_TRANSACTION_STATUS"))
        )));
        assert!(!refused_for_good(&error(
            "payments.refund",
            &response(500, "")
        )));
    }

    #[test]
    fn credited_reads_the_history() {
        let status: TransactionStatus = serde_json::from_str(
            r#"{"type":"payment","status":"settled","currency":"CHF","paymentMethod":"TWI",
                "detail":{"settle":{"amount":1000},"credit":{"amount":100}},
                "history":[{"action":"settle","amount":1000,"success":true},
                           {"action":"credit","amount":300,"success":true},
                           {"action":"credit","amount":100,"success":false},
                           {"action":"credit","amount":100,"success":true}]}"#,
        )
        .unwrap();
        assert_eq!(status.settled(), 1000);
        assert_eq!(status.credited(), 400);
        assert_eq!(tender(status.payment_method.as_deref()), Tender::Twint);
        let no_history: TransactionStatus = serde_json::from_str(
            r#"{"status":"authorized","currency":"CHF","detail":{"credit":{"amount":100}}}"#,
        )
        .unwrap();
        assert_eq!(no_history.settled(), 0);
        assert_eq!(no_history.credited(), 100);
    }
}

//! What Adyen answers: the refund acknowledgement and the one error table.

use order_agent_core::ports::{PortError, PortErrorKind, PortResult};
use serde::Deserialize;

use crate::http::{status_error, WireResponse};

/// The answer to `POST /payments/{id}/refunds`, the fields the adapter reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RefundReceived {
    pub(crate) psp_reference: String,
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) reference: Option<String>,
}

/// Adyen's `ServiceError`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceError {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    psp_reference: String,
}

/// Parses a 2xx body.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(
    op: &'static str,
    response: &WireResponse,
) -> PortResult<T> {
    crate::http::parse_json("adyen", op, response)
}

/// Adyen error codes that mean "understood, refused under Adyen's rules": 137, invalid amount
/// (more than what is left to refund, or a partial refund the payment method refuses).
const REJECTED_CODES: &[&str] = &["137"];

/// The one table from Adyen's status, `errorCode` and `errorType` to a [`PortErrorKind`].
pub(crate) fn error(op: &'static str, response: &WireResponse) -> PortError {
    let body: ServiceError = serde_json::from_slice(&response.body).unwrap_or_default();
    let status = response.status;
    let err = match (status, body.error_code.as_str(), body.error_type.as_str()) {
        (429, _, _) => PortError::rate_limited(op, response.retry_after()),
        // "Request already processed or in progress": the first request with this
        // Idempotency-Key is still running; retrying later replays its answer.
        (_, "704", _) => {
            PortError::conflict(op, "a request with this key is in progress").with_retryable(true)
        }
        (401, _, _) => PortError::unauthorized(op, "api key refused"),
        (403, _, _) => PortError::unauthorized(op, "api key lacks a permission"),
        (_, code, _) if REJECTED_CODES.contains(&code) => {
            PortError::rejected(op, "refused by adyen")
        }
        (404, _, _) => PortError::not_found(op, "no such payment at adyen"),
        (500..=599, _, _) => PortError::unavailable(op, "adyen server error"),
        (400 | 422, _, _) => PortError::invalid_input(op, "request refused by adyen"),
        _ => status_error(op, response),
    };
    let mut err = if err.context_value("status").is_some() {
        err
    } else {
        err.with_context("status", status)
    };
    for (key, value) in [
        ("adyen_error_code", &body.error_code),
        ("adyen_error_type", &body.error_type),
        ("psp_reference", &body.psp_reference),
    ] {
        if !value.is_empty() {
            err = err.with_context(key, value);
        }
    }
    err
}

/// Whether an error proves Adyen did not take the refund (so the reservation can be released):
/// a definitive refusal, not a timeout, an outage, a rate limit or a request in progress.
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

    #[test]
    fn error_table() {
        let cases = [
            (
                429,
                r#"{"status":429,"errorCode":"000","errorType":"validation"}"#,
                PortErrorKind::RateLimited {
                    retry_after: Some(std::time::Duration::from_secs(3)),
                },
            ),
            (
                422,
                r#"{"status":422,"errorCode":"704","message":"request already processed or in progress","errorType":"validation"}"#,
                PortErrorKind::Conflict,
            ),
            (
                401,
                r#"{"status":401,"errorCode":"000","errorType":"security"}"#,
                PortErrorKind::Unauthorized,
            ),
            (
                403,
                r#"{"status":403,"errorCode":"010","errorType":"security"}"#,
                PortErrorKind::Unauthorized,
            ),
            (
                422,
                r#"{"status":422,"errorCode":"137","message":"Invalid amount specified","errorType":"validation"}"#,
                PortErrorKind::Rejected,
            ),
            (
                422,
                r#"{"status":422,"errorCode":"14_004","errorType":"validation"}"#,
                PortErrorKind::InvalidInput,
            ),
            (
                500,
                r#"{"status":500,"errorCode":"901","errorType":"internal"}"#,
                PortErrorKind::Unavailable,
            ),
            (503, "<html>", PortErrorKind::Unavailable),
        ];
        for (status, body, kind) in cases {
            let err = error("payments.refund", &response(status, body));
            assert_eq!(err.kind(), kind, "{status} {body}");
            assert_eq!(
                err.context_value("status"),
                Some(status.to_string().as_str())
            );
        }
        let in_progress = error(
            "payments.refund",
            &response(422, r#"{"errorCode":"704","pspReference":"X1"}"#),
        );
        assert!(in_progress.is_retryable());
        assert!(!refused_for_good(&in_progress));
        assert_eq!(in_progress.context_value("psp_reference"), Some("X1"));
        assert!(refused_for_good(&error(
            "payments.refund",
            &response(422, r#"{"errorCode":"137"}"#)
        )));
    }
}

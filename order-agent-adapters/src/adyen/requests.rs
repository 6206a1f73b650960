//! The requests the Adyen adapter sends, built as data.

use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{PortError, PortResult, RefundRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::AdyenConfig;
use crate::http::{path_segment, Body, HeaderValue, Method, WireRequest};

/// Adyen's limit on `reference`.
pub const MAX_REFERENCE_CHARS: usize = 80;

/// The longest idempotency key accepted (Adyen's `Idempotency-Key` limit is 64 characters, so
/// longer keys are sent hashed, see [`idempotency_header`]).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 1_000;

/// Adyen's `merchantRefundReason` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MerchantRefundReason {
    /// `FRAUD`.
    Fraud,
    /// `CUSTOMER REQUEST`.
    CustomerRequest,
    /// `RETURN`.
    Return,
    /// `DUPLICATE`.
    Duplicate,
    /// `OTHER`.
    Other,
}

impl MerchantRefundReason {
    /// The value Adyen expects.
    pub fn as_str(self) -> &'static str {
        match self {
            MerchantRefundReason::Fraud => "FRAUD",
            MerchantRefundReason::CustomerRequest => "CUSTOMER REQUEST",
            MerchantRefundReason::Return => "RETURN",
            MerchantRefundReason::Duplicate => "DUPLICATE",
            MerchantRefundReason::Other => "OTHER",
        }
    }
}

fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The refund's `reference`, derived from the idempotency key: `oa-` and the first 40 hex digits
/// of its SHA-256 (43 characters, within Adyen's 80). The same key always gives the same
/// reference, so a `REFUND` notification finds the refund even when the answer was lost.
pub fn reference(idempotency_key: &str) -> String {
    format!("oa-{}", &digest(idempotency_key)[..40])
}

/// The `Idempotency-Key` header: the caller's key when it has at most 64 characters (Adyen's
/// limit), else `oa-` and the SHA-256 of the key in hex (67 characters do not fit either, so 61
/// hex digits).
pub fn idempotency_header(idempotency_key: &str) -> String {
    if idempotency_key.chars().count() <= 64 && idempotency_key.is_ascii() {
        idempotency_key.to_owned()
    } else {
        format!("oa-{}", &digest(idempotency_key)[..61])
    }
}

/// `POST /payments/{paymentPspReference}/refunds` (below the versioned base URL), JSON:
/// `merchantAccount`, `amount {value, currency}` in minor units, `reference` derived from the
/// key, `merchantRefundReason` when configured; headers `X-API-Key` and `Idempotency-Key`.
///
/// Refuses (`InvalidInput`) a non-positive amount and an empty or oversized key.
pub fn create_refund(config: &AdyenConfig, request: &RefundRequest) -> PortResult<WireRequest> {
    let op = ops::REFUND;
    if !request.amount.is_positive() {
        return Err(
            PortError::invalid_input(op, "refund amount must be positive")
                .with_context("amount", request.amount),
        );
    }
    let key = request.idempotency_key.as_str();
    if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        return Err(PortError::invalid_input(
            op,
            "idempotency key must have 1 to 1000 characters",
        ));
    }
    if request.payment_id.as_str().is_empty() {
        return Err(PortError::invalid_input(op, "payment id is empty"));
    }
    let mut body = json!({
        "merchantAccount": config.merchant_account,
        "amount": {
            "value": request.amount.to_minor(),
            "currency": request.amount.currency().code(),
        },
        "reference": reference(key),
    });
    if let Some(reason) = config.merchant_refund_reason {
        body["merchantRefundReason"] = json!(reason.as_str());
    }
    Ok(WireRequest {
        operation: op,
        method: Method::Post,
        path: format!(
            "/payments/{}/refunds",
            path_segment(request.payment_id.as_str())
        ),
        query: Vec::new(),
        headers: vec![
            (
                "x-api-key".to_owned(),
                HeaderValue::Secret(config.api_key.clone()),
            ),
            (
                "idempotency-key".to_owned(),
                HeaderValue::Plain(idempotency_header(key)),
            ),
        ],
        body: Body::Json(body),
    })
}

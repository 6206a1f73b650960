//! The requests the Datatrans adapter sends, built as data.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use order_agent_core::domain::PaymentId;
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{PortError, PortResult, RefundRequest};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::DatatransConfig;
use crate::http::{Body, HeaderValue, Method, WireRequest};

/// Datatrans' limit on `refno`.
pub const MAX_REFNO_CHARS: usize = 40;

/// The longest idempotency key accepted; longer keys are refused before anything is sent.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 1_000;

fn digest(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Whether `id` can be a Datatrans `transactionId` (digits, an int64 in the API description).
pub fn is_transaction_id(id: &str) -> bool {
    (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// The credit's `refno`, derived from the idempotency key: `oa` and the first 38 hex digits of
/// its SHA-256 (40 characters, Datatrans' limit, letters and digits only). The same key always
/// gives the same `refno`.
pub fn refno(idempotency_key: &str) -> String {
    format!("oa{}", &digest(idempotency_key)[..MAX_REFNO_CHARS - 2])
}

/// The `Idempotency-Key` header: the caller's key when it is at most 64 visible ASCII
/// characters, else `oa-` and 61 hex digits of its SHA-256.
pub fn idempotency_header(idempotency_key: &str) -> String {
    if idempotency_key.len() <= 64 && idempotency_key.bytes().all(|b| b.is_ascii_graphic()) {
        idempotency_key.to_owned()
    } else {
        format!("oa-{}", &digest(idempotency_key)[..61])
    }
}

fn authorization(config: &DatatransConfig) -> (String, HeaderValue) {
    let pair = format!("{}:{}", config.merchant_id, config.password.expose_secret());
    (
        "authorization".to_owned(),
        HeaderValue::Secret(SecretString::from(format!("Basic {}", BASE64.encode(pair)))),
    )
}

/// `GET /v1/transactions/{transactionId}`: the status of a payment or of a credit. Refuses
/// (`NotFound`) an id that cannot be a transaction id.
pub fn status(
    config: &DatatransConfig,
    op: &'static str,
    transaction_id: &str,
) -> PortResult<WireRequest> {
    if !is_transaction_id(transaction_id) {
        return Err(PortError::not_found(op, "not a datatrans transaction id")
            .with_context("transaction_id", transaction_id));
    }
    Ok(WireRequest {
        operation: op,
        method: Method::Get,
        path: format!("/v1/transactions/{transaction_id}"),
        query: Vec::new(),
        headers: vec![authorization(config)],
        body: Body::Empty,
    })
}

/// `GET /v1/transactions/{id}` for payment `id`.
pub fn payment(config: &DatatransConfig, id: &PaymentId) -> PortResult<WireRequest> {
    status(config, ops::PAYMENT, id.as_str())
}

/// `POST /v1/transactions/{transactionId}/credit`, JSON: `amount` in minor units, `currency`,
/// `refno` derived from the key; headers basic auth and `Idempotency-Key`.
///
/// Refuses (`InvalidInput`) a non-positive amount and an empty or oversized key; (`NotFound`)
/// a payment id that cannot be a transaction id.
pub fn credit(config: &DatatransConfig, request: &RefundRequest) -> PortResult<WireRequest> {
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
    let id = request.payment_id.as_str();
    if !is_transaction_id(id) {
        return Err(PortError::not_found(op, "not a datatrans transaction id")
            .with_context("payment_id", id));
    }
    Ok(WireRequest {
        operation: op,
        method: Method::Post,
        path: format!("/v1/transactions/{id}/credit"),
        query: Vec::new(),
        headers: vec![
            authorization(config),
            (
                "idempotency-key".to_owned(),
                HeaderValue::Plain(idempotency_header(key)),
            ),
        ],
        body: Body::Json(json!({
            "amount": request.amount.to_minor(),
            "currency": request.amount.currency().code(),
            "refno": refno(key),
        })),
    })
}

//! The requests the Stripe adapter sends, built as data.

use order_agent_core::domain::PaymentId;
use order_agent_core::ports::payments::ops;
use order_agent_core::ports::{PortError, PortResult, RefundRequest};

use super::StripeConfig;
use crate::http::{path_segment, Body, HeaderValue, Method, WireRequest};

/// The metadata key that carries the caller's idempotency key, so a listed refund can be matched
/// to the request that made it.
pub const INTENT_METADATA_KEY: &str = "intent";

/// Refunds fetched per page when listing.
pub const PAGE_SIZE: u32 = 100;

/// Stripe's limits on metadata and idempotency keys.
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY_CHARS: usize = 40;
const MAX_METADATA_VALUE_CHARS: usize = 500;
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

fn headers(config: &StripeConfig) -> Vec<(String, HeaderValue)> {
    let mut headers = vec![(
        "authorization".to_owned(),
        HeaderValue::Bearer(config.api_key.clone()),
    )];
    if let Some(version) = &config.api_version {
        headers.push((
            "stripe-version".to_owned(),
            HeaderValue::Plain(version.clone()),
        ));
    }
    if let Some(account) = &config.account {
        headers.push((
            "stripe-account".to_owned(),
            HeaderValue::Plain(account.clone()),
        ));
    }
    headers
}

/// How Stripe names a payment: a charge (`ch_...`, older integrations) or a payment intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentObject {
    /// `payment_intent`, read at `/v1/payment_intents/{id}`.
    PaymentIntent,
    /// `charge`, read at `/v1/charges/{id}`.
    Charge,
}

impl PaymentObject {
    /// The object an id names: `ch_`/`py_` ids are charges, all others payment intents.
    pub fn of(id: &PaymentId) -> PaymentObject {
        if id.as_str().starts_with("ch_") || id.as_str().starts_with("py_") {
            PaymentObject::Charge
        } else {
            PaymentObject::PaymentIntent
        }
    }

    /// The refund parameter that names it.
    pub fn parameter(self) -> &'static str {
        match self {
            PaymentObject::PaymentIntent => "payment_intent",
            PaymentObject::Charge => "charge",
        }
    }
}

/// `GET /v1/payment_intents/{id}`, or `GET /v1/charges/{id}` for a charge id.
pub fn payment(config: &StripeConfig, id: &PaymentId) -> WireRequest {
    let collection = match PaymentObject::of(id) {
        PaymentObject::PaymentIntent => "payment_intents",
        PaymentObject::Charge => "charges",
    };
    WireRequest {
        operation: ops::PAYMENT,
        method: Method::Get,
        path: format!("/v1/{collection}/{}", path_segment(id.as_str())),
        query: Vec::new(),
        headers: headers(config),
        body: Body::Empty,
    }
}

/// `POST /v1/refunds`, form-encoded: the payment intent (or charge), the amount in minor units, the caller's
/// metadata plus `metadata[intent]` = the idempotency key, and the `Idempotency-Key` header.
///
/// Refuses (`InvalidInput`) what Stripe would refuse for its shape: a non-positive amount, an
/// idempotency key longer than 255 characters, metadata beyond Stripe's limits.
pub fn create_refund(config: &StripeConfig, request: &RefundRequest) -> PortResult<WireRequest> {
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
            "idempotency key must have 1 to 255 characters",
        ));
    }
    let metadata: Vec<(&str, &str)> = request
        .metadata
        .iter()
        .filter(|(k, _)| k.as_str() != INTENT_METADATA_KEY)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([(INTENT_METADATA_KEY, key)])
        .collect();
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(PortError::invalid_input(op, "more than 50 metadata keys"));
    }
    for (k, v) in &metadata {
        if k.is_empty() || k.chars().count() > MAX_METADATA_KEY_CHARS || k.contains(['[', ']']) {
            return Err(
                PortError::invalid_input(op, "metadata key not accepted by stripe")
                    .with_context("key", k),
            );
        }
        if v.chars().count() > MAX_METADATA_VALUE_CHARS {
            return Err(
                PortError::invalid_input(op, "metadata value longer than 500 characters")
                    .with_context("key", k),
            );
        }
    }
    let mut form = vec![
        (
            PaymentObject::of(&request.payment_id)
                .parameter()
                .to_owned(),
            request.payment_id.as_str().to_owned(),
        ),
        ("amount".to_owned(), request.amount.to_minor().to_string()),
    ];
    form.extend(
        metadata
            .iter()
            .map(|(k, v)| (format!("metadata[{k}]"), (*v).to_owned())),
    );
    let mut headers = headers(config);
    headers.push((
        "idempotency-key".to_owned(),
        HeaderValue::Plain(key.to_owned()),
    ));
    Ok(WireRequest {
        operation: op,
        method: Method::Post,
        path: "/v1/refunds".to_owned(),
        query: Vec::new(),
        headers,
        body: Body::Form(form),
    })
}

/// `GET /v1/refunds?payment_intent=..&limit=100[&starting_after=..]` (`charge=..` for a charge):
/// one page of the refunds of payment `id`, newest first as Stripe lists them.
pub fn list_refunds(
    config: &StripeConfig,
    id: &PaymentId,
    starting_after: Option<&str>,
) -> WireRequest {
    let mut query = vec![
        (
            PaymentObject::of(id).parameter().to_owned(),
            id.as_str().to_owned(),
        ),
        ("limit".to_owned(), PAGE_SIZE.to_string()),
    ];
    if let Some(last) = starting_after {
        query.push(("starting_after".to_owned(), last.to_owned()));
    }
    WireRequest {
        operation: ops::REFUNDS,
        method: Method::Get,
        path: "/v1/refunds".to_owned(),
        query,
        headers: headers(config),
        body: Body::Empty,
    }
}

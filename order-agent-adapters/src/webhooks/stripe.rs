//! Stripe webhooks: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, where each `v1` is a
//! hex HMAC-SHA256 of `{t}.{raw body}` keyed with the endpoint secret (`whsec_...`, used as is).
//!
//! Stripe sends several `v1` entries while an endpoint has more than one active secret; any one
//! matching is enough. `v0` (test-mode legacy) entries are ignored. The timestamp must be within
//! the tolerance (300 s by default) of now, in either direction; the dedup id is the event `id`,
//! the same on every retry.

use chrono::{DateTime, TimeDelta, Utc};

use super::keys::KeyRing;
use super::{
    check_fresh, checked_id, json_str, parse_unix_seconds, SigningSecrets, Vendor, VerifiedWebhook,
    WebhookError, WebhookErrorKind, WebhookRequest, WebhookVerifier, DEFAULT_TOLERANCE,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";

const VENDOR: Vendor = Vendor::Stripe;

/// Verifies Stripe webhooks.
#[derive(Debug, Clone)]
pub struct StripeVerifier {
    keys: KeyRing,
    tolerance: TimeDelta,
}

impl StripeVerifier {
    /// A verifier accepting the endpoint's signing secret (and the previous one while
    /// rotating), with a 300 s tolerance.
    pub fn new(secrets: SigningSecrets) -> Self {
        Self {
            keys: KeyRing::utf8(&secrets),
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// The same verifier with another tolerance.
    pub fn with_tolerance(mut self, tolerance: TimeDelta) -> Self {
        self.tolerance = tolerance;
        self
    }
}

/// The parts of a `Stripe-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The `t` value, exactly as sent (it is signed as text).
    pub timestamp: String,
    /// The decoded `v1` signatures; entries that are not 32 bytes of hex are dropped.
    pub v1: Vec<Vec<u8>>,
}

/// Splits a `Stripe-Signature` header; errors when there is not exactly one `t` or no usable
/// `v1`.
pub fn parse_signature_header(header: &str) -> Result<SignatureHeader, WebhookError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        match key.trim() {
            "t" if timestamp.is_some() => {
                return Err(WebhookError::malformed_header(
                    VENDOR,
                    SIGNATURE_HEADER,
                    "has more than one `t`",
                ));
            }
            "t" => timestamp = Some(value.trim()),
            "v1" => {
                if let Ok(sig) = hex::decode(value.trim()) {
                    if sig.len() == 32 {
                        v1.push(sig);
                    }
                }
            }
            _ => {}
        }
    }
    let timestamp = timestamp
        .ok_or_else(|| WebhookError::malformed_header(VENDOR, SIGNATURE_HEADER, "has no `t`"))?;
    if v1.is_empty() {
        return Err(WebhookError::malformed_header(
            VENDOR,
            SIGNATURE_HEADER,
            "has no `v1` signature",
        ));
    }
    Ok(SignatureHeader {
        timestamp: timestamp.to_owned(),
        v1,
    })
}

impl WebhookVerifier for StripeVerifier {
    fn vendor(&self) -> Vendor {
        VENDOR
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedWebhook, WebhookError> {
        let header = parse_signature_header(request.required_header(VENDOR, SIGNATURE_HEADER)?)?;
        let signed_at = parse_unix_seconds(VENDOR, SIGNATURE_HEADER, &header.timestamp)?;
        let candidates: Vec<&[u8]> = header.v1.iter().map(Vec::as_slice).collect();
        let key = self
            .keys
            .match_sha256(
                &[header.timestamp.as_bytes(), b".", request.body],
                &candidates,
            )
            .ok_or_else(|| WebhookError::bad_signature(VENDOR))?;
        check_fresh(VENDOR, signed_at, now, self.tolerance)?;
        let event = parse_event(request.body)?;
        Ok(VerifiedWebhook {
            vendor: VENDOR,
            dedup_id: event.id,
            timestamp: Some(signed_at),
            key,
            body: request.body.to_vec(),
        })
    }
}

/// The envelope of a Stripe event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeEvent {
    /// The event id, `evt_...`.
    pub id: String,
    /// The event type, e.g. `charge.refunded` or `refund.updated`.
    pub event_type: String,
    /// When Stripe created the event (Unix seconds), when sent.
    pub created: Option<i64>,
    /// Whether it is a live-mode event, when sent.
    pub livemode: Option<bool>,
    /// The id of `data.object` (e.g. `re_...` for a refund), when there is one.
    pub object_id: Option<String>,
}

/// Reads a verified body's event envelope; never panics.
pub fn parse_event(body: &[u8]) -> Result<StripeEvent, WebhookError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::malformed_body(VENDOR, "body is not json"))?;
    let id = json_str(&value, "id")
        .ok_or_else(|| WebhookError::malformed_body(VENDOR, "event has no `id`"))?;
    let event_type = json_str(&value, "type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| WebhookError::malformed_body(VENDOR, "event has no `type`"))?;
    Ok(StripeEvent {
        id: checked_id(VENDOR, WebhookErrorKind::MalformedBody, "event `id`", id)?,
        event_type: event_type.to_owned(),
        created: value.get("created").and_then(serde_json::Value::as_i64),
        livemode: value.get("livemode").and_then(serde_json::Value::as_bool),
        object_id: value
            .get("data")
            .and_then(|d| d.get("object"))
            .and_then(|o| json_str(o, "id"))
            .map(str::to_owned),
    })
}

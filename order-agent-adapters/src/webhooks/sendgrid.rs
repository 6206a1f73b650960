//! SendGrid Event Webhook: `X-Twilio-Email-Event-Webhook-Signature` is a base64 DER ECDSA
//! P-256/SHA-256 signature over `X-Twilio-Email-Event-Webhook-Timestamp` followed by the raw body,
//! made with SendGrid's key; the verification key is the base64 DER (SubjectPublicKeyInfo) public
//! key shown in SendGrid's Mail Settings.
//!
//! The timestamp (Unix seconds) must be within the tolerance (300 s by default) of now. The
//! body is a batch of events; the dedup id is the batch's digest, and each event's
//! `sg_event_id` ([`parse_events`]) lets a caller dedup single events.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;

use super::{
    body_digest, check_fresh, json_str, parse_unix_seconds, KeySlot, Vendor, VerifiedWebhook,
    WebhookError, WebhookRequest, WebhookVerifier, DEFAULT_TOLERANCE,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Email-Event-Webhook-Signature";
/// The signed timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Twilio-Email-Event-Webhook-Timestamp";

const VENDOR: Vendor = Vendor::SendGrid;

/// Verifies SendGrid Event Webhook requests.
#[derive(Debug, Clone)]
pub struct SendGridVerifier {
    keys: Vec<(KeySlot, VerifyingKey)>,
    tolerance: TimeDelta,
}

fn decode_key(public_key: &str) -> Result<VerifyingKey, WebhookError> {
    BASE64
        .decode(public_key.trim())
        .ok()
        .and_then(|der| VerifyingKey::from_public_key_der(&der).ok())
        .ok_or_else(|| {
            WebhookError::invalid_config(VENDOR, "public key is not a base64 der p-256 key")
        })
}

impl SendGridVerifier {
    /// A verifier accepting signatures by `public_key` (base64 DER, as SendGrid shows it), with a
    /// 300 s tolerance; errors when the key is not a P-256 public key.
    pub fn new(public_key: &str) -> Result<Self, WebhookError> {
        Ok(Self {
            keys: vec![(KeySlot::Current, decode_key(public_key)?)],
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// A verifier accepting signatures by `keys`, in order.
    pub(crate) fn from_keys(keys: Vec<(KeySlot, VerifyingKey)>) -> Self {
        Self {
            keys,
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// The same verifier also accepting the previous key, while the key is being rotated.
    pub fn with_previous(mut self, public_key: &str) -> Result<Self, WebhookError> {
        self.keys.truncate(1);
        self.keys.push((KeySlot::Previous, decode_key(public_key)?));
        Ok(self)
    }

    /// The same verifier with another tolerance.
    pub fn with_tolerance(mut self, tolerance: TimeDelta) -> Self {
        self.tolerance = tolerance;
        self
    }
}

impl WebhookVerifier for SendGridVerifier {
    fn vendor(&self) -> Vendor {
        VENDOR
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedWebhook, WebhookError> {
        let signature = request.required_header(VENDOR, SIGNATURE_HEADER)?;
        let timestamp = request.required_header(VENDOR, TIMESTAMP_HEADER)?;
        let signature = BASE64
            .decode(signature)
            .ok()
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or_else(|| {
                WebhookError::malformed_header(
                    VENDOR,
                    SIGNATURE_HEADER,
                    "is not a base64 der ecdsa signature",
                )
            })?;
        let signed_at = parse_unix_seconds(VENDOR, TIMESTAMP_HEADER, timestamp)?;
        let mut message = Vec::with_capacity(timestamp.len() + request.body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(request.body);
        // SendGrid's signer does not normalise `s`; (r, s) and (r, n - s) are equally valid, so
        // checking the low-s form accepts both, whatever the library's own stance on high s.
        let signature = signature.normalize_s().unwrap_or(signature);
        let key = self
            .keys
            .iter()
            .find(|(_, key)| key.verify(&message, &signature).is_ok())
            .map(|(slot, _)| *slot)
            .ok_or_else(|| WebhookError::bad_signature(VENDOR))?;
        check_fresh(VENDOR, signed_at, now, self.tolerance)?;
        Ok(VerifiedWebhook {
            vendor: VENDOR,
            dedup_id: body_digest(&[request.body]),
            timestamp: Some(signed_at),
            key,
            body: request.body.to_vec(),
        })
    }
}

/// One event of a SendGrid batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendGridEvent {
    /// The event type, e.g. `delivered`, `bounce`, `open`.
    pub event: String,
    /// SendGrid's id of this event, unique per event: dedup single events by it.
    pub sg_event_id: Option<String>,
    /// The id of the message it is about.
    pub sg_message_id: Option<String>,
    /// When it happened (Unix seconds), when sent.
    pub timestamp: Option<i64>,
}

/// Reads a verified body's events; never panics. Errors when it is not a JSON array or an
/// element has no `event`.
pub fn parse_events(body: &[u8]) -> Result<Vec<SendGridEvent>, WebhookError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::malformed_body(VENDOR, "body is not json"))?;
    let events = value
        .as_array()
        .ok_or_else(|| WebhookError::malformed_body(VENDOR, "body is not a json array"))?;
    events
        .iter()
        .map(|event| {
            Ok(SendGridEvent {
                event: json_str(event, "event")
                    .ok_or_else(|| WebhookError::malformed_body(VENDOR, "event has no `event`"))?
                    .to_owned(),
                sg_event_id: json_str(event, "sg_event_id").map(str::to_owned),
                sg_message_id: json_str(event, "sg_message_id").map(str::to_owned),
                timestamp: event.get("timestamp").and_then(serde_json::Value::as_i64),
            })
        })
        .collect()
}

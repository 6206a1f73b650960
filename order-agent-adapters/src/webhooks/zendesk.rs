//! Zendesk webhooks: `X-Zendesk-Webhook-Signature` is the base64 HMAC-SHA256 of
//! `X-Zendesk-Webhook-Signature-Timestamp` followed by the raw body, keyed with the webhook's
//! signing secret (as text).
//!
//! The timestamp (RFC 3339) must be within the tolerance (300 s by default) of now. The dedup
//! id is `X-Zendesk-Webhook-Invocation-Id` when sent, else the body's digest.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};

use super::keys::KeyRing;
use super::{
    body_digest, check_fresh, checked_id, json_str, SigningSecrets, Vendor, VerifiedWebhook,
    WebhookError, WebhookErrorKind, WebhookRequest, WebhookVerifier, DEFAULT_TOLERANCE,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Zendesk-Webhook-Signature";
/// The signed timestamp header.
pub const TIMESTAMP_HEADER: &str = "X-Zendesk-Webhook-Signature-Timestamp";
/// The invocation id header, the same on every retry of one invocation.
pub const INVOCATION_ID_HEADER: &str = "X-Zendesk-Webhook-Invocation-Id";

const VENDOR: Vendor = Vendor::Zendesk;

/// Verifies Zendesk webhooks.
#[derive(Debug, Clone)]
pub struct ZendeskVerifier {
    keys: KeyRing,
    tolerance: TimeDelta,
}

impl ZendeskVerifier {
    /// A verifier accepting the webhook's signing secret (and the previous one while
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

impl WebhookVerifier for ZendeskVerifier {
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
            .filter(|s| s.len() == 32)
            .ok_or_else(|| {
                WebhookError::malformed_header(
                    VENDOR,
                    SIGNATURE_HEADER,
                    "is not a base64 hmac-sha256",
                )
            })?;
        let signed_at = DateTime::parse_from_rfc3339(timestamp)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                WebhookError::malformed_header(VENDOR, TIMESTAMP_HEADER, "is not an rfc 3339 time")
            })?;
        let key = self
            .keys
            .match_sha256(&[timestamp.as_bytes(), request.body], &[&signature])
            .ok_or_else(|| WebhookError::bad_signature(VENDOR))?;
        check_fresh(VENDOR, signed_at, now, self.tolerance)?;
        let dedup_id = match request.header_str(VENDOR, INVOCATION_ID_HEADER)? {
            Some(id) if !id.is_empty() => checked_id(
                VENDOR,
                WebhookErrorKind::MalformedHeader,
                INVOCATION_ID_HEADER,
                id,
            )?,
            _ => body_digest(&[request.body]),
        };
        Ok(VerifiedWebhook {
            vendor: VENDOR,
            dedup_id,
            timestamp: Some(signed_at),
            key,
            body: request.body.to_vec(),
        })
    }
}

/// A Zendesk webhook body's common fields: event-subscription webhooks send `id`, `type` and
/// `detail`; trigger webhooks send whatever JSON the trigger defines, so all are optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskEvent {
    /// The event id, when sent.
    pub id: Option<String>,
    /// The event type, e.g. `zen:event-type:ticket.status_changed`.
    pub event_type: Option<String>,
    /// The subject, e.g. `zen:ticket:35436`.
    pub subject: Option<String>,
    /// `detail.id`: for ticket events, the ticket id.
    pub detail_id: Option<String>,
}

/// Reads a verified body's common fields; never panics. Errors only when it is not a JSON
/// object.
pub fn parse_event(body: &[u8]) -> Result<ZendeskEvent, WebhookError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::malformed_body(VENDOR, "body is not json"))?;
    if !value.is_object() {
        return Err(WebhookError::malformed_body(
            VENDOR,
            "body is not a json object",
        ));
    }
    let text = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    Ok(ZendeskEvent {
        id: text(value.get("id")),
        event_type: json_str(&value, "type").map(str::to_owned),
        subject: json_str(&value, "subject").map(str::to_owned),
        detail_id: text(value.get("detail").and_then(|d| d.get("id"))),
    })
}

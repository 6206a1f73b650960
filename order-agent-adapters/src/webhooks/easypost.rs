//! EasyPost webhooks, as EasyPost's client libraries verify them (`validate_webhook` in
//! easypost-python, `ValidateWebhook` in easypost-go): `X-Hmac-Signature` is
//! `hmac-sha256-hex=` and the hex HMAC-SHA256 of the raw body, keyed with the webhook secret
//! after Unicode NFKD normalisation, as UTF-8.
//!
//! EasyPost signs no timestamp in this scheme (an `X-Timestamp` header, where sent, is not
//! covered by the signature, so it is not trusted), so replays are stopped by the dedup id:
//! the event `id` (`evt_...`), the same on every retry.

use chrono::{DateTime, Utc};
use unicode_normalization::UnicodeNormalization;

use super::keys::KeyRing;
use super::{
    checked_id, json_str, SigningSecrets, Vendor, VerifiedWebhook, WebhookError, WebhookErrorKind,
    WebhookRequest, WebhookVerifier,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Hmac-Signature";
/// The prefix of the signature header's value.
pub const SIGNATURE_PREFIX: &str = "hmac-sha256-hex=";

const VENDOR: Vendor = Vendor::EasyPost;

/// Verifies EasyPost webhooks.
#[derive(Debug, Clone)]
pub struct EasyPostVerifier {
    keys: KeyRing,
}

impl EasyPostVerifier {
    /// A verifier accepting the webhook secret (and the previous one while rotating).
    pub fn new(secrets: SigningSecrets) -> Self {
        let Ok(keys) = KeyRing::derive(&secrets, |secret| {
            Ok::<_, std::convert::Infallible>(secret.nfkd().collect::<String>().into_bytes())
        });
        Self { keys }
    }
}

impl WebhookVerifier for EasyPostVerifier {
    fn vendor(&self) -> Vendor {
        VENDOR
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        _now: DateTime<Utc>,
    ) -> Result<VerifiedWebhook, WebhookError> {
        let header = request.required_header(VENDOR, SIGNATURE_HEADER)?;
        let signature = header
            .get(..SIGNATURE_PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(SIGNATURE_PREFIX))
            .and_then(|_| header.get(SIGNATURE_PREFIX.len()..))
            .and_then(|hex_sig| hex::decode(hex_sig).ok())
            .filter(|s| s.len() == 32)
            .ok_or_else(|| {
                WebhookError::malformed_header(
                    VENDOR,
                    SIGNATURE_HEADER,
                    "is not `hmac-sha256-hex=` and 64 hex digits",
                )
            })?;
        let key = self
            .keys
            .match_sha256(&[request.body], &[&signature])
            .ok_or_else(|| WebhookError::bad_signature(VENDOR))?;
        let event = parse_event(request.body)?;
        Ok(VerifiedWebhook {
            vendor: VENDOR,
            dedup_id: event.id,
            timestamp: None,
            key,
            body: request.body.to_vec(),
        })
    }
}

/// An EasyPost event, with what a tracker update needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EasyPostEvent {
    /// The event id, `evt_...`.
    pub id: String,
    /// What happened, e.g. `tracker.updated`.
    pub description: String,
    /// The `result` object's type, e.g. `Tracker`.
    pub result_object: Option<String>,
    /// The `result` object's id, e.g. `trk_...`.
    pub result_id: Option<String>,
    /// For trackers: the tracking code.
    pub tracking_code: Option<String>,
    /// For trackers: EasyPost's status, e.g. `in_transit` or `delivered`.
    pub status: Option<String>,
    /// For trackers: the carrier, e.g. `FedEx`.
    pub carrier: Option<String>,
}

/// Reads a verified body's event; never panics.
pub fn parse_event(body: &[u8]) -> Result<EasyPostEvent, WebhookError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::malformed_body(VENDOR, "body is not json"))?;
    let id = json_str(&value, "id")
        .ok_or_else(|| WebhookError::malformed_body(VENDOR, "event has no `id`"))?;
    let description = json_str(&value, "description")
        .ok_or_else(|| WebhookError::malformed_body(VENDOR, "event has no `description`"))?;
    let result = value.get("result");
    let result_str = |field: &str| result.and_then(|r| json_str(r, field)).map(str::to_owned);
    Ok(EasyPostEvent {
        id: checked_id(VENDOR, WebhookErrorKind::MalformedBody, "event `id`", id)?,
        description: description.to_owned(),
        result_object: result_str("object"),
        result_id: result_str("id"),
        tracking_code: result_str("tracking_code"),
        status: result_str("status"),
        carrier: result_str("carrier"),
    })
}

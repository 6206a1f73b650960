//! Adyen standard notifications: each notification item carries its own signature in
//! `additionalData.hmacSignature`, the base64 HMAC-SHA256 of
//! `pspReference:originalReference:merchantAccountCode:merchantReference:amount.value:amount.currency:eventCode:success`
//! (absent fields as empty strings), keyed with the hex-decoded HMAC key from the Customer Area.
//!
//! The signature covers those fields, not the raw body: the verifier still reads them from the
//! raw bytes as received, and every item of a request must verify. Adyen signs no timestamp
//! (it retries for days), so replays are stopped by the dedup id: `pspReference:eventCode:success`
//! per item, joined with `,` (Adyen sends one item per request today).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::keys::KeyRing;
use super::{
    SigningSecrets, Vendor, VerifiedWebhook, WebhookError, WebhookErrorKind, WebhookRequest,
    WebhookVerifier,
};

const VENDOR: Vendor = Vendor::Adyen;

/// Verifies Adyen notifications.
#[derive(Debug, Clone)]
pub struct AdyenVerifier {
    keys: KeyRing,
}

impl AdyenVerifier {
    /// A verifier accepting the HMAC key (hex, as shown in the Customer Area), and the previous
    /// one while rotating; errors when a key is not hex.
    pub fn new(secrets: SigningSecrets) -> Result<Self, WebhookError> {
        let keys = KeyRing::derive(&secrets, |key| {
            hex::decode(key.trim())
                .ok()
                .filter(|k| !k.is_empty())
                .ok_or_else(|| WebhookError::invalid_config(VENDOR, "hmac key is not hex"))
        })?;
        Ok(Self { keys })
    }
}

/// One notification item, with the fields Adyen signs (as the signed text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdyenNotificationItem {
    /// `pspReference`.
    pub psp_reference: String,
    /// `originalReference`, e.g. the payment a refund refers to.
    pub original_reference: String,
    /// `merchantAccountCode`.
    pub merchant_account_code: String,
    /// `merchantReference`.
    pub merchant_reference: String,
    /// `amount.value` in minor units, as sent.
    pub amount_value: String,
    /// `amount.currency`.
    pub amount_currency: String,
    /// `eventCode`, e.g. `REFUND` or `AUTHORISATION`.
    pub event_code: String,
    /// `success`: `true` or `false`.
    pub success: String,
    /// `additionalData.hmacSignature`, when present.
    pub hmac_signature: Option<String>,
}

impl AdyenNotificationItem {
    /// The text Adyen signs.
    pub fn signing_string(&self) -> String {
        [
            self.psp_reference.as_str(),
            &self.original_reference,
            &self.merchant_account_code,
            &self.merchant_reference,
            &self.amount_value,
            &self.amount_currency,
            &self.event_code,
            &self.success,
        ]
        .join(":")
    }

    /// `pspReference:eventCode:success`, unique per notification.
    pub fn dedup_id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.psp_reference, self.event_code, self.success
        )
    }

    /// Whether Adyen reports success.
    pub fn is_success(&self) -> bool {
        self.success == "true"
    }
}

/// The text of a scalar field as Adyen signs it: strings as they are, numbers and booleans
/// as JSON writes them, anything else empty.
fn field(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// Reads the notification items of a body; never panics. Errors when it is not JSON or holds
/// no item.
pub fn parse_notification(body: &[u8]) -> Result<Vec<AdyenNotificationItem>, WebhookError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::malformed_body(VENDOR, "body is not json"))?;
    let items = value
        .get("notificationItems")
        .and_then(Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or_else(|| WebhookError::malformed_body(VENDOR, "body has no `notificationItems`"))?;
    items
        .iter()
        .map(|wrapper| {
            let item = wrapper
                .get("NotificationRequestItem")
                .filter(|i| i.is_object())
                .ok_or_else(|| {
                    WebhookError::malformed_body(VENDOR, "item has no `NotificationRequestItem`")
                })?;
            let amount = item.get("amount");
            Ok(AdyenNotificationItem {
                psp_reference: field(item.get("pspReference")),
                original_reference: field(item.get("originalReference")),
                merchant_account_code: field(item.get("merchantAccountCode")),
                merchant_reference: field(item.get("merchantReference")),
                amount_value: field(amount.and_then(|a| a.get("value"))),
                amount_currency: field(amount.and_then(|a| a.get("currency"))),
                event_code: field(item.get("eventCode")),
                success: field(item.get("success")),
                hmac_signature: item
                    .get("additionalData")
                    .and_then(|a| a.get("hmacSignature"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            })
        })
        .collect()
}

impl WebhookVerifier for AdyenVerifier {
    fn vendor(&self) -> Vendor {
        VENDOR
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        _now: DateTime<Utc>,
    ) -> Result<VerifiedWebhook, WebhookError> {
        let items = parse_notification(request.body)?;
        let mut slot = None;
        let mut ids = Vec::with_capacity(items.len());
        for item in &items {
            let signature = item.hmac_signature.as_deref().ok_or_else(|| {
                WebhookError::new(
                    WebhookErrorKind::MissingHeader,
                    VENDOR,
                    "notification item has no `additionalData.hmacSignature`",
                )
            })?;
            let signature = BASE64
                .decode(signature.trim())
                .ok()
                .filter(|s| s.len() == 32)
                .ok_or_else(|| {
                    WebhookError::new(
                        WebhookErrorKind::MalformedHeader,
                        VENDOR,
                        "`additionalData.hmacSignature` is not a base64 hmac-sha256",
                    )
                })?;
            let matched = self
                .keys
                .match_sha256(&[item.signing_string().as_bytes()], &[&signature])
                .ok_or_else(|| WebhookError::bad_signature(VENDOR))?;
            // Report the previous key if any item still used it.
            if slot != Some(super::KeySlot::Previous) {
                slot = Some(matched);
            }
            ids.push(item.dedup_id());
        }
        let key = slot.ok_or_else(|| {
            WebhookError::malformed_body(VENDOR, "body has no `notificationItems`")
        })?;
        Ok(VerifiedWebhook {
            vendor: VENDOR,
            dedup_id: ids.join(","),
            timestamp: None,
            key,
            body: request.body.to_vec(),
        })
    }
}

//! Shopify webhooks: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body, keyed
//! with the app's client secret.
//!
//! Shopify signs no timestamp, so there is no tolerance to enforce: replays are stopped by the
//! dedup id, `X-Shopify-Webhook-Id`, which stays the same across Shopify's retries.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::keys::KeyRing;
use super::{
    checked_id, json_str, SigningSecrets, Vendor, VerifiedWebhook, WebhookError, WebhookErrorKind,
    WebhookRequest, WebhookVerifier,
};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Shopify-Hmac-Sha256";
/// The delivery id header, the same on every retry of one delivery.
pub const WEBHOOK_ID_HEADER: &str = "X-Shopify-Webhook-Id";
/// The topic header, e.g. `orders/updated`.
pub const TOPIC_HEADER: &str = "X-Shopify-Topic";
/// The shop's `myshopify.com` domain.
pub const SHOP_DOMAIN_HEADER: &str = "X-Shopify-Shop-Domain";

const VENDOR: Vendor = Vendor::Shopify;

/// Verifies Shopify webhooks.
#[derive(Debug, Clone)]
pub struct ShopifyVerifier {
    keys: KeyRing,
}

impl ShopifyVerifier {
    /// A verifier accepting the app's client secret (and the previous one while rotating).
    pub fn new(secrets: SigningSecrets) -> Self {
        Self {
            keys: KeyRing::utf8(&secrets),
        }
    }
}

impl WebhookVerifier for ShopifyVerifier {
    fn vendor(&self) -> Vendor {
        VENDOR
    }

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        _now: DateTime<Utc>,
    ) -> Result<VerifiedWebhook, WebhookError> {
        let signature = request.required_header(VENDOR, SIGNATURE_HEADER)?;
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
        let key = self
            .keys
            .match_sha256(&[request.body], &[&signature])
            .ok_or_else(|| WebhookError::bad_signature(VENDOR))?;
        let id = request.required_header(VENDOR, WEBHOOK_ID_HEADER)?;
        Ok(VerifiedWebhook {
            vendor: VENDOR,
            dedup_id: checked_id(
                VENDOR,
                WebhookErrorKind::MalformedHeader,
                WEBHOOK_ID_HEADER,
                id,
            )?,
            timestamp: None,
            key,
            body: request.body.to_vec(),
        })
    }
}

/// What a Shopify webhook's headers say about it (read them after verifying).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopifyDelivery {
    /// The topic, e.g. `orders/updated` or `refunds/create`.
    pub topic: String,
    /// The shop's domain, when sent.
    pub shop_domain: Option<String>,
}

/// Reads the topic and shop domain of a delivery; the topic is required.
pub fn parse_delivery(request: &WebhookRequest<'_>) -> Result<ShopifyDelivery, WebhookError> {
    let topic = request.required_header(VENDOR, TOPIC_HEADER)?;
    let shop_domain = request.header_str(VENDOR, SHOP_DOMAIN_HEADER)?;
    Ok(ShopifyDelivery {
        topic: topic.to_owned(),
        shop_domain: shop_domain.filter(|d| !d.is_empty()).map(str::to_owned),
    })
}

/// The resource a Shopify webhook body describes (an order, a refund, a fulfilment ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopifyResource {
    /// The numeric REST id, as text.
    pub id: String,
    /// The GraphQL id, e.g. `gid://shopify/Order/820982911946154508`, when sent.
    pub admin_graphql_api_id: Option<String>,
}

/// Reads the resource id from a verified body; never panics.
pub fn parse_resource(body: &[u8]) -> Result<ShopifyResource, WebhookError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| WebhookError::malformed_body(VENDOR, "body is not json"))?;
    let id = match value.get("id") {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(WebhookError::malformed_body(VENDOR, "body has no `id`")),
    };
    Ok(ShopifyResource {
        id,
        admin_graphql_api_id: json_str(&value, "admin_graphql_api_id").map(str::to_owned),
    })
}

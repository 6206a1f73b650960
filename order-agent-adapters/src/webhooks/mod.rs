//! Verifying vendors' webhooks before anything reads them (feature `webhooks`).
//!
//! One verifier per vendor, each implementing [`WebhookVerifier`]:
//!
//! | vendor | module | signature | timestamp checked | dedup id |
//! | --- | --- | --- | --- | --- |
//! | Shopify | [`shopify`] | `X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the body | none is signed | `X-Shopify-Webhook-Id` |
//! | Stripe | [`stripe`] | `Stripe-Signature: t=..,v1=..`: hex HMAC-SHA256 of `{t}.{body}` | `t`, 300 s | the event `id` |
//! | Adyen | [`adyen`] | `additionalData.hmacSignature` of each notification item | none is signed | `pspReference:eventCode:success` per item |
//! | EasyPost | [`easypost`] | `X-Hmac-Signature: hmac-sha256-hex=..` of the body, NFKD secret | none is signed | the event `id` |
//! | Twilio | [`twilio`] | `X-Twilio-Signature`: base64 HMAC-SHA1 of URL + sorted form params | none is signed | `I-Twilio-Idempotency-Token`, else a body digest |
//! | SendGrid | [`sendgrid`] | ECDSA P-256 over timestamp + body | `X-Twilio-Email-Event-Webhook-Timestamp`, 300 s | a body digest |
//! | Zendesk | [`zendesk`] | `X-Zendesk-Webhook-Signature`: base64 HMAC-SHA256 of timestamp + body | `X-Zendesk-Webhook-Signature-Timestamp`, 300 s | `X-Zendesk-Webhook-Invocation-Id`, else a body digest |
//!
//! Every verifier works on the **raw bytes** of the request body exactly as received (never on
//! re-serialised JSON), compares signatures in constant time, accepts a current and a previous
//! secret while a secret is being rotated ([`SigningSecrets`]), and, where the vendor signs a
//! timestamp, rejects requests outside the tolerance around the `now` the caller passes in (so
//! tests and replays of the verifier are deterministic). The result is a [`VerifiedWebhook`] or a
//! [`WebhookError`] whose [`status`](WebhookError::status) is the 4xx to answer with.
//!
//! # Replay protection
//!
//! A signature proves who sent a payload, not that it arrives only once: vendors redeliver, and an
//! attacker who captured one delivery can resend it (within the tolerance, where there is one).
//! [`VerifiedWebhook::dedup_id`] is the vendor's own delivery or event id. Put it, with
//! [`VerifiedWebhook::source`], into the [`Event`](order_agent_core::flows::events::Event) given to
//! [`Agent::accept`](order_agent_core::agent::Agent::accept): the durable queue keeps one event
//! per source and id, so a redelivery or a replay is accepted (`Ok(false)`) and changes nothing.
//! Acknowledge the vendor with a 2xx only after `accept` returned `Ok`; answer a
//! [`WebhookError`] with its status and change no state.
//!
//! ```
//! use chrono::Utc;
//! use order_agent_adapters::webhooks::{
//!     shopify::ShopifyVerifier, SigningSecrets, WebhookRequest, WebhookVerifier,
//! };
//!
//! let verifier = ShopifyVerifier::new(SigningSecrets::new("current-secret".into()));
//! // A signature of the right shape, made with another secret.
//! let forged = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
//! let headers = [("X-Shopify-Webhook-Id", "b54557e4"), ("X-Shopify-Hmac-Sha256", forged)];
//! let request = WebhookRequest::new(&headers, br#"{"id":1}"#);
//! match verifier.verify(&request, Utc::now()) {
//!     // Ok: hand `webhook.source()` and `webhook.dedup_id` to `Agent::accept`, then answer 200.
//!     Ok(webhook) => println!("{} {}", webhook.source(), webhook.dedup_id),
//!     // Rejected: answer with the status, change nothing.
//!     Err(error) => assert_eq!(error.status(), 401),
//! }
//! ```
//!
//! The HTTP layer in front of these verifiers must bound the body size; the verifiers read
//! whatever they are given.
#![cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]

pub mod adyen;
pub mod easypost;
#[doc(hidden)]
pub mod fuzzing;
pub mod ingress;
mod keys;
pub mod sendgrid;
pub mod shopify;
pub mod stripe;
pub mod twilio;
pub mod zendesk;

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

pub use keys::{KeySlot, SigningSecrets};

/// The vendors whose webhooks this module verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Vendor {
    /// Shopify Admin webhooks.
    Shopify,
    /// Stripe events.
    Stripe,
    /// Adyen standard notifications.
    Adyen,
    /// EasyPost events.
    EasyPost,
    /// Twilio status callbacks and incoming messages.
    Twilio,
    /// SendGrid Event Webhook.
    SendGrid,
    /// Zendesk webhooks.
    Zendesk,
}

impl Vendor {
    /// Every vendor, in a fixed order.
    pub const ALL: [Vendor; 7] = [
        Vendor::Shopify,
        Vendor::Stripe,
        Vendor::Adyen,
        Vendor::EasyPost,
        Vendor::Twilio,
        Vendor::SendGrid,
        Vendor::Zendesk,
    ];

    /// The lowercase name, e.g. `stripe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Shopify => "shopify",
            Vendor::Stripe => "stripe",
            Vendor::Adyen => "adyen",
            Vendor::EasyPost => "easypost",
            Vendor::Twilio => "twilio",
            Vendor::SendGrid => "sendgrid",
            Vendor::Zendesk => "zendesk",
        }
    }

    /// The event source for the agent's queue, e.g. `webhook:stripe`: the queue dedups by
    /// source and id, so one vendor's ids never collide with another's.
    pub fn source(self) -> &'static str {
        match self {
            Vendor::Shopify => "webhook:shopify",
            Vendor::Stripe => "webhook:stripe",
            Vendor::Adyen => "webhook:adyen",
            Vendor::EasyPost => "webhook:easypost",
            Vendor::Twilio => "webhook:twilio",
            Vendor::SendGrid => "webhook:sendgrid",
            Vendor::Zendesk => "webhook:zendesk",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request headers, looked up by name without regard to ASCII case.
///
/// Implemented for slices, arrays and vectors of `(name, value)` pairs; implement it for your
/// HTTP framework's header map (e.g. `map.get(name).map(|v| v.as_bytes())`).
pub trait Headers {
    /// The value of the first header called `name` (ASCII case-insensitive), if any.
    fn header(&self, name: &str) -> Option<&[u8]>;
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> Headers for [(K, V); N] {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.as_slice().header(name)
    }
}

/// One webhook request as received: the raw body, the headers and, for vendors that sign it
/// (Twilio), the full public URL the vendor called.
#[derive(Clone, Copy)]
pub struct WebhookRequest<'a> {
    /// The full URL the vendor sent the request to, as configured at the vendor (scheme, host,
    /// port if any, path and query). Only Twilio signs it; empty when unknown.
    pub url: &'a str,
    /// The request headers.
    pub headers: &'a dyn Headers,
    /// The body, byte for byte as received.
    pub body: &'a [u8],
}

impl<'a> WebhookRequest<'a> {
    /// A request with `headers` and `body` and no URL.
    pub fn new(headers: &'a dyn Headers, body: &'a [u8]) -> Self {
        Self {
            url: "",
            headers,
            body,
        }
    }

    /// The same request, sent to `url`.
    pub fn with_url(self, url: &'a str) -> Self {
        Self { url, ..self }
    }

    /// The header `name` as text: `Ok(None)` when absent, an error when it is not UTF-8.
    fn header_str(
        &self,
        vendor: Vendor,
        name: &'static str,
    ) -> Result<Option<&'a str>, WebhookError> {
        match self.headers.header(name) {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .map(|s| Some(s.trim()))
                .map_err(|_| WebhookError::malformed_header(vendor, name, "is not utf-8")),
        }
    }

    /// The header `name` as non-empty text, or a missing-header error.
    fn required_header(&self, vendor: Vendor, name: &'static str) -> Result<&'a str, WebhookError> {
        match self.header_str(vendor, name)? {
            Some(value) if !value.is_empty() => Ok(value),
            _ => Err(WebhookError::missing_header(vendor, name)),
        }
    }
}

impl fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// A webhook whose signature (and timestamp, where signed) checked out.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// Who sent it.
    pub vendor: Vendor,
    /// The vendor's delivery or event id (or, where the vendor has none, `sha256:` and the hex
    /// digest of the body): pass it as the event id to
    /// [`Agent::accept`](order_agent_core::agent::Agent::accept), which drops redeliveries.
    pub dedup_id: String,
    /// The signed timestamp, for vendors that sign one.
    pub timestamp: Option<DateTime<Utc>>,
    /// Which secret (or public key) matched: a request still signed with the previous one tells
    /// when the rotation is complete.
    pub key: KeySlot,
    /// The body, byte for byte as received.
    pub body: Vec<u8>,
}

impl VerifiedWebhook {
    /// The event source for the agent's queue, e.g. `webhook:stripe`.
    pub fn source(&self) -> &'static str {
        self.vendor.source()
    }
}

impl fmt::Debug for VerifiedWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may carry customers' personal data: only its length is shown.
        f.debug_struct("VerifiedWebhook")
            .field("vendor", &self.vendor)
            .field("dedup_id", &self.dedup_id)
            .field("timestamp", &self.timestamp)
            .field("key", &self.key)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Checks one vendor's webhooks. Object safe, so a router can hold one per vendor.
pub trait WebhookVerifier: Send + Sync + fmt::Debug {
    /// The vendor this verifier checks.
    fn vendor(&self) -> Vendor;

    /// Verifies `request` at `now`.
    ///
    /// # Behavior
    ///
    /// - MUST verify over `request.body` exactly as given, comparing in constant time, and
    ///   accept a signature by the current or the previous secret.
    /// - MUST reject a signed timestamp further than the tolerance from `now`, in either
    ///   direction, with [`WebhookErrorKind::Stale`].
    /// - MUST NOT panic, whatever the headers and body hold; every rejection is a
    ///   [`WebhookError`] with a 4xx [`status`](WebhookError::status).
    fn verify(
        &self,
        request: &WebhookRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedWebhook, WebhookError>;
}

/// Why a webhook was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookErrorKind {
    /// A required header (for Adyen: the signature field of a notification item) is absent.
    MissingHeader,
    /// A header is present but unreadable: not UTF-8, not base64 or hex, wrong length, no
    /// signature in it, a timestamp that is not one.
    MalformedHeader,
    /// No configured secret or key produced the signature.
    BadSignature,
    /// The signed timestamp is outside the tolerance around now.
    Stale,
    /// The body is not what the vendor sends (not JSON, no event id, no notification item).
    MalformedBody,
    /// The verifier's own configuration is unusable (e.g. a key that is not hex): a fault on
    /// our side, not the sender's.
    InvalidConfig,
}

impl WebhookErrorKind {
    /// The HTTP status to answer with.
    pub fn status(self) -> u16 {
        match self {
            WebhookErrorKind::MissingHeader
            | WebhookErrorKind::MalformedHeader
            | WebhookErrorKind::MalformedBody => 400,
            WebhookErrorKind::BadSignature | WebhookErrorKind::Stale => 401,
            WebhookErrorKind::InvalidConfig => 500,
        }
    }
}

/// A rejected webhook (or an unusable verifier configuration). Never holds a secret or the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookError {
    kind: WebhookErrorKind,
    vendor: Vendor,
    message: String,
}

impl WebhookError {
    fn new(kind: WebhookErrorKind, vendor: Vendor, message: impl Into<String>) -> Self {
        Self {
            kind,
            vendor,
            message: message.into(),
        }
    }

    fn missing_header(vendor: Vendor, name: &str) -> Self {
        Self::new(
            WebhookErrorKind::MissingHeader,
            vendor,
            format!("header `{name}` is missing"),
        )
    }

    fn malformed_header(vendor: Vendor, name: &str, why: &str) -> Self {
        Self::new(
            WebhookErrorKind::MalformedHeader,
            vendor,
            format!("header `{name}` {why}"),
        )
    }

    fn bad_signature(vendor: Vendor) -> Self {
        Self::new(
            WebhookErrorKind::BadSignature,
            vendor,
            "signature does not match any configured secret",
        )
    }

    fn malformed_body(vendor: Vendor, why: impl Into<String>) -> Self {
        Self::new(WebhookErrorKind::MalformedBody, vendor, why)
    }

    fn invalid_config(vendor: Vendor, why: impl Into<String>) -> Self {
        Self::new(WebhookErrorKind::InvalidConfig, vendor, why)
    }

    /// Why it was rejected.
    pub fn kind(&self) -> WebhookErrorKind {
        self.kind
    }

    /// Whose webhook it was.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The HTTP status to answer with: 400 for missing or malformed input, 401 for a bad
    /// signature or a stale timestamp, 500 only for [`WebhookErrorKind::InvalidConfig`].
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} webhook rejected: {}", self.vendor, self.message)
    }
}

impl std::error::Error for WebhookError {}

/// The default tolerance between a signed timestamp and now: 300 s, Stripe's default.
pub const DEFAULT_TOLERANCE: TimeDelta = TimeDelta::seconds(300);

/// Rejects `signed_at` further than `tolerance` from `now`, in either direction.
fn check_fresh(
    vendor: Vendor,
    signed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    tolerance: TimeDelta,
) -> Result<(), WebhookError> {
    let skew = now.signed_duration_since(signed_at).abs();
    if skew > tolerance {
        return Err(WebhookError::new(
            WebhookErrorKind::Stale,
            vendor,
            format!(
                "signed timestamp is {} s from now, tolerance is {} s",
                skew.num_seconds(),
                tolerance.num_seconds()
            ),
        ));
    }
    Ok(())
}

/// A Unix timestamp in seconds, as text.
fn parse_unix_seconds(
    vendor: Vendor,
    header: &'static str,
    text: &str,
) -> Result<DateTime<Utc>, WebhookError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::malformed_header(
            vendor,
            header,
            "is not a unix timestamp",
        ));
    }
    text.parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| WebhookError::malformed_header(vendor, header, "is out of range"))
}

/// `sha256:` and the hex digest of `parts`, for vendors without a delivery id.
fn body_digest(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// A dedup id taken from a header or a body field: printable ASCII, at most 255 bytes.
fn checked_id(
    vendor: Vendor,
    kind: WebhookErrorKind,
    what: &str,
    id: &str,
) -> Result<String, WebhookError> {
    if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(WebhookError::new(
            kind,
            vendor,
            format!("{what} is not a printable id of at most 255 characters"),
        ));
    }
    Ok(id.to_owned())
}

/// The JSON value at `field` as a string, if it is one.
fn json_str<'v>(value: &'v serde_json::Value, field: &str) -> Option<&'v str> {
    value.get(field).and_then(serde_json::Value::as_str)
}

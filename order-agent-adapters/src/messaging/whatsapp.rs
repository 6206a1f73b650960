//! WhatsApp through [Meta's WhatsApp Cloud API](https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages):
//! `POST /{version}/{phone-number-id}/messages`, JSON, bearer access token.
//!
//! - Only [`Channel::Whatsapp`] is served; other channels are rejected as the port requires.
//! - The request ([`send_text`]) is a `text` message to the recipient's number in digits
//!   (E.164 without `+`). Free-form text reaches a customer only inside the 24-hour customer
//!   service window; outside it WhatsApp answers 131047 (a rejection here) and a template
//!   message would be needed, which this adapter does not send. The Cloud API has no
//!   idempotency key.
//! - `200` with `messages[0].id` (`wamid...`) is accepted; that id is the provider message id.
//!   Meta's error codes for recipients it will not reach (131026 undeliverable, 131030 not in
//!   the allowed list, 131047 outside the window, 131049/131050 not delivered by policy or
//!   opt-out, 131021 recipient is the sender) are rejections; codes 4, 80007, 130429, 131048
//!   and 131056 are rate limits; 190 and 401/403 unauthorized; 5xx unavailable.

use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::Channel;
use order_agent_core::ports::messaging::ops;
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortError, PortResult};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use super::wire::{path_segment, status_error, Auth, Body, Sender, WireRequest, WireResponse};
use super::{check_message, unserved_channel};

/// Meta's Graph API.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";

/// The Graph API version the requests were checked against.
pub const DEFAULT_API_VERSION: &str = "v23.0";

/// Meta error codes meaning the recipient cannot be reached.
pub const RECIPIENT_REFUSED_CODES: [u32; 6] = [131021, 131026, 131030, 131047, 131049, 131050];

/// Meta error codes meaning too many requests or messages.
pub const RATE_LIMIT_CODES: [u32; 5] = [4, 80007, 130429, 131048, 131056];

/// How to send from one WhatsApp business phone number.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppConfig {
    /// A system user access token with `whatsapp_business_messaging`. Never logged.
    pub access_token: SecretString,
    /// The business phone number's id (not the number itself).
    pub phone_number_id: String,
    /// The API base URL; [`DEFAULT_BASE_URL`] unless testing.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The Graph API version; [`DEFAULT_API_VERSION`] by default.
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_api_version() -> String {
    DEFAULT_API_VERSION.to_owned()
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl WhatsAppConfig {
    /// A configuration for phone number id `phone_number_id` with `access_token`.
    pub fn new(access_token: SecretString, phone_number_id: impl Into<String>) -> WhatsAppConfig {
        WhatsAppConfig {
            access_token,
            phone_number_id: phone_number_id.into(),
            base_url: default_base_url(),
            api_version: default_api_version(),
            timeout_ms: default_timeout_ms(),
        }
    }
}

/// The recipient in the form the Cloud API takes: the E.164 digits without `+`, spaces or a
/// `whatsapp:` prefix.
fn recipient(op: &'static str, to: &str) -> PortResult<String> {
    let digits: String = to
        .trim()
        .trim_start_matches("whatsapp:")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '+'))
        .collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) || digits.len() > 15 {
        return Err(PortError::invalid_input(
            op,
            "the recipient is not a phone number",
        ));
    }
    Ok(digits)
}

/// `POST /{version}/{phone-number-id}/messages` with a text message, as data. An empty body or
/// recipient, a recipient that is not a phone number, or another channel is `InvalidInput`.
pub fn send_text(config: &WhatsAppConfig, message: &OutboundMessage) -> PortResult<WireRequest> {
    let op = ops::SEND;
    check_message(op, message)?;
    if message.channel != Channel::Whatsapp {
        return Err(PortError::invalid_input(op, "not a whatsapp message"));
    }
    Ok(WireRequest {
        operation: op,
        path: format!(
            "/{}/{}/messages",
            path_segment(&config.api_version),
            path_segment(&config.phone_number_id)
        ),
        auth: Auth::Bearer(config.access_token.clone()),
        headers: Vec::new(),
        body: Body::Json(json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": recipient(op, &message.to)?,
            "type": "text",
            "text": { "preview_url": false, "body": message.body },
        })),
    })
}

/// The WhatsApp Cloud API [`Messaging`] adapter.
#[derive(Debug, Clone)]
pub struct WhatsAppMessaging {
    config: WhatsAppConfig,
    sender: Sender,
}

impl WhatsAppMessaging {
    /// An adapter for the number `config` describes.
    pub fn new(config: WhatsAppConfig) -> PortResult<WhatsAppMessaging> {
        let sender = Sender::new(
            "messaging.whatsapp.config",
            &config.base_url,
            Duration::from_millis(config.timeout_ms),
        )?;
        Ok(WhatsAppMessaging { config, sender })
    }
}

#[derive(Debug, Deserialize)]
struct Sent {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Debug, Deserialize)]
struct SentMessage {
    id: String,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: MetaError,
}

#[derive(Debug, Deserialize)]
struct MetaError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

/// What a response means: the one table for the Cloud API.
fn outcome(op: &'static str, response: &WireResponse) -> PortResult<Delivery> {
    if (200..300).contains(&response.status) {
        let sent: Sent = serde_json::from_slice(&response.body).map_err(|e| {
            PortError::unexpected(op, "cannot read the whatsapp answer").with_source(e)
        })?;
        return match sent.messages.into_iter().next() {
            Some(m) if !m.id.is_empty() => Ok(Delivery::Accepted {
                provider_message_id: m.id,
            }),
            _ => Err(PortError::unexpected(
                op,
                "whatsapp accepted the message without an id",
            )),
        };
    }
    let error = serde_json::from_slice::<ErrorEnvelope>(&response.body)
        .ok()
        .map(|e| e.error);
    let code = error.as_ref().and_then(|e| e.code);
    match code {
        Some(code) if RECIPIENT_REFUSED_CODES.contains(&code) => Ok(Delivery::Rejected {
            reason: format!(
                "whatsapp refused the recipient ({code}): {}",
                // The message can quote the phone number.
                order_agent_core::redact::redact(
                    error
                        .as_ref()
                        .and_then(|e| e.message.as_deref())
                        .unwrap_or("no reason given")
                )
            ),
        }),
        Some(code) if RATE_LIMIT_CODES.contains(&code) => {
            Err(PortError::rate_limited(op, response.retry_after())
                .with_context("status", response.status)
                .with_context("meta_code", code))
        }
        Some(190) => Err(PortError::unauthorized(op, "the access token was refused")
            .with_context("status", response.status)
            .with_context("meta_code", 190)),
        Some(code) => Err(status_error(op, response).with_context("meta_code", code)),
        None => Err(status_error(op, response)),
    }
}

#[async_trait]
impl Messaging for WhatsAppMessaging {
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery> {
        let op = ops::SEND;
        check_message(op, message)?;
        if message.channel != Channel::Whatsapp {
            return Ok(unserved_channel("the whatsapp cloud api", message.channel));
        }
        let request = send_text(&self.config, message)?;
        let response = self.sender.send(&request).await?;
        outcome(op, &response)
    }
}

#[cfg(test)]
mod tests {
    use order_agent_core::domain::Locale;

    use super::*;

    #[test]
    fn numbers_become_digits() -> PortResult<()> {
        let config = WhatsAppConfig::new(SecretString::from("EAAG"), "1234567890");
        let mut message = OutboundMessage {
            channel: Channel::Whatsapp,
            to: "whatsapp:+41 79 000 00 01".to_owned(),
            locale: Locale::Fr,
            subject: None,
            body: "Bonjour".to_owned(),
            idempotency_key: "k".to_owned(),
        };
        let request = send_text(&config, &message)?;
        assert_eq!(request.path, "/v23.0/1234567890/messages");
        assert_eq!(
            request.body,
            Body::Json(json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": "41790000001",
                "type": "text",
                "text": { "preview_url": false, "body": "Bonjour" },
            }))
        );
        message.to = "anna@example.ch".to_owned();
        assert!(send_text(&config, &message).is_err());
        Ok(())
    }
}

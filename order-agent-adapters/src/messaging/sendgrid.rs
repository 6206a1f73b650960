//! Email through [SendGrid's v3 Mail Send API](https://www.twilio.com/docs/sendgrid/api-reference/mail-send/mail-send):
//! `POST /v3/mail/send` with a bearer API key.
//!
//! - Only [`Channel::Email`] is served; other channels are rejected as the port requires. An
//!   email needs a subject (SendGrid refuses one without).
//! - The request ([`mail_send`]) carries one personalization with the recipient, the sender,
//!   the subject, a `text/plain` content, a `Content-Language` header from the locale and the
//!   idempotency key as the personalization's `custom_args.order_agent_key` (SendGrid does not
//!   deduplicate, but the key comes back in its event webhooks; the top-level `custom_args` is
//!   typed as a string in SendGrid's own description, so it is not used).
//! - `202 Accepted` with the `X-Message-Id` header is accepted; that id is the provider message
//!   id. A `400` about the recipient's address is a rejection; suppressed recipients are
//!   accepted by the API and bounce later (its event webhook tells).
//! - Other errors: 401/403 unauthorized, 413 invalid input, 429 rate limited, 5xx unavailable.

use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::Channel;
use order_agent_core::ports::messaging::ops;
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortError, PortResult};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};

use super::wire::{status_error, Auth, Body, Sender, WireRequest, WireResponse};
use super::{check_message, unserved_channel};

/// SendGrid's API (global); `https://api.eu.sendgrid.com` for EU regional subusers.
pub const DEFAULT_BASE_URL: &str = "https://api.sendgrid.com";

/// How to send through one SendGrid account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendGridConfig {
    /// An API key with the `mail.send` scope. Never logged.
    pub api_key: SecretString,
    /// The API base URL; [`DEFAULT_BASE_URL`] unless in the EU region or testing.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The verified sender address.
    pub from_email: String,
    /// The sender's display name.
    #[serde(default)]
    pub from_name: Option<String>,
    /// Gives up on one HTTP request after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl SendGridConfig {
    /// A configuration sending as `from_email` with `api_key`, against the real API.
    pub fn new(api_key: SecretString, from_email: impl Into<String>) -> SendGridConfig {
        SendGridConfig {
            api_key,
            base_url: default_base_url(),
            from_email: from_email.into(),
            from_name: None,
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration against another base URL (a mock, the EU region).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> SendGridConfig {
        self.base_url = base_url.into();
        self
    }
}

/// `POST /v3/mail/send` for `message`, as data. An empty body, recipient or subject, or a
/// channel other than email, is `InvalidInput`.
pub fn mail_send(config: &SendGridConfig, message: &OutboundMessage) -> PortResult<WireRequest> {
    let op = ops::SEND;
    check_message(op, message)?;
    if message.channel != Channel::Email {
        return Err(PortError::invalid_input(op, "not an email"));
    }
    let subject = message.subject.as_deref().unwrap_or("").trim();
    if subject.is_empty() {
        return Err(PortError::invalid_input(op, "an email needs a subject"));
    }
    let mut from = json!({ "email": config.from_email });
    if let (Some(name), Some(object)) = (&config.from_name, from.as_object_mut()) {
        object.insert("name".to_owned(), json!(name));
    }
    Ok(WireRequest {
        operation: op,
        path: "/v3/mail/send".to_owned(),
        auth: Auth::Bearer(config.api_key.clone()),
        headers: Vec::new(),
        body: Body::Json(json!({
            "personalizations": [{
                "to": [{ "email": message.to.trim() }],
                "custom_args": { "order_agent_key": message.idempotency_key },
            }],
            "from": from,
            "subject": subject,
            "content": [{ "type": "text/plain", "value": message.body }],
            "headers": { "Content-Language": message.locale.tag() },
        })),
    })
}

/// The SendGrid [`Messaging`] adapter (email only).
#[derive(Debug, Clone)]
pub struct SendGridMessaging {
    config: SendGridConfig,
    sender: Sender,
}

impl SendGridMessaging {
    /// An adapter for the account `config` describes.
    pub fn new(config: SendGridConfig) -> PortResult<SendGridMessaging> {
        let sender = Sender::new(
            "messaging.sendgrid.config",
            &config.base_url,
            Duration::from_millis(config.timeout_ms),
        )?;
        Ok(SendGridMessaging { config, sender })
    }
}

/// SendGrid's error body: `{"errors": [{"message", "field"}]}`.
#[derive(Debug, Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    field: Option<Value>,
}

/// What a response means: the one table for SendGrid.
fn outcome(op: &'static str, response: &WireResponse) -> PortResult<Delivery> {
    match response.status {
        200..=299 => match response.header("x-message-id").filter(|v| !v.is_empty()) {
            Some(id) => Ok(Delivery::Accepted {
                provider_message_id: id.to_owned(),
            }),
            None => Err(PortError::unexpected(
                op,
                "sendgrid accepted the message without an id",
            )),
        },
        400 => {
            let errors = serde_json::from_slice::<Errors>(&response.body)
                .map(|e| e.errors)
                .unwrap_or_default();
            let recipient = errors.iter().find(|e| {
                e.field
                    .as_ref()
                    .and_then(Value::as_str)
                    .is_some_and(|f| f.starts_with("personalizations") && f.contains(".to"))
            });
            match recipient {
                Some(e) => Ok(Delivery::Rejected {
                    reason: format!(
                        "sendgrid refused the recipient: {}",
                        // The message can quote the email address.
                        order_agent_core::redact::redact(
                            e.message.as_deref().unwrap_or("invalid address")
                        )
                    ),
                }),
                None => Err(PortError::invalid_input(op, "sendgrid refused the request")
                    .with_context("status", 400)
                    .with_context(
                        "errors",
                        errors
                            .iter()
                            .filter_map(|e| e.message.as_deref())
                            .collect::<Vec<_>>()
                            .join("; "),
                    )),
            }
        }
        _ => Err(status_error(op, response)),
    }
}

#[async_trait]
impl Messaging for SendGridMessaging {
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery> {
        let op = ops::SEND;
        check_message(op, message)?;
        if message.channel != Channel::Email {
            return Ok(unserved_channel("sendgrid", message.channel));
        }
        let request = mail_send(&self.config, message)?;
        let response = self.sender.send(&request).await?;
        outcome(op, &response)
    }
}

#[cfg(test)]
mod tests {
    use order_agent_core::domain::Locale;

    use super::*;

    #[test]
    fn the_request_carries_recipient_subject_body_and_key() -> PortResult<()> {
        let mut config = SendGridConfig::new(SecretString::from("SG.key"), "service@shop.example");
        config.from_name = Some("Swiss Shop".to_owned());
        let request = mail_send(
            &config,
            &OutboundMessage {
                channel: Channel::Email,
                to: "anna@example.ch".to_owned(),
                locale: Locale::It,
                subject: Some("Il suo ordine".to_owned()),
                body: "Buongiorno".to_owned(),
                idempotency_key: "k1".to_owned(),
            },
        )?;
        assert_eq!(request.path, "/v3/mail/send");
        assert_eq!(request.auth.header_value(), "Bearer SG.key");
        assert_eq!(
            request.body,
            Body::Json(json!({
                "personalizations": [{
                    "to": [{ "email": "anna@example.ch" }],
                    "custom_args": { "order_agent_key": "k1" },
                }],
                "from": { "email": "service@shop.example", "name": "Swiss Shop" },
                "subject": "Il suo ordine",
                "content": [{ "type": "text/plain", "value": "Buongiorno" }],
                "headers": { "Content-Language": "it" },
            }))
        );
        assert!(!format!("{request:?}").contains("SG.key"));
        Ok(())
    }
}

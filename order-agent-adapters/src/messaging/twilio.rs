//! SMS and WhatsApp through [Twilio's Programmable Messaging](https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource):
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, basic auth.
//!
//! - [`Channel::Sms`] is served when a sender number or a messaging service is configured,
//!   [`Channel::Whatsapp`] when a WhatsApp sender is (both `To` and `From` then carry the
//!   `whatsapp:` prefix); other channels are rejected as the port requires.
//! - The request ([`create_message`]) sends `To`, `From` (or `MessagingServiceSid`), `Body` and
//!   optionally `StatusCallback`. Twilio has no idempotency key for messages.
//! - `201` with the message `sid` is accepted; that sid is the provider message id. Twilio's
//!   error codes for recipients it will not reach (invalid, unsubscribed, unreachable, region
//!   not enabled, not on WhatsApp, outside the WhatsApp session) are rejections; 401/403
//!   unauthorized, 429 rate limited, 5xx unavailable, other 4xx invalid input.

use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::domain::Channel;
use order_agent_core::ports::messaging::ops;
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortError, PortResult};
use order_agent_core::redact::redact;
use secrecy::SecretString;
use serde::Deserialize;

use super::wire::{path_segment, status_error, Auth, Body, Sender, WireRequest, WireResponse};
use super::{check_message, unserved_channel};

/// Twilio's API.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Twilio error codes meaning the recipient cannot be reached: 21211 invalid `To`, 21408
/// region not enabled, 21610 unsubscribed (STOP), 21612 cannot route, 21614 not a mobile
/// number, 21635 not a valid mobile number, 63003 not reachable on the channel, 63016 outside
/// the WhatsApp customer service window (a template is needed), 63024 invalid recipient.
pub const RECIPIENT_REFUSED_CODES: [u32; 9] = [
    21211, 21408, 21610, 21612, 21614, 21635, 63003, 63016, 63024,
];

/// How to send through one Twilio account.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// The account SID (`AC...`), in the path.
    pub account_sid: String,
    /// The user for basic auth: the account SID, or an API key SID (`SK...`).
    #[serde(default)]
    pub api_key_sid: Option<String>,
    /// The auth token, or the API key's secret. Never logged.
    pub auth_token: SecretString,
    /// The API base URL; [`DEFAULT_BASE_URL`] unless testing.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The SMS sender, an E.164 number or alphanumeric sender id.
    #[serde(default)]
    pub sms_from: Option<String>,
    /// A messaging service (`MG...`) that picks the SMS sender; used when `sms_from` is absent.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// The WhatsApp sender, an E.164 number (without the `whatsapp:` prefix).
    #[serde(default)]
    pub whatsapp_from: Option<String>,
    /// Where Twilio posts delivery status changes.
    #[serde(default)]
    pub status_callback: Option<String>,
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

impl TwilioConfig {
    /// A configuration for account `account_sid` with its auth token, no sender yet.
    pub fn new(account_sid: impl Into<String>, auth_token: SecretString) -> TwilioConfig {
        TwilioConfig {
            account_sid: account_sid.into(),
            api_key_sid: None,
            auth_token,
            base_url: default_base_url(),
            sms_from: None,
            messaging_service_sid: None,
            whatsapp_from: None,
            status_callback: None,
            timeout_ms: default_timeout_ms(),
        }
    }

    fn serves(&self, channel: Channel) -> bool {
        match channel {
            Channel::Sms => self.sms_from.is_some() || self.messaging_service_sid.is_some(),
            Channel::Whatsapp => self.whatsapp_from.is_some(),
            Channel::Email | Channel::WebChat => false,
        }
    }
}

fn whatsapp_address(number: &str) -> String {
    let number = number.trim();
    if number.starts_with("whatsapp:") {
        number.to_owned()
    } else {
        format!("whatsapp:{number}")
    }
}

/// `POST /2010-04-01/Accounts/{sid}/Messages.json` for `message`, as data. An empty body or
/// recipient, or a channel this configuration does not serve, is `InvalidInput`.
pub fn create_message(config: &TwilioConfig, message: &OutboundMessage) -> PortResult<WireRequest> {
    let op = ops::SEND;
    check_message(op, message)?;
    let (to, from) = match message.channel {
        Channel::Sms => (
            message.to.trim().to_owned(),
            config.sms_from.as_ref().map(|f| ("From", f.clone())),
        ),
        Channel::Whatsapp => (
            whatsapp_address(&message.to),
            config
                .whatsapp_from
                .as_ref()
                .map(|f| ("From", whatsapp_address(f))),
        ),
        Channel::Email | Channel::WebChat => {
            return Err(PortError::invalid_input(
                op,
                "twilio sends sms and whatsapp only",
            ))
        }
    };
    let from = match (from, message.channel, &config.messaging_service_sid) {
        (Some(from), _, _) => from,
        (None, Channel::Sms, Some(service)) => ("MessagingServiceSid", service.clone()),
        _ => return Err(PortError::invalid_input(op, "no sender for this channel")),
    };
    let mut form = vec![
        ("To".to_owned(), to),
        (from.0.to_owned(), from.1),
        ("Body".to_owned(), message.body.clone()),
    ];
    if let Some(callback) = &config.status_callback {
        form.push(("StatusCallback".to_owned(), callback.clone()));
    }
    Ok(WireRequest {
        operation: op,
        path: format!(
            "/2010-04-01/Accounts/{}/Messages.json",
            path_segment(&config.account_sid)
        ),
        auth: Auth::Basic {
            user: config
                .api_key_sid
                .clone()
                .unwrap_or_else(|| config.account_sid.clone()),
            password: config.auth_token.clone(),
        },
        headers: Vec::new(),
        body: Body::Form(form),
    })
}

/// The Twilio [`Messaging`] adapter (SMS and WhatsApp).
#[derive(Debug, Clone)]
pub struct TwilioMessaging {
    config: TwilioConfig,
    sender: Sender,
}

impl TwilioMessaging {
    /// An adapter for the account `config` describes.
    pub fn new(config: TwilioConfig) -> PortResult<TwilioMessaging> {
        let sender = Sender::new(
            "messaging.twilio.config",
            &config.base_url,
            Duration::from_millis(config.timeout_ms),
        )?;
        Ok(TwilioMessaging { config, sender })
    }
}

#[derive(Debug, Deserialize)]
struct Created {
    sid: String,
}

#[derive(Debug, Deserialize)]
struct TwilioError {
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    message: Option<String>,
}

/// What a response means: the one table for Twilio.
fn outcome(op: &'static str, response: &WireResponse) -> PortResult<Delivery> {
    if (200..300).contains(&response.status) {
        let created: Created = serde_json::from_slice(&response.body).map_err(|e| {
            PortError::unexpected(op, "cannot read the twilio answer").with_source(e)
        })?;
        if created.sid.is_empty() {
            return Err(PortError::unexpected(
                op,
                "twilio accepted the message without a sid",
            ));
        }
        return Ok(Delivery::Accepted {
            provider_message_id: created.sid,
        });
    }
    let error = serde_json::from_slice::<TwilioError>(&response.body).ok();
    let code = error.as_ref().and_then(|e| e.code);
    match code {
        Some(code) if RECIPIENT_REFUSED_CODES.contains(&code) => Ok(Delivery::Rejected {
            reason: format!(
                "twilio refused the recipient ({code}): {}",
                // Twilio's message quotes the phone number.
                redact(
                    error
                        .as_ref()
                        .and_then(|e| e.message.as_deref())
                        .unwrap_or("no reason given")
                )
            ),
        }),
        Some(code) => Err(status_error(op, response).with_context("twilio_code", code)),
        None => Err(status_error(op, response)),
    }
}

#[async_trait]
impl Messaging for TwilioMessaging {
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery> {
        let op = ops::SEND;
        check_message(op, message)?;
        if !self.config.serves(message.channel) {
            return Ok(unserved_channel("twilio", message.channel));
        }
        let request = create_message(&self.config, message)?;
        let response = self.sender.send(&request).await?;
        outcome(op, &response)
    }
}

#[cfg(test)]
mod tests {
    use order_agent_core::domain::Locale;

    use super::*;

    #[test]
    fn whatsapp_numbers_carry_the_prefix() -> PortResult<()> {
        let mut config = TwilioConfig::new("AC123", SecretString::from("tok"));
        config.whatsapp_from = Some("+14155238886".to_owned());
        let request = create_message(
            &config,
            &OutboundMessage {
                channel: Channel::Whatsapp,
                to: "+41790000001".to_owned(),
                locale: Locale::De,
                subject: None,
                body: "Grüezi".to_owned(),
                idempotency_key: "k".to_owned(),
            },
        )?;
        assert_eq!(request.path, "/2010-04-01/Accounts/AC123/Messages.json");
        assert_eq!(
            request.body,
            Body::Form(vec![
                ("To".to_owned(), "whatsapp:+41790000001".to_owned()),
                ("From".to_owned(), "whatsapp:+14155238886".to_owned()),
                ("Body".to_owned(), "Grüezi".to_owned()),
            ])
        );
        Ok(())
    }
}

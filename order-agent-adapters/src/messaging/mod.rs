//! Messaging providers as the [`Messaging`](order_agent_core::ports::Messaging) port, one cargo
//! feature each.
//!
//! | feature | provider | channels |
//! | --- | --- | --- |
//! | `smtp` | `smtp::SmtpMessaging`: any SMTP relay, through `lettre` | email |
//! | `sendgrid` | `sendgrid::SendGridMessaging`: SendGrid's v3 Mail Send API | email |
//! | `twilio` | `twilio::TwilioMessaging`: Twilio Programmable Messaging | SMS, WhatsApp |
//! | `whatsapp` | `whatsapp::WhatsAppMessaging`: Meta's WhatsApp Cloud API | WhatsApp |
//!
//! A channel a provider does not serve is answered with
//! [`Delivery::Rejected`](order_agent_core::ports::Delivery::Rejected), as the port requires;
//! an empty body or recipient is [`InvalidInput`](order_agent_core::ports::PortErrorKind) and
//! nothing is sent.

use order_agent_core::domain::Channel;
use order_agent_core::ports::{Delivery, OutboundMessage, PortError, PortResult};

#[cfg(feature = "sendgrid")]
#[cfg_attr(docsrs, doc(cfg(feature = "sendgrid")))]
pub mod sendgrid;
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub mod smtp;
#[cfg(feature = "twilio")]
#[cfg_attr(docsrs, doc(cfg(feature = "twilio")))]
pub mod twilio;
#[cfg(feature = "whatsapp")]
#[cfg_attr(docsrs, doc(cfg(feature = "whatsapp")))]
pub mod whatsapp;
#[cfg(any(feature = "sendgrid", feature = "twilio", feature = "whatsapp"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "sendgrid", feature = "twilio", feature = "whatsapp")))
)]
pub mod wire;

/// Checks what the port forbids sending: an empty body or recipient.
fn check_message(op: &'static str, message: &OutboundMessage) -> PortResult<()> {
    if message.body.trim().is_empty() {
        return Err(PortError::invalid_input(op, "the message body is empty"));
    }
    if message.to.trim().is_empty() {
        return Err(PortError::invalid_input(op, "the recipient is empty"));
    }
    Ok(())
}

/// The port's answer for a channel the provider does not serve.
fn unserved_channel(provider: &str, channel: Channel) -> Delivery {
    Delivery::Rejected {
        reason: format!(
            "{provider} does not serve the `{}` channel",
            channel_name(channel)
        ),
    }
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Whatsapp => "whatsapp",
        Channel::Sms => "sms",
        Channel::WebChat => "web_chat",
    }
}

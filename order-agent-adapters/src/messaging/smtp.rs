//! Email over SMTP, through [`lettre`]: any relay (the shop's own, Postmark, SES, Mailgun, ...).
//!
//! - Only [`Channel::Email`] is served; other channels are rejected as the port requires.
//! - The message is built as data by [`email`] (tested offline): `From`, `To`, `Subject`,
//!   `Content-Language` from the locale, a plain-text UTF-8 body, and a `Message-ID` derived from
//!   the idempotency key, so the same key always gives the same id and relays and inboxes that
//!   deduplicate by it drop a retried copy. That `Message-ID` is the provider message id.
//! - A permanent refusal (5xx, e.g. `550` unknown mailbox) is `Delivery::Rejected` with the
//!   server's reply, except authentication failures (`530`, `534`, `535`, `538`), which are
//!   `Unauthorized`; a transient refusal (4xx) is `Unavailable`, no connection is `Unavailable`,
//!   no answer in time is `Timeout`. Retrying is the `resilience` wrappers' job.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use order_agent_core::domain::Channel;
use order_agent_core::ports::messaging::ops;
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortError, PortResult};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{check_message, unserved_channel};

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with `STARTTLS`, which is required (usually port 587).
    #[default]
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption at all: only for a relay on loopback or a trusted local network.
    Plain,
}

/// How to reach the SMTP relay and whom mail comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// The relay's host name (also the name its TLS certificate must carry).
    pub host: String,
    /// The port; 587 for `start_tls`, 465 for `tls`, 25 commonly for `plain`.
    pub port: u16,
    /// How the connection is secured.
    #[serde(default)]
    pub security: SmtpSecurity,
    /// The user name, when the relay requires authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// The password or API token for `username`. Never logged.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// The sender, e.g. `Swiss Shop <service@shop.example>`.
    pub from: String,
    /// The domain in generated `Message-ID`s; the sender's domain when absent.
    #[serde(default)]
    pub message_id_domain: Option<String>,
    /// Gives up on one SMTP command after this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_timeout_ms() -> u64 {
    20_000
}

impl SmtpConfig {
    /// A configuration for `host:port` secured by `security`, sending as `from`, without
    /// authentication.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        security: SmtpSecurity,
        from: impl Into<String>,
    ) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port,
            security,
            username: None,
            password: None,
            from: from.into(),
            message_id_domain: None,
            timeout_ms: default_timeout_ms(),
        }
    }

    /// The same configuration, authenticating as `username` with `password`.
    #[must_use]
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: SecretString,
    ) -> SmtpConfig {
        self.username = Some(username.into());
        self.password = Some(password);
        self
    }
}

/// The SMTP [`Messaging`] adapter; it keeps a small pool of connections to the relay.
#[derive(Clone)]
pub struct SmtpMessaging {
    config: SmtpConfig,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl fmt::Debug for SmtpMessaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMessaging")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SmtpMessaging {
    /// An adapter for the relay `config` describes; nothing is contacted until the first send.
    /// A sender that is not a mailbox, or a host that is not a valid TLS name, is `InvalidInput`.
    pub fn new(config: SmtpConfig) -> PortResult<SmtpMessaging> {
        const OP: &str = "messaging.smtp.config";
        sender(OP, &config)?;
        let mut builder = match config.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host).map_err(|e| {
                    PortError::invalid_input(OP, "cannot use the relay host for tls")
                        .with_context("host", &config.host)
                        .with_source(e)
                })?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| {
                    PortError::invalid_input(OP, "cannot use the relay host for tls")
                        .with_context("host", &config.host)
                        .with_source(e)
                })?,
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
        };
        builder = builder
            .port(config.port)
            .timeout(Some(Duration::from_millis(config.timeout_ms)));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(
                    user.clone(),
                    password.expose_secret().to_owned(),
                ));
            }
            (None, None) => {}
            _ => {
                return Err(PortError::invalid_input(
                    OP,
                    "a user name needs a password and a password needs a user name",
                ))
            }
        }
        Ok(SmtpMessaging {
            transport: builder.build(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SmtpConfig {
        &self.config
    }
}

/// The `Message-ID` for idempotency key `key`: the same key always gives the same id.
pub fn message_id(key: &str, domain: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("<oa.{}@{}>", hex::encode(&digest[..16]), domain)
}

fn sender(op: &'static str, config: &SmtpConfig) -> PortResult<Mailbox> {
    config.from.parse::<Mailbox>().map_err(|e| {
        PortError::invalid_input(op, "the sender is not a mailbox")
            .with_context("from", &config.from)
            .with_source(e)
    })
}

/// The email `message` becomes, as sent to the relay. An empty body or recipient, or a
/// recipient that is not a mailbox, is `InvalidInput`; a channel other than email too (the port
/// call answers it with a rejection before building).
pub fn email(config: &SmtpConfig, message: &OutboundMessage) -> PortResult<Message> {
    let op = ops::SEND;
    check_message(op, message)?;
    if message.channel != Channel::Email {
        return Err(PortError::invalid_input(op, "not an email"));
    }
    let from = sender(op, config)?;
    let to = message.to.trim().parse::<Mailbox>().map_err(|e| {
        PortError::invalid_input(op, "the recipient is not a mailbox").with_source(e)
    })?;
    let domain = match &config.message_id_domain {
        Some(domain) => domain.clone(),
        None => from.email.domain().to_owned(),
    };
    Message::builder()
        .from(from)
        .to(to)
        .subject(message.subject.clone().unwrap_or_default())
        .message_id(Some(message_id(&message.idempotency_key, &domain)))
        .header(ContentLanguage(message.locale.tag().to_owned()))
        .header(ContentType::TEXT_PLAIN)
        .body(message.body.clone())
        .map_err(|e| PortError::invalid_input(op, "cannot build the email").with_source(e))
}

/// The `Content-Language` header (RFC 3282).
#[derive(Debug, Clone)]
struct ContentLanguage(String);

impl Header for ContentLanguage {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ContentLanguage(s.trim().to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// Maps a failed SMTP exchange: permanent refusals are the port's rejection, except
/// authentication; transient ones and transport failures are errors.
fn outcome_of_error(
    op: &'static str,
    error: lettre::transport::smtp::Error,
) -> PortResult<Delivery> {
    if let Some(code) = error.status() {
        let code = u16::from(code);
        if error.is_permanent() {
            return match code {
                530 | 534 | 535 | 538 => Err(PortError::unauthorized(
                    op,
                    "the mail server refused the credentials",
                )
                .with_context("smtp_code", code)
                .with_source(error)),
                _ => Ok(Delivery::Rejected {
                    // The server's answer usually quotes the recipient's address.
                    reason: format!(
                        "the mail server refused the message: {}",
                        order_agent_core::redact::redact(&error.to_string())
                    ),
                }),
            };
        }
        return Err(
            PortError::unavailable(op, "the mail server deferred the message")
                .with_context("smtp_code", code)
                .with_source(error),
        );
    }
    if error.is_timeout() {
        Err(PortError::timeout(op, "no answer from the mail server in time").with_source(error))
    } else if error.is_tls() {
        Err(
            PortError::unavailable(op, "cannot secure the connection to the mail server")
                .with_source(error),
        )
    } else {
        Err(PortError::unavailable(op, "cannot talk to the mail server").with_source(error))
    }
}

#[async_trait]
impl Messaging for SmtpMessaging {
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery> {
        let op = ops::SEND;
        check_message(op, message)?;
        if message.channel != Channel::Email {
            return Ok(unserved_channel("smtp", message.channel));
        }
        let email = email(&self.config, message)?;
        let id = email
            .headers()
            .get_raw("Message-ID")
            .map(str::to_owned)
            .unwrap_or_default();
        match self.transport.send(email).await {
            Ok(_) => Ok(Delivery::Accepted {
                provider_message_id: id,
            }),
            Err(error) => outcome_of_error(op, error),
        }
    }
}

#[cfg(test)]
mod tests {
    use order_agent_core::domain::Locale;

    use super::*;

    fn config() -> SmtpConfig {
        SmtpConfig::new(
            "localhost",
            2525,
            SmtpSecurity::Plain,
            "Swiss Shop <service@shop.example>",
        )
    }

    fn message(key: &str) -> OutboundMessage {
        OutboundMessage {
            channel: Channel::Email,
            to: "anna@example.ch".to_owned(),
            locale: Locale::De,
            subject: Some("Ihre Bestellung".to_owned()),
            body: "Grüezi Anna".to_owned(),
            idempotency_key: key.to_owned(),
        }
    }

    #[test]
    fn message_id_follows_the_key() -> Result<(), PortError> {
        let one = email(&config(), &message("k1"))?;
        let again = email(&config(), &message("k1"))?;
        let other = email(&config(), &message("k2"))?;
        let id = |m: &Message| m.headers().get_raw("Message-ID").map(str::to_owned);
        assert_eq!(id(&one), id(&again));
        assert_ne!(id(&one), id(&other));
        assert_eq!(id(&one), Some(message_id("k1", "shop.example")));
        let text = String::from_utf8_lossy(&one.formatted()).into_owned();
        assert!(text.contains("Content-Language: de\r\n"), "{text}");
        assert!(text.contains("To: anna@example.ch\r\n"), "{text}");
        Ok(())
    }

    #[test]
    fn a_recipient_that_is_not_a_mailbox_is_invalid() {
        let mut bad = message("k");
        bad.to = "not an address".to_owned();
        assert!(matches!(
            email(&config(), &bad).map_err(|e| e.kind()),
            Err(order_agent_core::ports::PortErrorKind::InvalidInput)
        ));
    }

    #[test]
    fn the_password_is_not_in_debug() -> Result<(), PortError> {
        let adapter = SmtpMessaging::new(
            config().with_credentials("shop", SecretString::from("hunter2-secret")),
        )?;
        assert!(!format!("{adapter:?}").contains("hunter2"));
        Ok(())
    }
}

//! Outbound messages to customers: email, WhatsApp, SMS, web chat.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::error::PortResult;
use crate::domain::{Channel, Locale};

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`Messaging::send`](super::Messaging::send).
    pub const SEND: &str = "messaging.send";
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundMessage {
    /// The channel.
    pub channel: Channel,
    /// The address on that channel: an email address, an E.164 number, a chat session id.
    pub to: String,
    /// The language the body is written in.
    pub locale: Locale,
    /// Subject line; used by email, ignored by chat channels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Plain-text body.
    pub body: String,
    /// The caller's key, passed to providers that deduplicate by it.
    pub idempotency_key: String,
}

/// What the provider did with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "delivery", rename_all = "snake_case", deny_unknown_fields)]
pub enum Delivery {
    /// Accepted for delivery.
    Accepted {
        /// The provider's id of the message.
        provider_message_id: String,
    },
    /// Refused: unknown or opted-out recipient, channel not configured, content refused.
    Rejected {
        /// Why, in plain words for staff.
        reason: String,
    },
}

impl Delivery {
    /// Whether the provider accepted the message.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Delivery::Accepted { .. })
    }
}

/// A messaging provider, possibly covering several channels.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Messaging: Send + Sync + Debug + 'static {
    /// Sends `message`.
    ///
    /// # Behavior
    ///
    /// - A recipient or channel the provider refuses MUST be `Ok(Delivery::Rejected)` with a
    ///   non-empty reason, MUST NOT be an error: errors are for transport failures.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for an empty body or
    ///   recipient, and MUST NOT send anything then.
    /// - An accepted message MUST carry a non-empty provider message id, distinct for distinct
    ///   messages.
    /// - Delivery is at least once: after a timeout a retry MAY deliver the message twice, which
    ///   is why the key is passed to providers that deduplicate.
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery>;
}

/// A shared messaging provider.
pub type MessagingRef = Arc<dyn Messaging>;

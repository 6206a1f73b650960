//! An in-memory messaging provider.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use order_agent_core::domain::Channel;
use order_agent_core::ports::messaging::ops;
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortError, PortResult};

use super::faults::{instrumented, lock, Instrumentation};

/// A message the fake delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The provider id it was accepted under.
    pub provider_message_id: String,
    /// The message.
    pub message: OutboundMessage,
}

#[derive(Debug, Default)]
struct MessagingState {
    delivered: Vec<Delivered>,
    refused_addresses: BTreeMap<(Channel, String), String>,
    disabled_channels: Vec<Channel>,
    accepted: u64,
}

/// A provider that accepts every message except to addresses or channels the test refuses, and
/// keeps what it delivered. With [`Fault::DuplicateDelivery`](super::Fault::DuplicateDelivery) a
/// message is delivered twice, as at-least-once providers do.
#[derive(Debug, Default)]
pub struct FakeMessaging {
    state: Mutex<MessagingState>,
    instrumentation: Instrumentation,
}

instrumented!(FakeMessaging);

impl FakeMessaging {
    /// A provider that accepts everything.
    pub fn new() -> FakeMessaging {
        FakeMessaging::default()
    }

    /// Rejects messages to `address` on `channel` with `reason` (e.g. opted out).
    #[must_use]
    pub fn refusing(self, channel: Channel, address: &str, reason: &str) -> FakeMessaging {
        lock(&self.state)
            .refused_addresses
            .insert((channel, address.to_owned()), reason.to_owned());
        self
    }

    /// Rejects every message on `channel` (channel not configured).
    #[must_use]
    pub fn without_channel(self, channel: Channel) -> FakeMessaging {
        lock(&self.state).disabled_channels.push(channel);
        self
    }

    /// Every delivery, in order (a duplicated message appears twice).
    pub fn delivered(&self) -> Vec<Delivered> {
        lock(&self.state).delivered.clone()
    }

    /// The deliveries to `to`, in order.
    pub fn delivered_to(&self, to: &str) -> Vec<Delivered> {
        lock(&self.state)
            .delivered
            .iter()
            .filter(|d| d.message.to == to)
            .cloned()
            .collect()
    }
}

#[async_trait]
impl Messaging for FakeMessaging {
    async fn send(&self, message: &OutboundMessage) -> PortResult<Delivery> {
        self.instrumentation
            .call(ops::SEND, message, |injected| {
                if message.body.trim().is_empty() {
                    return Err(PortError::invalid_input(ops::SEND, "the body is empty"));
                }
                if message.to.trim().is_empty() {
                    return Err(PortError::invalid_input(
                        ops::SEND,
                        "the recipient is empty",
                    ));
                }
                let mut state = lock(&self.state);
                if state.disabled_channels.contains(&message.channel) {
                    return Ok(Delivery::Rejected {
                        reason: "channel is not configured".to_owned(),
                    });
                }
                if let Some(reason) = state
                    .refused_addresses
                    .get(&(message.channel, message.to.clone()))
                {
                    return Ok(Delivery::Rejected {
                        reason: reason.clone(),
                    });
                }
                state.accepted += 1;
                let provider_message_id = format!("msg_{}", state.accepted);
                let delivered = Delivered {
                    provider_message_id: provider_message_id.clone(),
                    message: message.clone(),
                };
                if injected.duplicate_delivery {
                    state.delivered.push(delivered.clone());
                }
                state.delivered.push(delivered);
                Ok(Delivery::Accepted {
                    provider_message_id,
                })
            })
            .await
    }
}

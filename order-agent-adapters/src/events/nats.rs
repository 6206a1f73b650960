//! NATS JetStream: a durable pull consumer with explicit acknowledgements.
//!
//! The stream deduplicates publishes by their `Nats-Msg-Id` header within its duplicate window;
//! the agent's queue deduplicates by `(source, id)` for ever, so a redelivery after a lost
//! acknowledgement, or a republish after the window, is accepted once. Several processes may
//! share one durable consumer: JetStream hands each message to one of them at a time.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::Config as PullConfig;
use async_nats::jetstream::consumer::{AckPolicy, Consumer, DeliverPolicy};
use async_nats::jetstream::stream::Config as StreamConfig;
use async_nats::Client;
use async_trait::async_trait;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{Delivery, EventSource, SourceError, SourceErrorKind};

/// The header carrying a message's id, by which JetStream deduplicates publishes.
pub const MESSAGE_ID_HEADER: &str = "Nats-Msg-Id";

/// Where and how to consume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JetStreamConfig {
    /// Server URL, e.g. `nats://127.0.0.1:4222`.
    pub url: String,
    /// The stream; created (file storage, this subject) when missing.
    pub stream: String,
    /// The subject the consumer filters on.
    pub subject: String,
    /// The durable consumer's name; processes sharing it split the stream.
    pub consumer: String,
    /// How long a delivered, unacknowledged message waits before it is delivered again.
    #[serde(default = "default_ack_wait", with = "seconds")]
    pub ack_wait: Duration,
    /// The stream's window for deduplicating publishes by `Nats-Msg-Id`, when it creates it.
    #[serde(default = "default_duplicate_window", with = "seconds")]
    pub duplicate_window: Duration,
}

fn default_ack_wait() -> Duration {
    Duration::from_secs(30)
}

fn default_duplicate_window() -> Duration {
    Duration::from_secs(120)
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

impl JetStreamConfig {
    /// A config with the default ack wait (30 s) and duplicate window (2 min).
    pub fn new(
        url: impl Into<String>,
        stream: impl Into<String>,
        subject: impl Into<String>,
        consumer: impl Into<String>,
    ) -> JetStreamConfig {
        JetStreamConfig {
            url: url.into(),
            stream: stream.into(),
            subject: subject.into(),
            consumer: consumer.into(),
            ack_wait: default_ack_wait(),
            duplicate_window: default_duplicate_window(),
        }
    }
}

/// A JetStream durable pull consumer as an [`EventSource`].
#[derive(Debug)]
pub struct JetStreamSource {
    client: Client,
    consumer: Consumer<PullConfig>,
}

fn unavailable(op: &'static str, message: &str, e: impl std::fmt::Display) -> SourceError {
    SourceError::new(SourceErrorKind::Unavailable, op, format!("{message}: {e}"))
}

impl JetStreamSource {
    /// Connects, creates the stream and the durable consumer when missing, and returns the
    /// source.
    pub async fn connect(config: &JetStreamConfig) -> Result<JetStreamSource, SourceError> {
        const OP: &str = "connect";
        if config.stream.is_empty() || config.subject.is_empty() || config.consumer.is_empty() {
            return Err(SourceError::new(
                SourceErrorKind::Misconfigured,
                OP,
                "stream, subject and consumer must not be empty",
            ));
        }
        let client = async_nats::connect(config.url.as_str())
            .await
            .map_err(|e| unavailable(OP, &format!("cannot reach `{}`", config.url), e))?;
        let jetstream = async_nats::jetstream::new(client.clone());
        let stream = jetstream
            .get_or_create_stream(StreamConfig {
                name: config.stream.clone(),
                subjects: vec![config.subject.clone()],
                duplicate_window: config.duplicate_window,
                ..StreamConfig::default()
            })
            .await
            .map_err(|e| unavailable(OP, &format!("cannot open stream `{}`", config.stream), e))?;
        let consumer = stream
            .get_or_create_consumer(
                &config.consumer,
                PullConfig {
                    durable_name: Some(config.consumer.clone()),
                    ack_policy: AckPolicy::Explicit,
                    deliver_policy: DeliverPolicy::All,
                    ack_wait: config.ack_wait,
                    filter_subject: config.subject.clone(),
                    ..PullConfig::default()
                },
            )
            .await
            .map_err(|e| {
                unavailable(
                    OP,
                    &format!("cannot open consumer `{}`", config.consumer),
                    e,
                )
            })?;
        Ok(JetStreamSource { client, consumer })
    }

    /// The NATS connection, e.g. to publish on it.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn reply_all(
        &self,
        op: &'static str,
        deliveries: &[Delivery],
        body: &'static [u8],
    ) -> Result<(), SourceError> {
        for delivery in deliveries {
            self.client
                .publish(delivery.ack_to.clone(), body.into())
                .await
                .map_err(|e| unavailable(op, "cannot send", e))?;
        }
        self.client
            .flush()
            .await
            .map_err(|e| unavailable(op, "cannot flush", e))
    }
}

#[async_trait]
impl EventSource for JetStreamSource {
    async fn pull(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, SourceError> {
        const OP: &str = "pull";
        let mut batch = self
            .consumer
            .batch()
            .max_messages(max.max(1))
            .expires(wait.max(Duration::from_millis(10)))
            .messages()
            .await
            .map_err(|e| unavailable(OP, "cannot request a batch", e))?;
        let mut deliveries = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| unavailable(OP, "cannot receive", e))?;
            let Some(ack_to) = message.reply.as_ref().map(|s| s.to_string()) else {
                continue;
            };
            let (sequence, delivered) = message
                .info()
                .map(|info| (info.stream_sequence, info.delivered))
                .map_err(|e| {
                    SourceError::new(
                        SourceErrorKind::Misconfigured,
                        OP,
                        "not a JetStream message",
                    )
                    .with_source(std::io::Error::other(e.to_string()))
                })?;
            let upstream_id = message
                .headers
                .as_ref()
                .and_then(|h| {
                    h.get(async_nats::header::NATS_MESSAGE_ID)
                        .or_else(|| h.get(MESSAGE_ID_HEADER))
                })
                .map(|v| v.as_str().to_owned())
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| format!("seq-{sequence}"));
            deliveries.push(Delivery {
                upstream_id,
                payload: message.payload.to_vec(),
                delivered: u64::try_from(delivered).unwrap_or(0),
                ack_to,
            });
        }
        Ok(deliveries)
    }

    async fn ack(&self, deliveries: &[Delivery]) -> Result<(), SourceError> {
        self.reply_all("ack", deliveries, b"+ACK").await
    }

    async fn nak(&self, deliveries: &[Delivery], delay: Duration) -> Result<(), SourceError> {
        const OP: &str = "nak";
        for delivery in deliveries {
            let body = format!("-NAK {{\"delay\":{}}}", delay.as_nanos());
            self.client
                .publish(delivery.ack_to.clone(), body.into())
                .await
                .map_err(|e| unavailable(OP, "cannot send", e))?;
        }
        self.client
            .flush()
            .await
            .map_err(|e| unavailable(OP, "cannot flush", e))
    }

    async fn reject(&self, deliveries: &[Delivery]) -> Result<(), SourceError> {
        self.reply_all("reject", deliveries, b"+TERM").await
    }
}

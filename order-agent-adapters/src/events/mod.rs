//! Event sources: upstream streams that feed the agent's durable event queue.
//!
//! A source hands out [`Delivery`]s: an event's raw bytes with the id the upstream gave it. The
//! caller accepts them into the queue ([`Agent::accept`], or [`accept_batch`] for a whole
//! batch) and only then acknowledges them to the source; whatever was not accepted is
//! negatively acknowledged and comes again. A crash between accepting and acknowledging makes
//! the upstream deliver again, and the queue, deduplicating by `(source, id)`, takes it once.
//!
//! - [`nats::JetStreamSource`]: a NATS JetStream durable pull consumer with explicit acks.

pub mod nats;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use order_agent_core::agent::Agent;
use order_agent_core::flows::events::Event;

pub use self::nats::{JetStreamConfig, JetStreamSource};

/// One event as an upstream delivered it, waiting to be acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The upstream's id of the event (for NATS the `Nats-Msg-Id` header, else the stream
    /// sequence); the same on every redelivery.
    pub upstream_id: String,
    /// The event as received: JSON of an [`Event`].
    pub payload: Vec<u8>,
    /// How often the upstream delivered it, this time included (1 the first time).
    pub delivered: u64,
    /// Where the acknowledgement goes (for NATS the message's reply subject).
    pub ack_to: String,
}

/// Why a source could not deliver or acknowledge.
#[derive(Debug)]
pub struct SourceError {
    kind: SourceErrorKind,
    operation: &'static str,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// What kind of failure a [`SourceError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// The upstream is unreachable or refused for now; trying again later may work.
    Unavailable,
    /// The stream or consumer is configured in a way this source cannot use.
    Misconfigured,
}

impl SourceError {
    pub(crate) fn new(
        kind: SourceErrorKind,
        operation: &'static str,
        message: impl Into<String>,
    ) -> SourceError {
        SourceError {
            kind,
            operation,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> SourceError {
        self.source = Some(Box::new(source));
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }

    /// Whether trying again later may succeed.
    pub fn is_temporary(&self) -> bool {
        self.kind == SourceErrorKind::Unavailable
    }

    /// The operation that failed (`pull`, `ack`, `nak`, `connect`).
    pub fn operation(&self) -> &'static str {
        self.operation
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event source {}: {}", self.operation, self.message)?;
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An upstream of events with explicit acknowledgement.
#[async_trait]
pub trait EventSource: Send + Sync + fmt::Debug + 'static {
    /// Pulls up to `max` events, waiting at most `wait` for the first.
    ///
    /// # Behavior
    /// - MUST return an empty batch, not an error, when nothing arrived within `wait`.
    /// - An event handed out and neither acknowledged nor negatively acknowledged MUST come
    ///   again later (for JetStream after the consumer's ack wait), with the same
    ///   [`Delivery::upstream_id`].
    async fn pull(&self, max: usize, wait: Duration) -> Result<Vec<Delivery>, SourceError>;

    /// Acknowledges `deliveries`: the upstream MUST NOT deliver them again once this returned
    /// `Ok`. Call it only after each was accepted durably. An acknowledgement lost on the way
    /// means a redelivery, which the queue takes once.
    async fn ack(&self, deliveries: &[Delivery]) -> Result<(), SourceError>;

    /// Hands `deliveries` back: the upstream delivers them again after `delay`.
    async fn nak(&self, deliveries: &[Delivery], delay: Duration) -> Result<(), SourceError>;

    /// Stops `deliveries` for good: they can never be accepted (not an event). Their content
    /// is reported by [`accept_batch`] so that it is never dropped silently.
    async fn reject(&self, deliveries: &[Delivery]) -> Result<(), SourceError>;
}

/// What [`accept_batch`] did with one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AcceptedBatch {
    /// Deliveries accepted into the queue and acknowledged.
    pub accepted: usize,
    /// Of those, events the queue had not seen before (the others were redeliveries).
    pub new: usize,
    /// Deliveries handed back because the queue could not take them now.
    pub handed_back: usize,
    /// Deliveries that are not events, rejected at the source, with why.
    pub rejected: Vec<(String, String)>,
}

/// Accepts a batch of deliveries into `agent`'s durable queue in one write
/// ([`Agent::accept_all`]), then acknowledges them together. When the queue cannot take the
/// batch, all of it is handed back to come again after `retry_delay`; deliveries that are not
/// events are rejected (reported, never silently).
///
/// The returned error is the source's: acknowledging or handing back failed, in which case the
/// upstream redelivers and the queue deduplicates.
pub async fn accept_batch(
    agent: &Agent,
    source: &dyn EventSource,
    deliveries: Vec<Delivery>,
    retry_delay: Duration,
) -> Result<AcceptedBatch, SourceError> {
    let mut report = AcceptedBatch::default();
    let (mut events, mut parsed, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
    for delivery in deliveries {
        match serde_json::from_slice::<Event>(&delivery.payload) {
            Ok(event) if !event.source.is_empty() && !event.id.is_empty() => {
                events.push(event);
                parsed.push(delivery);
            }
            Ok(_) => {
                report.rejected.push((
                    delivery.upstream_id.clone(),
                    "not an event: no source or id".to_owned(),
                ));
                rejected.push(delivery);
            }
            Err(e) => {
                report
                    .rejected
                    .push((delivery.upstream_id.clone(), format!("not an event: {e}")));
                rejected.push(delivery);
            }
        }
    }
    // One durable write for the whole batch: all of it is accepted, or none and it comes again.
    let (accepted, back) = match agent.accept_all(&events).await {
        Ok(new) => {
            report.new = new.iter().filter(|&&n| n).count();
            (parsed, Vec::new())
        }
        Err(_) => (Vec::new(), parsed),
    };
    report.accepted = accepted.len();
    report.handed_back = back.len();
    if !accepted.is_empty() {
        source.ack(&accepted).await?;
    }
    if !back.is_empty() {
        source.nak(&back, retry_delay).await?;
    }
    if !rejected.is_empty() {
        source.reject(&rejected).await?;
    }
    Ok(report)
}

//! Accepting events durably and working them off the queue.
//!
//! A webhook handler or stream consumer calls [`Agent::accept`] and acknowledges the upstream
//! only once it returned: from then on the event survives a crash. Workers (one or many, in one
//! process or several sharing a database) call [`Agent::work_queue`] in a loop. Each claimed
//! event goes through [`Agent::handle_event`]; it is completed when everything it caused
//! succeeded, otherwise put back with a growing delay, and after
//! [`QueueConfig::max_attempts`] given up with an urgent ticket for staff, never silently.
//!
//! Exactly-once *effects* come from the keys, not from the queue: a worker that crashes after
//! refunding but before completing leaves the event in flight; when its lease expires another
//! worker takes it over, and the refund intent, the memoised receipt decision and the keyed
//! tickets make the second pass a no-op where the first one already acted.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Priority;
use crate::flows::events::{Event, EventKind};
use crate::ports::{ClaimedEvent, Completion, PortError, QueuedEvent, Retry};

use super::execute::Effects;
use super::{Agent, AgentError, EventOutcome};

/// How the event queue is worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// How long a claim holds before another worker may take the event over, in seconds. Longer
    /// than the slowest event takes to handle (vendor timeouts included).
    pub lease_seconds: u32,
    /// Attempts before an event is given up (with a ticket).
    pub max_attempts: u32,
    /// The delay before the first retry, in seconds; it doubles with every attempt.
    pub first_retry_seconds: u32,
    /// The longest delay between attempts, in seconds.
    pub max_retry_seconds: u32,
}

impl Default for QueueConfig {
    fn default() -> QueueConfig {
        QueueConfig {
            lease_seconds: 120,
            max_attempts: 8,
            first_retry_seconds: 5,
            max_retry_seconds: 3_600,
        }
    }
}

impl QueueConfig {
    /// When attempt `attempt` (1 for the first) of event `id` that failed at `now` is tried
    /// again: exponential backoff from [`first_retry_seconds`](Self::first_retry_seconds),
    /// capped, with up to a fifth of jitter derived from the event id (deterministic, so a replay
    /// gives the same schedule, yet events failing together spread out).
    pub fn retry_at(&self, id: &str, attempt: u32, now: DateTime<Utc>) -> DateTime<Utc> {
        let exponent = attempt.saturating_sub(1).min(30);
        let base = u64::from(self.first_retry_seconds.max(1)).saturating_mul(1u64 << exponent);
        let capped = base.min(u64::from(self.max_retry_seconds.max(1)));
        // FNV-1a of the id: a stable spread without randomness.
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let jitter = if capped >= 5 { hash % (capped / 5) } else { 0 };
        let seconds = i64::try_from(capped + jitter).unwrap_or(i64::MAX / 2);
        now + Duration::seconds(seconds)
    }
}

/// What one pass over the queue did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueReport {
    /// Events claimed.
    pub claimed: usize,
    /// Completed (handled, or recognised as handled before).
    pub completed: usize,
    /// Put back for a later attempt.
    pub retried: usize,
    /// Given up after too many attempts or as unreadable (each with a ticket).
    pub given_up: usize,
    /// Completions the queue refused because the claim had been taken over meanwhile; the new
    /// holder finishes the event (its effects are keyed, so nothing happens twice).
    pub lost_claims: usize,
    /// The outcome per event, in the order handled.
    pub outcomes: Vec<EventOutcome>,
}

/// One pass over claimed events: what it did, and the completions not yet written.
struct Pass {
    report: QueueReport,
    done: Vec<Completion>,
    /// Ordering keys with an event put back in this pass, and when it is due again.
    held_keys: HashMap<String, DateTime<Utc>>,
}

/// The key under which events are serialised: two workers never handle events of one order (or
/// one return) at the same time.
pub fn ordering_key(event: &Event) -> String {
    match (&event.kind, event.order_id()) {
        (_, Some(order)) => format!("order:{order}"),
        (EventKind::ReturnReceived { receipt }, None) => format!("return:{}", receipt.return_id),
        _ => format!("source:{}", event.source),
    }
}

impl Agent {
    /// Accepts `event` into the durable queue; returns whether it was new (a redelivery of an
    /// accepted event returns `false` and changes nothing). Acknowledge the upstream only after
    /// this returned `Ok`.
    pub async fn accept(&self, event: &Event) -> Result<bool, AgentError> {
        let queued = QueuedEvent {
            source: event.source.clone(),
            id: event.id.clone(),
            ordering_key: ordering_key(event),
            payload: serde_json::to_value(event).map_err(|e| {
                AgentError::Store(
                    PortError::invalid_input(
                        crate::ports::store::ops::ENQUEUE_EVENT,
                        "event is not serialisable",
                    )
                    .with_source(e),
                )
            })?,
            enqueued_at: self.ports.clock.now(),
        };
        self.ports
            .store
            .enqueue_event(&queued)
            .await
            .map_err(AgentError::Store)
    }

    /// Accepts several events into the durable queue in one write (a group commit); answers,
    /// per event, whether it was new. Either all are accepted or, on an error, none is, so the
    /// caller hands the whole batch back upstream. Acknowledge the upstream only after this
    /// returned `Ok`.
    pub async fn accept_all(&self, events: &[Event]) -> Result<Vec<bool>, AgentError> {
        let now = self.ports.clock.now();
        let queued = events
            .iter()
            .map(|event| {
                Ok(QueuedEvent {
                    source: event.source.clone(),
                    id: event.id.clone(),
                    ordering_key: ordering_key(event),
                    payload: serde_json::to_value(event).map_err(|e| {
                        AgentError::Store(
                            PortError::invalid_input(
                                crate::ports::store::ops::ENQUEUE_EVENTS,
                                "event is not serialisable",
                            )
                            .with_source(e),
                        )
                    })?,
                    enqueued_at: now,
                })
            })
            .collect::<Result<Vec<_>, AgentError>>()?;
        self.ports
            .store
            .enqueue_events(&queued)
            .await
            .map_err(AgentError::Store)
    }

    /// Claims up to `limit` due events for `worker` and handles them, one ordering key after
    /// another; returns what happened. Call it in a loop (sleeping briefly when it claimed
    /// nothing); any number of workers may do so at once.
    ///
    /// Completions are grouped: the events handled successfully are completed together in one
    /// durable write (which also marks them processed), at the end of the pass or before any
    /// retry. A crash before that write leaves them in flight; they are handled again once the
    /// lease expires, and their keyed effects make the second pass a no-op.
    ///
    /// When an event fails, the later events of its ordering key in this pass are not handled:
    /// they are put back to come after it, so the events of one order keep their order.
    #[tracing::instrument(name = "work_queue", skip(self), fields(claimed = tracing::field::Empty))]
    pub async fn work_queue(&self, worker: &str, limit: usize) -> Result<QueueReport, AgentError> {
        let now = self.ports.clock.now();
        let until = now + Duration::seconds(i64::from(self.config.queue.lease_seconds.max(1)));
        let claimed = self
            .ports
            .store
            .claim_events(worker, now, until, limit)
            .await
            .map_err(AgentError::Store)?;
        tracing::Span::current().record("claimed", claimed.len());
        let mut pass = Pass {
            report: QueueReport {
                claimed: claimed.len(),
                ..QueueReport::default()
            },
            done: Vec::new(),
            held_keys: HashMap::new(),
        };
        for item in claimed {
            if let Some(at) = pass.held_keys.get(&item.event.ordering_key).copied() {
                self.hold_back(&item, at, &mut pass).await?;
                continue;
            }
            self.work_one(item, &mut pass).await?;
        }
        self.flush(&mut pass).await?;
        Ok(pass.report)
    }

    async fn work_one(&self, item: ClaimedEvent, pass: &mut Pass) -> Result<(), AgentError> {
        let (source, id, claim) = (&item.event.source, &item.event.id, &item.claim);
        let event: Event = match serde_json::from_value(item.event.payload.clone()) {
            Ok(event) => event,
            Err(e) => {
                let error = format!("unreadable event: {e}");
                self.flush(pass).await?;
                return self.give_up(&item, &error, &mut pass.report).await;
            }
        };
        let outcome = self.handle_unmarked(&event).await;
        if outcome.errors.is_empty() {
            pass.done.push(Completion {
                source: source.clone(),
                id: id.clone(),
                claim: claim.clone(),
            });
            pass.report.outcomes.push(outcome);
            return Ok(());
        }
        self.flush(pass).await?;
        if item.attempt >= self.config.queue.max_attempts.max(1) {
            let error = outcome.errors.join("; ");
            pass.report.outcomes.push(outcome);
            return self.give_up(&item, &error, &mut pass.report).await;
        }
        let at = self
            .config
            .queue
            .retry_at(id, item.attempt, self.ports.clock.now());
        let put_back = self
            .ports
            .store
            .retry_event(
                source,
                id,
                claim,
                &Retry::At { at },
                &outcome.errors.join("; "),
            )
            .await
            .map_err(AgentError::Store)?;
        if put_back {
            pass.report.retried += 1;
            pass.held_keys.insert(item.event.ordering_key.clone(), at);
        } else {
            pass.report.lost_claims += 1;
        }
        pass.report.outcomes.push(outcome);
        Ok(())
    }

    /// Puts back an event whose ordering key has an earlier event waiting for a retry, due at
    /// the same time, so that it is handled after it.
    async fn hold_back(
        &self,
        item: &ClaimedEvent,
        at: DateTime<Utc>,
        pass: &mut Pass,
    ) -> Result<(), AgentError> {
        let put_back = self
            .ports
            .store
            .retry_event(
                &item.event.source,
                &item.event.id,
                &item.claim,
                &Retry::At { at },
                "held back: an earlier event of its ordering key waits for a retry",
            )
            .await
            .map_err(AgentError::Store)?;
        if put_back {
            pass.report.retried += 1;
        } else {
            pass.report.lost_claims += 1;
        }
        Ok(())
    }

    /// Completes the events handled successfully so far, in one write.
    async fn flush(&self, pass: &mut Pass) -> Result<(), AgentError> {
        if pass.done.is_empty() {
            return Ok(());
        }
        let done = self
            .ports
            .store
            .complete_events(&pass.done)
            .await
            .map_err(AgentError::Store)?;
        pass.done.clear();
        for completed in done {
            if completed {
                pass.report.completed += 1;
            } else {
                pass.report.lost_claims += 1;
            }
        }
        Ok(())
    }

    /// Gives up on an event: an urgent ticket first (so staff always learn of it), then the
    /// queue records it dead. If the ticket cannot be opened the event is retried instead.
    async fn give_up(
        &self,
        item: &ClaimedEvent,
        error: &str,
        report: &mut QueueReport,
    ) -> Result<(), AgentError> {
        let (source, id) = (&item.event.source, &item.event.id);
        tracing::error!(%source, event_id = %id, attempt = item.attempt, %error, "giving up on an event");
        let escalation = self.escalation(
            None,
            Priority::Urgent,
            format!("Event {id} from {source} could not be processed"),
            format!(
                "The agent gave up on event {id} from {source} (ordering key {}) after {} \
                 attempt(s). Last error: {error}\n\nThe event as received:\n{}",
                item.event.ordering_key,
                item.attempt,
                serde_json::to_string_pretty(&item.event.payload).unwrap_or_default()
            ),
            None,
            &["event_given_up".to_owned()],
        );
        let mut effects = Effects::default();
        let ticket = self
            .ticket(
                &format!("ticket:dead-event:{source}:{id}"),
                escalation,
                &mut effects,
            )
            .await;
        let retry = match ticket {
            Some(_) => Retry::GiveUp,
            None => Retry::At {
                at: self
                    .config
                    .queue
                    .retry_at(id, item.attempt, self.ports.clock.now()),
            },
        };
        let changed = self
            .ports
            .store
            .retry_event(source, id, &item.claim, &retry, error)
            .await
            .map_err(AgentError::Store)?;
        match (changed, &retry) {
            (false, _) => report.lost_claims += 1,
            (true, Retry::GiveUp) => report.given_up += 1,
            (true, Retry::At { .. }) => report.retried += 1,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retries_back_off_exponentially_with_a_bounded_stable_jitter() {
        let config = QueueConfig::default();
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let delay = |attempt| (config.retry_at("evt_1", attempt, now) - now).num_seconds();
        assert!((5..=6).contains(&delay(1)));
        assert!((10..=12).contains(&delay(2)));
        assert!((40..=48).contains(&delay(4)));
        assert!((3_600..=4_320).contains(&delay(20)));
        assert!((3_600..=4_320).contains(&delay(u32::MAX)));
        assert_eq!(delay(3), delay(3));
    }
}

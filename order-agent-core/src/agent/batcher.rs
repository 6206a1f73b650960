//! Group commit for accepting events: many concurrent receivers (webhook requests, stream
//! consumers), one durable write per batch.
//!
//! Each receiver awaits [`AcceptBatcher::accept`] and acknowledges its upstream only once it
//! returned `Ok`, exactly as with [`Agent::accept`]. Behind it one task takes whatever events are
//! waiting (up to the batch size, never waiting for more to arrive) and accepts them with
//! [`Agent::accept_all`] in one transaction, so one fsync covers the whole batch. Under light
//! load a batch is one event and nothing waits; under heavy load batches grow by themselves and
//! the time to durable stays about one transaction.

use std::fmt;
use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use super::{Agent, AgentError};
use crate::flows::events::Event;
use crate::ports::PortError;

type Answer = oneshot::Sender<Result<bool, AgentError>>;

/// Accepts events into the agent's durable queue, grouping concurrent calls into one write.
///
/// Cheap to clone; every clone feeds the same driver.
#[derive(Clone)]
pub struct AcceptBatcher {
    sender: mpsc::Sender<(Event, Answer)>,
    max_batch: usize,
}

impl fmt::Debug for AcceptBatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptBatcher")
            .field("max_batch", &self.max_batch)
            .finish_non_exhaustive()
    }
}

impl AcceptBatcher {
    /// A batcher for `agent`, writing at most `max_batch` events (at least 1) per transaction,
    /// and the future that does the writing: spawn it on the runtime of your choice. It ends
    /// when every clone of the batcher is dropped.
    ///
    /// ```no_run
    /// # async fn example(agent: order_agent_core::agent::Agent,
    /// #     event: order_agent_core::flows::events::Event) {
    /// use order_agent_core::agent::AcceptBatcher;
    ///
    /// let (batcher, driver) = AcceptBatcher::new(agent, 256);
    /// tokio::spawn(driver);
    /// let new = batcher.accept(event).await;
    /// # }
    /// ```
    pub fn new(
        agent: Agent,
        max_batch: usize,
    ) -> (AcceptBatcher, impl Future<Output = ()> + Send + 'static) {
        let max_batch = max_batch.max(1);
        let (sender, receiver) = mpsc::channel(max_batch.saturating_mul(4));
        (
            AcceptBatcher { sender, max_batch },
            run(agent, receiver, max_batch),
        )
    }

    /// Accepts `event` durably; returns whether it was new (as [`Agent::accept`]).
    ///
    /// # Errors
    ///
    /// [`AgentError::Store`] with kind `InvalidInput` for an event without source or id; with kind
    /// `Unavailable` when the batch could not be written (nothing of it was accepted) or
    /// the batching task is gone.
    pub async fn accept(&self, event: Event) -> Result<bool, AgentError> {
        // A bad event fails alone, not the batch it would have joined.
        if event.source.is_empty() || event.id.is_empty() {
            return Err(AgentError::Store(PortError::invalid_input(
                crate::ports::store::ops::ENQUEUE_EVENTS,
                "an event needs a source and an id",
            )));
        }
        let (answer, answered) = oneshot::channel();
        self.sender
            .send((event, answer))
            .await
            .map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

fn gone() -> AgentError {
    AgentError::Store(PortError::unavailable(
        crate::ports::store::ops::ENQUEUE_EVENTS,
        "the accepting task has stopped",
    ))
}

async fn run(agent: Agent, mut receiver: mpsc::Receiver<(Event, Answer)>, max_batch: usize) {
    let mut events = Vec::with_capacity(max_batch);
    let mut answers = Vec::with_capacity(max_batch);
    while let Some((event, answer)) = receiver.recv().await {
        events.push(event);
        answers.push(answer);
        while events.len() < max_batch {
            match receiver.try_recv() {
                Ok((event, answer)) => {
                    events.push(event);
                    answers.push(answer);
                }
                Err(_) => break,
            }
        }
        match agent.accept_all(&events).await {
            Ok(new) => {
                for (answer, new) in answers.drain(..).zip(new) {
                    // A receiver that went away just learns nothing.
                    let _ = answer.send(Ok(new));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, batch = events.len(), "a batch of events was not accepted");
                let message = match &e {
                    AgentError::Store(port) => port.to_string(),
                    other => other.to_string(),
                };
                for answer in answers.drain(..) {
                    let error = PortError::unavailable(
                        crate::ports::store::ops::ENQUEUE_EVENTS,
                        format!("the batch was not accepted: {message}"),
                    );
                    let _ = answer.send(Err(AgentError::Store(error)));
                }
            }
        }
        events.clear();
        answers.clear();
    }
}

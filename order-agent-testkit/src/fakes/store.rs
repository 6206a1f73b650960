//! An in-memory state store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::domain::{OrderId, ReturnAuthorisation, ReturnId};
use order_agent_core::ports::store::ops;
use order_agent_core::ports::{
    Claim, ClaimedEvent, Completion, ConversationKey, ConversationState, ConversationStore,
    DecisionLog, DecisionRecord, EventInbox, EventQueue, IdempotencyRecord, IdempotencyStore,
    LoggedDecision, PortError, PortResult, PutOutcome, QueueStats, QueuedEvent, RefundIntent,
    RefundIntentState, RefundIntentStore, RefundIntentTransition, Retry, ReturnStore,
    TransitionOutcome, Versioned,
};
use serde_json::json;

use super::faults::{instrumented, lock, Instrumentation};

#[derive(Debug, Default)]
struct StoreState {
    idempotency: BTreeMap<String, IdempotencyRecord>,
    /// Authorisations in insertion order.
    returns: Vec<ReturnAuthorisation>,
    /// Intents in creation order.
    intents: Vec<RefundIntent>,
    processed: BTreeSet<(String, String)>,
    conversations: BTreeMap<ConversationKey, Versioned<ConversationState>>,
    /// Highest version ever given per conversation, so that versions are never reused.
    conversation_versions: BTreeMap<ConversationKey, u64>,
    decisions: Vec<LoggedDecision>,
    /// Accepted events in acceptance order.
    queue: Vec<QueueRow>,
    /// Position in `queue` per (source, id).
    queued: BTreeMap<(String, String), usize>,
    /// The latest claim per ordering key.
    claims: BTreeMap<String, Claim>,
}

#[derive(Debug)]
struct QueueRow {
    event: QueuedEvent,
    state: QueueRowState,
    attempts: u32,
    due: Option<DateTime<Utc>>,
    /// Handed out and neither completed nor retried since.
    in_flight: bool,
    last_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueueRowState {
    Pending,
    Completed,
    Dead,
}

/// A state store in memory: each concern a map behind one mutex, with exactly the semantics of
/// the store contracts (create-if-absent, compare-and-set, an inbox that never forgets, a log
/// with strictly increasing sequence numbers).
#[derive(Debug, Default)]
pub struct FakeStore {
    state: Mutex<StoreState>,
    instrumentation: Instrumentation,
}

instrumented!(FakeStore);

impl FakeStore {
    /// An empty store.
    pub fn new() -> FakeStore {
        FakeStore::default()
    }

    /// Every logged decision, in order, without going through the port.
    pub fn decision_log(&self) -> Vec<LoggedDecision> {
        lock(&self.state).decisions.clone()
    }

    /// Every refund intent, in creation order, without going through the port.
    pub fn refund_intents(&self) -> Vec<RefundIntent> {
        lock(&self.state).intents.clone()
    }
}

#[async_trait]
impl IdempotencyStore for FakeStore {
    async fn put_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> PortResult<PutOutcome<IdempotencyRecord>> {
        self.instrumentation
            .call(ops::PUT_IDEMPOTENCY_RECORD, record, |_| {
                if record.key.is_empty() {
                    return Err(PortError::invalid_input(
                        ops::PUT_IDEMPOTENCY_RECORD,
                        "the key is empty",
                    ));
                }
                let mut state = lock(&self.state);
                match state.idempotency.get(&record.key) {
                    Some(existing) => Ok(PutOutcome::AlreadyPresent(existing.clone())),
                    None => {
                        state.idempotency.insert(record.key.clone(), record.clone());
                        Ok(PutOutcome::Inserted)
                    }
                }
            })
            .await
    }

    async fn idempotency_record(&self, key: &str) -> PortResult<Option<IdempotencyRecord>> {
        self.instrumentation
            .call(ops::IDEMPOTENCY_RECORD, json!({ "key": key }), |_| {
                Ok(lock(&self.state).idempotency.get(key).cloned())
            })
            .await
    }
}

#[async_trait]
impl ReturnStore for FakeStore {
    async fn insert_return_authorisation(
        &self,
        authorisation: &ReturnAuthorisation,
    ) -> PortResult<PutOutcome<ReturnAuthorisation>> {
        self.instrumentation
            .call(ops::INSERT_RETURN_AUTHORISATION, authorisation, |_| {
                let mut state = lock(&self.state);
                if let Some(existing) = state.returns.iter().find(|a| a.id == authorisation.id) {
                    return Ok(PutOutcome::AlreadyPresent(existing.clone()));
                }
                state.returns.push(authorisation.clone());
                Ok(PutOutcome::Inserted)
            })
            .await
    }

    async fn return_authorisation(&self, id: &ReturnId) -> PortResult<Option<ReturnAuthorisation>> {
        self.instrumentation
            .call(ops::RETURN_AUTHORISATION, json!({ "id": id }), |_| {
                Ok(lock(&self.state)
                    .returns
                    .iter()
                    .find(|a| &a.id == id)
                    .cloned())
            })
            .await
    }

    async fn return_authorisations_of_order(
        &self,
        order: &OrderId,
    ) -> PortResult<Vec<ReturnAuthorisation>> {
        self.instrumentation
            .call(
                ops::RETURN_AUTHORISATIONS_OF_ORDER,
                json!({ "order": order }),
                |_| {
                    let mut found: Vec<ReturnAuthorisation> = lock(&self.state)
                        .returns
                        .iter()
                        .filter(|a| &a.request.order_id == order)
                        .cloned()
                        .collect();
                    // Stable: equal times keep insertion order.
                    found.sort_by_key(|a| a.authorised_at);
                    Ok(found)
                },
            )
            .await
    }
}

#[async_trait]
impl RefundIntentStore for FakeStore {
    async fn create_refund_intent(
        &self,
        intent: &RefundIntent,
    ) -> PortResult<PutOutcome<RefundIntent>> {
        self.instrumentation
            .call(ops::CREATE_REFUND_INTENT, intent, |_| {
                let mut state = lock(&self.state);
                if let Some(existing) = state.intents.iter().find(|i| i.key == intent.key) {
                    return Ok(PutOutcome::AlreadyPresent(existing.clone()));
                }
                if !matches!(
                    intent.state,
                    RefundIntentState::Pending | RefundIntentState::NeedsApproval
                ) {
                    return Err(PortError::invalid_input(
                        ops::CREATE_REFUND_INTENT,
                        "a new intent is pending or needs approval",
                    )
                    .with_context("key", &intent.key));
                }
                if !intent.amount.is_positive() {
                    return Err(PortError::invalid_input(
                        ops::CREATE_REFUND_INTENT,
                        "the amount must be positive",
                    )
                    .with_context("amount", intent.amount));
                }
                intent.check_bounds()?;
                let others: i64 = state
                    .intents
                    .iter()
                    .filter(|i| {
                        i.payment_id == intent.payment_id && i.state != RefundIntentState::Failed
                    })
                    .map(|i| i.amount.to_minor())
                    .sum();
                intent.check_within_captured(others)?;
                state.intents.push(intent.clone());
                Ok(PutOutcome::Inserted)
            })
            .await
    }

    async fn refund_intent(&self, key: &str) -> PortResult<Option<RefundIntent>> {
        self.instrumentation
            .call(ops::REFUND_INTENT, json!({ "key": key }), |_| {
                Ok(lock(&self.state)
                    .intents
                    .iter()
                    .find(|i| i.key == key)
                    .cloned())
            })
            .await
    }

    async fn transition_refund_intent(
        &self,
        key: &str,
        transition: &RefundIntentTransition,
    ) -> PortResult<TransitionOutcome> {
        self.instrumentation
            .call(
                ops::TRANSITION_REFUND_INTENT,
                json!({ "key": key, "transition": transition }),
                |_| {
                    if !transition.from.can_become(transition.to) {
                        return Err(PortError::invalid_input(
                            ops::TRANSITION_REFUND_INTENT,
                            "the intent may not make this transition",
                        )
                        .with_context("from", state_name(transition.from))
                        .with_context("to", state_name(transition.to)));
                    }
                    let mut state = lock(&self.state);
                    let intent =
                        state
                            .intents
                            .iter_mut()
                            .find(|i| i.key == key)
                            .ok_or_else(|| {
                                PortError::not_found(
                                    ops::TRANSITION_REFUND_INTENT,
                                    "no such intent",
                                )
                                .with_context("key", key)
                            })?;
                    if intent.state != transition.from {
                        return Ok(TransitionOutcome::Stale(intent.clone()));
                    }
                    intent.check_transition(transition)?;
                    intent.state = transition.to;
                    intent.updated_at = transition.at;
                    if let Some(ticket) = &transition.approval_ticket {
                        intent.approval_ticket = Some(ticket.clone());
                    }
                    if let Some(refund) = &transition.refund_id {
                        intent.refund_id = Some(refund.clone());
                    }
                    Ok(TransitionOutcome::Applied(intent.clone()))
                },
            )
            .await
    }

    async fn refund_intents_of_order(&self, order: &OrderId) -> PortResult<Vec<RefundIntent>> {
        self.instrumentation
            .call(
                ops::REFUND_INTENTS_OF_ORDER,
                json!({ "order": order }),
                |_| {
                    let mut found: Vec<RefundIntent> = lock(&self.state)
                        .intents
                        .iter()
                        .filter(|i| &i.order_id == order)
                        .cloned()
                        .collect();
                    found.sort_by_key(|i| i.created_at);
                    Ok(found)
                },
            )
            .await
    }
}

fn state_name(state: RefundIntentState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[async_trait]
impl EventQueue for FakeStore {
    async fn enqueue_event(&self, event: &QueuedEvent) -> PortResult<bool> {
        self.instrumentation
            .call(
                ops::ENQUEUE_EVENT,
                json!({ "source": event.source, "id": event.id, "key": event.ordering_key }),
                |_| {
                    check_queued(ops::ENQUEUE_EVENT, event)?;
                    Ok(enqueue_locked(&mut lock(&self.state), event))
                },
            )
            .await
    }

    async fn enqueue_events(&self, events: &[QueuedEvent]) -> PortResult<Vec<bool>> {
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        self.instrumentation
            .call(ops::ENQUEUE_EVENTS, json!({ "ids": ids }), |_| {
                for event in events {
                    check_queued(ops::ENQUEUE_EVENTS, event)?;
                }
                let mut state = lock(&self.state);
                Ok(events
                    .iter()
                    .map(|event| enqueue_locked(&mut state, event))
                    .collect())
            })
            .await
    }

    async fn claim_events(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<ClaimedEvent>> {
        self.instrumentation
            .call(
                ops::CLAIM_EVENTS,
                json!({ "worker": worker, "limit": limit }),
                |_| {
                    let mut guard = lock(&self.state);
                    let state = &mut *guard;
                    let mut handed: Vec<ClaimedEvent> = Vec::new();
                    // Keys with an event in flight under a lease that has not expired.
                    let mut blocked: BTreeSet<String> = state
                        .queue
                        .iter()
                        .filter(|row| row.state == QueueRowState::Pending && row.in_flight)
                        .map(|row| row.event.ordering_key.clone())
                        .filter(|key| state.claims.get(key).is_some_and(|c| c.until > now))
                        .collect();
                    let mut fresh: BTreeMap<String, Claim> = BTreeMap::new();
                    for row in state.queue.iter_mut() {
                        if handed.len() >= limit {
                            break;
                        }
                        if row.state != QueueRowState::Pending {
                            continue;
                        }
                        let key = row.event.ordering_key.clone();
                        if blocked.contains(&key) {
                            continue;
                        }
                        let claim = match fresh.get(&key) {
                            Some(claim) => claim.clone(),
                            None => {
                                let previous = state.claims.get(&key);
                                if row.due.is_some_and(|due| due > now) {
                                    // Later events of the key wait for this one.
                                    blocked.insert(key);
                                    continue;
                                }
                                let claim = Claim {
                                    worker: worker.to_owned(),
                                    token: previous.map_or(1, |c| c.token + 1),
                                    until,
                                };
                                fresh.insert(key.clone(), claim.clone());
                                claim
                            }
                        };
                        if row.due.is_some_and(|due| due > now) {
                            blocked.insert(key);
                            continue;
                        }
                        row.attempts += 1;
                        row.in_flight = true;
                        handed.push(ClaimedEvent {
                            event: row.event.clone(),
                            attempt: row.attempts,
                            claim,
                        });
                    }
                    state.claims.extend(fresh);
                    Ok(handed)
                },
            )
            .await
    }

    async fn complete_event(&self, source: &str, id: &str, claim: &Claim) -> PortResult<bool> {
        self.instrumentation
            .call(
                ops::COMPLETE_EVENT,
                json!({ "source": source, "id": id, "token": claim.token }),
                |_| Ok(complete_locked(&mut lock(&self.state), source, id, claim)),
            )
            .await
    }

    async fn complete_events(&self, completions: &[Completion]) -> PortResult<Vec<bool>> {
        let ids: Vec<&str> = completions.iter().map(|c| c.id.as_str()).collect();
        self.instrumentation
            .call(ops::COMPLETE_EVENTS, json!({ "ids": ids }), |_| {
                let mut state = lock(&self.state);
                Ok(completions
                    .iter()
                    .map(|c| complete_locked(&mut state, &c.source, &c.id, &c.claim))
                    .collect())
            })
            .await
    }

    async fn retry_event(
        &self,
        source: &str,
        id: &str,
        claim: &Claim,
        retry: &Retry,
        error: &str,
    ) -> PortResult<bool> {
        self.instrumentation
            .call(
                ops::RETRY_EVENT,
                json!({ "source": source, "id": id, "token": claim.token, "retry": retry }),
                |_| {
                    let mut guard = lock(&self.state);
                    let state = &mut *guard;
                    let Some(&at) = state.queued.get(&(source.to_owned(), id.to_owned())) else {
                        return Ok(false);
                    };
                    let row = &mut state.queue[at];
                    if state.claims.get(&row.event.ordering_key) != Some(claim)
                        || row.state != QueueRowState::Pending
                    {
                        return Ok(false);
                    }
                    row.last_error = Some(error.to_owned());
                    row.in_flight = false;
                    match retry {
                        Retry::At { at } => row.due = Some(*at),
                        Retry::GiveUp => row.state = QueueRowState::Dead,
                    }
                    Ok(true)
                },
            )
            .await
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> PortResult<QueueStats> {
        self.instrumentation
            .call(ops::QUEUE_STATS, json!({}), |_| {
                let state = lock(&self.state);
                let mut stats = QueueStats::default();
                for row in &state.queue {
                    match row.state {
                        QueueRowState::Pending => {
                            stats.pending += 1;
                            if row.in_flight
                                && state
                                    .claims
                                    .get(&row.event.ordering_key)
                                    .is_some_and(|c| c.until > now)
                            {
                                stats.leased += 1;
                            }
                        }
                        QueueRowState::Completed => stats.completed += 1,
                        QueueRowState::Dead => stats.dead += 1,
                    }
                }
                Ok(stats)
            })
            .await
    }
}

#[async_trait]
impl EventInbox for FakeStore {
    async fn mark_processed(&self, source: &str, event_id: &str) -> PortResult<bool> {
        self.instrumentation
            .call(
                ops::MARK_PROCESSED,
                json!({ "source": source, "event_id": event_id }),
                |_| {
                    Ok(lock(&self.state)
                        .processed
                        .insert((source.to_owned(), event_id.to_owned())))
                },
            )
            .await
    }

    async fn is_processed(&self, source: &str, event_id: &str) -> PortResult<bool> {
        self.instrumentation
            .call(
                ops::IS_PROCESSED,
                json!({ "source": source, "event_id": event_id }),
                |_| {
                    Ok(lock(&self.state)
                        .processed
                        .contains(&(source.to_owned(), event_id.to_owned())))
                },
            )
            .await
    }
}

#[async_trait]
impl ConversationStore for FakeStore {
    async fn conversation(
        &self,
        key: &ConversationKey,
    ) -> PortResult<Option<Versioned<ConversationState>>> {
        self.instrumentation
            .call(ops::CONVERSATION, key, |_| {
                Ok(lock(&self.state).conversations.get(key).cloned())
            })
            .await
    }

    async fn save_conversation(
        &self,
        key: &ConversationKey,
        conversation: &ConversationState,
        expected_version: Option<u64>,
    ) -> PortResult<u64> {
        self.instrumentation
            .call(
                ops::SAVE_CONVERSATION,
                json!({ "key": key, "state": conversation, "expected_version": expected_version }),
                |_| {
                    let mut state = lock(&self.state);
                    let current = state.conversations.get(key).map(|v| v.version);
                    if current != expected_version {
                        return Err(PortError::conflict(
                            ops::SAVE_CONVERSATION,
                            "the conversation changed since it was read",
                        )
                        .with_context(
                            "expected_version",
                            expected_version.map_or("none".to_owned(), |v| v.to_string()),
                        )
                        .with_context(
                            "stored_version",
                            current.map_or("none".to_owned(), |v| v.to_string()),
                        ));
                    }
                    let highest = state.conversation_versions.get(key).copied().unwrap_or(0);
                    let version = highest + 1;
                    state.conversation_versions.insert(key.clone(), version);
                    state.conversations.insert(
                        key.clone(),
                        Versioned {
                            version,
                            value: conversation.clone(),
                        },
                    );
                    Ok(version)
                },
            )
            .await
    }

    async fn delete_conversation(&self, key: &ConversationKey) -> PortResult<()> {
        self.instrumentation
            .call(ops::DELETE_CONVERSATION, key, |_| {
                lock(&self.state).conversations.remove(key);
                Ok(())
            })
            .await
    }
}

#[async_trait]
impl DecisionLog for FakeStore {
    async fn append_decision(&self, record: &DecisionRecord) -> PortResult<u64> {
        self.instrumentation
            .call(ops::APPEND_DECISION, record, |_| {
                let mut state = lock(&self.state);
                let sequence = state.decisions.last().map_or(1, |d| d.sequence + 1);
                state.decisions.push(LoggedDecision {
                    sequence,
                    record: record.clone(),
                });
                Ok(sequence)
            })
            .await
    }

    async fn decisions(&self, from: u64, limit: usize) -> PortResult<Vec<LoggedDecision>> {
        self.instrumentation
            .call(
                ops::DECISIONS,
                json!({ "from": from, "limit": limit }),
                |_| {
                    Ok(lock(&self.state)
                        .decisions
                        .iter()
                        .filter(|d| d.sequence >= from)
                        .take(limit)
                        .cloned()
                        .collect())
                },
            )
            .await
    }
}

fn check_queued(op: &'static str, event: &QueuedEvent) -> PortResult<()> {
    if event.source.is_empty() || event.id.is_empty() || event.ordering_key.is_empty() {
        return Err(PortError::invalid_input(
            op,
            "source, id and ordering key must not be empty",
        ));
    }
    Ok(())
}

fn enqueue_locked(state: &mut StoreState, event: &QueuedEvent) -> bool {
    let id = (event.source.clone(), event.id.clone());
    if state.queued.contains_key(&id) {
        return false;
    }
    let at = state.queue.len();
    state.queue.push(QueueRow {
        event: event.clone(),
        state: QueueRowState::Pending,
        attempts: 0,
        due: None,
        in_flight: false,
        last_error: None,
    });
    state.queued.insert(id, at);
    true
}

fn complete_locked(state: &mut StoreState, source: &str, id: &str, claim: &Claim) -> bool {
    let Some(&at) = state.queued.get(&(source.to_owned(), id.to_owned())) else {
        return false;
    };
    let row = &mut state.queue[at];
    if state.claims.get(&row.event.ordering_key) != Some(claim) {
        return false;
    }
    match row.state {
        QueueRowState::Pending => {
            row.state = QueueRowState::Completed;
            row.in_flight = false;
            // A completed event counts as processed, as in the real stores.
            state.processed.insert((source.to_owned(), id.to_owned()));
            true
        }
        QueueRowState::Completed => true,
        QueueRowState::Dead => false,
    }
}

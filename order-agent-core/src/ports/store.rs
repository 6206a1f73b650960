//! The agent's own state: idempotency records, return authorisations, refund intents, the inbox of
//! processed events, conversation state and the append-only decision log.
//!
//! Each concern is a small trait; [`Store`] is all of them together, implemented automatically for
//! any type that implements each, so an adapter (SQLite, PostgreSQL, the in-memory fake) writes six
//! small impls and callers hold one [`StoreRef`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::error::{PortError, PortResult};
use crate::domain::{
    Channel, CustomerId, Locale, OrderId, PaymentId, RefundId, ReturnAuthorisation, ReturnId,
    TicketId,
};
use crate::money::Money;
use crate::policy::Decision;

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`IdempotencyStore::put_idempotency_record`](super::IdempotencyStore::put_idempotency_record).
    pub const PUT_IDEMPOTENCY_RECORD: &str = "store.put_idempotency_record";
    /// [`IdempotencyStore::idempotency_record`](super::IdempotencyStore::idempotency_record).
    pub const IDEMPOTENCY_RECORD: &str = "store.idempotency_record";
    /// [`ReturnStore::insert_return_authorisation`](super::ReturnStore::insert_return_authorisation).
    pub const INSERT_RETURN_AUTHORISATION: &str = "store.insert_return_authorisation";
    /// [`ReturnStore::return_authorisation`](super::ReturnStore::return_authorisation).
    pub const RETURN_AUTHORISATION: &str = "store.return_authorisation";
    /// [`ReturnStore::return_authorisations_of_order`](super::ReturnStore::return_authorisations_of_order).
    pub const RETURN_AUTHORISATIONS_OF_ORDER: &str = "store.return_authorisations_of_order";
    /// [`RefundIntentStore::create_refund_intent`](super::RefundIntentStore::create_refund_intent).
    pub const CREATE_REFUND_INTENT: &str = "store.create_refund_intent";
    /// [`RefundIntentStore::refund_intent`](super::RefundIntentStore::refund_intent).
    pub const REFUND_INTENT: &str = "store.refund_intent";
    /// [`RefundIntentStore::transition_refund_intent`](super::RefundIntentStore::transition_refund_intent).
    pub const TRANSITION_REFUND_INTENT: &str = "store.transition_refund_intent";
    /// [`RefundIntentStore::refund_intents_of_order`](super::RefundIntentStore::refund_intents_of_order).
    pub const REFUND_INTENTS_OF_ORDER: &str = "store.refund_intents_of_order";
    /// [`EventInbox::mark_processed`](super::EventInbox::mark_processed).
    pub const MARK_PROCESSED: &str = "store.mark_processed";
    /// [`EventInbox::is_processed`](super::EventInbox::is_processed).
    pub const IS_PROCESSED: &str = "store.is_processed";
    /// [`ConversationStore::conversation`](super::ConversationStore::conversation).
    pub const CONVERSATION: &str = "store.conversation";
    /// [`ConversationStore::save_conversation`](super::ConversationStore::save_conversation).
    pub const SAVE_CONVERSATION: &str = "store.save_conversation";
    /// [`ConversationStore::delete_conversation`](super::ConversationStore::delete_conversation).
    pub const DELETE_CONVERSATION: &str = "store.delete_conversation";
    /// [`DecisionLog::append_decision`](super::DecisionLog::append_decision).
    pub const APPEND_DECISION: &str = "store.append_decision";
    /// [`DecisionLog::decisions`](super::DecisionLog::decisions).
    pub const DECISIONS: &str = "store.decisions";
    /// [`EventQueue::enqueue_event`](super::EventQueue::enqueue_event).
    pub const ENQUEUE_EVENT: &str = "store.enqueue_event";
    /// [`EventQueue::enqueue_events`](super::EventQueue::enqueue_events).
    pub const ENQUEUE_EVENTS: &str = "store.enqueue_events";
    /// [`EventQueue::claim_events`](super::EventQueue::claim_events).
    pub const CLAIM_EVENTS: &str = "store.claim_events";
    /// [`EventQueue::complete_event`](super::EventQueue::complete_event).
    pub const COMPLETE_EVENT: &str = "store.complete_event";
    /// [`EventQueue::complete_events`](super::EventQueue::complete_events).
    pub const COMPLETE_EVENTS: &str = "store.complete_events";
    /// [`EventQueue::retry_event`](super::EventQueue::retry_event).
    pub const RETRY_EVENT: &str = "store.retry_event";
    /// [`EventQueue::queue_stats`](super::EventQueue::queue_stats).
    pub const QUEUE_STATS: &str = "store.queue_stats";
}

/// The answer of a create-if-absent write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "existing", rename_all = "snake_case")]
pub enum PutOutcome<T> {
    /// Nothing was stored under the key; the value given is now.
    Inserted,
    /// A value was already stored under the key and is kept unchanged; here it is.
    AlreadyPresent(T),
}

impl<T> PutOutcome<T> {
    /// Whether this write stored the value.
    pub fn is_inserted(&self) -> bool {
        matches!(self, PutOutcome::Inserted)
    }
}

// ---------------------------------------------------------------------------------------------
// idempotency

/// The stored outcome of an action, under the caller's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyRecord {
    /// The key, e.g. `refund:ret_1:pay_1`.
    pub key: String,
    /// The outcome, as JSON.
    pub outcome: serde_json::Value,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// Remembers the outcome of actions so that a retried or replayed request does not act twice.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait IdempotencyStore: Send + Sync + Debug + 'static {
    /// Stores `record` unless a record with its key exists.
    ///
    /// # Behavior
    ///
    /// - MUST NOT overwrite: when the key exists it MUST return `AlreadyPresent` with the stored
    ///   record, unchanged, whatever `record` holds.
    /// - Of concurrent puts of one key, exactly one MUST return `Inserted`.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for an empty key.
    async fn put_idempotency_record(
        &self,
        record: &IdempotencyRecord,
    ) -> PortResult<PutOutcome<IdempotencyRecord>>;

    /// The record stored under `key`.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for an unknown key, MUST NOT return an error for it.
    /// - MUST return the record exactly as stored (the outcome JSON compares equal).
    async fn idempotency_record(&self, key: &str) -> PortResult<Option<IdempotencyRecord>>;
}

/// Typed conveniences over any [`IdempotencyStore`]; adapters never implement this.
#[async_trait]
pub trait IdempotencyStoreExt: IdempotencyStore {
    /// The outcome stored under `key`, decoded.
    async fn recall<T: DeserializeOwned>(&self, key: &str) -> PortResult<Option<T>> {
        match self.idempotency_record(key).await? {
            Some(record) => decode(key, record.outcome).map(Some),
            None => Ok(None),
        }
    }

    /// Stores `outcome` under `key` unless an outcome is already stored, and returns the outcome
    /// that counts: `outcome` when it was stored, the earlier one otherwise.
    async fn remember<T>(&self, key: &str, outcome: T, at: DateTime<Utc>) -> PortResult<T>
    where
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
    {
        let json = serde_json::to_value(&outcome).map_err(|e| {
            PortError::invalid_input(ops::PUT_IDEMPOTENCY_RECORD, "outcome is not serialisable")
                .with_context("key", key)
                .with_source(e)
        })?;
        let record = IdempotencyRecord {
            key: key.to_owned(),
            outcome: json,
            recorded_at: at,
        };
        match self.put_idempotency_record(&record).await? {
            PutOutcome::Inserted => Ok(outcome),
            PutOutcome::AlreadyPresent(existing) => decode(key, existing.outcome),
        }
    }
}

impl<S: IdempotencyStore + ?Sized> IdempotencyStoreExt for S {}

fn decode<T: DeserializeOwned>(key: &str, outcome: serde_json::Value) -> PortResult<T> {
    serde_json::from_value(outcome).map_err(|e| {
        PortError::unexpected(ops::IDEMPOTENCY_RECORD, "stored outcome has another shape")
            .with_context("key", key)
            .with_source(e)
    })
}

// ---------------------------------------------------------------------------------------------
// return authorisations

/// Keeps the returns the agent authorised.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ReturnStore: Send + Sync + Debug + 'static {
    /// Stores `authorisation` unless one with its id exists.
    ///
    /// # Behavior
    ///
    /// - MUST NOT overwrite: when the id exists it MUST return `AlreadyPresent` with the stored
    ///   authorisation, unchanged.
    /// - Of concurrent inserts of one id, exactly one MUST return `Inserted`.
    async fn insert_return_authorisation(
        &self,
        authorisation: &ReturnAuthorisation,
    ) -> PortResult<PutOutcome<ReturnAuthorisation>>;

    /// The authorisation with id `id`.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for an unknown id, MUST NOT return an error for it.
    async fn return_authorisation(&self, id: &ReturnId) -> PortResult<Option<ReturnAuthorisation>>;

    /// Every authorisation of order `order`, oldest first.
    ///
    /// # Behavior
    ///
    /// - MUST list them by `authorised_at`, oldest first, each once, and only those of `order`.
    /// - MUST return an empty list for an order without returns.
    async fn return_authorisations_of_order(
        &self,
        order: &OrderId,
    ) -> PortResult<Vec<ReturnAuthorisation>>;
}

// ---------------------------------------------------------------------------------------------
// refund intents

/// Where a refund the agent means to make stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundIntentState {
    /// Decided, not yet sent to the processor (or sent without a final answer).
    Pending,
    /// Waiting for a human to approve it on a ticket.
    NeedsApproval,
    /// A human approved it; not yet sent.
    Approved,
    /// The processor accepted it.
    Succeeded,
    /// The processor refused it, or a human declined it.
    Failed,
}

impl RefundIntentState {
    /// Every state, in declaration order.
    pub const ALL: [RefundIntentState; 5] = [
        RefundIntentState::Pending,
        RefundIntentState::NeedsApproval,
        RefundIntentState::Approved,
        RefundIntentState::Succeeded,
        RefundIntentState::Failed,
    ];

    /// Whether an intent may move from `self` to `next`:
    /// `pending → needs_approval | succeeded | failed`, `needs_approval → approved | failed`,
    /// `approved → succeeded | failed`. `succeeded` and `failed` are final.
    pub fn can_become(self, next: RefundIntentState) -> bool {
        use RefundIntentState::*;
        matches!(
            (self, next),
            (Pending, NeedsApproval | Succeeded | Failed)
                | (NeedsApproval, Approved | Failed)
                | (Approved, Succeeded | Failed)
        )
    }

    /// Whether no transition leaves this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RefundIntentState::Succeeded | RefundIntentState::Failed
        )
    }
}

/// A refund the agent means to make, recorded before it calls the processor so that a crash or a
/// retry never refunds twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundIntent {
    /// The key; also the idempotency key sent to the processor.
    pub key: String,
    /// The order.
    pub order_id: OrderId,
    /// The payment to refund.
    pub payment_id: PaymentId,
    /// How much.
    pub amount: Money,
    /// What the payment captured: the intents of one payment that have not failed may together
    /// never exceed it, whatever the code that creates them does. `None`: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<Money>,
    /// The most the agent may refund without a person (the policy's limit): an intent above it
    /// must be created `needs_approval`, and is paid only once approved on a ticket. `None`: no
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_limit: Option<Money>,
    /// Where it stands.
    pub state: RefundIntentState,
    /// The ticket on which a human approves it, when one must.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_ticket: Option<TicketId>,
    /// The processor's refund, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed state.
    pub updated_at: DateTime<Utc>,
}

impl RefundIntent {
    /// The money rules of a new intent that need no other row, as every store applies them:
    /// `captured` and `auto_limit` in the intent's currency, and an intent above its limit
    /// waiting for approval. [`InvalidInput`](super::PortErrorKind::InvalidInput) otherwise.
    pub fn check_bounds(&self) -> PortResult<()> {
        let op = ops::CREATE_REFUND_INTENT;
        for (what, bound) in [("captured", self.captured), ("auto_limit", self.auto_limit)] {
            if bound.is_some_and(|b| b.currency() != self.amount.currency()) {
                return Err(
                    PortError::invalid_input(op, "a bound is in another currency")
                        .with_context("key", &self.key)
                        .with_context("bound", what),
                );
            }
        }
        if self.is_above_limit() && self.state != RefundIntentState::NeedsApproval {
            return Err(PortError::invalid_input(
                op,
                "an intent above the auto-refund limit must wait for approval",
            )
            .with_context("key", &self.key)
            .with_context("amount", self.amount));
        }
        Ok(())
    }

    /// Whether this intent, as it stands, may make `transition` (its state aside, which the
    /// store compares): becoming `approved` needs an approval ticket, given or stored, and an
    /// intent above its limit never goes from `pending` straight to `succeeded`.
    /// [`InvalidInput`](super::PortErrorKind::InvalidInput) otherwise.
    pub fn check_transition(&self, transition: &RefundIntentTransition) -> PortResult<()> {
        let op = ops::TRANSITION_REFUND_INTENT;
        if transition.to == RefundIntentState::Approved
            && transition.approval_ticket.is_none()
            && self.approval_ticket.is_none()
        {
            return Err(
                PortError::invalid_input(op, "an approval needs an approval ticket")
                    .with_context("key", &self.key),
            );
        }
        if transition.from == RefundIntentState::Pending
            && transition.to == RefundIntentState::Succeeded
            && self.is_above_limit()
        {
            return Err(PortError::invalid_input(
                op,
                "an intent above the auto-refund limit is paid only after approval",
            )
            .with_context("key", &self.key)
            .with_context("amount", self.amount));
        }
        Ok(())
    }

    /// Whether the amount is above [`auto_limit`](Self::auto_limit).
    pub fn is_above_limit(&self) -> bool {
        self.auto_limit
            .is_some_and(|limit| self.amount.to_minor() > limit.to_minor())
    }

    /// Whether this intent fits within [`captured`](Self::captured) next to the payment's other
    /// intents that have not failed, which hold `others_minor` minor units together;
    /// [`Conflict`](super::PortErrorKind::Conflict) otherwise.
    pub fn check_within_captured(&self, others_minor: i64) -> PortResult<()> {
        let Some(captured) = self.captured else {
            return Ok(());
        };
        if others_minor.saturating_add(self.amount.to_minor()) > captured.to_minor() {
            return Err(PortError::conflict(
                ops::CREATE_REFUND_INTENT,
                "the payment's refund intents would exceed what it captured",
            )
            .with_context("key", &self.key)
            .with_context("payment_id", &self.payment_id)
            .with_context("captured", captured)
            .with_context("amount", self.amount));
        }
        Ok(())
    }
}

/// A compare-and-set state change of a refund intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundIntentTransition {
    /// The state the caller saw; the change applies only if the intent is still in it.
    pub from: RefundIntentState,
    /// The new state.
    pub to: RefundIntentState,
    /// Sets the approval ticket; `None` keeps the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_ticket: Option<TicketId>,
    /// Sets the processor's refund id; `None` keeps the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<RefundId>,
    /// When the change happens; becomes `updated_at`.
    pub at: DateTime<Utc>,
}

/// The answer of a compare-and-set transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "intent", rename_all = "snake_case")]
pub enum TransitionOutcome {
    /// The intent was in the expected state and changed; here it is afterwards.
    Applied(RefundIntent),
    /// The intent was in another state and did not change; here it is as it stands.
    Stale(RefundIntent),
}

/// Keeps refund intents and moves them through their states with compare-and-set.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RefundIntentStore: Send + Sync + Debug + 'static {
    /// Stores `intent` unless one with its key exists.
    ///
    /// # Behavior
    ///
    /// - MUST NOT overwrite: when the key exists it MUST return `AlreadyPresent` with the stored
    ///   intent, unchanged.
    /// - Of concurrent creates of one key, exactly one MUST return `Inserted`.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for an intent that is
    ///   not `pending` or `needs_approval`, whose amount is not positive, whose `captured` or
    ///   `auto_limit` is in another currency, or that is above its `auto_limit` and not
    ///   `needs_approval`; nothing is stored.
    /// - When `captured` is set, MUST return [`Conflict`](super::PortErrorKind::Conflict) and
    ///   store nothing if the amounts of the payment's other intents that have not failed, plus
    ///   this one, would exceed it; of concurrent creates for one payment, the check MUST see
    ///   the others (no two may together pass it when both would not).
    async fn create_refund_intent(
        &self,
        intent: &RefundIntent,
    ) -> PortResult<PutOutcome<RefundIntent>>;

    /// The intent with key `key`.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for an unknown key, MUST NOT return an error for it.
    async fn refund_intent(&self, key: &str) -> PortResult<Option<RefundIntent>>;

    /// Moves intent `key` from `transition.from` to `transition.to`, atomically.
    ///
    /// # Behavior
    ///
    /// - When the intent is in `from`, MUST apply the change (state, `updated_at`, and the ticket
    ///   and refund id where given) and return `Applied` with the intent afterwards.
    /// - When it is in another state, MUST change nothing and return `Stale` with the intent as
    ///   it stands.
    /// - Of concurrent transitions from one state, at most one MUST return `Applied`.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) when `from` may not
    ///   become `to` ([`RefundIntentState::can_become`]), when an intent would become `approved`
    ///   with no approval ticket (neither given nor stored), or `succeeded` straight from
    ///   `pending` while above its `auto_limit`; and
    ///   [`NotFound`](super::PortErrorKind::NotFound) for an unknown key; none changes anything.
    async fn transition_refund_intent(
        &self,
        key: &str,
        transition: &RefundIntentTransition,
    ) -> PortResult<TransitionOutcome>;

    /// Every intent of order `order`, oldest first.
    ///
    /// # Behavior
    ///
    /// - MUST list them by `created_at`, oldest first, each once, and only those of `order`.
    async fn refund_intents_of_order(&self, order: &OrderId) -> PortResult<Vec<RefundIntent>>;
}

// ---------------------------------------------------------------------------------------------
// inbox

/// Remembers which incoming events (webhooks, warehouse receipts) were processed, so that a
/// redelivered event is recognised.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventInbox: Send + Sync + Debug + 'static {
    /// Marks event `event_id` from `source` (e.g. `shopify`, `warehouse`) as processed; returns
    /// whether this was the first time.
    ///
    /// # Behavior
    ///
    /// - MUST return `true` the first time and `false` every later time for the same source and
    ///   event id; it MUST NOT forget.
    /// - Of concurrent marks of one event, exactly one MUST return `true`.
    /// - The same event id from two sources MUST count as two events.
    async fn mark_processed(&self, source: &str, event_id: &str) -> PortResult<bool>;

    /// Whether event `event_id` from `source` was marked processed.
    ///
    /// # Behavior
    ///
    /// - MUST return `true` exactly when [`mark_processed`](Self::mark_processed) was called for
    ///   it before, and MUST NOT mark it itself.
    async fn is_processed(&self, source: &str, event_id: &str) -> PortResult<bool>;
}

// ---------------------------------------------------------------------------------------------
// conversations

/// Who the agent is talking with: a sender on a channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationKey {
    /// The channel.
    pub channel: Channel,
    /// The sender's address on it.
    pub sender: String,
}

/// A question the agent asked and is waiting to have answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingQuestion {
    /// What was asked, e.g. `order_number`, `verification_code`, `confirm_address`.
    pub kind: String,
    /// What the agent needs to go on when the answer comes (the intent, a suggested address).
    #[serde(default)]
    pub context: serde_json::Value,
    /// When it was asked.
    pub asked_at: DateTime<Utc>,
}

/// What the agent remembers about a conversation between messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationState {
    /// The customer the sender proved to be, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_customer: Option<CustomerId>,
    /// The language of the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// The question waiting for an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_question: Option<PendingQuestion>,
    /// Attempts per purpose, e.g. `verification` → 2, to stop guessing.
    #[serde(default)]
    pub attempts: BTreeMap<String, u32>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A stored value with the version that compare-and-set writes check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versioned<T> {
    /// The version, at least 1.
    pub version: u64,
    /// The value.
    pub value: T,
}

/// Keeps conversation state per channel and sender, with optimistic concurrency.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConversationStore: Send + Sync + Debug + 'static {
    /// The state of conversation `key`, with its version.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for a conversation never saved or deleted, MUST NOT return an
    ///   error for it.
    /// - MUST return the state exactly as last saved.
    async fn conversation(
        &self,
        key: &ConversationKey,
    ) -> PortResult<Option<Versioned<ConversationState>>>;

    /// Saves `state` if the stored version is `expected_version` (`None`: nothing is stored) and
    /// returns the new version.
    ///
    /// # Behavior
    ///
    /// - MUST return [`Conflict`](super::PortErrorKind::Conflict) and change nothing when the
    ///   stored version is not `expected_version` (including `None` when a state exists).
    /// - The new version MUST be greater than the one it replaces, and at least 1.
    /// - Of concurrent saves expecting one version, at most one MUST succeed.
    /// - Conversations are independent: another channel or sender is another key.
    async fn save_conversation(
        &self,
        key: &ConversationKey,
        state: &ConversationState,
        expected_version: Option<u64>,
    ) -> PortResult<u64>;

    /// Forgets conversation `key`.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent: deleting an unknown conversation MUST succeed.
    /// - Afterwards [`conversation`](Self::conversation) MUST return `Ok(None)` and a save
    ///   expecting `None` MUST succeed.
    async fn delete_conversation(&self, key: &ConversationKey) -> PortResult<()>;
}

// ---------------------------------------------------------------------------------------------
// decision log

/// One decision, as logged for audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// When it was decided.
    pub at: DateTime<Utc>,
    /// What it was about, e.g. `order:o_1042` or `return:ret_7`.
    pub subject: String,
    /// The decision, as JSON.
    pub decision: serde_json::Value,
    /// The reason codes, in the decision's order.
    pub reasons: Vec<String>,
}

impl DecisionRecord {
    /// A record of `decision` about `subject`, with its reason codes.
    pub fn from_decision(
        at: DateTime<Utc>,
        subject: impl Into<String>,
        decision: &Decision,
    ) -> Result<DecisionRecord, serde_json::Error> {
        let reasons = decision
            .reasons
            .iter()
            .map(|r| match serde_json::to_value(r.code)? {
                serde_json::Value::String(code) => Ok(code),
                other => Ok(other.to_string()),
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        Ok(DecisionRecord {
            at,
            subject: subject.into(),
            decision: serde_json::to_value(decision)?,
            reasons,
        })
    }
}

/// A logged decision with its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedDecision {
    /// Its place in the log.
    pub sequence: u64,
    /// The record.
    pub record: DecisionRecord,
}

/// The append-only log of every decision the agent made.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DecisionLog: Send + Sync + Debug + 'static {
    /// Appends `record` and returns its sequence number.
    ///
    /// # Behavior
    ///
    /// - Sequence numbers MUST be at least 1 and strictly increasing: each MUST be greater than
    ///   every one returned before, concurrent appends included; they MAY have gaps.
    /// - MUST NOT change or drop a record once appended.
    async fn append_decision(&self, record: &DecisionRecord) -> PortResult<u64>;

    /// Up to `limit` records with a sequence number of `from` or more, in ascending order.
    ///
    /// # Behavior
    ///
    /// - MUST return records in strictly ascending sequence order, each exactly as appended.
    /// - MUST return the records with the lowest sequence numbers at or above `from`, at most
    ///   `limit` of them, skipping none.
    /// - MUST return an empty list past the end, MUST NOT return an error for it.
    async fn decisions(&self, from: u64, limit: usize) -> PortResult<Vec<LoggedDecision>>;
}

// ---------------------------------------------------------------------------------------------
// event queue

/// An event accepted for processing, as the queue keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueuedEvent {
    /// Where it came from, e.g. `carrier:swiss-post`; with `id`, its identity.
    pub source: String,
    /// The upstream id.
    pub id: String,
    /// Events with the same key are never worked on by two workers at once, e.g.
    /// `order:o_1042`.
    pub ordering_key: String,
    /// The event itself, as JSON.
    pub payload: serde_json::Value,
    /// When it was accepted.
    pub enqueued_at: DateTime<Utc>,
}

/// The right to work on one ordering key until a time, handed out by
/// [`EventQueue::claim_events`]. Completing or retrying an event needs the claim under which it
/// was handed out, so a worker whose lease expired (and whose key another worker took over)
/// cannot complete what it no longer holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The worker holding it.
    pub worker: String,
    /// A number that grows with every claim of the key (a fencing token).
    pub token: u64,
    /// Until when it holds.
    pub until: DateTime<Utc>,
}

/// One event handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimedEvent {
    /// The event.
    pub event: QueuedEvent,
    /// How many times it was handed out, this time included (at least 1).
    pub attempt: u32,
    /// The claim it was handed out under.
    pub claim: Claim,
}

/// One event to complete under its claim, for [`EventQueue::complete_events`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Completion {
    /// The event's source.
    pub source: String,
    /// The event's id.
    pub id: String,
    /// The claim it was handed out under.
    pub claim: Claim,
}

/// How full the queue is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Accepted and not yet completed (including those waiting for a retry).
    pub pending: u64,
    /// Of those, in flight under a claim that has not expired.
    pub leased: u64,
    /// Completed.
    pub completed: u64,
    /// Given up after too many attempts (each with a ticket for staff).
    pub dead: u64,
}

/// What happens to an event whose processing failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "then", rename_all = "snake_case")]
pub enum Retry {
    /// Try again from `at` on.
    At {
        /// When it is due again.
        at: DateTime<Utc>,
    },
    /// Give up: the event stays recorded as dead, with the error, and is never handed out again.
    GiveUp,
}

/// The durable queue of accepted events (webhooks, stream messages, warehouse receipts): an
/// event is accepted once, survives crashes, and is handed to one worker at a time until it is
/// completed, so none is lost and none is worked on twice at once.
///
/// Together with the [`EventInbox`] (deduplication of what was processed) and keyed side effects,
/// this is what lets a crash at any point resume without losing or repeating anything.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait EventQueue: Send + Sync + Debug + 'static {
    /// Accepts `event` unless an event with its source and id was accepted before; returns whether
    /// it was new.
    ///
    /// # Behavior
    ///
    /// - MUST return `true` the first time and `false` every later time for the same source and
    ///   id, also after the event was completed or given up; it MUST NOT forget.
    /// - Of concurrent enqueues of one event, exactly one MUST return `true`.
    /// - Once it returned, the event MUST survive a restart of the process.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for an empty source,
    ///   id or ordering key.
    async fn enqueue_event(&self, event: &QueuedEvent) -> PortResult<bool>;

    /// Accepts several events in one durable write (a group commit); answers, per event in
    /// order, whether it was new.
    ///
    /// # Behavior
    ///
    /// - MUST behave as [`enqueue_event`](Self::enqueue_event) called for each event in order,
    ///   except that either every event is accepted or, on an error, none is: a batch that fails
    ///   MUST leave the queue as it was, so the caller can hand the whole batch back.
    /// - An event repeated within the batch MUST be new at most once (its first occurrence).
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput), accepting nothing,
    ///   when any event has an empty source, id or ordering key.
    ///
    /// The default calls [`enqueue_event`](Self::enqueue_event) per event and so is neither
    /// grouped nor all-or-nothing; stores override it (the SQLite and PostgreSQL stores do).
    async fn enqueue_events(&self, events: &[QueuedEvent]) -> PortResult<Vec<bool>> {
        if let Some(bad) = events
            .iter()
            .find(|e| e.source.is_empty() || e.id.is_empty() || e.ordering_key.is_empty())
        {
            return Err(super::PortError::invalid_input(
                ops::ENQUEUE_EVENTS,
                "source, id and ordering key must not be empty",
            )
            .with_context("event", &bad.id));
        }
        let mut new = Vec::with_capacity(events.len());
        for event in events {
            new.push(self.enqueue_event(event).await?);
        }
        Ok(new)
    }

    /// Hands `worker` up to `limit` due events, leasing their ordering keys until `until`.
    ///
    /// # Behavior
    ///
    /// - MUST hand out only events accepted, not completed, not given up, and due (never retried,
    ///   or retried with a time at or before `now`).
    /// - An event is *in flight* from being handed out until it is completed or retried. MUST NOT
    ///   hand out an event whose ordering key has an event in flight under a claim that has not
    ///   expired at `now` (this worker's included); an expired claim MUST NOT block.
    /// - MUST NOT hand out an event while an earlier event of its key is waiting for its retry.
    /// - Every event handed out MUST carry a claim whose token is greater than any token handed
    ///   out before for its key; all events of one key in one answer share one claim.
    /// - Of concurrent claims, no two MUST receive events of the same ordering key.
    /// - Events of one key MUST come in the order they were accepted.
    async fn claim_events(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> PortResult<Vec<ClaimedEvent>>;

    /// Marks event `source`/`id` completed, if `claim` still holds its key; returns whether it
    /// did.
    ///
    /// # Behavior
    ///
    /// - When the key's current claim is `claim` (same worker and token; expired or not, as long
    ///   as nobody claimed the key since), MUST mark the event completed and return `true`.
    /// - Otherwise MUST change nothing and return `false`; for an unknown event too.
    /// - Completing a completed event under its claim MUST return `true` and change nothing.
    /// - A store that is also the [`EventInbox`] MUST record the completed event as processed
    ///   there ([`EventInbox::is_processed`] answers `true`) in the same durable write.
    async fn complete_event(&self, source: &str, id: &str, claim: &Claim) -> PortResult<bool>;

    /// Completes several events, each under its own claim, in one durable write; answers, per
    /// completion in order, what [`complete_event`](Self::complete_event) would have.
    ///
    /// # Behavior
    ///
    /// - MUST behave as [`complete_event`](Self::complete_event) called for each in order, all
    ///   in one transaction: on an error nothing is completed.
    ///
    /// The default calls [`complete_event`](Self::complete_event) per completion; stores
    /// override it.
    async fn complete_events(&self, completions: &[Completion]) -> PortResult<Vec<bool>> {
        let mut done = Vec::with_capacity(completions.len());
        for c in completions {
            done.push(self.complete_event(&c.source, &c.id, &c.claim).await?);
        }
        Ok(done)
    }

    /// Puts event `source`/`id` back for a later attempt, or gives up on it, if `claim` still
    /// holds its key; returns whether it did.
    ///
    /// # Behavior
    ///
    /// - Under the key's current claim, MUST record `error` and either make the event due again
    ///   at the retry's time or mark it given up, and return `true`; otherwise MUST change nothing
    ///   and return `false`.
    /// - MUST NOT change an event already completed or given up (and return `false`).
    async fn retry_event(
        &self,
        source: &str,
        id: &str,
        claim: &Claim,
        retry: &Retry,
        error: &str,
    ) -> PortResult<bool>;

    /// How many events are pending, in flight, completed and given up, at `now`.
    async fn queue_stats(&self, now: DateTime<Utc>) -> PortResult<QueueStats>;
}

// ---------------------------------------------------------------------------------------------
// the whole store

/// The whole state store: every store trait at once. Implemented for every type that implements
/// them all; never implement it by hand.
pub trait Store:
    IdempotencyStore
    + ReturnStore
    + RefundIntentStore
    + EventInbox
    + EventQueue
    + ConversationStore
    + DecisionLog
{
}

impl<S> Store for S where
    S: IdempotencyStore
        + ReturnStore
        + RefundIntentStore
        + EventInbox
        + EventQueue
        + ConversationStore
        + DecisionLog
        + ?Sized
{
}

/// A shared state store.
pub type StoreRef = Arc<dyn Store>;

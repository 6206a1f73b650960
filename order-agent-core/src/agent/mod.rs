//! The shell: gathers facts through the ports, asks the pure core, and executes what it decides,
//! idempotently.
//!
//! The [`Agent`] starts no background work and holds no state of its own between calls: the host
//! drives it with [`Agent::handle_message`] for customer messages, [`Agent::handle_event`] for the
//! OMS, carrier and warehouse event stream, and [`Agent::check_order`] on a schedule so that silent
//! parcels are noticed. Everything that must survive a crash lives in the state store.
//!
//! Every side effect carries a key derived from business ids (`refund:{return}:{payment}`,
//! `ticket:exception:{order}:{parcel}:{kind}`, ...), so a retried call, a redelivered webhook or a
//! restart after a crash does not act twice: refunds go through refund intents recorded before
//! the processor is called, tickets and restocks are keyed, and customer notices are recorded once
//! sent. Messages are at-least-once: a crash between sending and recording can repeat one.

mod approvals;
mod batcher;
mod conversation;
mod events;
mod execute;
mod operations;
mod queue;
mod requests;

use std::sync::Arc;

pub use approvals::Approval;
pub use batcher::AcceptBatcher;
pub use queue::{ordering_key, QueueConfig, QueueReport};

use serde::{Deserialize, Serialize};

use crate::domain::{
    Address, Channel, Locale, OrderId, PaymentId, RefundId, ReturnId, Sku, TicketId,
};
use crate::flows::shipping::ShipmentException;
use crate::money::Money;
use crate::policy::{Decision, Policy, RestockDisposition};
use crate::ports::{
    CarrierRef, ClockRef, Delivery, HelpdeskRef, Intent, InterpreterRef, InventoryRef,
    MessagingRef, OmsRef, PaymentsRef, PortError, StoreRef,
};
use crate::replies::{RenderedReply, Reply};

/// The outside systems the agent works through.
#[derive(Debug, Clone)]
pub struct Ports {
    /// Orders and customers.
    pub oms: OmsRef,
    /// Tracking, return labels, address validation.
    pub carrier: CarrierRef,
    /// Refunds.
    pub payments: PaymentsRef,
    /// Outbound messages on every channel.
    pub messaging: MessagingRef,
    /// Tickets for humans.
    pub helpdesk: HelpdeskRef,
    /// Restocking.
    pub inventory: InventoryRef,
    /// Durable state: idempotency, returns, refund intents, inbox, conversations, decision log.
    pub store: StoreRef,
    /// Reading customer messages.
    pub interpreter: InterpreterRef,
    /// The time.
    pub clock: ClockRef,
}

/// Settings of the runtime (the merchant's rules live in the [`Policy`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Below this confidence a message counts as not understood.
    #[serde(default = "default_min_confidence")]
    pub min_confidence: f32,
    /// Failed identity checks per sender (and per order number) before lookups stop.
    #[serde(default = "default_max_attempts")]
    pub max_verification_attempts: u32,
    /// Where returns are sent.
    pub returns_address: Address,
    /// The carrier return labels are made with, e.g. `swiss-post`.
    pub return_carrier: String,
    /// How many recent orders of a customer are considered when none is named.
    #[serde(default = "default_recent_orders")]
    pub recent_orders: usize,
    /// How the event queue is worked.
    #[serde(default)]
    pub queue: QueueConfig,
    /// How long the payment processor remembers an idempotency key (Stripe: 24 hours). A refund
    /// intent older than this is never simply re-sent: the payment's refunds are listed first,
    /// because the processor would no longer recognise the key and would refund again.
    #[serde(default = "default_idempotency_window_hours")]
    pub payment_idempotency_window_hours: u32,
}

fn default_idempotency_window_hours() -> u32 {
    24
}

fn default_min_confidence() -> f32 {
    0.6
}

fn default_max_attempts() -> u32 {
    3
}

fn default_recent_orders() -> usize {
    10
}

/// Something the agent did, for the host and the demo to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ActionTaken {
    /// A message went to the customer.
    MessageSent {
        /// The channel.
        channel: Channel,
        /// The address.
        to: String,
        /// What the provider said.
        delivery: Delivery,
    },
    /// A ticket was opened (or found open under the same key).
    TicketOpened {
        /// The ticket.
        ticket_id: TicketId,
        /// Its key.
        key: String,
    },
    /// A return was authorised.
    ReturnAuthorised {
        /// The return.
        return_id: ReturnId,
    },
    /// A return label was created.
    LabelCreated {
        /// The return.
        return_id: ReturnId,
        /// Where to download it.
        label_url: String,
    },
    /// Money went back to a payment.
    Refunded {
        /// The payment.
        payment_id: PaymentId,
        /// Amount.
        amount: Money,
        /// The processor's refund.
        refund_id: RefundId,
    },
    /// A refund is held for a human's approval.
    RefundHeld {
        /// The refund intent's key.
        key: String,
        /// Amount.
        amount: Money,
    },
    /// Store credit is to be issued (by staff, on the ticket).
    StoreCreditRequested {
        /// Amount, bonus included.
        amount: Money,
    },
    /// Received units were booked into stock.
    Restocked {
        /// The SKU.
        sku: Sku,
        /// Units.
        quantity: u32,
        /// Where they went.
        disposition: RestockDisposition,
    },
    /// The order was cancelled in the OMS.
    OrderCancelled {
        /// The order.
        order_id: OrderId,
    },
    /// The shipping address was changed in the OMS.
    AddressChanged {
        /// The order.
        order_id: OrderId,
    },
    /// The items were changed in the OMS.
    ItemsModified {
        /// The order.
        order_id: OrderId,
    },
    /// The decision was appended to the decision log.
    DecisionLogged {
        /// Its sequence number.
        sequence: u64,
    },
    /// An action was skipped because it had already been done under its key.
    AlreadyDone {
        /// The key.
        key: String,
    },
}

/// What one customer message led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// The intent the agent acted on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// The language replied in.
    pub locale: Locale,
    /// The reply, as data.
    pub reply: Reply,
    /// The reply in words, as sent.
    pub rendered: RenderedReply,
    /// Why, as short reason strings (identity steps, decision reason codes, exceptions).
    pub reasons: Vec<String>,
    /// The policy decision, when one was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// What was done.
    pub actions: Vec<ActionTaken>,
    /// Port failures met on the way (the reply already accounts for them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What one event led to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EventOutcome {
    /// The event had been processed before; nothing was done.
    pub duplicate: bool,
    /// Exceptions detected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ShipmentException>,
    /// The policy decision, when one was taken (receipts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Why, as short reason strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// What was done.
    pub actions: Vec<ActionTaken>,
    /// Port failures met on the way; the event is not marked processed when there are any, so a
    /// redelivery retries what failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Why the agent could not handle a call at all. Nothing customer-visible happened; the host
/// should retry later.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// The policy has errors.
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
    /// The state store failed, so nothing could be recorded safely.
    #[error("state store unavailable")]
    Store(#[source] PortError),
    /// Another call changed the same conversation at the same time; retry.
    #[error("conversation changed concurrently")]
    Conflict(#[source] PortError),
}

/// The agent: ports + policy + settings.
#[derive(Debug, Clone)]
pub struct Agent {
    ports: Ports,
    policy: Arc<Policy>,
    config: AgentConfig,
}

impl Agent {
    /// Builds an agent. Refuses a policy with validation errors.
    pub fn new(ports: Ports, policy: Policy, config: AgentConfig) -> Result<Agent, AgentError> {
        let validation = policy.validate();
        if !validation.errors.is_empty() {
            let errors: Vec<String> = validation.errors.iter().map(ToString::to_string).collect();
            return Err(AgentError::InvalidPolicy(errors.join("; ")));
        }
        Ok(Agent {
            ports,
            policy: Arc::new(policy),
            config,
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The ports.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }
}

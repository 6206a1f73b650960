//! Requests to change an order before it ships, and escalations to humans.

use serde::{Deserialize, Serialize};

use super::ids::{LineId, OrderId, TicketId, VariantId};
use super::order::Address;

/// Why a customer cancels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    /// The customer changed their mind.
    ChangedMind,
    /// Ordered by mistake (wrong item, duplicate).
    OrderedByMistake,
    /// Found it cheaper.
    FoundCheaper,
    /// Delivery would take too long.
    DeliveryTooSlow,
    /// The merchant suspects fraud.
    Fraud,
    /// Anything else.
    Other,
}

/// Cancel an order before it ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancellationRequest {
    /// The order.
    pub order_id: OrderId,
    /// Why.
    pub reason: CancellationReason,
}

/// Ship to another address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressChangeRequest {
    /// The order.
    pub order_id: OrderId,
    /// The new address.
    pub new_address: Address,
}

/// One change to an order's items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemChange {
    /// Another variant (size, colour) of the same product.
    SwapVariant {
        /// The line.
        line_id: LineId,
        /// The wanted variant.
        variant_id: VariantId,
    },
    /// Fewer units (zero removes the line).
    ReduceQuantity {
        /// The line.
        line_id: LineId,
        /// The new quantity.
        quantity: u32,
    },
}

/// Change items of an order before it ships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemModificationRequest {
    /// The order.
    pub order_id: OrderId,
    /// The changes.
    pub changes: Vec<ItemChange>,
}

/// How urgent a ticket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Whenever staff have time.
    Low,
    /// Within the service level.
    Normal,
    /// Money or a promise is at stake.
    High,
    /// Act now.
    Urgent,
}

/// A hand-over to a human, with the context they need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Escalation {
    /// The ticket, once opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<TicketId>,
    /// The order concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Urgency.
    pub priority: Priority,
    /// One-line subject.
    pub subject: String,
    /// What happened and what the agent found, for staff.
    pub summary: String,
    /// Machine-readable reason codes behind the escalation.
    pub reasons: Vec<String>,
}

//! The helpdesk (Zendesk, Gorgias, Freshdesk): tickets that hand a case to a human.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::PortResult;
use crate::domain::{Escalation, Priority, TicketId};

/// Operation names used in [`PortError::operation`](super::PortError::operation) and by fault
/// injection.
pub mod ops {
    /// [`Helpdesk::open_ticket`](super::Helpdesk::open_ticket).
    pub const OPEN_TICKET: &str = "helpdesk.open_ticket";
    /// [`Helpdesk::update_ticket`](super::Helpdesk::update_ticket).
    pub const UPDATE_TICKET: &str = "helpdesk.update_ticket";
    /// [`Helpdesk::add_note`](super::Helpdesk::add_note).
    pub const ADD_NOTE: &str = "helpdesk.add_note";
    /// [`Helpdesk::ticket`](super::Helpdesk::ticket).
    pub const TICKET: &str = "helpdesk.ticket";
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting for staff.
    Open,
    /// Waiting for the customer or a third party.
    Pending,
    /// Staff answered; may reopen.
    Solved,
    /// Closed for good.
    Closed,
}

/// An internal note on a ticket, for staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketNote {
    /// The text.
    pub body: String,
    /// When it was added.
    pub at: DateTime<Utc>,
}

/// A ticket as the helpdesk holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// The helpdesk's id.
    pub id: TicketId,
    /// The escalation it was opened for, with `ticket_id` set and the current priority.
    pub escalation: Escalation,
    /// Its status.
    pub status: TicketStatus,
    /// Internal notes, oldest first.
    #[serde(default)]
    pub notes: Vec<TicketNote>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
}

/// A change to a ticket; fields left `None` stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    /// The new priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The new status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TicketStatus>,
}

/// A helpdesk.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Helpdesk: Send + Sync + Debug + 'static {
    /// Opens a ticket for `escalation`, once per `key`.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent by `key`: opening again with the same key MUST return the ticket of
    ///   the first call and MUST NOT open a second one.
    /// - Different keys MUST open different tickets.
    /// - The new ticket MUST be [`TicketStatus::Open`], carry the escalation's subject, summary,
    ///   priority and reasons, and have `escalation.ticket_id` set to its id.
    /// - MUST return [`InvalidInput`](super::PortErrorKind::InvalidInput) for an empty key or
    ///   subject.
    async fn open_ticket(&self, key: &str, escalation: &Escalation) -> PortResult<Ticket>;

    /// Changes the priority or status of ticket `id` and returns the ticket afterwards.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent: applying the same update twice MUST give the same ticket.
    /// - MUST leave fields the update leaves `None` unchanged.
    /// - MUST return [`NotFound`](super::PortErrorKind::NotFound) for an unknown ticket.
    async fn update_ticket(&self, id: &TicketId, update: &TicketUpdate) -> PortResult<Ticket>;

    /// Adds an internal note (not shown to the customer) to ticket `id`.
    ///
    /// # Behavior
    ///
    /// - The note MUST appear last in the ticket's notes.
    /// - MUST return [`NotFound`](super::PortErrorKind::NotFound) for an unknown ticket and
    ///   [`InvalidInput`](super::PortErrorKind::InvalidInput) for an empty note.
    /// - Not idempotent: after a timeout a retry MAY add the note twice.
    async fn add_note(&self, id: &TicketId, body: &str) -> PortResult<()>;

    /// Ticket `id`.
    ///
    /// # Behavior
    ///
    /// - MUST return `Ok(None)` for an unknown ticket, MUST NOT return an error for it.
    /// - MUST list notes oldest first.
    async fn ticket(&self, id: &TicketId) -> PortResult<Option<Ticket>>;
}

/// A shared helpdesk.
pub type HelpdeskRef = Arc<dyn Helpdesk>;

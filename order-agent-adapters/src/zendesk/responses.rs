//! Zendesk's answers: the ticket and comment shapes the adapter reads, and the error table.

use std::time::Duration;

use chrono::{DateTime, Utc};
use order_agent_core::domain::{Escalation, OrderId, Priority, TicketId};
use order_agent_core::ports::{PortError, PortResult, Ticket, TicketNote, TicketStatus};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::ZendeskConfig;

/// `{"ticket": {...}}`.
#[derive(Debug, Deserialize)]
pub(super) struct TicketEnvelope {
    pub(super) ticket: ZendeskTicket,
}

/// `{"tickets": [...]}`.
#[derive(Debug, Deserialize)]
pub(super) struct TicketList {
    #[serde(default)]
    pub(super) tickets: Vec<ZendeskTicket>,
}

/// A custom field value.
#[derive(Debug, Deserialize)]
pub(super) struct CustomField {
    id: u64,
    #[serde(default)]
    value: Option<serde_json::Value>,
}

/// The fields of a Zendesk ticket the adapter reads.
#[derive(Debug, Deserialize)]
pub(super) struct ZendeskTicket {
    pub(super) id: u64,
    #[serde(default)]
    pub(super) external_id: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    status: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    custom_fields: Vec<CustomField>,
    pub(super) created_at: DateTime<Utc>,
}

impl ZendeskTicket {
    /// The port's ticket, with `notes` read separately.
    pub(super) fn into_ticket(
        self,
        op: &'static str,
        config: &ZendeskConfig,
        notes: Vec<TicketNote>,
    ) -> PortResult<Ticket> {
        let id = TicketId::new(self.id.to_string());
        let status = match self.status.as_str() {
            "new" | "open" => TicketStatus::Open,
            "pending" | "hold" => TicketStatus::Pending,
            "solved" => TicketStatus::Solved,
            "closed" => TicketStatus::Closed,
            other => {
                return Err(PortError::unexpected(op, "unknown ticket status")
                    .with_context("status", other)
                    .with_context("ticket_id", &id))
            }
        };
        let priority = match self.priority.as_deref() {
            Some("low") => Priority::Low,
            Some("high") => Priority::High,
            Some("urgent") => Priority::Urgent,
            _ => Priority::Normal,
        };
        let order_id = config.order_id_field.and_then(|field| {
            self.custom_fields
                .iter()
                .find(|f| f.id == field)
                .and_then(|f| f.value.as_ref())
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
                .map(OrderId::new)
        });
        Ok(Ticket {
            escalation: Escalation {
                ticket_id: Some(id.clone()),
                order_id,
                priority,
                subject: self.subject.unwrap_or_default(),
                summary: self.description.unwrap_or_default(),
                reasons: self.tags,
            },
            id,
            status,
            notes,
            created_at: self.created_at,
        })
    }
}

/// A ticket comment.
#[derive(Debug, Deserialize)]
pub(super) struct Comment {
    #[serde(default)]
    pub(super) body: String,
    #[serde(default = "public_by_default")]
    pub(super) public: bool,
    pub(super) created_at: DateTime<Utc>,
}

fn public_by_default() -> bool {
    true
}

/// A page of comments.
#[derive(Debug, Deserialize)]
pub(super) struct CommentPage {
    #[serde(default)]
    pub(super) comments: Vec<Comment>,
    #[serde(default)]
    pub(super) next_page: Option<String>,
}

/// Reads a 2xx body.
pub(super) fn parse<T: DeserializeOwned>(op: &'static str, body: &[u8]) -> PortResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| PortError::unexpected(op, "cannot read the zendesk answer").with_source(e))
}

/// Zendesk's `{"error": .., "description": ..}`, when present.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// The one table from Zendesk statuses to kinds.
pub(super) fn error(
    op: &'static str,
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> PortError {
    let err = match status {
        429 => PortError::rate_limited(op, retry_after),
        401 | 403 => PortError::unauthorized(op, "zendesk refused the credentials"),
        404 => PortError::not_found(op, "no such ticket"),
        409 => PortError::conflict(op, "another update to the ticket was in flight")
            .with_retryable(true),
        422 => PortError::rejected(op, "zendesk refused the change"),
        500..=599 => PortError::unavailable(op, "zendesk answered with a server error"),
        400..=499 => PortError::invalid_input(op, "zendesk refused the request"),
        _ => PortError::unexpected(op, "unexpected status"),
    };
    let err = err.with_context("status", status);
    match serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.error)
    {
        Some(serde_json::Value::String(code)) => err.with_context("zendesk_error", code),
        _ => err,
    }
}

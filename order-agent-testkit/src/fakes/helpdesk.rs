//! An in-memory helpdesk.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use order_agent_core::domain::{Escalation, TicketId};
use order_agent_core::ports::helpdesk::ops;
use order_agent_core::ports::{
    ClockRef, Helpdesk, PortError, PortResult, Ticket, TicketNote, TicketStatus, TicketUpdate,
};
use serde_json::json;

use super::clock::default_fake_clock;
use super::faults::{instrumented, lock, Instrumentation};

#[derive(Debug, Default)]
struct HelpdeskState {
    tickets: BTreeMap<TicketId, Ticket>,
    keys: BTreeMap<String, TicketId>,
    opened: u64,
}

/// A helpdesk that opens one ticket per caller key and keeps tickets in memory.
#[derive(Debug)]
pub struct FakeHelpdesk {
    state: Mutex<HelpdeskState>,
    clock: ClockRef,
    instrumentation: Instrumentation,
}

instrumented!(FakeHelpdesk);

impl Default for FakeHelpdesk {
    fn default() -> Self {
        FakeHelpdesk {
            state: Mutex::default(),
            clock: default_fake_clock(),
            instrumentation: Instrumentation::default(),
        }
    }
}

impl FakeHelpdesk {
    /// A helpdesk without tickets.
    pub fn new() -> FakeHelpdesk {
        FakeHelpdesk::default()
    }

    /// Stamps tickets and notes with `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: ClockRef) -> FakeHelpdesk {
        self.clock = clock;
        self
    }

    /// Every ticket, in the order they were opened.
    pub fn tickets(&self) -> Vec<Ticket> {
        let state = lock(&self.state);
        let mut tickets: Vec<Ticket> = state.tickets.values().cloned().collect();
        tickets.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| ticket_number(&a.id).cmp(&ticket_number(&b.id)))
        });
        tickets
    }

    /// Sets a ticket's status as staff would. Returns whether the ticket exists.
    pub fn set_status(&self, id: &TicketId, status: TicketStatus) -> bool {
        match lock(&self.state).tickets.get_mut(id) {
            Some(t) => {
                t.status = status;
                true
            }
            None => false,
        }
    }
}

fn ticket_number(id: &TicketId) -> u64 {
    id.as_str()
        .trim_start_matches("tkt_")
        .parse()
        .unwrap_or(u64::MAX)
}

fn no_such_ticket(operation: &'static str, id: &TicketId) -> PortError {
    PortError::not_found(operation, "no such ticket").with_context("ticket_id", id)
}

#[async_trait]
impl Helpdesk for FakeHelpdesk {
    async fn open_ticket(&self, key: &str, escalation: &Escalation) -> PortResult<Ticket> {
        self.instrumentation
            .call(
                ops::OPEN_TICKET,
                json!({ "key": key, "escalation": escalation }),
                |_| {
                    if key.trim().is_empty() {
                        return Err(PortError::invalid_input(
                            ops::OPEN_TICKET,
                            "a key is required",
                        ));
                    }
                    if escalation.subject.trim().is_empty() {
                        return Err(PortError::invalid_input(
                            ops::OPEN_TICKET,
                            "a subject is required",
                        ));
                    }
                    let mut state = lock(&self.state);
                    if let Some(id) = state.keys.get(key) {
                        return state
                            .tickets
                            .get(id)
                            .cloned()
                            .ok_or_else(|| no_such_ticket(ops::OPEN_TICKET, id));
                    }
                    state.opened += 1;
                    let id = TicketId::new(format!("tkt_{}", state.opened));
                    let ticket = Ticket {
                        id: id.clone(),
                        escalation: Escalation {
                            ticket_id: Some(id.clone()),
                            ..escalation.clone()
                        },
                        status: TicketStatus::Open,
                        notes: Vec::new(),
                        created_at: self.clock.now(),
                    };
                    state.keys.insert(key.to_owned(), id.clone());
                    state.tickets.insert(id, ticket.clone());
                    Ok(ticket)
                },
            )
            .await
    }

    async fn update_ticket(&self, id: &TicketId, update: &TicketUpdate) -> PortResult<Ticket> {
        self.instrumentation
            .call(
                ops::UPDATE_TICKET,
                json!({ "id": id, "update": update }),
                |_| {
                    let mut state = lock(&self.state);
                    let ticket = state
                        .tickets
                        .get_mut(id)
                        .ok_or_else(|| no_such_ticket(ops::UPDATE_TICKET, id))?;
                    if let Some(priority) = update.priority {
                        ticket.escalation.priority = priority;
                    }
                    if let Some(status) = update.status {
                        ticket.status = status;
                    }
                    Ok(ticket.clone())
                },
            )
            .await
    }

    async fn add_note(&self, id: &TicketId, body: &str) -> PortResult<()> {
        self.instrumentation
            .call(ops::ADD_NOTE, json!({ "id": id, "body": body }), |_| {
                if body.trim().is_empty() {
                    return Err(PortError::invalid_input(ops::ADD_NOTE, "the note is empty"));
                }
                let mut state = lock(&self.state);
                let ticket = state
                    .tickets
                    .get_mut(id)
                    .ok_or_else(|| no_such_ticket(ops::ADD_NOTE, id))?;
                ticket.notes.push(TicketNote {
                    body: body.to_owned(),
                    at: self.clock.now(),
                });
                Ok(())
            })
            .await
    }

    async fn ticket(&self, id: &TicketId) -> PortResult<Option<Ticket>> {
        self.instrumentation
            .call(ops::TICKET, json!({ "id": id }), |_| {
                Ok(lock(&self.state).tickets.get(id).cloned())
            })
            .await
    }
}

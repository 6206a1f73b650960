// Run with: cargo run -p order-agent-examples --example custom_adapter
//
//! A custom adapter: a `Helpdesk` that keeps its tickets in a JSON-lines file, one line per
//! change (the ticket as it stands after the change, and on opening the caller's key). Reading
//! the file back line by line rebuilds every ticket, so the tickets survive a restart.
//!
//! The example runs the helpdesk conformance suite of `order-agent-testkit` against the adapter
//! (the same checks the in-memory fake and every real helpdesk adapter pass), prints the result,
//! then puts the adapter into an agent in place of the fake helpdesk and lets the agent open
//! tickets through it: a customer asking for a person, and an address that failed validation.
//! Finally it reopens the file to show that the tickets, and their keys, are still there.
//!
//! Files are written to the system's temporary directory and deleted at the end.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use order_agent_core::agent::{ActionTaken, Agent};
use order_agent_core::domain::{Channel, Escalation, OrderId, TicketId};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::helpdesk::ops;
use order_agent_core::ports::{
    ClockRef, Helpdesk, PortError, PortResult, Ticket, TicketNote, TicketStatus, TicketUpdate,
};
use order_agent_testkit::conformance::helpdesk;
use order_agent_testkit::world::World;
use serde::{Deserialize, Serialize};

/// A helpdesk whose tickets live in a JSON-lines file.
#[derive(Debug)]
struct JsonlHelpdesk {
    path: PathBuf,
    clock: ClockRef,
    journal: Mutex<Journal>,
}

/// The tickets as the file describes them, and the open file to append to.
#[derive(Debug)]
struct Journal {
    file: File,
    tickets: BTreeMap<TicketId, Ticket>,
    keys: BTreeMap<String, TicketId>,
    opened: u64,
}

/// One line of the file: a ticket after a change; `key` on the line that opened it.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    ticket: Ticket,
}

impl JsonlHelpdesk {
    /// Opens (or creates) the ticket file at `path`, stamping tickets and notes with `clock`.
    fn open(path: impl AsRef<Path>, clock: ClockRef) -> PortResult<JsonlHelpdesk> {
        let path = path.as_ref().to_owned();
        let io_error = |e: std::io::Error| {
            PortError::unavailable("helpdesk.open_file", "cannot open the ticket file")
                .with_context("path", path.display())
                .with_source(e)
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&path)
            .map_err(io_error)?;
        let mut journal = Journal {
            file,
            tickets: BTreeMap::new(),
            keys: BTreeMap::new(),
            opened: 0,
        };
        let reader = BufReader::new(File::open(&path).map_err(io_error)?);
        for (number, text) in reader.lines().enumerate() {
            let text = text.map_err(io_error)?;
            let line: Line = serde_json::from_str(&text).map_err(|e| {
                PortError::unexpected(
                    "helpdesk.open_file",
                    "a line of the ticket file is not a ticket",
                )
                .with_context("path", path.display())
                .with_context("line", number + 1)
                .with_source(e)
            })?;
            journal.opened += u64::from(line.key.is_some());
            if let Some(key) = line.key {
                journal.keys.insert(key, line.ticket.id.clone());
            }
            journal.tickets.insert(line.ticket.id.clone(), line.ticket);
        }
        Ok(JsonlHelpdesk {
            path,
            clock,
            journal: Mutex::new(journal),
        })
    }

    /// Every ticket, by id.
    fn tickets(&self) -> Vec<Ticket> {
        self.lock().tickets.values().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, Journal> {
        // A panic while holding the lock cannot leave the map half-changed (every change is one
        // insert after the line is written), so a poisoned lock is still usable.
        self.journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends `line` to the file and makes it durable before the caller sees the change. A
    /// real adapter would do blocking I/O on `tokio::task::spawn_blocking`; appends of one short
    /// line are fast enough here.
    fn append(
        &self,
        journal: &mut Journal,
        operation: &'static str,
        line: &Line,
    ) -> PortResult<()> {
        let mut text = serde_json::to_string(line).map_err(|e| {
            PortError::unexpected(operation, "cannot encode the ticket").with_source(e)
        })?;
        text.push('\n');
        journal
            .file
            .write_all(text.as_bytes())
            .and_then(|()| journal.file.sync_data())
            .map_err(|e| {
                // The file is the helpdesk's backend: failing to write is the backend being down,
                // which the agent retries.
                PortError::unavailable(operation, "cannot write the ticket file")
                    .with_context("path", self.path.display())
                    .with_source(e)
            })
    }
}

fn no_such_ticket(operation: &'static str, id: &TicketId) -> PortError {
    PortError::not_found(operation, "no such ticket").with_context("ticket_id", id)
}

#[async_trait]
impl Helpdesk for JsonlHelpdesk {
    async fn open_ticket(&self, key: &str, escalation: &Escalation) -> PortResult<Ticket> {
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
        let mut journal = self.lock();
        if let Some(id) = journal.keys.get(key) {
            return journal
                .tickets
                .get(id)
                .cloned()
                .ok_or_else(|| no_such_ticket(ops::OPEN_TICKET, id));
        }
        let id = TicketId::new(format!("jl-{}", journal.opened + 1));
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
        let line = Line {
            key: Some(key.to_owned()),
            ticket,
        };
        // Written first, remembered second: a failed write changes nothing.
        self.append(&mut journal, ops::OPEN_TICKET, &line)?;
        journal.opened += 1;
        journal.keys.insert(key.to_owned(), id.clone());
        journal.tickets.insert(id, line.ticket.clone());
        Ok(line.ticket)
    }

    async fn update_ticket(&self, id: &TicketId, update: &TicketUpdate) -> PortResult<Ticket> {
        let mut journal = self.lock();
        let mut ticket = journal
            .tickets
            .get(id)
            .cloned()
            .ok_or_else(|| no_such_ticket(ops::UPDATE_TICKET, id))?;
        if let Some(priority) = update.priority {
            ticket.escalation.priority = priority;
        }
        if let Some(status) = update.status {
            ticket.status = status;
        }
        if journal.tickets.get(id) == Some(&ticket) {
            return Ok(ticket);
        }
        let line = Line { key: None, ticket };
        self.append(&mut journal, ops::UPDATE_TICKET, &line)?;
        journal.tickets.insert(id.clone(), line.ticket.clone());
        Ok(line.ticket)
    }

    async fn add_note(&self, id: &TicketId, body: &str) -> PortResult<()> {
        if body.trim().is_empty() {
            return Err(PortError::invalid_input(ops::ADD_NOTE, "the note is empty"));
        }
        let mut journal = self.lock();
        let mut ticket = journal
            .tickets
            .get(id)
            .cloned()
            .ok_or_else(|| no_such_ticket(ops::ADD_NOTE, id))?;
        ticket.notes.push(TicketNote {
            body: body.to_owned(),
            at: self.clock.now(),
        });
        let line = Line { key: None, ticket };
        self.append(&mut journal, ops::ADD_NOTE, &line)?;
        journal.tickets.insert(id.clone(), line.ticket);
        Ok(())
    }

    async fn ticket(&self, id: &TicketId) -> PortResult<Option<Ticket>> {
        Ok(self.lock().tickets.get(id).cloned())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("custom_adapter: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let suite_file = dir.join(format!("order-agent-conformance-{pid}.jsonl"));
    let agent_file = dir.join(format!("order-agent-tickets-{pid}.jsonl"));
    let result = demonstrate(&suite_file, &agent_file).await;
    for file in [&suite_file, &agent_file] {
        let _ = std::fs::remove_file(file);
    }
    result
}

async fn demonstrate(suite_file: &Path, agent_file: &Path) -> Result<(), String> {
    let world = World::demo();

    // 1. The conformance suite: every MUST of the `Helpdesk` contract, against a fresh file.
    let adapter = JsonlHelpdesk::open(suite_file, world.clock.shared())
        .map_err(|e| format!("cannot open the ticket file: {e}"))?;
    match helpdesk::run_all(&adapter, &helpdesk::sample()).await {
        Ok(()) => println!(
            "helpdesk conformance: every check passed ({} tickets written to {})",
            adapter.tickets().len(),
            suite_file.display()
        ),
        Err(report) => return Err(report.to_string()),
    }

    // 2. The adapter in an agent, in place of the demo shop's fake helpdesk.
    let tickets = Arc::new(
        JsonlHelpdesk::open(agent_file, world.clock.shared())
            .map_err(|e| format!("cannot open the ticket file: {e}"))?,
    );
    let mut ports = world.ports();
    ports.helpdesk = tickets.clone();
    let policy =
        World::demo_policy().map_err(|e| format!("the demo policy does not parse: {e}"))?;
    let agent = Agent::new(ports, policy, World::demo_config())
        .map_err(|e| format!("cannot build the agent: {e}"))?;

    let text = "I want to talk to a real person please";
    let turn = agent
        .handle_message(Channel::Email, "lena@example.ch", text)
        .await
        .map_err(|e| format!("the agent failed: {e}"))?;
    println!("\ncustomer: {text}");
    println!("agent:    {}", turn.rendered.body);
    print_tickets_opened(&turn.actions);

    let event = Event {
        id: "oms-evt-1".to_owned(),
        source: "oms".to_owned(),
        at: world.clock.peek(),
        kind: EventKind::AddressValidationFailed {
            order_id: OrderId::new(order_agent_testkit::demo_shop::ORDER_UNFULFILLED),
            detail: "no street number".to_owned(),
        },
    };
    let outcome = agent.handle_event(&event).await;
    println!(
        "\nevent:    the address of {} failed validation",
        order_agent_testkit::demo_shop::ORDER_UNFULFILLED
    );
    println!("reasons:  {:?}", outcome.reasons);
    if !outcome.errors.is_empty() {
        return Err(format!("the event failed: {:?}", outcome.errors));
    }
    print_tickets_opened(&outcome.actions);
    let again = agent.handle_event(&event).await;
    println!("the same event again: duplicate = {}", again.duplicate);

    // 3. A restart: the file alone gives back every ticket.
    let reopened = JsonlHelpdesk::open(agent_file, world.clock.shared())
        .map_err(|e| format!("cannot reopen the ticket file: {e}"))?;
    println!("\n{} after reopening:", agent_file.display());
    for ticket in reopened.tickets() {
        println!(
            "  {} [{:?}, {:?}] {} (reasons: {})",
            ticket.id,
            ticket.status,
            ticket.escalation.priority,
            ticket.escalation.subject,
            ticket.escalation.reasons.join(", ")
        );
    }
    if reopened.tickets() != tickets.tickets() {
        return Err("the reopened file does not hold the same tickets".to_owned());
    }
    Ok(())
}

fn print_tickets_opened(actions: &[ActionTaken]) {
    for action in actions {
        if let ActionTaken::TicketOpened { ticket_id, key } = action {
            println!("ticket:   {ticket_id} under key `{key}`");
        }
    }
}

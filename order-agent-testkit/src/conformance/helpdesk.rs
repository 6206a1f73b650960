//! The [`Helpdesk`] conformance suite.

use order_agent_core::domain::{Escalation, OrderId, Priority, TicketId};
use order_agent_core::ports::{Helpdesk, PortErrorKind, Ticket, TicketStatus, TicketUpdate};

use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// What the helpdesk under test needs.
#[derive(Debug, Clone)]
pub struct HelpdeskFixture {
    /// Distinguishes this run's ticket keys from earlier runs.
    pub run_id: String,
    /// A ticket id the helpdesk does not know.
    pub unknown_ticket: TicketId,
}

/// A fixture for the in-memory helpdesk.
pub fn sample() -> HelpdeskFixture {
    HelpdeskFixture {
        run_id: "sample".to_owned(),
        unknown_ticket: TicketId::new("tkt_404404"),
    }
}

/// Runs every helpdesk check.
pub async fn run_all(
    helpdesk: &dyn Helpdesk,
    fixture: &HelpdeskFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("helpdesk");
    runner.check(unknown_ticket(helpdesk, fixture)).await;
    runner
        .check(open_ticket_is_idempotent_by_key(helpdesk, fixture))
        .await;
    runner
        .check(invalid_tickets_are_refused(helpdesk, fixture))
        .await;
    runner
        .check(update_ticket_is_idempotent(helpdesk, fixture))
        .await;
    runner
        .check(notes_are_appended_in_order(helpdesk, fixture))
        .await;
    runner.finish()
}

fn escalation(subject: &str) -> Escalation {
    Escalation {
        ticket_id: None,
        order_id: Some(OrderId::new("o_1001")),
        priority: Priority::High,
        subject: subject.to_owned(),
        summary: "Refund above the automatic limit; the agent did nothing.".to_owned(),
        reasons: vec!["above_refund_limit".to_owned()],
    }
}

async fn open(
    check: &'static str,
    helpdesk: &dyn Helpdesk,
    f: &HelpdeskFixture,
    key: &str,
) -> Result<Ticket, ConformanceFailure> {
    ok(
        check,
        "open a ticket",
        helpdesk
            .open_ticket(
                &format!("conformance:{}:{key}", f.run_id),
                &escalation("Refund needs approval"),
            )
            .await,
    )
}

/// An unknown ticket is `Ok(None)`; updating it or adding a note is `NotFound`.
pub async fn unknown_ticket(helpdesk: &dyn Helpdesk, f: &HelpdeskFixture) -> CheckResult {
    const CHECK: &str = "helpdesk.unknown_ticket";
    let found = ok(
        CHECK,
        "get an unknown ticket",
        helpdesk.ticket(&f.unknown_ticket).await,
    )?;
    ensure!(
        CHECK,
        found.is_none(),
        "found unknown ticket `{}`",
        f.unknown_ticket
    );
    let update = TicketUpdate {
        priority: Some(Priority::Low),
        status: None,
    };
    expect_kind(
        CHECK,
        "update an unknown ticket",
        PortErrorKind::NotFound,
        helpdesk.update_ticket(&f.unknown_ticket, &update).await,
    )?;
    expect_kind(
        CHECK,
        "add a note to an unknown ticket",
        PortErrorKind::NotFound,
        helpdesk.add_note(&f.unknown_ticket, "hello").await,
    )
}

/// One key opens one ticket, open and carrying the escalation; another key opens another.
pub async fn open_ticket_is_idempotent_by_key(
    helpdesk: &dyn Helpdesk,
    f: &HelpdeskFixture,
) -> CheckResult {
    const CHECK: &str = "helpdesk.open_ticket_is_idempotent_by_key";
    let first = open(CHECK, helpdesk, f, "idempotent").await?;
    let wanted = escalation("Refund needs approval");
    ensure!(
        CHECK,
        first.status == TicketStatus::Open,
        "a new ticket is {:?}",
        first.status
    );
    ensure!(
        CHECK,
        first.escalation.subject == wanted.subject
            && first.escalation.summary == wanted.summary
            && first.escalation.priority == wanted.priority
            && first.escalation.reasons == wanted.reasons,
        "the ticket does not carry the escalation: {:?}",
        first.escalation
    );
    ensure!(
        CHECK,
        first.escalation.ticket_id.as_ref() == Some(&first.id),
        "escalation.ticket_id is {:?}, the ticket is `{}`",
        first.escalation.ticket_id,
        first.id
    );
    let again = open(CHECK, helpdesk, f, "idempotent").await?;
    ensure!(
        CHECK,
        again.id == first.id,
        "the same key opened `{}` after `{}`",
        again.id,
        first.id
    );
    let other = open(CHECK, helpdesk, f, "idempotent-other").await?;
    ensure!(
        CHECK,
        other.id != first.id,
        "two keys share ticket `{}`",
        first.id
    );
    let fetched = ok(CHECK, "get the ticket", helpdesk.ticket(&first.id).await)?;
    ensure!(
        CHECK,
        fetched.as_ref().map(|t| &t.id) == Some(&first.id),
        "the opened ticket cannot be read back"
    );
    Ok(())
}

/// An empty key or subject is invalid input.
pub async fn invalid_tickets_are_refused(
    helpdesk: &dyn Helpdesk,
    f: &HelpdeskFixture,
) -> CheckResult {
    const CHECK: &str = "helpdesk.invalid_tickets_are_refused";
    expect_kind(
        CHECK,
        "open with an empty key",
        PortErrorKind::InvalidInput,
        helpdesk.open_ticket("", &escalation("Subject")).await,
    )?;
    expect_kind(
        CHECK,
        "open with an empty subject",
        PortErrorKind::InvalidInput,
        helpdesk
            .open_ticket(
                &format!("conformance:{}:no-subject", f.run_id),
                &escalation(" "),
            )
            .await,
    )
}

/// An update applies once, the same update again changes nothing, and fields left out stay.
pub async fn update_ticket_is_idempotent(
    helpdesk: &dyn Helpdesk,
    f: &HelpdeskFixture,
) -> CheckResult {
    const CHECK: &str = "helpdesk.update_ticket_is_idempotent";
    let ticket = open(CHECK, helpdesk, f, "update").await?;
    let urgent = TicketUpdate {
        priority: Some(Priority::Urgent),
        status: None,
    };
    let once = ok(
        CHECK,
        "raise priority",
        helpdesk.update_ticket(&ticket.id, &urgent).await,
    )?;
    ensure!(
        CHECK,
        once.escalation.priority == Priority::Urgent,
        "priority is {:?}",
        once.escalation.priority
    );
    ensure!(
        CHECK,
        once.status == ticket.status,
        "a priority update changed the status"
    );
    let twice = ok(
        CHECK,
        "raise priority again",
        helpdesk.update_ticket(&ticket.id, &urgent).await,
    )?;
    ensure!(
        CHECK,
        twice == once,
        "the same update twice gave another ticket"
    );
    let pending = TicketUpdate {
        priority: None,
        status: Some(TicketStatus::Pending),
    };
    let later = ok(
        CHECK,
        "set status",
        helpdesk.update_ticket(&ticket.id, &pending).await,
    )?;
    ensure!(
        CHECK,
        later.status == TicketStatus::Pending,
        "status is {:?}",
        later.status
    );
    ensure!(
        CHECK,
        later.escalation.priority == Priority::Urgent,
        "a status update changed the priority to {:?}",
        later.escalation.priority
    );
    Ok(())
}

/// Notes come back oldest first, the newest last; an empty note is invalid input.
pub async fn notes_are_appended_in_order(
    helpdesk: &dyn Helpdesk,
    f: &HelpdeskFixture,
) -> CheckResult {
    const CHECK: &str = "helpdesk.notes_are_appended_in_order";
    let ticket = open(CHECK, helpdesk, f, "notes").await?;
    ok(
        CHECK,
        "add the first note",
        helpdesk.add_note(&ticket.id, "first note").await,
    )?;
    ok(
        CHECK,
        "add the second note",
        helpdesk.add_note(&ticket.id, "second note").await,
    )?;
    let read = ok(CHECK, "get the ticket", helpdesk.ticket(&ticket.id).await)?
        .ok_or_else(|| ConformanceFailure::new(CHECK, "the ticket cannot be read back"))?;
    let bodies: Vec<&str> = read.notes.iter().map(|n| n.body.as_str()).collect();
    ensure!(
        CHECK,
        bodies.ends_with(&["first note", "second note"]),
        "notes are {bodies:?}, expected the two notes last and in order"
    );
    ensure!(
        CHECK,
        read.notes.windows(2).all(|w| w[0].at <= w[1].at),
        "notes are not oldest first"
    );
    expect_kind(
        CHECK,
        "add an empty note",
        PortErrorKind::InvalidInput,
        helpdesk.add_note(&ticket.id, "").await,
    )
}

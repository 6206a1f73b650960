//! The Zendesk adapter against a loopback mock of the Zendesk Support API (Tickets and Ticket
//! Comments, as documented; Zendesk publishes no machine-readable description): the helpdesk
//! conformance suite, the requests on the wire, and the error table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support_messaging;

use std::time::Duration;

use order_agent_adapters::zendesk::{ZendeskConfig, ZendeskHelpdesk};
use order_agent_core::domain::{Escalation, OrderId, Priority, TicketId};
use order_agent_core::ports::{Helpdesk, PortErrorKind, TicketStatus, TicketUpdate};
use order_agent_testkit::conformance::helpdesk::{run_all, HelpdeskFixture};
use secrecy::SecretString;
use serde_json::json;
use support_messaging::zendesk_mock::{ZendeskMock, EMAIL, TOKEN};

fn adapter(mock: &ZendeskMock) -> ZendeskHelpdesk {
    let mut config = ZendeskConfig::new(mock.base_url(), EMAIL, SecretString::from(TOKEN));
    config.order_id_field = Some(360_001);
    config.timeout_ms = 5_000;
    ZendeskHelpdesk::new(config).unwrap()
}

fn escalation() -> Escalation {
    Escalation {
        ticket_id: None,
        order_id: Some(OrderId::new("1042")),
        priority: Priority::High,
        subject: "Parcel lost".to_owned(),
        summary: "The carrier reports parcel 1Z999 lost.".to_owned(),
        reasons: vec!["parcel_lost".to_owned(), "proactive".to_owned()],
    }
}

#[tokio::test]
async fn passes_the_helpdesk_conformance_suite() {
    let mock = ZendeskMock::start().await;
    let zendesk = adapter(&mock);
    // A numeric id exercises Zendesk's 404; a non-numeric one is unknown without asking.
    for unknown in ["404404", "tkt_404404"] {
        let fixture = HelpdeskFixture {
            run_id: format!("zendesk-{unknown}"),
            unknown_ticket: TicketId::new(unknown),
        };
        run_all(&zendesk, &fixture).await.unwrap();
    }
}

#[tokio::test]
async fn open_ticket_sends_the_documented_requests_once_per_key() {
    let mock = ZendeskMock::start().await;
    let zendesk = adapter(&mock);
    let first = zendesk
        .open_ticket("escalation:1042:lost", &escalation())
        .await
        .unwrap();
    assert_eq!(first.status, TicketStatus::Open);
    assert_eq!(first.escalation.order_id, Some(OrderId::new("1042")));
    assert_eq!(first.escalation.reasons, ["parcel_lost", "proactive"]);
    assert!(first.notes.is_empty(), "the summary is not a note");
    let again = zendesk
        .open_ticket("escalation:1042:lost", &escalation())
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(mock.ticket_count(), 1);

    let requests = mock.requests();
    let lines: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path_and_query))
        .collect();
    let id = first.id.as_str();
    assert_eq!(
        lines,
        [
            "GET /api/v2/tickets.json?external_id=escalation%3A1042%3Alost".to_owned(),
            "POST /api/v2/tickets.json".to_owned(),
            format!("GET /api/v2/tickets/{id}/comments.json?sort_order=asc&per_page=100&page=1"),
            "GET /api/v2/tickets.json?external_id=escalation%3A1042%3Alost".to_owned(),
            format!("GET /api/v2/tickets/{id}/comments.json?sort_order=asc&per_page=100&page=1"),
        ]
    );
    assert_eq!(
        requests[1].body,
        Some(json!({ "ticket": {
            "subject": "Parcel lost",
            "comment": { "body": "The carrier reports parcel 1Z999 lost.", "public": false },
            "priority": "high",
            "status": "open",
            "tags": ["parcel_lost", "proactive"],
            "external_id": "escalation:1042:lost",
            "custom_fields": [{ "id": 360_001, "value": "1042" }],
        }}))
    );
}

#[tokio::test]
async fn updates_and_notes_go_through_put_and_read_back() {
    let mock = ZendeskMock::start().await;
    let zendesk = adapter(&mock);
    let ticket = zendesk.open_ticket("k-notes", &escalation()).await.unwrap();
    zendesk
        .add_note(&ticket.id, "Customer called back.")
        .await
        .unwrap();
    let solved = zendesk
        .update_ticket(
            &ticket.id,
            &TicketUpdate {
                priority: None,
                status: Some(TicketStatus::Solved),
            },
        )
        .await
        .unwrap();
    assert_eq!(solved.status, TicketStatus::Solved);
    assert_eq!(solved.escalation.priority, Priority::High);
    assert_eq!(solved.notes.len(), 1);
    assert_eq!(solved.notes[0].body, "Customer called back.");

    let puts: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2);
    assert_eq!(
        puts[0].path_and_query,
        format!("/api/v2/tickets/{}.json", ticket.id)
    );
    assert_eq!(
        puts[0].body,
        Some(
            json!({ "ticket": { "comment": { "body": "Customer called back.", "public": false } } })
        )
    );
    assert_eq!(
        puts[1].body,
        Some(json!({ "ticket": { "status": "solved" } }))
    );

    // Zendesk refuses changes to a closed ticket with 422: rejected, not retryable.
    mock.close(ticket.id.as_str().parse().unwrap());
    let closed = zendesk.add_note(&ticket.id, "late").await.unwrap_err();
    assert_eq!(closed.kind(), PortErrorKind::Rejected, "{closed}");
    assert!(!closed.is_retryable());
}

#[tokio::test]
async fn vendor_errors_map_to_port_kinds() {
    let mock = ZendeskMock::start().await;
    let zendesk = adapter(&mock);
    let id = TicketId::new("101");

    mock.fail_next(429, Some(7));
    let limited = zendesk.ticket(&id).await.unwrap_err();
    assert_eq!(
        limited.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(limited.is_retryable());

    mock.fail_next(503, None);
    let down = zendesk.open_ticket("k", &escalation()).await.unwrap_err();
    assert_eq!(down.kind(), PortErrorKind::Unavailable);
    assert!(down.is_retryable());

    mock.fail_next(409, None);
    let clash = zendesk.add_note(&id, "note").await.unwrap_err();
    assert_eq!(clash.kind(), PortErrorKind::Conflict);
    assert!(clash.is_retryable());
    assert_eq!(mock.ticket_count(), 0);

    let wrong = ZendeskHelpdesk::new(ZendeskConfig::new(
        mock.base_url(),
        EMAIL,
        SecretString::from("wrong-token"),
    ))
    .unwrap();
    let refused = wrong.ticket(&id).await.unwrap_err();
    assert_eq!(refused.kind(), PortErrorKind::Unauthorized);
    assert!(!format!("{wrong:?} {refused}").contains(TOKEN));
    assert!(!format!("{wrong:?}").contains("wrong-token"));

    // Nothing listening: unavailable.
    let gone = ZendeskHelpdesk::new(ZendeskConfig::new(
        "http://127.0.0.1:9",
        EMAIL,
        SecretString::from(TOKEN),
    ))
    .unwrap();
    let err = gone.ticket(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
}

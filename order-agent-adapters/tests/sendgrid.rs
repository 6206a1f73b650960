//! The SendGrid adapter: the messaging conformance suite against a loopback mock of
//! `POST /v3/mail/send`, the request on the wire, the error table, and the spec check against
//! SendGrid's own description (`../shared/specs/sendgrid/mail_v3.json`, served by Prism when
//! `ORDER_AGENT_PRISM_SENDGRID` is set; `spec-check/run.sh` does that) with its negative
//! control.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support_messaging;

use std::time::Duration;

use order_agent_adapters::messaging::sendgrid::{mail_send, SendGridConfig, SendGridMessaging};
use order_agent_adapters::messaging::wire::Body;
use order_agent_core::domain::{Channel, Locale};
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortErrorKind};
use order_agent_testkit::conformance::messaging::{run_all, MessagingFixture};
use secrecy::SecretString;
use serde_json::json;
use support_messaging::prism::Prism;
use support_messaging::vendors_mock::{VendorsMock, SENDGRID_KEY};

fn config(base_url: &str) -> SendGridConfig {
    let mut config = SendGridConfig::new(SecretString::from(SENDGRID_KEY), "service@shop.example")
        .with_base_url(base_url);
    config.from_name = Some("Swiss Shop".to_owned());
    config.timeout_ms = 5_000;
    config
}

fn email(to: &str) -> OutboundMessage {
    OutboundMessage {
        channel: Channel::Email,
        to: to.to_owned(),
        locale: Locale::De,
        subject: Some("Ihre Rücksendung".to_owned()),
        body: "Grüezi Anna, Ihr Rücksendeetikett ist angehängt.".to_owned(),
        idempotency_key: "return:1042:label".to_owned(),
    }
}

#[tokio::test]
async fn passes_the_messaging_conformance_suite() {
    let mock = VendorsMock::start().await;
    let sendgrid = SendGridMessaging::new(config(mock.base_url())).unwrap();
    let fixture = MessagingFixture {
        run_id: "sendgrid".to_owned(),
        deliverable: (Channel::Email, "anna@example.ch".to_owned()),
        // SendGrid accepts suppressed addresses and bounces them later; a channel it does not
        // serve is what it refuses synchronously.
        refused: (Channel::Sms, "+41790000000".to_owned()),
    };
    run_all(&sendgrid, &fixture).await.unwrap();
    assert_eq!(
        mock.requests().len(),
        2,
        "only the deliverable messages went out"
    );
}

#[tokio::test]
async fn sends_the_documented_request_and_reads_the_message_id() {
    let mock = VendorsMock::start().await;
    let sendgrid = SendGridMessaging::new(config(mock.base_url())).unwrap();
    let sent = sendgrid.send(&email("anna@example.ch")).await.unwrap();
    assert_eq!(
        sent,
        Delivery::Accepted {
            provider_message_id: "sg-0000000000000001".to_owned()
        }
    );
    let requests = mock.requests();
    assert_eq!(requests[0].path, "/v3/mail/send");
    assert_eq!(requests[0].content_type, "application/json");
    assert_eq!(
        requests[0].json(),
        json!({
            "personalizations": [{
                "to": [{ "email": "anna@example.ch" }],
                "custom_args": { "order_agent_key": "return:1042:label" },
            }],
            "from": { "email": "service@shop.example", "name": "Swiss Shop" },
            "subject": "Ihre Rücksendung",
            "content": [{ "type": "text/plain", "value": "Grüezi Anna, Ihr Rücksendeetikett ist angehängt." }],
            "headers": { "Content-Language": "de" },
        })
    );
}

#[tokio::test]
async fn vendor_errors_map_to_port_kinds() {
    let mock = VendorsMock::start().await;
    let sendgrid = SendGridMessaging::new(config(mock.base_url())).unwrap();

    // SendGrid's 400 about the recipient's address is a rejection with its reason.
    match sendgrid.send(&email("anna-at-example")).await.unwrap() {
        Delivery::Rejected { reason } => {
            assert!(reason.contains("valid address"), "{reason}")
        }
        other => panic!("a bad address was {other:?}"),
    }
    mock.fail_next(
        429,
        Some(3),
        json!({ "errors": [{ "message": "too many requests" }] }),
    );
    let limited = sendgrid.send(&email("anna@example.ch")).await.unwrap_err();
    assert_eq!(
        limited.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(3))
        }
    );
    mock.fail_next(500, None, json!({}));
    let down = sendgrid.send(&email("anna@example.ch")).await.unwrap_err();
    assert_eq!(down.kind(), PortErrorKind::Unavailable);
    assert!(down.is_retryable());
    mock.fail_next(413, None, json!({ "errors": [{ "message": "too large" }] }));
    let big = sendgrid.send(&email("anna@example.ch")).await.unwrap_err();
    assert_eq!(big.kind(), PortErrorKind::InvalidInput);

    let wrong = SendGridMessaging::new(SendGridConfig {
        api_key: SecretString::from("SG.wrong"),
        ..config(mock.base_url())
    })
    .unwrap();
    let refused = wrong.send(&email("anna@example.ch")).await.unwrap_err();
    assert_eq!(refused.kind(), PortErrorKind::Unauthorized);
    assert!(!format!("{wrong:?} {refused}").contains("SG.wrong"));

    // An email without a subject is refused before sending.
    let mut no_subject = email("anna@example.ch");
    no_subject.subject = None;
    let before = mock.requests().len();
    let invalid = sendgrid.send(&no_subject).await.unwrap_err();
    assert_eq!(invalid.kind(), PortErrorKind::InvalidInput);
    assert_eq!(mock.requests().len(), before);
}

#[tokio::test]
async fn mail_send_conforms_to_sendgrids_description() {
    let Some(prism) = Prism::from_env("ORDER_AGENT_PRISM_SENDGRID", "sendgrid/mail_v3.json") else {
        return;
    };
    let config = config("http://unused");
    let request = mail_send(&config, &email("anna@example.ch")).unwrap();
    let verdict = prism.check(&request).await;
    assert!(
        verdict.accepted(),
        "mail send violates the spec: {verdict:?}"
    );

    // Negative control: without `personalizations` the request must be rejected.
    let mut broken = request.clone();
    if let Body::Json(body) = &mut broken.body {
        body.as_object_mut().unwrap().remove("personalizations");
    }
    let verdict = prism.check(&broken).await;
    assert!(
        !verdict.accepted(),
        "prism accepted a mail without recipients: {verdict:?}"
    );
}

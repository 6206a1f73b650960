//! The SMTP adapter against a real SMTP server (aiosmtpd) started on loopback by the test: the
//! messaging conformance suite, then what the server received (headers, body, envelope) and how
//! refusals and failures map. Skips with a message when python3 or aiosmtpd is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support_messaging;

use order_agent_adapters::messaging::smtp::{message_id, SmtpConfig, SmtpMessaging, SmtpSecurity};
use order_agent_core::domain::{Channel, Locale};
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortErrorKind};
use order_agent_testkit::conformance::messaging::{run_all, MessagingFixture};
use secrecy::SecretString;
use support_messaging::smtp::SmtpServer;

fn adapter(port: u16) -> SmtpMessaging {
    let mut config = SmtpConfig::new(
        "127.0.0.1",
        port,
        SmtpSecurity::Plain,
        "Swiss Shop <service@shop.example>",
    );
    config.timeout_ms = 5_000;
    SmtpMessaging::new(config).unwrap()
}

fn email(to: &str, key: &str) -> OutboundMessage {
    OutboundMessage {
        channel: Channel::Email,
        to: to.to_owned(),
        locale: Locale::Fr,
        subject: Some("Votre commande n° 1042".to_owned()),
        body: "Bonjour Anna,\nvotre colis est en route.".to_owned(),
        idempotency_key: key.to_owned(),
    }
}

#[tokio::test]
async fn passes_the_messaging_conformance_suite() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let smtp = adapter(server.port());
    let fixture = MessagingFixture {
        run_id: "smtp".to_owned(),
        deliverable: (Channel::Email, "anna@example.ch".to_owned()),
        refused: (Channel::Email, "nobody@refused.example".to_owned()),
    };
    run_all(&smtp, &fixture).await.unwrap();
    // Exactly the two deliverable messages arrived: the refused and the invalid ones did not.
    let received = server.wait_for(2).await;
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received
        .iter()
        .all(|m| m.rcpt_tos == ["anna@example.ch".to_owned()]));
}

#[tokio::test]
async fn the_server_receives_headers_and_body_with_a_message_id_from_the_key() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let smtp = adapter(server.port());
    let sent = smtp
        .send(&email("anna@example.ch", "order-1042:shipped"))
        .await
        .unwrap();
    let Delivery::Accepted {
        provider_message_id,
    } = sent
    else {
        panic!("not accepted: {sent:?}");
    };
    let expected_id = message_id("order-1042:shipped", "shop.example");
    assert_eq!(provider_message_id, expected_id);

    let received = server.wait_for(1).await;
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.mail_from, "service@shop.example");
    assert_eq!(got.rcpt_tos, ["anna@example.ch".to_owned()]);
    assert_eq!(
        got.header("Message-ID").as_deref(),
        Some(expected_id.as_str())
    );
    assert_eq!(got.header("To").as_deref(), Some("anna@example.ch"));
    assert_eq!(
        got.header("From").as_deref(),
        Some("\"Swiss Shop\" <service@shop.example>")
    );
    // Non-ASCII words travel RFC 2047-encoded: `bsKw` is base64 for `n°`.
    let subject = got.header("Subject").unwrap();
    assert_eq!(subject, "Votre commande =?utf-8?b?bsKw?= 1042");
    assert_eq!(got.header("Content-Language").as_deref(), Some("fr"));
    assert_eq!(
        got.header("Content-Type").as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        got.body().trim_end(),
        "Bonjour Anna,\r\nvotre colis est en route."
    );

    // A retry with the same key carries the same Message-ID, so a deduplicating relay or inbox
    // drops it; another key gets another id.
    let again = smtp
        .send(&email("anna@example.ch", "order-1042:shipped"))
        .await
        .unwrap();
    let other = smtp
        .send(&email("anna@example.ch", "order-1042:delivered"))
        .await
        .unwrap();
    let received = server.wait_for(3).await;
    assert_eq!(
        received[1].header("Message-ID"),
        received[0].header("Message-ID")
    );
    assert_ne!(
        received[2].header("Message-ID"),
        received[0].header("Message-ID")
    );
    assert_eq!(again, sent_again(&expected_id));
    assert_ne!(other, sent_again(&expected_id));
}

fn sent_again(id: &str) -> Delivery {
    Delivery::Accepted {
        provider_message_id: id.to_owned(),
    }
}

#[tokio::test]
async fn refusals_and_failures_map_to_the_port() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let smtp = adapter(server.port());

    // 550: the recipient is refused, which is a rejection with the server's reason.
    let refused = smtp
        .send(&email("nobody@refused.example", "k-refused"))
        .await
        .unwrap();
    match refused {
        Delivery::Rejected { reason } => assert!(reason.contains("550"), "{reason}"),
        other => panic!("a refused recipient was {other:?}"),
    }

    // 451: deferred, an error worth retrying.
    let deferred = smtp
        .send(&email("anna@busy.example", "k-busy"))
        .await
        .unwrap_err();
    assert_eq!(deferred.kind(), PortErrorKind::Unavailable, "{deferred}");
    assert!(deferred.is_retryable());

    // A channel SMTP does not serve is rejected, not an error, and nothing is sent.
    let mut sms = email("+41790000000", "k-sms");
    sms.channel = Channel::Sms;
    match smtp.send(&sms).await.unwrap() {
        Delivery::Rejected { reason } => assert!(reason.contains("`sms`"), "{reason}"),
        other => panic!("sms over smtp was {other:?}"),
    }

    // A recipient that is not a mailbox is invalid input.
    let invalid = smtp
        .send(&email("anna at example", "k-invalid"))
        .await
        .unwrap_err();
    assert_eq!(invalid.kind(), PortErrorKind::InvalidInput);
    assert!(server.received().is_empty());

    // No server: unavailable, retryable.
    let port = server.port();
    drop(server);
    let down = adapter(port)
        .send(&email("anna@example.ch", "k-down"))
        .await
        .unwrap_err();
    assert_eq!(down.kind(), PortErrorKind::Unavailable, "{down}");
    assert!(down.is_retryable());
}

#[tokio::test]
async fn authenticates_with_credentials_and_maps_a_refusal_to_unauthorized() {
    let Some(server) = SmtpServer::start() else {
        return;
    };
    let with = |password: &str| {
        let mut config = SmtpConfig::new(
            "127.0.0.1",
            server.port(),
            SmtpSecurity::Plain,
            "service@shop.example",
        )
        .with_credentials("shop", SecretString::from(password.to_owned()));
        config.timeout_ms = 5_000;
        SmtpMessaging::new(config).unwrap()
    };
    let sent = with("secret")
        .send(&email("anna@example.ch", "k-auth"))
        .await
        .unwrap();
    assert!(sent.is_accepted(), "{sent:?}");
    let received = server.wait_for(1).await;
    assert!(
        received[0].authenticated,
        "the session did not authenticate"
    );

    let wrong = with("not-the-password");
    let refused = wrong
        .send(&email("anna@example.ch", "k-auth-wrong"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), PortErrorKind::Unauthorized, "{refused}");
    assert!(!format!("{wrong:?} {refused}").contains("not-the-password"));
    assert_eq!(server.received().len(), 1);
}

//! The [`Messaging`] conformance suite.

use order_agent_core::domain::{Channel, Locale};
use order_agent_core::ports::{Delivery, Messaging, OutboundMessage, PortErrorKind};

use super::{ensure, expect_kind, ok, CheckResult, ConformanceFailure, ConformanceReport, Runner};

/// Recipients on the provider under test.
#[derive(Debug, Clone)]
pub struct MessagingFixture {
    /// Distinguishes this run's idempotency keys from earlier runs.
    pub run_id: String,
    /// A channel and address the provider delivers to (a sandbox inbox).
    pub deliverable: (Channel, String),
    /// A channel and address the provider refuses (opted out, blocked, unconfigured channel).
    pub refused: (Channel, String),
}

/// A fixture for the in-memory provider; the fake must refuse `refused` (see
/// [`FakeMessaging::refusing`](crate::fakes::FakeMessaging::refusing)).
pub fn sample() -> MessagingFixture {
    MessagingFixture {
        run_id: "sample".to_owned(),
        deliverable: (Channel::Email, "anna@example.ch".to_owned()),
        refused: (Channel::Sms, "+41790000000".to_owned()),
    }
}

/// Runs every messaging check.
pub async fn run_all(
    messaging: &dyn Messaging,
    fixture: &MessagingFixture,
) -> Result<(), ConformanceReport> {
    let mut runner = Runner::new("messaging");
    runner
        .check(accepted_messages_get_distinct_ids(messaging, fixture))
        .await;
    runner
        .check(refused_recipient_is_rejected_not_an_error(
            messaging, fixture,
        ))
        .await;
    runner
        .check(empty_body_or_recipient_is_invalid(messaging, fixture))
        .await;
    runner.finish()
}

fn message(f: &MessagingFixture, to: &(Channel, String), n: u32, body: &str) -> OutboundMessage {
    OutboundMessage {
        channel: to.0,
        to: to.1.clone(),
        locale: Locale::En,
        subject: Some("Your order".to_owned()),
        body: body.to_owned(),
        idempotency_key: format!("conformance:{}:msg-{n}", f.run_id),
    }
}

/// Accepted messages carry non-empty, distinct provider ids.
pub async fn accepted_messages_get_distinct_ids(
    messaging: &dyn Messaging,
    f: &MessagingFixture,
) -> CheckResult {
    const CHECK: &str = "messaging.accepted_messages_get_distinct_ids";
    let mut ids = Vec::new();
    for n in 1..=2 {
        let sent = ok(
            CHECK,
            "send",
            messaging
                .send(&message(
                    f,
                    &f.deliverable,
                    n,
                    &format!("Conformance message {n}."),
                ))
                .await,
        )?;
        match sent {
            Delivery::Accepted {
                provider_message_id,
            } => {
                ensure!(
                    CHECK,
                    !provider_message_id.trim().is_empty(),
                    "the provider message id is empty"
                );
                ids.push(provider_message_id);
            }
            Delivery::Rejected { reason } => {
                return Err(ConformanceFailure::new(
                    CHECK,
                    format!("a deliverable recipient was rejected: {reason}"),
                ))
            }
        }
    }
    ensure!(
        CHECK,
        ids[0] != ids[1],
        "two messages share the provider id `{}`",
        ids[0]
    );
    Ok(())
}

/// A refused recipient is `Ok(Rejected)` with a reason, not an error.
pub async fn refused_recipient_is_rejected_not_an_error(
    messaging: &dyn Messaging,
    f: &MessagingFixture,
) -> CheckResult {
    const CHECK: &str = "messaging.refused_recipient_is_rejected_not_an_error";
    let sent = ok(
        CHECK,
        "send to a refused recipient",
        messaging
            .send(&message(f, &f.refused, 3, "Conformance message."))
            .await,
    )?;
    match sent {
        Delivery::Rejected { reason } => {
            ensure!(
                CHECK,
                !reason.trim().is_empty(),
                "the rejection has no reason"
            );
            Ok(())
        }
        Delivery::Accepted { .. } => Err(ConformanceFailure::new(
            CHECK,
            "a refused recipient was accepted (is the fixture right?)",
        )),
    }
}

/// An empty body or recipient is invalid input.
pub async fn empty_body_or_recipient_is_invalid(
    messaging: &dyn Messaging,
    f: &MessagingFixture,
) -> CheckResult {
    const CHECK: &str = "messaging.empty_body_or_recipient_is_invalid";
    expect_kind(
        CHECK,
        "send an empty body",
        PortErrorKind::InvalidInput,
        messaging.send(&message(f, &f.deliverable, 4, "  ")).await,
    )?;
    let nobody = (f.deliverable.0, String::new());
    expect_kind(
        CHECK,
        "send to an empty recipient",
        PortErrorKind::InvalidInput,
        messaging
            .send(&message(f, &nobody, 5, "Conformance message."))
            .await,
    )
}

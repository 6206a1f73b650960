//! Scenario tests of the whole agent through its ports, on the testkit's fakes seeded with the
//! demo shop: every flow, and the failures that matter (vendors down, duplicates, timeouts that
//! actually succeeded, unverified senders).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::Duration;
use order_agent_core::agent::{ActionTaken, Agent};
use order_agent_core::domain::{
    Channel, InspectionGrade, LineId, LocationId, OrderId, Receipt, ReceivedLine, ReturnId,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::policy::{Outcome, ReasonCode};
use order_agent_core::ports::{
    carrier::ops as carrier_ops, payments::ops as payments_ops, PortErrorKind, RefundIntentState,
    RefundIntentStore, ReturnStore,
};
use order_agent_core::replies::{HandoverTopic, Reply};
use order_agent_testkit::fakes::Fault;
use order_agent_testkit::world::World;

fn setup() -> (World, Agent) {
    let world = World::demo();
    let agent = world.agent(World::demo_policy().unwrap()).unwrap();
    (world, agent)
}

const ANNA: &str = "my email is anna.mueller@example.ch and my postcode is 8008";

fn refunds(world: &World) -> usize {
    world.payments.all_refunds().len()
}

#[tokio::test]
async fn an_unverified_sender_learns_nothing() {
    let (world, agent) = setup();
    let turn = agent
        .handle_message(Channel::WebChat, "chat-1", "Where is my order #1001?")
        .await
        .unwrap();
    assert!(
        matches!(turn.reply, Reply::AskVerification { .. }),
        "{turn:?}"
    );
    let body = &turn.rendered.body;
    assert!(
        !body.contains("Sweater") && !body.contains("Swiss Post"),
        "{body}"
    );
    assert_eq!(world.messaging.delivered().len(), 1);
}

#[tokio::test]
async fn every_mismatch_gets_the_same_answer_and_guessing_stops() {
    let (_world, agent) = setup();
    let wrong_postcode = agent
        .handle_message(
            Channel::WebChat,
            "chat-2",
            "Where is my order #1001? anna.mueller@example.ch 9999",
        )
        .await
        .unwrap();
    let wrong_email = agent
        .handle_message(
            Channel::WebChat,
            "chat-3",
            "Where is my order #1001? someone@example.ch 8008",
        )
        .await
        .unwrap();
    let no_such_order = agent
        .handle_message(
            Channel::WebChat,
            "chat-4",
            "Where is my order #9999? anna.mueller@example.ch 8008",
        )
        .await
        .unwrap();
    assert_eq!(wrong_postcode.reply, Reply::NotVerified);
    assert_eq!(wrong_email.rendered, wrong_postcode.rendered);
    assert_eq!(no_such_order.rendered, wrong_postcode.rendered);
    // A third failure on order #1001 (from yet another sender) locks the order number.
    let third = agent
        .handle_message(
            Channel::WebChat,
            "chat-5",
            "Where is my order #1001? anna.mueller@example.ch 1234",
        )
        .await
        .unwrap();
    assert_eq!(third.reply, Reply::NotVerified);
    let locked = agent
        .handle_message(
            Channel::WebChat,
            "chat-6",
            &format!("Where is my order #1001? {ANNA}"),
        )
        .await
        .unwrap();
    assert_eq!(locked.reply, Reply::VerificationLocked, "{locked:?}");
}

#[tokio::test]
async fn wismo_answers_per_parcel_after_two_factors() {
    let (_world, agent) = setup();
    let turn = agent
        .handle_message(
            Channel::WebChat,
            "chat-7",
            &format!("Where is my order #1001? {ANNA}"),
        )
        .await
        .unwrap();
    let Reply::OrderStatus { parcels, .. } = &turn.reply else {
        panic!("{turn:?}")
    };
    assert_eq!(parcels.len(), 1);
    assert!(turn
        .reasons
        .iter()
        .any(|r| r.starts_with("identity:verified")));
    assert!(turn
        .actions
        .iter()
        .all(|a| !matches!(a, ActionTaken::TicketOpened { .. })));
}

#[tokio::test]
async fn verification_accumulates_over_messages_and_a_known_whatsapp_number_counts() {
    let (_world, agent) = setup();
    // Anna's WhatsApp number is on file: it is one factor; the postcode is the second.
    let first = agent
        .handle_message(
            Channel::Whatsapp,
            "+41791234501",
            "Wo ist meine Bestellung?",
        )
        .await
        .unwrap();
    assert!(
        matches!(first.reply, Reply::AskVerification { .. }),
        "{first:?}"
    );
    let second = agent
        .handle_message(Channel::Whatsapp, "+41791234501", "8008")
        .await
        .unwrap();
    assert!(
        matches!(second.reply, Reply::OrderStatus { .. }),
        "{second:?}"
    );
    assert_eq!(second.locale, order_agent_core::domain::Locale::De);
}

#[tokio::test]
async fn a_lost_parcel_escalates_when_asked() {
    let (world, agent) = setup();
    let turn = agent
        .handle_message(
            Channel::WebChat,
            "chat-8",
            "where is my order #1015? luca.rossi@example.ch 6900",
        )
        .await
        .unwrap();
    assert!(matches!(turn.reply, Reply::OrderStatus { .. }), "{turn:?}");
    assert!(
        turn.reasons.iter().any(|r| r == "escalated"),
        "{:?}",
        turn.reasons
    );
    assert_eq!(world.helpdesk.tickets().len(), 1);
}

#[tokio::test]
async fn a_carrier_outage_is_said_plainly_and_ticketed() {
    let (world, agent) = setup();
    world
        .carrier
        .faults()
        .always(carrier_ops::TRACK, Fault::Error(PortErrorKind::Unavailable));
    let turn = agent
        .handle_message(
            Channel::WebChat,
            "chat-9",
            &format!("Where is my order #1001? {ANNA}"),
        )
        .await
        .unwrap();
    assert_eq!(turn.reply, Reply::SystemUnavailable, "{turn:?}");
    assert_eq!(world.helpdesk.tickets().len(), 1);
    assert!(!turn.errors.is_empty());
}

async fn authorise_anna_sweater(world: &World, agent: &Agent) -> ReturnId {
    let turn = agent
        .handle_message(
            Channel::WebChat,
            "chat-ret",
            &format!("I want to return the sweater from order #1001, it does not fit. {ANNA}"),
        )
        .await
        .unwrap();
    let Reply::ReturnAuthorised {
        return_id,
        label_url,
        ..
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    assert!(label_url.is_some());
    assert_eq!(world.carrier.labels().len(), 1);
    assert_eq!(world.oms.recorded_returns().len(), 1);
    let decision = turn.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::Approve);
    assert!(decision.has_reason(ReasonCode::WithinWindow));
    return_id.clone()
}

#[tokio::test]
async fn a_return_is_authorised_with_a_label_and_its_reason_recorded() {
    let (world, agent) = setup();
    let return_id = authorise_anna_sweater(&world, &agent).await;
    let stored = world
        .store
        .return_authorisation(&return_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.request.lines[0].reason,
        order_agent_core::domain::ReturnReason::DoesNotFit
    );
    assert_eq!(refunds(&world), 0, "no money before the parcel is back");
}

fn receipt_event(id: &str, return_id: &ReturnId, grade: Option<InspectionGrade>) -> Event {
    Event {
        id: id.to_owned(),
        source: "warehouse".to_owned(),
        at: World::demo().clock.peek(),
        kind: EventKind::ReturnReceived {
            receipt: Receipt {
                return_id: return_id.clone(),
                lines: vec![ReceivedLine {
                    line_id: LineId::new("l1"),
                    quantity: 1,
                    grade,
                }],
                received_at: World::demo().clock.peek(),
                location: LocationId::new("zrh-1"),
                receive_only: false,
            },
        },
    }
}

#[tokio::test]
async fn a_receipt_refunds_restocks_and_confirms_once() {
    let (world, agent) = setup();
    let return_id = authorise_anna_sweater(&world, &agent).await;
    world.clock.advance(Duration::days(3));
    let event = receipt_event("wh-1", &return_id, Some(InspectionGrade::New));
    let outcome = agent.handle_event(&event).await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    assert_eq!(outcome.decision.as_ref().unwrap().outcome, Outcome::Approve);
    assert_eq!(refunds(&world), 1);
    assert_eq!(world.inventory.movements().len(), 1);
    // The same webhook again: nothing happens.
    let again = agent.handle_event(&event).await;
    assert!(again.duplicate);
    // A different delivery of the same receipt (new event id): keys stop a second refund.
    let replay = agent
        .handle_event(&receipt_event(
            "wh-1-replayed",
            &return_id,
            Some(InspectionGrade::New),
        ))
        .await;
    assert!(replay.errors.is_empty(), "{replay:#?}");
    assert_eq!(refunds(&world), 1);
    assert_eq!(world.inventory.movements().len(), 1);
}

#[tokio::test]
async fn a_refund_that_timed_out_but_succeeded_is_reconciled_not_repeated() {
    let (world, agent) = setup();
    let return_id = authorise_anna_sweater(&world, &agent).await;
    world
        .payments
        .faults()
        .once(payments_ops::REFUND, Fault::TimeoutAfterEffect);
    let outcome = agent
        .handle_event(&receipt_event(
            "wh-2",
            &return_id,
            Some(InspectionGrade::New),
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    assert_eq!(refunds(&world), 1);
    let intents = world
        .store
        .refund_intents_of_order(&OrderId::new("ds-1001"))
        .await
        .unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].state, RefundIntentState::Succeeded);
}

#[tokio::test]
async fn a_payments_outage_leaves_the_event_for_retry_and_refunds_once_later() {
    let (world, agent) = setup();
    let return_id = authorise_anna_sweater(&world, &agent).await;
    world.payments.faults().always(
        payments_ops::REFUND,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let event = receipt_event("wh-3", &return_id, Some(InspectionGrade::New));
    let failed = agent.handle_event(&event).await;
    assert!(!failed.errors.is_empty());
    assert_eq!(refunds(&world), 0);
    world.payments.faults().clear_all();
    let retried = agent.handle_event(&event).await;
    assert!(!retried.duplicate, "a failed event is not marked processed");
    assert!(retried.errors.is_empty(), "{retried:#?}");
    assert_eq!(refunds(&world), 1);
}

#[tokio::test]
async fn above_the_limit_a_ticket_is_opened_and_no_money_moves() {
    let (world, agent) = setup();
    // Nina's down jacket costs CHF 329, above the CHF 150 auto-refund limit.
    let turn = agent
        .handle_message(
            Channel::WebChat,
            "chat-10",
            "I'd like to return the jacket from #1010, I changed my mind. nina.frei@example.ch 6004",
        )
        .await
        .unwrap();
    assert!(
        matches!(
            turn.reply,
            Reply::HandedToHuman {
                topic: HandoverTopic::RefundApproval,
                ..
            }
        ),
        "{turn:#?}"
    );
    assert_eq!(world.helpdesk.tickets().len(), 1);
    assert_eq!(refunds(&world), 0);
}

#[tokio::test]
async fn a_lost_parcel_is_noticed_on_a_scheduled_check_once() {
    let (world, agent) = setup();
    let first = agent.check_order(&OrderId::new("ds-1015")).await;
    assert!(first.errors.is_empty(), "{first:#?}");
    assert_eq!(world.helpdesk.tickets().len(), 1);
    let notices = world.messaging.delivered().len();
    assert_eq!(notices, 1);
    world.clock.advance(Duration::hours(1));
    let second = agent.check_order(&OrderId::new("ds-1015")).await;
    assert!(second.errors.is_empty());
    assert_eq!(
        world.helpdesk.tickets().len(),
        1,
        "one ticket per exception"
    );
    assert_eq!(
        world.messaging.delivered().len(),
        notices,
        "one notice per exception"
    );
}

#[tokio::test]
async fn a_cancellation_before_fulfilment_cancels_and_refunds() {
    let (world, agent) = setup();
    let turn = agent
        .handle_message(
            Channel::WebChat,
            "chat-11",
            "Please cancel my order #1012. giulia.bernasconi@example.ch 6500",
        )
        .await
        .unwrap();
    assert!(
        matches!(turn.reply, Reply::OrderCancelled { .. }),
        "{turn:#?}"
    );
    assert_eq!(world.oms.cancellations().len(), 1);
    assert_eq!(refunds(&world), 1);
}

#[tokio::test]
async fn a_request_for_a_human_opens_a_ticket() {
    let (world, agent) = setup();
    let turn = agent
        .handle_message(
            Channel::Email,
            "someone@example.org",
            "I want to speak to a real person",
        )
        .await
        .unwrap();
    assert!(
        matches!(turn.reply, Reply::HandedToHuman { .. }),
        "{turn:#?}"
    );
    assert_eq!(world.helpdesk.tickets().len(), 1);
}

#[tokio::test]
async fn gibberish_is_clarified_once_then_handed_over() {
    let (world, agent) = setup();
    let first = agent
        .handle_message(Channel::WebChat, "chat-12", "qwerty asdf")
        .await
        .unwrap();
    assert_eq!(first.reply, Reply::Clarify);
    let second = agent
        .handle_message(Channel::WebChat, "chat-12", "zxcv")
        .await
        .unwrap();
    assert!(
        matches!(
            second.reply,
            Reply::HandedToHuman {
                topic: HandoverTopic::NotUnderstood,
                ..
            }
        ),
        "{second:#?}"
    );
    assert_eq!(world.helpdesk.tickets().len(), 1);
}

const JONAS: &str = "jonas.meier@example.ch 3011";

async fn verified_jonas(agent: &Agent, sender: &str) {
    let turn = agent
        .handle_message(
            Channel::WebChat,
            sender,
            &format!("Where is my order #1014? {JONAS}"),
        )
        .await
        .unwrap();
    assert!(matches!(turn.reply, Reply::OrderStatus { .. }), "{turn:#?}");
}

fn new_address(line1: &str) -> order_agent_core::domain::Address {
    order_agent_core::domain::Address {
        name: "Jonas Meier".into(),
        line1: line1.into(),
        line2: None,
        postcode: "3012".into(),
        city: "Bern".into(),
        region: None,
        country: "CH".into(),
    }
}

#[tokio::test]
async fn a_verified_customer_changes_the_address_before_fulfilment() {
    use order_agent_core::domain::AddressChangeRequest;
    use order_agent_core::policy::Request;
    let (world, agent) = setup();
    let request = Request::AddressChange(AddressChangeRequest {
        order_id: OrderId::new("ds-1014"),
        new_address: new_address("Länggassstrasse 20"),
    });
    // Not verified yet: nothing happens.
    let turn = agent
        .handle_request(Channel::WebChat, "chat-20", &request)
        .await
        .unwrap();
    assert!(
        matches!(turn.reply, Reply::AskVerification { .. }),
        "{turn:#?}"
    );
    verified_jonas(&agent, "chat-20").await;
    let turn = agent
        .handle_request(Channel::WebChat, "chat-20", &request)
        .await
        .unwrap();
    assert!(
        matches!(turn.reply, Reply::AddressChanged { .. }),
        "{turn:#?}"
    );
    let order = world.oms.order_snapshot(&OrderId::new("ds-1014")).unwrap();
    assert_eq!(order.shipping_address.line1, "Länggassstrasse 20");
}

#[tokio::test]
async fn an_undeliverable_address_is_refused_with_the_reason() {
    use order_agent_core::domain::AddressChangeRequest;
    use order_agent_core::policy::Request;
    use order_agent_core::ports::AddressValidation;
    let world = World::demo();
    let address = new_address("Nowhere 0");
    let carrier = order_agent_testkit::fakes::FakeCarrier::new().with_address_verdict(
        address.clone(),
        AddressValidation::Invalid {
            reason: "street unknown".into(),
        },
    );
    let mut ports = world.ports();
    ports.carrier = std::sync::Arc::new(carrier);
    let agent = Agent::new(ports, World::demo_policy().unwrap(), World::demo_config()).unwrap();
    verified_jonas(&agent, "chat-21").await;
    let turn = agent
        .handle_request(
            Channel::WebChat,
            "chat-21",
            &Request::AddressChange(AddressChangeRequest {
                order_id: OrderId::new("ds-1014"),
                new_address: address,
            }),
        )
        .await
        .unwrap();
    let Reply::ChangeDenied { reasons, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(reasons, &vec![ReasonCode::AddressUndeliverable]);
    let order = world.oms.order_snapshot(&OrderId::new("ds-1014")).unwrap();
    assert_eq!(order.shipping_address.line1, "Marktgasse 12");
}

#[tokio::test]
async fn a_size_swap_and_a_reduction_are_applied_and_the_removed_unit_refunded() {
    use order_agent_core::domain::{ItemChange, ItemModificationRequest, VariantId};
    use order_agent_core::policy::Request;
    let (world, agent) = setup();
    verified_jonas(&agent, "chat-22").await;
    let request = Request::ItemModification(ItemModificationRequest {
        order_id: OrderId::new("ds-1014"),
        changes: vec![
            ItemChange::SwapVariant {
                line_id: LineId::new("l1"),
                variant_id: VariantId::new("v-merino-sweater-m"),
            },
            ItemChange::ReduceQuantity {
                line_id: LineId::new("l2"),
                quantity: 2,
            },
        ],
    });
    let turn = agent
        .handle_request(Channel::WebChat, "chat-22", &request)
        .await
        .unwrap();
    assert!(
        matches!(turn.reply, Reply::ItemsModified { .. }),
        "{turn:#?}"
    );
    assert_eq!(refunds(&world), 1);
    assert_eq!(
        world.payments.all_refunds()[0].amount.to_string(),
        "CHF 39.90"
    );
    // The same request again: the limit of one modification per order... or the policy's own.
    let again = agent
        .handle_request(Channel::WebChat, "chat-22", &request)
        .await
        .unwrap();
    assert_eq!(refunds(&world), 1, "{again:#?}");
}

#[tokio::test]
async fn nobody_changes_an_order_of_somebody_else() {
    use order_agent_core::domain::AddressChangeRequest;
    use order_agent_core::policy::Request;
    let (world, agent) = setup();
    verified_jonas(&agent, "chat-23").await;
    // ds-1012 belongs to Giulia.
    let turn = agent
        .handle_request(
            Channel::WebChat,
            "chat-23",
            &Request::AddressChange(AddressChangeRequest {
                order_id: OrderId::new("ds-1012"),
                new_address: new_address("Länggassstrasse 20"),
            }),
        )
        .await
        .unwrap();
    assert_eq!(turn.reply, Reply::NotVerified);
    let order = world.oms.order_snapshot(&OrderId::new("ds-1012")).unwrap();
    assert_ne!(order.shipping_address.line1, "Länggassstrasse 20");
}

#[tokio::test]
async fn a_lock_lapses_an_hour_after_the_last_failure() {
    let (world, agent) = setup();
    for sender in ["lock-1", "lock-2", "lock-3"] {
        agent
            .handle_message(
                Channel::WebChat,
                sender,
                "Where is my order #1001? anna.mueller@example.ch 1234",
            )
            .await
            .unwrap();
    }
    let locked = agent
        .handle_message(
            Channel::WebChat,
            "lock-4",
            &format!("Where is my order #1001? {ANNA}"),
        )
        .await
        .unwrap();
    assert_eq!(locked.reply, Reply::VerificationLocked);
    world.clock.advance(Duration::minutes(61));
    let open = agent
        .handle_message(
            Channel::WebChat,
            "lock-4",
            &format!("Where is my order #1001? {ANNA}"),
        )
        .await
        .unwrap();
    assert!(matches!(open.reply, Reply::OrderStatus { .. }), "{open:#?}");
}

#[tokio::test]
async fn two_concurrent_returns_of_the_same_item_authorise_it_once() {
    use order_agent_core::domain::{ResolutionKind, ReturnLine, ReturnReason, ReturnRequest};
    use order_agent_core::policy::Request;
    let (world, agent) = setup();
    for sender in ["twin-1", "twin-2"] {
        let turn = agent
            .handle_message(
                Channel::WebChat,
                sender,
                &format!("Where is my order #1001? {ANNA}"),
            )
            .await
            .unwrap();
        assert!(matches!(turn.reply, Reply::OrderStatus { .. }));
    }
    let request = Request::Return(ReturnRequest {
        order_id: OrderId::new("ds-1001"),
        resolution: ResolutionKind::Refund,
        lines: vec![ReturnLine {
            line_id: LineId::new("l1"),
            quantity: 1,
            reason: ReturnReason::DoesNotFit,
            exchange_for: None,
        }],
    });
    let (a, b) = tokio::join!(
        agent.handle_request(Channel::WebChat, "twin-1", &request),
        agent.handle_request(Channel::WebChat, "twin-2", &request),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let authorised = [&a, &b]
        .iter()
        .filter(|t| matches!(t.reply, Reply::ReturnAuthorised { .. }))
        .count();
    assert_eq!(authorised, 1, "{a:#?}\n{b:#?}");
    let stored = world
        .store
        .return_authorisations_of_order(&OrderId::new("ds-1001"))
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(world.carrier.labels().len(), 1);
}

#[tokio::test]
async fn the_demo_conversation_works_with_the_builtin_understanding() {
    let world = World::demo();
    let agent = world
        .agent_with_builtin_understanding(World::demo_policy().unwrap())
        .unwrap();
    let say = |text: &'static str| agent.handle_message(Channel::WebChat, "demo-anna", text);
    let first = say("Hi, where is my order #1001?").await.unwrap();
    assert!(
        matches!(first.reply, Reply::AskVerification { .. }),
        "{first:#?}"
    );
    // A bare number right after we asked for details is the postcode.
    let second = say("anna.mueller@example.ch, 8008").await.unwrap();
    assert!(
        matches!(second.reply, Reply::OrderStatus { .. }),
        "{second:#?}"
    );
    let third = say("I want to return the sweater, it does not fit")
        .await
        .unwrap();
    assert!(
        matches!(third.reply, Reply::ReturnAuthorised { .. }),
        "{third:#?}"
    );
    let german = agent
        .handle_message(
            Channel::WebChat,
            "demo-anna",
            "Ich möchte mit einem Mitarbeiter sprechen",
        )
        .await
        .unwrap();
    assert!(
        matches!(german.reply, Reply::HandedToHuman { .. }),
        "{german:#?}"
    );
    assert_eq!(german.locale, order_agent_core::domain::Locale::De);
}

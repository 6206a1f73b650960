//! Scenario tests of every mission flow through [`Agent`], on the testkit's fakes seeded with the
//! demo shop: WISMO, identity, returns, receipts, events, order changes, vendor failures and
//! refund status. Each test asserts on the reply, on what the fakes recorded (refunds, labels,
//! tickets, messages, stock movements, OMS changes) and on the decision's reason codes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use order_agent_core::agent::{ActionTaken, Agent, Turn};
use order_agent_core::domain::{
    Channel, InspectionGrade, LineId, Locale, LocationId, Order, OrderId, OrderStatus, Priority,
    Receipt, ReceivedLine, RefundState, ResolutionKind, ReturnAuthorisation, ReturnId, ReturnLine,
    ReturnReason, ReturnRequest, ShipmentId, Tender, TrackingNumber, TrackingStatus, VariantId,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::flows::shipping::{ExceptionKind, Punctuality};
use order_agent_core::money::Money;
use order_agent_core::policy::{Outcome, Policy, ReasonCode};
use order_agent_core::ports::{
    carrier::ops as carrier_ops, helpdesk::ops as helpdesk_ops, language::ops as language_ops,
    messaging::ops as messaging_ops, oms::ops as oms_ops, payments::ops as payments_ops,
    ConversationKey, ConversationStore, PortErrorKind, RefundIntentState, RefundIntentStore,
    ReturnStore, Ticket, Tracking,
};
use order_agent_core::replies::{render, ChangeKind, HandoverTopic, Reply};
use order_agent_testkit::builders::{
    address, chf_minor, days_before, hours_after, tracking_event, OrderBuilder, OrderLineBuilder,
};
use order_agent_testkit::fakes::{FakePayments, Fault};
use order_agent_testkit::world::{World, DEMO_POLICY};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn setup() -> (World, Agent) {
    let world = World::demo();
    let agent = world.agent(World::demo_policy().unwrap()).unwrap();
    (world, agent)
}

/// The demo policy with one line of its text replaced.
fn policy_with(from: &str, to: &str) -> Policy {
    assert!(DEMO_POLICY.contains(from), "the sample policy has `{from}`");
    Policy::from_toml_str(&DEMO_POLICY.replace(from, to)).unwrap()
}

fn now(world: &World) -> DateTime<Utc> {
    world.clock.peek()
}

async fn say(agent: &Agent, channel: Channel, sender: &str, text: &str) -> Turn {
    agent.handle_message(channel, sender, text).await.unwrap()
}

async fn chat(agent: &Agent, sender: &str, text: &str) -> Turn {
    say(agent, Channel::WebChat, sender, text).await
}

const ANNA: &str = "anna.mueller@example.ch 8008";
const LUCA: &str = "luca.rossi@example.ch 6900";
const SOPHIE: &str = "sophie.dubois@example.ch";
const JAMES: &str = "james.miller@example.com 4001";
const LENA: &str = "lena.schmidt@example.de 79098";
const JONAS: &str = "jonas.meier@example.ch 3011";
const ALEX: &str = "alex.novak@example.net 8004";
const NINA: &str = "nina.frei@example.ch 6004";
const PIERRE: &str = "pierre.lambert@example.ch 2000";
const KATRIN: &str = "katrin.huber@example.at 1070";
const GIULIA: &str = "giulia.bernasconi@example.ch 6500";

fn chf(minor: i64) -> Money {
    chf_minor(minor)
}

fn tickets(world: &World) -> Vec<Ticket> {
    world.helpdesk.tickets()
}

fn only_ticket(world: &World) -> Ticket {
    let tickets = tickets(world);
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    tickets.into_iter().next().unwrap()
}

fn has_reason(ticket: &Ticket, reason: &str) -> bool {
    ticket.escalation.reasons.iter().any(|r| r == reason)
}

fn refund_count(world: &World) -> usize {
    world.payments.all_refunds().len()
}

fn ticket_opened(turn_actions: &[ActionTaken]) -> bool {
    turn_actions
        .iter()
        .any(|a| matches!(a, ActionTaken::TicketOpened { .. }))
}

fn reasoned(turn: &Turn, reason: &str) -> bool {
    turn.reasons.iter().any(|r| r == reason)
}

/// Authorises a return through a chat message and returns its id.
async fn authorise(world: &World, agent: &Agent, sender: &str, text: &str) -> ReturnId {
    let labels = world.carrier.labels().len();
    let turn = chat(agent, sender, text).await;
    let Reply::ReturnAuthorised { return_id, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(world.carrier.labels().len(), labels + 1);
    return_id.clone()
}

fn receipt_event(
    world: &World,
    id: &str,
    return_id: &ReturnId,
    lines: &[(&str, u32, Option<InspectionGrade>)],
    receive_only: bool,
) -> Event {
    let at = now(world);
    Event {
        id: id.to_owned(),
        source: "warehouse:zrh-1".to_owned(),
        at,
        kind: EventKind::ReturnReceived {
            receipt: Receipt {
                return_id: return_id.clone(),
                lines: lines
                    .iter()
                    .map(|(line, quantity, grade)| ReceivedLine {
                        line_id: LineId::new(*line),
                        quantity: *quantity,
                        grade: *grade,
                    })
                    .collect(),
                received_at: at,
                location: LocationId::new("zrh-1"),
                receive_only,
            },
        },
    }
}

/// Stores a return authorised outside the agent (by staff, or under an earlier policy).
async fn authorised_by_staff(
    world: &World,
    id: &str,
    order: &str,
    line: &str,
    reason: ReturnReason,
    resolution: ResolutionKind,
) -> ReturnId {
    let authorisation = ReturnAuthorisation {
        id: ReturnId::new(id),
        request: ReturnRequest {
            order_id: OrderId::new(order),
            lines: vec![ReturnLine {
                line_id: LineId::new(line),
                quantity: 1,
                reason,
                exchange_for: None,
            }],
            resolution,
        },
        authorised_at: days_before(now(world), 2),
        policy_version: "2026-01-01".to_owned(),
    };
    world
        .store
        .insert_return_authorisation(&authorisation)
        .await
        .unwrap();
    authorisation.id
}

fn event(world: &World, id: &str, source: &str, kind: EventKind) -> Event {
    Event {
        id: id.to_owned(),
        source: source.to_owned(),
        at: now(world),
        kind,
    }
}

// ---------------------------------------------------------------------------------------------
// WISMO
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn several_open_orders_ask_which_then_the_named_one_is_answered() {
    let (world, agent) = setup();
    // Jonas has a sweater delivered a week ago and an order placed this morning: both open.
    let first = chat(&agent, "chat-jonas", &format!("Where is my order? {JONAS}")).await;
    let Reply::AskWhichOrder { candidates } = &first.reply else {
        panic!("{first:#?}")
    };
    let numbers: Vec<&str> = candidates.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, ["#1014", "#1008"], "newest first");
    assert!(reasoned(&first, "ask:several_open"), "{:?}", first.reasons);
    assert_eq!(world.carrier.calls().count(carrier_ops::TRACK), 1);

    let second = chat(&agent, "chat-jonas", "It's order #1008").await;
    let Reply::OrderStatus {
        order_number,
        parcels,
        ..
    } = &second.reply
    else {
        panic!("{second:#?}")
    };
    assert_eq!(order_number.as_str(), "#1008");
    assert_eq!(parcels.len(), 1);
    assert_eq!(parcels[0].status, TrackingStatus::Delivered);
    assert!(reasoned(&second, "identity:verified_earlier"));
    assert!(reasoned(&second, "order:named"));
    assert!(tickets(&world).is_empty());
    assert_eq!(world.messaging.delivered_to("chat-jonas").len(), 2);
}

#[tokio::test]
async fn a_parcel_in_transit_is_answered_with_its_eta_and_no_ticket() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-pierre",
        &format!("Where is my order #1013? {PIERRE}"),
    )
    .await;
    let Reply::OrderStatus {
        parcels,
        unshipped_items,
        ..
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    let tomorrow = (now(&world) + Duration::days(1)).date_naive();
    let parcel = &parcels[0];
    assert_eq!(parcel.status, TrackingStatus::InTransit);
    assert_eq!(parcel.eta, Some(tomorrow));
    assert_eq!(parcel.promised_by, Some(tomorrow));
    assert_eq!(parcel.punctuality, Punctuality::OnTime);
    assert!(parcel.exceptions.is_empty());
    assert_eq!(
        parcel.last_scan.as_ref().unwrap().location.as_deref(),
        Some("Paketzentrum Daillens")
    );
    assert!(unshipped_items.is_empty());
    assert!(!ticket_opened(&turn.actions));
    assert!(tickets(&world).is_empty());
}

#[tokio::test]
async fn a_split_shipment_shows_two_parcels_without_a_ticket() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-nina",
        &format!("Where is my order #1018? {NINA}"),
    )
    .await;
    let Reply::OrderStatus { parcels, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    let statuses: Vec<TrackingStatus> = parcels.iter().map(|p| p.status).collect();
    assert_eq!(
        statuses,
        [TrackingStatus::Delivered, TrackingStatus::InTransit]
    );
    assert_eq!(parcels[0].items, ["Merino Sweater – L / Navy"]);
    assert_eq!(parcels[1].items, ["Noise-Cancelling Headphones"]);
    assert!(reasoned(&turn, "split_shipment"), "{:?}", turn.reasons);
    assert!(!reasoned(&turn, "escalated"));
    assert!(tickets(&world).is_empty());
}

#[tokio::test]
async fn a_customs_hold_is_answered_and_ticketed_once() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-katrin",
        &format!("Where is my order #1016? {KATRIN}"),
    )
    .await;
    let Reply::OrderStatus { parcels, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(parcels[0].status, TrackingStatus::CustomsHold);
    assert_eq!(parcels[0].exceptions, [ExceptionKind::CustomsHold]);
    assert!(reasoned(&turn, "customs_hold:s1"), "{:?}", turn.reasons);
    assert!(reasoned(&turn, "escalated"));
    assert!(ticket_opened(&turn.actions), "{:?}", turn.actions);
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert_eq!(ticket.escalation.order_id, Some(OrderId::new("ds-1016")));
    assert!(has_reason(&ticket, "customs_hold:s1"), "{ticket:#?}");
    assert!(ticket.escalation.summary.contains("held by customs"));

    // Asking again does not open a second ticket for the same exception.
    let again = chat(&agent, "chat-katrin", "Where is my order #1016?").await;
    assert!(
        matches!(again.reply, Reply::OrderStatus { .. }),
        "{again:#?}"
    );
    assert_eq!(tickets(&world).len(), 1);
}

#[tokio::test]
async fn a_parcel_late_beyond_the_threshold_is_ticketed() {
    let (world, agent) = setup();
    // Sophie's order #1017 went to Geneva (postcode 1204), promised four days ago.
    let turn = chat(
        &agent,
        "chat-sophie",
        &format!("Where is my order #1017? {SOPHIE} 1204"),
    )
    .await;
    let Reply::OrderStatus { parcels, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(parcels[0].status, TrackingStatus::DeliveryAttemptFailed);
    assert_eq!(parcels[0].exceptions, [ExceptionKind::Delayed]);
    // Promised by 8 January, the carrier now expects the 13th.
    assert_eq!(parcels[0].punctuality, Punctuality::Late { days: 5 });
    assert!(reasoned(&turn, "delayed:s1"), "{:?}", turn.reasons);
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert!(has_reason(&ticket, "delayed:s1"));
    assert!(ticket.escalation.summary.contains("threshold 2 days"));
}

#[tokio::test]
async fn fresh_carrier_tracking_overrides_the_oms_stale_scans() {
    let (world, agent) = setup();
    let at = now(&world);
    // The OMS still shows #1013 in transit; the carrier delivered it an hour ago.
    world.carrier.set_tracking(Tracking {
        carrier: "swiss-post".to_owned(),
        tracking_number: TrackingNumber::new("99.60.s1"),
        status: TrackingStatus::Delivered,
        events: vec![
            tracking_event(
                hours_after(at, -27),
                TrackingStatus::InTransit,
                Some("Paketzentrum Daillens"),
            ),
            tracking_event(
                hours_after(at, -4),
                TrackingStatus::OutForDelivery,
                Some("Neuchâtel"),
            ),
            tracking_event(
                hours_after(at, -1),
                TrackingStatus::Delivered,
                Some("Neuchâtel"),
            ),
        ],
        eta: None,
    });
    let turn = chat(
        &agent,
        "chat-pierre",
        &format!("Where is my order #1013? {PIERRE}"),
    )
    .await;
    let Reply::OrderStatus { parcels, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(parcels[0].status, TrackingStatus::Delivered);
    assert_eq!(parcels[0].delivered_at, Some(hours_after(at, -1)));
    assert_eq!(parcels[0].eta, None);
    assert_eq!(parcels[0].punctuality, Punctuality::OnTime);
    let oms_order = world.oms.order_snapshot(&OrderId::new("ds-1013")).unwrap();
    assert_eq!(oms_order.shipments[0].status(), TrackingStatus::InTransit);
    let tracked = world.carrier.calls().of(carrier_ops::TRACK);
    assert_eq!(tracked.len(), 1);
    assert_eq!(tracked[0].args["tracking_number"], "99.60.s1");
}

#[tokio::test]
async fn german_french_and_italian_messages_are_answered_in_their_language() {
    let (world, agent) = setup();
    let cases = [
        (
            Channel::WebChat,
            "chat-anna",
            format!("Wo ist meine Bestellung #1001? {ANNA}"),
            Locale::De,
        ),
        (
            // Sophie writes from her email address on file: that is one factor.
            Channel::Email,
            SOPHIE,
            "Bonjour, où est ma commande #1003? 1003".to_owned(),
            Locale::Fr,
        ),
        (
            Channel::WebChat,
            "chat-luca",
            format!("Buongiorno, dov'è il mio ordine #1002? {LUCA}"),
            Locale::It,
        ),
    ];
    for (channel, sender, text, locale) in cases {
        let turn = say(&agent, channel, sender, &text).await;
        assert!(matches!(turn.reply, Reply::OrderStatus { .. }), "{turn:#?}");
        assert_eq!(turn.locale, locale);
        let sent = world.messaging.delivered_to(sender);
        assert_eq!(sent.len(), 1, "{sender}");
        assert_eq!(sent[0].message.locale, locale);
        assert_eq!(sent[0].message.channel, channel);
        assert_eq!(sent[0].message.body, turn.rendered.body);
        let english = render(&turn.reply, Locale::En, channel, agent.policy().timezone);
        assert_ne!(
            turn.rendered.body, english.body,
            "{locale:?} is not English"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_verified_sender_needs_no_new_proof_but_cannot_name_another_customers_order() {
    let (world, agent) = setup();
    let first = chat(
        &agent,
        "chat-a",
        &format!("Where is my order #1001? {ANNA}"),
    )
    .await;
    assert!(
        matches!(first.reply, Reply::OrderStatus { .. }),
        "{first:#?}"
    );

    // Another of Anna's orders, no details given again.
    let own = chat(&agent, "chat-a", "And where is my order #1020?").await;
    let Reply::OrderStatus { order_number, .. } = &own.reply else {
        panic!("{own:#?}")
    };
    assert_eq!(order_number.as_str(), "#1020");
    assert!(reasoned(&own, "identity:verified_earlier"));

    // Luca's order: the same answer as any failed proof, and nothing about it.
    let foreign = chat(&agent, "chat-a", "Where is my order #1002?").await;
    assert_eq!(foreign.reply, Reply::NotVerified, "{foreign:#?}");
    assert!(reasoned(&foreign, "identity:order_not_owned"));
    for secret in ["Speaker", "Lugano", "Luca", "99.60"] {
        assert!(!foreign.rendered.body.contains(secret), "{secret}");
    }
    // Only #1001 and #1020 were tracked, never the foreign order.
    assert_eq!(world.carrier.calls().count(carrier_ops::TRACK), 2);

    // The foreign number does not stick to the conversation.
    let back = chat(&agent, "chat-a", "Where is my order #1005?").await;
    let Reply::OrderStatus { order_number, .. } = &back.reply else {
        panic!("{back:#?}")
    };
    assert_eq!(order_number.as_str(), "#1005");
}

#[tokio::test]
async fn verification_expires_after_a_day_without_activity() {
    let (world, agent) = setup();
    let first = chat(
        &agent,
        "chat-exp",
        &format!("Where is my order #1001? {ANNA}"),
    )
    .await;
    assert!(
        matches!(first.reply, Reply::OrderStatus { .. }),
        "{first:#?}"
    );

    world.clock.advance(Duration::hours(23));
    let within = chat(&agent, "chat-exp", "Where is my order #1001?").await;
    assert!(
        matches!(within.reply, Reply::OrderStatus { .. }),
        "{within:#?}"
    );
    assert!(reasoned(&within, "identity:verified_earlier"));

    world.clock.advance(Duration::hours(25));
    let expired = chat(&agent, "chat-exp", "Where is my order #1001?").await;
    assert!(
        matches!(expired.reply, Reply::AskVerification { .. }),
        "{expired:#?}"
    );
    assert!(!reasoned(&expired, "identity:verified_earlier"));
    assert!(!expired.rendered.body.contains("Sweater"));
}

#[tokio::test]
async fn a_sender_is_locked_after_three_failures_and_nothing_is_looked_up_then() {
    let (world, agent) = setup();
    let wrong = "wrong.person@example.ch";
    let one = chat(
        &agent,
        "chat-lock",
        &format!("Where is my order #1001? {wrong} 8008"),
    )
    .await;
    assert_eq!(one.reply, Reply::NotVerified);
    let two = chat(
        &agent,
        "chat-lock",
        &format!("Where is my order #1002? {wrong} 6900"),
    )
    .await;
    assert_eq!(two.reply, Reply::NotVerified);
    let three = chat(
        &agent,
        "chat-lock",
        &format!("Where is my order #1003? {wrong} 1003"),
    )
    .await;
    assert_eq!(three.reply, Reply::VerificationLocked, "{three:#?}");

    let lookups = world.oms.calls().count(oms_ops::ORDER_BY_NUMBER);
    // Even the right details for another order get no further.
    let four = chat(
        &agent,
        "chat-lock",
        &format!("Where is my order #1004? {JAMES}"),
    )
    .await;
    assert_eq!(four.reply, Reply::VerificationLocked, "{four:#?}");
    assert!(reasoned(&four, "identity:locked"));
    assert_eq!(world.oms.calls().count(oms_ops::ORDER_BY_NUMBER), lookups);

    // Another sender with the right details is not affected.
    let james = chat(
        &agent,
        "chat-james",
        &format!("Where is my order #1004? {JAMES}"),
    )
    .await;
    assert!(
        matches!(james.reply, Reply::OrderStatus { .. }),
        "{james:#?}"
    );
}

#[tokio::test]
async fn whatsapp_from_an_unknown_number_with_only_an_email_is_asked_for_more() {
    let (world, agent) = setup();
    let turn = say(
        &agent,
        Channel::Whatsapp,
        "+41790000000",
        "Where is my order? anna.mueller@example.ch",
    )
    .await;
    assert_eq!(
        turn.reply,
        Reply::AskVerification { order_number: None },
        "{turn:#?}"
    );
    assert!(
        reasoned(&turn, "identity:need_more:0"),
        "{:?}",
        turn.reasons
    );
    assert!(
        world.carrier.calls().all().is_empty(),
        "no tracking looked up"
    );
    let sent = world.messaging.delivered_to("+41790000000");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.channel, Channel::Whatsapp);
    assert!(!sent[0].message.body.contains("#1001"));
}

#[tokio::test]
async fn an_unknown_order_number_alone_gets_the_same_answer_as_a_real_one() {
    let (_world, agent) = setup();
    let real = chat(&agent, "chat-r", "Where is my order #1001?").await;
    let unknown = chat(&agent, "chat-u", "Where is my order #9999?").await;
    assert!(
        matches!(real.reply, Reply::AskVerification { .. }),
        "{real:#?}"
    );
    // Whether an order number exists is itself something about an order.
    assert!(
        matches!(unknown.reply, Reply::AskVerification { .. }),
        "{unknown:#?}"
    );
    assert_eq!(
        real.rendered.body.replace("1001", "N"),
        unknown.rendered.body.replace("9999", "N")
    );
}

// ---------------------------------------------------------------------------------------------
// Returns
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_final_sale_item_is_denied_with_its_reason_and_no_label() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-fs",
        &format!(
            "I want to return the rain jacket from order #1003, I changed my mind. {SOPHIE} 1003"
        ),
    )
    .await;
    let Reply::ReturnDenied { reasons, items, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(reasons, &[ReasonCode::FinalSale]);
    assert_eq!(items, &["Rain Jacket – S / Olive (outlet)"]);
    assert_eq!(turn.decision.as_ref().unwrap().outcome, Outcome::Deny);
    assert!(reasoned(&turn, "final_sale"));
    assert!(world.carrier.labels().is_empty());
    assert!(world.oms.recorded_returns().is_empty());
    assert!(world
        .store
        .return_authorisations_of_order(&OrderId::new("ds-1003"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(world.store.decision_log().len(), 1);
}

#[tokio::test]
async fn a_hygiene_item_is_denied() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-hy",
        &format!("I want to return the briefs from #1004, I changed my mind. {JAMES}"),
    )
    .await;
    let Reply::ReturnDenied { reasons, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(reasons, &[ReasonCode::Hygiene]);
    assert!(world.carrier.labels().is_empty());
    assert_eq!(refund_count(&world), 0);
}

#[tokio::test]
async fn a_return_after_the_window_is_denied() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-win",
        &format!("I want to return the chinos from #1005, they are too small. {ANNA}"),
    )
    .await;
    let Reply::ReturnDenied { reasons, .. } = &turn.reply else {
        panic!("{turn:#?}")
    };
    assert_eq!(reasons, &[ReasonCode::WindowExpired]);
    let decision = turn.decision.as_ref().unwrap();
    assert!(!decision.has_reason(ReasonCode::WarrantyClaim));
    assert!(world.carrier.labels().is_empty());
}

#[tokio::test]
async fn electronics_are_authorised_for_inspection_without_a_refund_promise() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-el",
        &format!("I want to return the speaker from #1002, I changed my mind. {LUCA}"),
    )
    .await;
    let Reply::ReturnAuthorised {
        inspection_required,
        refund_estimate,
        label_url,
        resolution,
        ..
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    assert!(*inspection_required);
    // What comes back depends on the grade: no amount is promised before inspection.
    assert_eq!(*refund_estimate, None);
    assert!(label_url.is_some());
    assert_eq!(*resolution, ResolutionKind::Refund);
    let decision = turn.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::Approve);
    assert!(decision.has_reason(ReasonCode::InspectionRequired));
    assert!(decision.has_reason(ReasonCode::RestockingFee));
    assert_eq!(world.carrier.labels().len(), 1);
    assert_eq!(refund_count(&world), 0);
}

#[tokio::test]
async fn an_eu_final_sale_item_within_the_legal_floor_is_authorised() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-eu",
        &format!("I want to return the sneakers from #1006, I changed my mind. {LENA}"),
    )
    .await;
    let Reply::ReturnAuthorised {
        refund_estimate,
        return_shipping_fee,
        ..
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    // CHF 99 back, less CHF 7.90 return shipping; the original shipping is not refunded.
    assert_eq!(*refund_estimate, Some(chf(9110)));
    assert_eq!(*return_shipping_fee, Some(chf(790)));
    let decision = turn.decision.as_ref().unwrap();
    assert!(decision.has_reason(ReasonCode::LegalFloor));
    assert!(!decision.has_reason(ReasonCode::FinalSale));
    assert_eq!(world.carrier.labels().len(), 1);
    assert_eq!(world.oms.recorded_returns().len(), 1);
}

#[tokio::test]
async fn a_fraud_flagged_order_goes_to_a_person_with_high_priority_and_no_label() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-fr",
        &format!("I want to return the t-shirt from #1011, I changed my mind. {ALEX}"),
    )
    .await;
    let Reply::HandedToHuman {
        topic,
        ticket_reference,
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    assert_eq!(*topic, HandoverTopic::RefundApproval);
    let ticket = only_ticket(&world);
    assert_eq!(ticket_reference.as_deref(), Some(ticket.id.as_str()));
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert_eq!(ticket.escalation.order_id, Some(OrderId::new("ds-1011")));
    assert!(has_reason(&ticket, "fraud_flagged"), "{ticket:#?}");
    assert!(reasoned(&turn, "fraud_flagged"));
    assert!(world.carrier.labels().is_empty());
    assert!(world.oms.recorded_returns().is_empty());
    assert_eq!(refund_count(&world), 0);
}

#[tokio::test]
async fn an_exchange_for_another_size_records_the_wanted_variant() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-ex",
        &format!(
            "I'd like to exchange the sweater from #1008 for size L, it is too small. {JONAS}"
        ),
    )
    .await;
    let Reply::ReturnAuthorised {
        return_id,
        resolution,
        refund_estimate,
        ..
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    assert_eq!(*resolution, ResolutionKind::Exchange);
    assert_eq!(*refund_estimate, None);
    let stored = world
        .store
        .return_authorisation(return_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.request.resolution, ResolutionKind::Exchange);
    assert_eq!(
        stored.request.lines[0].exchange_for,
        Some(VariantId::new("v-merino-sweater-l"))
    );
    let recorded = world.oms.recorded_returns();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].authorisation.request.lines[0].exchange_for,
        Some(VariantId::new("v-merino-sweater-l"))
    );
}

#[tokio::test]
async fn the_same_return_asked_twice_is_denied_the_second_time_without_a_second_label() {
    let (world, agent) = setup();
    let text = format!("I want to return the sweater from order #1001, it is too small. {ANNA}");
    authorise(&world, &agent, "chat-twice", &text).await;
    let again = chat(&agent, "chat-twice", &text).await;
    let Reply::ReturnDenied { reasons, .. } = &again.reply else {
        panic!("{again:#?}")
    };
    assert_eq!(reasons, &[ReasonCode::QuantityExceeded]);
    assert_eq!(world.carrier.labels().len(), 1);
    assert_eq!(world.oms.recorded_returns().len(), 1);
}

#[tokio::test]
async fn a_return_without_a_reason_asks_for_it_then_authorises() {
    let (world, agent) = setup();
    let first = chat(
        &agent,
        "chat-det",
        &format!("I want to return the sweater from #1001. {ANNA}"),
    )
    .await;
    let Reply::AskReturnDetails { items, .. } = &first.reply else {
        panic!("{first:#?}")
    };
    assert_eq!(items.len(), 2);
    assert!(reasoned(&first, "return:details_missing"));
    assert!(world.carrier.labels().is_empty());

    let second = chat(&agent, "chat-det", "It is too small").await;
    let Reply::ReturnAuthorised {
        return_id, items, ..
    } = &second.reply
    else {
        panic!("{second:#?}")
    };
    assert_eq!(items, &["Merino Sweater – M / Navy"]);
    let stored = world
        .store
        .return_authorisation(return_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.request.lines.len(), 1);
    assert_eq!(stored.request.lines[0].reason, ReturnReason::DoesNotFit);
    assert_eq!(world.carrier.labels().len(), 1);
}

#[tokio::test]
async fn a_failed_label_leaves_the_authorisation_standing_and_says_why() {
    let (world, agent) = setup();
    world.carrier.faults().once(
        carrier_ops::CREATE_RETURN_LABEL,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let turn = chat(
        &agent,
        "chat-lbl",
        &format!("I want to return the sweater from order #1001, it is too small. {ANNA}"),
    )
    .await;
    let Reply::ReturnAuthorised {
        return_id,
        label_url,
        ..
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    assert_eq!(*label_url, None);
    assert!(
        turn.errors
            .iter()
            .any(|e| e.contains(carrier_ops::CREATE_RETURN_LABEL)),
        "{:?}",
        turn.errors
    );
    assert!(world
        .store
        .return_authorisation(return_id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(world.oms.recorded_returns().len(), 1);
    assert!(world.carrier.labels().is_empty());
    // The reply promises a label sent separately: staff are asked to send it.
    let ticket = only_ticket(&world);
    assert!(has_reason(&ticket, "label_failed"), "{ticket:#?}");
    assert!(ticket.escalation.summary.contains(return_id.as_str()));
}

// ---------------------------------------------------------------------------------------------
// Receipts
// ---------------------------------------------------------------------------------------------

async fn authorise_speaker(world: &World, agent: &Agent) -> ReturnId {
    authorise(
        world,
        agent,
        "chat-spk",
        &format!("I want to return the speaker from #1002, I changed my mind. {LUCA}"),
    )
    .await
}

#[tokio::test]
async fn an_ungraded_electronics_receipt_waits_for_a_grade_without_an_amount() {
    let (world, agent) = setup();
    let return_id = authorise_speaker(&world, &agent).await;
    let outcome = agent
        .handle_event(&receipt_event(
            &world,
            "wh-1",
            &return_id,
            &[("l1", 1, None)],
            false,
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let decision = outcome.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::NeedsHuman);
    assert!(decision.has_reason(ReasonCode::InspectionRequired));

    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert!(has_reason(&ticket, "inspection_required"));
    assert!(ticket.escalation.subject.contains("grade"), "{ticket:#?}");
    // No amount is final before the grade: nothing is held, nothing refunded, nothing restocked.
    assert!(world.store.refund_intents().is_empty());
    assert_eq!(refund_count(&world), 0);
    assert!(world.inventory.movements().is_empty());

    let notice = world.messaging.delivered_to("luca.rossi@example.ch");
    assert_eq!(notice.len(), 1);
    assert_eq!(notice[0].message.channel, Channel::Email);
    assert_eq!(notice[0].message.locale, Locale::It);
    assert!(!outcome
        .actions
        .iter()
        .any(|a| matches!(a, ActionTaken::RefundHeld { .. })));
}

#[tokio::test]
async fn a_receipt_graded_damaged_refunds_half_less_fees_when_the_policy_allows() {
    let (world, agent) = setup();
    let return_id = authorise_speaker(&world, &agent).await;
    let outcome = agent
        .handle_event(&receipt_event(
            &world,
            "wh-dmg",
            &return_id,
            &[("l1", 1, Some(InspectionGrade::Damaged))],
            false,
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let decision = outcome.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::Approve);
    assert!(decision.has_reason(ReasonCode::GradeDeduction));
    assert!(!decision.has_reason(ReasonCode::PartialRefund));
    // 129.00 at 50% = 64.50, less the 12.90 restocking fee and 7.90 return shipping.
    let refunds = world.payments.all_refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount, chf(4370));
    assert_eq!(refunds[0].payment_id.as_str(), "pay-ds-1002-twint");
    let movements = world.inventory.movements();
    assert_eq!(movements.len(), 1);
    assert_eq!(movements[0].sku.as_str(), "AUD-SPK-GRA");
    assert_eq!(
        movements[0].disposition,
        order_agent_core::policy::RestockDisposition::Scrap
    );
    assert!(tickets(&world).is_empty());
    let notice = world.messaging.delivered_to("luca.rossi@example.ch");
    assert_eq!(notice.len(), 1);
}

#[tokio::test]
async fn a_receipt_graded_damaged_goes_to_a_person_when_partial_refunds_need_one() {
    let world = World::demo();
    let agent = world
        .agent(policy_with(
            "partial_refunds_need_human = false",
            "partial_refunds_need_human = true",
        ))
        .unwrap();
    let return_id = authorise_speaker(&world, &agent).await;
    let outcome = agent
        .handle_event(&receipt_event(
            &world,
            "wh-dmg",
            &return_id,
            &[("l1", 1, Some(InspectionGrade::Damaged))],
            false,
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let decision = outcome.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::NeedsHuman);
    assert!(decision.has_reason(ReasonCode::PartialRefund));
    assert_eq!(refund_count(&world), 0);
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert!(has_reason(&ticket, "partial_refund"));
    let intents = world.store.refund_intents();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].amount, chf(4370));
    assert_eq!(intents[0].state, RefundIntentState::NeedsApproval);
    // The item is booked in (scrapped) whatever happens to the money.
    assert_eq!(world.inventory.movements().len(), 1);
}

#[tokio::test]
async fn a_receive_only_receipt_restocks_without_refunding() {
    let (world, agent) = setup();
    let return_id = authorise(
        &world,
        &agent,
        "chat-ro",
        &format!("I want to return the sweater from order #1001, it is too small. {ANNA}"),
    )
    .await;
    let before = world.messaging.delivered().len();
    let outcome = agent
        .handle_event(&receipt_event(
            &world,
            "wh-ro",
            &return_id,
            &[("l1", 1, None)],
            true,
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let decision = outcome.decision.as_ref().unwrap();
    assert!(decision.has_reason(ReasonCode::ReceiveOnly));
    assert!(decision.refund.is_none());
    assert_eq!(refund_count(&world), 0);
    assert!(world.store.refund_intents().is_empty());
    let movements = world.inventory.movements();
    assert_eq!(movements.len(), 1);
    assert_eq!(movements[0].sku.as_str(), "MER-SW-NAVY-M");
    assert_eq!(
        movements[0].disposition,
        order_agent_core::policy::RestockDisposition::Sellable
    );
    assert_eq!(world.messaging.delivered().len(), before, "no notice");
    assert!(tickets(&world).is_empty());
}

#[tokio::test]
async fn an_unknown_return_is_ticketed_and_processed_once() {
    let (world, agent) = setup();
    let event = receipt_event(
        &world,
        "wh-unknown",
        &ReturnId::new("ret-nobody-1"),
        &[("l1", 1, None)],
        false,
    );
    let outcome = agent.handle_event(&event).await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    assert!(outcome.reasons.iter().any(|r| r == "unknown_return"));
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert!(has_reason(&ticket, "unknown_return"));
    assert!(ticket.escalation.summary.contains("ret-nobody-1"));
    assert_eq!(refund_count(&world), 0);
    assert!(world.inventory.movements().is_empty());
    assert!(agent.handle_event(&event).await.duplicate);
    assert_eq!(tickets(&world).len(), 1);
}

#[tokio::test]
async fn a_refund_above_the_limit_on_receipt_is_held_and_ticketed() {
    let (world, agent) = setup();
    // Staff authorised the return of Nina's CHF 329 down jacket.
    let return_id = authorised_by_staff(
        &world,
        "ret-staff-1010",
        "ds-1010",
        "l1",
        ReturnReason::ChangedMind,
        ResolutionKind::Refund,
    )
    .await;
    let event = receipt_event(&world, "wh-big", &return_id, &[("l1", 1, None)], false);
    let outcome = agent.handle_event(&event).await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let decision = outcome.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::NeedsHuman);
    assert!(decision.has_reason(ReasonCode::AboveRefundLimit));
    assert_eq!(refund_count(&world), 0);
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert!(has_reason(&ticket, "above_refund_limit"));
    let intents = world.store.refund_intents();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].amount, chf(32110));
    assert_eq!(intents[0].state, RefundIntentState::NeedsApproval);
    assert_eq!(intents[0].approval_ticket, Some(ticket.id.clone()));
    let notices = world.messaging.delivered_to("nina.frei@example.ch");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].message.locale, Locale::De);

    // The same delivery again: recognised, nothing more.
    let again = agent.handle_event(&event).await;
    assert!(again.duplicate);
    assert!(again.actions.is_empty());
    assert_eq!(world.messaging.delivered().len(), 1);
    assert_eq!(world.store.refund_intents().len(), 1);
    assert_eq!(refund_count(&world), 0);
}

#[tokio::test]
async fn store_credit_on_receipt_is_requested_from_staff() {
    let (world, agent) = setup();
    // Claire (gold) returns her dress for store credit with the 10% bonus.
    let return_id = authorised_by_staff(
        &world,
        "ret-staff-1007",
        "ds-1007",
        "l1",
        ReturnReason::DoesNotFit,
        ResolutionKind::StoreCredit,
    )
    .await;
    let outcome = agent
        .handle_event(&receipt_event(
            &world,
            "wh-credit",
            &return_id,
            &[("l1", 1, None)],
            false,
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let decision = outcome.decision.as_ref().unwrap();
    assert_eq!(decision.outcome, Outcome::Approve);
    assert!(decision.has_reason(ReasonCode::StoreCreditBonus));
    assert!(outcome
        .actions
        .contains(&ActionTaken::StoreCreditRequested { amount: chf(11990) }));
    assert_eq!(refund_count(&world), 0, "no money to a payment");
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::Normal);
    assert!(has_reason(&ticket, "store_credit"));
    assert!(ticket.escalation.subject.contains("119.90"), "{ticket:#?}");
    assert_eq!(world.inventory.movements().len(), 1);
    let notices = world.messaging.delivered_to("claire.fontaine@example.ch");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].message.locale, Locale::Fr);
}

#[tokio::test]
async fn a_receipt_whose_order_the_oms_lost_goes_to_a_person() {
    let (world, agent) = setup();
    let return_id = authorised_by_staff(
        &world,
        "ret-staff-0404",
        "ds-0404",
        "l1",
        ReturnReason::DoesNotFit,
        ResolutionKind::Refund,
    )
    .await;
    let event = receipt_event(&world, "wh-lost", &return_id, &[("l1", 1, None)], false);
    let outcome = agent.handle_event(&event).await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    assert!(outcome.reasons.iter().any(|r| r == "unknown_order:ds-0404"));
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert!(has_reason(&ticket, "unknown_order:ds-0404"), "{ticket:#?}");
    assert!(ticket.escalation.summary.contains("ret-staff-0404"));
    assert_eq!(refund_count(&world), 0);
    assert!(agent.handle_event(&event).await.duplicate);
}

#[tokio::test]
async fn grading_after_an_ungraded_scan_in_refunds_by_the_grade() {
    // The scan-in waits for a grade; the graded receipt is a new receipt and decides the money.
    let (world, agent) = setup();
    let return_id = authorise_speaker(&world, &agent).await;
    let scanned = agent
        .handle_event(&receipt_event(
            &world,
            "wh-scan",
            &return_id,
            &[("l1", 1, None)],
            false,
        ))
        .await;
    assert!(scanned.errors.is_empty(), "{scanned:#?}");
    let graded = agent
        .handle_event(&receipt_event(
            &world,
            "wh-graded",
            &return_id,
            &[("l1", 1, Some(InspectionGrade::New))],
            false,
        ))
        .await;
    assert!(graded.errors.is_empty(), "{graded:#?}");
    assert_eq!(graded.decision.as_ref().unwrap().outcome, Outcome::Approve);
    // CHF 129 less 10% restocking and CHF 7.90 return shipping.
    assert_eq!(refund_count(&world), 1);
    assert_eq!(world.payments.all_refunds()[0].amount, chf(10820));
    assert_eq!(tickets(&world).len(), 1, "only the grading ticket");
    let intents = world.store.refund_intents();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].state, RefundIntentState::Succeeded);
    assert_eq!(world.inventory.movements().len(), 1);
    // The scan-in notice, then the refund confirmation.
    assert_eq!(
        world.messaging.delivered_to("luca.rossi@example.ch").len(),
        2
    );
    // The graded receipt redelivered: nothing more.
    let again = agent
        .handle_event(&receipt_event(
            &world,
            "wh-graded-again",
            &return_id,
            &[("l1", 1, Some(InspectionGrade::New))],
            false,
        ))
        .await;
    assert!(again.errors.is_empty(), "{again:#?}");
    assert_eq!(refund_count(&world), 1);
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_customs_hold_scan_notifies_and_tickets_once_however_often_it_comes() {
    let (world, agent) = setup();
    let scan = tracking_event(
        hours_after(now(&world), -1),
        TrackingStatus::CustomsHold,
        Some("Zollamt Basel"),
    );
    let kind = EventKind::TrackingUpdate {
        order_id: OrderId::new("ds-1018"),
        shipment_id: ShipmentId::new("s2"),
        event: scan,
    };
    let first = event(&world, "dhl-1", "carrier:dhl", kind.clone());
    let outcome = agent.handle_event(&first).await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let kinds: Vec<ExceptionKind> = outcome.exceptions.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ExceptionKind::CustomsHold]);
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.order_id, Some(OrderId::new("ds-1018")));
    assert!(has_reason(&ticket, "customs_hold"));
    let notices = world.messaging.delivered();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].message.to, "nina.frei@example.ch");
    assert_eq!(notices[0].message.channel, Channel::Email);
    assert_eq!(notices[0].message.locale, Locale::De);

    let duplicate = agent.handle_event(&first).await;
    assert!(duplicate.duplicate);

    let redelivered = agent
        .handle_event(&event(&world, "dhl-1-again", "carrier:dhl", kind))
        .await;
    assert!(!redelivered.duplicate);
    assert!(redelivered.errors.is_empty(), "{redelivered:#?}");
    assert_eq!(tickets(&world).len(), 1);
    assert_eq!(world.messaging.delivered().len(), 1);
    assert!(redelivered
        .actions
        .iter()
        .any(|a| matches!(a, ActionTaken::AlreadyDone { key } if key.starts_with("notice:"))));
}

#[tokio::test]
async fn a_failed_address_validation_notifies_and_tickets() {
    let (world, agent) = setup();
    let outcome = agent
        .handle_event(&event(
            &world,
            "oms-addr-1",
            "oms",
            EventKind::AddressValidationFailed {
                order_id: OrderId::new("ds-1014"),
                detail: "street number missing".to_owned(),
            },
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    assert_eq!(outcome.exceptions.len(), 1);
    assert_eq!(outcome.exceptions[0].kind, ExceptionKind::AddressIssue);
    let ticket = only_ticket(&world);
    assert!(has_reason(&ticket, "address_issue"));
    assert!(ticket.escalation.summary.contains("street number missing"));
    let notices = world.messaging.delivered_to("jonas.meier@example.ch");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].message.locale, Locale::De);
}

#[tokio::test]
async fn an_item_substitution_notifies_and_tickets() {
    let (world, agent) = setup();
    let outcome = agent
        .handle_event(&event(
            &world,
            "wh-sub-1",
            "warehouse:zrh-1",
            EventKind::ItemSubstituted {
                order_id: OrderId::new("ds-1012"),
                line_id: LineId::new("l1"),
                substitute_title: "Wool Scarf – Navy".to_owned(),
            },
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    assert_eq!(outcome.exceptions[0].kind, ExceptionKind::Substitution);
    let ticket = only_ticket(&world);
    assert!(has_reason(&ticket, "substitution"));
    assert!(ticket.escalation.summary.contains("Wool Scarf – Navy"));
    let notices = world.messaging.delivered_to("giulia.bernasconi@example.ch");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].message.locale, Locale::It);
}

#[tokio::test]
async fn an_upstream_cancellation_sends_nothing() {
    let (world, agent) = setup();
    let outcome = agent
        .handle_event(&event(
            &world,
            "oms-cancel-1",
            "oms",
            EventKind::OrderCancelledUpstream {
                order_id: OrderId::new("ds-1012"),
            },
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    assert!(!outcome.duplicate);
    assert!(outcome.exceptions.is_empty());
    assert!(world.messaging.delivered().is_empty());
    assert!(tickets(&world).is_empty());
    assert_eq!(refund_count(&world), 0);
}

// ---------------------------------------------------------------------------------------------
// Changes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_cancellation_after_shipping_is_denied_as_already_fulfilled() {
    let (world, agent) = setup();
    let turn = chat(
        &agent,
        "chat-c1",
        &format!("Please cancel my order #1013. {PIERRE}"),
    )
    .await;
    let Reply::ChangeDenied {
        change, reasons, ..
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    assert_eq!(*change, ChangeKind::Cancel);
    assert_eq!(reasons, &[ReasonCode::AlreadyFulfilled]);
    assert!(reasoned(&turn, "already_fulfilled"));
    assert_eq!(world.oms.calls().count(oms_ops::CANCEL_ORDER), 0);
    assert!(world.oms.cancellations().is_empty());
    assert_eq!(refund_count(&world), 0);
}

/// The demo shop plus Giulia's unfulfilled order #2001, paid CHF 50 by gift card and the rest by
/// card, with its payments at the processor.
fn world_with_gift_card_order() -> (World, Order) {
    let base = World::demo();
    let at = now(&base);
    let order = OrderBuilder::new("ds-2001")
        .number("#2001")
        .customer("c-giulia", "giulia.bernasconi@example.ch")
        .phone("+41791234509")
        .placed_at(hours_after(at, -3))
        .ship_to(address(
            "Giulia Bernasconi",
            "Viale Stazione 8",
            "6500",
            "Bellinzona",
            "CH",
        ))
        .line(
            OrderLineBuilder::apparel("l1", "Slim Chinos – 32 / Sand", 8990)
                .sku("CHN-SL-SND-32")
                .product("p-slim-chinos")
                .variant("v-slim-chinos-32"),
        )
        .line(
            OrderLineBuilder::apparel("l2", "Organic Cotton T-Shirt – M / White", 3990)
                .sku("ORG-TS-WHT-M")
                .product("p-organic-tshirt")
                .variant("v-organic-tshirt-m"),
        )
        .gift_card_minor(5000)
        .build();
    assert_eq!(order.status, OrderStatus::Unfulfilled);
    let mut orders = base.shop.orders.clone();
    orders.push(order.clone());
    let payments = FakePayments::new()
        .with_payments_of(orders.iter())
        .with_clock(base.clock.shared());
    let world = World {
        payments: Arc::new(payments),
        ..base
    };
    world.oms.insert_order(order.clone());
    (world, order)
}

#[tokio::test]
async fn cancelling_a_gift_card_and_card_order_refunds_each_tender() {
    let (world, order) = world_with_gift_card_order();
    let agent = world.agent(World::demo_policy().unwrap()).unwrap();
    let turn = chat(
        &agent,
        "chat-c2",
        &format!("Please cancel my order #2001. {GIULIA}"),
    )
    .await;
    assert_eq!(
        turn.reply,
        Reply::OrderCancelled {
            order_number: order.number.clone(),
            refund: Some(chf(12980)),
        },
        "{turn:#?}"
    );
    assert_eq!(
        world.oms.cancellations().first().map(|(id, _)| id.clone()),
        Some(order.id.clone())
    );
    let mut refunds: Vec<(String, Money)> = world
        .payments
        .all_refunds()
        .into_iter()
        .map(|r| (r.payment_id.to_string(), r.amount))
        .collect();
    refunds.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        refunds,
        [
            ("pay-ds-2001-card".to_owned(), chf(7980)),
            ("pay-ds-2001-gift".to_owned(), chf(5000)),
        ]
    );
    let tenders: Vec<Tender> = turn
        .decision
        .as_ref()
        .unwrap()
        .refund
        .as_ref()
        .unwrap()
        .tenders
        .iter()
        .map(|t| t.tender)
        .collect();
    assert!(tenders.contains(&Tender::GiftCard) && tenders.contains(&Tender::Card));
    assert!(world
        .store
        .refund_intents()
        .iter()
        .all(|i| i.state == RefundIntentState::Succeeded));
}

#[tokio::test]
async fn an_address_change_in_free_text_goes_to_staff_with_the_message() {
    let (world, agent) = setup();
    let text = format!(
        "Please deliver order #1014 to Bahnhofstrasse 1 in Zürich instead, that is my new address. {JONAS}"
    );
    let turn = chat(&agent, "chat-adr", &text).await;
    assert!(
        matches!(
            turn.reply,
            Reply::HandedToHuman {
                topic: HandoverTopic::CustomerRequest,
                ticket_reference: Some(_)
            }
        ),
        "{turn:#?}"
    );
    let ticket = only_ticket(&world);
    assert!(ticket
        .escalation
        .summary
        .contains("Bahnhofstrasse 1 in Zürich"));
    assert!(ticket.escalation.summary.contains("Identity: verified"));
    assert!(has_reason(&ticket, "handover:customer_request"));
    assert_eq!(world.oms.calls().count(oms_ops::CHANGE_SHIPPING_ADDRESS), 0);
    let order = world.oms.order_snapshot(&OrderId::new("ds-1014")).unwrap();
    assert_eq!(order.shipping_address.line1, "Marktgasse 12");
}

#[tokio::test]
async fn an_item_change_in_free_text_goes_to_staff_with_the_message() {
    let (world, agent) = setup();
    let text = format!("For order #1014 I need a different size of the sweater, M please. {JONAS}");
    let turn = chat(&agent, "chat-mod", &text).await;
    assert!(
        matches!(
            turn.reply,
            Reply::HandedToHuman {
                topic: HandoverTopic::CustomerRequest,
                ..
            }
        ),
        "{turn:#?}"
    );
    assert!(
        reasoned(&turn, "intent:modify_order_items"),
        "{:?}",
        turn.reasons
    );
    let ticket = only_ticket(&world);
    assert!(ticket
        .escalation
        .summary
        .contains("different size of the sweater"));
    assert_eq!(world.oms.calls().count(oms_ops::MODIFY_ITEMS), 0);
}

// ---------------------------------------------------------------------------------------------
// Failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_oms_outage_says_system_unavailable_and_tickets() {
    let (world, agent) = setup();
    world
        .oms
        .faults()
        .everywhere(Fault::Error(PortErrorKind::Unavailable));
    let turn = chat(
        &agent,
        "chat-down",
        &format!("Where is my order #1001? {ANNA}"),
    )
    .await;
    assert_eq!(turn.reply, Reply::SystemUnavailable, "{turn:#?}");
    assert!(reasoned(&turn, "system_unavailable"));
    assert!(
        turn.errors.iter().any(|e| e.starts_with("oms.")),
        "{:?}",
        turn.errors
    );
    let ticket = only_ticket(&world);
    assert_eq!(ticket.escalation.priority, Priority::High);
    assert!(has_reason(&ticket, "system_unavailable"));
    assert_eq!(world.messaging.delivered_to("chat-down").len(), 1);
    // No guess: nothing about the order went out.
    assert!(!turn.rendered.body.contains("Sweater"));
}

#[tokio::test]
async fn a_cancellation_refund_that_timed_out_after_succeeding_is_made_once() {
    let (world, agent) = setup();
    world
        .payments
        .faults()
        .once(payments_ops::REFUND, Fault::TimeoutAfterEffect);
    let turn = chat(
        &agent,
        "chat-c3",
        &format!("Please cancel my order #1012. {GIULIA}"),
    )
    .await;
    assert_eq!(
        turn.reply,
        Reply::OrderCancelled {
            order_number: "#1012".into(),
            refund: Some(chf(9680)),
        },
        "{turn:#?}"
    );
    assert!(turn.errors.is_empty(), "{:?}", turn.errors);
    let refunds = world.payments.all_refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount, chf(9680));
    let intents = world
        .store
        .refund_intents_of_order(&OrderId::new("ds-1012"))
        .await
        .unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].state, RefundIntentState::Succeeded);
    assert_eq!(intents[0].refund_id.as_ref(), Some(&refunds[0].id));
    assert!(tickets(&world).is_empty());
}

#[tokio::test]
async fn a_cancellation_the_oms_applied_before_timing_out_is_still_refunded() {
    let (world, agent) = setup();
    world
        .oms
        .faults()
        .once(oms_ops::CANCEL_ORDER, Fault::TimeoutAfterEffect);
    let turn = chat(
        &agent,
        "chat-c4",
        &format!("Please cancel my order #1012. {GIULIA}"),
    )
    .await;
    assert!(
        matches!(turn.reply, Reply::OrderCancelled { .. }),
        "{turn:#?}"
    );
    assert_eq!(world.oms.cancellations().len(), 1);
    let refunds = world.payments.all_refunds();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount, chf(9680));

    // Asking again refunds nothing more.
    let again = chat(&agent, "chat-c4", "Please cancel my order #1012.").await;
    assert!(
        matches!(again.reply, Reply::ChangeDenied { .. }),
        "{again:#?}"
    );
    assert_eq!(refund_count(&world), 1);
}

#[tokio::test]
async fn a_helpdesk_outage_during_a_handover_still_answers_and_says_why() {
    let (world, agent) = setup();
    world.helpdesk.faults().always(
        helpdesk_ops::OPEN_TICKET,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let turn = say(
        &agent,
        Channel::Email,
        "someone@example.org",
        "I want to speak to a real person",
    )
    .await;
    assert_eq!(
        turn.reply,
        Reply::HandedToHuman {
            topic: HandoverTopic::CustomerRequest,
            ticket_reference: None,
        },
        "{turn:#?}"
    );
    assert!(
        turn.errors
            .iter()
            .any(|e| e.contains(helpdesk_ops::OPEN_TICKET)),
        "{:?}",
        turn.errors
    );
    assert!(tickets(&world).is_empty());
    let sent = world.messaging.delivered_to("someone@example.org");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.channel, Channel::Email);
}

#[tokio::test]
async fn a_messaging_outage_still_completes_the_turn_and_saves_the_conversation() {
    let (world, agent) = setup();
    world.messaging.faults().always(
        messaging_ops::SEND,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let turn = chat(
        &agent,
        "chat-mute",
        &format!("Where is my order #1001? {ANNA}"),
    )
    .await;
    assert!(matches!(turn.reply, Reply::OrderStatus { .. }), "{turn:#?}");
    assert!(
        turn.errors.iter().any(|e| e.contains(messaging_ops::SEND)),
        "{:?}",
        turn.errors
    );
    assert!(!turn
        .actions
        .iter()
        .any(|a| matches!(a, ActionTaken::MessageSent { .. })));
    assert!(world.messaging.delivered().is_empty());
    let saved = world
        .store
        .conversation(&ConversationKey {
            channel: Channel::WebChat,
            sender: "chat-mute".to_owned(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        saved.value.verified_customer.as_ref().map(|c| c.as_str()),
        Some("c-anna")
    );

    world.messaging.faults().clear_all();
    let next = chat(&agent, "chat-mute", "Where is my order #1001?").await;
    assert!(reasoned(&next, "identity:verified_earlier"), "{next:#?}");
    assert_eq!(world.messaging.delivered().len(), 1);
}

#[tokio::test]
async fn an_interpreter_outage_asks_to_clarify() {
    let (world, agent) = setup();
    world.interpreter.faults().always(
        language_ops::INTERPRET,
        Fault::Error(PortErrorKind::Unavailable),
    );
    let turn = chat(
        &agent,
        "chat-dumb",
        &format!("Where is my order #1001? {ANNA}"),
    )
    .await;
    assert_eq!(turn.reply, Reply::Clarify, "{turn:#?}");
    assert_eq!(turn.intent, None);
    assert!(
        turn.errors
            .iter()
            .any(|e| e.contains(language_ops::INTERPRET)),
        "{:?}",
        turn.errors
    );
    assert_eq!(world.oms.calls().all().len(), 0, "nothing looked up");
    assert_eq!(world.messaging.delivered_to("chat-dumb").len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Refund status
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn after_a_refund_on_receipt_the_refund_status_lists_it() {
    let (world, agent) = setup();
    let return_id = authorise(
        &world,
        &agent,
        "chat-rs",
        &format!("I want to return the sweater from order #1001, it is too small. {ANNA}"),
    )
    .await;
    world.clock.advance(Duration::days(2));
    let outcome = agent
        .handle_event(&receipt_event(
            &world,
            "wh-rs",
            &return_id,
            &[("l1", 1, None)],
            false,
        ))
        .await;
    assert!(outcome.errors.is_empty(), "{outcome:#?}");
    let made = world.payments.all_refunds();
    assert_eq!(made.len(), 1);
    let expected = outcome
        .decision
        .as_ref()
        .unwrap()
        .refund
        .as_ref()
        .unwrap()
        .total;
    assert_eq!(made[0].amount, expected);

    let turn = chat(
        &agent,
        "chat-rs",
        // Two days later the conversation has expired: Anna proves herself again.
        &format!("Where is my refund for order #1001? {ANNA}"),
    )
    .await;
    let Reply::RefundStatus {
        order_number,
        refunds,
        return_in_progress,
    } = &turn.reply
    else {
        panic!("{turn:#?}")
    };
    assert_eq!(order_number.as_str(), "#1001");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].amount, made[0].amount);
    assert_eq!(refunds[0].state, RefundState::Succeeded);
    assert!(!return_in_progress);
    assert!(
        reasoned(&turn, "intent:refund_status"),
        "{:?}",
        turn.reasons
    );
}

#[tokio::test]
async fn staff_approve_a_held_refund_and_it_is_paid_once() {
    use order_agent_core::agent::Approval;
    let (world, agent) = setup();
    let return_id = authorised_by_staff(
        &world,
        "ret-staff-1010b",
        "ds-1010",
        "l1",
        ReturnReason::ChangedMind,
        ResolutionKind::Refund,
    )
    .await;
    let held = agent
        .handle_event(&receipt_event(
            &world,
            "wh-big-2",
            &return_id,
            &[("l1", 1, None)],
            false,
        ))
        .await;
    assert!(held.errors.is_empty(), "{held:#?}");
    let ticket = only_ticket(&world);
    let order = OrderId::new("ds-1010");
    let approved = agent
        .resolve_held_refunds(&order, Some(&ticket.id), Approval::Approve)
        .await;
    assert!(approved.errors.is_empty(), "{approved:#?}");
    assert_eq!(refund_count(&world), 1);
    assert_eq!(world.payments.all_refunds()[0].amount, chf(32110));
    let intents = world.store.refund_intents();
    assert_eq!(intents[0].state, RefundIntentState::Succeeded);
    // Approved twice (a double click, a second colleague): still one refund.
    let again = agent
        .resolve_held_refunds(&order, Some(&ticket.id), Approval::Approve)
        .await;
    assert!(
        again.reasons.iter().any(|r| r == "nothing_held"),
        "{again:#?}"
    );
    assert_eq!(refund_count(&world), 1);
    // The customer heard about the receipt, then about the refund.
    assert_eq!(
        world.messaging.delivered_to("nina.frei@example.ch").len(),
        2
    );
}

#[tokio::test]
async fn staff_decline_a_held_refund_and_no_money_moves() {
    use order_agent_core::agent::Approval;
    let (world, agent) = setup();
    let return_id = authorised_by_staff(
        &world,
        "ret-staff-1010c",
        "ds-1010",
        "l1",
        ReturnReason::ChangedMind,
        ResolutionKind::Refund,
    )
    .await;
    agent
        .handle_event(&receipt_event(
            &world,
            "wh-big-3",
            &return_id,
            &[("l1", 1, None)],
            false,
        ))
        .await;
    let order = OrderId::new("ds-1010");
    let declined = agent
        .resolve_held_refunds(&order, None, Approval::Decline)
        .await;
    assert!(declined.errors.is_empty(), "{declined:#?}");
    assert_eq!(
        world.store.refund_intents()[0].state,
        RefundIntentState::Failed
    );
    // A late approval cannot revive it.
    agent
        .resolve_held_refunds(&order, None, Approval::Approve)
        .await;
    assert_eq!(refund_count(&world), 0);
}

/// An exchange for a variant of the same price refunds nothing on receipt: the new variant's
/// price is looked up, not assumed to be zero.
#[tokio::test]
async fn an_exchange_received_refunds_only_the_price_difference() {
    let (world, agent) = setup();
    let authorisation = ReturnAuthorisation {
        id: ReturnId::new("ret-exchange-1"),
        request: ReturnRequest {
            order_id: OrderId::new("ds-1008"),
            lines: vec![ReturnLine {
                line_id: LineId::new("l1"),
                quantity: 1,
                reason: ReturnReason::DoesNotFit,
                exchange_for: Some(VariantId::new("v-merino-sweater-l")),
            }],
            resolution: ResolutionKind::Exchange,
        },
        authorised_at: days_before(now(&world), 2),
        policy_version: "2026-01-01".to_owned(),
    };
    world
        .store
        .insert_return_authorisation(&authorisation)
        .await
        .unwrap();
    let event = receipt_event(
        &world,
        "rcv-exchange-1",
        &authorisation.id,
        &[("l1", 1, None)],
        false,
    );
    let outcome = agent.handle_event(&event).await;
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    let decision = outcome.decision.expect("a decision");
    let refund = decision.refund.expect("an exchange settlement");
    assert!(!refund.total.is_positive(), "refunds {}", refund.total);
    assert_eq!(
        refund_count(&world),
        0,
        "{:?}",
        world.payments.all_refunds()
    );
}

//! The shipping flows: exception detection, the WISMO answer and the event monitor, on orders built
//! with the testkit (a Swiss shop in `Europe/Zurich`, orders placed on Monday 2 March 2026).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Utc};
use order_agent_core::domain::{
    LineId, Order, OrderId, OrderNumber, OrderStatus, ShipmentId, TrackingEvent, TrackingStatus,
};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::flows::monitor::{apply_event, monitor, MonitorOutcome};
use order_agent_core::flows::shipping::{
    ExceptionKind, ParcelStatus, Punctuality, ShipmentException,
};
use order_agent_core::flows::wismo::{
    detect_exceptions, parcel_status, wismo, WismoInput, WismoOutcome,
};
use order_agent_core::policy::Policy;
use order_agent_core::replies::{OrderSummary, Reply};
use order_agent_testkit::builders::{
    date, days_after, tracking_event, utc, zurich, OrderBuilder, OrderLineBuilder, ReceiptBuilder,
    ShipmentBuilder,
};
use order_agent_testkit::strategies::{arb_now, arb_order, arb_policy};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The defaults: delay threshold 2 days, lost after 7 days without a scan, Zürich time.
fn policy() -> Policy {
    Policy::from_toml_str(
        r#"
version = "flows-test"
currency = "CHF"
timezone = "Europe/Zurich"

[returns]
default_window_days = 30
"#,
    )
    .unwrap()
}

fn sweater() -> OrderLineBuilder {
    OrderLineBuilder::apparel("l1", "Merino Sweater – M / Navy", 8990)
}

fn speaker() -> OrderLineBuilder {
    OrderLineBuilder::electronics("l2", "Bluetooth Speaker", 12900)
}

/// A Swiss Post parcel shipped on 3 March, promised 4–`latest` March, last scanned in transit at
/// `last_scan`.
fn parcel_in_transit(id: &str, latest: u32, last_scan: DateTime<Utc>) -> ShipmentBuilder {
    ShipmentBuilder::new(id)
        .shipped_at(zurich(2026, 3, 3, 9, 0))
        .promised(date(2026, 3, 4), date(2026, 3, latest))
        .scan(last_scan, TrackingStatus::InTransit, "Härkingen")
}

/// Order `o-1` with one sweater in one parcel.
fn one_parcel(shipment: ShipmentBuilder) -> Order {
    OrderBuilder::new("o-1")
        .line(sweater())
        .shipment(shipment)
        .build()
}

fn ask(order: &Order, now: DateTime<Utc>) -> WismoOutcome {
    ask_policy(order, &policy(), now)
}

fn ask_policy(order: &Order, policy: &Policy, now: DateTime<Utc>) -> WismoOutcome {
    let input = WismoInput {
        orders: vec![order.clone()],
        order_number: None,
    };
    wismo(&input, policy, now)
}

fn parcels(outcome: &WismoOutcome) -> &[ParcelStatus] {
    match &outcome.reply {
        Reply::OrderStatus { parcels, .. } => parcels,
        other => panic!("expected an order status, got {other:?}"),
    }
}

fn unshipped(outcome: &WismoOutcome) -> &[String] {
    match &outcome.reply {
        Reply::OrderStatus {
            unshipped_items, ..
        } => unshipped_items,
        other => panic!("expected an order status, got {other:?}"),
    }
}

fn kinds(exceptions: &[ShipmentException]) -> Vec<ExceptionKind> {
    exceptions.iter().map(|e| e.kind).collect()
}

fn keys(exceptions: &[ShipmentException]) -> Vec<String> {
    exceptions
        .iter()
        .map(ShipmentException::dedup_key)
        .collect()
}

fn event(id: &str, at: DateTime<Utc>, kind: EventKind) -> Event {
    Event {
        id: id.to_owned(),
        source: "test".to_owned(),
        at,
        kind,
    }
}

fn scan_event(order: &Order, shipment: &str, scan: TrackingEvent) -> Event {
    event(
        "scan",
        scan.at,
        EventKind::TrackingUpdate {
            order_id: order.id.clone(),
            shipment_id: ShipmentId::new(shipment),
            event: scan,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Punctuality and delay
// ---------------------------------------------------------------------------------------------

#[test]
fn on_time_parcel_is_not_escalated() {
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 4, 8, 0)));
    let out = ask(&order, zurich(2026, 3, 5, 10, 0));

    assert_eq!(out.order_id, Some(OrderId::new("o-1")));
    assert!(!out.escalate);
    assert!(out.exceptions.is_empty());
    assert_eq!(out.reasons, vec!["order:only_open".to_owned()]);
    let [parcel] = parcels(&out) else {
        panic!("one parcel expected")
    };
    assert_eq!(parcel.status, TrackingStatus::InTransit);
    assert_eq!(parcel.punctuality, Punctuality::OnTime);
    assert_eq!(parcel.promised_by, Some(date(2026, 3, 6)));
    assert_eq!(parcel.eta, Some(date(2026, 3, 6)));
    assert_eq!(parcel.items, vec!["Merino Sweater – M / Navy".to_owned()]);
    assert_eq!(
        parcel.last_scan.as_ref().map(|s| s.location.as_deref()),
        Some(Some("Härkingen"))
    );
    assert!(parcel.exceptions.is_empty());
    assert!(unshipped(&out).is_empty());
}

#[test]
fn late_within_the_threshold_says_late_without_escalating() {
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 7, 8, 0)));
    let out = ask(&order, zurich(2026, 3, 8, 12, 0));

    assert_eq!(parcels(&out)[0].punctuality, Punctuality::Late { days: 2 });
    assert!(out.exceptions.is_empty());
    assert!(!out.escalate);
}

#[test]
fn delayed_beyond_the_threshold_escalates() {
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 8, 8, 0)));
    let out = ask(&order, zurich(2026, 3, 9, 12, 0));

    assert_eq!(parcels(&out)[0].punctuality, Punctuality::Late { days: 3 });
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::Delayed]);
    assert_eq!(parcels(&out)[0].exceptions, vec![ExceptionKind::Delayed]);
    assert!(out.escalate);
    assert!(out.reasons.contains(&"delayed:s1".to_owned()));
    let detail = &out.exceptions[0].detail;
    assert!(detail.contains("2026-03-06"), "{detail}");
    assert!(detail.contains("2026-03-09"), "{detail}");
    assert!(detail.contains("3 days late"), "{detail}");
    assert_eq!(
        out.exceptions[0].dedup_key(),
        "exception:o-1:s1:delayed".to_owned()
    );
}

#[test]
fn a_carrier_eta_past_the_threshold_is_a_predicted_delay() {
    let scan = zurich(2026, 3, 4, 8, 0);
    let now = zurich(2026, 3, 4, 12, 0);

    let far = one_parcel(parcel_in_transit("s1", 6, scan).carrier_eta(date(2026, 3, 10)));
    let out = ask(&far, now);
    assert_eq!(parcels(&out)[0].punctuality, Punctuality::Late { days: 4 });
    assert_eq!(parcels(&out)[0].eta, Some(date(2026, 3, 10)));
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::Delayed]);
    assert!(out.exceptions[0].detail.contains("predicted"));
    assert!(out.escalate);

    let near = one_parcel(parcel_in_transit("s1", 6, scan).carrier_eta(date(2026, 3, 8)));
    let out = ask(&near, now);
    assert_eq!(parcels(&out)[0].punctuality, Punctuality::Late { days: 2 });
    assert!(out.exceptions.is_empty());
    assert!(!out.escalate);
}

#[test]
fn delivered_late_is_late_but_no_exception() {
    let order = one_parcel(
        ShipmentBuilder::new("s1")
            .shipped_at(zurich(2026, 3, 3, 9, 0))
            .promised(date(2026, 3, 4), date(2026, 3, 6))
            .delivered_at(zurich(2026, 3, 10, 11, 0)),
    );
    let out = ask(&order, zurich(2026, 3, 11, 9, 0));

    let parcel = &parcels(&out)[0];
    assert_eq!(parcel.status, TrackingStatus::Delivered);
    assert_eq!(parcel.punctuality, Punctuality::Late { days: 4 });
    assert_eq!(parcel.delivered_at, Some(zurich(2026, 3, 10, 11, 0)));
    assert_eq!(parcel.eta, None);
    assert!(out.exceptions.is_empty());
    assert!(!out.escalate);
}

#[test]
fn late_by_the_zurich_date_but_not_by_the_utc_date() {
    // 23:30 UTC on 6 March is already 00:30 on 7 March in Zürich.
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 6, 10, 0)));
    let now = utc(2026, 3, 6, 23, 30);

    let mut zurich_policy = policy();
    zurich_policy.exceptions.delay_days = 0;
    let out = ask_policy(&order, &zurich_policy, now);
    assert_eq!(parcels(&out)[0].punctuality, Punctuality::Late { days: 1 });
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::Delayed]);
    assert!(out.escalate);

    let mut utc_policy = zurich_policy.clone();
    utc_policy.timezone = chrono_tz::UTC;
    let out = ask_policy(&order, &utc_policy, now);
    assert_eq!(parcels(&out)[0].punctuality, Punctuality::OnTime);
    assert!(out.exceptions.is_empty());
    assert!(!out.escalate);
}

// ---------------------------------------------------------------------------------------------
// Lost parcels and carrier exceptions
// ---------------------------------------------------------------------------------------------

#[test]
fn lost_after_the_carriers_days_without_a_scan_and_not_a_day_earlier() {
    let mut policy = policy();
    policy
        .exceptions
        .lost_after_days_by_carrier
        .insert("dhl".to_owned(), 3);
    let last_scan = zurich(2026, 3, 4, 8, 0);
    let dhl = one_parcel(parcel_in_transit("s1", 20, last_scan).carrier("dhl"));
    let post = one_parcel(parcel_in_transit("s1", 20, last_scan));

    // Two calendar days later, even at the very end of the day: not lost.
    let out = ask_policy(&dhl, &policy, zurich(2026, 3, 6, 23, 50));
    assert!(out.exceptions.is_empty(), "{:?}", out.exceptions);
    assert!(!out.escalate);

    // Three calendar days later: lost for DHL, not for Swiss Post (default 7 days).
    let now = zurich(2026, 3, 7, 0, 10);
    let out = ask_policy(&dhl, &policy, now);
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::Lost]);
    assert!(out.escalate);
    assert!(out.reasons.contains(&"lost:s1".to_owned()));
    let detail = &out.exceptions[0].detail;
    assert!(detail.contains("3 days"), "{detail}");
    assert!(detail.contains("Härkingen"), "{detail}");
    assert!(
        detail.contains("2026-03-04 08:00 Europe/Zurich"),
        "{detail}"
    );

    let out = ask_policy(&post, &policy, now);
    assert!(out.exceptions.is_empty());
    let out = ask_policy(&post, &policy, zurich(2026, 3, 10, 23, 0));
    assert!(out.exceptions.is_empty());
    let out = ask_policy(&post, &policy, zurich(2026, 3, 11, 7, 0));
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::Lost]);
}

#[test]
fn a_parcel_declared_lost_is_lost_without_a_separate_delay() {
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 4, 8, 0)).scan(
        zurich(2026, 3, 9, 8, 0),
        TrackingStatus::Lost,
        "",
    ));
    let out = ask(&order, zurich(2026, 3, 12, 8, 0));
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::Lost]);
    assert!(out.exceptions[0].detail.contains("declared"));
    assert!(out.escalate);
}

#[test]
fn a_label_without_a_scan_is_never_lost_only_delayed() {
    let order = one_parcel(
        ShipmentBuilder::new("s1")
            .promised(date(2026, 3, 4), date(2026, 3, 6))
            .scan(zurich(2026, 3, 2, 12, 0), TrackingStatus::LabelCreated, ""),
    );
    let out = ask(&order, zurich(2026, 3, 20, 8, 0));
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::Delayed]);
}

#[test]
fn customs_hold_escalates_and_is_not_counted_as_silence() {
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 3, 20, 0)).scan(
        zurich(2026, 3, 4, 8, 0),
        TrackingStatus::CustomsHold,
        "Basel",
    ));
    let out = ask(&order, zurich(2026, 3, 5, 8, 0));
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::CustomsHold]);
    assert!(out.escalate);
    assert!(out.reasons.contains(&"customs_hold:s1".to_owned()));
    assert!(out.exceptions[0].detail.contains("Basel"));
    assert_eq!(parcels(&out)[0].status, TrackingStatus::CustomsHold);

    // Held for two weeks: late, still held, but not "lost" (no scans are expected while held),
    // and the hold is the one exception that explains the delay.
    let out = ask(&order, zurich(2026, 3, 18, 8, 0));
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::CustomsHold]);
}

#[test]
fn a_status_the_policy_does_not_list_is_no_exception() {
    let mut policy = policy();
    policy
        .exceptions
        .exception_statuses
        .retain(|s| *s != TrackingStatus::CustomsHold);
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 3, 20, 0)).scan(
        zurich(2026, 3, 4, 8, 0),
        TrackingStatus::CustomsHold,
        "Basel",
    ));
    let out = ask_policy(&order, &policy, zurich(2026, 3, 5, 8, 0));
    assert!(out.exceptions.is_empty());
}

#[test]
fn returned_to_sender_escalates_without_a_delay() {
    let order = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 4, 8, 0)).scan(
        zurich(2026, 3, 8, 8, 0),
        TrackingStatus::ReturnedToSender,
        "Zürich-Mülligen",
    ));
    let out = ask(&order, zurich(2026, 3, 12, 8, 0));
    assert_eq!(
        kinds(&out.exceptions),
        vec![ExceptionKind::ReturnedToSender]
    );
    assert!(out.escalate);
    assert_eq!(out.reasons[1], "returned_to_sender:s1");
}

// ---------------------------------------------------------------------------------------------
// Several parcels, unshipped items
// ---------------------------------------------------------------------------------------------

fn split_order() -> Order {
    OrderBuilder::new("o-1")
        .line(sweater())
        .line(speaker())
        .shipment(
            ShipmentBuilder::new("s1")
                .line("l1", 1)
                .shipped_at(zurich(2026, 3, 3, 9, 0))
                .promised(date(2026, 3, 4), date(2026, 3, 6))
                .delivered_at(zurich(2026, 3, 5, 11, 0)),
        )
        .shipment(
            parcel_in_transit("s2", 9, zurich(2026, 3, 6, 8, 0))
                .carrier("dhl")
                .line("l2", 1),
        )
        .build()
}

#[test]
fn a_split_shipment_shows_each_parcel_and_does_not_escalate() {
    let out = ask(&split_order(), zurich(2026, 3, 7, 9, 0));

    let [first, second] = parcels(&out) else {
        panic!("two parcels expected")
    };
    assert_eq!(first.shipment_id, ShipmentId::new("s1"));
    assert_eq!(first.status, TrackingStatus::Delivered);
    assert_eq!(first.items, vec!["Merino Sweater – M / Navy".to_owned()]);
    assert_eq!(second.shipment_id, ShipmentId::new("s2"));
    assert_eq!(second.carrier, "dhl");
    assert_eq!(second.status, TrackingStatus::InTransit);
    assert_eq!(second.items, vec!["Bluetooth Speaker".to_owned()]);
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::SplitShipment]);
    assert_eq!(out.exceptions[0].shipment_id, None);
    assert!(!out.escalate);
    assert!(out.reasons.contains(&"split_shipment".to_owned()));
    assert!(unshipped(&out).is_empty());
}

#[test]
fn exceptions_come_in_shipment_order_then_kind_order() {
    let order = OrderBuilder::new("o-1")
        .line(sweater())
        .line(speaker())
        .shipment(
            parcel_in_transit("s1", 6, zurich(2026, 3, 4, 8, 0))
                .line("l1", 1)
                .scan(zurich(2026, 3, 5, 8, 0), TrackingStatus::Damaged, "Basel"),
        )
        .shipment(
            parcel_in_transit("s2", 6, zurich(2026, 3, 4, 8, 0))
                .line("l2", 1)
                .scan(zurich(2026, 3, 5, 9, 0), TrackingStatus::AddressIssue, ""),
        )
        .build();
    let now = zurich(2026, 3, 12, 8, 0);
    let found = detect_exceptions(&order, &policy(), now);
    assert_eq!(
        keys(&found),
        vec![
            "exception:o-1:s1:damaged",
            "exception:o-1:s2:address_issue",
            "exception:o-1:-:split_shipment",
        ]
    );
    assert_eq!(detect_exceptions(&order, &policy(), now), found);
    let parcel = parcel_status(&order, &order.shipments[1], &policy(), now);
    assert_eq!(parcel.exceptions, vec![ExceptionKind::AddressIssue]);
}

#[test]
fn unshipped_items_are_listed() {
    let order = OrderBuilder::new("o-1")
        .line(sweater().quantity(2))
        .line(speaker())
        .line(OrderLineBuilder::apparel("l3", "Wool Scarf", 3990))
        .shipment(parcel_in_transit("s1", 6, zurich(2026, 3, 4, 8, 0)).line("l1", 1))
        .shipment(parcel_in_transit("s2", 6, zurich(2026, 3, 4, 8, 0)).line("l2", 1))
        .build();
    let out = ask(&order, zurich(2026, 3, 5, 8, 0));
    assert_eq!(
        unshipped(&out),
        [
            "Merino Sweater – M / Navy".to_owned(),
            "Wool Scarf".to_owned()
        ]
    );
    assert_eq!(parcels(&out).len(), 2);

    let nothing_shipped = OrderBuilder::new("o-2").line(sweater()).build();
    let out = ask(&nothing_shipped, zurich(2026, 3, 5, 8, 0));
    assert!(parcels(&out).is_empty());
    assert_eq!(unshipped(&out), ["Merino Sweater – M / Navy".to_owned()]);
    assert!(!out.escalate);
}

// ---------------------------------------------------------------------------------------------
// Choosing the order
// ---------------------------------------------------------------------------------------------

/// o-a (2 March, not shipped), o-b (5 March, in transit), o-c (1 February, delivered 5 February).
fn three_orders() -> Vec<Order> {
    vec![
        OrderBuilder::new("o-a").line(sweater()).build(),
        OrderBuilder::new("o-b")
            .placed_at(zurich(2026, 3, 5, 9, 0))
            .line(speaker())
            .shipment(parcel_in_transit("s1", 9, zurich(2026, 3, 6, 8, 0)))
            .build(),
        OrderBuilder::new("o-c")
            .placed_at(zurich(2026, 2, 1, 9, 0))
            .line(OrderLineBuilder::apparel("l1", "Wool Scarf", 3990))
            .shipment(ShipmentBuilder::new("s1").delivered_days_after(
                zurich(2026, 2, 1, 9, 0),
                1,
                3,
            ))
            .build(),
    ]
}

#[test]
fn several_open_orders_ask_which_newest_first() {
    let input = WismoInput {
        orders: three_orders(),
        order_number: None,
    };
    let out = wismo(&input, &policy(), zurich(2026, 3, 7, 9, 0));
    let Reply::AskWhichOrder { candidates } = &out.reply else {
        panic!("expected a question, got {:?}", out.reply)
    };
    let numbers: Vec<&str> = candidates.iter().map(|c| c.number.as_str()).collect();
    assert_eq!(numbers, vec!["#o-b", "#o-a"]);
    assert_eq!(
        candidates[0],
        OrderSummary {
            number: OrderNumber::new("#o-b"),
            placed_at: zurich(2026, 3, 5, 9, 0),
            items: vec!["Bluetooth Speaker".to_owned()],
        }
    );
    assert_eq!(out.order_id, None);
    assert!(!out.escalate);
    assert!(out.exceptions.is_empty());
    assert_eq!(out.reasons, vec!["ask:several_open".to_owned()]);
}

#[test]
fn a_named_order_number_picks_that_order() {
    for named in ["#o-c", "o-c", " #O-C "] {
        let input = WismoInput {
            orders: three_orders(),
            order_number: Some(OrderNumber::new(named)),
        };
        let out = wismo(&input, &policy(), zurich(2026, 3, 7, 9, 0));
        assert_eq!(out.order_id, Some(OrderId::new("o-c")), "{named}");
        assert_eq!(out.reasons[0], "order:named");
        let Reply::OrderStatus { order_number, .. } = &out.reply else {
            panic!("expected a status, got {:?}", out.reply)
        };
        assert_eq!(order_number.as_str(), "#o-c");
    }

    let input = WismoInput {
        orders: three_orders(),
        order_number: Some(OrderNumber::new("#9999")),
    };
    let out = wismo(&input, &policy(), zurich(2026, 3, 7, 9, 0));
    assert_eq!(out.reply, Reply::NotVerified);
    assert_eq!(out.order_id, None);
    assert!(!out.escalate);
}

#[test]
fn one_open_order_among_old_ones_is_picked() {
    let mut orders = three_orders();
    orders.retain(|o| o.id.as_str() != "o-a");
    let input = WismoInput {
        orders,
        order_number: None,
    };
    let out = wismo(&input, &policy(), zurich(2026, 3, 7, 9, 0));
    assert_eq!(out.order_id, Some(OrderId::new("o-b")));
    assert_eq!(out.reasons[0], "order:only_open");
}

#[test]
fn with_nothing_open_the_most_recent_order_is_answered() {
    let delivered = |id: &str, placed: DateTime<Utc>| {
        OrderBuilder::new(id)
            .placed_at(placed)
            .line(sweater())
            .shipment(ShipmentBuilder::new("s1").delivered_days_after(placed, 1, 2))
            .build()
    };
    let older = delivered("o-old", zurich(2026, 1, 5, 9, 0));
    let newer = delivered("o-new", zurich(2026, 2, 5, 9, 0));
    let cancelled = OrderBuilder::new("o-x")
        .placed_at(zurich(2026, 1, 20, 9, 0))
        .line(sweater())
        .status(OrderStatus::Cancelled)
        .build();
    let input = WismoInput {
        orders: vec![older, cancelled, newer.clone()],
        order_number: None,
    };

    let out = wismo(&input, &policy(), zurich(2026, 3, 7, 9, 0));
    assert_eq!(out.order_id, Some(OrderId::new("o-new")));
    assert_eq!(out.reasons[0], "order:most_recent");

    // Delivered seven calendar days ago still counts as open; eight does not.
    let delivered_on = newer.shipments[0].delivered_at.unwrap();
    let seven = days_after(delivered_on, 7);
    assert!(order_agent_core::flows::wismo::is_open(
        &newer,
        &policy(),
        seven
    ));
    assert!(!order_agent_core::flows::wismo::is_open(
        &newer,
        &policy(),
        days_after(seven, 1)
    ));

    let none = wismo(
        &WismoInput {
            orders: Vec::new(),
            order_number: None,
        },
        &policy(),
        zurich(2026, 3, 7, 9, 0),
    );
    assert_eq!(none.reply, Reply::AskVerification { order_number: None });
}

// ---------------------------------------------------------------------------------------------
// The monitor
// ---------------------------------------------------------------------------------------------

fn in_transit_order() -> Order {
    OrderBuilder::new("o-1")
        .line(sweater())
        .shipment(parcel_in_transit("s1", 20, zurich(2026, 3, 4, 8, 0)))
        .build()
}

#[test]
fn a_delivery_scan_is_applied_once_even_when_reported_twice() {
    let order = in_transit_order();
    let scans_before = order.shipments[0].events.len();
    let delivered = tracking_event(
        zurich(2026, 3, 6, 10, 0),
        TrackingStatus::Delivered,
        Some("Zürich"),
    );
    let e = scan_event(&order, "s1", delivered.clone());
    let now = zurich(2026, 3, 6, 10, 5);

    let once = monitor(&e, &order, &policy(), now);
    let twice = monitor(&e, &once.updated_order, &policy(), now);

    for out in [&once, &twice] {
        let s = &out.updated_order.shipments[0];
        assert_eq!(s.events.len(), scans_before + 1);
        assert_eq!(s.events.last(), Some(&delivered));
        assert_eq!(s.delivered_at, Some(zurich(2026, 3, 6, 10, 0)));
        assert_eq!(out.updated_order.status, OrderStatus::Delivered);
        assert!(out.exceptions.is_empty());
        assert!(out.notices.is_empty());
    }
    assert_eq!(once.updated_order, twice.updated_order);
}

#[test]
fn a_late_scan_is_inserted_in_time_order() {
    let order = in_transit_order();
    let earlier = tracking_event(zurich(2026, 3, 3, 20, 0), TrackingStatus::InTransit, None);
    let out = monitor(
        &scan_event(&order, "s1", earlier.clone()),
        &order,
        &policy(),
        zurich(2026, 3, 5, 8, 0),
    );
    let events = &out.updated_order.shipments[0].events;
    let times: Vec<_> = events.iter().map(|e| e.at).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    assert!(events.contains(&earlier));
    // The last scan is still the later one.
    assert_eq!(
        out.updated_order.shipments[0].last_event().map(|e| e.at),
        Some(zurich(2026, 3, 4, 8, 0))
    );
}

#[test]
fn duplicate_exception_events_give_the_same_keys() {
    let order = in_transit_order();
    let hold = tracking_event(
        zurich(2026, 3, 5, 8, 0),
        TrackingStatus::CustomsHold,
        Some("Basel"),
    );
    let first = scan_event(&order, "s1", hold.clone());
    let mut redelivered = first.clone();
    redelivered.id = "scan-redelivered".to_owned();
    let now = zurich(2026, 3, 5, 9, 0);

    let once = monitor(&first, &order, &policy(), now);
    let again = monitor(&redelivered, &once.updated_order, &policy(), now);
    assert_eq!(
        keys(&once.exceptions),
        vec!["exception:o-1:s1:customs_hold"]
    );
    assert_eq!(once.exceptions, again.exceptions);
    assert_eq!(once.updated_order, again.updated_order);
    let [(exception, notice)] = once.notices.as_slice() else {
        panic!("one notice expected")
    };
    assert_eq!(exception, &once.exceptions[0]);
    let Reply::ExceptionNotice {
        order_number,
        kind,
        parcel,
    } = notice
    else {
        panic!("expected an exception notice, got {notice:?}")
    };
    assert_eq!(order_number.as_str(), "#o-1");
    assert_eq!(*kind, ExceptionKind::CustomsHold);
    assert_eq!(
        parcel.as_ref().map(|p| p.status),
        Some(TrackingStatus::CustomsHold)
    );
}

#[test]
fn an_address_validation_failure_is_an_address_issue() {
    let order = OrderBuilder::new("o-1").line(sweater()).build();
    let e = event(
        "addr-1",
        zurich(2026, 3, 2, 10, 5),
        EventKind::AddressValidationFailed {
            order_id: order.id.clone(),
            detail: "street number missing".to_owned(),
        },
    );
    let out = monitor(&e, &order, &policy(), zurich(2026, 3, 2, 10, 6));
    assert_eq!(kinds(&out.exceptions), vec![ExceptionKind::AddressIssue]);
    assert_eq!(keys(&out.exceptions), vec!["exception:o-1:-:address_issue"]);
    assert!(out.exceptions[0].detail.contains("street number missing"));
    assert!(out.exceptions[0].detail.contains("Bahnhofstrasse 21"));
    assert!(out.exceptions[0].kind.needs_ticket());
    assert_eq!(
        out.notices[0].1,
        Reply::ExceptionNotice {
            order_number: OrderNumber::new("#o-1"),
            kind: ExceptionKind::AddressIssue,
            parcel: None,
        }
    );
    assert_eq!(out.updated_order, order);
}

#[test]
fn a_substitution_names_the_line_and_is_keyed_per_line() {
    let order = OrderBuilder::new("o-1")
        .line(sweater())
        .line(speaker())
        .build();
    let substituted = |line: &str, title: &str| {
        event(
            "sub",
            zurich(2026, 3, 2, 14, 0),
            EventKind::ItemSubstituted {
                order_id: order.id.clone(),
                line_id: LineId::new(line),
                substitute_title: title.to_owned(),
            },
        )
    };
    let now = zurich(2026, 3, 2, 14, 1);
    let first = monitor(
        &substituted("l1", "Merino Sweater – M / Black"),
        &order,
        &policy(),
        now,
    );
    assert_eq!(kinds(&first.exceptions), vec![ExceptionKind::Substitution]);
    assert_eq!(first.exceptions[0].line_ids, vec![LineId::new("l1")]);
    let detail = &first.exceptions[0].detail;
    assert!(detail.contains("Merino Sweater – M / Navy"), "{detail}");
    assert!(detail.contains("Merino Sweater – M / Black"), "{detail}");

    let second = monitor(
        &substituted("l2", "Bluetooth Speaker Mini"),
        &order,
        &policy(),
        now,
    );
    assert_ne!(
        first.exceptions[0].dedup_key(),
        second.exceptions[0].dedup_key()
    );
}

#[test]
fn a_heartbeat_detects_a_silent_parcel_as_lost() {
    let order = in_transit_order();
    let tick = |at: DateTime<Utc>| event("tick", at, EventKind::Heartbeat);

    let early = zurich(2026, 3, 10, 8, 0);
    let out = monitor(&tick(early), &order, &policy(), early);
    assert!(out.exceptions.is_empty());
    assert_eq!(out.updated_order, order);

    let late = zurich(2026, 3, 11, 8, 0);
    let out = monitor(&tick(late), &order, &policy(), late);
    assert_eq!(keys(&out.exceptions), vec!["exception:o-1:s1:lost"]);
    let Reply::ExceptionNotice { kind, parcel, .. } = &out.notices[0].1 else {
        panic!("expected a notice")
    };
    assert_eq!(*kind, ExceptionKind::Lost);
    assert_eq!(
        parcel.as_ref().map(|p| p.shipment_id.clone()),
        Some(ShipmentId::new("s1"))
    );
}

#[test]
fn a_heartbeat_ignores_delivered_parcels_and_reports_only_loss_and_delay() {
    let delivered = one_parcel(
        ShipmentBuilder::new("s1")
            .shipped_at(zurich(2026, 3, 3, 9, 0))
            .promised(date(2026, 3, 4), date(2026, 3, 6))
            .delivered_at(zurich(2026, 3, 12, 11, 0)),
    );
    let now = zurich(2026, 4, 30, 8, 0);
    let tick = event("tick", now, EventKind::Heartbeat);
    assert!(monitor(&tick, &delivered, &policy(), now)
        .exceptions
        .is_empty());

    let held = one_parcel(parcel_in_transit("s1", 6, zurich(2026, 3, 3, 20, 0)).scan(
        zurich(2026, 3, 4, 8, 0),
        TrackingStatus::CustomsHold,
        "Basel",
    ));
    // The hold explains the delay and was reported when it happened; a tick adds nothing.
    let out = monitor(&tick, &held, &policy(), now);
    assert!(out.exceptions.is_empty());
}

#[test]
fn a_second_shipment_is_added_once_and_reports_the_split() {
    let order = OrderBuilder::new("o-1")
        .line(sweater())
        .line(speaker())
        .shipment(parcel_in_transit("s1", 9, zurich(2026, 3, 4, 8, 0)).line("l1", 1))
        .build();
    assert_eq!(order.status, OrderStatus::PartiallyFulfilled);
    let second = parcel_in_transit("s2", 9, zurich(2026, 3, 5, 8, 0))
        .line("l2", 1)
        .build();
    let e = event(
        "ship-2",
        zurich(2026, 3, 5, 8, 0),
        EventKind::ShipmentCreated {
            order_id: order.id.clone(),
            shipment: second.clone(),
        },
    );
    let now = zurich(2026, 3, 5, 9, 0);

    let once = monitor(&e, &order, &policy(), now);
    let twice = monitor(&e, &once.updated_order, &policy(), now);
    assert_eq!(once.updated_order.shipments.len(), 2);
    assert_eq!(once.updated_order.shipments[1], second);
    assert_eq!(once.updated_order.status, OrderStatus::Fulfilled);
    assert_eq!(
        keys(&once.exceptions),
        vec!["exception:o-1:-:split_shipment"]
    );
    assert!(!once.exceptions[0].kind.needs_ticket());
    assert_eq!(once.updated_order, twice.updated_order);
    assert_eq!(once.exceptions, twice.exceptions);
}

#[test]
fn events_that_report_nothing() {
    let order = in_transit_order();
    let now = zurich(2026, 3, 5, 9, 0);

    let receipt = event(
        "rcv",
        now,
        EventKind::ReturnReceived {
            receipt: ReceiptBuilder::new("rma-1").line("l1", 1, None).build(),
        },
    );
    let out = monitor(&receipt, &order, &policy(), now);
    assert!(out.exceptions.is_empty() && out.notices.is_empty());
    assert_eq!(out.updated_order, order);

    let elsewhere = event(
        "other",
        now,
        EventKind::AddressValidationFailed {
            order_id: OrderId::new("o-2"),
            detail: "no such street".to_owned(),
        },
    );
    let out = monitor(&elsewhere, &order, &policy(), now);
    assert!(out.exceptions.is_empty());
    assert_eq!(out.updated_order, order);

    let unknown_parcel = scan_event(
        &order,
        "s9",
        tracking_event(now, TrackingStatus::Damaged, None),
    );
    let out = monitor(&unknown_parcel, &order, &policy(), now);
    assert!(out.exceptions.is_empty());
    assert_eq!(out.updated_order, order);

    let cancelled = event(
        "cx",
        now,
        EventKind::OrderCancelledUpstream {
            order_id: order.id.clone(),
        },
    );
    let out = monitor(&cancelled, &order, &policy(), now);
    assert!(out.exceptions.is_empty());
    assert_eq!(out.updated_order.status, OrderStatus::Cancelled);
}

#[test]
fn events_round_trip_through_json() {
    let order = in_transit_order();
    let at = zurich(2026, 3, 5, 9, 0);
    let kinds = vec![
        EventKind::TrackingUpdate {
            order_id: order.id.clone(),
            shipment_id: ShipmentId::new("s1"),
            event: tracking_event(at, TrackingStatus::InTransit, Some("Basel")),
        },
        EventKind::ShipmentCreated {
            order_id: order.id.clone(),
            shipment: order.shipments[0].clone(),
        },
        EventKind::AddressValidationFailed {
            order_id: order.id.clone(),
            detail: "postcode unknown".to_owned(),
        },
        EventKind::ItemSubstituted {
            order_id: order.id.clone(),
            line_id: LineId::new("l1"),
            substitute_title: "Sweater".to_owned(),
        },
        EventKind::OrderCancelledUpstream {
            order_id: order.id.clone(),
        },
        EventKind::ReturnReceived {
            receipt: ReceiptBuilder::new("rma-1").build(),
        },
        EventKind::Heartbeat,
    ];
    let names = [
        "tracking_update",
        "shipment_created",
        "address_validation_failed",
        "item_substituted",
        "order_cancelled_upstream",
        "return_received",
        "heartbeat",
    ];
    for (kind, name) in kinds.into_iter().zip(names) {
        let e = event("e-1", at, kind);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"]["type"], name);
        assert_eq!(json["source"], "test");
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        let expects_order = !matches!(name, "heartbeat" | "return_received");
        assert_eq!(e.order_id().is_some(), expects_order, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Property: the monitor is idempotent
// ---------------------------------------------------------------------------------------------

const STATUSES: [TrackingStatus; 14] = [
    TrackingStatus::LabelCreated,
    TrackingStatus::PickedUp,
    TrackingStatus::InTransit,
    TrackingStatus::OutForDelivery,
    TrackingStatus::Delivered,
    TrackingStatus::DeliveryAttemptFailed,
    TrackingStatus::AvailableForPickup,
    TrackingStatus::CustomsHold,
    TrackingStatus::AddressIssue,
    TrackingStatus::Damaged,
    TrackingStatus::Lost,
    TrackingStatus::ReturnedToSender,
    TrackingStatus::Exception,
    TrackingStatus::Unknown,
];

fn arb_scan(base: DateTime<Utc>) -> BoxedStrategy<TrackingEvent> {
    (
        prop::sample::select(STATUSES.to_vec()),
        0i64..(40 * 86_400),
        prop::option::of(prop::sample::select(vec!["Basel", "Härkingen"])),
    )
        .prop_map(move |(status, secs, location)| {
            tracking_event(base + chrono::Duration::seconds(secs), status, location)
        })
        .boxed()
}

/// Any event about `order` (or occasionally another order or an unknown parcel).
fn arb_event_for(order: &Order) -> BoxedStrategy<Event> {
    let base = order.placed_at;
    let order_id = order.id.clone();
    let mut shipment_ids: Vec<String> = order.shipments.iter().map(|s| s.id.to_string()).collect();
    shipment_ids.push("s-new".to_owned());
    let line_ids: Vec<String> = order.lines.iter().map(|l| l.id.to_string()).collect();
    let existing = order.shipments.clone();
    let ids = shipment_ids.clone();

    let tracking = (prop::sample::select(shipment_ids), arb_scan(base))
        .prop_map({
            let order_id = order_id.clone();
            move |(shipment, scan)| EventKind::TrackingUpdate {
                order_id: order_id.clone(),
                shipment_id: ShipmentId::new(shipment),
                event: scan,
            }
        })
        .boxed();
    let created = (
        prop::sample::select(ids),
        prop::sample::select(line_ids.clone()),
        prop::collection::vec(arb_scan(base), 0..4),
        prop::option::of(0i64..30),
    )
        .prop_map({
            let order_id = order_id.clone();
            move |(id, line, scans, eta)| {
                let mut s = existing
                    .iter()
                    .find(|s| s.id.as_str() == id)
                    .cloned()
                    .unwrap_or_else(|| {
                        ShipmentBuilder::new(&id)
                            .line(&line, 1)
                            .promised(date(2026, 1, 1), base.date_naive())
                            .build()
                    });
                s.events.extend(scans);
                s.events.sort_by_key(|e| e.at);
                s.carrier_eta = eta.map(|d| base.date_naive() + chrono::Days::new(d as u64));
                EventKind::ShipmentCreated {
                    order_id: order_id.clone(),
                    shipment: s,
                }
            }
        })
        .boxed();
    let substituted = prop::sample::select(line_ids)
        .prop_map({
            let order_id = order_id.clone();
            move |line| EventKind::ItemSubstituted {
                order_id: order_id.clone(),
                line_id: LineId::new(line),
                substitute_title: "Substitute".to_owned(),
            }
        })
        .boxed();
    let simple = prop::sample::select(vec![
        EventKind::Heartbeat,
        EventKind::AddressValidationFailed {
            order_id: order_id.clone(),
            detail: "street number missing".to_owned(),
        },
        EventKind::OrderCancelledUpstream {
            order_id: order_id.clone(),
        },
        EventKind::OrderCancelledUpstream {
            order_id: OrderId::new("another-order"),
        },
        EventKind::ReturnReceived {
            receipt: ReceiptBuilder::new("rma-1").line("l0", 1, None).build(),
        },
    ])
    .boxed();
    (
        prop_oneof![4 => tracking, 2 => created, 1 => substituted, 2 => simple],
        0i64..(60 * 86_400),
    )
        .prop_map(move |(kind, secs)| Event {
            id: format!("evt-{secs}"),
            source: "proptest".to_owned(),
            at: base + chrono::Duration::seconds(secs),
            kind,
        })
        .boxed()
}

fn arb_monitor_case() -> BoxedStrategy<(Order, Event, Policy, DateTime<Utc>)> {
    arb_order(1..4)
        .prop_flat_map(|order| {
            let event = arb_event_for(&order);
            let now = arb_now(&order);
            (Just(order), event, arb_policy(), now)
        })
        .boxed()
}

fn no_duplicate_scans(outcome: &MonitorOutcome) -> bool {
    outcome.updated_order.shipments.iter().all(|s| {
        s.events.iter().enumerate().all(|(i, a)| {
            !s.events[..i]
                .iter()
                .any(|b| a.at == b.at && a.status == b.status && a.carrier_code == b.carrier_code)
        })
    })
}

proptest! {
    #[test]
    fn the_monitor_is_idempotent((order, event, policy, now) in arb_monitor_case()) {
        let once = monitor(&event, &order, &policy, now);
        let twice = monitor(&event, &once.updated_order, &policy, now);

        prop_assert_eq!(&once.updated_order, &twice.updated_order);
        prop_assert_eq!(keys(&once.exceptions), keys(&twice.exceptions));
        prop_assert_eq!(&once.exceptions, &twice.exceptions);
        prop_assert_eq!(&once.notices, &twice.notices);
        prop_assert_eq!(apply_event(&order, &event), once.updated_order.clone());
        prop_assert!(no_duplicate_scans(&once));
        prop_assert_eq!(once.notices.len(), once.exceptions.len());
        for (exception, notice) in &once.notices {
            let is_notice = matches!(
                notice,
                Reply::ExceptionNotice { kind, .. } if *kind == exception.kind
            );
            prop_assert!(is_notice);
        }
        // Every key is unique within one outcome, so "ticket each key once" loses nothing.
        let mut unique = keys(&once.exceptions);
        unique.sort();
        unique.dedup();
        prop_assert_eq!(unique.len(), once.exceptions.len());
    }

    #[test]
    fn detection_is_deterministic_and_split_is_never_escalated(
        (order, _event, policy, now) in arb_monitor_case()
    ) {
        let found = detect_exceptions(&order, &policy, now);
        prop_assert_eq!(&found, &detect_exceptions(&order, &policy, now));
        let input = WismoInput { orders: vec![order.clone()], order_number: None };
        let out = wismo(&input, &policy, now);
        prop_assert_eq!(&out.exceptions, &found);
        prop_assert_eq!(
            out.escalate,
            found.iter().any(|e| e.kind != ExceptionKind::SplitShipment)
        );
        if let Reply::OrderStatus { parcels, .. } = &out.reply {
            prop_assert_eq!(parcels.len(), order.shipments.len());
        } else {
            prop_assert!(false, "one order is always answered");
        }
    }
}

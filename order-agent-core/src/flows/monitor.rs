//! The proactive monitor: one [`Event`] and the order it concerns in, the exceptions to ticket,
//! the notices to send and the updated order out.
//!
//! The monitor is idempotent: the same event applied twice gives the same order as applying it
//! once, and the same exceptions with the same [`ShipmentException::dedup_key`]s, so the runtime
//! can notify and ticket each key once however often an event is redelivered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Order, OrderStatus, Shipment, ShipmentId, TrackingEvent, TrackingStatus};
use crate::flows::events::{Event, EventKind};
use crate::flows::shipping::{ExceptionKind, ShipmentException};
use crate::flows::wismo::{detect_exceptions, is_delivered, parcel_status};
use crate::policy::Policy;
use crate::replies::Reply;

/// What the monitor decided about one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorOutcome {
    /// The exceptions the event reveals, each with its [`ShipmentException::dedup_key`]; the
    /// runtime notifies the customer and tickets (when [`ExceptionKind::needs_ticket`]) each key
    /// once, ever.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ShipmentException>,
    /// One proactive [`Reply::ExceptionNotice`] per exception, in the same order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<(ShipmentException, Reply)>,
    /// The order with the event applied.
    pub updated_order: Order,
}

/// Whether two scans are the same report: same time, status and carrier code.
fn same_scan(a: &TrackingEvent, b: &TrackingEvent) -> bool {
    a.at == b.at && a.status == b.status && a.carrier_code == b.carrier_code
}

/// The earlier of two optional instants.
fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Records a scan on a parcel: kept in time order, never twice; a delivery scan sets the delivery
/// time and any scan after hand-over the ship time (the earliest one known wins for both).
fn record_scan(shipment: &mut Shipment, scan: &TrackingEvent) {
    if !shipment.events.iter().any(|e| same_scan(e, scan)) {
        shipment.events.push(scan.clone());
        // Stable, so scans at the same instant keep their arrival order.
        shipment.events.sort_by_key(|e| e.at);
    }
    if scan.status == TrackingStatus::Delivered {
        shipment.delivered_at = earliest(shipment.delivered_at, Some(scan.at));
    }
    if !matches!(
        scan.status,
        TrackingStatus::LabelCreated | TrackingStatus::Unknown
    ) {
        shipment.shipped_at = earliest(shipment.shipped_at, Some(scan.at));
    }
}

/// Adds a shipment, or merges a re-sent one into the known one: the new description wins where it
/// says something, scans are merged, the earliest ship and delivery times are kept.
fn upsert_shipment(order: &mut Order, new: &Shipment) {
    let position = order.shipments.iter().position(|s| s.id == new.id);
    let mut merged = match position.and_then(|i| order.shipments.get(i)) {
        Some(old) => Shipment {
            id: new.id.clone(),
            carrier: new.carrier.clone(),
            tracking_number: new
                .tracking_number
                .clone()
                .or_else(|| old.tracking_number.clone()),
            lines: if new.lines.is_empty() {
                old.lines.clone()
            } else {
                new.lines.clone()
            },
            promised: new.promised.or(old.promised),
            shipped_at: earliest(old.shipped_at, new.shipped_at),
            delivered_at: earliest(old.delivered_at, new.delivered_at),
            carrier_eta: new.carrier_eta.or(old.carrier_eta),
            events: old.events.clone(),
        },
        None => Shipment {
            events: Vec::new(),
            ..new.clone()
        },
    };
    for scan in &new.events {
        record_scan(&mut merged, scan);
    }
    match position.and_then(|i| order.shipments.get_mut(i)) {
        Some(slot) => *slot = merged,
        None => order.shipments.push(merged),
    }
}

/// How far an order has got in fulfilment; `None` for states shipments never change.
fn fulfilment_rank(status: OrderStatus) -> Option<u8> {
    match status {
        OrderStatus::Pending => Some(0),
        OrderStatus::Unfulfilled => Some(1),
        OrderStatus::PartiallyFulfilled => Some(2),
        OrderStatus::Fulfilled => Some(3),
        OrderStatus::Delivered => Some(4),
        OrderStatus::Cancelled | OrderStatus::Closed => None,
    }
}

/// The status the shipments show: delivered when every unit arrived, fulfilled when every unit
/// left, partially fulfilled when some did; `None` when nothing left yet.
fn shipped_status(order: &Order) -> Option<OrderStatus> {
    let units = |pick: &dyn Fn(&Shipment) -> bool, line: &crate::domain::OrderLine| {
        order
            .shipments
            .iter()
            .filter(|s| pick(s))
            .flat_map(|s| &s.lines)
            .filter(|l| l.line_id == line.id)
            .fold(0u32, |acc, l| acc.saturating_add(l.quantity))
    };
    let left = |s: &Shipment| s.shipped_at.is_some() || is_delivered(s);
    let arrived = |s: &Shipment| is_delivered(s);
    let any_left = order.lines.iter().any(|l| units(&left, l) > 0);
    if !any_left {
        return None;
    }
    let all =
        |pick: &dyn Fn(&Shipment) -> bool| order.lines.iter().all(|l| units(pick, l) >= l.quantity);
    Some(if all(&arrived) {
        OrderStatus::Delivered
    } else if all(&left) {
        OrderStatus::Fulfilled
    } else {
        OrderStatus::PartiallyFulfilled
    })
}

/// Moves the order's status forward to what its shipments show; never backward, and never out of
/// cancelled or closed.
fn advance_status(order: &mut Order) {
    let Some(shown) = shipped_status(order) else {
        return;
    };
    if let (Some(current), Some(next)) = (fulfilment_rank(order.status), fulfilment_rank(shown)) {
        if next > current {
            order.status = shown;
        }
    }
}

/// `order` with `event` applied. Scans are recorded once, in time order (see [`monitor`]); a
/// shipment is added or merged; an upstream cancellation cancels. Events that change nothing the
/// order holds (address validation, substitution, return receipt, heartbeat) return it unchanged,
/// as does an event about another order or about a parcel the order does not have.
pub fn apply_event(order: &Order, event: &Event) -> Order {
    let mut updated = order.clone();
    if event.order_id().is_some_and(|id| id != &order.id) {
        return updated;
    }
    match &event.kind {
        EventKind::TrackingUpdate {
            shipment_id,
            event: scan,
            ..
        } => {
            if let Some(shipment) = updated.shipments.iter_mut().find(|s| &s.id == shipment_id) {
                record_scan(shipment, scan);
                advance_status(&mut updated);
            }
        }
        EventKind::ShipmentCreated { shipment, .. } => {
            upsert_shipment(&mut updated, shipment);
            advance_status(&mut updated);
        }
        EventKind::OrderCancelledUpstream { .. } => updated.status = OrderStatus::Cancelled,
        _ => {}
    }
    updated
}

/// Whether `exception` is about `shipment`.
fn concerns(exception: &ShipmentException, shipment: &ShipmentId) -> bool {
    exception.shipment_id.as_ref() == Some(shipment)
}

/// Reacts to one event about `order`.
///
/// # Behavior
///
/// - The event is applied first ([`apply_event`]); exceptions are detected on the updated order
///   with the rules of [`crate::flows::wismo`], at `now`.
/// - `tracking_update`: the scan is appended in time order unless the parcel already has a scan
///   with the same time, status and carrier code; a delivery scan sets the delivery time. Reports
///   the exceptions of that parcel (none once it is delivered, even late).
/// - `shipment_created`: adds the parcel (or merges a re-sent one). Reports its exceptions, and a
///   split shipment when the order now has more than one parcel.
/// - `address_validation_failed`: an address issue on the order (no parcel), with the validator's
///   detail.
/// - `item_substituted`: a substitution naming the line and its substitute.
/// - `heartbeat`: re-checks every parcel not yet delivered for loss and delay, so silence is
///   noticed without a new event.
/// - `order_cancelled_upstream`: the order becomes cancelled; nothing is reported.
/// - `return_received`: nothing is reported and the order is unchanged; the runtime MUST route it
///   to the receipt flow, which decides the refund.
///
/// The caller MUST pass the order the event names ([`Event::order_id`]); for an event naming
/// another order nothing is reported and the order is returned unchanged. A tracking update for a
/// parcel the order does not know is likewise ignored: the runtime should fetch the order again
/// (a `shipment_created` event may be late).
///
/// Idempotent: applying the outcome's `updated_order` the same event again gives the same order
/// and the same exceptions.
pub fn monitor(
    event: &Event,
    order: &Order,
    policy: &Policy,
    now: DateTime<Utc>,
) -> MonitorOutcome {
    let updated = apply_event(order, event);
    let exceptions = if event.order_id().is_some_and(|id| id != &order.id) {
        Vec::new()
    } else {
        exceptions_for(event, &updated, policy, now)
    };
    let notices = exceptions
        .iter()
        .map(|e| (e.clone(), notice(e, &updated, policy, now)))
        .collect();
    MonitorOutcome {
        exceptions,
        notices,
        updated_order: updated,
    }
}

/// The exceptions `event` reveals on the already updated `order`.
fn exceptions_for(
    event: &Event,
    order: &Order,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<ShipmentException> {
    match &event.kind {
        EventKind::TrackingUpdate { shipment_id, .. } => detect_exceptions(order, policy, now)
            .into_iter()
            .filter(|e| concerns(e, shipment_id))
            .collect(),
        EventKind::ShipmentCreated { shipment, .. } => detect_exceptions(order, policy, now)
            .into_iter()
            .filter(|e| concerns(e, &shipment.id) || e.kind == ExceptionKind::SplitShipment)
            .collect(),
        EventKind::Heartbeat => {
            let pending: Vec<&ShipmentId> = order
                .shipments
                .iter()
                .filter(|s| !is_delivered(s))
                .map(|s| &s.id)
                .collect();
            detect_exceptions(order, policy, now)
                .into_iter()
                .filter(|e| matches!(e.kind, ExceptionKind::Lost | ExceptionKind::Delayed))
                .filter(|e| pending.iter().any(|id| concerns(e, id)))
                .collect()
        }
        EventKind::AddressValidationFailed { detail, .. } => vec![ShipmentException {
            kind: ExceptionKind::AddressIssue,
            order_id: order.id.clone(),
            shipment_id: None,
            line_ids: Vec::new(),
            detail: format!(
                "The shipping address of order {} ({}, {} {}, {}) failed validation: {detail}.",
                order.number,
                order.shipping_address.line1,
                order.shipping_address.postcode,
                order.shipping_address.city,
                order.shipping_address.country,
            ),
        }],
        EventKind::ItemSubstituted {
            line_id,
            substitute_title,
            ..
        } => {
            let original = order.line(line_id).map_or_else(
                || "a line not on the order".to_owned(),
                |l| format!("`{}`", l.title),
            );
            vec![ShipmentException {
                kind: ExceptionKind::Substitution,
                order_id: order.id.clone(),
                shipment_id: None,
                line_ids: vec![line_id.clone()],
                detail: format!(
                    "Line {line_id} of order {} ({original}) was substituted by \
                     `{substitute_title}` because it was out of stock.",
                    order.number
                ),
            }]
        }
        _ => Vec::new(),
    }
}

/// The proactive notice for `exception`, with the parcel's status when one is concerned.
fn notice(
    exception: &ShipmentException,
    order: &Order,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Reply {
    let parcel = exception
        .shipment_id
        .as_ref()
        .and_then(|id| order.shipments.iter().find(|s| &s.id == id))
        .map(|s| parcel_status(order, s, policy, now));
    Reply::ExceptionNotice {
        order_number: order.number.clone(),
        kind: exception.kind,
        parcel,
    }
}

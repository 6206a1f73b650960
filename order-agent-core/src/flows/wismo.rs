//! "Where is my order?": how each parcel stands against its promise, which shipping exceptions it
//! has, and the WISMO flow that answers a customer with one [`Reply`].
//!
//! Everything here is pure: the runtime passes `now`, and it merges fresh carrier tracking into
//! [`Order::shipments`] (each [`Shipment::events`]) before calling, so the answer reflects the
//! carrier's latest scans without this module doing any I/O.
//!
//! # Detection rules
//!
//! Dates are calendar dates in the policy's time zone ([`Policy::timezone`]); "today" is `now`
//! there. Per shipment, in the order of [`Order::shipments`]:
//!
//! - **Delayed**: the parcel is not delivered, not lost and not returned to the sender, it has a
//!   promised window, and either today or the carrier's ETA lies more than
//!   [`ExceptionPolicy::delay_days`](crate::policy::ExceptionPolicy::delay_days) days after the
//!   promised latest date (an ETA that far out is a predicted delay).
//! - **Lost**: the current status is `lost`; or the parcel is in a state that expects further
//!   scans (picked up, in transit, out for delivery, delivery attempt failed, unknown) and the last
//!   scan is at least [`lost_after_days`](crate::policy::ExceptionPolicy::lost_after_days) calendar
//!   days old for its carrier.
//! - **Customs hold, address issue, damaged, returned to sender, carrier exception**: the current
//!   status is listed in
//!   [`exception_statuses`](crate::policy::ExceptionPolicy::exception_statuses); `exception` and
//!   any other listed status map to a carrier exception, `delivered` is never one.
//!
//! Per order, after the shipments' exceptions: **split shipment** once when the order has more
//! than one shipment (informational, no ticket).
//!
//! Within one shipment exceptions come in [`ExceptionKind`] order, each kind at most once.
//! A parcel delivered after its promise is [`Punctuality::Late`] but no exception.

use std::cmp::Reverse;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::domain::{LineId, Order, OrderId, OrderNumber, OrderStatus, Shipment, TrackingStatus};
use crate::flows::shipping::{
    ExceptionKind, LastScan, ParcelStatus, Punctuality, ShipmentException,
};
use crate::policy::Policy;
use crate::replies::{OrderSummary, Reply};

/// An order delivered this many calendar days ago or fewer still counts as open for WISMO.
pub const RECENTLY_DELIVERED_DAYS: i64 = 7;

// ---------------------------------------------------------------------------------------------
// Parcel status and exception detection
// ---------------------------------------------------------------------------------------------

/// `at` as a calendar date in `tz`.
fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// `at` as a wall-clock time in `tz`, for staff: `2026-03-04 15:00 Europe/Zurich`.
fn local_time(at: DateTime<Utc>, tz: Tz) -> String {
    format!(
        "{} {}",
        at.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
        tz.name()
    )
}

/// Whole calendar days from `from` to `to` (negative when `to` is earlier).
fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    to.signed_duration_since(from).num_days()
}

/// Statuses the parcel passes through on its way to delivery.
fn is_progress(status: TrackingStatus) -> bool {
    matches!(
        status,
        TrackingStatus::LabelCreated
            | TrackingStatus::PickedUp
            | TrackingStatus::InTransit
            | TrackingStatus::OutForDelivery
            | TrackingStatus::DeliveryAttemptFailed
            | TrackingStatus::AvailableForPickup
            | TrackingStatus::Unknown
    )
}

/// Statuses in which the carrier has the parcel and further scans are expected, so a long
/// silence means it may be lost. A parcel waiting at a pickup point or held for a known reason
/// is not expected to be scanned.
fn expects_scans(status: TrackingStatus) -> bool {
    matches!(
        status,
        TrackingStatus::PickedUp
            | TrackingStatus::InTransit
            | TrackingStatus::OutForDelivery
            | TrackingStatus::DeliveryAttemptFailed
            | TrackingStatus::Unknown
    )
}

/// The status to go by: the last scan's, except that a delivery time recorded by the OMS wins
/// over scans that merely lag behind (a post-delivery exception such as `damaged` is kept).
pub(crate) fn effective_status(shipment: &Shipment) -> TrackingStatus {
    let status = shipment.status();
    if shipment.delivered_at.is_some() && is_progress(status) {
        TrackingStatus::Delivered
    } else {
        status
    }
}

/// When the parcel was delivered: the recorded time, else the first delivery scan.
fn delivered_at(shipment: &Shipment) -> Option<DateTime<Utc>> {
    shipment.delivered_at.or_else(|| {
        shipment
            .events
            .iter()
            .filter(|e| e.status == TrackingStatus::Delivered)
            .map(|e| e.at)
            .min()
    })
}

/// Whether the parcel counts as delivered.
pub(crate) fn is_delivered(shipment: &Shipment) -> bool {
    effective_status(shipment) == TrackingStatus::Delivered
}

/// The snake_case name of an exception kind, as in its JSON form and in reason strings.
pub fn kind_name(kind: ExceptionKind) -> &'static str {
    match kind {
        ExceptionKind::Delayed => "delayed",
        ExceptionKind::Lost => "lost",
        ExceptionKind::CustomsHold => "customs_hold",
        ExceptionKind::AddressIssue => "address_issue",
        ExceptionKind::Damaged => "damaged",
        ExceptionKind::ReturnedToSender => "returned_to_sender",
        ExceptionKind::CarrierException => "carrier_exception",
        ExceptionKind::SplitShipment => "split_shipment",
        ExceptionKind::Substitution => "substitution",
    }
}

/// A tracking status in plain words: `in transit`.
fn status_words(status: TrackingStatus) -> &'static str {
    match status {
        TrackingStatus::LabelCreated => "label created",
        TrackingStatus::PickedUp => "picked up",
        TrackingStatus::InTransit => "in transit",
        TrackingStatus::OutForDelivery => "out for delivery",
        TrackingStatus::Delivered => "delivered",
        TrackingStatus::DeliveryAttemptFailed => "delivery attempt failed",
        TrackingStatus::AvailableForPickup => "available for pickup",
        TrackingStatus::CustomsHold => "held by customs",
        TrackingStatus::AddressIssue => "address problem",
        TrackingStatus::Damaged => "damaged",
        TrackingStatus::Lost => "lost",
        TrackingStatus::ReturnedToSender => "returned to sender",
        TrackingStatus::Exception => "carrier exception",
        TrackingStatus::Unknown => "unrecognised carrier status",
    }
}

/// The exception a status stands for, when the policy lists it.
fn status_exception(status: TrackingStatus) -> Option<ExceptionKind> {
    match status {
        TrackingStatus::Delivered => None,
        TrackingStatus::Lost => Some(ExceptionKind::Lost),
        TrackingStatus::CustomsHold => Some(ExceptionKind::CustomsHold),
        TrackingStatus::AddressIssue => Some(ExceptionKind::AddressIssue),
        TrackingStatus::Damaged => Some(ExceptionKind::Damaged),
        TrackingStatus::ReturnedToSender => Some(ExceptionKind::ReturnedToSender),
        _ => Some(ExceptionKind::CarrierException),
    }
}

/// `parcel s1 (swiss-post, tracking 99.60.s1)`.
fn parcel_words(shipment: &Shipment) -> String {
    match &shipment.tracking_number {
        Some(number) => format!(
            "parcel {} ({}, tracking {})",
            shipment.id, shipment.carrier, number
        ),
        None => format!(
            "parcel {} ({}, no tracking number yet)",
            shipment.id, shipment.carrier
        ),
    }
}

/// `1 day` / `3 days`.
fn days_words(days: i64) -> String {
    if days == 1 {
        "1 day".to_owned()
    } else {
        format!("{days} days")
    }
}

/// Everything about one parcel that both the status and the detection need.
struct ParcelView<'a> {
    shipment: &'a Shipment,
    tz: Tz,
    today: NaiveDate,
    status: TrackingStatus,
    delivered_at: Option<DateTime<Utc>>,
    promised_by: Option<NaiveDate>,
}

impl<'a> ParcelView<'a> {
    fn new(shipment: &'a Shipment, policy: &Policy, now: DateTime<Utc>) -> Self {
        let status = effective_status(shipment);
        ParcelView {
            shipment,
            tz: policy.timezone,
            today: local_date(now, policy.timezone),
            status,
            delivered_at: if status == TrackingStatus::Delivered {
                delivered_at(shipment)
            } else {
                None
            },
            promised_by: shipment.promised.map(|w| w.latest),
        }
    }

    fn delivered(&self) -> bool {
        self.status == TrackingStatus::Delivered
    }

    /// Days the parcel is late by today's date alone, when not delivered.
    fn days_late_today(&self, latest: NaiveDate) -> i64 {
        days_between(latest, self.today)
    }

    fn punctuality(&self) -> Punctuality {
        let Some(latest) = self.promised_by else {
            return Punctuality::NoPromise;
        };
        let expected = match self.delivered_at {
            Some(at) => local_date(at, self.tz),
            // Not delivered: it cannot arrive before today, nor (as far as the carrier knows)
            // before its ETA.
            None => self
                .shipment
                .carrier_eta
                .map_or(self.today, |eta| eta.max(self.today)),
        };
        let days = days_between(latest, expected);
        if days > 0 {
            Punctuality::Late { days }
        } else {
            Punctuality::OnTime
        }
    }

    fn exception(&self, order: &Order, kind: ExceptionKind, detail: String) -> ShipmentException {
        ShipmentException {
            kind,
            order_id: order.id.clone(),
            shipment_id: Some(self.shipment.id.clone()),
            line_ids: Vec::new(),
            detail,
        }
    }

    fn delayed(&self, order: &Order, policy: &Policy) -> Option<ShipmentException> {
        if self.delivered()
            || matches!(
                self.status,
                TrackingStatus::Lost | TrackingStatus::ReturnedToSender
            )
        {
            return None;
        }
        let latest = self.promised_by?;
        let threshold = policy.exceptions.delay_days;
        let late_today = self.days_late_today(latest);
        let parcel = parcel_words(self.shipment);
        if late_today > threshold {
            return Some(self.exception(
                order,
                ExceptionKind::Delayed,
                format!(
                    "{parcel} of order {} was promised by {latest} and is still not delivered on \
                     {}: {} late (threshold {}); current status: {}.",
                    order.number,
                    self.today,
                    days_words(late_today),
                    days_words(threshold),
                    status_words(self.status),
                ),
            ));
        }
        let eta = self.shipment.carrier_eta?;
        let late_by_eta = days_between(latest, eta);
        (late_by_eta > threshold).then(|| {
            self.exception(
                order,
                ExceptionKind::Delayed,
                format!(
                    "{parcel} of order {} was promised by {latest}, but the carrier now expects \
                     delivery on {eta}: a predicted delay of {} (threshold {}); current status: {}.",
                    order.number,
                    days_words(late_by_eta),
                    days_words(threshold),
                    status_words(self.status),
                ),
            )
        })
    }

    fn lost(&self, order: &Order, policy: &Policy) -> Option<ShipmentException> {
        let parcel = parcel_words(self.shipment);
        let last = self.shipment.last_event();
        if self.status == TrackingStatus::Lost {
            let when = last.map_or_else(String::new, |e| {
                format!(" on {} ({})", local_time(e.at, self.tz), e.description)
            });
            return Some(self.exception(
                order,
                ExceptionKind::Lost,
                format!(
                    "The carrier declared {parcel} of order {} lost{when}.",
                    order.number
                ),
            ));
        }
        if !expects_scans(self.status) {
            return None;
        }
        let last = last?;
        let threshold = policy.exceptions.lost_after_days(&self.shipment.carrier);
        let silent = days_between(local_date(last.at, self.tz), self.today);
        (silent >= threshold).then(|| {
            let place = last
                .location
                .as_ref()
                .map_or_else(String::new, |l| format!(" at {l}"));
            self.exception(
                order,
                ExceptionKind::Lost,
                format!(
                    "{parcel} of order {} has had no scan for {} (threshold for {}: {}): last \
                     scan `{}`{place} on {}, status {}; today is {}.",
                    order.number,
                    days_words(silent),
                    self.shipment.carrier,
                    days_words(threshold),
                    last.description,
                    local_time(last.at, self.tz),
                    status_words(self.status),
                    self.today,
                ),
            )
        })
    }

    fn reported_status(&self, order: &Order, policy: &Policy) -> Option<ShipmentException> {
        if !policy.exceptions.exception_statuses.contains(&self.status) {
            return None;
        }
        let kind = status_exception(self.status)?;
        let parcel = parcel_words(self.shipment);
        let scan = self.shipment.last_event().map_or_else(String::new, |e| {
            let place = e
                .location
                .as_ref()
                .map_or_else(String::new, |l| format!(" at {l}"));
            format!(
                ": `{}` (carrier code {}){place} on {}",
                e.description,
                e.carrier_code,
                local_time(e.at, self.tz)
            )
        });
        Some(self.exception(
            order,
            kind,
            format!(
                "{parcel} of order {} is {}{scan}.",
                order.number,
                status_words(self.status)
            ),
        ))
    }

    fn exceptions(&self, order: &Order, policy: &Policy) -> Vec<ShipmentException> {
        let mut found: Vec<ShipmentException> = [
            self.delayed(order, policy),
            self.lost(order, policy),
            self.reported_status(order, policy),
        ]
        .into_iter()
        .flatten()
        .collect();
        found.sort_by_key(|e| e.kind);
        found.dedup_by_key(|e| e.kind);
        // A parcel that is lost, held or returned is late too; one exception, the one that
        // explains it, is what the customer and staff need (one notice, one ticket).
        if found.iter().any(|e| e.kind != ExceptionKind::Delayed) {
            found.retain(|e| e.kind != ExceptionKind::Delayed);
        }
        found
    }

    fn last_scan(&self) -> Option<LastScan> {
        self.shipment.last_event().map(|e| LastScan {
            at: e.at,
            description: e.description.clone(),
            location: e.location.clone(),
        })
    }
}

/// Titles of the lines a parcel carries, in the parcel's order, each once.
fn parcel_items(order: &Order, shipment: &Shipment) -> Vec<String> {
    let mut seen: Vec<&LineId> = Vec::new();
    let mut items = Vec::new();
    for l in shipment.lines.iter().filter(|l| l.quantity > 0) {
        if seen.contains(&&l.line_id) {
            continue;
        }
        seen.push(&l.line_id);
        if let Some(line) = order.line(&l.line_id) {
            items.push(line.title.clone());
        }
    }
    items
}

/// The exceptions of one parcel of `order` at `now`, in [`ExceptionKind`] order (see the module
/// docs for the rules). Never a split shipment: that is a property of the order.
pub fn shipment_exceptions(
    order: &Order,
    shipment: &Shipment,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<ShipmentException> {
    ParcelView::new(shipment, policy, now).exceptions(order, policy)
}

/// How one parcel of `order` stands at `now`: status, last scan, estimate, punctuality against
/// the promise, and the kinds of its exceptions.
///
/// The status is the last scan's, or `delivered` when the OMS recorded a delivery that the scans
/// do not show yet. The estimate is the carrier's ETA, else the promised latest date, and is absent
/// once delivered.
pub fn parcel_status(
    order: &Order,
    shipment: &Shipment,
    policy: &Policy,
    now: DateTime<Utc>,
) -> ParcelStatus {
    let view = ParcelView::new(shipment, policy, now);
    ParcelStatus {
        shipment_id: shipment.id.clone(),
        carrier: shipment.carrier.clone(),
        tracking_number: shipment.tracking_number.clone(),
        items: parcel_items(order, shipment),
        status: view.status,
        last_scan: view.last_scan(),
        delivered_at: view.delivered_at,
        eta: if view.delivered() {
            None
        } else {
            shipment.carrier_eta.or(view.promised_by)
        },
        promised_by: view.promised_by,
        punctuality: view.punctuality(),
        exceptions: view
            .exceptions(order, policy)
            .into_iter()
            .map(|e| e.kind)
            .collect(),
    }
}

/// The split-shipment notice of an order in more than one parcel.
fn split_shipment(order: &Order) -> Option<ShipmentException> {
    if order.shipments.len() < 2 {
        return None;
    }
    let parcels: Vec<String> = order
        .shipments
        .iter()
        .map(|s| format!("{} ({})", s.id, s.carrier))
        .collect();
    Some(ShipmentException {
        kind: ExceptionKind::SplitShipment,
        order_id: order.id.clone(),
        shipment_id: None,
        line_ids: Vec::new(),
        detail: format!(
            "Order {} ships in {} parcels: {}.",
            order.number,
            order.shipments.len(),
            parcels.join(", ")
        ),
    })
}

/// Every shipping exception of `order` at `now`: each shipment's, in shipment order and within a
/// shipment in [`ExceptionKind`] order, then the order's split shipment, if any.
pub fn detect_exceptions(
    order: &Order,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Vec<ShipmentException> {
    order
        .shipments
        .iter()
        .flat_map(|s| shipment_exceptions(order, s, policy, now))
        .chain(split_shipment(order))
        .collect()
}

/// Titles of the lines with units that are in no shipment yet, in line order. A cancelled order
/// has nothing left to ship.
pub fn unshipped_items(order: &Order) -> Vec<String> {
    if order.status == OrderStatus::Cancelled {
        return Vec::new();
    }
    order
        .lines
        .iter()
        .filter(|line| {
            let in_parcels = order
                .shipments
                .iter()
                .flat_map(|s| &s.lines)
                .filter(|l| l.line_id == line.id)
                .fold(0u32, |acc, l| acc.saturating_add(l.quantity));
            line.quantity > in_parcels
        })
        .map(|line| line.title.clone())
        .collect()
}

/// A short machine-readable reason for an exception: `lost:s1`, or the kind alone for one that
/// concerns no parcel (`split_shipment`).
pub fn exception_reason(exception: &ShipmentException) -> String {
    let kind = kind_name(exception.kind);
    match &exception.shipment_id {
        Some(id) => format!("{kind}:{id}"),
        None => kind.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// The WISMO flow
// ---------------------------------------------------------------------------------------------

/// What the WISMO flow needs.
///
/// The runtime has already verified the customer's identity and passes only their orders. It also
/// fetches fresh tracking for every shipment and merges it into each [`Shipment::events`] (and the
/// carrier's ETA into [`Shipment::carrier_eta`]) before calling [`wismo`], which reads nothing
/// else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WismoInput {
    /// The verified customer's orders, in any order.
    pub orders: Vec<Order>,
    /// The order number the customer named, if any (`#1042` or `1042`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_number: Option<OrderNumber>,
}

/// What the WISMO flow decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WismoOutcome {
    /// The order answered about; absent when the customer must first say which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// What to tell the customer.
    pub reply: Reply,
    /// Every exception of the answered order, including informational ones; the runtime tickets
    /// each [`ShipmentException::dedup_key`] once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ShipmentException>,
    /// Staff must look at the order: some exception [needs a ticket](ExceptionKind::needs_ticket).
    pub escalate: bool,
    /// Machine-readable reasons: first how the order was chosen (`order:named`,
    /// `order:only_open`, `order:most_recent`, `ask:several_open`, `order:not_found`,
    /// `order:none`), then one per exception (`lost:s1`, `split_shipment`).
    pub reasons: Vec<String>,
}

/// `#1042`, ` 1042 ` and `#1042` all name the same order.
fn normalise_number(number: &str) -> String {
    number
        .trim()
        .trim_start_matches('#')
        .trim()
        .to_ascii_lowercase()
}

/// When the order's last parcel arrived.
fn last_delivery(order: &Order) -> Option<DateTime<Utc>> {
    order
        .shipments
        .iter()
        .filter(|s| is_delivered(s))
        .filter_map(delivered_at)
        .max()
}

/// Whether the customer is plausibly still waiting for `order`: not cancelled or closed, and not
/// delivered more than [`RECENTLY_DELIVERED_DAYS`] calendar days ago (in the policy's time zone).
pub fn is_open(order: &Order, policy: &Policy, now: DateTime<Utc>) -> bool {
    match order.status {
        OrderStatus::Cancelled | OrderStatus::Closed => false,
        OrderStatus::Delivered => last_delivery(order).is_some_and(|at| {
            days_between(
                local_date(at, policy.timezone),
                local_date(now, policy.timezone),
            ) <= RECENTLY_DELIVERED_DAYS
        }),
        OrderStatus::Pending
        | OrderStatus::Unfulfilled
        | OrderStatus::PartiallyFulfilled
        | OrderStatus::Fulfilled => true,
    }
}

/// `orders` newest first (ties: by order id, descending, so the order is total).
fn newest_first(orders: &[Order]) -> Vec<&Order> {
    let mut sorted: Vec<&Order> = orders.iter().collect();
    sorted.sort_by_key(|o| (Reverse(o.placed_at), Reverse(o.id.clone())));
    sorted
}

/// A one-line description of `order` for "which order do you mean?".
pub fn order_summary(order: &Order) -> OrderSummary {
    OrderSummary {
        number: order.number.clone(),
        placed_at: order.placed_at,
        items: order.lines.iter().map(|l| l.title.clone()).collect(),
    }
}

/// The status reply for `order`, with its exceptions.
fn answer(order: &Order, policy: &Policy, now: DateTime<Utc>, picked: &str) -> WismoOutcome {
    let exceptions = detect_exceptions(order, policy, now);
    let escalate = exceptions.iter().any(|e| e.kind.needs_ticket());
    let reasons = std::iter::once(picked.to_owned())
        .chain(exceptions.iter().map(exception_reason))
        .collect();
    WismoOutcome {
        order_id: Some(order.id.clone()),
        reply: Reply::OrderStatus {
            order_number: order.number.clone(),
            parcels: order
                .shipments
                .iter()
                .map(|s| parcel_status(order, s, policy, now))
                .collect(),
            unshipped_items: unshipped_items(order),
        },
        exceptions,
        escalate,
        reasons,
    }
}

/// An outcome without an order.
fn no_order(reply: Reply, reason: &str) -> WismoOutcome {
    WismoOutcome {
        order_id: None,
        reply,
        exceptions: Vec::new(),
        escalate: false,
        reasons: vec![reason.to_owned()],
    }
}

/// Answers "where is my order?".
///
/// # Behavior
///
/// - A named order number picks that order (`#` and surrounding spaces ignored, case-insensitive).
///   A number that is not one of the customer's orders gets [`Reply::NotVerified`] and answers
///   nothing about any order.
/// - Otherwise, exactly one [open](is_open) order is picked; several open orders get
///   [`Reply::AskWhichOrder`] with the open orders newest first; with none open, the most recent
///   order is picked. No orders at all gets [`Reply::AskVerification`].
/// - The picked order is answered with [`Reply::OrderStatus`]: one [`ParcelStatus`] per shipment
///   and the titles of [unshipped items](unshipped_items).
/// - It escalates only when an exception needs a ticket (lost, delayed beyond the policy's
///   threshold, customs hold, address issue, damaged, returned to sender, carrier exception),
///   never for a split shipment or a parcel late by no more than the threshold.
///
/// The runtime merges fresh carrier tracking into the orders before calling (see
/// [`WismoInput`]).
pub fn wismo(input: &WismoInput, policy: &Policy, now: DateTime<Utc>) -> WismoOutcome {
    let orders = newest_first(&input.orders);
    if let Some(named) = &input.order_number {
        let wanted = normalise_number(named.as_str());
        return match orders
            .iter()
            .find(|o| normalise_number(o.number.as_str()) == wanted)
        {
            Some(order) => answer(order, policy, now, "order:named"),
            None => no_order(Reply::NotVerified, "order:not_found"),
        };
    }
    let open: Vec<&Order> = orders
        .iter()
        .copied()
        .filter(|o| is_open(o, policy, now))
        .collect();
    match (open.as_slice(), orders.first()) {
        ([only], _) => answer(only, policy, now, "order:only_open"),
        ([], Some(latest)) => answer(latest, policy, now, "order:most_recent"),
        ([], None) => no_order(Reply::AskVerification { order_number: None }, "order:none"),
        (several, _) => no_order(
            Reply::AskWhichOrder {
                candidates: several.iter().map(|o| order_summary(o)).collect(),
            },
            "ask:several_open",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_compare_without_hash_and_spaces() {
        assert_eq!(normalise_number(" #1042 "), normalise_number("1042"));
        assert_eq!(normalise_number("#AB-7"), normalise_number("ab-7"));
        assert_ne!(normalise_number("#1042"), normalise_number("#10420"));
    }

    #[test]
    fn kind_names_match_the_json_names() {
        for kind in [
            ExceptionKind::Delayed,
            ExceptionKind::Lost,
            ExceptionKind::CustomsHold,
            ExceptionKind::AddressIssue,
            ExceptionKind::Damaged,
            ExceptionKind::ReturnedToSender,
            ExceptionKind::CarrierException,
            ExceptionKind::SplitShipment,
            ExceptionKind::Substitution,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind_name(kind).to_owned())
            );
        }
    }

    #[test]
    fn calendar_days_count_dates_not_hours() {
        let d = |day| NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        assert_eq!(days_between(d(6), d(9)), 3);
        assert_eq!(days_between(d(9), d(6)), -3);
        let late_evening = DateTime::parse_from_rfc3339("2026-03-06T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(local_date(late_evening, chrono_tz::UTC), d(6));
        assert_eq!(local_date(late_evening, chrono_tz::Europe::Zurich), d(7));
    }
}

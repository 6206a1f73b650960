//! What the agent knows about a parcel: its status against the promise, and its exceptions.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{LineId, OrderId, ShipmentId, TrackingNumber, TrackingStatus};

/// How a parcel stands against the promised delivery window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Punctuality {
    /// No promise was recorded.
    NoPromise,
    /// Delivered, or expected, within the promise.
    OnTime,
    /// Delivered, or now expected, after the promised latest date.
    Late {
        /// Calendar days past the promised latest date.
        days: i64,
    },
}

/// The kinds of shipping exception the agent detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionKind {
    /// Past the promised date by more than the policy's threshold.
    Delayed,
    /// No scan for longer than the carrier's threshold, or declared lost.
    Lost,
    /// Held by customs.
    CustomsHold,
    /// The carrier cannot resolve the address, or address validation failed.
    AddressIssue,
    /// Damaged in transit.
    Damaged,
    /// Going back to the sender.
    ReturnedToSender,
    /// Any other carrier exception.
    CarrierException,
    /// The order ships in several parcels.
    SplitShipment,
    /// An item was replaced by a substitute because it was out of stock.
    Substitution,
}

impl ExceptionKind {
    /// Whether staff must look at it (a ticket), rather than the customer only being informed.
    pub fn needs_ticket(self) -> bool {
        !matches!(self, ExceptionKind::SplitShipment)
    }
}

/// One detected exception, with the context staff need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentException {
    /// The kind.
    pub kind: ExceptionKind,
    /// The order.
    pub order_id: OrderId,
    /// The parcel, when the exception concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment_id: Option<ShipmentId>,
    /// The lines concerned, when known (substitutions, split shipments).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub line_ids: Vec<LineId>,
    /// Plain words for staff.
    pub detail: String,
}

impl ShipmentException {
    /// A key that is the same for every duplicate report of this exception, so that it is
    /// notified and ticketed once: `exception:{order}:{shipment or -}:{kind}`, followed by
    /// `:{line,line...}` when lines are named (so that substitutions of two lines stay apart).
    pub fn dedup_key(&self) -> String {
        let kind = serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let mut key = format!(
            "exception:{}:{}:{}",
            self.order_id,
            self.shipment_id.as_ref().map_or("-", ShipmentId::as_str),
            kind
        );
        if !self.line_ids.is_empty() {
            let lines: Vec<&str> = self.line_ids.iter().map(LineId::as_str).collect();
            key.push(':');
            key.push_str(&lines.join(","));
        }
        key
    }
}

/// The last carrier scan, as shown to a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastScan {
    /// When.
    pub at: DateTime<Utc>,
    /// The carrier's description.
    pub description: String,
    /// Where, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// One parcel of an order, summarised for a WISMO answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParcelStatus {
    /// The shipment.
    pub shipment_id: ShipmentId,
    /// Carrier slug.
    pub carrier: String,
    /// Tracking number, when labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<TrackingNumber>,
    /// Titles of the items inside, for "your sweater and socks".
    pub items: Vec<String>,
    /// Current normalised status.
    pub status: TrackingStatus,
    /// The last scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scan: Option<LastScan>,
    /// When it was delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Best estimate of delivery: the carrier's ETA, else the promised latest date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<NaiveDate>,
    /// The promised latest date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised_by: Option<NaiveDate>,
    /// Against the promise.
    pub punctuality: Punctuality,
    /// Exceptions on this parcel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<ExceptionKind>,
}

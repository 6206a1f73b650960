//! Shipments (parcels), their promised delivery windows and normalised tracking events.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{LineId, ShipmentId, TrackingNumber};

/// A carrier-independent tracking status. Every adapter maps its carrier's codes onto these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    /// A label exists; the carrier has not scanned the parcel yet.
    LabelCreated,
    /// Handed to the carrier.
    PickedUp,
    /// Moving through the carrier's network.
    InTransit,
    /// On the vehicle for delivery today.
    OutForDelivery,
    /// Delivered.
    Delivered,
    /// Delivery attempted and failed; the carrier will retry or hold.
    DeliveryAttemptFailed,
    /// Waiting at a pickup point.
    AvailableForPickup,
    /// Held by customs.
    CustomsHold,
    /// The carrier cannot resolve the address.
    AddressIssue,
    /// Damaged in transit.
    Damaged,
    /// Declared lost by the carrier.
    Lost,
    /// On its way back, or back, to the sender.
    ReturnedToSender,
    /// Any other exception the carrier reported.
    Exception,
    /// The carrier's code could not be mapped.
    Unknown,
}

impl TrackingStatus {
    /// Final states after which no more scans are expected.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TrackingStatus::Delivered | TrackingStatus::Lost | TrackingStatus::ReturnedToSender
        )
    }
}

/// One carrier scan, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingEvent {
    /// When the carrier recorded it.
    pub at: DateTime<Utc>,
    /// Normalised status.
    pub status: TrackingStatus,
    /// The carrier's own code, kept for support staff.
    pub carrier_code: String,
    /// The carrier's description.
    pub description: String,
    /// Where, when known (e.g. `Zürich-Mülligen`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The delivery window promised at checkout, as calendar dates in the merchant's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryWindow {
    /// Earliest promised date.
    pub earliest: NaiveDate,
    /// Latest promised date: delay is measured against this.
    pub latest: NaiveDate,
}

/// Quantity of one order line inside a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLine {
    /// The order line.
    pub line_id: LineId,
    /// Units of it in this parcel.
    pub quantity: u32,
}

/// A parcel: some line quantities handed to one carrier under one tracking number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shipment {
    /// Shipment id.
    pub id: ShipmentId,
    /// Carrier slug, e.g. `swiss-post`, `dhl`, `ups`.
    pub carrier: String,
    /// Tracking number, once labelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<TrackingNumber>,
    /// What it contains.
    pub lines: Vec<ShipmentLine>,
    /// Promised delivery window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promised: Option<DeliveryWindow>,
    /// When it left the warehouse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<DateTime<Utc>>,
    /// When it was delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The carrier's estimate, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_eta: Option<NaiveDate>,
    /// Scans, oldest first.
    #[serde(default)]
    pub events: Vec<TrackingEvent>,
}

impl Shipment {
    /// Whether this parcel carries units of `line`.
    pub fn carries(&self, line: &LineId) -> bool {
        self.lines
            .iter()
            .any(|l| &l.line_id == line && l.quantity > 0)
    }

    /// The most recent scan.
    pub fn last_event(&self) -> Option<&TrackingEvent> {
        self.events.iter().max_by_key(|e| e.at)
    }

    /// The current status: the last scan's, `Delivered` if a delivery time is known, else
    /// `LabelCreated`.
    pub fn status(&self) -> TrackingStatus {
        match self.last_event() {
            Some(e) => e.status,
            None if self.delivered_at.is_some() => TrackingStatus::Delivered,
            None => TrackingStatus::LabelCreated,
        }
    }
}

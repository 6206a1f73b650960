//! Events the host feeds the agent: carrier scans, OMS changes, warehouse receipts and a periodic
//! heartbeat. Each is plain serde data with a stable JSON shape:
//!
//! ```json
//! {"id": "sp-7781", "source": "carrier:swiss-post", "at": "2026-03-04T09:12:00Z",
//!  "kind": {"type": "tracking_update", "order_id": "o-1", "shipment_id": "s1",
//!           "event": {"at": "2026-03-04T09:10:00Z", "status": "in_transit",
//!                     "carrier_code": "TRANSIT", "description": "Parcel sorted"}}}
//! ```
//!
//! The monitor ([`super::monitor::monitor`]) turns one event plus the order it concerns into
//! exceptions, proactive notices and the updated order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{LineId, OrderId, Receipt, Shipment, ShipmentId, TrackingEvent};

/// One event from the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The upstream id (a webhook delivery id, a carrier event id), so the runtime can drop
    /// redelivered events. The monitor does not rely on it: the same content twice gives the same
    /// result anyway.
    pub id: String,
    /// Where it came from, e.g. `carrier:swiss-post`, `oms`, `warehouse:zrh-1`, `scheduler`.
    pub source: String,
    /// When the source emitted it.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
}

/// What an [`Event`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum EventKind {
    /// The carrier scanned a parcel.
    TrackingUpdate {
        /// The order.
        order_id: OrderId,
        /// The parcel.
        shipment_id: ShipmentId,
        /// The scan, normalised by the carrier adapter.
        event: TrackingEvent,
    },
    /// The OMS created (or re-sent) a shipment.
    ShipmentCreated {
        /// The order.
        order_id: OrderId,
        /// The parcel, with whatever scans it already has.
        shipment: Shipment,
    },
    /// The shipping address failed validation (at the OMS, the carrier or an address service).
    AddressValidationFailed {
        /// The order.
        order_id: OrderId,
        /// What is wrong, in the validator's words.
        detail: String,
    },
    /// The warehouse replaced an out-of-stock item by a substitute.
    ItemSubstituted {
        /// The order.
        order_id: OrderId,
        /// The line replaced.
        line_id: LineId,
        /// The substitute's title.
        substitute_title: String,
    },
    /// The order was cancelled in the OMS, not through the agent.
    OrderCancelledUpstream {
        /// The order.
        order_id: OrderId,
    },
    /// The warehouse received a return. The monitor reports nothing for it: the runtime routes it
    /// to the receipt (refund) flow.
    ReturnReceived {
        /// The receipt.
        receipt: Receipt,
    },
    /// A periodic tick from the host's scheduler. Silence is itself a signal ("no scan for seven
    /// days"), and no event arrives to report it, so the host sends a heartbeat (say hourly or
    /// daily) and calls the monitor with it once for every open order; the monitor then re-checks
    /// every parcel of that order not yet delivered for loss and delay.
    Heartbeat,
}

impl Event {
    /// The order the event concerns; `None` for a heartbeat (it concerns whichever order the
    /// host checks with it) and for a return receipt (which names the return, not the order).
    pub fn order_id(&self) -> Option<&OrderId> {
        match &self.kind {
            EventKind::TrackingUpdate { order_id, .. }
            | EventKind::ShipmentCreated { order_id, .. }
            | EventKind::AddressValidationFailed { order_id, .. }
            | EventKind::ItemSubstituted { order_id, .. }
            | EventKind::OrderCancelledUpstream { order_id } => Some(order_id),
            EventKind::ReturnReceived { .. } | EventKind::Heartbeat => None,
        }
    }

    /// The parcel the event concerns, if one.
    pub fn shipment_id(&self) -> Option<&ShipmentId> {
        match &self.kind {
            EventKind::TrackingUpdate { shipment_id, .. } => Some(shipment_id),
            EventKind::ShipmentCreated { shipment, .. } => Some(&shipment.id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_tagged_and_strict() {
        let json = r#"{"id":"hb-1","source":"scheduler","at":"2026-03-04T09:00:00Z",
                       "kind":{"type":"heartbeat"}}"#;
        let event: Event = serde_json::from_str(json).unwrap();
        assert_eq!(event.kind, EventKind::Heartbeat);
        assert_eq!(event.order_id(), None);

        let json = r#"{"id":"a-1","source":"oms","at":"2026-03-04T09:00:00Z",
                       "kind":{"type":"address_validation_failed","order_id":"o-1",
                               "detail":"street number missing"}}"#;
        let event: Event = serde_json::from_str(json).unwrap();
        assert_eq!(event.order_id(), Some(&OrderId::new("o-1")));
        let back = serde_json::to_value(&event).unwrap();
        assert_eq!(back["kind"]["type"], "address_validation_failed");

        let typo = r#"{"id":"a-1","source":"oms","at":"2026-03-04T09:00:00Z",
                       "kind":{"type":"order_cancelled_upstream","order":"o-1"}}"#;
        assert!(serde_json::from_str::<Event>(typo).is_err());
    }
}

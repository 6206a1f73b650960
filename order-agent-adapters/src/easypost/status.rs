//! EasyPost's tracker statuses → [`TrackingStatus`], as data: a new code is a row, not code.
//!
//! The vendor code is the tracker's (or tracking detail's) `status`; the detail code is its
//! `status_detail`, which wins where it says more (`in_transit` + `weather_delay` is still in
//! transit, `failure` + `lost` is lost).

use order_agent_core::domain::TrackingStatus;

use crate::carrier_status::{StatusRow, StatusTable};

/// EasyPost's `status` values and the `status_detail` values that refine them.
pub const ROWS: &[StatusRow] = &[
    StatusRow::code("pre_transit", TrackingStatus::LabelCreated),
    StatusRow::code("in_transit", TrackingStatus::InTransit),
    StatusRow::code("out_for_delivery", TrackingStatus::OutForDelivery),
    StatusRow::code("delivered", TrackingStatus::Delivered),
    StatusRow::code("available_for_pickup", TrackingStatus::AvailableForPickup),
    StatusRow::code("return_to_sender", TrackingStatus::ReturnedToSender),
    StatusRow::code("failure", TrackingStatus::Exception),
    StatusRow::code("cancelled", TrackingStatus::Exception),
    StatusRow::code("error", TrackingStatus::Exception),
    StatusRow::code("unknown", TrackingStatus::Unknown),
    // Scans after the label: the parcel is with the carrier.
    StatusRow::pair(
        "in_transit",
        "received_at_origin_facility",
        TrackingStatus::PickedUp,
    ),
    StatusRow::detail("label_created", TrackingStatus::LabelCreated),
    StatusRow::detail("address_correction", TrackingStatus::AddressIssue),
    StatusRow::detail("damaged", TrackingStatus::Damaged),
    StatusRow::detail("lost", TrackingStatus::Lost),
    StatusRow::detail("refused", TrackingStatus::ReturnedToSender),
    StatusRow::detail("return", TrackingStatus::ReturnedToSender),
    StatusRow::detail(
        "arrived_at_pickup_location",
        TrackingStatus::AvailableForPickup,
    ),
    StatusRow::pair(
        "failure",
        "delivery_exception",
        TrackingStatus::DeliveryAttemptFailed,
    ),
];

/// The EasyPost table.
pub const TABLE: StatusTable = StatusTable::new("easypost", ROWS);

/// The `status` values EasyPost documents for trackers.
pub const DOCUMENTED_STATUSES: &[&str] = &[
    "unknown",
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "delivered",
    "available_for_pickup",
    "return_to_sender",
    "failure",
    "cancelled",
    "error",
];

/// The `status_detail` values EasyPost documents; each one has a row or is in
/// [`DETAILS_THE_STATUS_DECIDES`] (checked by a test).
pub const DOCUMENTED_DETAILS: &[&str] = &[
    "address_correction",
    "arrived_at_destination",
    "arrived_at_facility",
    "arrived_at_pickup_location",
    "awaiting_information",
    "cancelled",
    "damaged",
    "delayed",
    "departed_facility",
    "departed_origin_facility",
    "expired",
    "failure",
    "held",
    "in_transit",
    "label_created",
    "lost",
    "missorted",
    "out_for_delivery",
    "received_at_destination_facility",
    "received_at_origin_facility",
    "refused",
    "return",
    "status_update",
    "transferred_to_destination_carrier",
    "transit_exception",
    "unknown",
    "weather_delay",
];

/// The details that add nothing to their `status` (a scan between facilities, a delay), so the
/// status decides.
pub const DETAILS_THE_STATUS_DECIDES: &[&str] = &[
    "arrived_at_destination",
    "arrived_at_facility",
    "awaiting_information",
    "cancelled",
    "delayed",
    "delivery_exception",
    "departed_facility",
    "departed_origin_facility",
    "expired",
    "failure",
    "held",
    "in_transit",
    "missorted",
    "out_for_delivery",
    "received_at_destination_facility",
    "status_update",
    "transferred_to_destination_carrier",
    "transit_exception",
    "unknown",
    "weather_delay",
];

/// The normalised status of one EasyPost status and status detail.
pub fn normalise(status: &str, detail: Option<&str>) -> TrackingStatus {
    TABLE.normalise(status, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps() {
        assert_eq!(
            TABLE.unmapped_codes(DOCUMENTED_STATUSES),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn every_documented_detail_has_a_row_or_is_left_to_its_status() {
        let undecided: Vec<&str> = TABLE
            .unmapped_details(DOCUMENTED_DETAILS)
            .into_iter()
            .filter(|d| !DETAILS_THE_STATUS_DECIDES.contains(d))
            .collect();
        assert_eq!(undecided, Vec::<&str>::new());
    }

    #[test]
    fn details_refine_statuses() {
        assert_eq!(
            normalise("in_transit", Some("weather_delay")),
            TrackingStatus::InTransit
        );
        assert_eq!(normalise("failure", Some("lost")), TrackingStatus::Lost);
        assert_eq!(
            normalise("in_transit", Some("received_at_origin_facility")),
            TrackingStatus::PickedUp
        );
        assert_eq!(
            normalise("failure", Some("delivery_exception")),
            TrackingStatus::DeliveryAttemptFailed
        );
        assert_eq!(normalise("something_new", None), TrackingStatus::Unknown);
    }
}

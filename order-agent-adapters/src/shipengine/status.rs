//! ShipEngine's tracking codes → [`TrackingStatus`], as data: a new code is a row, not code.
//!
//! The detail code (`status_detail_code`, ShipEngine's finer normalisation) wins when a row of
//! [`TABLE`] names it; otherwise the status code (`status_code`) decides; anything else is
//! [`TrackingStatus::Unknown`].

use order_agent_core::domain::TrackingStatus;

use crate::carrier_status::{StatusRow, StatusTable};

/// ShipEngine's `status_code`s (its eight statuses) and the `status_detail_code`s that say more
/// than their status code.
pub const ROWS: &[StatusRow] = &[
    StatusRow::code("UN", TrackingStatus::Unknown),
    StatusRow::code("NY", TrackingStatus::LabelCreated),
    StatusRow::code("AC", TrackingStatus::PickedUp),
    StatusRow::code("IT", TrackingStatus::InTransit),
    StatusRow::code("AT", TrackingStatus::DeliveryAttemptFailed),
    StatusRow::code("SP", TrackingStatus::AvailableForPickup),
    StatusRow::code("DE", TrackingStatus::Delivered),
    StatusRow::code("EX", TrackingStatus::Exception),
    StatusRow::detail("SHIPMENT_CREATED", TrackingStatus::LabelCreated),
    StatusRow::detail("AWAITING_PICKUP_DROP_OFF", TrackingStatus::LabelCreated),
    StatusRow::detail("ELEC_ADVICE_RECD_BY_CARRIER", TrackingStatus::LabelCreated),
    StatusRow::detail("NOT_YET_RECEIVED_BY_CARRIER", TrackingStatus::LabelCreated),
    StatusRow::detail("DROPPED_OFF", TrackingStatus::PickedUp),
    StatusRow::detail("PICKED_UP", TrackingStatus::PickedUp),
    StatusRow::detail("RECEIVED_BY_CARRIER", TrackingStatus::PickedUp),
    StatusRow::detail("RECD_BY_CARRIER_NO_ELEC_ADVICE", TrackingStatus::PickedUp),
    StatusRow::detail("OUT_FOR_DELIVERY", TrackingStatus::OutForDelivery),
    StatusRow::detail("ATTEMPTED_DELIVERY", TrackingStatus::DeliveryAttemptFailed),
    StatusRow::detail(
        "ATTEMPTED_DELIVERY_FINAL",
        TrackingStatus::DeliveryAttemptFailed,
    ),
    StatusRow::detail("CUSTOMER_CARDED", TrackingStatus::DeliveryAttemptFailed),
    StatusRow::detail(
        "NO_ACCESS_TO_RECIPIENTS_ADDRESS",
        TrackingStatus::DeliveryAttemptFailed,
    ),
    StatusRow::detail(
        "AWAITING_COLLECTION_FROM_PICKUP_POINT",
        TrackingStatus::AvailableForPickup,
    ),
    StatusRow::detail("COLLECT_AT_LOCAL_PO", TrackingStatus::AvailableForPickup),
    StatusRow::detail(
        "CUSTOMER_TO_COLLECT_FROM_CARRIER",
        TrackingStatus::AvailableForPickup,
    ),
    StatusRow::detail(
        "DELIVERED_TO_PICKUP_POINT",
        TrackingStatus::AvailableForPickup,
    ),
    StatusRow::detail("DELIVERED_DAMAGED", TrackingStatus::Damaged),
    StatusRow::detail("PARCEL_DAMAGED", TrackingStatus::Damaged),
    StatusRow::detail("HELD_BY_CUSTOMS", TrackingStatus::CustomsHold),
    StatusRow::detail(
        "HELD_BY_CARRIER_FOR_CLEARANCE_PRE_PROCESSING",
        TrackingStatus::CustomsHold,
    ),
    StatusRow::detail("DUTY_NOT_PAID", TrackingStatus::CustomsHold),
    StatusRow::detail("INCORRECT_DECLARATION", TrackingStatus::CustomsHold),
    StatusRow::detail("ADDRESS_QUERY", TrackingStatus::AddressIssue),
    StatusRow::detail("CUSTOMER_MOVED", TrackingStatus::AddressIssue),
    StatusRow::detail("PARCEL_LOST", TrackingStatus::Lost),
    StatusRow::detail("RETURN_TO_SENDER", TrackingStatus::ReturnedToSender),
    StatusRow::detail(
        "UNDELIVERABLE_RETURNED_TO_SENDER",
        TrackingStatus::ReturnedToSender,
    ),
    StatusRow::detail("REFUSED_BY_CUSTOMER", TrackingStatus::ReturnedToSender),
];

/// The ShipEngine table.
pub const TABLE: StatusTable = StatusTable::new("shipengine", ROWS);

/// The normalised status of one ShipEngine status and detail code.
pub fn normalise(status_code: &str, detail_code: Option<&str>) -> TrackingStatus {
    TABLE.normalise(status_code, detail_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_refine_statuses_and_unknown_codes_are_unknown() {
        assert_eq!(normalise("IT", None), TrackingStatus::InTransit);
        assert_eq!(
            normalise("IT", Some("OUT_FOR_DELIVERY")),
            TrackingStatus::OutForDelivery
        );
        assert_eq!(
            normalise("EX", Some("HELD_BY_CUSTOMS")),
            TrackingStatus::CustomsHold
        );
        assert_eq!(
            normalise("EX", Some("SOMETHING_NEW")),
            TrackingStatus::Exception
        );
        assert_eq!(normalise("ZZ", None), TrackingStatus::Unknown);
        assert_eq!(normalise("de", None), TrackingStatus::Delivered);
    }

    #[test]
    fn every_documented_status_code_maps() {
        // ShipEngine's `status_code` enum (openapi.yaml, `status_code`).
        let documented = ["UN", "AC", "IT", "DE", "EX", "AT", "NY", "SP"];
        assert_eq!(TABLE.unmapped_codes(&documented), Vec::<&str>::new());
    }
}

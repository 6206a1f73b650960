//! ShipEngine's tracking codes → [`TrackingStatus`], as data: a new code is a row, not code.
//!
//! The detail code (`status_detail_code`, ShipEngine's finer normalisation) wins when it is in
//! [`DETAIL_CODES`]; otherwise the status code (`status_code`) decides; anything else is
//! [`TrackingStatus::Unknown`].

use order_agent_core::domain::TrackingStatus;

/// `status_code`: ShipEngine's eight statuses.
pub const STATUS_CODES: &[(&str, TrackingStatus)] = &[
    ("UN", TrackingStatus::Unknown),
    ("NY", TrackingStatus::LabelCreated),
    ("AC", TrackingStatus::PickedUp),
    ("IT", TrackingStatus::InTransit),
    ("AT", TrackingStatus::DeliveryAttemptFailed),
    ("SP", TrackingStatus::AvailableForPickup),
    ("DE", TrackingStatus::Delivered),
    ("EX", TrackingStatus::Exception),
];

/// `status_detail_code`: the details that say more than their status code.
pub const DETAIL_CODES: &[(&str, TrackingStatus)] = &[
    ("SHIPMENT_CREATED", TrackingStatus::LabelCreated),
    ("AWAITING_PICKUP_DROP_OFF", TrackingStatus::LabelCreated),
    ("ELEC_ADVICE_RECD_BY_CARRIER", TrackingStatus::LabelCreated),
    ("NOT_YET_RECEIVED_BY_CARRIER", TrackingStatus::LabelCreated),
    ("DROPPED_OFF", TrackingStatus::PickedUp),
    ("PICKED_UP", TrackingStatus::PickedUp),
    ("RECEIVED_BY_CARRIER", TrackingStatus::PickedUp),
    ("RECD_BY_CARRIER_NO_ELEC_ADVICE", TrackingStatus::PickedUp),
    ("OUT_FOR_DELIVERY", TrackingStatus::OutForDelivery),
    ("ATTEMPTED_DELIVERY", TrackingStatus::DeliveryAttemptFailed),
    (
        "ATTEMPTED_DELIVERY_FINAL",
        TrackingStatus::DeliveryAttemptFailed,
    ),
    ("CUSTOMER_CARDED", TrackingStatus::DeliveryAttemptFailed),
    (
        "NO_ACCESS_TO_RECIPIENTS_ADDRESS",
        TrackingStatus::DeliveryAttemptFailed,
    ),
    (
        "AWAITING_COLLECTION_FROM_PICKUP_POINT",
        TrackingStatus::AvailableForPickup,
    ),
    ("COLLECT_AT_LOCAL_PO", TrackingStatus::AvailableForPickup),
    (
        "CUSTOMER_TO_COLLECT_FROM_CARRIER",
        TrackingStatus::AvailableForPickup,
    ),
    (
        "DELIVERED_TO_PICKUP_POINT",
        TrackingStatus::AvailableForPickup,
    ),
    ("DELIVERED_DAMAGED", TrackingStatus::Damaged),
    ("PARCEL_DAMAGED", TrackingStatus::Damaged),
    ("HELD_BY_CUSTOMS", TrackingStatus::CustomsHold),
    (
        "HELD_BY_CARRIER_FOR_CLEARANCE_PRE_PROCESSING",
        TrackingStatus::CustomsHold,
    ),
    ("DUTY_NOT_PAID", TrackingStatus::CustomsHold),
    ("INCORRECT_DECLARATION", TrackingStatus::CustomsHold),
    ("ADDRESS_QUERY", TrackingStatus::AddressIssue),
    ("CUSTOMER_MOVED", TrackingStatus::AddressIssue),
    ("PARCEL_LOST", TrackingStatus::Lost),
    ("RETURN_TO_SENDER", TrackingStatus::ReturnedToSender),
    (
        "UNDELIVERABLE_RETURNED_TO_SENDER",
        TrackingStatus::ReturnedToSender,
    ),
    ("REFUSED_BY_CUSTOMER", TrackingStatus::ReturnedToSender),
];

/// The normalised status of one ShipEngine status and detail code.
pub fn normalise(status_code: &str, detail_code: Option<&str>) -> TrackingStatus {
    let lookup = |table: &[(&str, TrackingStatus)], code: &str| {
        table
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(code))
            .map(|(_, s)| *s)
    };
    detail_code
        .and_then(|d| lookup(DETAIL_CODES, d))
        .or_else(|| lookup(STATUS_CODES, status_code))
        .unwrap_or(TrackingStatus::Unknown)
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
}

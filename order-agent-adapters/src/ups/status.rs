//! UPS's tracking codes → [`TrackingStatus`], as data: a new code is a row, not code.
//!
//! The vendor code is the activity's status `type` (UPS's one- or two-letter status type); the
//! detail code is its three-digit `statusCode`, used where it says more than the type (UPS
//! reports "out for delivery today" as type `I` with status code `021`).

use order_agent_core::domain::TrackingStatus;

use crate::carrier_status::{StatusRow, StatusTable};

/// UPS's status types (Tracking API appendix, "Status Types") and the status codes that refine
/// them.
pub const ROWS: &[StatusRow] = &[
    // Billing information received: a label exists, no scan yet.
    StatusRow::code("M", TrackingStatus::LabelCreated),
    // Billing information voided: the label was cancelled.
    StatusRow::code("MV", TrackingStatus::Exception),
    StatusRow::code("P", TrackingStatus::PickedUp),
    StatusRow::code("I", TrackingStatus::InTransit),
    StatusRow::code("O", TrackingStatus::OutForDelivery),
    StatusRow::code("D", TrackingStatus::Delivered),
    StatusRow::code("X", TrackingStatus::Exception),
    StatusRow::code("RS", TrackingStatus::ReturnedToSender),
    // Freight only: delivered to the origin or destination container freight station, and
    // warehousing; the parcel is still on its way to the recipient.
    StatusRow::code("DO", TrackingStatus::InTransit),
    StatusRow::code("DD", TrackingStatus::InTransit),
    StatusRow::code("W", TrackingStatus::InTransit),
    // Not available.
    StatusRow::code("NA", TrackingStatus::Unknown),
    StatusRow::detail("021", TrackingStatus::OutForDelivery),
];

/// The UPS table.
pub const TABLE: StatusTable = StatusTable::new("ups", ROWS);

/// The status types UPS documents for an activity's `status.type`.
pub const DOCUMENTED_TYPES: &[&str] = &[
    "D", "I", "M", "MV", "P", "X", "RS", "DO", "DD", "W", "NA", "O",
];

/// The normalised status of one UPS status type and status code.
pub fn normalise(status_type: &str, status_code: Option<&str>) -> TrackingStatus {
    TABLE.normalise(status_type, status_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_type_maps() {
        assert_eq!(TABLE.unmapped_codes(DOCUMENTED_TYPES), Vec::<&str>::new());
    }

    #[test]
    fn status_codes_refine_types_and_unknown_types_are_unknown() {
        assert_eq!(normalise("I", Some("005")), TrackingStatus::InTransit);
        assert_eq!(normalise("I", Some("021")), TrackingStatus::OutForDelivery);
        assert_eq!(normalise("d", None), TrackingStatus::Delivered);
        assert_eq!(
            normalise("RS", Some("999")),
            TrackingStatus::ReturnedToSender
        );
        assert_eq!(normalise("ZZ", None), TrackingStatus::Unknown);
    }
}

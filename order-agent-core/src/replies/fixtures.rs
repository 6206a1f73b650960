//! Replies used by the rendering tests: one or more of every variant, with Swiss-shop data.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::{ChangeKind, HandoverTopic, OrderSummary, RefundSummary, Reply};
use crate::domain::{
    Address, OrderNumber, RefundState, ResolutionKind, ReturnId, ShipmentId, Tender,
    TrackingNumber, TrackingStatus,
};
use crate::flows::shipping::{ExceptionKind, LastScan, ParcelStatus, Punctuality};
use crate::money::{Currency, Money};
use crate::policy::ReasonCode;

pub(super) fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, day, hour, minute, 0)
        .single()
        .unwrap()
}

pub(super) fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, day).unwrap()
}

pub(super) fn chf(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CHF)
}

pub(super) fn order() -> OrderNumber {
    OrderNumber::new("#1042")
}

fn titles(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// In transit with Swiss Post, on time.
pub(super) fn parcel_on_time() -> ParcelStatus {
    ParcelStatus {
        shipment_id: ShipmentId::new("shp-1"),
        carrier: "swiss-post".to_owned(),
        tracking_number: Some(TrackingNumber::new("99.00.123456.78901234")),
        items: titles(&["Merino Pullover", "Trekking-Socken"]),
        status: TrackingStatus::InTransit,
        last_scan: Some(LastScan {
            // 14:05 in Zurich.
            at: at(22, 12, 5),
            description: "Sortierung".to_owned(),
            location: Some("Zürich-Mülligen".to_owned()),
        }),
        delivered_at: None,
        eta: Some(date(24)),
        promised_by: Some(date(24)),
        punctuality: Punctuality::OnTime,
        exceptions: vec![],
    }
}

/// In transit with DHL, two days late.
pub(super) fn parcel_late() -> ParcelStatus {
    ParcelStatus {
        shipment_id: ShipmentId::new("shp-2"),
        carrier: "dhl".to_owned(),
        tracking_number: Some(TrackingNumber::new("JD014600003828")),
        items: titles(&["Daunenjacke Alpina"]),
        status: TrackingStatus::InTransit,
        last_scan: Some(LastScan {
            at: at(23, 7, 40),
            description: "Ankunft im Verteilzentrum".to_owned(),
            location: Some("Basel".to_owned()),
        }),
        delivered_at: None,
        eta: Some(date(27)),
        promised_by: Some(date(25)),
        punctuality: Punctuality::Late { days: 2 },
        exceptions: vec![ExceptionKind::Delayed],
    }
}

/// Delivered.
pub(super) fn parcel_delivered() -> ParcelStatus {
    ParcelStatus {
        shipment_id: ShipmentId::new("shp-3"),
        carrier: "planzer".to_owned(),
        tracking_number: Some(TrackingNumber::new("PL778899")),
        items: titles(&["Lampe Lumo"]),
        status: TrackingStatus::Delivered,
        last_scan: None,
        delivered_at: Some(at(21, 8, 12)),
        eta: Some(date(21)),
        promised_by: Some(date(22)),
        punctuality: Punctuality::OnTime,
        exceptions: vec![],
    }
}

/// WISMO: two parcels, the second late, one item not shipped.
pub(super) fn wismo_two_parcels() -> Reply {
    Reply::OrderStatus {
        order_number: order(),
        parcels: vec![parcel_on_time(), parcel_late()],
        unshipped_items: titles(&["Mütze Engadin"]),
    }
}

pub(super) fn return_authorised() -> Reply {
    Reply::ReturnAuthorised {
        order_number: order(),
        return_id: ReturnId::new("R-2026-0077"),
        label_url: Some("https://labels.example.ch/r/2026-0077.pdf".to_owned()),
        items: titles(&["Merino Pullover", "Trekking-Socken"]),
        resolution: ResolutionKind::Refund,
        refund_estimate: Some(chf(12_340)),
        return_shipping_fee: Some(chf(700)),
        inspection_required: false,
    }
}

pub(super) fn return_denied() -> Reply {
    Reply::ReturnDenied {
        order_number: order(),
        reasons: vec![ReasonCode::WindowExpired, ReasonCode::FinalSale],
        items: titles(&["Daunenjacke Alpina"]),
    }
}

/// Every reason code, in declaration order.
pub(super) const ALL_REASONS: [ReasonCode; 48] = {
    use ReasonCode as R;
    [
        R::WithinWindow,
        R::WindowExpired,
        R::SeasonalExtension,
        R::LegalFloor,
        R::FinalSale,
        R::WarrantyClaim,
        R::Hygiene,
        R::NotReturnable,
        R::InspectionRequired,
        R::ResolutionNotAllowed,
        R::ExchangeUnavailable,
        R::GiftCardInsufficient,
        R::UnknownLine,
        R::QuantityExceeded,
        R::EmptyRequest,
        R::NotShipped,
        R::RestockingFee,
        R::RestockingFeeWaived,
        R::ReturnShippingFee,
        R::ReturnShippingWaived,
        R::ShippingRefunded,
        R::StoreCreditBonus,
        R::GradeDeduction,
        R::CappedAtRefundable,
        R::NothingToRefund,
        R::ReceiveOnly,
        R::Received,
        R::ReceiptMismatch,
        R::AboveRefundLimit,
        R::AboveCustomerPeriodLimit,
        R::HighValueOrder,
        R::FraudFlagged,
        R::ReturnRateTooHigh,
        R::TooManyReturns,
        R::Blocklisted,
        R::PartialRefund,
        R::Disputed,
        R::CurrencyMismatch,
        R::ChangeAllowed,
        R::AlreadyFulfilled,
        R::StateNotAllowed,
        R::ReasonNotAllowed,
        R::ChangeDisabled,
        R::ModificationLimitReached,
        R::CountryChange,
        R::PriceDifference,
        R::AddressUndeliverable,
        R::RuleError,
    ]
};

/// Does not compile when a reason code is added: add it to [`ALL_REASONS`] too.
#[allow(dead_code)]
fn every_reason_is_listed(code: ReasonCode) {
    use ReasonCode as R;
    match code {
        R::WithinWindow
        | R::WindowExpired
        | R::SeasonalExtension
        | R::LegalFloor
        | R::FinalSale
        | R::WarrantyClaim
        | R::Hygiene
        | R::NotReturnable
        | R::InspectionRequired
        | R::ResolutionNotAllowed
        | R::ExchangeUnavailable
        | R::GiftCardInsufficient
        | R::UnknownLine
        | R::QuantityExceeded
        | R::EmptyRequest
        | R::NotShipped
        | R::RestockingFee
        | R::RestockingFeeWaived
        | R::ReturnShippingFee
        | R::ReturnShippingWaived
        | R::ShippingRefunded
        | R::StoreCreditBonus
        | R::GradeDeduction
        | R::CappedAtRefundable
        | R::NothingToRefund
        | R::ReceiveOnly
        | R::Received
        | R::ReceiptMismatch
        | R::AboveRefundLimit
        | R::AboveCustomerPeriodLimit
        | R::HighValueOrder
        | R::FraudFlagged
        | R::ReturnRateTooHigh
        | R::TooManyReturns
        | R::Blocklisted
        | R::PartialRefund
        | R::Disputed
        | R::CurrencyMismatch
        | R::ChangeAllowed
        | R::AlreadyFulfilled
        | R::StateNotAllowed
        | R::ReasonNotAllowed
        | R::ChangeDisabled
        | R::ModificationLimitReached
        | R::CountryChange
        | R::PriceDifference
        | R::AddressUndeliverable
        | R::RuleError => {}
    }
}

/// Internal codes: never to be told to a customer.
pub(super) const INTERNAL_REASONS: [ReasonCode; 12] = {
    use ReasonCode as R;
    [
        R::ReceiptMismatch,
        R::AboveRefundLimit,
        R::AboveCustomerPeriodLimit,
        R::HighValueOrder,
        R::FraudFlagged,
        R::ReturnRateTooHigh,
        R::TooManyReturns,
        R::Blocklisted,
        R::PartialRefund,
        R::Disputed,
        R::CurrencyMismatch,
        R::RuleError,
    ]
};

/// One of each variant, and the interesting cases of some.
pub(super) fn all_replies() -> Vec<Reply> {
    let address = Address {
        name: "Anna Muster".to_owned(),
        line1: "Bahnhofstrasse 1".to_owned(),
        line2: Some("c/o Muster AG".to_owned()),
        postcode: "8001".to_owned(),
        city: "Zürich".to_owned(),
        region: None,
        country: "CH".to_owned(),
    };
    vec![
        Reply::AskVerification { order_number: None },
        Reply::AskVerification {
            order_number: Some(order()),
        },
        Reply::NotVerified,
        Reply::VerificationLocked,
        Reply::AskWhichOrder {
            candidates: vec![
                OrderSummary {
                    number: order(),
                    placed_at: at(20, 9, 0),
                    items: titles(&["Merino Pullover"]),
                },
                OrderSummary {
                    number: OrderNumber::new("#1040"),
                    placed_at: at(2, 18, 30),
                    items: titles(&["Lampe Lumo", "Daunenjacke Alpina"]),
                },
            ],
        },
        Reply::AskWhichOrder { candidates: vec![] },
        wismo_two_parcels(),
        Reply::OrderStatus {
            order_number: order(),
            parcels: vec![parcel_delivered()],
            unshipped_items: vec![],
        },
        Reply::OrderStatus {
            order_number: order(),
            parcels: vec![],
            unshipped_items: titles(&["Mütze Engadin"]),
        },
        Reply::AskReturnDetails {
            order_number: order(),
            items: titles(&["Merino Pullover", "Trekking-Socken", "Lampe Lumo"]),
        },
        return_authorised(),
        Reply::ReturnAuthorised {
            order_number: order(),
            return_id: ReturnId::new("R-2026-0078"),
            label_url: None,
            items: titles(&["Lampe Lumo"]),
            resolution: ResolutionKind::StoreCredit,
            refund_estimate: None,
            return_shipping_fee: None,
            inspection_required: true,
        },
        Reply::ReturnAuthorised {
            order_number: order(),
            return_id: ReturnId::new("R-2026-0079"),
            label_url: Some("javascript:alert(1)".to_owned()),
            items: titles(&["Trekking-Socken"]),
            resolution: ResolutionKind::Exchange,
            refund_estimate: Some(chf(500)),
            return_shipping_fee: Some(chf(700)),
            inspection_required: false,
        },
        return_denied(),
        Reply::ReturnDenied {
            order_number: order(),
            reasons: vec![ReasonCode::FraudFlagged, ReasonCode::TooManyReturns],
            items: titles(&["Daunenjacke Alpina"]),
        },
        Reply::HandedToHuman {
            topic: HandoverTopic::RefundApproval,
            ticket_reference: Some("T-5581".to_owned()),
        },
        Reply::HandedToHuman {
            topic: HandoverTopic::Complaint,
            ticket_reference: None,
        },
        Reply::ReturnReceived {
            order_number: order(),
            awaiting_inspection: true,
        },
        Reply::ReturnReceived {
            order_number: order(),
            awaiting_inspection: false,
        },
        Reply::RefundIssued {
            order_number: order(),
            amount: chf(12_340),
            tenders: vec![Tender::Card, Tender::Twint],
        },
        Reply::RefundIssued {
            order_number: order(),
            amount: chf(2_000),
            tenders: vec![Tender::StoreCredit],
        },
        Reply::RefundStatus {
            order_number: order(),
            refunds: vec![
                RefundSummary {
                    amount: chf(4_000),
                    state: RefundState::Succeeded,
                    created_at: at(20, 10, 0),
                },
                RefundSummary {
                    amount: chf(900),
                    state: RefundState::Pending,
                    created_at: at(21, 10, 0),
                },
            ],
            return_in_progress: true,
        },
        Reply::RefundStatus {
            order_number: order(),
            refunds: vec![],
            return_in_progress: false,
        },
        Reply::OrderCancelled {
            order_number: order(),
            refund: Some(chf(18_990)),
        },
        Reply::OrderCancelled {
            order_number: order(),
            refund: None,
        },
        Reply::AddressChanged {
            order_number: order(),
            address,
        },
        Reply::ItemsModified {
            order_number: order(),
        },
        Reply::ChangeDenied {
            order_number: order(),
            change: ChangeKind::Cancel,
            reasons: vec![ReasonCode::AlreadyFulfilled],
        },
        Reply::ChangeDenied {
            order_number: order(),
            change: ChangeKind::Address,
            reasons: vec![ReasonCode::CountryChange, ReasonCode::Blocklisted],
        },
        Reply::ChangeDenied {
            order_number: order(),
            change: ChangeKind::Items,
            reasons: vec![ReasonCode::RuleError],
        },
        Reply::ExceptionNotice {
            order_number: order(),
            kind: ExceptionKind::Delayed,
            parcel: Some(parcel_late()),
        },
        Reply::ExceptionNotice {
            order_number: order(),
            kind: ExceptionKind::SplitShipment,
            parcel: None,
        },
        Reply::PolicySummary {
            window_days: 30,
            return_shipping_fee: Some(chf(700)),
        },
        Reply::PolicySummary {
            window_days: 14,
            return_shipping_fee: None,
        },
        Reply::SystemUnavailable,
        Reply::Clarify,
    ]
}

/// Every handover topic.
pub(super) const ALL_TOPICS: [HandoverTopic; 6] = [
    HandoverTopic::PolicyReview,
    HandoverTopic::RefundApproval,
    HandoverTopic::CustomerRequest,
    HandoverTopic::Complaint,
    HandoverTopic::NotUnderstood,
    HandoverTopic::ShippingException,
];

/// Every exception kind.
pub(super) const ALL_EXCEPTIONS: [ExceptionKind; 9] = [
    ExceptionKind::Delayed,
    ExceptionKind::Lost,
    ExceptionKind::CustomsHold,
    ExceptionKind::AddressIssue,
    ExceptionKind::Damaged,
    ExceptionKind::ReturnedToSender,
    ExceptionKind::CarrierException,
    ExceptionKind::SplitShipment,
    ExceptionKind::Substitution,
];

/// Every tracking status.
pub(super) const ALL_STATUSES: [TrackingStatus; 14] = [
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

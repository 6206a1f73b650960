//! What the agent wants to tell a customer, as data. Rendering into words happens per locale and
//! channel in [`super::render`], so flows never build text and every reply exists in every locale.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Address, OrderNumber, RefundState, ResolutionKind, ReturnId, Tender};
use crate::flows::shipping::{ExceptionKind, ParcelStatus};
use crate::money::Money;
use crate::policy::ReasonCode;

/// A short description of an order, for "which order do you mean?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderSummary {
    /// The order number.
    pub number: OrderNumber,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Item titles.
    pub items: Vec<String>,
}

/// One refund, for a refund-status answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundSummary {
    /// Amount.
    pub amount: Money,
    /// State at the processor.
    pub state: RefundState,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// Why a conversation went to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoverTopic {
    /// The policy needs a person's judgement (warranty, inspection, mixed cases).
    PolicyReview,
    /// A refund needs approval (limits, fraud signals, partial refunds).
    RefundApproval,
    /// The customer asked for a person.
    CustomerRequest,
    /// The customer is unhappy.
    Complaint,
    /// The agent did not understand the message.
    NotUnderstood,
    /// A shipping problem staff are looking into.
    ShippingException,
}

/// Which order change a reply is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Cancellation.
    Cancel,
    /// Shipping address change.
    Address,
    /// Item modification.
    Items,
}

/// A reply to a customer, before it is put into words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reply {
    /// Ask for the order number and two details to confirm ownership (e.g. email and postcode).
    AskVerification {
        /// The order number already given, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        order_number: Option<OrderNumber>,
    },
    /// The details did not match an order (the same words for every kind of mismatch).
    NotVerified,
    /// Too many failed attempts: no more lookups for a while.
    VerificationLocked,
    /// Several orders could be meant: which one?
    AskWhichOrder {
        /// The candidates, newest first.
        candidates: Vec<OrderSummary>,
    },
    /// Where the order is, per parcel.
    OrderStatus {
        /// The order number.
        order_number: OrderNumber,
        /// Each parcel.
        parcels: Vec<ParcelStatus>,
        /// Items not shipped yet.
        unshipped_items: Vec<String>,
    },
    /// Which items, and why? (a return request without enough detail)
    AskReturnDetails {
        /// The order number.
        order_number: OrderNumber,
        /// Returnable item titles.
        items: Vec<String>,
    },
    /// The return is authorised.
    ReturnAuthorised {
        /// The order number.
        order_number: OrderNumber,
        /// The return (RMA) id.
        return_id: ReturnId,
        /// The label to print, when one was created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label_url: Option<String>,
        /// Item titles returned.
        items: Vec<String>,
        /// The resolution.
        resolution: ResolutionKind,
        /// What the customer will get, when known now.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refund_estimate: Option<Money>,
        /// Return shipping deducted, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        return_shipping_fee: Option<Money>,
        /// The money waits for an inspection.
        inspection_required: bool,
    },
    /// The return is refused.
    ReturnDenied {
        /// The order number.
        order_number: OrderNumber,
        /// Why, as reason codes (rendered into plain words).
        reasons: Vec<ReasonCode>,
        /// Item titles refused.
        items: Vec<String>,
    },
    /// A person takes over.
    HandedToHuman {
        /// Why.
        topic: HandoverTopic,
        /// The ticket reference to quote, if one exists.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ticket_reference: Option<String>,
    },
    /// The returned items arrived.
    ReturnReceived {
        /// The order number.
        order_number: OrderNumber,
        /// The refund waits for an inspection.
        awaiting_inspection: bool,
    },
    /// Money was sent back.
    RefundIssued {
        /// The order number.
        order_number: OrderNumber,
        /// Amount.
        amount: Money,
        /// To which tenders.
        tenders: Vec<Tender>,
    },
    /// Where refunds of the order stand.
    RefundStatus {
        /// The order number.
        order_number: OrderNumber,
        /// Refunds so far.
        refunds: Vec<RefundSummary>,
        /// A return is on its way or being inspected.
        return_in_progress: bool,
    },
    /// The order is cancelled.
    OrderCancelled {
        /// The order number.
        order_number: OrderNumber,
        /// Money going back, if any was captured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        refund: Option<Money>,
    },
    /// The shipping address changed.
    AddressChanged {
        /// The order number.
        order_number: OrderNumber,
        /// The new address.
        address: Address,
    },
    /// The items changed.
    ItemsModified {
        /// The order number.
        order_number: OrderNumber,
    },
    /// A change was refused.
    ChangeDenied {
        /// The order number.
        order_number: OrderNumber,
        /// Which change.
        change: ChangeKind,
        /// Why.
        reasons: Vec<ReasonCode>,
    },
    /// A proactive notice about a shipping exception.
    ExceptionNotice {
        /// The order number.
        order_number: OrderNumber,
        /// What happened.
        kind: ExceptionKind,
        /// The parcel, when one is concerned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parcel: Option<ParcelStatus>,
    },
    /// The return policy in short.
    PolicySummary {
        /// Default window in days.
        window_days: i64,
        /// Return shipping fee, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        return_shipping_fee: Option<Money>,
    },
    /// Our systems are unavailable; a person will follow up.
    SystemUnavailable,
    /// Could you say more about what you need?
    Clarify,
}

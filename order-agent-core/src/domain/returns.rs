//! Return requests, exchanges, receipts with inspection grades.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ids::{LineId, LocationId, OrderId, ProductId, ReturnId, Sku, VariantId};
use crate::money::Money;

/// Why the customer returns an item, recorded when the return is initiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnReason {
    /// Arrived damaged.
    Damaged,
    /// Does not work.
    Defective,
    /// Not the item ordered.
    WrongItem,
    /// Differs from its description.
    NotAsDescribed,
    /// Wrong size or fit.
    DoesNotFit,
    /// No longer wanted.
    ChangedMind,
    /// Arrived too late to be of use.
    ArrivedLate,
    /// Found cheaper elsewhere.
    FoundCheaper,
    /// Anything else.
    Other,
}

impl ReturnReason {
    /// Every reason, in declaration order.
    pub const ALL: [ReturnReason; 9] = [
        ReturnReason::Damaged,
        ReturnReason::Defective,
        ReturnReason::WrongItem,
        ReturnReason::NotAsDescribed,
        ReturnReason::DoesNotFit,
        ReturnReason::ChangedMind,
        ReturnReason::ArrivedLate,
        ReturnReason::FoundCheaper,
        ReturnReason::Other,
    ];

    /// True when the merchant or carrier is at fault rather than the customer's preference.
    pub fn is_merchant_fault(self) -> bool {
        matches!(
            self,
            ReturnReason::Damaged
                | ReturnReason::Defective
                | ReturnReason::WrongItem
                | ReturnReason::NotAsDescribed
        )
    }
}

/// What the customer wants in exchange for the returned items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionKind {
    /// Money back to the original tenders.
    Refund,
    /// Store credit (possibly with a bonus).
    StoreCredit,
    /// Another variant of the same product.
    Exchange,
}

/// One line of a return request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnLine {
    /// The order line returned.
    pub line_id: LineId,
    /// Units returned.
    pub quantity: u32,
    /// Why.
    pub reason: ReturnReason,
    /// For an exchange: the wanted variant of the same product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_for: Option<VariantId>,
}

/// A customer's request to return items of one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// The order.
    pub order_id: OrderId,
    /// What is returned.
    pub lines: Vec<ReturnLine>,
    /// The wanted resolution.
    pub resolution: ResolutionKind,
}

/// A variant offered for an exchange, with its price and stock, gathered from the OMS and inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeOffer {
    /// The product.
    pub product_id: ProductId,
    /// The variant.
    pub variant_id: VariantId,
    /// Its SKU.
    pub sku: Sku,
    /// Current unit price.
    pub unit_price: Money,
    /// Units available to promise.
    pub available: u32,
}

/// The grade staff give a returned item after inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectionGrade {
    /// As new, resellable at full price.
    New,
    /// Opened or lightly used, resellable as open box.
    OpenBox,
    /// Needs refurbishment before resale.
    Refurbish,
    /// Damaged by the customer: not resellable.
    Damaged,
    /// Faulty from the factory: goes back to the vendor.
    Defective,
    /// Not the item that was sold, or parts missing.
    NotAsSold,
}

impl InspectionGrade {
    /// Every grade, in declaration order.
    pub const ALL: [InspectionGrade; 6] = [
        InspectionGrade::New,
        InspectionGrade::OpenBox,
        InspectionGrade::Refurbish,
        InspectionGrade::Damaged,
        InspectionGrade::Defective,
        InspectionGrade::NotAsSold,
    ];
}

/// One line of a warehouse receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLine {
    /// The order line.
    pub line_id: LineId,
    /// Units received.
    pub quantity: u32,
    /// Grade from inspection; absent for a plain scan-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<InspectionGrade>,
}

/// The warehouse scanned a return in, or staff graded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The return.
    pub return_id: ReturnId,
    /// What arrived.
    pub lines: Vec<ReceivedLine>,
    /// When.
    pub received_at: DateTime<Utc>,
    /// Where.
    pub location: LocationId,
    /// Staff asked to receive without refunding (e.g. the refund goes another way).
    #[serde(default)]
    pub receive_only: bool,
}

/// A return the agent authorised, as kept in the state store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnAuthorisation {
    /// Return id.
    pub id: ReturnId,
    /// The request as authorised (only the approved lines).
    pub request: ReturnRequest,
    /// When it was authorised.
    pub authorised_at: DateTime<Utc>,
    /// Policy version that authorised it.
    pub policy_version: String,
}

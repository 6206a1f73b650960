//! What the policy engine is asked, what it is told, and what it answers.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::RestockDisposition;
use crate::domain::{
    AddressChangeRequest, CancellationRequest, Customer, ExchangeOffer, InspectionGrade,
    ItemModificationRequest, LineId, Order, PaymentId, Receipt, ResolutionKind, ReturnRequest,
    Tender,
};
use crate::money::Money;

/// A question for the policy engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// May these items be returned, and for how much?
    Return(ReturnRequest),
    /// The warehouse received (and perhaps graded) an authorised return: refund how much, restock where?
    Receipt {
        /// The return as it was authorised.
        authorised: ReturnRequest,
        /// What arrived.
        receipt: Receipt,
    },
    /// May the order be cancelled?
    Cancellation(CancellationRequest),
    /// May the shipping address change?
    AddressChange(AddressChangeRequest),
    /// May the items change?
    ItemModification(ItemModificationRequest),
}

/// Everything the engine may know, gathered by the shell before it asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// The order, with payments (captured and refunded so far) and shipments.
    pub order: Order,
    /// The customer who owns it.
    pub customer: Customer,
    /// Units of each line already returned in *earlier* returns (authorised or refunded), so that
    /// no unit is returned or refunded twice. For a [`Request::Receipt`], the units of the return
    /// being received are not included: they are the ones this decision prices.
    #[serde(default)]
    pub returned_quantities: BTreeMap<LineId, u32>,
    /// Variants on offer for exchanges.
    #[serde(default)]
    pub exchange_offers: Vec<ExchangeOffer>,
    /// Balance on the customer's gift card, when an exchange charge would be paid from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_card_balance: Option<Money>,
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The agent may act.
    Approve,
    /// The request is refused, with reasons the customer can read.
    Deny,
    /// A human decides; the agent opens a ticket and does nothing else.
    NeedsHuman,
}

/// Machine-readable reason codes. Replies and tickets are built from these, never from free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReasonCode {
    // eligibility
    /// Within the return window.
    WithinWindow,
    /// The return window has passed.
    WindowExpired,
    /// Eligible thanks to a seasonal extension.
    SeasonalExtension,
    /// Eligible thanks to a statutory floor.
    LegalFloor,
    /// The item was sold as final sale.
    FinalSale,
    /// A non-returnable or out-of-window item reported faulty: a warranty case for a human.
    WarrantyClaim,
    /// Hygiene item.
    Hygiene,
    /// Otherwise non-returnable (personalised, perishable, digital).
    NotReturnable,
    /// Refund waits for a human inspection grade.
    InspectionRequired,
    /// The wanted resolution is not offered for this item.
    ResolutionNotAllowed,
    /// The wanted variant is not available, or not of the same product.
    ExchangeUnavailable,
    /// The gift card does not cover the exchange difference.
    GiftCardInsufficient,
    /// The line is not part of the order.
    UnknownLine,
    /// More units than bought (or not yet returned).
    QuantityExceeded,
    /// The request names no units.
    EmptyRequest,
    /// The item has not shipped yet: cancel or modify instead.
    NotShipped,
    // money
    /// Restocking fee charged.
    RestockingFee,
    /// Restocking fee waived (reason code or loyalty).
    RestockingFeeWaived,
    /// Return shipping charged.
    ReturnShippingFee,
    /// Return shipping waived.
    ReturnShippingWaived,
    /// Original shipping refunded.
    ShippingRefunded,
    /// Store-credit bonus added.
    StoreCreditBonus,
    /// Grade deduction applied on receipt.
    GradeDeduction,
    /// The refund was capped at what remains refundable.
    CappedAtRefundable,
    /// Nothing is left to refund.
    NothingToRefund,
    /// Received without refunding, as staff asked.
    ReceiveOnly,
    /// Received as authorised: restocked, and refunded as the grade (or ungraded scan-in) allows.
    Received,
    /// Received units differ from the authorised ones.
    ReceiptMismatch,
    // limits and fraud
    /// Above the per-request auto-refund limit.
    AboveRefundLimit,
    /// Above the customer's rolling refund limit.
    AboveCustomerPeriodLimit,
    /// A high-value order.
    HighValueOrder,
    /// The order is flagged as fraud risk.
    FraudFlagged,
    /// The customer's return rate is above the limit.
    ReturnRateTooHigh,
    /// Too many returns in the period.
    TooManyReturns,
    /// The email or address is blocklisted.
    Blocklisted,
    /// Less than the full value would be refunded.
    PartialRefund,
    /// A dispute or chargeback is open.
    Disputed,
    /// The order is in another currency than the policy.
    CurrencyMismatch,
    // order changes
    /// The change is allowed.
    ChangeAllowed,
    /// The order has already shipped (or been cancelled).
    AlreadyFulfilled,
    /// The order is not in a state where this is possible.
    StateNotAllowed,
    /// The cancellation reason is not accepted for self-service.
    ReasonNotAllowed,
    /// The merchant disabled this kind of change.
    ChangeDisabled,
    /// The order was already modified as often as allowed.
    ModificationLimitReached,
    /// The new address is in another country.
    CountryChange,
    /// The swapped variant has another price.
    PriceDifference,
    /// The carrier cannot deliver to the new address.
    AddressUndeliverable,
    // engine
    /// The engine could not evaluate a rule; failing closed.
    RuleError,
}

/// One reason behind a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// The code.
    pub code: ReasonCode,
    /// The rule (a rule id from the policy, or the policy section, e.g. `limits.max_auto_refund`)
    /// that produced it.
    pub rule: RuleRef,
    /// The line it concerns, if one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_id: Option<LineId>,
    /// Plain words for staff and logs (English); customer replies are templated from `code`.
    pub detail: Detail,
}

/// The rule behind a reason: a section of the policy file, or a rule's id. Shown and serialised as
/// plain text; cloning it never allocates.
#[derive(Debug, Clone)]
pub enum RuleRef {
    /// A policy section or built-in check, e.g. `limits.max_auto_refund`.
    Section(&'static str),
    /// A rule, seasonal extension or legal floor of the policy, by id.
    Rule(super::model::RuleId),
}

impl std::ops::Deref for RuleRef {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            RuleRef::Section(s) => s,
            RuleRef::Rule(id) => id,
        }
    }
}

impl std::fmt::Display for RuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self)
    }
}

impl PartialEq for RuleRef {
    fn eq(&self, other: &RuleRef) -> bool {
        **self == **other
    }
}

impl Eq for RuleRef {}

impl From<&'static str> for RuleRef {
    fn from(section: &'static str) -> RuleRef {
        RuleRef::Section(section)
    }
}

impl From<super::model::RuleId> for RuleRef {
    fn from(id: super::model::RuleId) -> RuleRef {
        RuleRef::Rule(id)
    }
}

impl Serialize for RuleRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

impl<'de> Deserialize<'de> for RuleRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RuleRef, D::Error> {
        String::deserialize(d).map(|s| RuleRef::Rule(s.into()))
    }
}

/// The plain words of a [`Reason`]. The common ones keep their figures and are put into words
/// only when displayed or serialised, so that deciding never pays for text nobody reads; in JSON
/// every detail is a plain string.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Detail {
    /// Ready text.
    Text(Cow<'static, str>),
    /// The return window, still open (`ended: false`) or closed.
    Window {
        /// Its length in days.
        days: i64,
        /// Its last day.
        until: chrono::NaiveDate,
        /// Whether it has passed.
        ended: bool,
    },
    /// An amount, after a fixed phrase: `{before}{amount}{after}`.
    Amount {
        /// Words before the amount.
        before: &'static str,
        /// The amount.
        amount: Money,
        /// Words after it.
        after: &'static str,
    },
}

impl Detail {
    /// The words, as text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Detail::Text(text) => Cow::Borrowed(text),
            other => Cow::Owned(other.to_string()),
        }
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Detail::Text(text) => f.pad(text),
            Detail::Window { days, until, ended } => {
                let text = if *ended {
                    format!("the {days}-day window ended on {until}")
                } else {
                    format!("within the {days}-day window (until {until})")
                };
                f.pad(&text)
            }
            Detail::Amount {
                before,
                amount,
                after,
            } => f.pad(&format!("{before}{amount}{after}")),
        }
    }
}

impl PartialEq for Detail {
    fn eq(&self, other: &Detail) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Detail {}

impl From<&'static str> for Detail {
    fn from(text: &'static str) -> Detail {
        Detail::Text(Cow::Borrowed(text))
    }
}

impl From<String> for Detail {
    fn from(text: String) -> Detail {
        Detail::Text(Cow::Owned(text))
    }
}

impl Serialize for Detail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Detail {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Detail, D::Error> {
        String::deserialize(d).map(Detail::from)
    }
}

/// The verdict on one requested line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineVerdict {
    /// The line.
    pub line_id: LineId,
    /// Units concerned.
    pub quantity: u32,
    /// Its outcome.
    pub outcome: Outcome,
    /// The return rule that governed it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<super::model::RuleId>,
    /// Where the item goes once received (receipts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restock: Option<RestockDisposition>,
    /// The grade it received (receipts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<InspectionGrade>,
}

/// Money for one returned line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundLine {
    /// The line.
    pub line_id: LineId,
    /// Units.
    pub quantity: u32,
    /// Unit price × units.
    pub item: Money,
    /// Line discount plus the allocated share of the order discount (positive).
    pub discount: Money,
    /// Tax: added on top when prices exclude tax; the included share otherwise (informational).
    pub tax: Money,
    /// Allocated share of the original shipping refunded.
    pub shipping: Money,
    /// Fees and grade deductions taken from this line (positive).
    pub fees: Money,
    /// What the customer gets for this line.
    pub net: Money,
}

/// Money to one tender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenderRefund {
    /// The payment refunded; `None` for newly issued store credit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<PaymentId>,
    /// The tender.
    pub tender: Tender,
    /// Amount.
    pub amount: Money,
}

/// The money side of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundBreakdown {
    /// The resolution the money takes.
    pub resolution: ResolutionKind,
    /// Per line.
    pub lines: Vec<RefundLine>,
    /// Return shipping fee charged once per return (already deducted from the total).
    pub return_shipping_fee: Money,
    /// Bonus on store credit (included in the total).
    pub store_credit_bonus: Money,
    /// For exchanges: the price of the new variants, and what the customer owes (positive) or is
    /// owed (negative, refunded through `tenders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange_difference: Option<Money>,
    /// What the customer gets: the sum of line nets, minus return shipping, plus bonus.
    pub total: Money,
    /// Where the money goes.
    pub tenders: Vec<TenderRefund>,
}

/// The answer: total (every input gets one) and explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// The verdict.
    pub outcome: Outcome,
    /// Why, in evaluation order.
    pub reasons: Vec<Reason>,
    /// The policy version that decided.
    pub policy_version: String,
    /// Per requested line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<LineVerdict>,
    /// Money, where the request moves money.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<RefundBreakdown>,
    /// Rules the engine could not evaluate (each also forces `needs_human`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Decision {
    /// Whether any reason carries `code`.
    pub fn has_reason(&self, code: ReasonCode) -> bool {
        self.reasons.iter().any(|r| r.code == code)
    }

    /// The distinct reason codes, in first-seen order.
    pub fn reason_codes(&self) -> Vec<ReasonCode> {
        let mut codes = Vec::new();
        for r in &self.reasons {
            if !codes.contains(&r.code) {
                codes.push(r.code);
            }
        }
        codes
    }
}

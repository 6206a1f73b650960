//! The policy file: a versioned, serde-described set of merchant rules, read from TOML or JSON.
//!
//! Unknown fields are errors everywhere (`deny_unknown_fields`): a typo must never silently change
//! what the agent does with money. Amounts are decimal strings in the policy's currency.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::{
    CancellationReason, InspectionGrade, ResolutionKind, ReturnReason, TrackingStatus,
};
use crate::money::Currency;

/// The id of a rule, seasonal extension or legal floor: quoted in every decision it shapes, and
/// shared rather than copied there.
pub type RuleId = std::sync::Arc<str>;

/// A merchant's whole policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Version label recorded with every decision, e.g. `2026-11-01`.
    pub version: String,
    /// The currency every amount in this file is in; orders in another currency are escalated.
    pub currency: Currency,
    /// The merchant's time zone (IANA name, e.g. `Europe/Zurich`); windows count calendar days in it.
    pub timezone: Tz,
    /// Return windows, category rules, resolutions.
    pub returns: ReturnsPolicy,
    /// Fees charged on returns.
    #[serde(default)]
    pub fees: FeesPolicy,
    /// Limits above which a human approves.
    #[serde(default)]
    pub limits: LimitsPolicy,
    /// Fraud signals that send a request to a human.
    #[serde(default)]
    pub fraud: FraudPolicy,
    /// Refund behaviour on receipt: refund share and restock disposition per grade.
    #[serde(default)]
    pub receiving: ReceivingPolicy,
    /// Cancellation before fulfilment.
    #[serde(default)]
    pub cancellation: CancellationPolicy,
    /// Shipping-address changes.
    #[serde(default)]
    pub address_change: AddressChangePolicy,
    /// Item modifications.
    #[serde(default)]
    pub item_modification: ItemModificationPolicy,
    /// What counts as a shipping exception.
    #[serde(default)]
    pub exceptions: ExceptionPolicy,
    /// Statutory minimums merchant rules cannot undercut.
    #[serde(default)]
    pub legal_floors: Vec<LegalFloor>,
}

/// When the return window starts counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowStart {
    /// From delivery; falling back to shipment + transit allowance, else the order date.
    #[default]
    Delivery,
    /// From the order date.
    Order,
}

/// Return windows and category rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnsPolicy {
    /// Window in days for items no rule matches.
    pub default_window_days: i64,
    /// What the window counts from.
    #[serde(default)]
    pub window_starts_at: WindowStart,
    /// Days added to the shipment date when the delivery date is unknown.
    #[serde(default = "default_transit_allowance")]
    pub transit_allowance_days: i64,
    /// Resolutions allowed where no rule says otherwise.
    #[serde(default = "default_resolutions")]
    pub default_resolutions: Vec<ResolutionKind>,
    /// Lines flagged final sale are not returnable (except where a legal floor applies).
    #[serde(default = "default_true")]
    pub final_sale_not_returnable: bool,
    /// A non-returnable or out-of-window item reported damaged, defective, wrong or not as
    /// described goes to a human (a warranty claim) instead of being denied.
    #[serde(default = "default_true")]
    pub defects_to_human: bool,
    /// Rules, first match wins.
    #[serde(default)]
    pub rules: Vec<ReturnRule>,
    /// Extensions for purchases in a season (e.g. holiday gifts).
    #[serde(default)]
    pub seasonal_extensions: Vec<SeasonalExtension>,
}

fn default_transit_allowance() -> i64 {
    5
}

fn default_resolutions() -> Vec<ResolutionKind> {
    vec![
        ResolutionKind::Refund,
        ResolutionKind::StoreCredit,
        ResolutionKind::Exchange,
    ]
}

fn default_true() -> bool {
    true
}

/// Which lines a rule applies to. A line matches when it matches any listed SKU, tag or category;
/// an empty matcher matches every line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineMatcher {
    /// Categories (case-insensitive).
    #[serde(default)]
    pub categories: Vec<String>,
    /// Tags (case-insensitive).
    #[serde(default)]
    pub tags: Vec<String>,
    /// SKUs (exact).
    #[serde(default)]
    pub skus: Vec<String>,
}

impl LineMatcher {
    /// True when the matcher names nothing, so it matches every line.
    pub fn is_catch_all(&self) -> bool {
        self.categories.is_empty() && self.tags.is_empty() && self.skus.is_empty()
    }
}

/// Why a rule makes items non-returnable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonReturnableReason {
    /// Hygiene (underwear, earrings, opened cosmetics).
    Hygiene,
    /// Sold as final sale.
    FinalSale,
    /// Personalised or made to order.
    Personalised,
    /// Perishable.
    Perishable,
    /// Digital goods or downloads.
    Digital,
}

/// A return rule for the lines it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnRule {
    /// Rule id, quoted in every decision it shapes.
    pub id: RuleId,
    /// Lines it applies to.
    #[serde(default, rename = "match")]
    pub matcher: LineMatcher,
    /// Window in days; defaults to the policy's default window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_days: Option<i64>,
    /// Set to make the matched items non-returnable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_returnable: Option<NonReturnableReason>,
    /// Money waits for a human inspection grade.
    #[serde(default)]
    pub inspection_required: bool,
    /// Resolutions allowed; defaults to the policy's default resolutions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolutions: Option<Vec<ResolutionKind>>,
    /// Bonus on store credit, in percent of the credited amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_credit_bonus_percent: Option<Decimal>,
    /// Overrides the policy's restocking fee for these items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restocking_fee: Option<FeeAmount>,
}

/// Purchases within `[purchased_from, purchased_to]` may be returned until at least `returns_until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeasonalExtension {
    /// Id quoted in decisions.
    pub id: RuleId,
    /// First purchase date covered (merchant time zone).
    pub purchased_from: NaiveDate,
    /// Last purchase date covered.
    pub purchased_to: NaiveDate,
    /// Returns accepted until the end of this date.
    pub returns_until: NaiveDate,
}

/// A fee: a percentage of the item value, or a fixed amount per returned line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FeeAmount {
    /// Percent of the refunded item value, rounded toward zero.
    Percent(Decimal),
    /// A fixed amount per returned line, in the policy currency (never more than the line's value).
    Fixed(Decimal),
}

/// Fees on returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesPolicy {
    /// Restocking fee for every returned line, unless a rule overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restocking: Option<FeeAmount>,
    /// Reason codes that waive the restocking fee.
    #[serde(default = "default_waivers")]
    pub restocking_waived_for: Vec<ReturnReason>,
    /// Return shipping charged once per return, in the policy currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_shipping: Option<Decimal>,
    /// Reason codes that waive the return shipping fee.
    #[serde(default = "default_waivers")]
    pub return_shipping_waived_for: Vec<ReturnReason>,
    /// Loyalty tiers that return for free (no return shipping, no restocking fee).
    #[serde(default)]
    pub free_returns_for_tiers: Vec<String>,
    /// Reason codes for which the original outbound shipping is refunded too (pro rata).
    #[serde(default = "default_waivers")]
    pub refund_original_shipping_for: Vec<ReturnReason>,
    /// Whether fees also apply to exchanges and store credit.
    #[serde(default)]
    pub fees_on_exchange_and_credit: bool,
}

fn default_waivers() -> Vec<ReturnReason> {
    vec![
        ReturnReason::Damaged,
        ReturnReason::Defective,
        ReturnReason::WrongItem,
        ReturnReason::NotAsDescribed,
    ]
}

impl Default for FeesPolicy {
    fn default() -> Self {
        FeesPolicy {
            restocking: None,
            restocking_waived_for: default_waivers(),
            return_shipping: None,
            return_shipping_waived_for: default_waivers(),
            free_returns_for_tiers: Vec::new(),
            refund_original_shipping_for: default_waivers(),
            fees_on_exchange_and_credit: false,
        }
    }
}

/// An amount over a rolling period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodLimit {
    /// The amount, in the policy currency.
    pub amount: Decimal,
    /// The rolling period in days.
    pub period_days: i64,
}

/// Above these, a human approves. Each is optional; an absent limit does not apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsPolicy {
    /// Largest refund (or credit) approved without a human, per request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_auto_refund: Option<Decimal>,
    /// Most refunded to one customer in a rolling period without a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_refunded_per_customer: Option<PeriodLimit>,
    /// Orders whose total reaches this are handled by a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_value_order: Option<Decimal>,
    /// Refunds of less than the full value (grade deductions, caps) go to a human.
    #[serde(default = "default_true")]
    pub partial_refunds_need_human: bool,
    /// Orders with an open dispute or chargeback go to a human.
    #[serde(default = "default_true")]
    pub disputes_need_human: bool,
}

impl Default for LimitsPolicy {
    fn default() -> Self {
        LimitsPolicy {
            max_auto_refund: None,
            max_refunded_per_customer: None,
            high_value_order: None,
            partial_refunds_need_human: true,
            disputes_need_human: true,
        }
    }
}

/// A count over a rolling period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountLimit {
    /// The count.
    pub count: u32,
    /// The rolling period in days.
    pub period_days: i64,
}

/// Fraud signals; any one sends the request to a human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FraudPolicy {
    /// Orders flagged by the processor or OMS go to a human.
    #[serde(default = "default_true")]
    pub flagged_orders_need_human: bool,
    /// Returns ÷ orders above this (a fraction, e.g. `0.6`) is suspicious...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_return_rate: Option<Decimal>,
    /// ...once the customer has at least this many orders.
    #[serde(default = "default_min_orders")]
    pub min_orders_for_rate: u32,
    /// More returns than this in the period is suspicious.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_returns_in_period: Option<CountLimit>,
    /// Emails never served automatically (case-insensitive).
    #[serde(default)]
    pub blocklisted_emails: Vec<String>,
    /// Shipping addresses never served automatically, as `line1|postcode|country`.
    #[serde(default)]
    pub blocklisted_addresses: Vec<String>,
}

fn default_min_orders() -> u32 {
    3
}

impl Default for FraudPolicy {
    fn default() -> Self {
        FraudPolicy {
            flagged_orders_need_human: true,
            max_return_rate: None,
            min_orders_for_rate: default_min_orders(),
            max_returns_in_period: None,
            blocklisted_emails: Vec::new(),
            blocklisted_addresses: Vec::new(),
        }
    }
}

/// Where a received item goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestockDisposition {
    /// Back to sellable stock.
    Sellable,
    /// Open-box / outlet stock.
    OpenBox,
    /// To refurbishment.
    Refurbish,
    /// Back to the vendor.
    ReturnToVendor,
    /// Written off.
    Scrap,
}

/// Refund share and restock disposition for one grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeRule {
    /// Percent of the item value refunded for this grade (100 = full).
    pub refund_percent: Decimal,
    /// Where the item goes.
    pub restock: RestockDisposition,
}

/// Refunds on receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceivingPolicy {
    /// Per grade; missing grades fall back to the built-in defaults.
    #[serde(default)]
    pub grades: BTreeMap<InspectionGrade, GradeRule>,
    /// Disposition of an ungraded scan-in of an item that needs no inspection.
    #[serde(default = "default_ungraded")]
    pub ungraded_restock: RestockDisposition,
}

fn default_ungraded() -> RestockDisposition {
    RestockDisposition::Sellable
}

impl Default for ReceivingPolicy {
    fn default() -> Self {
        ReceivingPolicy {
            grades: BTreeMap::new(),
            ungraded_restock: default_ungraded(),
        }
    }
}

impl ReceivingPolicy {
    /// The rule for `grade`: the configured one, else a conservative default.
    pub fn grade(&self, grade: InspectionGrade) -> GradeRule {
        if let Some(rule) = self.grades.get(&grade) {
            return rule.clone();
        }
        let (refund_percent, restock) = match grade {
            InspectionGrade::New => (100, RestockDisposition::Sellable),
            InspectionGrade::OpenBox => (100, RestockDisposition::OpenBox),
            InspectionGrade::Refurbish => (100, RestockDisposition::Refurbish),
            InspectionGrade::Defective => (100, RestockDisposition::ReturnToVendor),
            InspectionGrade::Damaged => (50, RestockDisposition::Scrap),
            InspectionGrade::NotAsSold => (0, RestockDisposition::Scrap),
        };
        GradeRule {
            refund_percent: Decimal::from(refund_percent),
            restock,
        }
    }
}

/// Cancellation rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancellationPolicy {
    /// Whether customers may cancel at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Order states in which cancelling is allowed (states after fulfilment are never allowed).
    #[serde(default = "default_cancel_states")]
    pub allowed_states: Vec<crate::domain::OrderStatus>,
    /// Reasons accepted; others go to a human.
    #[serde(default = "default_cancel_reasons")]
    pub allowed_reasons: Vec<CancellationReason>,
}

fn default_cancel_states() -> Vec<crate::domain::OrderStatus> {
    vec![
        crate::domain::OrderStatus::Pending,
        crate::domain::OrderStatus::Unfulfilled,
    ]
}

fn default_cancel_reasons() -> Vec<CancellationReason> {
    vec![
        CancellationReason::ChangedMind,
        CancellationReason::OrderedByMistake,
        CancellationReason::FoundCheaper,
        CancellationReason::DeliveryTooSlow,
        CancellationReason::Other,
    ]
}

impl Default for CancellationPolicy {
    fn default() -> Self {
        CancellationPolicy {
            enabled: true,
            allowed_states: default_cancel_states(),
            allowed_reasons: default_cancel_reasons(),
        }
    }
}

/// Address-change rules (only ever before fulfilment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressChangePolicy {
    /// Whether customers may change the address at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Whether the new address may be in another country (duties and rates change).
    #[serde(default)]
    pub allow_country_change: bool,
}

impl Default for AddressChangePolicy {
    fn default() -> Self {
        AddressChangePolicy {
            enabled: true,
            allow_country_change: false,
        }
    }
}

/// Item-modification rules (only ever before fulfilment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemModificationPolicy {
    /// Whether customers may modify items at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How many modifications one order may receive.
    #[serde(default = "default_max_modifications")]
    pub max_per_order: u32,
}

fn default_max_modifications() -> u32 {
    1
}

impl Default for ItemModificationPolicy {
    fn default() -> Self {
        ItemModificationPolicy {
            enabled: true,
            max_per_order: default_max_modifications(),
        }
    }
}

/// Shipping-exception thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionPolicy {
    /// Days past the promised latest date that count as a significant delay.
    #[serde(default = "default_delay_days")]
    pub delay_days: i64,
    /// Days without a scan after which a parcel in transit counts as lost.
    #[serde(default = "default_lost_days")]
    pub lost_after_days_without_scan: i64,
    /// Per-carrier overrides of the no-scan threshold, by carrier slug.
    #[serde(default)]
    pub lost_after_days_by_carrier: BTreeMap<String, i64>,
    /// Tracking statuses that are exceptions in themselves.
    #[serde(default = "default_exception_statuses")]
    pub exception_statuses: Vec<TrackingStatus>,
}

fn default_delay_days() -> i64 {
    2
}

fn default_lost_days() -> i64 {
    7
}

fn default_exception_statuses() -> Vec<TrackingStatus> {
    vec![
        TrackingStatus::CustomsHold,
        TrackingStatus::AddressIssue,
        TrackingStatus::Damaged,
        TrackingStatus::Lost,
        TrackingStatus::ReturnedToSender,
        TrackingStatus::Exception,
    ]
}

impl Default for ExceptionPolicy {
    fn default() -> Self {
        ExceptionPolicy {
            delay_days: default_delay_days(),
            lost_after_days_without_scan: default_lost_days(),
            lost_after_days_by_carrier: BTreeMap::new(),
            exception_statuses: default_exception_statuses(),
        }
    }
}

impl ExceptionPolicy {
    /// The no-scan threshold for `carrier`.
    pub fn lost_after_days(&self, carrier: &str) -> i64 {
        self.lost_after_days_by_carrier
            .get(carrier)
            .copied()
            .unwrap_or(self.lost_after_days_without_scan)
    }
}

/// A statutory minimum: for orders shipped to `countries`, items may be returned for at least
/// `withdrawal_days` from delivery, whatever the merchant rules say (final sale included unless
/// exempted), except for the exempt tags and categories (e.g. sealed hygiene goods).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalFloor {
    /// Id quoted in decisions, e.g. `eu-withdrawal`.
    pub id: RuleId,
    /// ISO 3166-1 alpha-2 destination countries it protects.
    pub countries: Vec<String>,
    /// Minimum window in days from delivery.
    pub withdrawal_days: i64,
    /// Whether the floor overrides a final-sale flag.
    #[serde(default = "default_true")]
    pub overrides_final_sale: bool,
    /// Lines the floor does not protect.
    #[serde(default)]
    pub exempt: LineMatcher,
}

impl Policy {
    /// Parses a policy from TOML. This only checks the shape; call [`Policy::validate`] before use.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyParseError> {
        toml::from_str(text).map_err(|e| PolicyParseError {
            message: e.message().to_owned(),
            location: e.span().map(|span| Location::from_offset(text, span.start)),
        })
    }

    /// Parses a policy from JSON. This only checks the shape; call [`Policy::validate`] before use.
    pub fn from_json_str(text: &str) -> Result<Policy, PolicyParseError> {
        serde_json::from_str(text).map_err(|e| PolicyParseError {
            message: e.to_string(),
            location: Some(Location {
                line: e.line(),
                column: e.column(),
            }),
        })
    }
}

/// A line and column in a policy file, both counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` in `text`.
    pub fn from_offset(text: &str, offset: usize) -> Location {
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Location { line, column }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A policy file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy file{}: {message}", location.map(|l| format!(" at {l}")).unwrap_or_default())]
pub struct PolicyParseError {
    /// What is wrong.
    pub message: String,
    /// Where, when known.
    pub location: Option<Location>,
}

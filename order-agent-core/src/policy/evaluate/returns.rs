//! Return eligibility and refunds on receipt.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::money::{paid_lines, reason_name, units_value, PaidLine};
use super::{Eval, EvalError, EvalResult, Outcome, ReasonCode, Tally};
use crate::domain::{
    LineId, OrderLine, Receipt, ResolutionKind, ReturnLine, ReturnReason, ReturnRequest,
};
use crate::money::Money;
use crate::policy::decision::{Detail, LineVerdict, RefundLine, RuleRef};
use crate::policy::model::{
    FeeAmount, LegalFloor, LineMatcher, NonReturnableReason, ReturnRule, WindowStart,
};

impl LineMatcher {
    /// Whether `line` matches: any listed SKU, tag or category (case-insensitive for tags and
    /// categories); an empty matcher matches every line.
    pub fn matches(&self, line: &OrderLine) -> bool {
        self.is_catch_all()
            || self.skus.iter().any(|s| s == line.sku.as_str())
            || self
                .categories
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&line.category))
            || self.tags.iter().any(|t| line.has_tag(t))
    }
}

/// The rule id quoted for lines no rule matches.
const DEFAULT_RULE: &str = "returns.default";

/// Eligibility of one line, before money.
struct LineEligibility {
    outcome: Outcome,
    /// Reached through a statutory floor: the customer may always take a refund.
    via_floor: bool,
}

impl<'a> Eval<'a> {
    fn rule_for(&self, line: &OrderLine) -> Option<&'a ReturnRule> {
        let policy: &'a crate::policy::model::Policy = self.policy;
        policy
            .returns
            .rules
            .iter()
            .find(|r| r.matcher.matches(line))
    }

    fn rule_name(rule: Option<&ReturnRule>) -> RuleRef {
        match rule {
            Some(r) => RuleRef::Rule(r.id.clone()),
            None => RuleRef::Section(DEFAULT_RULE),
        }
    }

    fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.policy.timezone).date_naive()
    }

    /// The date the window counts from: delivery, else shipment + transit allowance, else the
    /// order date.
    fn delivery_basis(&self, line: &OrderLine) -> NaiveDate {
        let order = &self.facts.order;
        if let Some(delivered) = order.line_delivered_at(&line.id) {
            return self.local_date(delivered);
        }
        if let Some(shipped) = order.line_shipped_at(&line.id) {
            let allowance = u64::try_from(self.policy.returns.transit_allowance_days).unwrap_or(0);
            let date = self.local_date(shipped);
            return date.checked_add_days(Days::new(allowance)).unwrap_or(date);
        }
        self.local_date(order.placed_at)
    }

    fn window_start(&self, line: &OrderLine) -> NaiveDate {
        match self.policy.returns.window_starts_at {
            WindowStart::Delivery => self.delivery_basis(line),
            WindowStart::Order => self.local_date(self.facts.order.placed_at),
        }
    }

    fn floor_for(&self, line: &OrderLine) -> Option<&'a LegalFloor> {
        let policy: &'a crate::policy::model::Policy = self.policy;
        let country = &self.facts.order.shipping_address.country;
        policy.legal_floors.iter().find(|f| {
            f.countries.iter().any(|c| c.eq_ignore_ascii_case(country))
                && (f.exempt.is_catch_all() || !f.exempt.matches(line))
        })
    }

    fn within_floor(&self, floor: &LegalFloor, line: &OrderLine) -> bool {
        let days = u64::try_from(floor.withdrawal_days).unwrap_or(0);
        let start = self.delivery_basis(line);
        start
            .checked_add_days(Days::new(days))
            .is_some_and(|deadline| self.today <= deadline)
    }

    /// A faulty item the rules would refuse: a warranty case, which staff decide.
    fn warranty_claim(&mut self, id: &LineId, reason: ReturnReason) -> LineEligibility {
        self.reason(
            ReasonCode::WarrantyClaim,
            "returns.defects_to_human",
            Some(id),
            format!(
                "reported `{}`: a warranty case for staff",
                reason_name(reason)
            ),
        );
        LineEligibility {
            outcome: Outcome::NeedsHuman,
            via_floor: false,
        }
    }

    fn eligibility(
        &mut self,
        line: &OrderLine,
        rule: Option<&ReturnRule>,
        reason: ReturnReason,
    ) -> LineEligibility {
        let id = &line.id;
        let rule_name = Self::rule_name(rule);
        let floor = self.floor_for(line).filter(|f| self.within_floor(f, line));
        let not_returnable = rule.and_then(|r| r.not_returnable).or_else(|| {
            (line.final_sale && self.policy.returns.final_sale_not_returnable)
                .then_some(NonReturnableReason::FinalSale)
        });
        let warranty = reason.is_merchant_fault() && self.policy.returns.defects_to_human;
        if let Some(kind) = not_returnable {
            if let (Some(floor), NonReturnableReason::FinalSale) = (floor, kind) {
                if floor.overrides_final_sale {
                    self.reason(
                        ReasonCode::LegalFloor,
                        floor.id.clone(),
                        Some(id),
                        format!(
                            "final sale, but within the statutory {}-day withdrawal period",
                            floor.withdrawal_days
                        ),
                    );
                    return LineEligibility {
                        outcome: Outcome::Approve,
                        via_floor: true,
                    };
                }
            }
            let (code, rule, detail): (_, RuleRef, &'static str) = match kind {
                NonReturnableReason::FinalSale if rule.and_then(|r| r.not_returnable).is_none() => {
                    (
                        ReasonCode::FinalSale,
                        RuleRef::Section("returns.final_sale_not_returnable"),
                        "sold as final sale",
                    )
                }
                NonReturnableReason::FinalSale => {
                    (ReasonCode::FinalSale, rule_name, "sold as final sale")
                }
                NonReturnableReason::Hygiene => (
                    ReasonCode::Hygiene,
                    rule_name,
                    "hygiene item: not returnable once delivered",
                ),
                NonReturnableReason::Personalised => {
                    (ReasonCode::NotReturnable, rule_name, "personalised item")
                }
                NonReturnableReason::Perishable => {
                    (ReasonCode::NotReturnable, rule_name, "perishable item")
                }
                NonReturnableReason::Digital => {
                    (ReasonCode::NotReturnable, rule_name, "digital item")
                }
            };
            self.reason(code, rule, Some(id), detail);
            if warranty {
                return self.warranty_claim(id, reason);
            }
            return LineEligibility {
                outcome: Outcome::Deny,
                via_floor: false,
            };
        }

        let window_days = rule
            .and_then(|r| r.window_days)
            .unwrap_or(self.policy.returns.default_window_days);
        let start = self.window_start(line);
        let deadline = start
            .checked_add_days(Days::new(u64::try_from(window_days).unwrap_or(0)))
            .unwrap_or(start);
        if self.today <= deadline {
            self.reason(
                ReasonCode::WithinWindow,
                rule_name,
                Some(id),
                Detail::Window {
                    days: window_days,
                    until: deadline,
                    ended: false,
                },
            );
            return LineEligibility {
                outcome: Outcome::Approve,
                via_floor: false,
            };
        }
        let placed = self.local_date(self.facts.order.placed_at);
        let policy: &'a crate::policy::model::Policy = self.policy;
        if let Some(ext) = policy.returns.seasonal_extensions.iter().find(|e| {
            e.purchased_from <= placed && placed <= e.purchased_to && self.today <= e.returns_until
        }) {
            self.reason(
                ReasonCode::SeasonalExtension,
                ext.id.clone(),
                Some(id),
                format!("seasonal extension until {}", ext.returns_until),
            );
            return LineEligibility {
                outcome: Outcome::Approve,
                via_floor: false,
            };
        }
        if let Some(floor) = floor {
            self.reason(
                ReasonCode::LegalFloor,
                floor.id.clone(),
                Some(id),
                format!(
                    "outside the merchant window, but within the statutory {}-day withdrawal period",
                    floor.withdrawal_days
                ),
            );
            return LineEligibility {
                outcome: Outcome::Approve,
                via_floor: true,
            };
        }
        self.reason(
            ReasonCode::WindowExpired,
            rule_name,
            Some(id),
            Detail::Window {
                days: window_days,
                until: deadline,
                ended: true,
            },
        );
        if warranty {
            return self.warranty_claim(id, reason);
        }
        LineEligibility {
            outcome: Outcome::Deny,
            via_floor: false,
        }
    }

    /// Checks a requested line's existence and quantity; returns the order line when usable.
    fn checked_line<'r>(
        &mut self,
        requested: &'r ReturnLine,
        claimed: &mut Tally<'r>,
    ) -> Option<&'a OrderLine> {
        let order: &'a crate::domain::Order = &self.facts.order;
        let id = &requested.line_id;
        let Some(line) = order.line(id) else {
            self.reason(
                ReasonCode::UnknownLine,
                "request",
                Some(id),
                "no such line on this order",
            );
            return None;
        };
        if requested.quantity == 0 {
            self.reason(
                ReasonCode::EmptyRequest,
                "request",
                Some(id),
                "zero units requested",
            );
            return None;
        }
        let already = self.facts.returned_quantities.get(id).copied().unwrap_or(0);
        let claimed_now = claimed.entry(id);
        let remaining = line
            .quantity
            .saturating_sub(already)
            .saturating_sub(*claimed_now);
        if requested.quantity > remaining {
            self.reason(
                ReasonCode::QuantityExceeded,
                "request",
                Some(id),
                format!(
                    "{} units requested, {remaining} of {} can still be returned",
                    requested.quantity, line.quantity
                ),
            );
            return None;
        }
        *claimed_now += requested.quantity;
        Some(line)
    }

    fn push_line(
        &mut self,
        line_id: &LineId,
        quantity: u32,
        outcome: Outcome,
        rule: Option<&ReturnRule>,
    ) {
        self.decision.lines.push(LineVerdict {
            line_id: line_id.clone(),
            quantity,
            outcome,
            rule: rule.map(|r| r.id.clone()),
            restock: None,
            grade: None,
        });
    }

    fn shipped(&self, line: &OrderLine) -> bool {
        let order = &self.facts.order;
        order
            .shipments
            .iter()
            .any(|s| s.carries(&line.id) && (s.shipped_at.is_some() || s.delivered_at.is_some()))
            || matches!(order.status, crate::domain::OrderStatus::Delivered)
    }

    pub(super) fn decide_return(&mut self, request: &ReturnRequest) -> EvalResult {
        if request.lines.is_empty() {
            self.reason(
                ReasonCode::EmptyRequest,
                "request",
                None,
                "the request names no items",
            );
            self.force(Outcome::Deny);
            return Ok(());
        }
        let mut claimed = Tally::default();
        let mut accepted: smallvec::SmallVec<[(&ReturnLine, &OrderLine, Option<&ReturnRule>); 8]> =
            smallvec::SmallVec::new();
        let mut exchange_claims: BTreeMap<&str, u32> = BTreeMap::new();
        for requested in &request.lines {
            let Some(line) = self.checked_line(requested, &mut claimed) else {
                self.push_line(&requested.line_id, requested.quantity, Outcome::Deny, None);
                continue;
            };
            let rule = self.rule_for(line);
            if !self.shipped(line) {
                self.reason(
                    ReasonCode::NotShipped,
                    "request",
                    Some(&line.id),
                    "not shipped yet: cancel or modify the order instead",
                );
                self.push_line(&line.id, requested.quantity, Outcome::Deny, rule);
                continue;
            }
            let eligibility = self.eligibility(line, rule, requested.reason);
            let mut outcome = eligibility.outcome;
            if outcome == Outcome::Approve {
                outcome = self.resolution_check(
                    request.resolution,
                    requested,
                    line,
                    rule,
                    eligibility.via_floor,
                    &mut exchange_claims,
                );
            }
            if outcome == Outcome::Approve && rule.is_some_and(|r| r.inspection_required) {
                self.reason(
                    ReasonCode::InspectionRequired,
                    Self::rule_name(rule),
                    Some(&line.id),
                    "the refund waits for staff to inspect and grade the item",
                );
            }
            self.push_line(&line.id, requested.quantity, outcome, rule);
            if outcome != Outcome::Deny {
                accepted.push((requested, line, rule));
            }
        }
        if accepted.is_empty() {
            return Ok(());
        }
        let items: smallvec::SmallVec<[ReturnedItem<'_>; 8]> = accepted
            .iter()
            .map(|(requested, line, rule)| ReturnedItem {
                line,
                rule: *rule,
                quantity: requested.quantity,
                reason: requested.reason,
                refund_percent: None,
                exchange_for: requested.exchange_for.as_ref().map(|v| v.as_str()),
            })
            .collect();
        self.money_for(request.resolution, &items)
    }

    fn resolution_check(
        &mut self,
        resolution: ResolutionKind,
        requested: &ReturnLine,
        line: &OrderLine,
        rule: Option<&ReturnRule>,
        via_floor: bool,
        exchange_claims: &mut BTreeMap<&'a str, u32>,
    ) -> Outcome {
        let allowed = rule
            .and_then(|r| r.resolutions.as_deref())
            .unwrap_or(&self.policy.returns.default_resolutions);
        let floor_refund = via_floor && resolution == ResolutionKind::Refund;
        if !allowed.contains(&resolution) && !floor_refund {
            self.reason(
                ReasonCode::ResolutionNotAllowed,
                Self::rule_name(rule),
                Some(&line.id),
                format!(
                    "`{}` is not offered for this item; offered: {}",
                    resolution_name(resolution),
                    allowed
                        .iter()
                        .map(|r| resolution_name(*r))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            return Outcome::Deny;
        }
        if resolution != ResolutionKind::Exchange {
            return Outcome::Approve;
        }
        let facts: &'a super::Facts = self.facts;
        let offer = requested.exchange_for.as_ref().and_then(|variant| {
            facts
                .exchange_offers
                .iter()
                .find(|o| &o.variant_id == variant && o.product_id == line.product_id)
        });
        let Some(offer) = offer else {
            self.reason(
                ReasonCode::ExchangeUnavailable,
                "request",
                Some(&line.id),
                "no variant of the same product was named or offered",
            );
            return Outcome::Deny;
        };
        let taken = exchange_claims
            .entry(offer.variant_id.as_str())
            .or_insert(0);
        if offer.available < taken.saturating_add(requested.quantity) {
            self.reason(
                ReasonCode::ExchangeUnavailable,
                "inventory",
                Some(&line.id),
                format!(
                    "variant `{}` is not available in that quantity",
                    offer.variant_id
                ),
            );
            return Outcome::Deny;
        }
        *taken += requested.quantity;
        Outcome::Approve
    }

    /// Computes the money of a return (or of a receipt) and applies fraud and limit checks.
    fn money_for(&mut self, resolution: ResolutionKind, items: &[ReturnedItem<'_>]) -> EvalResult {
        let order = &self.facts.order;
        let refunds_shipping = items.iter().any(|i| {
            self.policy
                .fees
                .refund_original_shipping_for
                .contains(&i.reason)
        });
        let paid = paid_lines(order, refunds_shipping)?;
        let currency = self.policy.currency;
        let zero = Money::zero(currency);
        let reasons: smallvec::SmallVec<[ReturnReason; 8]> =
            items.iter().map(|i| i.reason).collect();
        let fees_apply =
            resolution == ResolutionKind::Refund || self.policy.fees.fees_on_exchange_and_credit;
        let mut lines = Vec::with_capacity(items.len());
        let mut bonus = zero;
        let mut new_items = zero;
        let mut shipping_refunded = zero;
        // Units of each line priced earlier in this request, so that the same unit (and its
        // extra cent) is never counted twice when a line appears more than once.
        let mut consumed = Tally::default();
        for item in items {
            let line = item.line;
            let index = order
                .lines
                .iter()
                .position(|l| l.id == line.id)
                .ok_or(EvalError::Stop)?;
            let paid_line: &PaidLine = paid.get(index).ok_or(EvalError::Stop)?;
            let earlier = consumed.entry(&line.id);
            let already = self
                .facts
                .returned_quantities
                .get(&line.id)
                .copied()
                .unwrap_or(0)
                .saturating_add(*earlier);
            *earlier = earlier.saturating_add(item.quantity);
            // Original shipping follows the reason of each line, not of the whole return.
            let refund_shipping = self
                .policy
                .fees
                .refund_original_shipping_for
                .contains(&item.reason);
            let value = units_value(
                order,
                line,
                paid_line,
                already,
                item.quantity,
                refund_shipping,
            )?;
            shipping_refunded = shipping_refunded.checked_add(value.shipping)?;
            let mut fees = zero;
            if let Some(percent) = item.refund_percent {
                if percent < Decimal::ONE_HUNDRED {
                    let kept = value.merchandise.percent_toward_zero(percent)?;
                    let deduction = value.merchandise.checked_sub(kept)?;
                    self.reason(
                        ReasonCode::GradeDeduction,
                        "receiving.grades",
                        Some(&line.id),
                        format!("{percent}% refunded for the grade: {deduction} deducted"),
                    );
                    if self.policy.limits.partial_refunds_need_human {
                        self.reason(
                            ReasonCode::PartialRefund,
                            "limits.partial_refunds_need_human",
                            Some(&line.id),
                            "less than the full value would be refunded",
                        );
                        self.force(Outcome::NeedsHuman);
                    }
                    fees = fees.checked_add(deduction)?;
                }
            }
            if fees_apply {
                fees = fees.checked_add(self.restocking_fee(item, value.merchandise)?)?;
            }
            let gross = value.merchandise.checked_add(value.shipping)?;
            let fees = fees.try_min(gross)?;
            let net = gross.checked_sub(fees)?;
            if resolution == ResolutionKind::StoreCredit {
                if let Some(pct) = item.rule.and_then(|r| r.store_credit_bonus_percent) {
                    let b = net.percent_toward_zero(pct)?;
                    if b.is_positive() {
                        self.reason(
                            ReasonCode::StoreCreditBonus,
                            Self::rule_name(item.rule),
                            Some(&line.id),
                            format!("{pct}% store-credit bonus: {b}"),
                        );
                        bonus = bonus.checked_add(b)?;
                    }
                }
            }
            if resolution == ResolutionKind::Exchange {
                let offer = item.exchange_for.and_then(|v| {
                    self.facts
                        .exchange_offers
                        .iter()
                        .find(|o| o.variant_id.as_str() == v)
                });
                let Some(offer) = offer else {
                    // Without the new variant's price the difference is unknown: pricing the
                    // exchange as a plain refund would pay out the whole item.
                    self.reason(
                        ReasonCode::RuleError,
                        "facts",
                        Some(&line.id),
                        format!(
                            "the exchange variant `{}` is not among the facts' exchange offers, \
                             so its price is unknown",
                            item.exchange_for.unwrap_or("?")
                        ),
                    );
                    return Err(EvalError::Stop);
                };
                new_items = new_items.checked_add(offer.unit_price.times(item.quantity)?)?;
            }
            lines.push(RefundLine {
                line_id: line.id.clone(),
                quantity: item.quantity,
                item: value.item,
                discount: value.discount,
                tax: value.tax,
                shipping: value.shipping,
                fees,
                net,
            });
        }
        if shipping_refunded.is_positive() {
            self.reason(
                ReasonCode::ShippingRefunded,
                "fees.refund_original_shipping_for",
                None,
                Detail::Amount {
                    before: "original shipping refunded: ",
                    amount: shipping_refunded,
                    after: "",
                },
            );
        }
        let nets = Money::sum(currency, lines.iter().map(|l| l.net))?;
        let return_shipping = self.return_shipping_fee(&reasons, resolution, nets)?;
        let value = nets.checked_sub(return_shipping)?;
        let (total, difference) = match resolution {
            ResolutionKind::Exchange => {
                let difference = new_items.checked_sub(value)?;
                if difference.is_positive() {
                    // The customer owes money. Only a gift card with enough balance can pay it
                    // without a person: there is no port that charges a customer.
                    match self.facts.gift_card_balance {
                        Some(balance)
                            if balance.try_cmp(&difference)? != std::cmp::Ordering::Less => {}
                        Some(balance) => {
                            self.reason(
                                ReasonCode::GiftCardInsufficient,
                                "resolutions.exchange",
                                None,
                                format!(
                                    "the exchange costs {difference} more; the gift card holds {balance}"
                                ),
                            );
                            self.force(Outcome::NeedsHuman);
                        }
                        None => {
                            self.reason(
                                ReasonCode::PriceDifference,
                                "resolutions.exchange",
                                None,
                                format!("the exchange costs {difference} more; staff collect it"),
                            );
                            self.force(Outcome::NeedsHuman);
                        }
                    }
                }
                // Never `-0.00`: an even exchange refunds a plain zero.
                let owed = if difference.is_negative() {
                    difference.negate()
                } else {
                    zero
                };
                (owed, Some(difference))
            }
            _ => (value.checked_add(bonus)?, None),
        };
        let breakdown =
            self.settle(resolution, lines, return_shipping, bonus, difference, total)?;
        let moved = breakdown.total;
        if moved.is_zero() && resolution != ResolutionKind::Exchange {
            self.reason(
                ReasonCode::NothingToRefund,
                "payments",
                None,
                "nothing is left to refund",
            );
            self.force(Outcome::NeedsHuman);
        }
        self.decision.refund = Some(breakdown);
        self.fraud_checks()?;
        self.limit_checks(moved)
    }

    fn restocking_fee(&mut self, item: &ReturnedItem<'_>, value: Money) -> EvalResult<Money> {
        let zero = Money::zero(self.policy.currency);
        let (fee, rule): (_, RuleRef) = match item.rule.and_then(|r| r.restocking_fee.as_ref()) {
            Some(fee) => (fee, Self::rule_name(item.rule)),
            None => match &self.policy.fees.restocking {
                Some(fee) => (fee, RuleRef::Section("fees.restocking")),
                None => return Ok(zero),
            },
        };
        let id = &item.line.id;
        if self.free_return_tier() {
            self.reason(
                ReasonCode::RestockingFeeWaived,
                "fees.free_returns_for_tiers",
                Some(id),
                "restocking fee waived for the customer's loyalty tier",
            );
            return Ok(zero);
        }
        if self
            .policy
            .fees
            .restocking_waived_for
            .contains(&item.reason)
        {
            self.reason(
                ReasonCode::RestockingFeeWaived,
                "fees.restocking_waived_for",
                Some(id),
                format!(
                    "restocking fee waived for reason `{}`",
                    reason_name(item.reason)
                ),
            );
            return Ok(zero);
        }
        let amount = match fee {
            FeeAmount::Percent(p) => value.percent_toward_zero(*p)?,
            FeeAmount::Fixed(f) => Money::new(*f, self.policy.currency)?.try_min(value)?,
        };
        if amount.is_positive() {
            self.reason(
                ReasonCode::RestockingFee,
                rule,
                Some(id),
                Detail::Amount {
                    before: "restocking fee ",
                    amount,
                    after: "",
                },
            );
        }
        Ok(amount)
    }

    pub(super) fn decide_receipt(
        &mut self,
        authorised: &ReturnRequest,
        receipt: &Receipt,
    ) -> EvalResult {
        let order: &'a crate::domain::Order = &self.facts.order;
        let mut items = Vec::new();
        let mut mismatch = false;
        for received in &receipt.lines {
            let id = &received.line_id;
            let authorised_units: u32 = authorised
                .lines
                .iter()
                .filter(|l| &l.line_id == id)
                .map(|l| l.quantity)
                .sum();
            // Judge all units of the line on this receipt together: the same line scanned in twice
            // must not pass twice against one authorisation.
            let received_units: u32 = receipt
                .lines
                .iter()
                .filter(|l| &l.line_id == id)
                .fold(0, |sum, l| sum.saturating_add(l.quantity));
            let Some(line) = order.line(id).filter(|_| authorised_units > 0) else {
                self.reason(
                    ReasonCode::ReceiptMismatch,
                    "receipt",
                    Some(id),
                    "received an item that was not authorised for return",
                );
                self.push_line(id, received.quantity, Outcome::NeedsHuman, None);
                mismatch = true;
                continue;
            };
            if received_units > authorised_units || received.quantity == 0 {
                self.reason(
                    ReasonCode::ReceiptMismatch,
                    "receipt",
                    Some(id),
                    format!("received {received_units} units, {authorised_units} were authorised"),
                );
                self.push_line(id, received.quantity, Outcome::NeedsHuman, None);
                mismatch = true;
                continue;
            }
            let rule = self.rule_for(line);
            let reason = authorised
                .lines
                .iter()
                .find(|l| &l.line_id == id)
                .map_or(ReturnReason::Other, |l| l.reason);
            let exchange_for = authorised
                .lines
                .iter()
                .find(|l| &l.line_id == id)
                .and_then(|l| l.exchange_for.as_ref())
                .map(|v| v.as_str());
            let (outcome, restock, percent) = match received.grade {
                Some(grade) => {
                    let g = self.policy.receiving.grade(grade);
                    (Outcome::Approve, Some(g.restock), Some(g.refund_percent))
                }
                None if rule.is_some_and(|r| r.inspection_required) => {
                    self.reason(
                        ReasonCode::InspectionRequired,
                        Self::rule_name(rule),
                        Some(id),
                        "received; staff must inspect and grade it before any refund or restock",
                    );
                    (Outcome::NeedsHuman, None, None)
                }
                None => (
                    Outcome::Approve,
                    Some(self.policy.receiving.ungraded_restock),
                    None,
                ),
            };
            if outcome == Outcome::Approve {
                let (rule, detail) = if received.grade.is_some() {
                    (
                        "receiving.grades",
                        "received and graded: restock and refund follow the grade",
                    )
                } else {
                    (
                        "receiving.ungraded_restock",
                        "received without inspection: restocked as for ungraded items, full value",
                    )
                };
                self.reason(ReasonCode::Received, rule, Some(id), detail);
            }
            if received_units < authorised_units {
                self.reason(
                    ReasonCode::ReceiptMismatch,
                    "receipt",
                    Some(id),
                    format!(
                        "{received_units} of {authorised_units} authorised units received; refunding those"
                    ),
                );
            }
            self.decision.lines.push(LineVerdict {
                line_id: id.clone(),
                quantity: received.quantity,
                outcome,
                rule: rule.map(|r| r.id.clone()),
                restock,
                grade: received.grade,
            });
            items.push(ReturnedItem {
                line,
                rule,
                quantity: received.quantity,
                reason,
                refund_percent: percent,
                exchange_for,
            });
        }
        if mismatch {
            self.force(Outcome::NeedsHuman);
        }
        if receipt.receive_only {
            self.reason(
                ReasonCode::ReceiveOnly,
                "receipt",
                None,
                "received without refunding, as staff asked",
            );
            return Ok(());
        }
        if items.is_empty() {
            if receipt.lines.is_empty() {
                self.reason(
                    ReasonCode::EmptyRequest,
                    "receipt",
                    None,
                    "nothing received",
                );
                self.force(Outcome::NeedsHuman);
            }
            return Ok(());
        }
        self.money_for(authorised.resolution, &items)
    }
}

/// A returned quantity of one line, as the money computation needs it.
struct ReturnedItem<'a> {
    line: &'a OrderLine,
    rule: Option<&'a ReturnRule>,
    quantity: u32,
    reason: ReturnReason,
    /// Share refunded for the inspection grade; `None` before inspection (full value).
    refund_percent: Option<Decimal>,
    exchange_for: Option<&'a str>,
}

fn resolution_name(resolution: ResolutionKind) -> &'static str {
    match resolution {
        ResolutionKind::Refund => "refund",
        ResolutionKind::StoreCredit => "store_credit",
        ResolutionKind::Exchange => "exchange",
    }
}

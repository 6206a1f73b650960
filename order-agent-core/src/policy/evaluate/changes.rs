//! Cancellations, address changes and item modifications: only ever before fulfilment.

use std::collections::BTreeMap;

use super::money::{paid_lines, units_value};
use super::{Eval, EvalResult, Outcome, ReasonCode};
use crate::domain::{
    AddressChangeRequest, CancellationReason, CancellationRequest, ItemChange,
    ItemModificationRequest, LineId, OrderStatus, ResolutionKind,
};
use crate::money::Money;
use crate::policy::decision::{LineVerdict, RefundLine};

impl Eval<'_> {
    /// Denies when anything has left the warehouse; returns whether the order is still open.
    fn require_unfulfilled(&mut self, section: &'static str) -> bool {
        let order = &self.facts.order;
        let shipped = order
            .shipments
            .iter()
            .any(|s| s.shipped_at.is_some() || s.delivered_at.is_some());
        if matches!(order.status, OrderStatus::Cancelled | OrderStatus::Closed) {
            self.reason(
                ReasonCode::StateNotAllowed,
                section,
                None,
                format!("the order is {}", status_name(order.status)),
            );
            self.force(Outcome::Deny);
            return false;
        }
        if shipped || !order.status.is_before_fulfilment() {
            self.reason(
                ReasonCode::AlreadyFulfilled,
                section,
                None,
                "the order has already shipped",
            );
            self.force(Outcome::Deny);
            return false;
        }
        true
    }

    fn disabled(&mut self, enabled: bool, section: &'static str) -> bool {
        if !enabled {
            self.reason(
                ReasonCode::ChangeDisabled,
                section,
                None,
                "the shop does not offer this change",
            );
            self.force(Outcome::Deny);
        }
        !enabled
    }

    pub(super) fn decide_cancellation(&mut self, request: &CancellationRequest) -> EvalResult {
        let policy = &self.policy.cancellation;
        if self.disabled(policy.enabled, "cancellation.enabled")
            || !self.require_unfulfilled("cancellation")
        {
            return Ok(());
        }
        let status = self.facts.order.status;
        if !policy.allowed_states.contains(&status) {
            self.reason(
                ReasonCode::StateNotAllowed,
                "cancellation.allowed_states",
                None,
                format!(
                    "orders that are {} cannot be cancelled by the agent",
                    status_name(status)
                ),
            );
            self.force(Outcome::Deny);
            return Ok(());
        }
        if policy.allowed_reasons.contains(&request.reason) {
            self.reason(
                ReasonCode::ChangeAllowed,
                "cancellation",
                None,
                "not shipped yet: the order can be cancelled and refunded in full",
            );
        } else {
            self.reason(
                ReasonCode::ReasonNotAllowed,
                "cancellation.allowed_reasons",
                None,
                format!(
                    "reason `{}` needs staff",
                    cancellation_reason_name(request.reason)
                ),
            );
            self.force(Outcome::NeedsHuman);
        }
        self.force(Outcome::Approve);

        let order = &self.facts.order;
        let paid = paid_lines(order, true)?;
        let mut lines = Vec::with_capacity(order.lines.len());
        for (line, paid_line) in order.lines.iter().zip(&paid) {
            let already = self
                .facts
                .returned_quantities
                .get(&line.id)
                .copied()
                .unwrap_or(0);
            let units = line.quantity.saturating_sub(already);
            if units == 0 {
                continue;
            }
            let value = units_value(order, line, paid_line, already, units, true)?;
            let net = value.merchandise.checked_add(value.shipping)?;
            lines.push(RefundLine {
                line_id: line.id.clone(),
                quantity: units,
                item: value.item,
                discount: value.discount,
                tax: value.tax,
                shipping: value.shipping,
                fees: Money::zero(order.currency),
                net,
            });
        }
        // A cancellation returns everything captured and not yet refunded, whatever the lines add
        // up to (an uncaptured authorisation is voided, not refunded).
        let refundable = Money::sum(
            order.currency,
            order
                .payments
                .iter()
                .map(|p| p.refundable())
                .collect::<Result<Vec<_>, _>>()?,
        )?;
        let (tenders, _) = self.tender_split(refundable)?;
        let zero = Money::zero(order.currency);
        self.decision.refund = Some(crate::policy::decision::RefundBreakdown {
            resolution: ResolutionKind::Refund,
            lines,
            return_shipping_fee: zero,
            store_credit_bonus: zero,
            exchange_difference: None,
            total: refundable,
            tenders,
        });
        self.fraud_checks()?;
        self.limit_checks(refundable)
    }

    pub(super) fn decide_address_change(&mut self, request: &AddressChangeRequest) -> EvalResult {
        let policy = &self.policy.address_change;
        if self.disabled(policy.enabled, "address_change.enabled")
            || !self.require_unfulfilled("address_change")
        {
            return Ok(());
        }
        let current = &self.facts.order.shipping_address;
        if !current
            .country
            .eq_ignore_ascii_case(&request.new_address.country)
            && !policy.allow_country_change
        {
            self.reason(
                ReasonCode::CountryChange,
                "address_change.allow_country_change",
                None,
                format!(
                    "the new address is in `{}`, the order ships to `{}`",
                    request.new_address.country, current.country
                ),
            );
            self.force(Outcome::NeedsHuman);
        }
        if self
            .policy
            .fraud
            .blocklisted_addresses
            .iter()
            .any(|b| request.new_address.matches_key(b))
        {
            self.reason(
                ReasonCode::Blocklisted,
                "fraud.blocklisted_addresses",
                None,
                "the new address is blocklisted",
            );
            self.force(Outcome::NeedsHuman);
        }
        self.fraud_flag_check();
        self.reason(
            ReasonCode::ChangeAllowed,
            "address_change",
            None,
            "not shipped yet: the address can change",
        );
        self.force(Outcome::Approve);
        Ok(())
    }

    pub(super) fn decide_item_modification(
        &mut self,
        request: &ItemModificationRequest,
    ) -> EvalResult {
        let policy = &self.policy.item_modification;
        if self.disabled(policy.enabled, "item_modification.enabled")
            || !self.require_unfulfilled("item_modification")
        {
            return Ok(());
        }
        let order = &self.facts.order;
        if order.modifications_made >= policy.max_per_order {
            self.reason(
                ReasonCode::ModificationLimitReached,
                "item_modification.max_per_order",
                None,
                format!(
                    "the order was already modified {} time(s); {} allowed",
                    order.modifications_made, policy.max_per_order
                ),
            );
            self.force(Outcome::Deny);
            return Ok(());
        }
        if request.changes.is_empty() {
            self.reason(
                ReasonCode::EmptyRequest,
                "request",
                None,
                "the request names no change",
            );
            self.force(Outcome::Deny);
            return Ok(());
        }
        let paid = paid_lines(order, false)?;
        let mut refund_lines = Vec::new();
        // Quantities after the reductions earlier in this request: a second reduction of the same
        // line continues from there instead of refunding the same units again.
        let mut current: BTreeMap<&LineId, u32> = BTreeMap::new();
        for change in &request.changes {
            let (line_id, quantity) = match change {
                ItemChange::SwapVariant { line_id, .. } => (line_id, None),
                ItemChange::ReduceQuantity { line_id, quantity } => (line_id, Some(*quantity)),
            };
            let Some((index, line)) = order
                .lines
                .iter()
                .enumerate()
                .find(|(_, l)| &l.id == line_id)
            else {
                self.reason(
                    ReasonCode::UnknownLine,
                    "request",
                    Some(line_id),
                    "no such line on this order",
                );
                self.push_verdict(line_id, 0, Outcome::Deny);
                continue;
            };
            match change {
                ItemChange::SwapVariant { variant_id, .. } => {
                    let offer =
                        self.facts.exchange_offers.iter().find(|o| {
                            &o.variant_id == variant_id && o.product_id == line.product_id
                        });
                    let outcome = match offer {
                        Some(o) if o.available >= line.quantity => {
                            if o.unit_price == line.unit_price {
                                self.reason(
                                    ReasonCode::ChangeAllowed,
                                    "item_modification",
                                    Some(line_id),
                                    format!("not shipped yet: `{variant_id}` can replace it"),
                                );
                                Outcome::Approve
                            } else {
                                self.reason(
                                    ReasonCode::PriceDifference,
                                    "item_modification",
                                    Some(line_id),
                                    format!(
                                        "variant `{variant_id}` costs {} instead of {}",
                                        o.unit_price, line.unit_price
                                    ),
                                );
                                Outcome::NeedsHuman
                            }
                        }
                        _ => {
                            self.reason(
                                ReasonCode::ExchangeUnavailable,
                                "inventory",
                                Some(line_id),
                                format!(
                                    "variant `{variant_id}` of the same product is not available"
                                ),
                            );
                            Outcome::Deny
                        }
                    };
                    self.push_verdict(line_id, line.quantity, outcome);
                }
                ItemChange::ReduceQuantity { .. } => {
                    let units = current.get(&line.id).copied().unwrap_or(line.quantity);
                    let new_quantity = quantity.unwrap_or(units);
                    if new_quantity >= units {
                        self.reason(
                            ReasonCode::QuantityExceeded,
                            "request",
                            Some(line_id),
                            format!("the line has {units} units; a reduction must go below that"),
                        );
                        self.push_verdict(line_id, new_quantity, Outcome::Deny);
                        continue;
                    }
                    let removed = units - new_quantity;
                    current.insert(&line.id, new_quantity);
                    let Some(paid_line) = paid.get(index) else {
                        continue;
                    };
                    self.reason(
                        ReasonCode::ChangeAllowed,
                        "item_modification",
                        Some(line_id),
                        format!("not shipped yet: {removed} unit(s) can be removed and refunded"),
                    );
                    let value = units_value(order, line, paid_line, new_quantity, removed, false)?;
                    refund_lines.push(RefundLine {
                        line_id: line.id.clone(),
                        quantity: removed,
                        item: value.item,
                        discount: value.discount,
                        tax: value.tax,
                        shipping: value.shipping,
                        fees: Money::zero(order.currency),
                        net: value.merchandise,
                    });
                    self.push_verdict(line_id, removed, Outcome::Approve);
                }
            }
        }
        if !refund_lines.is_empty() {
            let total = Money::sum(order.currency, refund_lines.iter().map(|l| l.net))?;
            let zero = Money::zero(order.currency);
            let breakdown = self.settle(
                ResolutionKind::Refund,
                refund_lines,
                zero,
                zero,
                None,
                total,
            )?;
            let moved = breakdown.total;
            self.decision.refund = Some(breakdown);
            self.fraud_checks()?;
            self.limit_checks(moved)?;
        }
        Ok(())
    }

    fn push_verdict(&mut self, line_id: &crate::domain::LineId, quantity: u32, outcome: Outcome) {
        self.decision.lines.push(LineVerdict {
            line_id: line_id.clone(),
            quantity,
            outcome,
            rule: None,
            restock: None,
            grade: None,
        });
    }
}

fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Pending => "pending",
        OrderStatus::Unfulfilled => "unfulfilled",
        OrderStatus::PartiallyFulfilled => "partially fulfilled",
        OrderStatus::Fulfilled => "fulfilled",
        OrderStatus::Delivered => "delivered",
        OrderStatus::Cancelled => "cancelled",
        OrderStatus::Closed => "closed",
    }
}

fn cancellation_reason_name(reason: CancellationReason) -> &'static str {
    match reason {
        CancellationReason::ChangedMind => "changed_mind",
        CancellationReason::OrderedByMistake => "ordered_by_mistake",
        CancellationReason::FoundCheaper => "found_cheaper",
        CancellationReason::DeliveryTooSlow => "delivery_too_slow",
        CancellationReason::Fraud => "fraud",
        CancellationReason::Other => "other",
    }
}

//! The money side: what each unit of each line was paid, fees, tenders, limits and fraud signals.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::{Eval, EvalResult, Outcome, ReasonCode};
use crate::domain::{Order, OrderLine, ResolutionKind, ReturnReason, Tender};
use crate::money::{allocate_minor, Currency, MinorUnits, Money, MoneyError};
use crate::policy::decision::{RefundBreakdown, RefundLine, TenderRefund};

/// What the customer paid for a whole order line, with the order-level amounts allocated to it,
/// in minor units of the order currency.
#[derive(Debug, Clone, Copy)]
pub(super) struct PaidLine {
    /// Gross minus line discount minus the allocated order discount (tax as per the tax mode).
    pub paid: i64,
    /// Allocated tax (added on top when tax is excluded, the included share otherwise).
    pub tax: i64,
    /// Allocated outbound shipping.
    pub shipping: i64,
}

/// Per-line paid amounts, inline for the usual handful of lines.
pub(super) type PaidLines = smallvec::SmallVec<[PaidLine; 16]>;

/// Allocates the order discount, tax and shipping to the lines by largest remainder, so that each
/// sums exactly to the order's figure. Works in integer minor units: this runs for every decision
/// that moves money. Shipping is allocated only `with_shipping` (zero otherwise): most returns
/// do not refund it.
pub(super) fn paid_lines(order: &Order, with_shipping: bool) -> Result<PaidLines, MoneyError> {
    let overflow = || MoneyError::Overflow("paid_lines");
    let minor = |m: Money| -> Result<i128, MoneyError> {
        if m.currency() != order.currency {
            return Err(MoneyError::CurrencyMismatch {
                op: "paid_lines",
                left: m.currency(),
                right: order.currency,
            });
        }
        Ok(i128::from(m.to_minor()))
    };
    let n = order.lines.len();
    let mut after = MinorUnits::with_capacity(n);
    for line in &order.lines {
        let gross = minor(line.unit_price)?
            .checked_mul(i128::from(line.quantity))
            .ok_or_else(overflow)?;
        let discount = match line.line_discount {
            Some(d) => minor(d)?,
            None => 0,
        };
        after.push((gross - discount).max(0));
    }
    let merchandise: i128 = after.iter().sum();
    let discount = match order.order_discount {
        Some(d) => minor(d)?.clamp(0, merchandise),
        None => 0,
    };
    let mut scratch = MinorUnits::with_capacity(n);
    let mut paid = MinorUnits::with_capacity(n);
    allocate_or_zero(discount, &after, &mut scratch)?;
    paid.extend(after.iter().zip(&scratch).map(|(a, d)| a - d));
    // Tax weights: paid × rate, with every rate brought to one scale so the weights are integers.
    let scale = order
        .lines
        .iter()
        .map(|l| l.tax_rate.scale())
        .max()
        .unwrap_or(0);
    let mut weights = MinorUnits::with_capacity(n);
    for (p, line) in paid.iter().zip(&order.lines) {
        let mut rate = line.tax_rate;
        if rate.scale() != scale {
            rate.rescale(scale);
        }
        if rate.is_sign_negative() && !rate.is_zero() {
            return Err(MoneyError::InvalidWeights("negative tax rate"));
        }
        weights.push(p.checked_mul(rate.mantissa()).ok_or_else(overflow)?);
    }
    let mut taxes = MinorUnits::with_capacity(n);
    allocate_or_zero(minor(order.tax_total)?.max(0), &weights, &mut taxes)?;
    let shipping = if with_shipping {
        minor(order.shipping)?.max(0)
    } else {
        0
    };
    allocate_or_zero(shipping, &paid, &mut scratch)?;
    let narrow = |v: i128| i64::try_from(v).map_err(|_| overflow());
    paid.iter()
        .zip(&taxes)
        .zip(&scratch)
        .map(|((p, t), s)| {
            Ok(PaidLine {
                paid: narrow(*p)?,
                tax: narrow(*t)?,
                shipping: narrow(*s)?,
            })
        })
        .collect()
}

fn allocate_or_zero(
    amount: i128,
    weights: &[i128],
    shares: &mut MinorUnits,
) -> Result<(), MoneyError> {
    if weights.is_empty() || amount == 0 {
        shares.clear();
        shares.resize(weights.len(), 0);
        return Ok(());
    }
    allocate_minor(amount, weights, shares)
}

/// The share of `whole` minor units (the amount for all `total_units` of a line) that belongs to
/// units `already .. already + units`, when the amount is spread over the units by largest
/// remainder. Returning a line unit by unit therefore refunds exactly the line amount, never a cent
/// more.
pub(super) fn units_share(whole: i64, total_units: u32, already: u32, units: u32) -> i64 {
    if total_units == 0 || units == 0 {
        return 0;
    }
    let n = i64::from(total_units);
    let base = whole.div_euclid(n);
    let rem = whole.rem_euclid(n);
    let cumulative = |k: u32| -> i64 {
        let k = i64::from(k.min(total_units));
        k * base + k.min(rem)
    };
    let end = already.saturating_add(units);
    cumulative(end) - cumulative(already)
}

/// Money of the returned units of one line before fees.
#[derive(Debug, Clone, Copy)]
pub(super) struct UnitsValue {
    pub item: Money,
    pub discount: Money,
    pub tax: Money,
    /// What the customer paid for the merchandise: paid share plus tax when tax is excluded.
    pub merchandise: Money,
    pub shipping: Money,
}

pub(super) fn units_value(
    order: &Order,
    line: &OrderLine,
    paid: &PaidLine,
    already: u32,
    units: u32,
    refund_shipping: bool,
) -> Result<UnitsValue, MoneyError> {
    let currency = order.currency;
    let money = |minor: i64| Money::from_minor(minor, currency);
    let item = line.unit_price.times(units)?;
    let paid_share = money(units_share(paid.paid, line.quantity, already, units));
    let tax = money(units_share(paid.tax, line.quantity, already, units));
    let discount = item.checked_sub(paid_share)?;
    let merchandise = match order.tax_mode {
        crate::domain::TaxMode::Included => paid_share,
        crate::domain::TaxMode::Excluded => paid_share.checked_add(tax)?,
    };
    let shipping = if refund_shipping {
        money(units_share(paid.shipping, line.quantity, already, units))
    } else {
        Money::zero(currency)
    };
    Ok(UnitsValue {
        item,
        discount,
        tax,
        merchandise,
        shipping,
    })
}

impl Eval<'_> {
    fn limit_money(&self, amount: Decimal) -> Result<Money, MoneyError> {
        Money::new(amount, self.policy.currency)
    }

    fn currency(&self) -> Currency {
        self.policy.currency
    }

    /// Whether the customer's loyalty tier returns for free.
    pub(super) fn free_return_tier(&self) -> bool {
        self.facts
            .customer
            .loyalty_tier
            .as_deref()
            .is_some_and(|tier| {
                self.policy
                    .fees
                    .free_returns_for_tiers
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(tier))
            })
    }

    /// Return shipping fee for a return with these reasons; records why.
    pub(super) fn return_shipping_fee(
        &mut self,
        reasons: &[ReturnReason],
        resolution: ResolutionKind,
        available: Money,
    ) -> EvalResult<Money> {
        let zero = Money::zero(self.currency());
        let Some(fee) = self.policy.fees.return_shipping else {
            return Ok(zero);
        };
        if resolution != ResolutionKind::Refund && !self.policy.fees.fees_on_exchange_and_credit {
            return Ok(zero);
        }
        let fee = self.limit_money(fee)?;
        if fee.is_zero() {
            return Ok(zero);
        }
        if self.free_return_tier() {
            self.reason(
                ReasonCode::ReturnShippingWaived,
                "fees.free_returns_for_tiers",
                None,
                "free returns for the customer's loyalty tier",
            );
            return Ok(zero);
        }
        if let Some(r) = reasons
            .iter()
            .find(|r| self.policy.fees.return_shipping_waived_for.contains(r))
        {
            self.reason(
                ReasonCode::ReturnShippingWaived,
                "fees.return_shipping_waived_for",
                None,
                format!("return shipping waived for reason `{}`", reason_name(*r)),
            );
            return Ok(zero);
        }
        let fee = fee.try_min(available.clamp_non_negative())?;
        if fee.is_zero() {
            return Ok(zero);
        }
        self.reason(
            ReasonCode::ReturnShippingFee,
            "fees.return_shipping",
            None,
            crate::policy::decision::Detail::Amount {
                before: "return shipping ",
                amount: fee,
                after: " deducted",
            },
        );
        Ok(fee)
    }

    /// Splits `total` over the order's payments in proportion to what each can still refund, so
    /// no tender ever receives more than it captured minus what it already refunded. Returns the
    /// tender refunds and the part of `total` that could not be placed (capped).
    pub(super) fn tender_split(&self, total: Money) -> EvalResult<(Vec<TenderRefund>, Money)> {
        let currency = self.currency();
        let payments = &self.facts.order.payments;
        let mut refundable = MinorUnits::with_capacity(payments.len());
        for p in payments {
            if p.captured.currency() != currency || p.refunded.currency() != currency {
                return Err(MoneyError::CurrencyMismatch {
                    op: "tender",
                    left: p.captured.currency(),
                    right: currency,
                }
                .into());
            }
            refundable.push(i128::from(p.refundable()?.to_minor()));
        }
        let available: i128 = refundable.iter().sum();
        let wanted = i128::from(total.to_minor()).max(0);
        let placed = wanted.min(available);
        let to_money = |minor: i128| {
            i64::try_from(minor)
                .map(|m| Money::from_minor(m, currency))
                .map_err(|_| MoneyError::Overflow("tender_split"))
        };
        let capped = to_money(wanted - placed)?;
        if placed == 0 {
            return Ok((Vec::new(), capped));
        }
        let mut parts = MinorUnits::with_capacity(payments.len());
        allocate_minor(placed, &refundable, &mut parts)?;
        let mut tenders = Vec::with_capacity(payments.len());
        for (p, amount) in payments.iter().zip(parts) {
            if amount > 0 {
                tenders.push(TenderRefund {
                    payment_id: Some(p.id.clone()),
                    tender: p.tender,
                    amount: to_money(amount)?,
                });
            }
        }
        Ok((tenders, capped))
    }

    /// Builds the breakdown's tenders for `resolution`, capping a refund at what remains
    /// refundable. Records capping as a partial refund.
    pub(super) fn settle(
        &mut self,
        resolution: ResolutionKind,
        lines: Vec<RefundLine>,
        return_shipping_fee: Money,
        mut store_credit_bonus: Money,
        exchange_difference: Option<Money>,
        total: Money,
    ) -> EvalResult<RefundBreakdown> {
        let (tenders, total) = match resolution {
            ResolutionKind::StoreCredit => {
                // Credit is new merchant money, but its base must still be money that was paid.
                let base = total.checked_sub(store_credit_bonus)?;
                let (_, capped) = self.tender_split(base)?;
                let placed = base.checked_sub(capped)?;
                // The bonus is earned on the credited base only, so a capped base shrinks it too.
                if capped.is_positive() && base.is_positive() {
                    let ratio = store_credit_bonus
                        .amount()
                        .checked_div(base.amount())
                        .ok_or(MoneyError::Overflow("store credit bonus"))?;
                    store_credit_bonus = placed.mul_ratio_toward_zero(ratio)?;
                }
                let total = placed.checked_add(store_credit_bonus)?;
                if capped.is_positive() {
                    self.capped(capped);
                }
                let tenders = if total.is_positive() {
                    vec![TenderRefund {
                        payment_id: None,
                        tender: Tender::StoreCredit,
                        amount: total,
                    }]
                } else {
                    Vec::new()
                };
                (tenders, total)
            }
            ResolutionKind::Refund | ResolutionKind::Exchange => {
                let (tenders, capped) = self.tender_split(total)?;
                if capped.is_positive() {
                    self.capped(capped);
                }
                (tenders, total.checked_sub(capped)?)
            }
        };
        Ok(RefundBreakdown {
            resolution,
            lines,
            return_shipping_fee,
            store_credit_bonus,
            exchange_difference,
            total,
            tenders,
        })
    }

    fn capped(&mut self, capped: Money) {
        self.reason(
            ReasonCode::CappedAtRefundable,
            "payments",
            None,
            format!("{capped} exceeds what the payments can still refund and was not included"),
        );
        if self.policy.limits.partial_refunds_need_human {
            self.reason(
                ReasonCode::PartialRefund,
                "limits.partial_refunds_need_human",
                None,
                "less than the full value would be refunded",
            );
            self.force(Outcome::NeedsHuman);
        }
    }

    /// A fraud-flagged order goes to a human when the policy says so.
    pub(super) fn fraud_flag_check(&mut self) {
        if self.facts.order.risk.fraud_flagged && self.policy.fraud.flagged_orders_need_human {
            self.reason(
                ReasonCode::FraudFlagged,
                "fraud.flagged_orders_need_human",
                None,
                "the order is flagged as a fraud risk",
            );
            self.force(Outcome::NeedsHuman);
        }
    }

    /// Order-level signals that send any money-moving request to a human.
    pub(super) fn fraud_checks(&mut self) -> EvalResult {
        let order = &self.facts.order;
        let customer = &self.facts.customer;
        let fraud = &self.policy.fraud;
        if order.risk.disputed && self.policy.limits.disputes_need_human {
            self.reason(
                ReasonCode::Disputed,
                "limits.disputes_need_human",
                None,
                "a dispute or chargeback is open on this order",
            );
            self.force(Outcome::NeedsHuman);
        }
        self.fraud_flag_check();
        let blocked_email = fraud.blocklisted_emails.iter().any(|b| {
            b.trim().eq_ignore_ascii_case(order.email.trim())
                || b.trim().eq_ignore_ascii_case(customer.email.trim())
        });
        let blocked_address = fraud
            .blocklisted_addresses
            .iter()
            .any(|b| order.shipping_address.matches_key(b));
        if blocked_email || blocked_address {
            self.reason(
                ReasonCode::Blocklisted,
                "fraud.blocklisted",
                None,
                if blocked_email {
                    "the email is blocklisted"
                } else {
                    "the shipping address is blocklisted"
                },
            );
            self.force(Outcome::NeedsHuman);
        }
        let history = &customer.history;
        if let Some(max_rate) = fraud.max_return_rate {
            if history.orders >= fraud.min_orders_for_rate && history.orders > 0 {
                // returns / orders > max  ⟺  returns > max × orders (no division on the hot path).
                if Decimal::from(history.returns) > max_rate * Decimal::from(history.orders) {
                    let rate = Decimal::from(history.returns) / Decimal::from(history.orders);
                    self.reason(
                        ReasonCode::ReturnRateTooHigh,
                        "fraud.max_return_rate",
                        None,
                        format!(
                            "return rate {} of {} orders is above {max_rate}",
                            rate.round_dp(2),
                            history.orders
                        ),
                    );
                    self.force(Outcome::NeedsHuman);
                }
            }
        }
        if let Some(limit) = &fraud.max_returns_in_period {
            if history.returns_in_period >= limit.count {
                self.reason(
                    ReasonCode::TooManyReturns,
                    "fraud.max_returns_in_period",
                    None,
                    format!(
                        "{} returns in the last {} days; the limit is {}",
                        history.returns_in_period, limit.period_days, limit.count
                    ),
                );
                self.force(Outcome::NeedsHuman);
            }
        }
        Ok(())
    }

    /// Auto-approval limits on the money a decision would move.
    pub(super) fn limit_checks(&mut self, amount: Money) -> EvalResult {
        let limits = &self.policy.limits;
        if let Some(high) = limits.high_value_order {
            let high = self.limit_money(high)?;
            let order_total = Money::sum(
                self.currency(),
                self.facts.order.payments.iter().map(|p| p.captured),
            )?;
            if order_total.try_cmp(&high)? != Ordering::Less {
                self.reason(
                    ReasonCode::HighValueOrder,
                    "limits.high_value_order",
                    None,
                    format!("order total {order_total} reaches the high-value threshold {high}"),
                );
                self.force(Outcome::NeedsHuman);
            }
        }
        if let Some(max) = limits.max_auto_refund {
            let max = self.limit_money(max)?;
            if amount.try_cmp(&max)? == Ordering::Greater {
                self.reason(
                    ReasonCode::AboveRefundLimit,
                    "limits.max_auto_refund",
                    None,
                    format!("{amount} is above the auto-refund limit {max}"),
                );
                self.force(Outcome::NeedsHuman);
            }
        }
        if let Some(period) = &limits.max_refunded_per_customer {
            let max = self.limit_money(period.amount)?;
            match self.facts.customer.history.refunded_in_period {
                Some(before) => {
                    let after = before.checked_add(amount)?;
                    if after.try_cmp(&max)? == Ordering::Greater {
                        self.reason(
                            ReasonCode::AboveCustomerPeriodLimit,
                            "limits.max_refunded_per_customer",
                            None,
                            format!(
                                "{after} refunded in {} days would exceed {max}",
                                period.period_days
                            ),
                        );
                        self.force(Outcome::NeedsHuman);
                    }
                }
                None => {
                    self.reason(
                        ReasonCode::AboveCustomerPeriodLimit,
                        "limits.max_refunded_per_customer",
                        None,
                        "the customer's refunds in the period are unknown",
                    );
                    self.force(Outcome::NeedsHuman);
                }
            }
        }
        Ok(())
    }
}

/// The snake_case name of a return reason, as in the policy file.
pub(super) fn reason_name(reason: ReturnReason) -> &'static str {
    match reason {
        ReturnReason::Damaged => "damaged",
        ReturnReason::Defective => "defective",
        ReturnReason::WrongItem => "wrong_item",
        ReturnReason::NotAsDescribed => "not_as_described",
        ReturnReason::DoesNotFit => "does_not_fit",
        ReturnReason::ChangedMind => "changed_mind",
        ReturnReason::ArrivedLate => "arrived_late",
        ReturnReason::FoundCheaper => "found_cheaper",
        ReturnReason::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_shares_add_up_to_the_whole() {
        let whole = 1001;
        let parts: Vec<i64> = (0..3).map(|i| units_share(whole, 3, i, 1)).collect();
        assert_eq!(parts, vec![334, 334, 333]);
        assert_eq!(units_share(whole, 3, 0, 3), whole);
        assert_eq!(units_share(whole, 3, 1, 2), 667);
        // Asking beyond the line never yields more than the whole.
        assert_eq!(units_share(whole, 3, 2, 5), 333);
    }
}

//! The independent check of every refund the agent made: against a decision the simulation
//! takes itself (from facts it gathers itself) and against the policy's limit.
//!
//! A violation is any of: money refunded where the policy does not approve (a denied or
//! escalated request); more refunded than the policy's decision; a refund above the auto-refund
//! limit (the simulation's staff approve nothing, so no refund may exceed it); more refunded on a
//! payment than was captured; a return authorised that the policy does not approve.

use chrono::{DateTime, Utc};
use order_agent_core::domain::{Refund, RefundState, ReturnId};
use order_agent_core::policy::{decide, Facts, Outcome, Policy, Request};
use order_agent_core::ports::Payments;
use order_agent_core::Currency;
use order_agent_core::Money;
use order_agent_testkit::fakes::FakePayments;

use crate::input::wire_name;

/// Violations found so far.
#[derive(Debug, Clone)]
pub(crate) struct Audit {
    policy: Policy,
    pub(crate) violations: Vec<String>,
    pub(crate) refunds_checked: u64,
    pub(crate) decisions_checked: u64,
}

impl Audit {
    pub(crate) fn new(policy: &Policy) -> Audit {
        Audit {
            policy: policy.clone(),
            violations: Vec::new(),
            refunds_checked: 0,
            decisions_checked: 0,
        }
    }

    /// Checks the refunds `made` while the agent handled `request`; `facts` are what was known
    /// just before. Returns the money refunded.
    pub(crate) fn check_step(
        &mut self,
        label: &str,
        request: &Request,
        facts: Option<&Facts>,
        now: DateTime<Utc>,
        made: &[Refund],
    ) -> Money {
        let live: Vec<&Refund> = made
            .iter()
            .filter(|r| r.state != RefundState::Failed)
            .collect();
        let currency = live
            .first()
            .map_or(self.policy.currency, |r| r.amount.currency());
        let mut total = Money::zero(currency);
        for refund in &live {
            self.refunds_checked += 1;
            match total.checked_add(refund.amount) {
                Ok(sum) => total = sum,
                Err(e) => self
                    .violations
                    .push(format!("{label}: refunds do not add up: {e}")),
            }
        }
        if live.is_empty() {
            return total;
        }
        let Some(facts) = facts else {
            self.violations.push(format!(
                "{label}: {total} refunded on an order the simulation did not expect to change"
            ));
            return total;
        };
        self.decisions_checked += 1;
        let decision = decide(request, facts, &self.policy, now);
        if decision.outcome != Outcome::Approve {
            self.violations.push(format!(
                "{label}: {total} refunded although the policy says {} ({})",
                wire_name(&decision.outcome),
                decision
                    .reason_codes()
                    .iter()
                    .map(wire_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let decided = decision.refund.as_ref().map(|r| r.total);
        let above_decision = decided.is_none_or(|d| {
            total
                .try_cmp(&d)
                .map_or(true, |o| o == std::cmp::Ordering::Greater)
        });
        if above_decision {
            self.violations.push(format!(
                "{label}: {total} refunded, the policy decides {}",
                decided.map_or_else(|| "no refund".to_owned(), |d| d.to_string())
            ));
        }
        if let Some(limit) = self.policy.limits.max_auto_refund {
            let limit = Money::new(limit, self.policy.currency).unwrap_or(Money::zero(currency));
            if total
                .try_cmp(&limit)
                .map_or(true, |o| o == std::cmp::Ordering::Greater)
            {
                self.violations.push(format!(
                    "{label}: {total} refunded without approval, above the auto-refund limit {limit}"
                ));
            }
        }
        for refund in &live {
            let known = facts
                .order
                .payments
                .iter()
                .find(|p| p.id == refund.payment_id);
            match known {
                None => self.violations.push(format!(
                    "{label}: refund {} went to payment `{}`, not one of order {}",
                    refund.id, refund.payment_id, facts.order.number
                )),
                Some(payment) => {
                    let room = payment.captured.checked_sub(payment.refunded).ok();
                    let exceeds = room.is_none_or(|room| {
                        refund
                            .amount
                            .try_cmp(&room)
                            .map_or(true, |o| o == std::cmp::Ordering::Greater)
                    });
                    if exceeds {
                        self.violations.push(format!(
                            "{label}: refund {} of {} exceeds what payment `{}` could still refund",
                            refund.id, refund.amount, payment.id
                        ));
                    }
                }
            }
        }
        total
    }

    /// A return the agent authorised must be one the policy approves.
    pub(crate) fn check_authorisation(
        &mut self,
        return_id: &ReturnId,
        request: &Request,
        facts: Option<&Facts>,
        now: DateTime<Utc>,
    ) {
        let Some(facts) = facts else {
            self.violations.push(format!(
                "return {return_id} authorised on an order the customer did not write about"
            ));
            return;
        };
        self.decisions_checked += 1;
        let decision = decide(request, facts, &self.policy, now);
        if decision.outcome != Outcome::Approve {
            self.violations.push(format!(
                "return {return_id} authorised although the policy says {}",
                wire_name(&decision.outcome)
            ));
        }
    }

    /// At the end: no payment was refunded beyond what was captured.
    pub(crate) async fn finish(&mut self, payments: &FakePayments, _refunds: usize) {
        let mut ids: Vec<_> = payments
            .all_refunds()
            .into_iter()
            .map(|r| r.payment_id)
            .collect();
        ids.sort();
        ids.dedup();
        for id in ids {
            match payments.payment(&id).await {
                Ok(Some(payment)) => {
                    let over = payment
                        .refunded
                        .try_cmp(&payment.captured)
                        .map_or(true, |o| o == std::cmp::Ordering::Greater);
                    if over {
                        self.violations.push(format!(
                            "payment `{id}`: {} refunded of {} captured",
                            payment.refunded, payment.captured
                        ));
                    }
                }
                _ => self.violations.push(format!(
                    "refunds on payment `{id}`, which the processor does not know"
                )),
            }
        }
        let _ = Currency::CHF;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use order_agent_core::domain::{CancellationReason, CancellationRequest, PaymentId, RefundId};
    use order_agent_testkit::builders::{
        default_placed_at, hours_after, CustomerBuilder, FactsBuilder, OrderBuilder,
        OrderLineBuilder,
    };
    use order_agent_testkit::world::DEMO_POLICY;

    fn setup(limit: &str) -> (Audit, Request, Facts) {
        let policy = Policy::from_toml_str(&DEMO_POLICY.replace(
            "max_auto_refund = \"150.00\"",
            &format!("max_auto_refund = \"{limit}\""),
        ))
        .unwrap();
        let order = OrderBuilder::new("o-1")
            .line(OrderLineBuilder::apparel("L1", "Merino sweater", 8_900))
            .build();
        let facts = FactsBuilder::new(order)
            .customer(CustomerBuilder::new("c-1").build())
            .build();
        let request = Request::Cancellation(CancellationRequest {
            order_id: facts.order.id.clone(),
            reason: CancellationReason::Other,
        });
        (Audit::new(&policy), request, facts)
    }

    fn refund(payment: &str, minor: i64) -> Refund {
        Refund {
            id: RefundId::new("re-1"),
            payment_id: PaymentId::new(payment),
            amount: Money::from_minor(minor, Currency::CHF),
            state: RefundState::Succeeded,
            idempotency_key: None,
            created_at: default_placed_at(),
        }
    }

    #[test]
    fn the_refund_the_policy_decides_passes() {
        let (mut audit, request, facts) = setup("150.00");
        let payment = facts.order.payments[0].id.to_string();
        let now = hours_after(default_placed_at(), 2);
        audit.check_step(
            "cancel",
            &request,
            Some(&facts),
            now,
            &[refund(&payment, 8_900)],
        );
        assert!(audit.violations.is_empty(), "{:?}", audit.violations);
        assert_eq!(audit.refunds_checked, 1);
    }

    #[test]
    fn more_than_decided_or_elsewhere_is_a_violation() {
        let (mut audit, request, facts) = setup("150.00");
        let payment = facts.order.payments[0].id.to_string();
        let now = hours_after(default_placed_at(), 2);
        audit.check_step(
            "cancel",
            &request,
            Some(&facts),
            now,
            &[refund(&payment, 9_000)],
        );
        assert_eq!(audit.violations.len(), 2, "{:?}", audit.violations);
        let (mut audit, request, facts) = setup("150.00");
        audit.check_step(
            "cancel",
            &request,
            Some(&facts),
            now,
            &[refund("pay-other", 100)],
        );
        assert_eq!(audit.violations.len(), 1, "{:?}", audit.violations);
    }

    #[test]
    fn above_the_limit_without_approval_is_a_violation() {
        let (mut audit, request, facts) = setup("50.00");
        let payment = facts.order.payments[0].id.to_string();
        let now = hours_after(default_placed_at(), 2);
        audit.check_step(
            "cancel",
            &request,
            Some(&facts),
            now,
            &[refund(&payment, 8_900)],
        );
        let text = audit.violations.join("\n");
        assert!(
            text.contains("although the policy says needs_human"),
            "{text}"
        );
        assert!(text.contains("above the auto-refund limit"), "{text}");
    }
}

//! Evaluation of a request against a policy: pure, synchronous, total.
//!
//! The evaluation order is fixed and recorded in the reasons: structural checks (right order,
//! right currency), then per-line eligibility, then money, then order-level limits and fraud
//! signals. Any arithmetic or consistency failure turns the whole decision into
//! [`Outcome::NeedsHuman`] with a [`ReasonCode::RuleError`].

mod changes;
mod money;
mod returns;

use chrono::{DateTime, NaiveDate, Utc};

use super::decision::{Decision, Facts, Outcome, Reason, ReasonCode, Request};
use super::model::Policy;
use crate::domain::{LineId, OrderId};
use crate::money::MoneyError;

/// Decides `request` given `facts` under `policy` at time `now`.
///
/// Pure and total: no I/O, no clock, no randomness; every input gets a decision. What cannot be
/// decided safely is [`Outcome::NeedsHuman`], never [`Outcome::Approve`].
///
/// ```
/// use order_agent_core::policy::{decide, Outcome, Policy, Request};
/// # fn demo(policy: &Policy, request: &Request, facts: &order_agent_core::policy::Facts) {
/// let decision = decide(request, facts, policy, chrono::Utc::now());
/// if decision.outcome == Outcome::Approve {
///     // execute the refund, label, ... through the ports
/// }
/// for reason in &decision.reasons {
///     println!("{:?} ({}) {}", reason.code, reason.rule, reason.detail);
/// }
/// # }
/// ```
pub fn decide(request: &Request, facts: &Facts, policy: &Policy, now: DateTime<Utc>) -> Decision {
    let mut eval = Eval::new(policy, facts, now);
    let result = eval
        .precheck(request_order_id(request))
        .and_then(|()| match request {
            Request::Return(r) => eval.decide_return(r),
            Request::Receipt {
                authorised,
                receipt,
            } => eval.decide_receipt(authorised, receipt),
            Request::Cancellation(r) => eval.decide_cancellation(r),
            Request::AddressChange(r) => eval.decide_address_change(r),
            Request::ItemModification(r) => eval.decide_item_modification(r),
        });
    match result {
        Ok(()) => eval.finish(),
        Err(err) => eval.fail_closed(err),
    }
}

fn request_order_id(request: &Request) -> &OrderId {
    match request {
        Request::Return(r) => &r.order_id,
        Request::Receipt { authorised, .. } => &authorised.order_id,
        Request::Cancellation(r) => &r.order_id,
        Request::AddressChange(r) => &r.order_id,
        Request::ItemModification(r) => &r.order_id,
    }
}

/// Why evaluation could not finish; always becomes `needs_human`.
#[derive(Debug)]
enum EvalError {
    Money(MoneyError),
    /// The request and facts disagree (stops evaluation; already explained by a reason).
    Stop,
}

impl From<MoneyError> for EvalError {
    fn from(e: MoneyError) -> Self {
        EvalError::Money(e)
    }
}

type EvalResult<T = ()> = Result<T, EvalError>;

/// Units counted per line within one request. A request names a handful of lines, so a vector
/// scanned linearly beats a map (no allocation per entry, no cloned ids).
#[derive(Debug, Default)]
struct Tally<'a>(smallvec::SmallVec<[(&'a LineId, u32); 8]>);

impl<'a> Tally<'a> {
    fn entry(&mut self, id: &'a LineId) -> &mut u32 {
        let index = match self.0.iter().position(|(k, _)| *k == id) {
            Some(i) => i,
            None => {
                self.0.push((id, 0));
                self.0.len() - 1
            }
        };
        // `index` is in bounds: found above, or just pushed.
        &mut self.0[index].1
    }
}

/// The state of one evaluation: inputs, and the decision being built.
struct Eval<'a> {
    policy: &'a Policy,
    facts: &'a Facts,
    today: NaiveDate,
    decision: Decision,
    /// Outcome forced by an order-level rule (limits, fraud, structure).
    order_outcome: Option<Outcome>,
}

impl<'a> Eval<'a> {
    fn new(policy: &'a Policy, facts: &'a Facts, now: DateTime<Utc>) -> Self {
        Eval {
            policy,
            facts,
            today: now.with_timezone(&policy.timezone).date_naive(),
            decision: Decision {
                outcome: Outcome::NeedsHuman,
                reasons: Vec::with_capacity(8),
                policy_version: policy.version.clone(),
                lines: Vec::new(),
                refund: None,
                errors: Vec::new(),
            },
            order_outcome: None,
        }
    }

    fn reason(
        &mut self,
        code: ReasonCode,
        rule: impl Into<super::decision::RuleRef>,
        line_id: Option<&LineId>,
        detail: impl Into<super::decision::Detail>,
    ) {
        self.decision.reasons.push(Reason {
            code,
            rule: rule.into(),
            line_id: line_id.cloned(),
            detail: detail.into(),
        });
    }

    /// Records an order-level verdict; the most cautious one wins (needs human > deny > approve).
    fn force(&mut self, outcome: Outcome) {
        self.order_outcome = Some(match (self.order_outcome, outcome) {
            (Some(Outcome::NeedsHuman), _) | (_, Outcome::NeedsHuman) => Outcome::NeedsHuman,
            (Some(Outcome::Deny), _) | (_, Outcome::Deny) => Outcome::Deny,
            _ => Outcome::Approve,
        });
    }

    fn precheck(&mut self, order_id: &OrderId) -> EvalResult {
        let order = &self.facts.order;
        if &order.id != order_id {
            self.reason(
                ReasonCode::RuleError,
                "request",
                None,
                format!("facts describe order `{}`, not `{order_id}`", order.id),
            );
            return Err(EvalError::Stop);
        }
        // Limits and fraud signals read the customer's history: it must be the order's customer.
        if self.facts.customer.id != order.customer_id {
            self.reason(
                ReasonCode::RuleError,
                "facts",
                None,
                format!(
                    "facts describe customer `{}`, the order belongs to `{}`",
                    self.facts.customer.id, order.customer_id
                ),
            );
            return Err(EvalError::Stop);
        }
        if order.currency != self.policy.currency {
            self.reason(
                ReasonCode::CurrencyMismatch,
                "currency",
                None,
                format!(
                    "order is in {}, the policy in {}",
                    order.currency, self.policy.currency
                ),
            );
            return Err(EvalError::Stop);
        }
        Ok(())
    }

    /// Combines line verdicts and order-level verdicts into the final outcome.
    fn finish(mut self) -> Decision {
        let lines = &self.decision.lines;
        let line_outcome = if lines.iter().any(|l| l.outcome == Outcome::NeedsHuman) {
            Some(Outcome::NeedsHuman)
        } else if lines.iter().any(|l| l.outcome == Outcome::Approve) {
            Some(Outcome::Approve)
        } else if lines.is_empty() {
            None
        } else {
            Some(Outcome::Deny)
        };
        self.decision.outcome = match (line_outcome, self.order_outcome) {
            (Some(Outcome::NeedsHuman), _) | (_, Some(Outcome::NeedsHuman)) => Outcome::NeedsHuman,
            // Every line denied: order-level approval cannot revive it.
            (Some(Outcome::Deny), _) => Outcome::Deny,
            (_, Some(Outcome::Deny)) => Outcome::Deny,
            (Some(Outcome::Approve), _) | (None, Some(Outcome::Approve)) => Outcome::Approve,
            // Nothing decided anything: fail closed.
            (None, None) => Outcome::NeedsHuman,
        };
        if self.decision.outcome == Outcome::Deny {
            self.decision.refund = None;
        }
        self.decision
    }

    fn fail_closed(mut self, err: EvalError) -> Decision {
        if let EvalError::Money(e) = err {
            let message = e.to_string();
            self.reason(ReasonCode::RuleError, "engine", None, message.clone());
            self.decision.errors.push(message);
        }
        // An amount computed before the failure cannot be trusted.
        self.decision.refund = None;
        self.decision.outcome = Outcome::NeedsHuman;
        self.decision
    }
}

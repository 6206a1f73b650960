//! The money-moving operations shared by conversations and events: returns, cancellations,
//! refunds on receipt.

use std::collections::BTreeMap;

use crate::domain::{
    CancellationReason, CancellationRequest, Customer, ExchangeOffer, LineId, Order, OrderStatus,
    Priority, ResolutionKind, ReturnAuthorisation, ReturnId, ReturnRequest,
};
use crate::policy::{Decision, Facts, Outcome, ReasonCode, Request};
use crate::ports::{PortError, PortErrorKind};
use crate::replies::{ChangeKind, HandoverTopic, Reply};

use super::execute::{code_name, store_credit, Effects, RefundOutcome};
use super::{ActionTaken, Agent};

/// Reason codes that mean "a person must approve the money", as opposed to "a person must judge
/// the case".
const APPROVAL_CODES: [ReasonCode; 10] = [
    ReasonCode::AboveRefundLimit,
    ReasonCode::AboveCustomerPeriodLimit,
    ReasonCode::HighValueOrder,
    ReasonCode::FraudFlagged,
    ReasonCode::ReturnRateTooHigh,
    ReasonCode::TooManyReturns,
    ReasonCode::Blocklisted,
    ReasonCode::PartialRefund,
    ReasonCode::Disputed,
    ReasonCode::CappedAtRefundable,
];

/// What an operation answered.
#[derive(Debug)]
pub(super) struct Handled {
    pub reply: Reply,
    pub decision: Option<Decision>,
}

impl Agent {
    /// Facts about `order` for the policy engine: the customer, and the units already in earlier
    /// returns (all but `except`).
    pub(super) async fn facts(
        &self,
        order: &Order,
        customer: &Customer,
        except: Option<&ReturnId>,
    ) -> Result<Facts, PortError> {
        // The processor, not the OMS, knows what was captured and refunded a moment ago.
        let (earlier, payments) = futures_util::future::join(
            self.ports.store.return_authorisations_of_order(&order.id),
            futures_util::future::join_all(
                order
                    .payments
                    .iter()
                    .map(|p| self.ports.payments.payment(&p.id)),
            ),
        )
        .await;
        let earlier = earlier?;
        let mut order = order.clone();
        for (payment, fresh) in order.payments.iter_mut().zip(payments) {
            if let Some(fresh) = fresh? {
                *payment = fresh;
            }
        }
        let mut returned_quantities: BTreeMap<LineId, u32> = BTreeMap::new();
        for authorisation in earlier.iter().filter(|a| Some(&a.id) != except) {
            for line in &authorisation.request.lines {
                let units = returned_quantities.entry(line.line_id.clone()).or_insert(0);
                *units = units.saturating_add(line.quantity);
            }
        }
        Ok(Facts {
            order,
            customer: customer.clone(),
            returned_quantities,
            exchange_offers: Vec::new(),
            gift_card_balance: None,
        })
    }

    /// The exchange offers for the products of `order`'s lines `lines`, fetched concurrently.
    pub(super) async fn offers_for(
        &self,
        order: &Order,
        lines: &[LineId],
    ) -> Result<Vec<ExchangeOffer>, PortError> {
        let mut products: Vec<&crate::domain::ProductId> = lines
            .iter()
            .filter_map(|id| order.line(id).map(|l| &l.product_id))
            .collect();
        products.sort();
        products.dedup();
        let lists = futures_util::future::join_all(
            products.iter().map(|p| self.ports.oms.exchange_offers(p)),
        )
        .await;
        let mut offers = Vec::new();
        for list in lists {
            offers.extend(list?);
        }
        Ok(offers)
    }

    /// The topic of a hand-over, from the decision's reasons.
    pub(super) fn topic(decision: &Decision) -> HandoverTopic {
        if decision
            .reasons
            .iter()
            .any(|r| APPROVAL_CODES.contains(&r.code))
        {
            HandoverTopic::RefundApproval
        } else {
            HandoverTopic::PolicyReview
        }
    }

    /// Decides a return and carries it out: authorisation, OMS record, label; or a denial; or a
    /// ticket.
    ///
    /// When another request authorised a return of the same order between this one's facts and
    /// its authorisation, this one decides again on the new facts (which now count the other
    /// return's units), so two concurrent requests never both authorise the same units.
    pub(super) async fn process_return(
        &self,
        order: &Order,
        customer: &Customer,
        request: ReturnRequest,
        exchange_offers: Vec<ExchangeOffer>,
        effects: &mut Effects,
    ) -> Result<Handled, PortError> {
        for _ in 0..3 {
            if let Some(handled) = self
                .try_return(order, customer, &request, &exchange_offers, effects)
                .await?
            {
                return Ok(handled);
            }
        }
        Err(PortError::conflict(
            "agent.return",
            "returns of this order keep changing concurrently",
        ))
    }

    /// One attempt; `None` when a concurrent authorisation took the return id first.
    async fn try_return(
        &self,
        order: &Order,
        customer: &Customer,
        request: &ReturnRequest,
        exchange_offers: &[ExchangeOffer],
        effects: &mut Effects,
    ) -> Result<Option<Handled>, PortError> {
        let request = request.clone();
        let exchange_offers = exchange_offers.to_vec();
        let mut facts = self.facts(order, customer, None).await?;
        facts.exchange_offers = exchange_offers;
        let now = self.ports.clock.now();
        let decision = self
            .decide_logged(&Request::Return(request.clone()), &facts, order, effects)
            .await;
        let titles = |outcome: Outcome| -> Vec<String> {
            decision
                .lines
                .iter()
                .filter(|l| l.outcome == outcome)
                .filter_map(|l| order.line(&l.line_id).map(|line| line.title.clone()))
                .collect()
        };
        let reply = match decision.outcome {
            Outcome::Approve => {
                let approved: Vec<_> = request
                    .lines
                    .iter()
                    .filter(|l| {
                        decision
                            .lines
                            .iter()
                            .any(|v| v.line_id == l.line_id && v.outcome == Outcome::Approve)
                    })
                    .cloned()
                    .collect();
                let existing = self
                    .ports
                    .store
                    .return_authorisations_of_order(&order.id)
                    .await?;
                let authorisation = ReturnAuthorisation {
                    id: ReturnId::new(format!("ret-{}-{}", order.id, existing.len() + 1)),
                    request: ReturnRequest {
                        order_id: order.id.clone(),
                        lines: approved,
                        resolution: request.resolution,
                    },
                    authorised_at: now,
                    policy_version: decision.policy_version.clone(),
                };
                if let crate::ports::PutOutcome::AlreadyPresent(_) = self
                    .ports
                    .store
                    .insert_return_authorisation(&authorisation)
                    .await?
                {
                    return Ok(None);
                }
                effects.actions.push(ActionTaken::ReturnAuthorised {
                    return_id: authorisation.id.clone(),
                });
                if let Err(e) = self.ports.oms.record_return(&authorisation).await {
                    effects.fail(&e);
                }
                let label = self.return_label(&authorisation, order, effects).await;
                if label.is_none() {
                    self.label_failed_ticket(order, &authorisation, effects)
                        .await;
                }
                let inspection_required = decision.has_reason(ReasonCode::InspectionRequired);
                let refund = decision.refund.as_ref();
                Reply::ReturnAuthorised {
                    order_number: order.number.clone(),
                    return_id: authorisation.id.clone(),
                    label_url: label.map(|l| l.label_url),
                    items: titles(Outcome::Approve),
                    resolution: request.resolution,
                    // Before inspection the amount depends on the grade: nothing is promised.
                    refund_estimate: refund
                        .filter(|_| {
                            request.resolution != ResolutionKind::Exchange && !inspection_required
                        })
                        .map(|r| r.total),
                    return_shipping_fee: refund
                        .map(|r| r.return_shipping_fee)
                        .filter(|f| f.is_positive()),
                    inspection_required,
                }
            }
            Outcome::Deny => Reply::ReturnDenied {
                order_number: order.number.clone(),
                reasons: decision.reason_codes(),
                items: titles(Outcome::Deny),
            },
            Outcome::NeedsHuman => {
                let topic = Self::topic(&decision);
                let key = format!(
                    "ticket:return:{}:{}",
                    order.id,
                    request_fingerprint(&request)
                );
                let escalation = self.escalation(
                    Some(order),
                    if topic == HandoverTopic::RefundApproval {
                        Priority::High
                    } else {
                        Priority::Normal
                    },
                    format!("Return request on order {} needs a decision", order.number),
                    format!(
                        "{} asked to return items of order {} ({:?}).",
                        customer.name, order.number, request.resolution
                    ),
                    Some(&decision),
                    &[],
                );
                let ticket = self.ticket(&key, escalation, effects).await;
                Reply::HandedToHuman {
                    topic,
                    ticket_reference: ticket.map(|t| t.to_string()),
                }
            }
        };
        Ok(Some(Handled {
            reply,
            decision: Some(decision),
        }))
    }

    /// Decides a cancellation and carries it out: OMS cancel, then refunds.
    pub(super) async fn process_cancellation(
        &self,
        order: &Order,
        customer: &Customer,
        reason: CancellationReason,
        effects: &mut Effects,
    ) -> Result<Handled, PortError> {
        let facts = self.facts(order, customer, None).await?;
        let request = CancellationRequest {
            order_id: order.id.clone(),
            reason,
        };
        let decision = self
            .decide_logged(
                &Request::Cancellation(request.clone()),
                &facts,
                order,
                effects,
            )
            .await;
        let reply = match decision.outcome {
            Outcome::Approve => {
                // The OMS refuses once the order has shipped: it is the last word on that race.
                if let Err(e) = self.ports.oms.cancel_order(&request).await {
                    if e.kind() == PortErrorKind::Rejected {
                        // The warehouse was quicker: the order shipped after we looked.
                        return Ok(Handled {
                            reply: Reply::ChangeDenied {
                                order_number: order.number.clone(),
                                change: ChangeKind::Cancel,
                                reasons: vec![ReasonCode::AlreadyFulfilled],
                            },
                            decision: Some(decision),
                        });
                    }
                    // A timeout may hide a cancellation that went through: look before giving up,
                    // since the customer, asking again, would be told it is already cancelled and
                    // nothing else would refund them.
                    if !matches!(
                        e.kind(),
                        PortErrorKind::Timeout | PortErrorKind::Unavailable
                    ) {
                        return Err(e);
                    }
                    let cancelled = matches!(
                        self.ports.oms.order(&order.id).await,
                        Ok(Some(o)) if o.status == OrderStatus::Cancelled
                    );
                    if !cancelled {
                        return Err(e);
                    }
                }
                effects.actions.push(ActionTaken::OrderCancelled {
                    order_id: order.id.clone(),
                });
                let refund = decision.refund.as_ref();
                let tenders = refund.map(|r| r.tenders.clone()).unwrap_or_default();
                let prefix = format!("refund:{}:cancel", order.id);
                let outcome = self
                    .refund_tenders(order, &tenders, &prefix, None, effects)
                    .await;
                if outcome == RefundOutcome::Failed {
                    self.refund_failed_ticket(order, &decision, effects).await;
                }
                Reply::OrderCancelled {
                    order_number: order.number.clone(),
                    refund: refund.map(|r| r.total).filter(|t| t.is_positive()),
                }
            }
            Outcome::Deny => Reply::ChangeDenied {
                order_number: order.number.clone(),
                change: ChangeKind::Cancel,
                reasons: decision.reason_codes(),
            },
            Outcome::NeedsHuman => {
                let key = format!("ticket:cancel:{}", order.id);
                let escalation = self.escalation(
                    Some(order),
                    Priority::High,
                    format!("Cancellation of order {} needs a decision", order.number),
                    format!(
                        "{} asked to cancel order {} before it ships.",
                        customer.name, order.number
                    ),
                    Some(&decision),
                    &[],
                );
                let ticket = self.ticket(&key, escalation, effects).await;
                Reply::HandedToHuman {
                    topic: Self::topic(&decision),
                    ticket_reference: ticket.map(|t| t.to_string()),
                }
            }
        };
        Ok(Handled {
            reply,
            decision: Some(decision),
        })
    }

    /// A ticket saying a refund could not be completed, so that no money silently goes missing.
    pub(super) async fn refund_failed_ticket(
        &self,
        order: &Order,
        decision: &Decision,
        effects: &mut Effects,
    ) {
        let escalation = self.escalation(
            Some(order),
            Priority::Urgent,
            format!("Refund on order {} did not complete", order.number),
            format!(
                "The agent could not complete an approved refund on order {}. Errors: {}",
                order.number,
                effects.errors.join("; ")
            ),
            Some(decision),
            &["refund_failed".to_owned()],
        );
        self.ticket(
            &format!("ticket:refund-failed:{}", order.id),
            escalation,
            effects,
        )
        .await;
    }

    /// A ticket asking staff to send the return label the agent could not create, since the
    /// customer was told it would follow.
    async fn label_failed_ticket(
        &self,
        order: &Order,
        authorisation: &ReturnAuthorisation,
        effects: &mut Effects,
    ) {
        let escalation = self.escalation(
            Some(order),
            Priority::Normal,
            format!(
                "Send the return label for return {} on order {}",
                authorisation.id, order.number
            ),
            format!(
                "Return {} on order {} is authorised, but its label could not be created; the \
                 customer was told it will follow separately. Errors: {}",
                authorisation.id,
                order.number,
                effects.errors.join("; ")
            ),
            None,
            &["label_failed".to_owned()],
        );
        self.ticket(
            &format!("ticket:label:{}", authorisation.id),
            escalation,
            effects,
        )
        .await;
    }

    /// Store credit has no port yet: it is requested from staff on a ticket.
    pub(super) async fn request_store_credit(
        &self,
        order: &Order,
        decision: &Decision,
        key: &str,
        effects: &mut Effects,
    ) {
        let Some(amount) = decision
            .refund
            .as_ref()
            .and_then(|r| store_credit(&r.tenders))
        else {
            return;
        };
        let escalation = self.escalation(
            Some(order),
            Priority::Normal,
            format!("Issue store credit of {amount} for order {}", order.number),
            format!(
                "The return on order {} is approved for store credit of {amount}. Please issue it.",
                order.number
            ),
            Some(decision),
            &["store_credit".to_owned()],
        );
        if self.ticket(key, escalation, effects).await.is_some() {
            effects
                .actions
                .push(ActionTaken::StoreCreditRequested { amount });
        }
    }
}

/// A short stable fingerprint of a return request (its lines and resolution), for keys.
fn request_fingerprint(request: &ReturnRequest) -> String {
    let mut parts: Vec<String> = request
        .lines
        .iter()
        .map(|l| format!("{}x{}", l.line_id, l.quantity))
        .collect();
    parts.sort();
    format!("{}:{:?}", parts.join("+"), request.resolution).to_lowercase()
}

/// The customer-facing reason codes of a decision (denials quote these).
pub(super) fn reason_strings(decision: &Decision) -> Vec<String> {
    decision.reasons.iter().map(|r| code_name(r.code)).collect()
}

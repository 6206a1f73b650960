//! Staff approving or declining the refunds the agent held for them.

use serde::{Deserialize, Serialize};

use crate::domain::{OrderId, TicketId};
use crate::policy::TenderRefund;
use crate::ports::{RefundIntentState, RefundIntentTransition, TransitionOutcome};
use crate::replies::Reply;

use super::execute::{Effects, RefundOutcome};
use super::{Agent, EventOutcome};

/// What a person decided about held refunds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Send the money.
    Approve,
    /// Do not send it; the intents end as failed.
    Decline,
}

impl Agent {
    /// Applies a person's decision to every refund of `order` held for approval (on `ticket`,
    /// when given; all held ones otherwise). Approving also retries refunds approved earlier
    /// whose payment failed then.
    ///
    /// Approving moves each intent from `needs_approval` to `approved` with compare-and-set and
    /// then refunds it under its original key, so approving twice, or two people approving at
    /// once, refunds once. The amounts are those the policy engine computed: a person approves,
    /// but does not change, what the agent would pay.
    #[tracing::instrument(
        name = "resolve_held_refunds",
        skip(self, ticket),
        fields(order_id = %order_id, approval = ?approval)
    )]
    pub async fn resolve_held_refunds(
        &self,
        order_id: &OrderId,
        ticket: Option<&TicketId>,
        approval: Approval,
    ) -> EventOutcome {
        let mut effects = Effects::default();
        let mut outcome = EventOutcome::default();
        let intents = match self.ports.store.refund_intents_of_order(order_id).await {
            Ok(intents) => intents,
            Err(e) => {
                effects.fail(&e);
                outcome.errors = effects.errors;
                return outcome;
            }
        };
        // Approving again also pays what was approved before but could not be paid then (the
        // processor was down): those intents wait in `approved`.
        let held: Vec<_> = intents
            .into_iter()
            .filter(|i| {
                i.state == RefundIntentState::NeedsApproval
                    || (approval == Approval::Approve && i.state == RefundIntentState::Approved)
            })
            .filter(|i| ticket.is_none() || i.approval_ticket.as_ref() == ticket)
            .collect();
        if held.is_empty() {
            outcome.reasons.push("nothing_held".to_owned());
            outcome.errors = effects.errors;
            return outcome;
        }
        let order = match self.ports.oms.order(order_id).await {
            Ok(Some(order)) => order,
            Ok(None) => {
                outcome.reasons.push(format!("unknown_order:{order_id}"));
                return outcome;
            }
            Err(e) => {
                effects.fail(&e);
                outcome.errors = effects.errors;
                return outcome;
            }
        };
        let to = match approval {
            Approval::Approve => RefundIntentState::Approved,
            Approval::Decline => RefundIntentState::Failed,
        };
        let mut approved = Vec::new();
        for intent in held {
            if intent.state == RefundIntentState::Approved {
                outcome
                    .reasons
                    .push(format!("approved_earlier:{}", intent.key));
                approved.push(intent);
                continue;
            }
            let transition = RefundIntentTransition {
                from: RefundIntentState::NeedsApproval,
                to,
                approval_ticket: ticket.cloned(),
                refund_id: None,
                at: self.ports.clock.now(),
            };
            match self
                .ports
                .store
                .transition_refund_intent(&intent.key, &transition)
                .await
            {
                Ok(TransitionOutcome::Applied(intent)) => {
                    outcome.reasons.push(format!(
                        "{}:{}",
                        if approval == Approval::Approve {
                            "approved"
                        } else {
                            "declined"
                        },
                        intent.key
                    ));
                    if approval == Approval::Approve {
                        approved.push(intent);
                    }
                }
                // Someone else decided first: their decision stands.
                Ok(TransitionOutcome::Stale(intent)) => {
                    outcome
                        .reasons
                        .push(format!("already_decided:{}", intent.key));
                }
                Err(e) => effects.fail(&e),
            }
        }
        let mut paid: Option<crate::money::Money> = None;
        let mut paid_to = Vec::new();
        for intent in &approved {
            // The intent's key is `{prefix}:{payment}`: refund it under that same key.
            let Some(prefix) = intent
                .key
                .strip_suffix(intent.payment_id.as_str())
                .and_then(|p| p.strip_suffix(':'))
            else {
                effects.errors.push(format!(
                    "refund intent `{}` has an unexpected key",
                    intent.key
                ));
                continue;
            };
            let tender = order
                .payments
                .iter()
                .find(|p| p.id == intent.payment_id)
                .map(|p| p.tender);
            let Some(tender) = tender else {
                effects.errors.push(format!(
                    "payment `{}` is not on order `{order_id}`",
                    intent.payment_id
                ));
                continue;
            };
            let tenders = [TenderRefund {
                payment_id: Some(intent.payment_id.clone()),
                tender,
                amount: intent.amount,
            }];
            if self
                .refund_tenders(&order, &tenders, prefix, None, &mut effects)
                .await
                == RefundOutcome::Done
            {
                paid = Some(match paid {
                    Some(sum) => sum.checked_add(intent.amount).unwrap_or(sum),
                    None => intent.amount,
                });
                paid_to.push(tender);
            }
        }
        if let Some(amount) = paid {
            let customer = self
                .ports
                .oms
                .customer(&order.customer_id)
                .await
                .ok()
                .flatten();
            let reply = Reply::RefundIssued {
                order_number: order.number.clone(),
                amount,
                tenders: paid_to,
            };
            let key = format!(
                "notice:approved:{}:{}",
                order.id,
                approved
                    .iter()
                    .map(|i| i.key.as_str())
                    .collect::<Vec<_>>()
                    .join("+")
            );
            self.notify_once(customer.as_ref(), &order, &reply, &key, &mut effects)
                .await;
        }
        outcome.actions = effects.actions;
        outcome.errors = effects.errors;
        outcome
    }
}

//! Structured requests from a form or an API (a return with chosen lines, a new address, a size
//! swap), made by a sender already verified in the conversation.

use chrono::Duration;

use crate::domain::{
    AddressChangeRequest, Channel, Customer, ItemChange, ItemModificationRequest, Order, OrderId,
    Priority,
};
use crate::policy::{Decision, Outcome, ReasonCode, Request};
use crate::ports::{AddressValidation, ConversationKey, PortError, PortErrorKind};
use crate::replies::{ChangeKind, Reply};

use super::execute::{Effects, RefundOutcome};
use super::operations::{reason_strings, Handled};
use super::{ActionTaken, Agent, AgentError, Turn};

impl Agent {
    /// Handles a structured request: a [`Request::Return`], [`Request::Cancellation`],
    /// [`Request::AddressChange`] or [`Request::ItemModification`] about an order of the customer
    /// this conversation proved to be (see [`Agent::handle_message`]). A sender not verified, or
    /// asking about somebody else's order, gets the same answer as a failed identity check.
    /// Receipts come from the warehouse as events ([`Agent::handle_event`]), never from customers.
    ///
    /// The reply is sent on `channel` to `sender` and returned.
    pub async fn handle_request(
        &self,
        channel: Channel,
        sender: &str,
        request: &Request,
    ) -> Result<Turn, AgentError> {
        let now = self.ports.clock.now();
        let key = ConversationKey {
            channel,
            sender: sender.to_owned(),
        };
        let state = self
            .ports
            .store
            .conversation(&key)
            .await
            .map_err(AgentError::Store)?
            .map(|v| v.value)
            .filter(|s| {
                now - s.updated_at <= Duration::hours(super::conversation::VERIFIED_FOR_HOURS)
            });
        let locale = state.as_ref().and_then(|s| s.locale).unwrap_or_default();
        let mut effects = Effects::default();
        let mut reasons = Vec::new();
        let verified = state.and_then(|s| s.verified_customer);

        let handled = match verified {
            None => {
                reasons.push("identity:not_verified".to_owned());
                Ok(Handled {
                    reply: Reply::AskVerification { order_number: None },
                    decision: None,
                })
            }
            Some(customer_id) => {
                self.structured(&customer_id, request, &mut effects, &mut reasons)
                    .await
            }
        };
        let handled = match handled {
            Ok(handled) => handled,
            Err(e) => {
                effects.fail(&e);
                reasons.push("system_unavailable".to_owned());
                Handled {
                    reply: Reply::SystemUnavailable,
                    decision: None,
                }
            }
        };
        if let Some(decision) = &handled.decision {
            reasons.extend(reason_strings(decision));
        }
        let reply_key = format!(
            "reply:request:{channel:?}:{sender}:{}",
            now.timestamp_millis()
        )
        .to_lowercase();
        let rendered = self
            .send(
                channel,
                sender,
                locale,
                &handled.reply,
                reply_key,
                &mut effects,
            )
            .await;
        Ok(Turn {
            intent: None,
            locale,
            reply: handled.reply,
            rendered,
            reasons,
            decision: handled.decision,
            actions: effects.actions,
            errors: effects.errors,
        })
    }

    async fn structured(
        &self,
        customer_id: &crate::domain::CustomerId,
        request: &Request,
        effects: &mut Effects,
        reasons: &mut Vec<String>,
    ) -> Result<Handled, PortError> {
        let order_id = match request {
            Request::Return(r) => &r.order_id,
            Request::Cancellation(r) => &r.order_id,
            Request::AddressChange(r) => &r.order_id,
            Request::ItemModification(r) => &r.order_id,
            Request::Receipt { .. } => {
                reasons.push("request:receipt_not_from_customers".to_owned());
                return Ok(Handled {
                    reply: Reply::Clarify,
                    decision: None,
                });
            }
        };
        let (order, customer) = match self.owned_order(order_id, customer_id).await? {
            Some(found) => found,
            None => {
                reasons.push("identity:order_not_owned".to_owned());
                return Ok(Handled {
                    reply: Reply::NotVerified,
                    decision: None,
                });
            }
        };
        match request {
            Request::Return(r) => {
                let lines: Vec<_> = r.lines.iter().map(|l| l.line_id.clone()).collect();
                let offers = if r.resolution == crate::domain::ResolutionKind::Exchange {
                    self.offers_for(&order, &lines).await?
                } else {
                    Vec::new()
                };
                self.process_return(&order, &customer, r.clone(), offers, effects)
                    .await
            }
            Request::Cancellation(r) => {
                self.process_cancellation(&order, &customer, r.reason, effects)
                    .await
            }
            Request::AddressChange(r) => {
                self.process_address_change(&order, &customer, r, effects)
                    .await
            }
            Request::ItemModification(r) => {
                self.process_item_modification(&order, &customer, r, effects)
                    .await
            }
            Request::Receipt { .. } => Ok(Handled {
                reply: Reply::Clarify,
                decision: None,
            }),
        }
    }

    /// The order `id` with its customer, only when it belongs to `customer`.
    async fn owned_order(
        &self,
        id: &OrderId,
        customer: &crate::domain::CustomerId,
    ) -> Result<Option<(Order, Customer)>, PortError> {
        let Some(order) = self.ports.oms.order(id).await? else {
            return Ok(None);
        };
        if &order.customer_id != customer {
            return Ok(None);
        }
        Ok(self.ports.oms.customer(customer).await?.map(|c| (order, c)))
    }

    /// A decision that needs a person becomes a ticket.
    async fn change_ticket(
        &self,
        order: &Order,
        customer: &Customer,
        what: &str,
        decision: &Decision,
        effects: &mut Effects,
    ) -> Reply {
        let escalation = self.escalation(
            Some(order),
            Priority::Normal,
            format!("{what} on order {} needs a decision", order.number),
            format!("{} asked for: {what}.", customer.name),
            Some(decision),
            &[],
        );
        let key = format!(
            "ticket:{}:{}:{}",
            what.to_lowercase().replace(' ', "-"),
            order.id,
            order.modifications_made
        );
        let ticket = self.ticket(&key, escalation, effects).await;
        Reply::HandedToHuman {
            topic: Self::topic(decision),
            ticket_reference: ticket.map(|t| t.to_string()),
        }
    }

    /// Validates the new address with the carrier, decides, and changes it in the OMS.
    async fn process_address_change(
        &self,
        order: &Order,
        customer: &Customer,
        request: &AddressChangeRequest,
        effects: &mut Effects,
    ) -> Result<Handled, PortError> {
        let denied = |reasons: Vec<ReasonCode>| Reply::ChangeDenied {
            order_number: order.number.clone(),
            change: ChangeKind::Address,
            reasons,
        };
        match self
            .ports
            .carrier
            .validate_address(&request.new_address)
            .await?
        {
            AddressValidation::Valid => {}
            // A corrected suggestion is the customer's to confirm, not the agent's to apply.
            AddressValidation::Corrected { .. } | AddressValidation::Invalid { .. } => {
                return Ok(Handled {
                    reply: denied(vec![ReasonCode::AddressUndeliverable]),
                    decision: None,
                })
            }
        }
        let facts = self.facts(order, customer, None).await?;
        let decision = self
            .decide_logged(
                &Request::AddressChange(request.clone()),
                &facts,
                order,
                effects,
            )
            .await;
        let reply = match decision.outcome {
            Outcome::Approve => match self.ports.oms.change_shipping_address(request).await {
                Ok(_) => {
                    effects.actions.push(ActionTaken::AddressChanged {
                        order_id: order.id.clone(),
                    });
                    Reply::AddressChanged {
                        order_number: order.number.clone(),
                        address: request.new_address.clone(),
                    }
                }
                // The OMS is the last word on the race with the warehouse.
                Err(e) if e.kind() == PortErrorKind::Rejected => {
                    denied(vec![ReasonCode::AlreadyFulfilled])
                }
                Err(e) => return Err(e),
            },
            Outcome::Deny => denied(decision.reason_codes()),
            Outcome::NeedsHuman => {
                self.change_ticket(order, customer, "Address change", &decision, effects)
                    .await
            }
        };
        Ok(Handled {
            reply,
            decision: Some(decision),
        })
    }

    /// Decides an item change, applies it in the OMS, and refunds removed units.
    async fn process_item_modification(
        &self,
        order: &Order,
        customer: &Customer,
        request: &ItemModificationRequest,
        effects: &mut Effects,
    ) -> Result<Handled, PortError> {
        let swapped: Vec<_> = request
            .changes
            .iter()
            .filter_map(|c| match c {
                ItemChange::SwapVariant { line_id, .. } => Some(line_id.clone()),
                ItemChange::ReduceQuantity { .. } => None,
            })
            .collect();
        let mut facts = self.facts(order, customer, None).await?;
        facts.exchange_offers = self.offers_for(order, &swapped).await?;
        let decision = self
            .decide_logged(
                &Request::ItemModification(request.clone()),
                &facts,
                order,
                effects,
            )
            .await;
        let reply = match decision.outcome {
            Outcome::Approve => {
                match self.ports.oms.modify_items(request).await {
                    Ok(_) => {}
                    Err(e) if e.kind() == PortErrorKind::Rejected => {
                        return Ok(Handled {
                            reply: Reply::ChangeDenied {
                                order_number: order.number.clone(),
                                change: ChangeKind::Items,
                                reasons: vec![ReasonCode::AlreadyFulfilled],
                            },
                            decision: Some(decision),
                        })
                    }
                    Err(e) => return Err(e),
                }
                effects.actions.push(ActionTaken::ItemsModified {
                    order_id: order.id.clone(),
                });
                if let Some(refund) = decision.refund.as_ref().filter(|r| r.total.is_positive()) {
                    let prefix = format!(
                        "refund:{}:modification-{}",
                        order.id,
                        order.modifications_made + 1
                    );
                    let outcome = self
                        .refund_tenders(order, &refund.tenders, &prefix, None, effects)
                        .await;
                    if outcome == RefundOutcome::Failed {
                        self.refund_failed_ticket(order, &decision, effects).await;
                    }
                }
                Reply::ItemsModified {
                    order_number: order.number.clone(),
                }
            }
            Outcome::Deny => Reply::ChangeDenied {
                order_number: order.number.clone(),
                change: ChangeKind::Items,
                reasons: decision.reason_codes(),
            },
            Outcome::NeedsHuman => {
                self.change_ticket(order, customer, "Item change", &decision, effects)
                    .await
            }
        };
        Ok(Handled {
            reply,
            decision: Some(decision),
        })
    }
}

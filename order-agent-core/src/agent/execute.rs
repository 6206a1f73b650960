//! Side effects, each idempotent under a key derived from business ids.

use std::collections::BTreeMap;

use crate::domain::{
    Channel, Customer, Escalation, Locale, Order, Priority, ReturnAuthorisation, ReturnId,
};
use crate::money::Money;
use crate::policy::{Decision, TenderRefund};
use crate::ports::{
    DecisionRecord, IdempotencyStoreExt, OutboundMessage, PortError, PortErrorKind, PutOutcome,
    RefundIntent, RefundIntentState, RefundIntentTransition, RefundRequest, RestockRequest,
    ReturnLabel, ReturnLabelRequest, TransitionOutcome,
};
use crate::replies::{render, Reply};

use super::{ActionTaken, Agent};

/// Collects what a call did and what failed on the way.
#[derive(Debug, Default)]
pub(super) struct Effects {
    pub actions: Vec<ActionTaken>,
    pub errors: Vec<String>,
}

impl Effects {
    pub(super) fn fail(&mut self, error: &PortError) {
        self.errors.push(error.to_string());
    }
}

/// Where a refund's money ends up, as the executor reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RefundOutcome {
    /// Every tender was refunded (now or before).
    Done,
    /// Held for approval.
    Held,
    /// Something failed; a ticket says what.
    Failed,
}

impl Agent {
    /// Renders `reply` for `to` on `channel` and sends it, under `key`.
    pub(super) async fn send(
        &self,
        channel: Channel,
        to: &str,
        locale: Locale,
        reply: &Reply,
        key: String,
        effects: &mut Effects,
    ) -> crate::replies::RenderedReply {
        let rendered = render(reply, locale, channel, self.policy.timezone);
        let message = OutboundMessage {
            channel,
            to: to.to_owned(),
            locale,
            subject: rendered.subject.clone(),
            body: rendered.body.clone(),
            idempotency_key: key,
        };
        let started = std::time::Instant::now();
        let sent = self.ports.messaging.send(&message).await;
        // The recipient is personal data: only the channel is logged.
        tracing::debug!(
            channel = ?channel,
            ok = sent.is_ok(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "message sent"
        );
        match sent {
            Ok(delivery) => effects.actions.push(ActionTaken::MessageSent {
                channel,
                to: to.to_owned(),
                delivery,
            }),
            Err(e) => effects.fail(&e),
        }
        rendered
    }

    /// Sends a proactive message to the customer once per `key`: on their preferred contact
    /// point, else the order's email.
    pub(super) async fn notify_once(
        &self,
        customer: Option<&Customer>,
        order: &Order,
        reply: &Reply,
        key: &str,
        effects: &mut Effects,
    ) {
        let now = self.ports.clock.now();
        match self.ports.store.recall::<bool>(key).await {
            Ok(Some(_)) => {
                effects.actions.push(ActionTaken::AlreadyDone {
                    key: key.to_owned(),
                });
                return;
            }
            Ok(None) => {}
            Err(e) => {
                effects.fail(&e);
                return;
            }
        }
        let (channel, to) = customer
            .and_then(|c| c.contact_points.first())
            .map_or((Channel::Email, order.email.clone()), |c| {
                (c.channel, c.address.clone())
            });
        let locale = customer.map_or(Locale::En, |c| c.locale);
        let before = effects.errors.len();
        self.send(channel, &to, locale, reply, key.to_owned(), effects)
            .await;
        if effects.errors.len() == before {
            if let Err(e) = self.ports.store.remember(key, true, now).await {
                effects.fail(&e);
            }
        }
    }

    /// Opens (or finds, by key) a ticket.
    pub(super) async fn ticket(
        &self,
        key: &str,
        escalation: Escalation,
        effects: &mut Effects,
    ) -> Option<crate::domain::TicketId> {
        match self.ports.helpdesk.open_ticket(key, &escalation).await {
            Ok(ticket) => {
                // Keys of conversation tickets carry the sender's address: only their kind is
                // logged.
                let kind: String = key.split(':').take(2).collect::<Vec<_>>().join(":");
                tracing::info!(
                    kind = %kind,
                    ticket_id = %ticket.id,
                    order_id = ?escalation.order_id,
                    priority = ?escalation.priority,
                    reasons = ?escalation.reasons,
                    "ticket opened"
                );
                effects.actions.push(ActionTaken::TicketOpened {
                    ticket_id: ticket.id.clone(),
                    key: key.to_owned(),
                });
                Some(ticket.id)
            }
            Err(e) => {
                effects.fail(&e);
                None
            }
        }
    }

    /// Decides `request` about `order` under the agent's policy, now, and logs the decision.
    pub(super) async fn decide_logged(
        &self,
        request: &crate::policy::Request,
        facts: &crate::policy::Facts,
        order: &Order,
        effects: &mut Effects,
    ) -> Decision {
        let decision = crate::policy::decide(request, facts, &self.policy, self.ports.clock.now());
        self.log_decision(format!("order:{}", order.id), &decision, effects)
            .await;
        decision
    }

    /// Appends `decision` to the decision log.
    pub(super) async fn log_decision(
        &self,
        subject: String,
        decision: &Decision,
        effects: &mut Effects,
    ) {
        let now = self.ports.clock.now();
        let record = match DecisionRecord::from_decision(now, subject, decision) {
            Ok(record) => record,
            Err(e) => {
                effects
                    .errors
                    .push(format!("decision not serialisable: {e}"));
                return;
            }
        };
        tracing::info!(
            subject = %record.subject,
            outcome = ?decision.outcome,
            reasons = ?record.reasons,
            policy_version = %decision.policy_version,
            "decided"
        );
        match self.ports.store.append_decision(&record).await {
            Ok(sequence) => effects
                .actions
                .push(ActionTaken::DecisionLogged { sequence }),
            Err(e) => effects.fail(&e),
        }
    }

    /// Refunds `tenders` of `order`, each through a refund intent keyed `{prefix}:{payment}`,
    /// recorded before the processor is called. With `hold`, the intents wait for approval on
    /// `approval_ticket` instead.
    ///
    /// A processor timeout is reconciled by listing the payment's refunds: a refund carrying
    /// the intent's key counts as made. An intent already succeeded is never sent again; an
    /// intent stored with another amount is never sent at all.
    pub(super) async fn refund_tenders(
        &self,
        order: &Order,
        tenders: &[TenderRefund],
        prefix: &str,
        hold: Option<Option<crate::domain::TicketId>>,
        effects: &mut Effects,
    ) -> RefundOutcome {
        let now = self.ports.clock.now();
        let mut outcome = RefundOutcome::Done;
        for tender in tenders {
            let Some(payment_id) = &tender.payment_id else {
                continue;
            };
            let key = format!("{prefix}:{payment_id}");
            let auto_limit = self
                .policy
                .limits
                .max_auto_refund
                .and_then(|limit| Money::new(limit, self.policy.currency).ok());
            // Above the limit an intent always starts held, whatever the caller asked: the store
            // would refuse it otherwise, and a refund above the limit needs a person.
            let above_limit =
                auto_limit.is_some_and(|limit| tender.amount.to_minor() > limit.to_minor());
            let intent = RefundIntent {
                key: key.clone(),
                order_id: order.id.clone(),
                payment_id: payment_id.clone(),
                amount: tender.amount,
                captured: order
                    .payments
                    .iter()
                    .find(|p| &p.id == payment_id)
                    .map(|p| p.captured),
                auto_limit,
                state: if hold.is_some() || above_limit {
                    RefundIntentState::NeedsApproval
                } else {
                    RefundIntentState::Pending
                },
                approval_ticket: hold.clone().flatten(),
                refund_id: None,
                created_at: now,
                updated_at: now,
            };
            let (stored, retrying) = match self.ports.store.create_refund_intent(&intent).await {
                Ok(PutOutcome::Inserted) if hold.is_none() && above_limit => {
                    // Only a mistake upstream gets here: say so loudly, pay nothing.
                    effects.errors.push(format!(
                        "refund `{key}` of {} is above the auto-refund limit but was not held \
                         for approval: held now, not paid",
                        tender.amount
                    ));
                    (intent, false)
                }
                Ok(PutOutcome::Inserted) => (intent, false),
                Ok(PutOutcome::AlreadyPresent(existing)) => (existing, true),
                Err(e) => {
                    effects.fail(&e);
                    outcome = RefundOutcome::Failed;
                    continue;
                }
            };
            if stored.amount != tender.amount {
                effects.errors.push(format!(
                    "refund intent `{key}` holds {}, not {}: not sent",
                    stored.amount, tender.amount
                ));
                outcome = RefundOutcome::Failed;
                continue;
            }
            match stored.state {
                RefundIntentState::Succeeded => {
                    effects.actions.push(ActionTaken::AlreadyDone { key });
                    continue;
                }
                RefundIntentState::NeedsApproval => {
                    effects.actions.push(ActionTaken::RefundHeld {
                        key,
                        amount: tender.amount,
                    });
                    if outcome == RefundOutcome::Done {
                        outcome = RefundOutcome::Held;
                    }
                    continue;
                }
                RefundIntentState::Failed => {
                    outcome = RefundOutcome::Failed;
                    continue;
                }
                RefundIntentState::Pending | RefundIntentState::Approved => {}
            }
            if retrying && self.beyond_idempotency_window(&stored) {
                // The processor may have forgotten the key: re-sending it could refund again.
                // Look first; if the payment's refunds cannot be listed, send nothing.
                match self.ports.payments.refunds(payment_id).await {
                    Ok(refunds) => {
                        let made = refunds.into_iter().find(|r| {
                            r.idempotency_key.as_deref() == Some(key.as_str())
                                && r.state != crate::domain::RefundState::Failed
                        });
                        if let Some(refund) = made {
                            self.settle_intent(&key, stored.state, &refund, effects)
                                .await;
                            effects.actions.push(ActionTaken::AlreadyDone { key });
                            continue;
                        }
                    }
                    Err(e) => {
                        effects.fail(&e);
                        outcome = RefundOutcome::Failed;
                        continue;
                    }
                }
            }
            let request = RefundRequest {
                payment_id: payment_id.clone(),
                amount: tender.amount,
                idempotency_key: key.clone(),
                metadata: BTreeMap::from([
                    ("order_id".to_owned(), order.id.to_string()),
                    ("intent".to_owned(), key.clone()),
                ]),
            };
            let started = std::time::Instant::now();
            let sent = self.ports.payments.refund(&request).await;
            tracing::info!(
                order_id = %order.id,
                %payment_id,
                %key,
                amount = %tender.amount,
                ok = sent.is_ok(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "refund sent to the processor"
            );
            let result = match sent {
                Ok(refund) => Ok(refund),
                Err(e)
                    if matches!(
                        e.kind(),
                        PortErrorKind::Timeout | PortErrorKind::Unavailable
                    ) =>
                {
                    // It may have gone through: look before anyone retries.
                    match self.ports.payments.refunds(payment_id).await {
                        Ok(refunds) => refunds
                            .into_iter()
                            .find(|r| r.idempotency_key.as_deref() == Some(key.as_str()))
                            .ok_or(e),
                        Err(_) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(refund) => {
                    self.settle_intent(&key, stored.state, &refund, effects)
                        .await;
                    effects.actions.push(ActionTaken::Refunded {
                        payment_id: payment_id.clone(),
                        amount: refund.amount,
                        refund_id: refund.id,
                    });
                }
                Err(e) if e.is_retryable() => {
                    // Left pending: the next attempt reconciles before sending again.
                    effects.fail(&e);
                    outcome = RefundOutcome::Failed;
                }
                Err(e) => {
                    effects.fail(&e);
                    let transition = RefundIntentTransition {
                        from: stored.state,
                        to: RefundIntentState::Failed,
                        approval_ticket: None,
                        refund_id: None,
                        at: self.ports.clock.now(),
                    };
                    if let Err(e) = self
                        .ports
                        .store
                        .transition_refund_intent(&key, &transition)
                        .await
                    {
                        effects.fail(&e);
                    }
                    outcome = RefundOutcome::Failed;
                }
            }
        }
        outcome
    }

    /// Whether `intent` may be older than the processor's memory of its idempotency key. The
    /// key is first sent after the intent is created, so an intent created within the window
    /// is certainly still remembered; an hour of margin covers clock differences.
    fn beyond_idempotency_window(&self, intent: &RefundIntent) -> bool {
        let window =
            chrono::Duration::hours(i64::from(self.config.payment_idempotency_window_hours))
                - chrono::Duration::hours(1);
        self.ports.clock.now() - intent.created_at >= window
    }

    /// Records that the processor made `refund` for intent `key`.
    async fn settle_intent(
        &self,
        key: &str,
        from: RefundIntentState,
        refund: &crate::domain::Refund,
        effects: &mut Effects,
    ) {
        let transition = RefundIntentTransition {
            from,
            to: RefundIntentState::Succeeded,
            approval_ticket: None,
            refund_id: Some(refund.id.clone()),
            at: self.ports.clock.now(),
        };
        match self
            .ports
            .store
            .transition_refund_intent(key, &transition)
            .await
        {
            Ok(TransitionOutcome::Applied(_)) | Ok(TransitionOutcome::Stale(_)) => {}
            Err(e) => effects.fail(&e),
        }
    }

    /// Creates the return label once per return; a retry finds the first label.
    pub(super) async fn return_label(
        &self,
        authorisation: &ReturnAuthorisation,
        order: &Order,
        effects: &mut Effects,
    ) -> Option<ReturnLabel> {
        let key = format!("label:{}", authorisation.id);
        match self.ports.store.recall::<ReturnLabel>(&key).await {
            Ok(Some(label)) => return Some(label),
            Ok(None) => {}
            Err(e) => {
                effects.fail(&e);
                return None;
            }
        }
        let request = ReturnLabelRequest {
            return_id: authorisation.id.clone(),
            carrier: self.config.return_carrier.clone(),
            from: order.shipping_address.clone(),
            to: self.config.returns_address.clone(),
            weight_grams: None,
        };
        let label = match self.ports.carrier.create_return_label(&request).await {
            Ok(label) => label,
            Err(e) => {
                effects.fail(&e);
                return None;
            }
        };
        match self
            .ports
            .store
            .remember(&key, label, self.ports.clock.now())
            .await
        {
            Ok(label) => {
                effects.actions.push(ActionTaken::LabelCreated {
                    return_id: authorisation.id.clone(),
                    label_url: label.label_url.clone(),
                });
                Some(label)
            }
            Err(e) => {
                effects.fail(&e);
                None
            }
        }
    }

    /// Books received units into stock, once per return and line.
    pub(super) async fn restock(
        &self,
        return_id: &ReturnId,
        order: &Order,
        decision: &Decision,
        location: &crate::domain::LocationId,
        effects: &mut Effects,
    ) {
        for verdict in &decision.lines {
            let (Some(disposition), crate::policy::Outcome::Approve) =
                (verdict.restock, verdict.outcome)
            else {
                continue;
            };
            let Some(line) = order.line(&verdict.line_id) else {
                continue;
            };
            let request = RestockRequest {
                idempotency_key: format!("restock:{return_id}:{}", verdict.line_id),
                sku: line.sku.clone(),
                quantity: verdict.quantity,
                disposition,
                location: location.clone(),
            };
            match self.ports.inventory.restock(&request).await {
                Ok(movement) => effects.actions.push(ActionTaken::Restocked {
                    sku: movement.sku,
                    quantity: movement.quantity,
                    disposition: movement.disposition,
                }),
                Err(e) => effects.fail(&e),
            }
        }
    }

    /// An escalation about `order` for staff, from a decision's reasons.
    pub(super) fn escalation(
        &self,
        order: Option<&Order>,
        priority: Priority,
        subject: String,
        mut summary: String,
        decision: Option<&Decision>,
        extra_reasons: &[String],
    ) -> Escalation {
        let mut reasons: Vec<String> = extra_reasons.to_vec();
        if let Some(decision) = decision {
            summary.push_str("\n\nThe agent's reasons:");
            for r in &decision.reasons {
                summary.push_str(&format!(
                    "\n- {} ({}){}: {}",
                    code_name(r.code),
                    r.rule,
                    r.line_id
                        .as_ref()
                        .map(|l| format!(" [line {l}]"))
                        .unwrap_or_default(),
                    r.detail
                ));
                reasons.push(code_name(r.code));
            }
            if let Some(refund) = &decision.refund {
                summary.push_str(&format!(
                    "\n\nMoney: {} ({:?})",
                    refund.total, refund.resolution
                ));
                for t in &refund.tenders {
                    summary.push_str(&format!(
                        "\n- {:?} {}: {}",
                        t.tender,
                        t.payment_id
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        t.amount
                    ));
                }
            }
            summary.push_str(&format!("\n\nPolicy version {}.", decision.policy_version));
        }
        reasons.dedup();
        Escalation {
            ticket_id: None,
            order_id: order.map(|o| o.id.clone()),
            priority,
            subject,
            summary,
            reasons,
        }
    }
}

/// The snake_case name of a reason code.
pub(super) fn code_name(code: crate::policy::ReasonCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{code:?}"),
    }
}

/// The sum of store-credit tenders.
pub(super) fn store_credit(tenders: &[TenderRefund]) -> Option<Money> {
    let mut total: Option<Money> = None;
    for t in tenders.iter().filter(|t| t.payment_id.is_none()) {
        total = Some(match total {
            Some(sum) => sum.checked_add(t.amount).ok()?,
            None => t.amount,
        });
    }
    total
}

//! The event stream: carrier and OMS events, warehouse receipts, scheduled checks.

use crate::domain::{Order, OrderId, Priority, Receipt, ResolutionKind};
use crate::flows::events::{Event, EventKind};
use crate::flows::monitor::monitor;
use crate::flows::shipping::ShipmentException;
use crate::flows::wismo::kind_name;
use crate::policy::{decide, Outcome, Request};
use crate::ports::{IdempotencyStoreExt, PortError};
use crate::replies::Reply;

use super::execute::{Effects, RefundOutcome};
use super::operations::reason_strings;
use super::{ActionTaken, Agent, EventOutcome};

impl Agent {
    /// Handles one event from the stream.
    ///
    /// Events are deduplicated by `(source, id)` in the store's inbox: a redelivered event is
    /// recognised and does nothing. The event is marked processed only after everything it caused
    /// succeeded, so an event whose handling failed half-way is retried in full on redelivery;
    /// every action it causes is keyed, so the retry does not repeat what already happened.
    #[tracing::instrument(
        name = "handle_event",
        skip_all,
        fields(source = %event.source, event_id = %event.id, order_id = ?event.order_id())
    )]
    pub async fn handle_event(&self, event: &Event) -> EventOutcome {
        match self
            .ports
            .store
            .is_processed(&event.source, &event.id)
            .await
        {
            Ok(true) => {
                return EventOutcome {
                    duplicate: true,
                    ..EventOutcome::default()
                }
            }
            Ok(false) => {}
            Err(e) => {
                return EventOutcome {
                    errors: vec![e.to_string()],
                    ..EventOutcome::default()
                }
            }
        }
        let outcome = self.handle_unmarked(event).await;
        if !outcome.errors.is_empty() {
            return outcome;
        }
        let mut outcome = outcome;
        if let Err(e) = self
            .ports
            .store
            .mark_processed(&event.source, &event.id)
            .await
        {
            outcome.errors.push(e.to_string());
        }
        outcome
    }

    /// Handles one event without consulting or marking the inbox: the queue's own row is the
    /// record for events worked from the queue (completing one marks it processed in the same
    /// write).
    pub(crate) async fn handle_unmarked(&self, event: &Event) -> EventOutcome {
        let mut effects = Effects::default();
        let mut outcome = EventOutcome::default();
        let result = match &event.kind {
            EventKind::ReturnReceived { receipt } => {
                self.receipt(receipt, &mut effects, &mut outcome).await
            }
            EventKind::Heartbeat => Ok(()),
            _ => match event.order_id() {
                Some(order_id) => {
                    self.monitor_order(order_id, event, &mut effects, &mut outcome)
                        .await
                }
                None => Ok(()),
            },
        };
        if let Err(e) = result {
            effects.fail(&e);
        }
        if !effects.errors.is_empty() {
            tracing::warn!(errors = ?effects.errors, "event not completed; it will be retried");
        }
        outcome.actions = effects.actions;
        outcome.errors = effects.errors;
        outcome
    }

    /// Re-checks one order for silent parcels and delays. The host calls this on a schedule
    /// (say hourly) for every open order, since a lost parcel sends no event.
    #[tracing::instrument(name = "check_order", skip(self), fields(order_id = %order_id))]
    pub async fn check_order(&self, order_id: &OrderId) -> EventOutcome {
        let now = self.ports.clock.now();
        let event = Event {
            id: format!("check:{order_id}:{}", now.timestamp()),
            source: "scheduler".to_owned(),
            at: now,
            kind: EventKind::Heartbeat,
        };
        let mut effects = Effects::default();
        let mut outcome = EventOutcome::default();
        if let Err(e) = self
            .monitor_order(order_id, &event, &mut effects, &mut outcome)
            .await
        {
            effects.fail(&e);
        }
        outcome.actions = effects.actions;
        outcome.errors = effects.errors;
        outcome
    }

    async fn monitor_order(
        &self,
        order_id: &OrderId,
        event: &Event,
        effects: &mut Effects,
        outcome: &mut EventOutcome,
    ) -> Result<(), PortError> {
        let Some(order) = self.ports.oms.order(order_id).await? else {
            outcome.reasons.push(format!("unknown_order:{order_id}"));
            return Ok(());
        };
        let now = self.ports.clock.now();
        let result = monitor(event, &order, &self.policy, now);
        // The customer only when there is something to tell them: most scans change nothing.
        let customer = if result.notices.is_empty() {
            None
        } else {
            self.ports.oms.customer(&order.customer_id).await?
        };
        for (exception, notice) in &result.notices {
            self.handle_exception(
                &result.updated_order,
                customer.as_ref(),
                exception,
                notice,
                effects,
            )
            .await;
            outcome.reasons.push(format!(
                "{}:{}",
                kind_name(exception.kind),
                exception.order_id
            ));
        }
        outcome.exceptions = result.exceptions;
        Ok(())
    }

    /// One exception: a ticket (unless informational) and a notice to the customer, each once
    /// per exception however often it is reported.
    async fn handle_exception(
        &self,
        order: &Order,
        customer: Option<&crate::domain::Customer>,
        exception: &ShipmentException,
        notice: &Reply,
        effects: &mut Effects,
    ) {
        let key = exception.dedup_key();
        if exception.kind.needs_ticket() {
            let priority = match exception.kind {
                crate::flows::shipping::ExceptionKind::Lost
                | crate::flows::shipping::ExceptionKind::ReturnedToSender
                | crate::flows::shipping::ExceptionKind::Damaged => Priority::High,
                _ => Priority::Normal,
            };
            let escalation = self.escalation(
                Some(order),
                priority,
                format!(
                    "Shipping exception on order {}: {}",
                    order.number,
                    kind_name(exception.kind).replace('_', " ")
                ),
                format!(
                    "{}\n\nThe customer was notified proactively.",
                    exception.detail
                ),
                None,
                &[kind_name(exception.kind).to_owned()],
            );
            self.ticket(&format!("ticket:{key}"), escalation, effects)
                .await;
        }
        self.notify_once(customer, order, notice, &format!("notice:{key}"), effects)
            .await;
    }

    /// A warehouse receipt: refund, restock by grade, confirm; or an approval ticket.
    async fn receipt(
        &self,
        receipt: &Receipt,
        effects: &mut Effects,
        outcome: &mut EventOutcome,
    ) -> Result<(), PortError> {
        let Some(authorisation) = self
            .ports
            .store
            .return_authorisation(&receipt.return_id)
            .await?
        else {
            let escalation = self.escalation(
                None,
                Priority::High,
                format!("Unknown return {} received", receipt.return_id),
                format!(
                    "The warehouse received return {} at {}, which the agent never authorised.",
                    receipt.return_id, receipt.location
                ),
                None,
                &["unknown_return".to_owned()],
            );
            self.ticket(
                &format!("ticket:unknown-return:{}", receipt.return_id),
                escalation,
                effects,
            )
            .await;
            outcome.reasons.push("unknown_return".to_owned());
            return Ok(());
        };
        let order_id = &authorisation.request.order_id;
        let Some(order) = self.ports.oms.order(order_id).await? else {
            let reason = format!("unknown_order:{order_id}");
            self.unpriced_receipt(receipt, &reason, effects).await;
            outcome.reasons.push(reason);
            return Ok(());
        };
        let Some(customer) = self.ports.oms.customer(&order.customer_id).await? else {
            let reason = format!("unknown_customer:{}", order.customer_id);
            self.unpriced_receipt(receipt, &reason, effects).await;
            outcome.reasons.push(reason);
            return Ok(());
        };
        let mut facts = self
            .facts(&order, &customer, Some(&authorisation.id))
            .await?;
        // An exchange is priced against the new variant: without its offer the engine cannot
        // tell the difference (and sends the receipt to a person).
        let exchanged: Vec<crate::domain::LineId> = authorisation
            .request
            .lines
            .iter()
            .filter(|l| l.exchange_for.is_some())
            .map(|l| l.line_id.clone())
            .collect();
        if !exchanged.is_empty() {
            facts.exchange_offers = self.offers_for(&order, &exchanged).await?;
        }
        let now = self.ports.clock.now();
        let request = Request::Receipt {
            authorised: authorisation.request.clone(),
            receipt: receipt.clone(),
        };
        // The first decision on this receipt is the one that counts: a replay (after a crash, or
        // a redelivery under a new event id) carries out the same decision again, idempotently,
        // instead of deciding afresh on facts its own refunds have changed.
        let key = format!(
            "decision:receipt:{}:{}",
            authorisation.id,
            receipt_fingerprint(receipt)
        );
        let fresh = decide(&request, &facts, &self.policy, now);
        let decision = self.ports.store.remember(&key, fresh.clone(), now).await?;
        if decision == fresh {
            self.log_decision(format!("return:{}", authorisation.id), &decision, effects)
                .await;
        } else {
            outcome.reasons.push("replayed_decision".to_owned());
        }
        outcome.reasons.extend(reason_strings(&decision));

        // Graded (or inspection-free) lines are booked in whatever happens to the money.
        self.restock(
            &authorisation.id,
            &order,
            &decision,
            &receipt.location,
            effects,
        )
        .await;
        let refund = decision.refund.clone();
        let prefix = format!("refund:{}", authorisation.id);
        // One confirmation per kind: "we received it" (awaiting a grade or an approval), then
        // "your money is on its way".
        let notice_key = |kind: &str| format!("notice:receipt:{}:{kind}", authorisation.id);
        match decision.outcome {
            Outcome::Approve => {
                let Some(refund) = refund.filter(|r| r.total.is_positive()) else {
                    outcome.decision = Some(decision);
                    return Ok(());
                };
                let mut done = true;
                if refund.resolution == ResolutionKind::StoreCredit {
                    self.request_store_credit(
                        &order,
                        &decision,
                        &format!("ticket:store-credit:{}", authorisation.id),
                        effects,
                    )
                    .await;
                } else {
                    let result = self
                        .refund_tenders(&order, &refund.tenders, &prefix, None, effects)
                        .await;
                    if result == RefundOutcome::Failed {
                        self.refund_failed_ticket(&order, &decision, effects).await;
                        done = false;
                    }
                }
                if done {
                    let reply = if refund.resolution == ResolutionKind::StoreCredit {
                        // Staff issue the credit; until then, the customer hears the parcel arrived.
                        Reply::ReturnReceived {
                            order_number: order.number.clone(),
                            awaiting_inspection: false,
                        }
                    } else {
                        Reply::RefundIssued {
                            order_number: order.number.clone(),
                            amount: refund.total,
                            tenders: refund.tenders.iter().map(|t| t.tender).collect(),
                        }
                    };
                    self.notify_once(
                        Some(&customer),
                        &order,
                        &reply,
                        &notice_key("settled"),
                        effects,
                    )
                    .await;
                }
            }
            Outcome::NeedsHuman | Outcome::Deny => {
                // Items waiting for a grade have no final amount yet: staff grade them, and the
                // graded receipt decides the money. Anything else waits for an approval.
                let awaiting_grade = decision.lines.iter().any(|l| {
                    l.outcome == Outcome::NeedsHuman
                        && l.grade.is_none()
                        && decision.reasons.iter().any(|r| {
                            r.code == crate::policy::ReasonCode::InspectionRequired
                                && r.line_id.as_ref() == Some(&l.line_id)
                        })
                });
                let (key, subject, summary) = if awaiting_grade {
                    (
                        format!("ticket:grade:{}", authorisation.id),
                        format!(
                            "Return {} on order {} needs an inspection grade",
                            authorisation.id, order.number
                        ),
                        format!(
                            "Return {} arrived at {}. Please inspect and grade it; the refund \
                             follows the grade.",
                            authorisation.id, receipt.location
                        ),
                    )
                } else {
                    (
                        format!("ticket:approval:{}", authorisation.id),
                        format!(
                            "Return {} on order {} needs approval",
                            authorisation.id, order.number
                        ),
                        format!(
                            "Return {} arrived at {}. The refund waits for a person.",
                            authorisation.id, receipt.location
                        ),
                    )
                };
                let escalation = self.escalation(
                    Some(&order),
                    Priority::High,
                    subject,
                    summary,
                    Some(&decision),
                    &[],
                );
                let ticket = self.ticket(&key, escalation, effects).await;
                if let Some(refund) = refund
                    .filter(|r| r.total.is_positive())
                    .filter(|_| !awaiting_grade)
                {
                    // Intents held for approval: when staff approve, the same keys are used, so
                    // nothing can be refunded twice.
                    self.refund_tenders(&order, &refund.tenders, &prefix, Some(ticket), effects)
                        .await;
                }
                let reply = Reply::ReturnReceived {
                    order_number: order.number.clone(),
                    awaiting_inspection: true,
                };
                self.notify_once(
                    Some(&customer),
                    &order,
                    &reply,
                    &notice_key("received"),
                    effects,
                )
                .await;
            }
        }
        if !effects
            .actions
            .iter()
            .any(|a| matches!(a, ActionTaken::TicketOpened { .. }))
            && decision.outcome != Outcome::Approve
        {
            outcome.reasons.push("approval_ticket_missing".to_owned());
        }
        outcome.decision = Some(decision);
        Ok(())
    }

    /// A receipt of a known return that cannot be priced because the OMS no longer knows its
    /// order or customer: staff take it, or the returned items would never be refunded.
    async fn unpriced_receipt(&self, receipt: &Receipt, reason: &str, effects: &mut Effects) {
        let escalation = self.escalation(
            None,
            Priority::High,
            format!(
                "Return {} received but cannot be refunded",
                receipt.return_id
            ),
            format!(
                "The warehouse received return {} at {}, but the agent cannot price it ({reason}).",
                receipt.return_id, receipt.location
            ),
            None,
            &[reason.to_owned()],
        );
        self.ticket(
            &format!("ticket:unpriced-return:{}", receipt.return_id),
            escalation,
            effects,
        )
        .await;
    }
}

/// A receipt as a stable key part: its lines with their grades, and when it was received. A
/// replay of the same receipt has the same fingerprint; staff grading a scanned-in return, or a
/// second parcel of the same return, is a new receipt.
fn receipt_fingerprint(receipt: &Receipt) -> String {
    let mut parts: Vec<String> = receipt
        .lines
        .iter()
        .map(|l| {
            let grade = l
                .grade
                .and_then(|g| serde_json::to_value(g).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "ungraded".to_owned());
            format!("{}x{}:{grade}", l.line_id, l.quantity)
        })
        .collect();
    parts.sort();
    format!("{}@{}", parts.join("+"), receipt.received_at.timestamp())
}

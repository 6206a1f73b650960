//! Customer messages: understand, verify, decide, act, reply.

use chrono::Duration;
use std::collections::HashMap;

use futures_util::future::{join, join3, join4, join_all};
use serde::{Deserialize, Serialize};

use crate::domain::{
    CancellationReason, Channel, ContactPoint, Customer, CustomerId, Order, OrderId, OrderNumber,
    Priority, ResolutionKind, ReturnLine, ReturnReason, ReturnRequest, ShipmentId, TrackingNumber,
};
use crate::flows::identity::{same_order_number, verify, IdentityClaim, Verification};
use crate::flows::wismo::{is_open, order_summary, wismo, WismoInput};
use crate::ports::{
    CarrierExt, ConversationKey, ConversationState, Intent, Interpretation, OmsExt,
    PendingQuestion, PortError, PortErrorKind, Tracking,
};
use crate::replies::{HandoverTopic, RefundSummary, Reply};

use super::execute::Effects;
use super::operations::{reason_strings, Handled};
use super::{Agent, AgentError, Turn};

/// How long a verified conversation stays verified without activity.
pub(super) const VERIFIED_FOR_HOURS: i64 = 24;

/// How long failed identity checks count against a sender or an order number after the last one.
pub(super) const LOCKOUT_HOURS: i64 = 1;

/// What the agent keeps in the conversation's pending question while it waits for an answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Pending {
    /// The intent being served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    intent: Option<Intent>,
    /// Identity details given so far.
    #[serde(default)]
    claim: IdentityClaim,
    /// Item references given so far (returns).
    #[serde(default)]
    items: Vec<String>,
    /// The return reason given so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<ReturnReason>,
    /// Messages not understood in a row.
    #[serde(default)]
    unclear: u32,
    /// The order the conversation is about, once one was named or answered about: a follow-up
    /// ("I want to return the sweater") refers to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    focus: Option<OrderNumber>,
    /// The order a number named while the requester was not yet verified led to: ids and
    /// parcels only, never shown, so that the next turn re-reads it at the same time as the
    /// customer and the carrier instead of before them. Forgotten with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    candidate: Option<Candidate>,
}

/// See [`Pending::candidate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Candidate {
    number: OrderNumber,
    order_id: OrderId,
    customer_id: CustomerId,
    parcels: Vec<Parcel>,
}

/// A labelled parcel: enough to ask its carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Parcel {
    shipment_id: ShipmentId,
    carrier: String,
    tracking_number: TrackingNumber,
}

impl Parcel {
    fn all_of(order: &Order) -> Vec<Parcel> {
        order
            .shipments
            .iter()
            .filter_map(|s| {
                Some(Parcel {
                    shipment_id: s.id.clone(),
                    carrier: s.carrier.clone(),
                    tracking_number: s.tracking_number.clone()?,
                })
            })
            .collect()
    }
}

impl Pending {
    /// Done with the current request: forget everything but the order in focus.
    fn finish(&mut self) {
        *self = Pending {
            focus: self.focus.take(),
            ..Pending::default()
        };
    }
}

/// The order a reply is about, if one.
fn reply_order(reply: &Reply) -> Option<&OrderNumber> {
    match reply {
        Reply::OrderStatus { order_number, .. }
        | Reply::AskReturnDetails { order_number, .. }
        | Reply::ReturnAuthorised { order_number, .. }
        | Reply::ReturnDenied { order_number, .. }
        | Reply::RefundStatus { order_number, .. }
        | Reply::OrderCancelled { order_number, .. }
        | Reply::ChangeDenied { order_number, .. } => Some(order_number),
        _ => None,
    }
}

/// Intents that reveal or change order data, and so need a verified requester.
fn needs_identity(intent: Intent) -> bool {
    matches!(
        intent,
        Intent::Wismo
            | Intent::Return
            | Intent::Exchange
            | Intent::RefundRequest
            | Intent::RefundStatus
            | Intent::CancelOrder
            | Intent::ChangeShippingAddress
            | Intent::ModifyOrderItems
    )
}

/// The conversation as this call sees and changes it.
struct Ctx {
    key: ConversationKey,
    version: Option<u64>,
    state: ConversationState,
    pending: Pending,
    reasons: Vec<String>,
    /// Tracking fetched during verification, while the customer was being looked up; only
    /// ever shown once the requester is verified (this turn only, never stored).
    prefetched: HashMap<(ShipmentId, TrackingNumber), Option<Tracking>>,
}

impl Ctx {
    /// The key of a ticket about this turn of the conversation: retried, it finds the same ticket.
    fn ticket_key(&self, kind: &str) -> String {
        format!(
            "ticket:{kind}:{:?}:{}:{}",
            self.key.channel,
            self.key.sender,
            self.version.unwrap_or(0)
        )
        .to_lowercase()
    }
}

impl Agent {
    /// Handles one customer message and sends the reply on the same channel.
    ///
    /// Order data is revealed only after the sender proves ownership (see
    /// [`crate::flows::identity`]); every failed proof gets the same answer, and after
    /// [`AgentConfig::max_verification_attempts`](super::AgentConfig) failures for the sender or
    /// the order number, lookups stop. A vendor that fails on the way turns the reply into "our
    /// systems are unavailable" with a ticket, never into a guess.
    ///
    /// Returns an error only when the conversation state could not be read or saved; nothing
    /// was sent then, and the host may retry.
    #[tracing::instrument(
        name = "handle_message",
        skip_all,
        fields(channel = ?channel, intent = tracing::field::Empty)
    )]
    pub async fn handle_message(
        &self,
        channel: Channel,
        sender: &str,
        text: &str,
    ) -> Result<Turn, AgentError> {
        let now = self.ports.clock.now();
        let key = ConversationKey {
            channel,
            sender: sender.to_owned(),
        };
        let stored = self
            .ports
            .store
            .conversation(&key)
            .await
            .map_err(AgentError::Store)?;
        let (version, mut state) = match stored {
            Some(v) => (Some(v.version), v.value),
            None => (None, fresh_state(now)),
        };
        if state.verified_customer.is_some()
            && now - state.updated_at > Duration::hours(VERIFIED_FOR_HOURS)
        {
            state.verified_customer = None;
        }
        let pending: Pending = state
            .pending_question
            .as_ref()
            .and_then(|q| serde_json::from_value(q.context.clone()).ok())
            .unwrap_or_default();
        let mut ctx = Ctx {
            key,
            version,
            state,
            pending,
            reasons: Vec::new(),
            prefetched: HashMap::new(),
        };
        let mut effects = Effects::default();

        let interpretation = match self
            .ports
            .interpreter
            .interpret(text, ctx.state.locale)
            .await
        {
            Ok(i) => i,
            Err(e) => {
                effects.fail(&e);
                Interpretation {
                    intent: Intent::OutOfScope,
                    confidence: 0.0,
                    language: ctx.state.locale.unwrap_or_default(),
                    entities: Default::default(),
                }
            }
        };
        // A short answer made of details ("E-Mail: a@b.ch, PLZ 9000") says little about its
        // language: the conversation keeps the one it has.
        let locale = match ctx.state.locale {
            Some(known) if prose_words(text) < 3 => known,
            _ => interpretation.language,
        };
        ctx.state.locale = Some(locale);

        let (intent, reply, decision) = self
            .converse(&mut ctx, &interpretation, text, &mut effects)
            .await;
        if let Some(intent) = intent {
            tracing::Span::current().record("intent", intent_name(intent).as_str());
        }
        tracing::info!(
            confidence = interpretation.confidence,
            locale = locale.tag(),
            verified = ctx.state.verified_customer.is_some(),
            reasons = ?ctx.reasons,
            "message handled"
        );

        let reply_key = format!(
            "reply:{:?}:{}:{}",
            channel,
            sender,
            ctx.version.unwrap_or(0)
        )
        .to_lowercase();
        let rendered = self
            .send(channel, sender, locale, &reply, reply_key, &mut effects)
            .await;

        ctx.state.updated_at = now;
        ctx.state.pending_question = if ctx.pending.intent.is_some()
            || ctx.pending.unclear > 0
            || ctx.pending.focus.is_some()
        {
            Some(PendingQuestion {
                kind: "continue".to_owned(),
                context: serde_json::to_value(&ctx.pending).unwrap_or_default(),
                asked_at: now,
            })
        } else {
            None
        };
        self.ports
            .store
            .save_conversation(&ctx.key, &ctx.state, ctx.version)
            .await
            .map_err(|e| match e.kind() {
                PortErrorKind::Conflict => AgentError::Conflict(e),
                _ => AgentError::Store(e),
            })?;

        Ok(Turn {
            intent,
            locale,
            reply,
            rendered,
            reasons: ctx.reasons,
            decision,
            actions: effects.actions,
            errors: effects.errors,
        })
    }

    async fn converse(
        &self,
        ctx: &mut Ctx,
        interpretation: &Interpretation,
        text: &str,
        effects: &mut Effects,
    ) -> (Option<Intent>, Reply, Option<crate::policy::Decision>) {
        let entities = &interpretation.entities;
        let awaiting_details =
            ctx.pending.intent.is_some() && ctx.state.verified_customer.is_none();
        let understood = interpretation.confidence >= self.config.min_confidence
            && interpretation.intent != Intent::OutOfScope;
        // We just asked for details: a bare 4- or 5-digit number in the answer is the postcode,
        // which an interpreter without that context cannot know.
        let bare = if entities.postcodes.is_empty() && awaiting_details {
            bare_postcodes(text, &entities.order_numbers)
        } else {
            Vec::new()
        };
        let gives_identity = !(entities.order_numbers.is_empty()
            && entities.emails.is_empty()
            && entities.postcodes.is_empty()
            && entities.phones.is_empty()
            && bare.is_empty());
        let gives_details = gives_identity
            || !(entities.item_references.is_empty() && entities.return_reason.is_none());

        // A reply that only carries details continues what is pending. So does an answer to our
        // request for identity details that merely sounds like an address change ("meine
        // Postleitzahl ist 8400", "code postal 2000"): the customer is answering the question.
        let answers_the_question = awaiting_details
            && gives_identity
            && matches!(
                interpretation.intent,
                Intent::ChangeShippingAddress | Intent::ModifyOrderItems
            );
        let intent = if answers_the_question {
            ctx.reasons.push("read_as_answer".to_owned());
            ctx.pending.intent
        } else if understood {
            Some(interpretation.intent)
        } else if gives_details && ctx.pending.intent.is_some() {
            ctx.pending.intent
        } else {
            None
        };
        let Some(intent) = intent else {
            ctx.pending.unclear += 1;
            ctx.reasons
                .push(format!("not_understood:{:.2}", interpretation.confidence));
            if ctx.pending.unclear < 2 {
                return (None, Reply::Clarify, None);
            }
            ctx.pending.finish();
            let reply = self
                .hand_over(ctx, HandoverTopic::NotUnderstood, text, None, effects)
                .await;
            return (None, reply, None);
        };
        ctx.pending.unclear = 0;
        ctx.reasons.push(format!("intent:{}", intent_name(intent)));

        match intent {
            Intent::HumanEscalation | Intent::Complaint => {
                let topic = if intent == Intent::Complaint {
                    HandoverTopic::Complaint
                } else {
                    HandoverTopic::CustomerRequest
                };
                ctx.pending.finish();
                let reply = self.hand_over(ctx, topic, text, None, effects).await;
                return (Some(intent), reply, None);
            }
            Intent::PolicyQuestion => {
                ctx.pending.finish();
                let fee = self
                    .policy
                    .fees
                    .return_shipping
                    .and_then(|f| crate::money::Money::new(f, self.policy.currency).ok());
                let reply = Reply::PolicySummary {
                    window_days: self.policy.returns.default_window_days,
                    return_shipping_fee: fee.filter(|f| f.is_positive()),
                };
                return (Some(intent), reply, None);
            }
            Intent::OutOfScope => return (Some(intent), Reply::Clarify, None),
            _ => {}
        }
        debug_assert!(needs_identity(intent));

        // Gather identity details over the conversation.
        if ctx.pending.intent != Some(intent) {
            let claim = std::mem::take(&mut ctx.pending.claim);
            ctx.pending = Pending {
                intent: Some(intent),
                claim,
                focus: ctx.pending.focus.take(),
                ..Pending::default()
            };
        }
        let mut postcodes = entities.postcodes.clone();
        if postcodes.is_empty() {
            postcodes = bare;
        }
        let mut claim = IdentityClaim {
            order_numbers: entities.order_numbers.clone(),
            emails: entities.emails.clone(),
            postcodes,
            phones: entities.phones.clone(),
            sender: Some((ctx.key.channel, ctx.key.sender.clone())),
        };
        ctx.pending.claim.merge(&claim);
        claim.clone_from(&ctx.pending.claim);
        // Item references as the interpreter found them; else the message itself, whose words
        // are matched against the order's item titles.
        let references = if entities.item_references.is_empty() {
            vec![text.to_owned()]
        } else {
            entities.item_references.clone()
        };
        for item in references {
            if !ctx.pending.items.contains(&item) {
                ctx.pending.items.push(item);
            }
        }
        if entities.return_reason.is_some() {
            ctx.pending.reason = entities.return_reason;
        }

        let prefetch = intent == Intent::Wismo;
        let verified = match self.verified_customer(ctx, &claim, prefetch, effects).await {
            Ok(Ok(customer)) => customer,
            Ok(Err(reply)) => return (Some(intent), reply, None),
            Err(e) => {
                effects.fail(&e);
                let reply = self.unavailable(ctx, text, effects).await;
                return (Some(intent), reply, None);
            }
        };
        let (customer, orders) = verified;
        let named = claim
            .order_numbers
            .last()
            .cloned()
            .or_else(|| ctx.pending.focus.clone());
        let result = match intent {
            Intent::Wismo => self.answer_wismo(ctx, &orders, named, effects).await,
            Intent::Return | Intent::Exchange | Intent::RefundRequest => {
                self.answer_return(ctx, intent, &customer, &orders, named, effects)
                    .await
            }
            Intent::RefundStatus => self.answer_refund_status(&orders, named).await,
            Intent::CancelOrder => {
                self.answer_cancel(ctx, &customer, &orders, named, effects)
                    .await
            }
            // Free text does not carry an address or an item change reliably enough to act on:
            // staff take it, with the message.
            _ => {
                let reply = self
                    .hand_over(ctx, HandoverTopic::CustomerRequest, text, None, effects)
                    .await;
                Ok(Handled {
                    reply,
                    decision: None,
                })
            }
        };
        match result {
            Ok(handled) => {
                if let Some(decision) = &handled.decision {
                    ctx.reasons.extend(reason_strings(decision));
                }
                if let Some(number) = reply_order(&handled.reply) {
                    ctx.pending.focus = Some(number.clone());
                }
                if !matches!(
                    handled.reply,
                    Reply::AskWhichOrder { .. } | Reply::AskReturnDetails { .. }
                ) {
                    ctx.pending.finish();
                }
                (Some(intent), handled.reply, handled.decision)
            }
            Err(e) => {
                effects.fail(&e);
                let reply = self.unavailable(ctx, text, effects).await;
                (Some(intent), reply, None)
            }
        }
    }

    /// Resolves and verifies the requester. `Ok(Err(reply))` when the conversation must first
    /// answer an identity question (or is locked).
    ///
    /// Lookups that do not depend on each other run at once: the two lockout counters, then
    /// (after the named order) the customer with their recent orders and, when
    /// `prefetch_tracking` (a "where is my order" that may verify), the order's parcels at the
    /// carrier. What was fetched is
    /// revealed only after verification succeeds.
    async fn verified_customer(
        &self,
        ctx: &mut Ctx,
        claim: &IdentityClaim,
        prefetch_tracking: bool,
        effects: &mut Effects,
    ) -> Result<Result<(Customer, Vec<Order>), Reply>, PortError> {
        let oms = &self.ports.oms;
        let max = self.config.max_verification_attempts;
        if let Some(id) = ctx.state.verified_customer.clone() {
            if let Some(customer) = oms.customer(&id).await? {
                let orders = oms
                    .orders_of_customer(&customer.id, self.config.recent_orders)
                    .await?;
                // A number named now must be one of this customer's orders.
                let mut orders = orders;
                for number in &claim.order_numbers {
                    if !orders.iter().any(|o| same_order_number(&o.number, number)) {
                        match oms.order_of_customer(number, &customer.id).await? {
                            Some(order) => orders.push(order),
                            None => {
                                ctx.reasons.push("identity:order_not_owned".to_owned());
                                // Forget the number, or every later message would fail on it.
                                ctx.pending.claim = IdentityClaim::default();
                                return Ok(Err(Reply::NotVerified));
                            }
                        }
                    }
                }
                ctx.reasons.push("identity:verified_earlier".to_owned());
                return Ok(Ok((customer, orders)));
            }
            ctx.state.verified_customer = None;
        }
        let order_key = order_attempts_key(claim);
        let sender_key = sender_attempts_key(&ctx.key);
        // The lockout first: a locked-out sender gets nothing looked up at all.
        let (attempts, order_attempts) = join(
            self.failures(Some(&sender_key)),
            self.failures(order_key.as_ref()),
        )
        .await;
        let (attempts, order_attempts) = (attempts?, order_attempts?);
        if attempts >= max || order_attempts >= max {
            ctx.reasons.push("identity:locked".to_owned());
            return Ok(Err(Reply::VerificationLocked));
        }

        // Whom does the claim point at?
        let mut orders: Vec<Order> = Vec::new();
        let mut customer: Option<Customer> = None;
        let mut recent: Option<Vec<Order>> = None;
        if let Some(number) = claim.order_numbers.first() {
            // Only when this message may verify: no carrier calls for bare guesses.
            let may_verify = !claim.emails.is_empty()
                || !claim.postcodes.is_empty()
                || !claim.phones.is_empty()
                || ctx.key.channel != Channel::WebChat;
            let track = prefetch_tracking && may_verify;
            let remembered = ctx
                .pending
                .candidate
                .clone()
                .filter(|c| same_order_number(&c.number, number));
            let mut found = None;
            if let Some(candidate) = remembered {
                // Named in an earlier turn: re-read the order (it may have changed) at the same
                // time as everything that depends on it.
                let (order, who, theirs, tracked) = join4(
                    oms.order(&candidate.order_id),
                    oms.customer(&candidate.customer_id),
                    oms.orders_of_customer(&candidate.customer_id, self.config.recent_orders),
                    self.track_parcels(candidate.parcels.iter().filter(|_| track)),
                )
                .await;
                let order = order?.filter(|o| {
                    o.customer_id == candidate.customer_id && same_order_number(&o.number, number)
                });
                if let Some(order) = order {
                    let parcels = Parcel::all_of(&order);
                    found = Some((order, parcels, who?, theirs?, tracked));
                }
            }
            if found.is_none() {
                if let Some(order) = oms.order_by_number(number).await? {
                    let parcels = Parcel::all_of(&order);
                    let (who, theirs, tracked) = join3(
                        oms.customer(&order.customer_id),
                        oms.orders_of_customer(&order.customer_id, self.config.recent_orders),
                        self.track_parcels(parcels.iter().filter(|_| track)),
                    )
                    .await;
                    found = Some((order, parcels, who?, theirs?, tracked));
                }
            }
            if let Some((order, parcels, who, theirs, tracked)) = found {
                ctx.pending.candidate = Some(Candidate {
                    number: number.clone(),
                    order_id: order.id.clone(),
                    customer_id: order.customer_id.clone(),
                    parcels,
                });
                customer = who;
                recent = Some(theirs);
                // A failed prefetch is simply fetched again when answering.
                for (parcel, tracking) in tracked {
                    if let Ok(tracking) = tracking {
                        ctx.prefetched
                            .insert((parcel.shipment_id, parcel.tracking_number), tracking);
                    }
                }
                orders.push(order);
            }
        } else {
            let (channel, sender) = (ctx.key.channel, ctx.key.sender.clone());
            if channel != Channel::WebChat {
                customer = oms
                    .customer_by_contact(&ContactPoint {
                        channel,
                        address: sender,
                    })
                    .await?;
            }
            if customer.is_none() {
                if let Some(email) = claim.emails.first() {
                    customer = oms.customer_by_email(email).await?;
                }
            }
            if let Some(c) = &customer {
                orders = oms
                    .orders_of_customer(&c.id, self.config.recent_orders)
                    .await?;
            }
        }
        match verify(claim, customer.as_ref(), &orders) {
            Verification::Verified {
                customer_id,
                factors,
                ..
            } => {
                ctx.reasons.push(format!(
                    "identity:verified:{}",
                    factors
                        .iter()
                        .map(|f| format!("{f:?}").to_lowercase())
                        .collect::<Vec<_>>()
                        .join("+")
                ));
                ctx.state.verified_customer = Some(customer_id);
                // Successes do not erase failures: the counters lapse with time only.
                let Some(customer) = customer else {
                    return Ok(Err(Reply::NotVerified));
                };
                if claim.order_numbers.is_empty() {
                    return Ok(Ok((customer, orders)));
                }
                // The named order plus the customer's recent ones (fetched with the customer).
                let mut all = match recent {
                    Some(recent) => recent,
                    None => {
                        oms.orders_of_customer(&customer.id, self.config.recent_orders)
                            .await?
                    }
                };
                for order in orders {
                    if !all.iter().any(|o| o.id == order.id) {
                        all.push(order);
                    }
                }
                Ok(Ok((customer, all)))
            }
            Verification::NeedMore { matched } => {
                ctx.reasons.push(format!("identity:need_more:{matched}"));
                Ok(Err(Reply::AskVerification {
                    order_number: claim.order_numbers.first().cloned(),
                }))
            }
            Verification::Failed => {
                ctx.reasons.push("identity:failed".to_owned());
                self.count_failure(Some(&sender_key), effects).await;
                self.count_failure(order_key.as_ref(), effects).await;
                // Start the proof afresh: a wrong detail must not stick.
                ctx.pending.claim = IdentityClaim::default();
                if attempts + 1 >= max {
                    Ok(Err(Reply::VerificationLocked))
                } else {
                    Ok(Err(Reply::NotVerified))
                }
            }
        }
    }

    /// Recent failed identity checks under `key` (a reserved conversation per order number and
    /// per sender, so they count whichever channel or sender tries). They lapse
    /// [`LOCKOUT_HOURS`] after the last failure, so a lock never outlives its purpose.
    async fn failures(&self, key: Option<&ConversationKey>) -> Result<u32, PortError> {
        let Some(key) = key else {
            return Ok(0);
        };
        let now = self.ports.clock.now();
        Ok(self
            .ports
            .store
            .conversation(key)
            .await?
            .filter(|v| now - v.value.updated_at <= Duration::hours(LOCKOUT_HOURS))
            .and_then(|v| v.value.attempts.get("verification").copied())
            .unwrap_or(0))
    }

    async fn count_failure(&self, key: Option<&ConversationKey>, effects: &mut Effects) {
        let Some(key) = key else {
            return;
        };
        let now = self.ports.clock.now();
        // Compare-and-set, retried a few times under contention.
        for _ in 0..3 {
            let stored = match self.ports.store.conversation(key).await {
                Ok(stored) => stored,
                Err(e) => return effects.fail(&e),
            };
            let (version, mut state) = match stored {
                Some(v) => (Some(v.version), v.value),
                None => (None, fresh_state(now)),
            };
            if now - state.updated_at > Duration::hours(LOCKOUT_HOURS) {
                state.attempts.clear();
            }
            *state.attempts.entry("verification".to_owned()).or_insert(0) += 1;
            state.updated_at = now;
            match self
                .ports
                .store
                .save_conversation(key, &state, version)
                .await
            {
                Ok(_) => return,
                Err(e) if e.kind() == PortErrorKind::Conflict => continue,
                Err(e) => return effects.fail(&e),
            }
        }
    }

    async fn hand_over(
        &self,
        ctx: &mut Ctx,
        topic: HandoverTopic,
        text: &str,
        order: Option<&Order>,
        effects: &mut Effects,
    ) -> Reply {
        let priority = match topic {
            HandoverTopic::Complaint => Priority::High,
            _ => Priority::Normal,
        };
        let escalation = self.escalation(
            order,
            priority,
            format!(
                "{} on {:?} from {}",
                topic_title(topic),
                ctx.key.channel,
                ctx.key.sender
            ),
            format!(
                "The customer wrote:\n> {}\n\nIdentity: {}.",
                one_paragraph(text),
                if ctx.state.verified_customer.is_some() {
                    "verified"
                } else {
                    "not verified"
                }
            ),
            None,
            &[format!("handover:{}", topic_name(topic))],
        );
        let key = ctx.ticket_key("handover");
        let ticket = self.ticket(&key, escalation, effects).await;
        ctx.reasons.push(format!("handover:{}", topic_name(topic)));
        Reply::HandedToHuman {
            topic,
            ticket_reference: ticket.map(|t| t.to_string()),
        }
    }

    /// A vendor failed: tell the customer plainly, and let staff know.
    async fn unavailable(&self, ctx: &mut Ctx, text: &str, effects: &mut Effects) -> Reply {
        let escalation = self.escalation(
            None,
            Priority::High,
            format!("System unavailable while serving {}", ctx.key.sender),
            format!(
                "A vendor failed while the agent served this message, so it did not answer from \
                 guesses.\n> {}\n\nErrors: {}",
                one_paragraph(text),
                effects.errors.join("; ")
            ),
            None,
            &["system_unavailable".to_owned()],
        );
        let key = ctx.ticket_key("unavailable");
        self.ticket(&key, escalation, effects).await;
        ctx.reasons.push("system_unavailable".to_owned());
        Reply::SystemUnavailable
    }

    /// Tracks `parcels` at once; each with its result.
    async fn track_parcels<'p>(
        &self,
        parcels: impl Iterator<Item = &'p Parcel>,
    ) -> Vec<(Parcel, Result<Option<Tracking>, PortError>)> {
        join_all(parcels.map(|p| async move {
            let tracking = self
                .ports
                .carrier
                .track(&p.carrier, &p.tracking_number)
                .await;
            (p.clone(), tracking)
        }))
        .await
    }

    async fn answer_wismo(
        &self,
        ctx: &mut Ctx,
        orders: &[Order],
        named: Option<OrderNumber>,
        effects: &mut Effects,
    ) -> Result<Handled, PortError> {
        let now = self.ports.clock.now();
        // Fresh tracking for every parcel of the orders that could be meant, all at once.
        let wanted = |o: &Order| match &named {
            Some(n) => same_order_number(&o.number, n),
            None => is_open(o, &self.policy, now),
        };
        let prefetched = &ctx.prefetched;
        let calls = orders.iter().filter(|o| wanted(o)).flat_map(|o| {
            o.shipments.iter().map(move |s| async move {
                let known = s
                    .tracking_number
                    .as_ref()
                    .and_then(|n| prefetched.get(&(s.id.clone(), n.clone())));
                let tracking = match known {
                    Some(tracking) => Ok(tracking.clone()),
                    None => self.ports.carrier.track_shipment(s).await,
                };
                (o.id.clone(), s.id.clone(), tracking)
            })
        });
        let results = join_all(calls).await;
        let mut refreshed = orders.to_vec();
        for (order_id, shipment_id, result) in results {
            let Some(tracking) = result? else { continue };
            if let Some(shipment) = refreshed
                .iter_mut()
                .filter(|o| o.id == order_id)
                .flat_map(|o| o.shipments.iter_mut())
                .find(|s| s.id == shipment_id)
            {
                shipment.events = tracking.events;
                shipment.carrier_eta = tracking.eta.or(shipment.carrier_eta);
                if shipment.delivered_at.is_none() {
                    shipment.delivered_at = shipment
                        .events
                        .iter()
                        .find(|e| e.status == crate::domain::TrackingStatus::Delivered)
                        .map(|e| e.at);
                }
            }
        }
        let outcome = wismo(
            &WismoInput {
                orders: refreshed,
                order_number: named,
            },
            &self.policy,
            now,
        );
        ctx.reasons.extend(outcome.reasons.iter().cloned());
        if outcome.escalate {
            let before = effects.errors.len();
            let order = orders
                .iter()
                .find(|o| Some(&o.id) == outcome.order_id.as_ref());
            let keys: Vec<String> = outcome.exceptions.iter().map(|e| e.dedup_key()).collect();
            let details: Vec<String> = outcome
                .exceptions
                .iter()
                .map(|e| e.detail.clone())
                .collect();
            let escalation = self.escalation(
                order,
                Priority::High,
                format!(
                    "Customer asked about order {} with a shipping exception",
                    order.map(|o| o.number.to_string()).unwrap_or_default()
                ),
                details.join("\n"),
                None,
                &outcome.reasons,
            );
            for key in keys.iter().take(1) {
                self.ticket(&format!("ticket:{key}"), escalation.clone(), effects)
                    .await;
            }
            if let Some(e) = effects.errors.get(before) {
                ctx.reasons.push(format!("ticket_failed:{e}"));
            }
            ctx.reasons.push("escalated".to_owned());
        }
        Ok(Handled {
            reply: outcome.reply,
            decision: None,
        })
    }

    /// Picks the order a return or cancellation is about: the named one, else the only
    /// candidate; `Err(reply)` asks which.
    fn pick_order<'o>(
        orders: &'o [Order],
        named: Option<&OrderNumber>,
        candidate: impl Fn(&Order) -> bool,
    ) -> Result<&'o Order, Box<Reply>> {
        if let Some(number) = named {
            return orders
                .iter()
                .find(|o| same_order_number(&o.number, number))
                .ok_or(Box::new(Reply::NotVerified));
        }
        let mut candidates: Vec<&Order> = orders.iter().filter(|o| candidate(o)).collect();
        candidates.sort_by_key(|o| std::cmp::Reverse(o.placed_at));
        match candidates.as_slice() {
            [only] => Ok(only),
            [] => Err(Box::new(Reply::AskVerification { order_number: None })),
            many => Err(Box::new(Reply::AskWhichOrder {
                candidates: many.iter().map(|o| order_summary(o)).collect(),
            })),
        }
    }

    async fn answer_return(
        &self,
        ctx: &mut Ctx,
        intent: Intent,
        customer: &Customer,
        orders: &[Order],
        named: Option<OrderNumber>,
        effects: &mut Effects,
    ) -> Result<Handled, PortError> {
        let shipped = |o: &Order| {
            o.shipments
                .iter()
                .any(|s| s.shipped_at.is_some() || s.delivered_at.is_some())
        };
        let order = match Self::pick_order(orders, named.as_ref(), shipped) {
            Ok(order) => order,
            Err(reply) => {
                return Ok(Handled {
                    reply: *reply,
                    decision: None,
                })
            }
        };
        // A refund request on an order with a return under way is a status question.
        if intent == Intent::RefundRequest {
            let returns = self
                .ports
                .store
                .return_authorisations_of_order(&order.id)
                .await?;
            if !returns.is_empty() {
                return self
                    .answer_refund_status(std::slice::from_ref(order), Some(order.number.clone()))
                    .await;
            }
        }
        let lines = match_lines(order, &ctx.pending.items);
        let reason = ctx.pending.reason;
        let (Some(reason), false) = (reason, lines.is_empty()) else {
            ctx.reasons.push("return:details_missing".to_owned());
            return Ok(Handled {
                reply: Reply::AskReturnDetails {
                    order_number: order.number.clone(),
                    items: order.lines.iter().map(|l| l.title.clone()).collect(),
                },
                decision: None,
            });
        };
        let resolution = if intent == Intent::Exchange {
            ResolutionKind::Exchange
        } else {
            ResolutionKind::Refund
        };
        let line_ids: Vec<crate::domain::LineId> = lines.iter().map(|(id, _)| id.clone()).collect();
        let offers = if resolution == ResolutionKind::Exchange {
            self.offers_for(order, &line_ids).await?
        } else {
            Vec::new()
        };
        let mut request_lines = Vec::with_capacity(lines.len());
        for (line_id, quantity) in lines {
            let exchange_for = if resolution == ResolutionKind::Exchange {
                match pick_variant(order, &line_id, &offers, &ctx.pending.items) {
                    Some(variant) => Some(variant),
                    None => {
                        ctx.reasons.push("exchange:variant_unclear".to_owned());
                        return Ok(Handled {
                            reply: Reply::AskReturnDetails {
                                order_number: order.number.clone(),
                                items: offers
                                    .iter()
                                    .filter(|o| o.available > 0)
                                    .map(|o| o.sku.to_string())
                                    .collect(),
                            },
                            decision: None,
                        });
                    }
                }
            } else {
                None
            };
            request_lines.push(ReturnLine {
                line_id,
                quantity,
                reason,
                exchange_for,
            });
        }
        let request = ReturnRequest {
            order_id: order.id.clone(),
            resolution,
            lines: request_lines,
        };
        self.process_return(order, customer, request, offers, effects)
            .await
    }

    async fn answer_cancel(
        &self,
        ctx: &mut Ctx,
        customer: &Customer,
        orders: &[Order],
        named: Option<OrderNumber>,
        effects: &mut Effects,
    ) -> Result<Handled, PortError> {
        let open = |o: &Order| o.status.is_before_fulfilment();
        let order = match Self::pick_order(orders, named.as_ref(), open) {
            Ok(order) => order,
            Err(reply) => {
                return Ok(Handled {
                    reply: *reply,
                    decision: None,
                })
            }
        };
        ctx.reasons.push(format!("order:{}", order.id));
        // The customer's own words rarely map to a cancellation reason; "other" is what is
        // recorded then, and staff see the message on any ticket.
        self.process_cancellation(order, customer, CancellationReason::Other, effects)
            .await
    }

    async fn answer_refund_status(
        &self,
        orders: &[Order],
        named: Option<OrderNumber>,
    ) -> Result<Handled, PortError> {
        let order = match Self::pick_order(orders, named.as_ref(), |o| {
            o.payments.iter().any(|p| p.refunded.is_positive())
        }) {
            Ok(order) => order,
            Err(reply) => {
                return Ok(Handled {
                    reply: *reply,
                    decision: None,
                })
            }
        };
        let lists = join_all(
            order
                .payments
                .iter()
                .map(|p| self.ports.payments.refunds(&p.id)),
        )
        .await;
        let mut refunds = Vec::new();
        for list in lists {
            refunds.extend(list?.into_iter().map(|r| RefundSummary {
                amount: r.amount,
                state: r.state,
                created_at: r.created_at,
            }));
        }
        refunds.sort_by_key(|r| r.created_at);
        let returns = self
            .ports
            .store
            .return_authorisations_of_order(&order.id)
            .await?;
        let intents = self.ports.store.refund_intents_of_order(&order.id).await?;
        let return_in_progress = returns.iter().any(|r| {
            !intents
                .iter()
                .any(|i| i.key.starts_with(&format!("refund:{}:", r.id)) && i.state.is_final())
        });
        Ok(Handled {
            reply: Reply::RefundStatus {
                order_number: order.number.clone(),
                refunds,
                return_in_progress,
            },
            decision: None,
        })
    }
}

/// The state of a conversation nothing is known about yet.
fn fresh_state(now: chrono::DateTime<chrono::Utc>) -> ConversationState {
    ConversationState {
        verified_customer: None,
        locale: None,
        pending_question: None,
        attempts: Default::default(),
        updated_at: now,
    }
}

fn sender_attempts_key(key: &ConversationKey) -> ConversationKey {
    ConversationKey {
        channel: key.channel,
        sender: format!("sender-attempts:{}", key.sender),
    }
}

fn order_attempts_key(claim: &IdentityClaim) -> Option<ConversationKey> {
    claim.order_numbers.first().map(|n| ConversationKey {
        channel: Channel::WebChat,
        sender: format!(
            "order-attempts:{}",
            n.as_str()
                .trim()
                .trim_start_matches('#')
                .to_ascii_uppercase()
        ),
    })
}

/// The order lines the customer's words refer to, with the units still returnable: every line
/// whose title contains a referenced word; the only line when the order has one.
fn match_lines(order: &Order, references: &[String]) -> Vec<(crate::domain::LineId, u32)> {
    let words: Vec<String> = references
        .iter()
        .flat_map(|r| r.split_whitespace())
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| w.chars().count() >= 3)
        .collect();
    let lines: Vec<&crate::domain::OrderLine> = if order.lines.len() == 1 {
        order.lines.iter().collect()
    } else {
        order
            .lines
            .iter()
            .filter(|l| {
                let title = l.title.to_lowercase();
                words.iter().any(|w| title.contains(w.as_str()))
            })
            .collect()
    };
    lines
        .into_iter()
        .map(|l| (l.id.clone(), l.quantity))
        .collect()
}

/// The variant to exchange `line` into: the only other available variant of its product, else
/// the one whose id or SKU carries a size or colour word the customer used.
fn pick_variant(
    order: &Order,
    line: &crate::domain::LineId,
    offers: &[crate::domain::ExchangeOffer],
    references: &[String],
) -> Option<crate::domain::VariantId> {
    let current = order.line(line)?;
    let candidates: Vec<&crate::domain::ExchangeOffer> = offers
        .iter()
        .filter(|o| {
            o.product_id == current.product_id
                && o.variant_id != current.variant_id
                && o.available > 0
        })
        .collect();
    if let [only] = candidates.as_slice() {
        return Some(only.variant_id.clone());
    }
    let words: Vec<String> = references
        .iter()
        .flat_map(|r| r.split_whitespace())
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty() && w != "size" && w != "grösse" && w != "taille" && w != "taglia")
        .collect();
    // Only words that tell a variant apart count: "sweater" or "navy" name every variant.
    let current_id = format!("{}-{}", current.variant_id, current.sku).to_lowercase();
    let shared: Vec<&str> = current_id.split(|c: char| !c.is_alphanumeric()).collect();
    let matching: Vec<&&crate::domain::ExchangeOffer> = candidates
        .iter()
        .filter(|o| {
            let id = format!("{}-{}", o.variant_id, o.sku).to_lowercase();
            let parts: Vec<&str> = id.split(|c: char| !c.is_alphanumeric()).collect();
            words
                .iter()
                .any(|w| parts.contains(&w.as_str()) && !shared.contains(&w.as_str()))
        })
        .collect();
    match matching.as_slice() {
        [only] => Some(only.variant_id.clone()),
        _ => None,
    }
}

/// Standalone 4- or 5-digit numbers of `text` that are not one of `order_numbers`.
fn bare_postcodes(text: &str, order_numbers: &[OrderNumber]) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '#')
        .filter(|w| (4..=5).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| {
            !order_numbers
                .iter()
                .any(|n| n.as_str().trim_start_matches('#') == *w)
        })
        .map(str::to_owned)
        .collect()
}

/// Words of three letters or more outside email addresses: how much prose a message holds.
fn prose_words(text: &str) -> usize {
    text.split_whitespace()
        .filter(|w| !w.contains('@'))
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .count()
}

fn one_paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn topic_name(topic: HandoverTopic) -> &'static str {
    match topic {
        HandoverTopic::PolicyReview => "policy_review",
        HandoverTopic::RefundApproval => "refund_approval",
        HandoverTopic::CustomerRequest => "customer_request",
        HandoverTopic::Complaint => "complaint",
        HandoverTopic::NotUnderstood => "not_understood",
        HandoverTopic::ShippingException => "shipping_exception",
    }
}

fn topic_title(topic: HandoverTopic) -> &'static str {
    match topic {
        HandoverTopic::PolicyReview => "Policy review",
        HandoverTopic::RefundApproval => "Refund approval",
        HandoverTopic::CustomerRequest => "Customer asks for a person",
        HandoverTopic::Complaint => "Complaint",
        HandoverTopic::NotUnderstood => "Message not understood",
        HandoverTopic::ShippingException => "Shipping exception",
    }
}

fn intent_name(intent: Intent) -> String {
    match serde_json::to_value(intent) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{intent:?}").to_lowercase(),
    }
}

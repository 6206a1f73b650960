//! From a verified vendor delivery to the agent's durable queue (feature `webhooks`).
//!
//! A [`WebhookIngress`] holds one vendor's [`WebhookVerifier`] and one [`Translate`]: it
//! verifies a delivery over the raw bytes, translates the vendor's payload into agent
//! [`Event`]s and accepts all events of the delivery together, through [`Accept`] (implemented
//! for [`Agent`] and for the group-committing [`AcceptBatcher`]). Every answer is an
//! [`IngressOutcome`] with the HTTP status for the vendor:
//!
//! | what arrived | status | state changed |
//! | --- | --- | --- |
//! | unsigned, badly signed, stale | the verifier's 4xx (400 or 401) | nothing |
//! | verified, but not the payload the vendor sends for its topic | 400 | nothing |
//! | verified, a topic the agent does not act on | 200 with [`IngressOutcome::ignored`] | nothing in the queue (a hook may record it) |
//! | verified, translated, accepted | 200, [`IngressOutcome::new`] events new | the queue |
//! | a redelivery or a replay of an accepted delivery | 200, `new` = 0 | nothing |
//! | the queue (or a hook) is unavailable | 503, so the vendor retries | nothing |
//!
//! Vendors retry anything but a 2xx for days, so a well-formed topic the agent has no use for is
//! answered 200, never 4xx.
//!
//! Each event's `source` is the vendor's ([`Vendor::source`], e.g. `webhook:shopify`) and its
//! `id` is the vendor's dedup id ([`VerifiedWebhook::dedup_id`]); when one delivery yields
//! several events they are `{dedup_id}:1`, `{dedup_id}:2`, ... The queue keeps one event per
//! source and id, which is what makes a replay change nothing.
//!
//! The translators:
//!
//! | vendor | translator | agent events |
//! | --- | --- | --- |
//! | Shopify | `ShopifyTranslator` (feature `shopify`) | `orders/cancelled` → `OrderCancelledUpstream`; `fulfillments/create` and `fulfillments/update` with tracking → one `ShipmentCreated` per tracking number; other topics ignored |
//! | EasyPost | `EasyPostTranslator` (feature `easypost`) | `tracker.created` / `tracker.updated` → one `TrackingUpdate` per tracking detail, for parcels a [`ShipmentResolver`] knows |
//! | Stripe | [`NotForTheQueue`] | none: payments settle through the payments port |
//! | Adyen | [`AdyenTranslator`] | none; each notification item goes to an optional [`AdyenNotificationHook`] (the Adyen ledger), and the answer is `[accepted]` |
//! | Twilio, SendGrid, Zendesk | [`NotForTheQueue`] | none: message and ticket events are not queue events |
//!
//! # Which order a parcel belongs to
//!
//! EasyPost knows a tracking code, not the shop's order and shipment ids. A [`ShipmentResolver`]
//! answers that question; [`InMemoryShipmentResolver`] is for tests and demos. In production a
//! shop backs it with its OMS (look the tracking number up among the order's fulfilments), or
//! with the table it fills when it buys labels. A tracking code the resolver does not know is
//! answered 200 and ignored: it is not one of this shop's parcels.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use order_agent_core::agent::{AcceptBatcher, Agent, AgentError};
use order_agent_core::domain::{OrderId, ShipmentId};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::PortResult;

use super::adyen::{parse_notification, AdyenNotificationItem};
use super::{Headers, Vendor, VerifiedWebhook, WebhookRequest, WebhookVerifier};

// ---------------------------------------------------------------------------------------------
// accepting

/// Accepts the events of one delivery into the agent's durable queue.
#[async_trait]
pub trait Accept: Send + Sync {
    /// Accepts `events`; answers, per event and in order, whether it was new.
    ///
    /// # Behavior
    ///
    /// - MUST answer `false` for an event whose source and id were accepted before, and change
    ///   nothing for it.
    /// - MUST return `Ok` only once every event is durable; on `Err` the caller answers the
    ///   vendor with a 5xx, and the vendor's redelivery accepts whatever is still missing.
    async fn accept_events(&self, events: &[Event]) -> Result<Vec<bool>, AgentError>;
}

#[async_trait]
impl Accept for Agent {
    /// All events in one transaction ([`Agent::accept_all`]).
    async fn accept_events(&self, events: &[Event]) -> Result<Vec<bool>, AgentError> {
        self.accept_all(events).await
    }
}

#[async_trait]
impl Accept for AcceptBatcher {
    /// The events are handed to the batcher together, so they normally share one group commit;
    /// under load they may be split across two, which is safe: each is deduplicated.
    async fn accept_events(&self, events: &[Event]) -> Result<Vec<bool>, AgentError> {
        futures_util::future::join_all(events.iter().cloned().map(|e| self.accept(e)))
            .await
            .into_iter()
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// translating

/// A verified delivery, as a translator sees it.
#[derive(Clone, Copy)]
pub struct Delivery<'a> {
    /// The verified webhook, with its body.
    pub webhook: &'a VerifiedWebhook,
    /// The request headers (Shopify's topic is one).
    pub headers: &'a (dyn Headers + Sync),
    /// When it arrived.
    pub now: DateTime<Utc>,
}

impl fmt::Debug for Delivery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("webhook", &self.webhook)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Delivery<'_> {
    /// The header `name` (ASCII case-insensitive) as trimmed text, if present, UTF-8 and not
    /// empty.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// One thing a delivery reports, before the ingress gives it a source and an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Happened {
    /// When the vendor says it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: EventKind,
}

/// What a delivery means to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// Events for the queue, in the vendor's order; never empty.
    Events(Vec<Happened>),
    /// Well-formed, but nothing the agent acts on: answered 2xx, nothing queued.
    Ignored(String),
}

/// Why a delivery could not be translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TranslateErrorKind {
    /// The payload is not what the vendor sends for its topic: 400.
    Malformed,
    /// Something the translation needs (a resolver, a hook) is unavailable: 503, so the vendor
    /// redelivers later.
    Unavailable,
}

/// A delivery that could not be translated. Never holds the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslateError {
    kind: TranslateErrorKind,
    message: String,
}

impl TranslateError {
    /// The payload is malformed, because `why`.
    pub fn malformed(why: impl Into<String>) -> Self {
        Self {
            kind: TranslateErrorKind::Malformed,
            message: why.into(),
        }
    }

    /// A dependency is unavailable, because `why`.
    pub fn unavailable(why: impl Into<String>) -> Self {
        Self {
            kind: TranslateErrorKind::Unavailable,
            message: why.into(),
        }
    }

    /// Why it failed.
    pub fn kind(&self) -> TranslateErrorKind {
        self.kind
    }

    /// The HTTP status to answer with: 400 or 503.
    pub fn status(&self) -> u16 {
        match self.kind {
            TranslateErrorKind::Malformed => 400,
            TranslateErrorKind::Unavailable => 503,
        }
    }
}

impl fmt::Display for TranslateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TranslateError {}

impl From<super::WebhookError> for TranslateError {
    fn from(e: super::WebhookError) -> Self {
        TranslateError::malformed(e.to_string())
    }
}

/// Turns one vendor's verified payloads into agent events.
#[async_trait]
pub trait Translate: Send + Sync + fmt::Debug {
    /// Translates a verified delivery.
    ///
    /// # Behavior
    ///
    /// - MUST answer [`TranslateErrorKind::Malformed`] for a payload the vendor would not send
    ///   (not JSON, a required field missing), and [`Translation::Ignored`] with a reason for a
    ///   well-formed topic the agent does not act on.
    /// - MUST give the same translation for the same delivery, so a redelivery carries the same
    ///   event ids.
    /// - MUST NOT panic; MAY call hooks, which then MUST be idempotent per delivery.
    async fn translate(&self, delivery: Delivery<'_>) -> Result<Translation, TranslateError>;

    /// The body to answer a 2xx with, when the vendor requires one (Adyen: `[accepted]`).
    fn acknowledgement(&self) -> Option<&'static str> {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// the ingress

/// The answer to one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngressOutcome {
    /// The HTTP status for the vendor.
    pub status: u16,
    /// Events of this delivery accepted into the queue (new or already there).
    pub accepted: usize,
    /// Of those, the ones not seen before: 0 for a redelivery or a replay.
    pub new: usize,
    /// Why a verified delivery queued nothing, when the agent does not act on it.
    pub ignored: Option<String>,
    /// Why it was refused, for a 4xx or 5xx; never holds a secret or the body.
    pub error: Option<String>,
    /// The body the vendor expects with a 2xx (Adyen: `[accepted]`), if any.
    pub body: Option<String>,
}

impl IngressOutcome {
    fn refused(status: u16, why: String) -> Self {
        Self {
            status,
            accepted: 0,
            new: 0,
            ignored: None,
            error: Some(why),
            body: None,
        }
    }

    /// Whether the vendor gets a 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One vendor's webhooks, from the raw request to the agent's queue.
#[derive(Debug)]
pub struct WebhookIngress {
    verifier: Box<dyn WebhookVerifier>,
    translate: Box<dyn Translate>,
}

impl WebhookIngress {
    /// An ingress verifying with `verifier` and translating with `translate`.
    pub fn new(verifier: Box<dyn WebhookVerifier>, translate: Box<dyn Translate>) -> Self {
        Self {
            verifier,
            translate,
        }
    }

    /// The vendor whose deliveries this ingress takes.
    pub fn vendor(&self) -> Vendor {
        self.verifier.vendor()
    }

    /// Verifies, translates and accepts one delivery at `now`: `url` is the full URL the vendor
    /// called (Twilio signs it; empty otherwise), `body` the raw bytes as received.
    ///
    /// Nothing is accepted unless the delivery verifies and translates; the events of one
    /// delivery are accepted together.
    pub async fn receive<A: Accept + ?Sized>(
        &self,
        accept: &A,
        url: &str,
        headers: &(dyn Headers + Sync),
        body: &[u8],
        now: DateTime<Utc>,
    ) -> IngressOutcome {
        let verified = {
            let request = WebhookRequest::new(headers, body).with_url(url);
            self.verifier.verify(&request, now)
        };
        let webhook = match verified {
            Ok(webhook) => webhook,
            Err(e) => return IngressOutcome::refused(e.status(), e.to_string()),
        };
        let delivery = Delivery {
            webhook: &webhook,
            headers,
            now,
        };
        let ack = self.translate.acknowledgement().map(str::to_owned);
        let happened = match self.translate.translate(delivery).await {
            Ok(Translation::Events(happened)) if !happened.is_empty() => happened,
            Ok(Translation::Events(_)) => {
                return ignored("the delivery reports nothing for the agent".to_owned(), ack)
            }
            Ok(Translation::Ignored(reason)) => return ignored(reason, ack),
            Err(e) => {
                return IngressOutcome::refused(
                    e.status(),
                    format!("{} webhook not translated: {e}", self.vendor()),
                )
            }
        };
        let events = events_of(&webhook, happened);
        match accept.accept_events(&events).await {
            Ok(new) => IngressOutcome {
                status: 200,
                accepted: events.len(),
                new: new.iter().filter(|n| **n).count(),
                ignored: None,
                error: None,
                body: ack,
            },
            Err(e) => {
                IngressOutcome::refused(503, format!("the agent's queue is unavailable: {e}"))
            }
        }
    }
}

fn ignored(reason: String, body: Option<String>) -> IngressOutcome {
    IngressOutcome {
        status: 200,
        accepted: 0,
        new: 0,
        ignored: Some(reason),
        error: None,
        body,
    }
}

/// The events of a delivery: the vendor's source, ids from its dedup id.
fn events_of(webhook: &VerifiedWebhook, happened: Vec<Happened>) -> Vec<Event> {
    let several = happened.len() > 1;
    happened
        .into_iter()
        .enumerate()
        .map(|(n, h)| Event {
            id: if several {
                format!("{}:{}", webhook.dedup_id, n + 1)
            } else {
                webhook.dedup_id.clone()
            },
            source: webhook.source().to_owned(),
            at: h.at,
            kind: h.kind,
        })
        .collect()
}

/// A JSON body, or a malformed-payload error.
fn json_body(delivery: &Delivery<'_>) -> Result<serde_json::Value, TranslateError> {
    serde_json::from_slice(&delivery.webhook.body)
        .map_err(|_| TranslateError::malformed("the body is not json"))
}

// ---------------------------------------------------------------------------------------------
// vendors without queue events

/// For vendors whose deliveries are verified but are not queue events (Stripe, Twilio,
/// SendGrid, Zendesk): checks that the body is what the vendor sends, then ignores it with a
/// reason.
#[derive(Debug, Clone, Copy)]
pub struct NotForTheQueue {
    vendor: Vendor,
}

impl NotForTheQueue {
    /// The translator for `vendor`'s deliveries.
    pub fn new(vendor: Vendor) -> Self {
        Self { vendor }
    }
}

#[async_trait]
impl Translate for NotForTheQueue {
    async fn translate(&self, delivery: Delivery<'_>) -> Result<Translation, TranslateError> {
        let body = &delivery.webhook.body;
        let reason = match self.vendor {
            Vendor::Stripe => {
                let event = super::stripe::parse_event(body)?;
                format!(
                    "stripe event `{}` is not an agent event: payments settle through the \
                     payments port",
                    event.event_type
                )
            }
            Vendor::Twilio => {
                super::twilio::parse_message_callback(body)?;
                "twilio messages and delivery callbacks are not agent events".to_owned()
            }
            Vendor::SendGrid => {
                super::sendgrid::parse_events(body)?;
                "sendgrid delivery events are not agent events".to_owned()
            }
            Vendor::Zendesk => {
                super::zendesk::parse_event(body)?;
                "zendesk ticket events are not agent events".to_owned()
            }
            Vendor::Adyen => {
                parse_notification(body)?;
                "adyen notifications are not agent events".to_owned()
            }
            Vendor::Shopify | Vendor::EasyPost => {
                json_body(&delivery)?;
                format!("{} deliveries are not translated here", self.vendor)
            }
        };
        Ok(Translation::Ignored(reason))
    }
}

// ---------------------------------------------------------------------------------------------
// Adyen

/// Receives each verified Adyen notification item, e.g. to settle refunds in the Adyen ledger
/// (`AdyenPayments::apply_notification_item`, feature `adyen`).
#[async_trait]
pub trait AdyenNotificationHook: Send + Sync + fmt::Debug {
    /// Applies one verified notification item.
    ///
    /// # Behavior
    ///
    /// - MUST be idempotent: Adyen redelivers until it reads `[accepted]`.
    /// - An `Err` answers the delivery with a 503, so Adyen sends it again.
    async fn apply(&self, item: &AdyenNotificationItem) -> PortResult<()>;
}

#[cfg(feature = "adyen")]
#[cfg_attr(docsrs, doc(cfg(feature = "adyen")))]
#[async_trait]
impl AdyenNotificationHook for crate::adyen::AdyenPayments {
    async fn apply(&self, item: &AdyenNotificationItem) -> PortResult<()> {
        self.apply_notification_item(item).await.map(|_| ())
    }
}

/// Adyen notifications: none is an agent event; each item goes to the hook, if one, and the
/// answer is `[accepted]`, as Adyen requires.
#[derive(Debug, Clone, Default)]
pub struct AdyenTranslator {
    hook: Option<Arc<dyn AdyenNotificationHook>>,
}

impl AdyenTranslator {
    /// A translator without a hook: notifications are verified and acknowledged only.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same, handing each item to `hook`.
    pub fn with_hook(hook: Arc<dyn AdyenNotificationHook>) -> Self {
        Self { hook: Some(hook) }
    }
}

#[async_trait]
impl Translate for AdyenTranslator {
    async fn translate(&self, delivery: Delivery<'_>) -> Result<Translation, TranslateError> {
        let items = parse_notification(&delivery.webhook.body)?;
        if let Some(hook) = &self.hook {
            for item in &items {
                hook.apply(item).await.map_err(|e| {
                    TranslateError::unavailable(format!(
                        "the notification `{}` was not applied: {e}",
                        item.dedup_id()
                    ))
                })?;
            }
        }
        Ok(Translation::Ignored(format!(
            "adyen notifications ({} item(s)) update the payments ledger, not the agent's queue",
            items.len()
        )))
    }

    fn acknowledgement(&self) -> Option<&'static str> {
        Some("[accepted]")
    }
}

// ---------------------------------------------------------------------------------------------
// Shopify

#[cfg(feature = "shopify")]
#[cfg_attr(docsrs, doc(cfg(feature = "shopify")))]
pub use shopify_translator::ShopifyTranslator;

#[cfg(feature = "shopify")]
mod shopify_translator {
    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use order_agent_core::domain::{
        LineId, OrderId, Shipment, ShipmentId, ShipmentLine, TrackingEvent, TrackingNumber,
    };
    use order_agent_core::flows::events::EventKind;
    use serde_json::Value;

    use super::{json_body, Delivery, Happened, Translate, TranslateError, Translation};
    use crate::shopify::fulfilment_tracking_status;
    use crate::webhooks::shopify::TOPIC_HEADER;

    /// Shopify webhooks (feature `shopify`): `orders/cancelled` and fulfilments with tracking.
    /// Ids are GIDs, as the Shopify OMS adapter reports them.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct ShopifyTranslator;

    /// The GID of `kind` the REST resource `value` stands for: its `admin_graphql_api_id`, or
    /// one built from its numeric `id`.
    fn gid(value: &Value, kind: &str, id_field: &str) -> Option<String> {
        let prefix = format!("gid://shopify/{kind}/");
        if id_field == "id" {
            if let Some(gid) = value
                .get("admin_graphql_api_id")
                .and_then(Value::as_str)
                .filter(|g| g.starts_with(&prefix))
            {
                return Some(gid.to_owned());
            }
        }
        match value.get(id_field)? {
            Value::Number(n) if n.is_u64() => Some(format!("{prefix}{n}")),
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                Some(format!("{prefix}{s}"))
            }
            _ => None,
        }
    }

    fn time(value: &Value, field: &str) -> Option<DateTime<Utc>> {
        value
            .get(field)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    }

    fn cancelled(order: &Value, now: DateTime<Utc>) -> Result<Translation, TranslateError> {
        let order_id = gid(order, "Order", "id")
            .ok_or_else(|| TranslateError::malformed("the order has no numeric `id`"))?;
        Ok(Translation::Events(vec![Happened {
            at: time(order, "cancelled_at").unwrap_or(now),
            kind: EventKind::OrderCancelledUpstream {
                order_id: OrderId::new(order_id),
            },
        }]))
    }

    fn fulfilment(f: &Value, now: DateTime<Utc>) -> Result<Translation, TranslateError> {
        let id = gid(f, "Fulfillment", "id")
            .ok_or_else(|| TranslateError::malformed("the fulfillment has no numeric `id`"))?;
        let order_id = gid(f, "Order", "order_id")
            .ok_or_else(|| TranslateError::malformed("the fulfillment has no `order_id`"))?;
        let status = f
            .get("status")
            .and_then(Value::as_str)
            .ok_or_else(|| TranslateError::malformed("the fulfillment has no `status`"))?
            .to_ascii_uppercase();
        if matches!(status.as_str(), "CANCELLED" | "ERROR" | "FAILURE") {
            return Ok(Translation::Ignored(format!(
                "the fulfillment is `{}`: no parcel left",
                status.to_ascii_lowercase()
            )));
        }
        let mut numbers: Vec<String> = f
            .get("tracking_numbers")
            .and_then(Value::as_array)
            .map(|n| {
                n.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if numbers.is_empty() {
            numbers.extend(
                f.get("tracking_number")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            );
        }
        numbers.retain(|n| !n.trim().is_empty());
        if numbers.is_empty() {
            return Ok(Translation::Ignored(
                "the fulfillment carries no tracking yet".to_owned(),
            ));
        }
        let carrier = f
            .get("tracking_company")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut lines = Vec::new();
        for item in f
            .get("line_items")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let line = gid(item, "LineItem", "id")
                .ok_or_else(|| TranslateError::malformed("a line item has no numeric `id`"))?;
            let quantity = item
                .get("quantity")
                .and_then(Value::as_u64)
                .and_then(|q| u32::try_from(q).ok())
                .ok_or_else(|| TranslateError::malformed("a line item has no `quantity`"))?;
            lines.push(ShipmentLine {
                line_id: LineId::new(line),
                quantity,
            });
        }
        let created = time(f, "created_at").unwrap_or(now);
        let updated = time(f, "updated_at").unwrap_or(created);
        // The REST payload's `shipment_status` is the GraphQL `displayStatus` in lower case.
        let display = f
            .get("shipment_status")
            .and_then(Value::as_str)
            .map(str::to_ascii_uppercase)
            .unwrap_or(status);
        let delivered_at = (display == "DELIVERED").then_some(updated);
        let events = numbers
            .into_iter()
            .enumerate()
            .map(|(i, number)| Happened {
                at: updated,
                kind: EventKind::ShipmentCreated {
                    order_id: OrderId::new(order_id.clone()),
                    shipment: Shipment {
                        id: ShipmentId::new(if i == 0 {
                            id.clone()
                        } else {
                            format!("{id}#{}", i + 1)
                        }),
                        carrier: carrier.clone(),
                        tracking_number: Some(TrackingNumber::new(number)),
                        lines: if i == 0 { lines.clone() } else { Vec::new() },
                        promised: None,
                        shipped_at: Some(created),
                        delivered_at,
                        carrier_eta: None,
                        events: vec![TrackingEvent {
                            at: updated,
                            status: fulfilment_tracking_status(&display),
                            carrier_code: display.clone(),
                            description: display.to_ascii_lowercase().replace('_', " "),
                            location: None,
                        }],
                    },
                },
            })
            .collect();
        Ok(Translation::Events(events))
    }

    #[async_trait]
    impl Translate for ShopifyTranslator {
        async fn translate(&self, delivery: Delivery<'_>) -> Result<Translation, TranslateError> {
            let topic = delivery.header(TOPIC_HEADER).ok_or_else(|| {
                TranslateError::malformed(format!("header `{TOPIC_HEADER}` is missing"))
            })?;
            let topic = topic.to_owned();
            match topic.as_str() {
                "orders/cancelled" => cancelled(&json_body(&delivery)?, delivery.now),
                "fulfillments/create" | "fulfillments/update" => {
                    fulfilment(&json_body(&delivery)?, delivery.now)
                }
                _ => {
                    json_body(&delivery)?;
                    Ok(Translation::Ignored(format!(
                        "shopify topic `{topic}` is not an agent event"
                    )))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// EasyPost

/// Which order and parcel a tracking code belongs to. EasyPost does not know; the shop does.
///
/// In production, back it with the OMS (the order whose fulfilment carries the tracking
/// number) or with the record kept when the label was bought; [`InMemoryShipmentResolver`]
/// is for tests and demos.
#[async_trait]
pub trait ShipmentResolver: Send + Sync + fmt::Debug + 'static {
    /// The order and shipment of `tracking_code`.
    ///
    /// # Behavior
    ///
    /// - MUST answer `Ok(None)` for a tracking code that is not one of the shop's parcels.
    /// - MUST answer `Err` only when it cannot tell (the OMS is down): the delivery is then
    ///   answered 503 and redelivered.
    async fn resolve(&self, tracking_code: &str) -> PortResult<Option<(OrderId, ShipmentId)>>;
}

/// A [`ShipmentResolver`] over a table in memory.
#[derive(Debug, Default)]
pub struct InMemoryShipmentResolver {
    parcels: RwLock<HashMap<String, (OrderId, ShipmentId)>>,
}

impl InMemoryShipmentResolver {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `tracking_code` is parcel `shipment` of `order`.
    pub fn insert(&self, tracking_code: impl Into<String>, order: OrderId, shipment: ShipmentId) {
        let mut parcels = match self.parcels.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        parcels.insert(tracking_code.into(), (order, shipment));
    }
}

#[async_trait]
impl ShipmentResolver for InMemoryShipmentResolver {
    async fn resolve(&self, tracking_code: &str) -> PortResult<Option<(OrderId, ShipmentId)>> {
        let parcels = match self.parcels.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        Ok(parcels.get(tracking_code).cloned())
    }
}

#[cfg(feature = "easypost")]
#[cfg_attr(docsrs, doc(cfg(feature = "easypost")))]
pub use easypost_translator::EasyPostTranslator;

#[cfg(feature = "easypost")]
mod easypost_translator {
    use std::sync::Arc;

    use async_trait::async_trait;
    use order_agent_core::flows::events::EventKind;

    use super::{Delivery, Happened, ShipmentResolver, Translate, TranslateError, Translation};
    use crate::easypost::{tracking_from_event, EasyPostConfig};
    use crate::webhooks::easypost::parse_event;

    /// EasyPost tracker events (feature `easypost`): one `TrackingUpdate` per tracking detail
    /// of a parcel the [`ShipmentResolver`] knows. Every detail is sent each time: the monitor
    /// gives the same result for a scan it has already seen.
    #[derive(Debug, Clone)]
    pub struct EasyPostTranslator {
        config: EasyPostConfig,
        resolver: Arc<dyn ShipmentResolver>,
    }

    impl EasyPostTranslator {
        /// A translator naming carriers as `config` does, finding parcels with `resolver`.
        pub fn new(config: EasyPostConfig, resolver: Arc<dyn ShipmentResolver>) -> Self {
            Self { config, resolver }
        }
    }

    #[async_trait]
    impl Translate for EasyPostTranslator {
        async fn translate(&self, delivery: Delivery<'_>) -> Result<Translation, TranslateError> {
            let body = &delivery.webhook.body;
            let event = parse_event(body)?;
            if !matches!(
                event.description.as_str(),
                "tracker.created" | "tracker.updated"
            ) {
                return Ok(Translation::Ignored(format!(
                    "easypost event `{}` is not an agent event",
                    event.description
                )));
            }
            let code = event
                .tracking_code
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| TranslateError::malformed("the tracker has no `tracking_code`"))?;
            let tracking = tracking_from_event(&self.config, body)
                .map_err(|e| TranslateError::malformed(e.to_string()))?;
            let Some((order_id, shipment_id)) =
                self.resolver.resolve(&code).await.map_err(|e| {
                    TranslateError::unavailable(format!("the parcel could not be looked up: {e}"))
                })?
            else {
                return Ok(Translation::Ignored(
                    "the tracking code is not a parcel of this shop".to_owned(),
                ));
            };
            let Some(tracking) = tracking.filter(|t| !t.events.is_empty()) else {
                return Ok(Translation::Ignored(
                    "the tracker has no scans yet".to_owned(),
                ));
            };
            Ok(Translation::Events(
                tracking
                    .events
                    .into_iter()
                    .map(|scan| Happened {
                        at: scan.at,
                        kind: EventKind::TrackingUpdate {
                            order_id: order_id.clone(),
                            shipment_id: shipment_id.clone(),
                            event: scan,
                        },
                    })
                    .collect(),
            ))
        }
    }
}

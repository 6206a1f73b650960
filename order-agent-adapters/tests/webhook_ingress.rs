//! Vendor webhooks end to end: a signed delivery through [`WebhookIngress`] into the agent's
//! durable queue (the testkit's demo world), per vendor: accepted or ignored with a 2xx, a
//! replay changes nothing, a bad signature, a stale timestamp or a malformed payload is refused
//! and changes nothing, and the previous secret still works during a rotation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use order_agent_adapters::easypost::EasyPostConfig;
use order_agent_adapters::webhooks::adyen::{AdyenNotificationItem, AdyenVerifier};
use order_agent_adapters::webhooks::easypost::{self, EasyPostVerifier};
use order_agent_adapters::webhooks::ingress::{
    Accept, AdyenNotificationHook, AdyenTranslator, EasyPostTranslator, InMemoryShipmentResolver,
    IngressOutcome, NotForTheQueue, ShopifyTranslator, Translate, WebhookIngress,
};
use order_agent_adapters::webhooks::sendgrid::{self, SendGridVerifier};
use order_agent_adapters::webhooks::shopify::{self, ShopifyVerifier};
use order_agent_adapters::webhooks::stripe::{self, StripeVerifier};
use order_agent_adapters::webhooks::twilio::{self, TwilioVerifier};
use order_agent_adapters::webhooks::zendesk::{self, ZendeskVerifier};
use order_agent_adapters::webhooks::{SigningSecrets, Vendor, WebhookVerifier};
use order_agent_core::agent::{AcceptBatcher, Agent};
use order_agent_core::domain::{OrderId, ShipmentId, TrackingStatus};
use order_agent_core::flows::events::{Event, EventKind};
use order_agent_core::ports::{EventQueue, PortResult, QueueStats};
use order_agent_testkit::world::World;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::Signature;
use secrecy::SecretString;

mod support_signing;
use support_signing::{adyen_key, hmac_sha1, hmac_sha256, sendgrid_key, sendgrid_public};

const NOW: i64 = 1_764_000_000;
const CURRENT: &str = "current-secret";
const PREVIOUS: &str = "previous-secret";
const WRONG: &str = "wrong-secret";
const TWILIO_URL: &str = "https://shop.example/webhooks/vendor/twilio";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn rotating(current: &str, previous: &str) -> SigningSecrets {
    SigningSecrets::new(SecretString::from(current)).with_previous(SecretString::from(previous))
}

#[derive(Debug, Clone)]
struct Signed {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Signed {
    fn with(mut self, name: &str, value: &str) -> Signed {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

fn sign_shopify(secret: &str, topic: &str, webhook_id: &str, body: &str) -> Signed {
    Signed {
        headers: vec![
            (
                shopify::SIGNATURE_HEADER.into(),
                BASE64.encode(hmac_sha256(secret.as_bytes(), body.as_bytes())),
            ),
            (shopify::WEBHOOK_ID_HEADER.into(), webhook_id.into()),
            (shopify::TOPIC_HEADER.into(), topic.into()),
            (
                "X-Shopify-Shop-Domain".into(),
                "alpine-outfitters.myshopify.com".into(),
            ),
        ],
        body: body.as_bytes().to_vec(),
    }
}

fn sign_stripe(secret: &str, body: &str, ts: i64) -> Signed {
    let signed = format!("{ts}.{body}");
    let v1 = hex::encode(hmac_sha256(secret.as_bytes(), signed.as_bytes()));
    Signed {
        headers: vec![(stripe::SIGNATURE_HEADER.into(), format!("t={ts},v1={v1}"))],
        body: body.as_bytes().to_vec(),
    }
}

fn sign_adyen(secret: &str, body: &str) -> Signed {
    let mut value: serde_json::Value = serde_json::from_str(body).unwrap();
    for wrapper in value["notificationItems"].as_array_mut().unwrap() {
        let item = &mut wrapper["NotificationRequestItem"];
        let field = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        let signing = [
            field(&item["pspReference"]),
            field(&item["originalReference"]),
            field(&item["merchantAccountCode"]),
            field(&item["merchantReference"]),
            field(&item["amount"]["value"]),
            field(&item["amount"]["currency"]),
            field(&item["eventCode"]),
            field(&item["success"]),
        ]
        .join(":");
        let key = hex::decode(adyen_key(secret)).unwrap();
        item["additionalData"]["hmacSignature"] =
            BASE64.encode(hmac_sha256(&key, signing.as_bytes())).into();
    }
    Signed {
        headers: vec![],
        body: serde_json::to_vec(&value).unwrap(),
    }
}

fn sign_easypost(secret: &str, body: &str) -> Signed {
    Signed {
        headers: vec![(
            easypost::SIGNATURE_HEADER.into(),
            format!(
                "hmac-sha256-hex={}",
                hex::encode(hmac_sha256(secret.as_bytes(), body.as_bytes()))
            ),
        )],
        body: body.as_bytes().to_vec(),
    }
}

/// Twilio signs the URL, then each parameter's name and value, sorted by name. The parameters
/// here need no decoding but `%2B`.
fn sign_twilio(secret: &str, body: &str) -> Signed {
    let mut params: Vec<(String, String)> = body
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_owned(), v.replace("%2B", "+"))
        })
        .collect();
    params.sort();
    let mut data = TWILIO_URL.to_owned();
    for (k, v) in params {
        data.push_str(&k);
        data.push_str(&v);
    }
    Signed {
        headers: vec![(
            twilio::SIGNATURE_HEADER.into(),
            BASE64.encode(hmac_sha1(secret.as_bytes(), data.as_bytes())),
        )],
        body: body.as_bytes().to_vec(),
    }
}

fn sign_sendgrid(secret: &str, body: &str, ts: i64) -> Signed {
    let mut message = ts.to_string().into_bytes();
    message.extend_from_slice(body.as_bytes());
    let signature: Signature = sendgrid_key(secret).sign(&message);
    Signed {
        headers: vec![
            (
                sendgrid::SIGNATURE_HEADER.into(),
                BASE64.encode(signature.to_der().as_bytes()),
            ),
            (sendgrid::TIMESTAMP_HEADER.into(), ts.to_string()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

fn sign_zendesk(secret: &str, body: &str, ts: i64) -> Signed {
    let timestamp = at(ts).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut message = timestamp.clone().into_bytes();
    message.extend_from_slice(body.as_bytes());
    Signed {
        headers: vec![
            (
                zendesk::SIGNATURE_HEADER.into(),
                BASE64.encode(hmac_sha256(secret.as_bytes(), &message)),
            ),
            (zendesk::TIMESTAMP_HEADER.into(), timestamp),
            (
                zendesk::INVOCATION_ID_HEADER.into(),
                "01JD4M6N2X8ZENDESKINVOC".into(),
            ),
        ],
        body: body.as_bytes().to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------
// payloads, written after the vendors' documented shapes

const SHOPIFY_ORDER_CANCELLED: &str = r##"{"id":5735215890518,"admin_graphql_api_id":"gid://shopify/Order/5735215890518","name":"#1042","email":"lena.meier@example.ch","created_at":"2025-11-20T10:02:11+01:00","cancelled_at":"2025-11-24T16:40:00+01:00","cancel_reason":"customer","financial_status":"refunded","fulfillment_status":null,"currency":"CHF","total_price":"129.00","line_items":[{"id":14210593767510,"admin_graphql_api_id":"gid://shopify/LineItem/14210593767510","title":"Trail runner","quantity":1,"price":"129.00"}]}"##;

const SHOPIFY_FULFILLMENT: &str = r##"{"id":4961235796054,"admin_graphql_api_id":"gid://shopify/Fulfillment/4961235796054","order_id":5735215890518,"name":"#1042.1","status":"success","service":"manual","shipment_status":"in_transit","created_at":"2025-11-22T09:15:00+01:00","updated_at":"2025-11-23T11:20:00+01:00","tracking_company":"Swiss Post","tracking_number":"99.60.123456.12345678","tracking_numbers":["99.60.123456.12345678","99.60.123456.87654321"],"tracking_url":"https://service.post.ch/ekp-web/ui/entry/shipping/1/99.60.123456.12345678","tracking_urls":[],"line_items":[{"id":14210593767510,"admin_graphql_api_id":"gid://shopify/LineItem/14210593767510","title":"Trail runner","quantity":1,"fulfillment_status":"fulfilled"}]}"##;

const SHOPIFY_FULFILLMENT_WITHOUT_TRACKING: &str = r#"{"id":4961235796055,"order_id":5735215890518,"status":"success","created_at":"2025-11-22T09:15:00+01:00","updated_at":"2025-11-22T09:15:00+01:00","tracking_company":null,"tracking_number":null,"tracking_numbers":[],"line_items":[]}"#;

const STRIPE_DISPUTE: &str = r#"{"id":"evt_1QAbCdEfGh0001","object":"event","api_version":"2025-10-29.clover","created":1763999990,"livemode":false,"pending_webhooks":1,"type":"charge.dispute.created","data":{"object":{"id":"du_1QAbCdEfGh0001","object":"dispute","amount":12900,"currency":"chf","charge":"ch_3QAbCdEfGh0001","reason":"product_not_received","status":"needs_response"}}}"#;

const ADYEN_REFUND: &str = r#"{"live":"false","notificationItems":[{"NotificationRequestItem":{"additionalData":{},"amount":{"currency":"CHF","value":12900},"eventCode":"REFUND","eventDate":"2025-11-24T16:45:00+01:00","merchantAccountCode":"AlpineOutfittersCH","merchantReference":"1042-refund-1","originalReference":"QFQTPCQ8HXSKGK82","paymentMethod":"visa","pspReference":"ZC4R4RBFJGXXGN82","reason":"","success":"true"}}]}"#;

const EASYPOST_TRACKER_UPDATED: &str = r#"{"id":"evt_5c1f1b7e3a9d11f0a1b2","object":"Event","mode":"test","description":"tracker.updated","previous_attributes":{"status":"pre_transit"},"pending_urls":[],"completed_urls":[],"created_at":"2025-11-23T10:05:00Z","updated_at":"2025-11-23T10:05:00Z","status":"pending","result":{"id":"trk_5c1f1b7e3a9d","object":"Tracker","mode":"test","tracking_code":"9400100000000000000001","status":"in_transit","status_detail":"arrived_at_facility","carrier":"USPS","est_delivery_date":"2025-11-25T00:00:00Z","tracking_details":[{"object":"TrackingDetail","message":"Shipping Label Created","description":"","status":"pre_transit","status_detail":"label_created","datetime":"2025-11-22T08:00:00Z","source":"USPS","carrier_code":"GX","tracking_location":{"object":"TrackingLocation","city":"Bern","state":null,"country":"CH","zip":"3000"}},{"object":"TrackingDetail","message":"Arrived at Facility","description":"","status":"in_transit","status_detail":"arrived_at_facility","datetime":"2025-11-23T09:40:00Z","source":"USPS","carrier_code":"10","tracking_location":{"object":"TrackingLocation","city":"Zurich","state":null,"country":"CH","zip":"8010"}}]}}"#;

const EASYPOST_BATCH_CREATED: &str = r#"{"id":"evt_5c1f1b7e3a9d11f0a1b3","object":"Event","mode":"test","description":"batch.created","previous_attributes":{},"created_at":"2025-11-23T10:05:00Z","status":"pending","result":{"id":"batch_1","object":"Batch","state":"created"}}"#;

const TWILIO_STATUS: &str = "AccountSid=AC00000000000000000000000000000000&ApiVersion=2010-04-01&From=whatsapp:%2B41440000000&MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered&SmsSid=SM0123456789abcdef0123456789abcdef&SmsStatus=delivered&To=whatsapp:%2B41790000000";

const SENDGRID_EVENTS: &str = r#"[{"email":"lena.meier@example.ch","timestamp":1763999980,"event":"delivered","sg_event_id":"ZGVsaXZlcmVkLTAtMTIzNDU2","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0","response":"250 OK"},{"email":"lena.meier@example.ch","timestamp":1763999990,"event":"open","sg_event_id":"b3Blbi0xMjM0NTY","sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}]"#;

const ZENDESK_TICKET: &str = r#"{"account_id":10001,"id":"01JD4M6N2X8ZEVENT0001","time":"2025-11-24T15:40:00Z","type":"zen:event-type:ticket.status_changed","subject":"zen:ticket:4821","zendesk_event_version":"2022-11-06","detail":{"id":"4821","status":"SOLVED","subject":"Where is my order?"},"event":{"current":"SOLVED","previous":"OPEN"}}"#;

// ---------------------------------------------------------------------------------------------
// the harness

struct Shop {
    world: World,
    agent: Agent,
}

impl Shop {
    fn new() -> Shop {
        let world = World::demo();
        let agent = world.agent(World::demo_policy().unwrap()).unwrap();
        Shop { world, agent }
    }

    async fn stats(&self) -> QueueStats {
        self.world.store.queue_stats(at(NOW)).await.unwrap()
    }

    /// The webhook events in the queue, as queued, in the order they are handed out. Claims
    /// them, so call it last.
    async fn queued(&self) -> Vec<Event> {
        let now = self.world.clock.peek() + TimeDelta::days(1);
        let claimed = self
            .world
            .store
            .claim_events("inspector", now, now + TimeDelta::hours(1), 1_000)
            .await
            .unwrap();
        claimed
            .into_iter()
            .filter(|c| c.event.source.starts_with("webhook:"))
            .map(|c| serde_json::from_value(c.event.payload).unwrap())
            .collect()
    }
}

async fn receive(
    ingress: &WebhookIngress,
    accept: &(impl Accept + ?Sized),
    signed: &Signed,
    now: i64,
) -> IngressOutcome {
    ingress
        .receive(accept, TWILIO_URL, &signed.headers, &signed.body, at(now))
        .await
}

fn ingress(
    verifier: impl WebhookVerifier + 'static,
    translate: impl Translate + 'static,
) -> WebhookIngress {
    WebhookIngress::new(Box::new(verifier), Box::new(translate))
}

fn shopify_ingress() -> WebhookIngress {
    ingress(
        ShopifyVerifier::new(rotating(CURRENT, PREVIOUS)),
        ShopifyTranslator,
    )
}

/// Asserts a refusal with `status` that queued nothing.
async fn refused(shop: &Shop, outcome: &IngressOutcome, status: u16, before: QueueStats) {
    assert_eq!(outcome.status, status, "{outcome:?}");
    assert_eq!((outcome.accepted, outcome.new), (0, 0));
    assert!(outcome.error.is_some());
    assert_eq!(
        shop.stats().await,
        before,
        "a refused delivery changed the queue"
    );
    let shown = format!("{outcome:?}");
    for secret in [CURRENT, PREVIOUS, WRONG] {
        assert!(!shown.contains(secret), "the outcome shows a secret");
    }
}

// ---------------------------------------------------------------------------------------------
// Shopify

#[tokio::test]
async fn shopify_order_cancelled_is_accepted_once_and_forgeries_change_nothing() {
    let shop = Shop::new();
    let ingress = shopify_ingress();
    let empty = shop.stats().await;
    let signed = sign_shopify(
        CURRENT,
        "orders/cancelled",
        "b3f1c2d4-0001",
        SHOPIFY_ORDER_CANCELLED,
    );

    let first = receive(&ingress, &shop.agent, &signed, NOW).await;
    assert_eq!(
        (first.status, first.accepted, first.new),
        (200, 1, 1),
        "{first:?}"
    );
    assert_eq!(first.ignored, None);
    let after = shop.stats().await;
    assert_eq!(after.pending, empty.pending + 1);

    let expected = Event {
        id: "b3f1c2d4-0001".into(),
        source: "webhook:shopify".into(),
        at: "2025-11-24T15:40:00Z".parse().unwrap(),
        kind: EventKind::OrderCancelledUpstream {
            order_id: OrderId::new("gid://shopify/Order/5735215890518"),
        },
    };

    let replay = receive(&ingress, &shop.agent, &signed, NOW + 3_600).await;
    assert_eq!(
        (replay.status, replay.accepted, replay.new),
        (200, 1, 0),
        "{replay:?}"
    );
    assert_eq!(shop.stats().await, after, "the replay changed the queue");

    let forged = signed.clone().with(
        shopify::SIGNATURE_HEADER,
        &BASE64.encode(hmac_sha256(WRONG.as_bytes(), &signed.body)),
    );
    let outcome = receive(
        &ingress,
        &shop.agent,
        &forged.with(shopify::WEBHOOK_ID_HEADER, "other"),
        NOW,
    )
    .await;
    refused(&shop, &outcome, 401, after).await;

    let mut unsigned = signed.clone();
    unsigned
        .headers
        .retain(|(k, _)| k != shopify::SIGNATURE_HEADER);
    let outcome = receive(&ingress, &shop.agent, &unsigned, NOW).await;
    refused(&shop, &outcome, 400, after).await;

    let mut tampered = signed
        .clone()
        .with(shopify::WEBHOOK_ID_HEADER, "b3f1c2d4-0002");
    tampered.body = SHOPIFY_ORDER_CANCELLED
        .replace("5735215890518", "5735215890519")
        .into_bytes();
    let outcome = receive(&ingress, &shop.agent, &tampered, NOW).await;
    refused(&shop, &outcome, 401, after).await;

    assert_eq!(
        shop.queued().await,
        [expected],
        "one event, with the order's gid"
    );
}
#[tokio::test]
async fn shopify_rotation_accepts_the_previous_secret() {
    let shop = Shop::new();
    let ingress = shopify_ingress();
    let signed = sign_shopify(
        PREVIOUS,
        "orders/cancelled",
        "b3f1c2d4-0003",
        SHOPIFY_ORDER_CANCELLED,
    );
    let outcome = receive(&ingress, &shop.agent, &signed, NOW).await;
    assert_eq!((outcome.status, outcome.new), (200, 1), "{outcome:?}");
}

#[tokio::test]
async fn shopify_fulfilment_with_tracking_is_one_shipment_per_tracking_number() {
    let shop = Shop::new();
    let ingress = shopify_ingress();
    let before = shop.stats().await;
    let signed = sign_shopify(
        CURRENT,
        "fulfillments/create",
        "ful-0001",
        SHOPIFY_FULFILLMENT,
    );
    let outcome = receive(&ingress, &shop.agent, &signed, NOW).await;
    assert_eq!(
        (outcome.status, outcome.accepted, outcome.new),
        (200, 2, 2),
        "{outcome:?}"
    );
    assert_eq!(shop.stats().await.pending, before.pending + 2);

    let mut expected = Vec::new();
    for n in [1, 2] {
        // Rebuild the event the ingress queued to prove its id and content.
        let id = format!("ful-0001:{n}");
        let shipment_id = if n == 1 {
            "gid://shopify/Fulfillment/4961235796054".to_owned()
        } else {
            "gid://shopify/Fulfillment/4961235796054#2".to_owned()
        };
        let tracking = if n == 1 {
            "99.60.123456.12345678"
        } else {
            "99.60.123456.87654321"
        };
        let shipment = order_agent_core::domain::Shipment {
            id: ShipmentId::new(shipment_id),
            carrier: "Swiss Post".into(),
            tracking_number: Some(order_agent_core::domain::TrackingNumber::new(tracking)),
            lines: if n == 1 {
                vec![order_agent_core::domain::ShipmentLine {
                    line_id: "gid://shopify/LineItem/14210593767510".into(),
                    quantity: 1,
                }]
            } else {
                Vec::new()
            },
            promised: None,
            shipped_at: Some("2025-11-22T08:15:00Z".parse().unwrap()),
            delivered_at: None,
            carrier_eta: None,
            events: vec![order_agent_core::domain::TrackingEvent {
                at: "2025-11-23T10:20:00Z".parse().unwrap(),
                status: TrackingStatus::InTransit,
                carrier_code: "IN_TRANSIT".into(),
                description: "in transit".into(),
                location: None,
            }],
        };
        let event = Event {
            id,
            source: "webhook:shopify".into(),
            at: "2025-11-23T10:20:00Z".parse().unwrap(),
            kind: EventKind::ShipmentCreated {
                order_id: OrderId::new("gid://shopify/Order/5735215890518"),
                shipment,
            },
        };
        expected.push(event);
    }

    let replay = receive(&ingress, &shop.agent, &signed, NOW).await;
    assert_eq!((replay.status, replay.new), (200, 0));

    let untracked = sign_shopify(
        CURRENT,
        "fulfillments/update",
        "ful-0002",
        SHOPIFY_FULFILLMENT_WITHOUT_TRACKING,
    );
    let stats = shop.stats().await;
    let outcome = receive(&ingress, &shop.agent, &untracked, NOW).await;
    assert_eq!((outcome.status, outcome.accepted), (200, 0), "{outcome:?}");
    assert!(outcome.ignored.unwrap().contains("no tracking"));
    assert_eq!(shop.stats().await, stats);

    assert_eq!(shop.queued().await, expected);
}
#[tokio::test]
async fn shopify_other_topics_are_ignored_and_malformed_payloads_refused() {
    let shop = Shop::new();
    let ingress = shopify_ingress();
    let before = shop.stats().await;

    let signed = sign_shopify(
        CURRENT,
        "products/update",
        "prod-0001",
        r#"{"id":788032119674292922,"title":"Trail runner"}"#,
    );
    let outcome = receive(&ingress, &shop.agent, &signed, NOW).await;
    assert_eq!((outcome.status, outcome.accepted, outcome.new), (200, 0, 0));
    assert!(outcome.ignored.unwrap().contains("products/update"));
    assert_eq!(shop.stats().await, before);

    for (topic, body) in [
        ("orders/cancelled", "not json"),
        ("orders/cancelled", r#"{"id":"gid://shopify/Order/1"}"#),
        (
            "fulfillments/create",
            r#"{"id":1,"status":"success","tracking_numbers":["1Z"]}"#,
        ),
    ] {
        let signed = sign_shopify(CURRENT, topic, "bad-0001", body);
        let outcome = receive(&ingress, &shop.agent, &signed, NOW).await;
        refused(&shop, &outcome, 400, before).await;
    }
    let mut no_topic = sign_shopify(
        CURRENT,
        "orders/cancelled",
        "bad-0002",
        SHOPIFY_ORDER_CANCELLED,
    );
    no_topic.headers.retain(|(k, _)| k != shopify::TOPIC_HEADER);
    let outcome = receive(&ingress, &shop.agent, &no_topic, NOW).await;
    refused(&shop, &outcome, 400, before).await;
}

#[tokio::test]
async fn the_batcher_accepts_like_the_agent() {
    let shop = Shop::new();
    let (batcher, driver) = AcceptBatcher::new(shop.agent.clone(), 16);
    let driving = tokio::spawn(driver);
    let ingress = shopify_ingress();
    let before = shop.stats().await;
    let signed = sign_shopify(
        CURRENT,
        "fulfillments/update",
        "ful-0003",
        SHOPIFY_FULFILLMENT,
    );
    let outcome = receive(&ingress, &batcher, &signed, NOW).await;
    assert_eq!(
        (outcome.status, outcome.accepted, outcome.new),
        (200, 2, 2),
        "{outcome:?}"
    );
    let replay = receive(&ingress, &batcher, &signed, NOW).await;
    assert_eq!(
        (replay.status, replay.accepted, replay.new),
        (200, 2, 0),
        "{replay:?}"
    );
    assert_eq!(shop.stats().await.pending, before.pending + 2);
    drop(batcher);
    driving.await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Stripe

#[tokio::test]
async fn stripe_is_verified_then_ignored_and_stale_deliveries_are_refused() {
    let shop = Shop::new();
    let ingress = ingress(
        StripeVerifier::new(rotating(CURRENT, PREVIOUS)),
        NotForTheQueue::new(Vendor::Stripe),
    );
    let before = shop.stats().await;

    for secret in [CURRENT, PREVIOUS] {
        let signed = sign_stripe(secret, STRIPE_DISPUTE, NOW - 10);
        let outcome = receive(&ingress, &shop.agent, &signed, NOW).await;
        assert_eq!(
            (outcome.status, outcome.accepted, outcome.new),
            (200, 0, 0),
            "{outcome:?}"
        );
        assert!(outcome.ignored.unwrap().contains("charge.dispute.created"));
    }
    assert_eq!(shop.stats().await, before);

    let stale = sign_stripe(CURRENT, STRIPE_DISPUTE, NOW - 301);
    let outcome = receive(&ingress, &shop.agent, &stale, NOW).await;
    refused(&shop, &outcome, 401, before).await;
    assert!(
        outcome.ignored.is_none(),
        "a stale delivery is refused before it is read"
    );

    let forged = sign_stripe(WRONG, STRIPE_DISPUTE, NOW);
    let outcome = receive(&ingress, &shop.agent, &forged, NOW).await;
    refused(&shop, &outcome, 401, before).await;

    let malformed = sign_stripe(CURRENT, r#"{"object":"event"}"#, NOW);
    let outcome = receive(&ingress, &shop.agent, &malformed, NOW).await;
    refused(&shop, &outcome, 400, before).await;
}

// ---------------------------------------------------------------------------------------------
// Adyen

#[derive(Debug, Default)]
struct Ledger {
    applied: Mutex<Vec<String>>,
}

#[async_trait]
impl AdyenNotificationHook for Ledger {
    async fn apply(&self, item: &AdyenNotificationItem) -> PortResult<()> {
        let mut applied = self.applied.lock().unwrap();
        let id = item.dedup_id();
        if !applied.contains(&id) {
            applied.push(id);
        }
        Ok(())
    }
}

#[tokio::test]
async fn adyen_answers_accepted_and_hands_each_item_to_the_ledger() {
    let shop = Shop::new();
    let ledger = Arc::new(Ledger::default());
    let ingress = ingress(
        AdyenVerifier::new(rotating(&adyen_key(CURRENT), &adyen_key(PREVIOUS))).unwrap(),
        AdyenTranslator::with_hook(ledger.clone()),
    );
    let before = shop.stats().await;

    for secret in [CURRENT, PREVIOUS, CURRENT] {
        let signed = sign_adyen(secret, ADYEN_REFUND);
        let outcome = receive(&ingress, &shop.agent, &signed, NOW).await;
        assert_eq!(outcome.status, 200, "{outcome:?}");
        assert_eq!(outcome.body.as_deref(), Some("[accepted]"));
        assert_eq!((outcome.accepted, outcome.new), (0, 0));
        assert!(outcome.ignored.is_some());
    }
    assert_eq!(
        *ledger.applied.lock().unwrap(),
        ["ZC4R4RBFJGXXGN82:REFUND:true"]
    );
    assert_eq!(shop.stats().await, before);

    let forged = sign_adyen(
        WRONG,
        &ADYEN_REFUND.replace("ZC4R4RBFJGXXGN82", "OTHERPSPREF00001"),
    );
    let outcome = receive(&ingress, &shop.agent, &forged, NOW).await;
    refused(&shop, &outcome, 401, before).await;
    assert_eq!(outcome.body, None, "a refusal is not acknowledged");
    assert_eq!(
        ledger.applied.lock().unwrap().len(),
        1,
        "a forgery reached the ledger"
    );

    let empty = Signed {
        headers: vec![],
        body: br#"{"live":"false","notificationItems":[]}"#.to_vec(),
    };
    let outcome = receive(&ingress, &shop.agent, &empty, NOW).await;
    refused(&shop, &outcome, 400, before).await;
}

// ---------------------------------------------------------------------------------------------
// EasyPost

fn easypost_ingress(resolver: Arc<InMemoryShipmentResolver>) -> WebhookIngress {
    ingress(
        EasyPostVerifier::new(rotating(CURRENT, PREVIOUS)),
        EasyPostTranslator::new(
            EasyPostConfig::new(SecretString::from("EZTK-unused")),
            resolver,
        ),
    )
}

#[tokio::test]
async fn easypost_tracker_updates_become_tracking_updates_of_the_resolved_parcel() {
    let shop = Shop::new();
    let resolver = Arc::new(InMemoryShipmentResolver::new());
    let ingress = easypost_ingress(resolver.clone());
    let before = shop.stats().await;

    let signed = sign_easypost(CURRENT, EASYPOST_TRACKER_UPDATED);
    let unknown = receive(&ingress, &shop.agent, &signed, NOW).await;
    assert_eq!((unknown.status, unknown.accepted), (200, 0), "{unknown:?}");
    assert!(unknown
        .ignored
        .unwrap()
        .contains("not a parcel of this shop"));
    assert_eq!(shop.stats().await, before);

    resolver.insert(
        "9400100000000000000001",
        OrderId::new("ds-1007"),
        ShipmentId::new("s1"),
    );
    let outcome = receive(&ingress, &shop.agent, &signed, NOW).await;
    assert_eq!(
        (outcome.status, outcome.accepted, outcome.new),
        (200, 2, 2),
        "{outcome:?}"
    );
    let after = shop.stats().await;
    assert_eq!(after.pending, before.pending + 2);
    let latest = Event {
        id: "evt_5c1f1b7e3a9d11f0a1b2:2".into(),
        source: "webhook:easypost".into(),
        at: "2025-11-23T09:40:00Z".parse().unwrap(),
        kind: EventKind::TrackingUpdate {
            order_id: OrderId::new("ds-1007"),
            shipment_id: ShipmentId::new("s1"),
            event: order_agent_core::domain::TrackingEvent {
                at: "2025-11-23T09:40:00Z".parse().unwrap(),
                status: TrackingStatus::InTransit,
                carrier_code: "10".into(),
                description: "Arrived at Facility".into(),
                location: Some("Zurich, CH".into()),
            },
        },
    };

    let rotated = sign_easypost(PREVIOUS, EASYPOST_TRACKER_UPDATED);
    let replay = receive(&ingress, &shop.agent, &rotated, NOW).await;
    assert_eq!(
        (replay.status, replay.accepted, replay.new),
        (200, 2, 0),
        "{replay:?}"
    );
    assert_eq!(shop.stats().await, after);

    let other = sign_easypost(CURRENT, EASYPOST_BATCH_CREATED);
    let outcome = receive(&ingress, &shop.agent, &other, NOW).await;
    assert_eq!((outcome.status, outcome.accepted), (200, 0));
    assert!(outcome.ignored.unwrap().contains("batch.created"));

    let forged = sign_easypost(WRONG, EASYPOST_TRACKER_UPDATED);
    let outcome = receive(&ingress, &shop.agent, &forged, NOW).await;
    refused(&shop, &outcome, 401, after).await;

    let malformed = sign_easypost(
        CURRENT,
        r#"{"id":"evt_bad","description":"tracker.updated","result":{"object":"Tracker","tracking_code":"9400100000000000000001","tracking_details":[{"datetime":"yesterday","status":"in_transit"}]}}"#,
    );
    let outcome = receive(&ingress, &shop.agent, &malformed, NOW).await;
    refused(&shop, &outcome, 400, after).await;

    let queued = shop.queued().await;
    assert_eq!(queued.len(), 2);
    assert_eq!(queued[0].id, "evt_5c1f1b7e3a9d11f0a1b2:1");
    assert_eq!(
        queued[1], latest,
        "the newest scan, for the resolved parcel"
    );
}

// ---------------------------------------------------------------------------------------------
// Twilio, SendGrid, Zendesk

#[tokio::test]
async fn messaging_and_helpdesk_deliveries_are_verified_then_ignored() {
    let shop = Shop::new();
    let before = shop.stats().await;
    let sendgrid_verifier = || {
        SendGridVerifier::new(&sendgrid_public(CURRENT))
            .unwrap()
            .with_previous(&sendgrid_public(PREVIOUS))
            .unwrap()
    };
    type Sign = fn(&str) -> Signed;
    let cases: Vec<(WebhookIngress, Sign, Signed)> = vec![
        (
            ingress(
                TwilioVerifier::new(rotating(CURRENT, PREVIOUS)),
                NotForTheQueue::new(Vendor::Twilio),
            ),
            |s| sign_twilio(s, TWILIO_STATUS),
            sign_twilio(
                CURRENT,
                "AccountSid=AC00000000000000000000000000000000&MessageStatus=sent",
            ),
        ),
        (
            ingress(sendgrid_verifier(), NotForTheQueue::new(Vendor::SendGrid)),
            |s| sign_sendgrid(s, SENDGRID_EVENTS, NOW - 5),
            sign_sendgrid(CURRENT, r#"{"event":"delivered"}"#, NOW),
        ),
        (
            ingress(
                ZendeskVerifier::new(rotating(CURRENT, PREVIOUS)),
                NotForTheQueue::new(Vendor::Zendesk),
            ),
            |s| sign_zendesk(s, ZENDESK_TICKET, NOW - 5),
            sign_zendesk(CURRENT, "[1,2,3]", NOW),
        ),
    ];
    for (ingress, sign, malformed) in &cases {
        let vendor = ingress.vendor();
        for secret in [CURRENT, PREVIOUS, CURRENT] {
            let outcome = receive(ingress, &shop.agent, &sign(secret), NOW).await;
            assert_eq!(
                (outcome.status, outcome.accepted, outcome.new),
                (200, 0, 0),
                "{vendor}: {outcome:?}"
            );
            assert!(outcome.ignored.is_some(), "{vendor}");
        }
        let outcome = receive(ingress, &shop.agent, &sign(WRONG), NOW).await;
        refused(&shop, &outcome, 401, before).await;
        let outcome = receive(ingress, &shop.agent, malformed, NOW).await;
        refused(&shop, &outcome, 400, before).await;
    }
    // SendGrid and Zendesk sign a timestamp: ten minutes late is refused.
    for (ingress, sign, _) in &cases[1..] {
        let outcome = receive(ingress, &shop.agent, &sign(CURRENT), NOW + 600).await;
        refused(&shop, &outcome, 401, before).await;
    }
    assert_eq!(shop.stats().await, before);
}

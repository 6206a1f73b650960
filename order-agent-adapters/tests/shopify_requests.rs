#![cfg(feature = "shopify")]
//! The Shopify adapter offline: documents, variables built as data, the status and error tables,
//! the throttled wait and the client-side cost bucket (on tokio's paused clock).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use order_agent_adapters::http::Body;
use order_agent_adapters::shopify::queries::{self, Document};
use order_agent_adapters::shopify::requests::{self, GraphqlRequest, ReturnLineInput};
use order_agent_adapters::shopify::{
    fulfilment_tracking_status, order_status, tender, throttled_wait, user_error, CostBucket,
    QueryCost, ShopifyConfig, ShopifyPlan, ThrottleStatus, UserError, DEFAULT_API_VERSION,
};
use order_agent_core::domain::{
    Address, CancellationReason, CancellationRequest, Channel, ContactPoint, CustomerId, LineId,
    OrderId, OrderNumber, OrderStatus, PaymentId, ResolutionKind, ReturnAuthorisation, ReturnId,
    ReturnLine, ReturnReason, ReturnRequest, Tender, TrackingStatus, VariantId,
};
use order_agent_core::ports::{PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use secrecy::SecretString;
use serde_json::json;

const OP: &str = "test.op";

fn config() -> ShopifyConfig {
    ShopifyConfig::new(
        "https://example.myshopify.com",
        SecretString::from("shpat_secret_1"),
    )
}

/// The variables a document declares: name → required (`!` at the end of the type).
fn declared(document: &Document) -> BTreeMap<String, bool> {
    let header = document.text.lines().next().unwrap();
    let inside = header
        .split_once('(')
        .and_then(|(_, rest)| rest.rsplit_once(')'))
        .map(|(inside, _)| inside)
        .unwrap_or("");
    inside
        .split(", ")
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            let (name, ty) = d.trim().split_once(": ").unwrap();
            (
                name.trim_start_matches('$').to_owned(),
                ty.trim().ends_with('!'),
            )
        })
        .collect()
}

/// The request's variables are exactly what its document declares: none unknown, none required
/// missing.
fn assert_matches_document(request: &GraphqlRequest) {
    let declared = declared(&request.document);
    let given: BTreeSet<String> = request
        .variables
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for name in &given {
        assert!(
            declared.contains_key(name),
            "{} does not declare ${name}",
            request.document.name
        );
    }
    for (name, required) in &declared {
        if *required {
            assert!(
                given.contains(name),
                "{} misses ${name}",
                request.document.name
            );
        }
    }
}

fn address() -> Address {
    Address {
        name: "Anna Maria Muster".to_owned(),
        line1: "Bahnhofstrasse 10".to_owned(),
        line2: None,
        postcode: "3011".to_owned(),
        city: "Bern".to_owned(),
        region: Some("BE".to_owned()),
        country: "ch".to_owned(),
    }
}

fn authorisation() -> ReturnAuthorisation {
    ReturnAuthorisation {
        id: ReturnId::new("ret_7"),
        request: ReturnRequest {
            order_id: OrderId::new("gid://shopify/Order/1001"),
            lines: vec![ReturnLine {
                line_id: LineId::new("gid://shopify/LineItem/10011"),
                quantity: 1,
                reason: ReturnReason::Damaged,
                exchange_for: None,
            }],
            resolution: ResolutionKind::Refund,
        },
        authorised_at: chrono::DateTime::parse_from_rfc3339("2025-03-01T12:00:00Z")
            .unwrap()
            .into(),
        policy_version: "v1".to_owned(),
    }
}

fn refund_request() -> RefundRequest {
    RefundRequest {
        payment_id: PaymentId::new("gid://shopify/OrderTransaction/9001"),
        amount: Money::from_minor(1_050, Currency::CHF),
        idempotency_key: "refund:ret_7".to_owned(),
        metadata: BTreeMap::from([
            ("order_id".to_owned(), "#1001".to_owned()),
            ("reason".to_owned(), "damaged\nin transit".to_owned()),
        ]),
    }
}

#[test]
fn every_document_is_named_and_declares_what_it_uses() {
    let mut names = BTreeSet::new();
    for document in queries::ALL {
        let header = document.text.lines().next().unwrap();
        assert!(
            header.starts_with(&format!("query {}(", document.name))
                || header.starts_with(&format!("mutation {}(", document.name)),
            "{header}"
        );
        assert!(names.insert(document.name), "{} twice", document.name);
        for name in declared(&document).keys() {
            assert!(
                document.text.matches(&format!("${name}")).count() >= 2,
                "{} declares ${name} and never uses it",
                document.name
            );
        }
        // Fragments used are defined.
        for used in document.text.split("...").skip(1) {
            let fragment: String = used
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !fragment.is_empty() && fragment != "on" {
                assert!(
                    document.text.contains(&format!("fragment {fragment} on")),
                    "{} uses undefined fragment {fragment}",
                    document.name
                );
            }
        }
        assert!(document.estimated_cost > 0 && document.estimated_cost <= 1000);
    }
    assert!(queries::REFUND_CREATE
        .text
        .contains("refundCreate(input: $input) @idempotent(key: $idempotencyKey)"));
}

#[test]
fn wire_posts_the_document_to_the_pinned_version_with_the_token_header() {
    let request = requests::order(OP, &OrderId::new("gid://shopify/Order/1"));
    let wire = requests::wire(&config(), &request);
    assert_eq!(wire.method.as_str(), "POST");
    assert_eq!(wire.path, "/admin/api/2026-01/graphql.json");
    assert_eq!(DEFAULT_API_VERSION, "2026-01");
    assert_eq!(
        wire.header("x-shopify-access-token").as_deref(),
        Some("shpat_secret_1")
    );
    assert!(!format!("{wire:?}").contains("shpat_secret_1"));
    assert!(!format!("{:?}", config()).contains("shpat_secret_1"));
    let Body::Json(body) = &wire.body else {
        panic!("not json")
    };
    assert_eq!(body["operationName"], json!("OrderById"));
    assert_eq!(body["query"], json!(queries::ORDER_BY_ID.text));
    assert_eq!(body["variables"], json!({ "id": "gid://shopify/Order/1" }));
    assert_eq!(wire.body.content_type(), Some("application/json"));

    let mut pinned = config();
    pinned.api_version = "2025-10".to_owned();
    assert_eq!(
        requests::wire(&pinned, &request).path,
        "/admin/api/2025-10/graphql.json"
    );
}

#[test]
fn config_reads_with_defaults_and_refuses_unknown_fields() {
    let config: ShopifyConfig = serde_json::from_value(json!({
        "base_url": "https://shop.myshopify.com",
        "access_token": "shpat_x",
        "plan": "plus",
    }))
    .unwrap();
    assert_eq!(config.api_version, DEFAULT_API_VERSION);
    assert_eq!(config.plan, ShopifyPlan::Plus);
    assert_eq!(config.bucket_share_percent, 80);
    let typo = serde_json::from_value::<ShopifyConfig>(json!({
        "base_url": "https://shop.myshopify.com",
        "access_token": "shpat_x",
        "api_verison": "2025-01",
    }));
    assert!(typo.is_err());
}

#[test]
fn order_numbers_are_searched_with_and_without_the_hash() {
    for spelling in ["#1042", "1042", "  # 1042 ", " 1042"] {
        let request = requests::orders_by_name(OP, &OrderNumber::new(spelling)).unwrap();
        assert_matches_document(&request);
        assert_eq!(
            request.variables,
            json!({ "query": "name:\"#1042\" OR name:\"1042\"", "first": 5 }),
            "{spelling}"
        );
    }
    assert!(requests::orders_by_name(OP, &OrderNumber::new(" # ")).is_none());
    assert_eq!(
        requests::search_value("a\"b\\c\n"),
        "\"a\\\"b\\\\c\"",
        "quotes and backslashes escaped, control characters dropped"
    );
}

#[test]
fn customers_are_searched_on_their_channel_only() {
    let email = ContactPoint {
        channel: Channel::Email,
        address: "  Anna@Example.CH ".to_owned(),
    };
    let request = requests::customers_by_contact(OP, &email).unwrap();
    assert_matches_document(&request);
    assert_eq!(
        request.variables["query"],
        json!("email:\"anna@example.ch\"")
    );
    let sms = ContactPoint {
        channel: Channel::Sms,
        address: "+41791234567".to_owned(),
    };
    assert_eq!(
        requests::customers_by_contact(OP, &sms).unwrap().variables["query"],
        json!("phone:\"+41791234567\"")
    );
    for channel in [Channel::Whatsapp, Channel::WebChat] {
        let other = ContactPoint {
            channel,
            address: "+41791234567".to_owned(),
        };
        assert!(requests::customers_by_contact(OP, &other).is_none());
    }
    let orders =
        requests::orders_of_customer(OP, &CustomerId::new("gid://shopify/Customer/1"), 1000);
    assert_matches_document(&orders);
    assert_eq!(orders.variables["first"], json!(250));
    assert_matches_document(&requests::customer(
        OP,
        &CustomerId::new("gid://shopify/Customer/1"),
    ));
}

#[test]
fn cancel_never_refunds_or_restocks() {
    let request = requests::cancel_order(
        OP,
        &CancellationRequest {
            order_id: OrderId::new("gid://shopify/Order/7"),
            reason: CancellationReason::OrderedByMistake,
        },
    );
    assert_matches_document(&request);
    assert_eq!(
        request.variables,
        json!({
            "orderId": "gid://shopify/Order/7",
            "reason": "CUSTOMER",
            "refund": false,
            "restock": false,
            "notifyCustomer": false,
            "staffNote": "cancelled by order-agent: ordered_by_mistake",
        })
    );
    assert_eq!(requests::cancel_reason(CancellationReason::Fraud), "FRAUD");
    assert_eq!(requests::cancel_reason(CancellationReason::Other), "OTHER");
}

#[test]
fn the_address_is_a_mailing_address_input() {
    let request =
        requests::change_shipping_address(OP, &OrderId::new("gid://shopify/Order/7"), &address());
    assert_matches_document(&request);
    assert_eq!(
        request.variables,
        json!({ "input": {
            "id": "gid://shopify/Order/7",
            "shippingAddress": {
                "firstName": "Anna Maria",
                "lastName": "Muster",
                "address1": "Bahnhofstrasse 10",
                "city": "Bern",
                "zip": "3011",
                "countryCode": "CH",
                "provinceCode": "BE",
            },
        } })
    );
    let mut single = address();
    single.name = "Muster".to_owned();
    assert_eq!(
        requests::mailing_address(&single)["lastName"],
        json!("Muster")
    );
}

#[test]
fn order_edits_and_the_change_count() {
    let begin = requests::order_edit_begin(OP, &OrderId::new("gid://shopify/Order/7"));
    assert_matches_document(&begin);
    assert_eq!(
        requests::calculated_line_id(&LineId::new("gid://shopify/LineItem/123")).as_deref(),
        Some("gid://shopify/CalculatedLineItem/123")
    );
    assert_eq!(requests::calculated_line_id(&LineId::new("l1")), None);
    let set = requests::order_edit_set_quantity(
        OP,
        "gid://shopify/CalculatedOrder/9",
        "gid://shopify/CalculatedLineItem/123",
        1,
    );
    assert_matches_document(&set);
    assert_eq!(set.variables["restock"], json!(false));
    let add = requests::order_edit_add_variant(
        OP,
        "gid://shopify/CalculatedOrder/9",
        &VariantId::new("gid://shopify/ProductVariant/5"),
        2,
    );
    assert_matches_document(&add);
    let commit = requests::order_edit_commit(OP, "gid://shopify/CalculatedOrder/9");
    assert_matches_document(&commit);
    assert_eq!(commit.variables["notifyCustomer"], json!(false));
    let count = requests::set_modifications(OP, &OrderId::new("gid://shopify/Order/7"), 3);
    assert_matches_document(&count);
    assert_eq!(
        count.variables,
        json!({ "metafields": [{
            "ownerId": "gid://shopify/Order/7",
            "namespace": "order_agent",
            "key": "modifications",
            "type": "number_integer",
            "value": "3",
        }] })
    );
}

#[test]
fn returns_carry_the_authorisation_in_the_reason_note() {
    let auth = authorisation();
    let lines = [ReturnLineInput {
        fulfillment_line_item: "gid://shopify/FulfillmentLineItem/55".to_owned(),
        quantity: 1,
        reason: ReturnReason::Damaged,
    }];
    let request = requests::return_create(OP, &auth, &lines);
    assert_matches_document(&request);
    assert_eq!(
        request.variables,
        json!({ "returnInput": {
            "orderId": "gid://shopify/Order/1001",
            "returnLineItems": [{
                "fulfillmentLineItemId": "gid://shopify/FulfillmentLineItem/55",
                "quantity": 1,
                "returnReason": "DEFECTIVE",
                "returnReasonNote": "order-agent return ret_7 (damaged)",
            }],
            "notifyCustomer": false,
            "requestedAt": "2025-03-01T12:00:00Z",
        } })
    );
    assert_eq!(
        requests::return_reason(ReturnReason::ChangedMind),
        "UNWANTED"
    );
    assert_eq!(requests::return_reason(ReturnReason::DoesNotFit), "OTHER");
    assert_matches_document(&requests::order_returns(OP, &auth.request.order_id));
}

#[test]
fn refunds_send_one_refund_transaction_under_the_idempotent_key() {
    let request = refund_request();
    let built =
        requests::refund_create(OP, &request, "gid://shopify/Order/3001", "shopify_payments");
    assert_matches_document(&built);
    assert_eq!(built.variables["idempotencyKey"], json!("refund:ret_7"));
    let input = &built.variables["input"];
    assert_eq!(input["orderId"], json!("gid://shopify/Order/3001"));
    assert_eq!(input["notify"], json!(false));
    assert_eq!(
        input["transactions"],
        json!([{
            "orderId": "gid://shopify/Order/3001",
            "parentId": "gid://shopify/OrderTransaction/9001",
            "amount": "10.50",
            "gateway": "shopify_payments",
            "kind": "REFUND",
        }])
    );
    let note = input["note"].as_str().unwrap();
    assert_eq!(
        note,
        "order-agent refund\nidempotency-key: refund:ret_7\norder_id: #1001\nreason: damaged in transit"
    );
    assert_eq!(
        requests::idempotency_key_of_note(note).as_deref(),
        Some("refund:ret_7")
    );
    assert_eq!(
        requests::idempotency_key_of_note("damaged in transit"),
        None
    );
    assert_eq!(
        requests::idempotency_key_of_note("idempotency-key: forged"),
        None,
        "only the adapter's own notes carry keys"
    );
    // Yen has no minor units: the amount is sent exactly.
    let mut yen = refund_request();
    yen.amount = Money::from_minor(1_500, Currency::JPY);
    let built = requests::refund_create(OP, &yen, "gid://shopify/Order/1", "shopify_payments");
    assert_eq!(
        built.variables["input"]["transactions"][0]["amount"],
        json!("1500")
    );
    assert_matches_document(&requests::payment(OP, &request.payment_id));
}

#[test]
fn gids_are_recognised_exactly() {
    assert!(requests::is_gid_of("Order", "gid://shopify/Order/1"));
    assert!(!requests::is_gid_of(
        "Order",
        "gid://shopify/OrderTransaction/1"
    ));
    assert!(!requests::is_gid_of("Order", "gid://shopify/Order/"));
    assert!(!requests::is_gid_of("Order", "gid://shopify/Order/1x"));
    assert!(!requests::is_gid_of("Order", "o_1001"));
    assert_eq!(requests::gid("Order", "42"), "gid://shopify/Order/42");
    assert_eq!(
        requests::gid("Order", "gid://shopify/Order/42"),
        "gid://shopify/Order/42"
    );
    assert_eq!(requests::gid_number("gid://shopify/LineItem/7"), Some("7"));
}

#[test]
fn order_status_table() {
    use OrderStatus::*;
    let s = |cancelled, closed, financial, fulfilment, delivered, started| {
        order_status(cancelled, closed, financial, fulfilment, delivered, started)
    };
    assert_eq!(
        s(true, false, Some("PAID"), "FULFILLED", true, true),
        Cancelled
    );
    assert_eq!(
        s(false, false, Some("PAID"), "FULFILLED", true, true),
        Delivered
    );
    assert_eq!(
        s(false, true, Some("PAID"), "FULFILLED", false, true),
        Fulfilled
    );
    assert_eq!(
        s(
            false,
            false,
            Some("PAID"),
            "PARTIALLY_FULFILLED",
            false,
            true
        ),
        PartiallyFulfilled
    );
    assert_eq!(
        s(false, false, Some("PAID"), "IN_PROGRESS", false, false),
        PartiallyFulfilled
    );
    assert_eq!(
        s(false, false, Some("PAID"), "SOMETHING_NEW", false, false),
        PartiallyFulfilled
    );
    assert_eq!(
        s(false, false, Some("PAID"), "UNFULFILLED", false, true),
        PartiallyFulfilled
    );
    assert_eq!(
        s(false, false, Some("PAID"), "UNFULFILLED", false, false),
        Unfulfilled
    );
    assert_eq!(
        s(
            false,
            false,
            Some("AUTHORIZED"),
            "UNFULFILLED",
            false,
            false
        ),
        Pending
    );
    assert_eq!(
        s(false, false, Some("PENDING"), "ON_HOLD", false, false),
        Pending
    );
    assert_eq!(
        s(false, true, Some("PAID"), "UNFULFILLED", false, false),
        Closed
    );
}

#[test]
fn tracking_and_tender_tables() {
    assert_eq!(
        fulfilment_tracking_status("DELIVERED"),
        TrackingStatus::Delivered
    );
    assert_eq!(
        fulfilment_tracking_status("IN_TRANSIT"),
        TrackingStatus::InTransit
    );
    assert_eq!(
        fulfilment_tracking_status("OUT_FOR_DELIVERY"),
        TrackingStatus::OutForDelivery
    );
    assert_eq!(
        fulfilment_tracking_status("ATTEMPTED_DELIVERY"),
        TrackingStatus::DeliveryAttemptFailed
    );
    assert_eq!(
        fulfilment_tracking_status("READY_FOR_PICKUP"),
        TrackingStatus::AvailableForPickup
    );
    assert_eq!(
        fulfilment_tracking_status("LABEL_PRINTED"),
        TrackingStatus::LabelCreated
    );
    assert_eq!(
        fulfilment_tracking_status("NEW_VALUE"),
        TrackingStatus::Unknown
    );
    assert_eq!(tender("shopify_payments"), Tender::Card);
    assert_eq!(tender("paypal"), Tender::Paypal);
    assert_eq!(tender("gift_card"), Tender::GiftCard);
    assert_eq!(tender("Bank Deposit"), Tender::BankTransfer);
    assert_eq!(tender("twint"), Tender::Twint);
}

fn cost(requested: f64, available: f64, rate: f64) -> QueryCost {
    QueryCost {
        requested_query_cost: requested,
        actual_query_cost: None,
        throttle_status: ThrottleStatus {
            maximum_available: 2000.0,
            currently_available: available,
            restore_rate: rate,
        },
    }
}

#[test]
fn throttled_wait_is_the_missing_points_at_the_restore_rate_rounded_up() {
    assert_eq!(
        throttled_wait(&cost(500.0, 100.0, 100.0)),
        Some(Duration::from_secs(4))
    );
    assert_eq!(
        throttled_wait(&cost(250.0, 100.0, 100.0)),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        throttled_wait(&cost(1001.0, 1.0, 1000.0)),
        Some(Duration::from_secs(1))
    );
    // Shopify throttled although the numbers say it fits: still wait a second.
    assert_eq!(
        throttled_wait(&cost(10.0, 50.0, 50.0)),
        Some(Duration::from_secs(1))
    );
    assert_eq!(throttled_wait(&cost(10.0, 0.0, 0.0)), None);
}

fn user(field: &[&str], message: &str, code: Option<&str>) -> UserError {
    UserError {
        field: Some(field.iter().map(|f| (*f).to_owned()).collect()),
        message: message.to_owned(),
        code: code.map(str::to_owned),
    }
}

#[test]
fn user_error_table() {
    let kind = |e: UserError| user_error(OP, &[e]).kind();
    assert_eq!(
        kind(user(
            &["orderId"],
            "Order does not exist",
            Some("NOT_FOUND")
        )),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(user(&["id"], "Order not found", None)),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(user(
            &["transactions", "0", "amount"],
            "Refund amount exceeds the refundable amount",
            None
        )),
        PortErrorKind::Rejected
    );
    assert_eq!(
        kind(user(
            &["orderId"],
            "Cannot cancel an order with fulfillments",
            Some("INVALID")
        )),
        PortErrorKind::InvalidInput
    );
    assert_eq!(
        kind(user(
            &["shippingAddress", "countryCode"],
            "Country is invalid",
            None
        )),
        PortErrorKind::InvalidInput
    );
    assert_eq!(
        kind(user(
            &["orderId"],
            "No permission",
            Some("NO_REFUND_PERMISSION")
        )),
        PortErrorKind::Unauthorized
    );
    assert_eq!(
        kind(user(
            &["returnInput"],
            "Quantity is not returnable",
            Some("INVALID_STATE")
        )),
        PortErrorKind::Rejected
    );
    let err = user_error(OP, &[user(&["a", "b"], "Bad", Some("BLANK"))]);
    assert_eq!(err.context_value("field"), Some("a.b"));
    assert_eq!(err.context_value("code"), Some("BLANK"));
    assert_eq!(user_error(OP, &[]).kind(), PortErrorKind::Unexpected);
}

#[tokio::test(start_paused = true)]
async fn the_bucket_starts_full_at_the_plans_size_and_refills_at_the_share() {
    let bucket = CostBucket::new(ShopifyPlan::Standard, 80);
    assert_eq!(bucket.available(), 2000.0);
    assert_eq!(bucket.restore_rate(), 80.0);
    assert_eq!(
        CostBucket::new(ShopifyPlan::Advanced, 80).available(),
        4000.0
    );
    assert_eq!(
        CostBucket::new(ShopifyPlan::Plus, 100).restore_rate(),
        1000.0
    );

    let started = tokio::time::Instant::now();
    bucket.acquire(2000).await;
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "a full bucket pays at once"
    );
    // Empty now: 160 points at 80 points/s take two seconds.
    bucket.acquire(160).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_millis(2100),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_bucket_adopts_shopifys_throttle_status() {
    let bucket = CostBucket::new(ShopifyPlan::Standard, 50);
    bucket.observe(&ThrottleStatus {
        maximum_available: 1000.0,
        currently_available: 10.0,
        restore_rate: 50.0,
    });
    assert_eq!(bucket.available(), 10.0);
    assert_eq!(bucket.restore_rate(), 25.0, "half of Shopify's 50/s");
    let started = tokio::time::Instant::now();
    // 60 missing points at 25/s: 2.4 s.
    bucket.acquire(70).await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(2400) && waited < Duration::from_millis(2500),
        "{waited:?}"
    );
    // Nonsense from the wire is ignored.
    bucket.observe(&ThrottleStatus {
        maximum_available: f64::NAN,
        currently_available: -1.0,
        restore_rate: 0.0,
    });
    assert_eq!(bucket.restore_rate(), 25.0);
    // A cost above the bucket size waits for a full bucket rather than forever.
    let started = tokio::time::Instant::now();
    bucket.acquire(5000).await;
    assert!(
        started.elapsed() <= Duration::from_secs(41),
        "{:?}",
        started.elapsed()
    );
}

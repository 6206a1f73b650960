#![cfg(feature = "commercetools")]
//! The commercetools adapter's requests, built offline: the OAuth token request, paths, query
//! predicates (with caller input escaped), versioned update bodies and their actions, order
//! edits, and the status table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use order_agent_adapters::commercetools::requests::{self, ReturnItemDraft};
use order_agent_adapters::commercetools::{order_status, CommercetoolsConfig};
use order_agent_adapters::http::{Body, Method};
use order_agent_core::domain::{
    Address, Channel, ContactPoint, CustomerId, LineId, OrderId, OrderStatus, ProductId,
};
use secrecy::SecretString;
use serde_json::json;

fn config() -> CommercetoolsConfig {
    CommercetoolsConfig::new("shop-1", "client-1", SecretString::from("s3cr3t-value"))
}

#[test]
fn token_request_uses_basic_auth_and_client_credentials_with_the_default_scopes() {
    let wire = requests::token(&config());
    assert_eq!(wire.method, Method::Post);
    assert_eq!(wire.path_and_query(), "/oauth/token");
    // base64("client-1:s3cr3t-value")
    assert_eq!(
        wire.header("authorization").unwrap(),
        "Basic Y2xpZW50LTE6czNjcjN0LXZhbHVl"
    );
    assert_eq!(
        wire.body.encode(),
        "grant_type=client_credentials&scope=manage_orders%3Ashop-1+manage_order_edits%3Ashop-1+view_customers%3Ashop-1+view_published_products%3Ashop-1"
    );
    assert_eq!(
        wire.body.content_type(),
        Some("application/x-www-form-urlencoded")
    );
    assert!(!format!("{wire:?} {:?}", config()).contains("s3cr3t"));

    let mut narrow = config();
    narrow.scopes = vec!["view_orders:shop-1".to_owned()];
    assert_eq!(
        requests::token(&narrow).body.encode(),
        "grant_type=client_credentials&scope=view_orders%3Ashop-1"
    );
}

#[test]
fn authorize_adds_exactly_one_bearer_token() {
    let mut wire = requests::order(&config(), "oms.order", &OrderId::new("o-1"));
    assert_eq!(wire.header("authorization"), None);
    requests::authorize(&mut wire, &SecretString::from("tok-1"));
    requests::authorize(&mut wire, &SecretString::from("tok-2"));
    assert_eq!(wire.header("authorization").unwrap(), "Bearer tok-2");
    assert_eq!(
        wire.headers
            .iter()
            .filter(|(n, _)| n == "authorization")
            .count(),
        1
    );
    assert!(!format!("{wire:?}").contains("tok-2"));
}

#[test]
fn order_reads_expand_the_payments_and_escape_the_id() {
    let wire = requests::order(&config(), "oms.order", &OrderId::new("a/b c"));
    assert_eq!(wire.method, Method::Get);
    assert_eq!(
        wire.path_and_query(),
        "/shop-1/orders/a%2Fb%20c?expand=paymentInfo.payments%5B*%5D"
    );
}

#[test]
fn order_numbers_are_queried_with_and_without_the_hash() {
    assert_eq!(
        requests::order_number_predicate("  #1042 "),
        r##"orderNumber in ("1042", "#1042")"##
    );
    let wire = requests::order_by_number(&config(), "1042");
    assert_eq!(wire.path, "/shop-1/orders");
    let query: Vec<(&str, &str)> = wire
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        query,
        vec![
            ("where", r##"orderNumber in ("1042", "#1042")"##),
            ("sort", "createdAt desc"),
            ("limit", "2"),
            ("withTotal", "false"),
            ("expand", "paymentInfo.payments[*]"),
        ]
    );
}

#[test]
fn predicate_literals_cannot_be_broken_out_of() {
    assert_eq!(
        requests::predicate_string(r#"x" or id is defined or "\"#),
        r#""x\" or id is defined or \"\\""#
    );
    let wire = requests::orders_of_customer(
        &config(),
        &CustomerId::new(r#"c" or customerId is defined"#),
        10,
    );
    assert_eq!(
        wire.query[0].1,
        r#"customerId="c\" or customerId is defined""#
    );
}

#[test]
fn orders_of_a_customer_come_newest_first_within_the_page_limit() {
    let wire = requests::orders_of_customer(&config(), &CustomerId::new("cus-1"), 10_000);
    let get = |k: &str| {
        wire.query
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(get("where"), vec![r#"customerId="cus-1""#]);
    assert_eq!(get("sort"), vec!["createdAt desc", "id asc"]);
    assert_eq!(get("limit"), vec!["500"]);
}

#[test]
fn contact_points_are_matched_on_their_own_channel() {
    let email = ContactPoint {
        channel: Channel::Email,
        address: " Anna@Example.CH ".to_owned(),
    };
    assert_eq!(
        requests::contact_predicate(&email),
        r#"lowercaseEmail="anna@example.ch" or custom(fields(orderAgentContactPoints contains "email:anna@example.ch"))"#
    );
    let sms = ContactPoint {
        channel: Channel::Sms,
        address: "+41791234567".to_owned(),
    };
    assert_eq!(
        requests::contact_predicate(&sms),
        r#"custom(fields(orderAgentContactPoints contains "sms:+41791234567"))"#
    );
    let wire = requests::customer_by_contact(&config(), &sms);
    assert_eq!(wire.path, "/shop-1/customers");
    assert!(wire.path_and_query().contains("expand=customerGroup"));
    assert_eq!(
        requests::customer(&config(), &CustomerId::new("cus-1")).path_and_query(),
        "/shop-1/customers/cus-1?expand=customerGroup"
    );
}

#[test]
fn updates_carry_the_version_and_the_actions() {
    let wire = requests::update_order(
        &config(),
        "oms.cancel_order",
        &OrderId::new("o-1"),
        7,
        vec![
            requests::change_order_state("Cancelled"),
            requests::set_custom_field(requests::CANCELLATION_REASON_FIELD, json!("changed_mind")),
        ],
    );
    assert_eq!(wire.method, Method::Post);
    assert_eq!(
        wire.path_and_query(),
        "/shop-1/orders/o-1?expand=paymentInfo.payments%5B*%5D"
    );
    let Body::Json(body) = &wire.body else {
        panic!("json body expected")
    };
    assert_eq!(
        body,
        &json!({"version": 7, "actions": [
            {"action": "changeOrderState", "orderState": "Cancelled"},
            {"action": "setCustomField", "name": "orderAgentCancellationReason", "value": "changed_mind"},
        ]})
    );
    let mut fields = serde_json::Map::new();
    fields.insert("orderAgentModifications".to_owned(), json!(1));
    assert_eq!(
        requests::set_custom_type("order-agent-order", fields),
        json!({"action": "setCustomType", "type": {"typeId": "type", "key": "order-agent-order"}, "fields": {"orderAgentModifications": 1}})
    );
}

#[test]
fn addresses_split_the_name_and_keep_the_street_line_whole() {
    let address = Address {
        name: "Anna Maria Muster".to_owned(),
        line1: "Bahnhofstrasse 10".to_owned(),
        line2: Some("c/o Beispiel".to_owned()),
        postcode: "3011".to_owned(),
        city: "Bern".to_owned(),
        region: Some("BE".to_owned()),
        country: "CH".to_owned(),
    };
    assert_eq!(
        requests::set_shipping_address(&address),
        json!({"action": "setShippingAddress", "address": {
            "firstName": "Anna", "lastName": "Maria Muster", "streetName": "Bahnhofstrasse 10",
            "additionalStreetInfo": "c/o Beispiel", "postalCode": "3011", "city": "Bern",
            "region": "BE", "country": "CH",
        }})
    );
}

#[test]
fn returns_are_advised_with_the_reason_as_comment_and_the_return_id_as_tracking_id() {
    let action = requests::add_return_info(
        "ret_1",
        "2025-03-01T12:00:00.000Z",
        &[ReturnItemDraft {
            line_item_id: LineId::new("li-1"),
            quantity: 2,
            comment: "does_not_fit".to_owned(),
        }],
    );
    assert_eq!(
        action,
        json!({
            "action": "addReturnInfo",
            "items": [{"quantity": 2, "lineItemId": "li-1", "comment": "does_not_fit", "shipmentState": "Advised"}],
            "returnTrackingId": "ret_1",
            "returnDate": "2025-03-01T12:00:00.000Z",
        })
    );
}

#[test]
fn order_edits_are_created_then_applied_against_the_order_version() {
    let create = requests::create_order_edit(
        &config(),
        &OrderId::new("o-1"),
        vec![
            requests::change_line_item_quantity(&LineId::new("li-1"), 1),
            requests::remove_line_item(&LineId::new("li-2")),
            requests::add_line_item(
                &ProductId::new("p-1"),
                3,
                1,
                "order-agent-line-item",
                serde_json::Map::from_iter([(
                    requests::REPLACES_LINE_FIELD.to_owned(),
                    json!("li-2"),
                )]),
            ),
        ],
    );
    assert_eq!(create.path, "/shop-1/orders/edits");
    let Body::Json(body) = &create.body else {
        panic!("json body expected")
    };
    assert_eq!(body["resource"], json!({"typeId": "order", "id": "o-1"}));
    assert_eq!(
        body["stagedActions"],
        json!([
            {"action": "changeLineItemQuantity", "lineItemId": "li-1", "quantity": 1},
            {"action": "removeLineItem", "lineItemId": "li-2"},
            {"action": "addLineItem", "productId": "p-1", "variantId": 3, "quantity": 1,
             "custom": {"type": {"typeId": "type", "key": "order-agent-line-item"}, "fields": {"orderAgentReplacesLine": "li-2"}}},
        ])
    );
    let apply = requests::apply_order_edit(&config(), "edit-1", 2, 9);
    assert_eq!(apply.path, "/shop-1/orders/edits/edit-1/apply");
    assert_eq!(
        apply.body,
        Body::Json(json!({"editVersion": 2, "resourceVersion": 9}))
    );
}

#[test]
fn product_projections_select_prices_for_the_shop() {
    let mut config = config();
    config.price_country = Some("CH".to_owned());
    assert_eq!(
        requests::product_projection(&config, &ProductId::new("p-1")).path_and_query(),
        "/shop-1/product-projections/p-1?priceCurrency=CHF&priceCountry=CH"
    );
}

#[test]
fn status_table_fails_closed() {
    use OrderStatus::*;
    let cases = [
        ("Cancelled", Some("Shipped"), Some("Paid"), true, Cancelled),
        ("Complete", Some("Delivered"), Some("Paid"), true, Delivered),
        ("Confirmed", Some("Shipped"), Some("Paid"), true, Fulfilled),
        (
            "Open",
            Some("Partial"),
            Some("Paid"),
            true,
            PartiallyFulfilled,
        ),
        ("Complete", None, Some("Paid"), false, Fulfilled),
        (
            "Open",
            Some("Ready"),
            Some("Paid"),
            true,
            PartiallyFulfilled,
        ),
        ("Confirmed", Some("Ready"), Some("Paid"), false, Unfulfilled),
        ("Open", Some("Backorder"), Some("Pending"), false, Pending),
        ("Open", None, None, false, Pending),
        ("SomethingNew", None, Some("Paid"), false, Fulfilled),
    ];
    for (order, shipment, payment, deliveries, expected) in cases {
        assert_eq!(
            order_status(order, shipment, payment, deliveries),
            expected,
            "{order} {shipment:?} {payment:?} {deliveries}"
        );
    }
}

#[test]
fn config_refuses_unknown_fields_and_hides_the_secret() {
    let parsed: CommercetoolsConfig = serde_json::from_value(json!({
        "project_key": "shop-1", "client_id": "c", "client_secret": "hidden-secret",
        "api_url": "https://api.us-central1.gcp.commercetools.com",
    }))
    .unwrap();
    assert_eq!(parsed.max_version_retries, 3);
    assert!(!format!("{parsed:?}").contains("hidden-secret"));
    let typo = serde_json::from_value::<CommercetoolsConfig>(json!({
        "project_key": "shop-1", "client_id": "c", "client_secret": "x", "max_retries": 9,
    }));
    assert!(typo.is_err());
}

#![cfg(feature = "commercetools")]
//! Every order request the commercetools adapter builds, checked against commercetools' own
//! OpenAPI description (`../shared/specs/commercetools/orders.request-subset.json`, paths
//! `/{projectKey}/orders[/{ID}]`) served by Prism; plus negative controls per operation that must
//! be rejected. `spec-check/run.sh` starts Prism and sets `ORDER_AGENT_PRISM_COMMERCETOOLS`;
//! without it these tests skip and say so.
//!
//! What the subset can check: the paths, the OAuth bearer token, the query parameters' types
//! (`where`, `sort`, `expand`, `limit`, `withTotal`), the JSON content type and the update body
//! `{version: integer, actions: [{action: string, ...}]}`. The subset does not carry the schemas
//! of the single update actions (its `OrderUpdateAction` discriminator points at schemas left
//! out), so the fields inside `changeOrderState`, `setCustomField`, `setCustomType`,
//! `setShippingAddress` and `addReturnInfo` are checked by `commercetools_requests.rs` against
//! the documentation only.
//!
//! Not covered (not in the subset): the token request (`/oauth/token` is the auth service),
//! `/{projectKey}/customers`, `/{projectKey}/orders/edits` and
//! `/{projectKey}/product-projections`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod prism;

use order_agent_adapters::commercetools::requests::{self, ReturnItemDraft};
use order_agent_adapters::commercetools::CommercetoolsConfig;
use order_agent_adapters::http::{Body, WireRequest};
use order_agent_core::domain::{Address, CustomerId, LineId, OrderId};
use prism::Prism;
use secrecy::SecretString;
use serde_json::{json, Value};

const SPEC: &str = "commercetools/orders.request-subset.json";
const URL_VAR: &str = "ORDER_AGENT_PRISM_COMMERCETOOLS";

fn config() -> CommercetoolsConfig {
    CommercetoolsConfig::new(
        "shop-spec",
        "client-spec",
        SecretString::from("secret-spec"),
    )
}

fn authorized(mut request: WireRequest) -> WireRequest {
    requests::authorize(&mut request, &SecretString::from("token-spec"));
    request
}

fn without_auth(mut request: WireRequest) -> WireRequest {
    request.headers.retain(|(name, _)| name != "authorization");
    request
}

fn replace_query(mut request: WireRequest, field: &str, value: &str) -> WireRequest {
    let slot = request.query.iter_mut().find(|(k, _)| k == field).unwrap();
    slot.1 = value.to_owned();
    request
}

fn map_body(mut request: WireRequest, change: impl FnOnce(&mut Value)) -> WireRequest {
    let Body::Json(body) = &mut request.body else {
        panic!("json body expected")
    };
    change(body);
    request
}

fn order_id() -> OrderId {
    OrderId::new("2f0b6c7e-5d1a-4b8e-9a55-1c2d3e4f5a6b")
}

fn address() -> Address {
    Address {
        name: "Anna Muster".to_owned(),
        line1: "Bahnhofstrasse 10".to_owned(),
        line2: Some("c/o Beispiel".to_owned()),
        postcode: "3011".to_owned(),
        city: "Bern".to_owned(),
        region: None,
        country: "CH".to_owned(),
    }
}

/// Every update the adapter sends, one per action it uses.
fn updates() -> Vec<(&'static str, WireRequest)> {
    let update = |op, actions| {
        authorized(requests::update_order(
            &config(),
            op,
            &order_id(),
            7,
            actions,
        ))
    };
    let mut fields = serde_json::Map::new();
    fields.insert(
        requests::CANCELLATION_REASON_FIELD.to_owned(),
        json!("changed_mind"),
    );
    vec![
        (
            "changeOrderState + setCustomField",
            update(
                "oms.cancel_order",
                vec![
                    requests::change_order_state("Cancelled"),
                    requests::set_custom_field(
                        requests::CANCELLATION_REASON_FIELD,
                        json!("changed_mind"),
                    ),
                ],
            ),
        ),
        (
            "changeOrderState + setCustomType",
            update(
                "oms.cancel_order",
                vec![
                    requests::change_order_state("Cancelled"),
                    requests::set_custom_type("order-agent-order", fields),
                ],
            ),
        ),
        (
            "setShippingAddress",
            update(
                "oms.change_shipping_address",
                vec![requests::set_shipping_address(&address())],
            ),
        ),
        (
            "addReturnInfo",
            update(
                "oms.record_return",
                vec![requests::add_return_info(
                    "ret_spec_1",
                    "2025-03-01T12:00:00.000Z",
                    &[ReturnItemDraft {
                        line_item_id: LineId::new("li-1"),
                        quantity: 1,
                        comment: "does_not_fit".to_owned(),
                    }],
                )],
            ),
        ),
    ]
}

#[tokio::test]
async fn order_by_id_conforms() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    let request = authorized(requests::order(&config(), "oms.order", &order_id()));
    prism.assert_accepted("order by id", &request).await;
    prism
        .assert_rejected("order by id without a token", &without_auth(request))
        .await;
}

#[tokio::test]
async fn order_queries_conform() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    let by_number = authorized(requests::order_by_number(&config(), "#1042"));
    prism.assert_accepted("order by number", &by_number).await;
    let by_customer = authorized(requests::orders_of_customer(
        &config(),
        &CustomerId::new("cus-1"),
        10,
    ));
    prism
        .assert_accepted("orders of a customer", &by_customer)
        .await;

    prism
        .assert_rejected(
            "order by number, limit not a number",
            &replace_query(by_number.clone(), "limit", "two"),
        )
        .await;
    prism
        .assert_rejected(
            "order by number, withTotal not a boolean",
            &replace_query(by_number.clone(), "withTotal", "maybe"),
        )
        .await;
    prism
        .assert_rejected("order by number without a token", &without_auth(by_number))
        .await;
    prism
        .assert_rejected(
            "orders of a customer, limit not a number",
            &replace_query(by_customer, "limit", "ten"),
        )
        .await;
}

#[tokio::test]
async fn every_update_action_conforms() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    for (what, request) in updates() {
        prism.assert_accepted(what, &request).await;
    }
}

#[tokio::test]
async fn update_negative_controls_are_rejected() {
    let Some(prism) = Prism::from_env(URL_VAR, SPEC) else {
        return;
    };
    for (what, request) in updates() {
        prism
            .assert_rejected(
                &format!("{what}: version as a string"),
                &map_body(request.clone(), |b| b["version"] = json!("7")),
            )
            .await;
        prism
            .assert_rejected(
                &format!("{what}: no version"),
                &map_body(request.clone(), |b| {
                    b.as_object_mut().unwrap().remove("version");
                }),
            )
            .await;
        prism
            .assert_rejected(
                &format!("{what}: an action without its name"),
                &map_body(request.clone(), |b| {
                    b["actions"][0].as_object_mut().unwrap().remove("action");
                }),
            )
            .await;
        prism
            .assert_rejected(&format!("{what}: no token"), &without_auth(request.clone()))
            .await;
        let mut form = request;
        form.body = Body::Form(vec![("version".to_owned(), "7".to_owned())]);
        prism
            .assert_rejected(&format!("{what}: a form body"), &form)
            .await;
    }
}

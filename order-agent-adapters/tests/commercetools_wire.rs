#![cfg(feature = "commercetools")]
//! The commercetools adapter over the wire: the OMS conformance suite against a loopback server
//! that speaks commercetools' documented format (OAuth client credentials at `/oauth/token`,
//! `/{projectKey}/orders` with query predicates, versioned `{version, actions}` updates whose
//! version increments on each update and answers 409 `ConcurrentModification` when stale, order
//! edits, `/{projectKey}/customers`, `{"statusCode", "message", "errors": [...]}` error bodies),
//! plus the concurrent-modification retry, the token cache and the error mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use order_agent_adapters::commercetools::{CommercetoolsConfig, CommercetoolsOms};
use order_agent_core::domain::{
    Address, AddressChangeRequest, CancellationReason, CancellationRequest, Channel, ContactPoint,
    Customer, ItemChange, ItemModificationRequest, Order, OrderId, OrderNumber, OrderStatus,
    ProductId, ResolutionKind, ReturnAuthorisation, ReturnId, ReturnLine, ReturnReason,
    ReturnRequest, Shipment, ShipmentId, ShipmentLine, TrackingNumber, VariantId,
};
use order_agent_core::ports::{Oms, PortErrorKind};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::oms;
use secrecy::SecretString;
use serde_json::{json, Value};

const PROJECT: &str = "shop-test";
const CLIENT_ID: &str = "agent-client";
const CLIENT_SECRET: &str = "ct_secret_do_not_log";

/// A scripted answer: status, extra headers, JSON body (or raw text), delay.
#[derive(Debug, Clone)]
struct Scripted {
    status: u16,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
    delay: Duration,
}

#[derive(Debug, Default)]
struct MockState {
    orders: BTreeMap<String, Value>,
    customers: Vec<Value>,
    products: BTreeMap<String, Value>,
    edits: BTreeMap<String, Value>,
    /// Tokens the auth service issued and the API accepts.
    valid_tokens: Vec<String>,
    token_requests: usize,
    token_scopes: Vec<String>,
    /// Seconds every issued token lives.
    expires_in: u64,
    /// How many of the next updates see the order changed by someone else just before.
    interfere: usize,
    /// `(method, path and query, authorization)` of every API request.
    received: Vec<(String, String, String)>,
    /// Answers given instead of the API's (not the auth service's), in order.
    scripted: Vec<Scripted>,
    next_id: usize,
}

#[derive(Debug, Clone)]
struct MockCommercetools {
    state: Arc<Mutex<MockState>>,
}

fn ct_error(status: u16, code: &str, message: &str, extra: Value) -> Response {
    let mut error = json!({"code": code, "message": message});
    if let (Some(e), Some(x)) = (error.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
    }
    (
        StatusCode::from_u16(status).unwrap(),
        axum::Json(json!({"statusCode": status, "message": message, "errors": [error]})),
    )
        .into_response()
}

fn ok(value: Value) -> Response {
    (StatusCode::OK, axum::Json(value)).into_response()
}

fn money(m: Money) -> Value {
    json!({
        "type": "centPrecision",
        "currencyCode": m.currency().code(),
        "centAmount": m.to_minor(),
        "fractionDigits": m.currency().minor_units(),
    })
}

fn chf(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CHF)
}

fn ct_address(a: &Address) -> Value {
    let (first, last) = a.name.split_once(' ').unwrap_or(("", &a.name));
    // Street and number apart, as shops usually store them.
    let (street, number) = a.line1.rsplit_once(' ').unwrap_or((&a.line1, ""));
    json!({
        "firstName": first, "lastName": last, "streetName": street, "streetNumber": number,
        "postalCode": a.postcode, "city": a.city, "country": a.country,
    })
}

/// The variant number the mock gives a sample variant id (`var_l2_m` is 2).
fn variant_number(variant: &str) -> i64 {
    variant
        .trim_start_matches("var_l")
        .trim_end_matches("_m")
        .parse()
        .unwrap_or(1)
}

/// A sample order as commercetools stores it.
fn ct_order(o: &Order) -> Value {
    let (order_state, shipment_state, payment_state) = match o.status {
        OrderStatus::Pending => ("Open", None, "Pending"),
        OrderStatus::Unfulfilled => ("Confirmed", Some("Ready"), "Paid"),
        OrderStatus::PartiallyFulfilled => ("Confirmed", Some("Partial"), "Paid"),
        OrderStatus::Fulfilled => ("Confirmed", Some("Shipped"), "Paid"),
        OrderStatus::Delivered => ("Complete", Some("Delivered"), "Paid"),
        OrderStatus::Cancelled => ("Cancelled", None, "Paid"),
        OrderStatus::Closed => ("Complete", Some("Delivered"), "Paid"),
    };
    let lines: Vec<Value> = o
        .lines
        .iter()
        .map(|l| {
            json!({
                "id": l.id.as_str(),
                "productId": l.product_id.as_str(),
                "name": {"de-CH": format!("{} (de)", l.title), "en": l.title},
                "variant": {"id": variant_number(l.variant_id.as_str()), "sku": l.sku.as_str()},
                "price": {"id": format!("price-{}", l.id), "value": money(l.unit_price)},
                "quantity": l.quantity,
                "totalPrice": money(l.unit_price.times(l.quantity).unwrap()),
                "taxRate": {"name": "MWST", "amount": 0.081, "includedInPrice": true, "country": "CH"},
                "lineItemMode": "Standard",
                "custom": {"type": {"typeId": "type", "id": "line-type"}, "fields": {"orderAgentCategory": l.category}},
            })
        })
        .collect();
    let total = o.payments[0].captured;
    let mut order = json!({
        "id": o.id.as_str(),
        "version": 1,
        "orderNumber": o.number.as_str(),
        "customerId": o.customer_id.as_str(),
        "customerEmail": o.email,
        "createdAt": o.placed_at.to_rfc3339(),
        "lastModifiedAt": o.placed_at.to_rfc3339(),
        "lineItems": lines,
        "customLineItems": [],
        "totalPrice": money(total),
        "taxedPrice": {"totalNet": money(total.checked_sub(o.tax_total).unwrap()), "totalGross": money(total), "totalTax": money(o.tax_total)},
        "shippingAddress": ct_address(&o.shipping_address),
        "shippingInfo": {"shippingMethodName": "Post", "price": money(o.shipping), "deliveries": []},
        "orderState": order_state,
        "paymentState": payment_state,
        "returnInfo": [],
        "paymentInfo": {"payments": [{"typeId": "payment", "id": format!("ctpay-{}", o.id)}]},
        "origin": "Customer",
    });
    if let Some(state) = shipment_state {
        order["shipmentState"] = json!(state);
    }
    if !o.status.is_before_fulfilment() && o.status != OrderStatus::Cancelled {
        let items: Vec<Value> = o
            .lines
            .iter()
            .map(|l| json!({"id": l.id.as_str(), "quantity": l.quantity}))
            .collect();
        order["shippingInfo"]["deliveries"] = json!([{
            "id": format!("del-{}", o.id),
            "createdAt": "2025-02-02T08:00:00.000Z",
            "items": items,
            "parcels": [{
                "id": format!("parcel-{}", o.id),
                "createdAt": "2025-02-02T09:00:00.000Z",
                "trackingData": {"trackingId": format!("99.00.{}", o.number.as_str().trim_start_matches('#')), "carrier": "Swiss Post", "isReturn": false},
                "items": [],
            }],
        }]);
    }
    order
}

/// The expanded payment of a sample order.
fn ct_payment(o: &Order) -> Value {
    json!({
        "id": format!("ctpay-{}", o.id),
        "version": 1,
        "interfaceId": o.payments[0].id.as_str(),
        "amountPlanned": money(o.payments[0].captured),
        "paymentMethodInfo": {"paymentInterface": "stripe", "method": "CREDIT_CARD"},
        "transactions": [
            {"id": "t1", "type": "Authorization", "amount": money(o.payments[0].captured), "state": "Success"},
            {"id": "t2", "type": "Charge", "amount": money(o.payments[0].captured), "state": "Success"},
            {"id": "t3", "type": "Refund", "amount": money(chf(500)), "state": "Failure"},
        ],
    })
}

fn ct_customer(c: &Customer) -> Value {
    let (first, last) = c.name.split_once(' ').unwrap_or(("", &c.name));
    let points: Vec<String> = c
        .contact_points
        .iter()
        .map(|p| {
            let channel = match p.channel {
                Channel::Email => "email",
                Channel::Sms => "sms",
                Channel::Whatsapp => "whatsapp",
                Channel::WebChat => "web_chat",
            };
            let address = if p.channel == Channel::Email {
                p.address.to_lowercase()
            } else {
                p.address.clone()
            };
            format!("{channel}:{address}")
        })
        .collect();
    let mut customer = json!({
        "id": c.id.as_str(),
        "version": 1,
        "email": c.email,
        "lowercaseEmail": c.email.to_lowercase(),
        "firstName": first,
        "lastName": last,
        "locale": format!("{}-CH", c.locale.tag()),
        "addresses": [],
        "isEmailVerified": true,
        "authenticationMode": "Password",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "custom": {"type": {"typeId": "type", "id": "customer-type"}, "fields": {"orderAgentContactPoints": points}},
    });
    if let Some(tier) = &c.loyalty_tier {
        customer["customerGroup"] = json!({"typeId": "customer-group", "id": "cg-1", "obj": {"id": "cg-1", "key": tier, "name": tier.to_uppercase()}});
    }
    customer
}

/// The string literals of a query predicate, unescaped.
fn literals(predicate: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = predicate.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut text = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => text.extend(chars.next()),
                '"' => break,
                c => text.push(c),
            }
        }
        out.push(text);
    }
    out
}

fn url_decode_pairs(text: &str) -> Vec<(String, String)> {
    fn unescape(s: &str) -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 3 <= bytes.len() {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16)
                        .unwrap(),
                );
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn set_custom_field(resource: &mut Value, name: &str, value: &Value) {
    if resource.get("custom").is_none() {
        // commercetools refuses setCustomField on a resource without a Type.
        panic!("setCustomField on a resource without custom fields");
    }
    resource["custom"]["fields"][name] = value.clone();
}

fn set_custom_type(resource: &mut Value, action: &Value) {
    resource["custom"] = json!({"type": {"typeId": "type", "key": action["type"]["key"]}, "fields": action["fields"].clone()});
}

fn recompute_line_total(line: &mut Value) {
    let unit = line["price"]["value"]["centAmount"].as_i64().unwrap();
    let quantity = line["quantity"].as_i64().unwrap();
    line["totalPrice"]["centAmount"] = json!(unit * quantity);
}

impl MockCommercetools {
    fn new() -> MockCommercetools {
        let sample = oms::sample();
        let mut state = MockState {
            expires_in: 172_800,
            ..MockState::default()
        };
        for o in &sample.orders {
            let mut order = ct_order(o);
            order["paymentInfo"]["payments"][0]["obj"] = ct_payment(o);
            state.orders.insert(o.id.to_string(), order);
        }
        state.customers = sample.customers.iter().map(ct_customer).collect();
        state.products.insert(
            "prod_l1".to_owned(),
            json!({
                "id": "prod_l1", "version": 3, "key": "sweater",
                "masterVariant": {"id": 1, "sku": "SKU-l1", "price": {"id": "p1", "value": money(chf(4500))}, "availability": {"isOnStock": true, "availableQuantity": 7}},
                "variants": [
                    {"id": 2, "sku": "SKU-l1-L", "price": {"id": "p2", "value": money(chf(4500))}, "availability": {"isOnStock": false, "availableQuantity": -2}},
                    {"id": 3, "sku": "SKU-l1-XL", "price": {"id": "p3", "value": {"type": "highPrecision", "currencyCode": "CHF", "centAmount": 4990, "preciseAmount": 499000, "fractionDigits": 4}}},
                    {"id": 4, "sku": "SKU-l1-EUR", "price": {"id": "p4", "value": money(Money::from_minor(4000, Currency::EUR))}},
                    {"id": 5, "sku": ""},
                ],
            }),
        );
        MockCommercetools {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn script(&self, status: u16, headers: Vec<(&'static str, &'static str)>, body: &str) {
        self.state.lock().unwrap().scripted.push(Scripted {
            status,
            headers,
            body: body.to_owned(),
            delay: Duration::ZERO,
        });
    }

    fn script_ct(&self, status: u16, code: &str) {
        let body = json!({"statusCode": status, "message": format!("{code} happened"), "errors": [{"code": code, "message": "m"}]});
        self.script(status, vec![], &body.to_string());
    }

    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let mock = self.clone();
                async move {
                    let scripted = if uri.path() == "/oauth/token" {
                        None
                    } else {
                        let mut s = mock.state.lock().unwrap();
                        (!s.scripted.is_empty()).then(|| s.scripted.remove(0))
                    };
                    if let Some(answer) = scripted {
                        tokio::time::sleep(answer.delay).await;
                        let mut response = (
                            StatusCode::from_u16(answer.status).unwrap(),
                            [("content-type", "application/json")],
                            answer.body,
                        )
                            .into_response();
                        for (name, value) in answer.headers {
                            response.headers_mut().insert(name, value.parse().unwrap());
                        }
                        return response;
                    }
                    mock.handle(method, uri, headers, body)
                }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let body = String::from_utf8(body.to_vec()).unwrap();
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let mut s = self.state.lock().unwrap();
        if uri.path() == "/oauth/token" {
            return s.token(&method, &auth, &headers, &body);
        }
        s.received
            .push((method.to_string(), uri.to_string(), auth.clone()));
        let token = auth.strip_prefix("Bearer ").unwrap_or("");
        if !s.valid_tokens.iter().any(|t| t == token) {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"statusCode": 401, "message": "invalid_token", "errors": [{"code": "invalid_token", "message": "invalid_token"}], "error": "invalid_token", "error_description": "invalid_token"})),
            )
                .into_response();
        }
        let query = url_decode_pairs(uri.query().unwrap_or(""));
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let segments: Vec<&str> = uri.path().trim_start_matches('/').split('/').collect();
        if segments[0] != PROJECT {
            return ct_error(404, "ResourceNotFound", "no such project", json!({}));
        }
        match (method.as_str(), &segments[1..]) {
            ("GET", ["orders"]) => {
                let predicate = get("where").unwrap_or_default();
                let wanted = literals(&predicate);
                let mut found: Vec<Value> = s
                    .orders
                    .values()
                    .filter(|o| {
                        if predicate.starts_with("orderNumber in (") {
                            wanted.iter().any(|n| o["orderNumber"] == json!(n))
                        } else if predicate.starts_with("customerId=") {
                            o["customerId"] == json!(wanted[0])
                        } else {
                            panic!("unexpected predicate `{predicate}`")
                        }
                    })
                    .cloned()
                    .collect();
                assert_eq!(
                    query
                        .iter()
                        .find(|(k, _)| k == "sort")
                        .map(|(_, v)| v.as_str()),
                    Some("createdAt desc")
                );
                found.sort_by(|a, b| {
                    b["createdAt"]
                        .as_str()
                        .unwrap()
                        .cmp(a["createdAt"].as_str().unwrap())
                });
                let limit: usize = get("limit").unwrap().parse().unwrap();
                found.truncate(limit);
                ok(json!({"limit": limit, "offset": 0, "count": found.len(), "results": found}))
            }
            ("GET", ["orders", id]) => match s.orders.get(*id) {
                Some(order) => {
                    assert_eq!(get("expand").as_deref(), Some("paymentInfo.payments[*]"));
                    ok(order.clone())
                }
                None => ct_error(
                    404,
                    "ResourceNotFound",
                    &format!("The Resource with ID '{id}' was not found."),
                    json!({}),
                ),
            },
            ("POST", ["orders", "edits"]) => {
                let draft: Value = serde_json::from_str(&body).unwrap();
                let order_id = draft["resource"]["id"].as_str().unwrap().to_owned();
                if !s.orders.contains_key(&order_id) {
                    return ct_error(
                        400,
                        "ReferencedResourceNotFound",
                        "no such order",
                        json!({}),
                    );
                }
                s.next_id += 1;
                let edit = json!({
                    "id": format!("edit-{}", s.next_id), "version": 1,
                    "resource": {"typeId": "order", "id": order_id},
                    "stagedActions": draft["stagedActions"],
                    "result": {"type": "NotProcessed"},
                });
                s.edits
                    .insert(edit["id"].as_str().unwrap().to_owned(), edit.clone());
                (StatusCode::CREATED, axum::Json(edit)).into_response()
            }
            ("POST", ["orders", "edits", id, "apply"]) => {
                let request: Value = serde_json::from_str(&body).unwrap();
                let Some(mut edit) = s.edits.get(*id).cloned() else {
                    return ct_error(404, "ResourceNotFound", "no such edit", json!({}));
                };
                let order_id = edit["resource"]["id"].as_str().unwrap().to_owned();
                s.interfere_with(&order_id);
                let order = s.orders.get_mut(&order_id).unwrap();
                if request["resourceVersion"] != order["version"] {
                    return ct_error(
                        409,
                        "ConcurrentModification",
                        "Object has a different version than expected.",
                        json!({"currentVersion": order["version"]}),
                    );
                }
                for action in edit["stagedActions"].as_array().unwrap().clone() {
                    apply_staged(order, &action);
                }
                order["version"] = json!(order["version"].as_i64().unwrap() + 1);
                edit["result"] =
                    json!({"type": "Applied", "appliedAt": "2025-03-01T12:00:00.000Z"});
                edit["version"] = json!(2);
                s.edits.insert((*id).to_owned(), edit.clone());
                ok(edit)
            }
            ("POST", ["orders", id]) => {
                let request: Value = serde_json::from_str(&body).unwrap();
                let id = (*id).to_owned();
                if !s.orders.contains_key(&id) {
                    return ct_error(404, "ResourceNotFound", "not found", json!({}));
                }
                s.interfere_with(&id);
                s.next_id += 1;
                let next = s.next_id;
                let order = s.orders.get_mut(&id).unwrap();
                if request["version"] != order["version"] {
                    return ct_error(
                        409,
                        "ConcurrentModification",
                        "Object has a different version than expected.",
                        json!({"currentVersion": order["version"]}),
                    );
                }
                let mut updated = order.clone();
                for action in request["actions"].as_array().unwrap() {
                    match action["action"].as_str().unwrap() {
                        "changeOrderState" => updated["orderState"] = action["orderState"].clone(),
                        "setShippingAddress" => {
                            updated["shippingAddress"] = action["address"].clone()
                        }
                        "setCustomField" => set_custom_field(
                            &mut updated,
                            action["name"].as_str().unwrap(),
                            &action["value"],
                        ),
                        "setCustomType" => set_custom_type(&mut updated, action),
                        "addReturnInfo" => {
                            let line_ids: Vec<Value> = updated["lineItems"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|l| l["id"].clone())
                                .collect();
                            let items: Vec<Value> = action["items"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .enumerate()
                                .map(|(i, item)| {
                                    assert!(line_ids.contains(&item["lineItemId"]));
                                    json!({
                                        "id": format!("ri-{next}-{i}"), "type": "LineItemReturnItem",
                                        "quantity": item["quantity"], "lineItemId": item["lineItemId"],
                                        "comment": item["comment"], "shipmentState": item["shipmentState"],
                                        "paymentState": "Initial",
                                        "createdAt": "2025-03-01T12:00:00.000Z", "lastModifiedAt": "2025-03-01T12:00:00.000Z",
                                    })
                                })
                                .collect();
                            updated["returnInfo"].as_array_mut().unwrap().push(json!({
                                "items": items,
                                "returnTrackingId": action["returnTrackingId"],
                                "returnDate": action["returnDate"],
                            }));
                        }
                        other => {
                            return ct_error(
                                400,
                                "InvalidInput",
                                &format!("unknown action {other}"),
                                json!({}),
                            )
                        }
                    }
                }
                updated["version"] = json!(order["version"].as_i64().unwrap() + 1);
                *order = updated.clone();
                ok(updated)
            }
            ("GET", ["customers"]) => {
                let predicate = get("where").unwrap_or_default();
                let wanted = literals(&predicate);
                let found: Vec<Value> = s
                    .customers
                    .iter()
                    .filter(|c| {
                        let points = c["custom"]["fields"]["orderAgentContactPoints"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default();
                        if predicate.starts_with("lowercaseEmail=") {
                            c["lowercaseEmail"] == json!(wanted[0])
                                || points.contains(&json!(wanted[1]))
                        } else if predicate
                            .starts_with("custom(fields(orderAgentContactPoints contains ")
                        {
                            points.contains(&json!(wanted[0]))
                        } else {
                            panic!("unexpected predicate `{predicate}`")
                        }
                    })
                    .take(1)
                    .cloned()
                    .collect();
                ok(json!({"limit": 1, "offset": 0, "count": found.len(), "results": found}))
            }
            ("GET", ["customers", id]) => match s.customers.iter().find(|c| c["id"] == json!(id)) {
                Some(c) => ok(c.clone()),
                None => ct_error(404, "ResourceNotFound", "not found", json!({})),
            },
            ("GET", ["product-projections", id]) => {
                assert_eq!(get("priceCurrency").as_deref(), Some("CHF"));
                match s.products.get(*id) {
                    Some(p) => ok(p.clone()),
                    None => ct_error(404, "ResourceNotFound", "not found", json!({})),
                }
            }
            _ => ct_error(404, "ResourceNotFound", "no such path", json!({})),
        }
    }
}

fn apply_staged(order: &mut Value, action: &Value) {
    let lines = order["lineItems"].as_array_mut().unwrap();
    match action["action"].as_str().unwrap() {
        "changeLineItemQuantity" => {
            let quantity = action["quantity"].as_i64().unwrap();
            let index = lines
                .iter()
                .position(|l| l["id"] == action["lineItemId"])
                .unwrap();
            if quantity == 0 {
                lines.remove(index);
            } else {
                lines[index]["quantity"] = json!(quantity);
                recompute_line_total(&mut lines[index]);
            }
        }
        "removeLineItem" => lines.retain(|l| l["id"] != action["lineItemId"]),
        "addLineItem" => {
            let variant = action["variantId"].as_i64().unwrap();
            let mut line = json!({
                "id": format!("li-{}-{variant}", action["productId"].as_str().unwrap()),
                "productId": action["productId"],
                "name": {"en": "Swapped article"},
                "variant": {"id": variant, "sku": format!("SKU-v{variant}")},
                "price": {"id": "price-new", "value": money(chf(4000))},
                "quantity": action["quantity"],
                "totalPrice": money(chf(0)),
                "taxRate": {"name": "MWST", "amount": 0.081, "includedInPrice": true, "country": "CH"},
                "lineItemMode": "Standard",
                "custom": {"type": {"typeId": "type", "key": action["custom"]["type"]["key"]}, "fields": action["custom"]["fields"]},
            });
            recompute_line_total(&mut line);
            lines.push(line);
        }
        "setCustomField" => {
            set_custom_field(order, action["name"].as_str().unwrap(), &action["value"])
        }
        "setCustomType" => set_custom_type(order, action),
        other => panic!("unexpected staged action {other}"),
    }
}

impl MockState {
    fn token(&mut self, method: &Method, auth: &str, headers: &HeaderMap, body: &str) -> Response {
        assert_eq!(method, Method::POST);
        assert_eq!(
            headers.get("content-type").unwrap(),
            "application/x-www-form-urlencoded"
        );
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
        );
        if auth != expected {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"statusCode": 401, "message": "Please provide valid client credentials using HTTP Basic Authentication.", "errors": [{"code": "invalid_client", "message": "Please provide valid client credentials using HTTP Basic Authentication."}], "error": "invalid_client", "error_description": "Please provide valid client credentials using HTTP Basic Authentication."})),
            )
                .into_response();
        }
        let form = url_decode_pairs(body);
        let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(field("grant_type").as_deref(), Some("client_credentials"));
        let scope = field("scope").unwrap_or_default();
        self.token_scopes = scope.split(' ').map(str::to_owned).collect();
        self.token_requests += 1;
        let token = format!("access-{}", self.token_requests);
        self.valid_tokens.push(token.clone());
        ok(
            json!({"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in, "scope": scope}),
        )
    }

    fn interfere_with(&mut self, order_id: &str) {
        if self.interfere > 0 {
            self.interfere -= 1;
            let order = self.orders.get_mut(order_id).unwrap();
            order["version"] = json!(order["version"].as_i64().unwrap() + 1);
        }
    }

    fn updates_of(&self, order_id: &str) -> usize {
        self.received
            .iter()
            .filter(|(m, p, _)| {
                m == "POST" && p.starts_with(&format!("/{PROJECT}/orders/{order_id}"))
            })
            .count()
    }
}

fn config(url: &str) -> CommercetoolsConfig {
    let mut config =
        CommercetoolsConfig::new(PROJECT, CLIENT_ID, SecretString::from(CLIENT_SECRET))
            .with_urls(url, url);
    config.locale = "de-CH".to_owned();
    config
}

async fn adapter() -> (MockCommercetools, CommercetoolsOms) {
    let mock = MockCommercetools::new();
    let url = mock.clone().start().await;
    let oms = CommercetoolsOms::new(config(&url)).unwrap();
    (mock, oms)
}

#[tokio::test]
async fn passes_the_oms_conformance_suite() {
    let (_mock, commercetools) = adapter().await;
    let sample = oms::sample();
    oms::run_all(&commercetools, &sample.fixture).await.unwrap();
}

#[tokio::test]
async fn maps_orders_exactly_from_cent_amounts() {
    let (_mock, commercetools) = adapter().await;
    let sample = oms::sample();
    for expected in &sample.orders {
        let mut expected = expected.clone();
        for line in &mut expected.lines {
            line.variant_id = VariantId::new(variant_number(line.variant_id.as_str()).to_string());
            line.title = format!("{} (de)", line.title);
        }
        if !expected.status.is_before_fulfilment() {
            let n = expected.number.as_str().trim_start_matches('#').to_owned();
            expected.shipments = vec![Shipment {
                id: ShipmentId::new(format!("parcel-{}", expected.id)),
                carrier: "swiss-post".to_owned(),
                tracking_number: Some(TrackingNumber::new(format!("99.00.{n}"))),
                lines: expected
                    .lines
                    .iter()
                    .map(|l| ShipmentLine {
                        line_id: l.id.clone(),
                        quantity: l.quantity,
                    })
                    .collect(),
                promised: None,
                shipped_at: Some("2025-02-02T09:00:00Z".parse().unwrap()),
                delivered_at: None,
                carrier_eta: None,
                events: Vec::new(),
            }];
        }
        let found = commercetools.order(&expected.id).await.unwrap().unwrap();
        assert_eq!(found, expected);
    }
}

#[tokio::test]
async fn finds_customers_with_their_tier_locale_and_contact_points() {
    let (mock, commercetools) = adapter().await;
    let anna = commercetools
        .customer_by_contact(&ContactPoint {
            channel: Channel::Email,
            address: " ANNA.WORK@example.ch ".to_owned(),
        })
        .await
        .unwrap()
        .unwrap();
    let sample = oms::sample();
    assert_eq!(anna, sample.customers[0]);
    let whatsapp = ContactPoint {
        channel: Channel::Whatsapp,
        address: "+41791234567".to_owned(),
    };
    assert!(commercetools
        .customer_by_contact(&whatsapp)
        .await
        .unwrap()
        .is_none());
    let received = mock.state.lock().unwrap().received.clone();
    let last = &received.last().unwrap().1;
    assert!(
        last.contains("orderAgentContactPoints+contains+%22whatsapp%3A%2B41791234567%22"),
        "{last}"
    );
}

#[tokio::test]
async fn lists_exchange_offers_in_the_shop_currency() {
    let (_mock, commercetools) = adapter().await;
    let offers = commercetools
        .exchange_offers(&ProductId::new("prod_l1"))
        .await
        .unwrap();
    let summary: Vec<(String, String, String, u32)> = offers
        .iter()
        .map(|o| {
            (
                o.variant_id.to_string(),
                o.sku.to_string(),
                o.unit_price.to_string(),
                o.available,
            )
        })
        .collect();
    let chf_text = |minor| Money::from_minor(minor, Currency::CHF).to_string();
    assert_eq!(
        summary,
        vec![
            ("1".to_owned(), "SKU-l1".to_owned(), chf_text(4500), 7),
            ("2".to_owned(), "SKU-l1-L".to_owned(), chf_text(4500), 0),
            ("3".to_owned(), "SKU-l1-XL".to_owned(), chf_text(4990), 0),
        ]
    );
    assert!(offers.iter().all(|o| o.product_id.as_str() == "prod_l1"));
    assert!(commercetools
        .exchange_offers(&ProductId::new("prod_404"))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn records_the_cancellation_reason_and_the_return_details() {
    let (mock, commercetools) = adapter().await;
    commercetools
        .cancel_order(&CancellationRequest {
            order_id: OrderId::new("o_1002"),
            reason: CancellationReason::FoundCheaper,
        })
        .await
        .unwrap();
    let stored = mock.state.lock().unwrap().orders["o_1002"].clone();
    assert_eq!(stored["orderState"], "Cancelled");
    assert_eq!(
        stored["custom"],
        json!({"type": {"typeId": "type", "key": "order-agent-order"}, "fields": {"orderAgentCancellationReason": "found_cheaper"}})
    );
    assert_eq!(stored["version"], 2);

    let id = commercetools
        .record_return(&ReturnAuthorisation {
            id: ReturnId::new("ret_77"),
            request: ReturnRequest {
                order_id: OrderId::new("o_1001"),
                lines: vec![ReturnLine {
                    line_id: "l2".into(),
                    quantity: 2,
                    reason: ReturnReason::Damaged,
                    exchange_for: None,
                }],
                resolution: ResolutionKind::Refund,
            },
            authorised_at: "2025-03-01T12:00:00Z".parse().unwrap(),
            policy_version: "v1".to_owned(),
        })
        .await
        .unwrap();
    let stored = mock.state.lock().unwrap().orders["o_1001"].clone();
    let info = &stored["returnInfo"][0];
    assert_eq!(info["returnTrackingId"], "ret_77");
    assert_eq!(info["returnDate"], "2025-03-01T12:00:00.000Z");
    assert_eq!(info["items"][0]["id"], json!(id));
    assert_eq!(info["items"][0]["comment"], "damaged");
    assert_eq!(info["items"][0]["shipmentState"], "Advised");
    assert_eq!(info["items"][0]["quantity"], 2);

    let too_many = commercetools
        .record_return(&ReturnAuthorisation {
            id: ReturnId::new("ret_78"),
            request: ReturnRequest {
                order_id: OrderId::new("o_1001"),
                lines: vec![ReturnLine {
                    line_id: "l2".into(),
                    quantity: 3,
                    reason: ReturnReason::Damaged,
                    exchange_for: None,
                }],
                resolution: ResolutionKind::Refund,
            },
            authorised_at: "2025-03-01T12:00:00Z".parse().unwrap(),
            policy_version: "v1".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(too_many.kind(), PortErrorKind::InvalidInput, "{too_many}");
}

#[tokio::test]
async fn swaps_a_variant_through_an_order_edit_and_counts_it() {
    let (mock, commercetools) = adapter().await;
    let order = OrderId::new("o_1004");
    let swapped = commercetools
        .modify_items(&ItemModificationRequest {
            order_id: order.clone(),
            changes: vec![ItemChange::SwapVariant {
                line_id: "l2".into(),
                variant_id: VariantId::new("7"),
            }],
        })
        .await
        .unwrap();
    assert_eq!(swapped.modifications_made, 1);
    assert!(swapped.line(&"l2".into()).is_none());
    let new_line = swapped
        .lines
        .iter()
        .find(|l| l.variant_id.as_str() == "7")
        .unwrap();
    assert_eq!(new_line.quantity, 1);
    assert_eq!(
        new_line.category, "apparel",
        "the swapped-in line keeps the category"
    );
    assert_eq!(mock.state.lock().unwrap().orders["o_1004"]["version"], 2);

    // The same swap again finds the swapped-in line by the id it replaces: nothing changes.
    let again = commercetools
        .modify_items(&ItemModificationRequest {
            order_id: order.clone(),
            changes: vec![ItemChange::SwapVariant {
                line_id: "l2".into(),
                variant_id: VariantId::new("7"),
            }],
        })
        .await
        .unwrap();
    assert_eq!(again, swapped);
    assert_eq!(mock.state.lock().unwrap().orders["o_1004"]["version"], 2);
    let reduce_gone = commercetools
        .modify_items(&ItemModificationRequest {
            order_id: order.clone(),
            changes: vec![ItemChange::ReduceQuantity {
                line_id: "l2".into(),
                quantity: 0,
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(
        reduce_gone.kind(),
        PortErrorKind::InvalidInput,
        "{reduce_gone}"
    );

    let bad = commercetools
        .modify_items(&ItemModificationRequest {
            order_id: order,
            changes: vec![ItemChange::SwapVariant {
                line_id: "l1".into(),
                variant_id: VariantId::new("var_l1_xl"),
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), PortErrorKind::InvalidInput, "{bad}");
}

#[tokio::test]
async fn rereads_and_retries_on_concurrent_modification() {
    let (mock, commercetools) = adapter().await;
    mock.state.lock().unwrap().interfere = 2;
    let cancelled = commercetools
        .cancel_order(&CancellationRequest {
            order_id: OrderId::new("o_1002"),
            reason: CancellationReason::ChangedMind,
        })
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    {
        let s = mock.state.lock().unwrap();
        assert_eq!(
            s.updates_of("o_1002"),
            3,
            "two stale versions, then success"
        );
        // Version 1 seeded, two concurrent changes, one update of ours.
        assert_eq!(s.orders["o_1002"]["version"], 4);
    }

    mock.state.lock().unwrap().interfere = 2;
    let modified = commercetools
        .modify_items(&ItemModificationRequest {
            order_id: OrderId::new("o_1004"),
            changes: vec![ItemChange::ReduceQuantity {
                line_id: "l1".into(),
                quantity: 1,
            }],
        })
        .await
        .unwrap();
    assert_eq!(modified.line(&"l1".into()).unwrap().quantity, 1);
    assert_eq!(modified.modifications_made, 1);

    // Someone keeps changing the order: the adapter gives up after its bounded retries.
    mock.state.lock().unwrap().interfere = 100;
    let err = commercetools
        .change_shipping_address(&AddressChangeRequest {
            order_id: OrderId::new("o_1003"),
            new_address: oms::sample().fixture.new_address,
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.context_value("ct_code"), Some("ConcurrentModification"));
    let s = mock.state.lock().unwrap();
    assert_eq!(s.updates_of("o_1003"), 4, "one try and three retries");
}

#[tokio::test]
async fn caches_the_token_and_refreshes_it_before_expiry_and_after_a_401() {
    let (mock, commercetools) = adapter().await;
    let id = OrderId::new("o_1001");
    for _ in 0..3 {
        commercetools.order(&id).await.unwrap().unwrap();
    }
    {
        let s = mock.state.lock().unwrap();
        assert_eq!(s.token_requests, 1, "one token for three calls");
        assert!(s.token_scopes.contains(&format!("manage_orders:{PROJECT}")));
        assert!(s
            .received
            .iter()
            .all(|(_, _, auth)| auth == "Bearer access-1"));
    }

    // The token is revoked: the API answers 401, the adapter fetches a new one once.
    mock.state.lock().unwrap().valid_tokens.clear();
    commercetools.order(&id).await.unwrap().unwrap();
    {
        let s = mock.state.lock().unwrap();
        assert_eq!(s.token_requests, 2);
        let auths: Vec<&str> = s.received.iter().map(|(_, _, a)| a.as_str()).collect();
        assert_eq!(&auths[3..], ["Bearer access-1", "Bearer access-2"]);
    }

    // Tokens that are about to expire are not used: each call gets a fresh one.
    mock.state.lock().unwrap().expires_in = 0;
    let short_lived = CommercetoolsOms::new(commercetools.config().clone()).unwrap();
    short_lived.order(&id).await.unwrap().unwrap();
    short_lived.order(&id).await.unwrap().unwrap();
    assert_eq!(mock.state.lock().unwrap().token_requests, 4);
}

#[tokio::test]
async fn maps_vendor_failures_to_port_errors() {
    let (mock, commercetools) = adapter().await;
    let id = OrderId::new("o_1001");
    let cancel = CancellationRequest {
        order_id: OrderId::new("o_1002"),
        reason: CancellationReason::ChangedMind,
    };

    // 401 twice: a fresh token is refused too.
    let unauthorized = r#"{"statusCode":401,"message":"invalid_token","errors":[{"code":"invalid_token","message":"invalid_token"}],"error":"invalid_token"}"#;
    mock.script(401, vec![], unauthorized);
    mock.script(401, vec![], unauthorized);
    let err = commercetools.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized, "{err}");
    assert_eq!(mock.state.lock().unwrap().token_requests, 2);

    mock.script_ct(403, "insufficient_scope");
    let err = commercetools.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized, "{err}");

    // 404 on a lookup is "none", on a command NotFound.
    assert!(commercetools
        .order(&OrderId::new("o_404"))
        .await
        .unwrap()
        .is_none());
    mock.script_ct(404, "ResourceNotFound");
    let err = commercetools.cancel_order(&cancel).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::NotFound, "{err}");

    // A 409 that is not a stale version is not retried.
    let o_1002 = mock.state.lock().unwrap().orders["o_1002"].to_string();
    mock.script(200, vec![], &o_1002);
    mock.script_ct(409, "PendingOperation");
    let err = commercetools.cancel_order(&cancel).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Conflict, "{err}");
    assert!(err.is_retryable());

    mock.script(
        429,
        vec![("retry-after", "2")],
        r#"{"statusCode":429,"message":"Too many requests","errors":[{"code":"TooManyRequests","message":"m"}]}"#,
    );
    let err = commercetools.order(&id).await.unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );

    for (status, code) in [(503, "OverCapacity"), (502, "General"), (500, "General")] {
        mock.script_ct(status, code);
        let err = commercetools.order(&id).await.unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::Unavailable, "{status} {err}");
        assert!(err.is_retryable());
    }

    mock.script(200, vec![], &o_1002);
    mock.script_ct(400, "InvalidOperation");
    let err = commercetools.cancel_order(&cancel).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");

    mock.script_ct(400, "InvalidInput");
    let err = commercetools
        .order_by_number(&OrderNumber::new("1001"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput, "{err}");

    mock.script(200, vec![], "{\"id\": \"o_1001\", \"version\": ");
    let err = commercetools.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected, "{err}");

    mock.script(200, vec![], r#"{"id":"o_1001","version":1}"#);
    let err = commercetools.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected, "{err}");

    mock.state.lock().unwrap().scripted.push(Scripted {
        status: 200,
        headers: vec![],
        body: "{}".to_owned(),
        delay: Duration::from_millis(800),
    });
    let mut slow = commercetools.config().clone();
    slow.timeout_ms = 200;
    let slow = CommercetoolsOms::new(slow).unwrap();
    let err = slow.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout, "{err}");

    // Wrong client credentials: Unauthorized, and the secret is never shown.
    let mut wrong = commercetools.config().clone();
    wrong.client_secret = SecretString::from("ct_wrong_secret");
    let wrong = CommercetoolsOms::new(wrong).unwrap();
    let err = wrong.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized, "{err}");
    assert_eq!(err.context_value("ct_code"), Some("invalid_client"));
    let shown = format!("{err} {err:?} {wrong:?} {commercetools:?}");
    assert!(
        !shown.contains("ct_wrong_secret") && !shown.contains(CLIENT_SECRET),
        "{shown}"
    );
}

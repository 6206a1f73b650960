#![cfg(feature = "shopify")]
//! The Shopify adapter over the wire: the OMS and payments conformance suites against a loopback
//! server that speaks Shopify's Admin GraphQL format (one endpoint, operations dispatched by
//! name, variables checked strictly against the input types the way Shopify rejects them,
//! `userErrors`, the `@idempotent` directive, `extensions.cost` on every answer), plus throttling
//! and the error mapping on real responses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use order_agent_adapters::shopify::{Shopify, ShopifyConfig};
use order_agent_core::domain::{
    Address, AddressChangeRequest, CancellationReason, CancellationRequest, Channel, ContactPoint,
    CustomerId, ItemChange, ItemModificationRequest, LineId, Order, OrderId, OrderNumber,
    OrderStatus, PaymentId, ProductId, RefundState, ResolutionKind, ReturnAuthorisation, ReturnId,
    ReturnLine, ReturnReason, ReturnRequest, Tender, TrackingStatus, VariantId,
};
use order_agent_core::ports::{Oms, Payments, PortErrorKind, RefundRequest};
use order_agent_core::{Currency, Money};
use order_agent_testkit::conformance::{oms, payments};
use secrecy::SecretString;
use serde_json::{json, Value};

const TOKEN: &str = "shpat_mock_0123456789";
const VERSION: &str = "2026-01";

// ---------------------------------------------------------------------------------------------
// Input types, checked the way Shopify checks variables

#[derive(Clone, Copy)]
enum Ty {
    Id,
    Str,
    Int,
    Bool,
    Decimal,
    DateTime,
    Enum(&'static [&'static str]),
    Obj(&'static Shape),
    List(&'static Ty),
}

struct Shape {
    name: &'static str,
    fields: &'static [(&'static str, bool, Ty)],
}

const MAILING_ADDRESS_INPUT: Shape = Shape {
    name: "MailingAddressInput",
    fields: &[
        ("address1", false, Ty::Str),
        ("address2", false, Ty::Str),
        ("city", false, Ty::Str),
        ("company", false, Ty::Str),
        ("countryCode", false, Ty::Str),
        ("firstName", false, Ty::Str),
        ("lastName", false, Ty::Str),
        ("phone", false, Ty::Str),
        ("provinceCode", false, Ty::Str),
        ("zip", false, Ty::Str),
    ],
};

const ORDER_INPUT: Shape = Shape {
    name: "OrderInput",
    fields: &[
        ("id", true, Ty::Id),
        ("shippingAddress", false, Ty::Obj(&MAILING_ADDRESS_INPUT)),
        ("email", false, Ty::Str),
        ("note", false, Ty::Str),
        ("tags", false, Ty::List(&Ty::Str)),
    ],
};

const METAFIELDS_SET_INPUT: Shape = Shape {
    name: "MetafieldsSetInput",
    fields: &[
        ("ownerId", true, Ty::Id),
        ("namespace", false, Ty::Str),
        ("key", true, Ty::Str),
        ("type", false, Ty::Str),
        ("value", true, Ty::Str),
        ("compareDigest", false, Ty::Str),
    ],
};

const RETURN_REASONS: &[&str] = &[
    "COLOR",
    "DEFECTIVE",
    "NOT_AS_DESCRIBED",
    "OTHER",
    "SIZE_TOO_LARGE",
    "SIZE_TOO_SMALL",
    "STYLE",
    "UNKNOWN",
    "UNWANTED",
    "WRONG_ITEM",
];

const RETURN_LINE_ITEM_INPUT: Shape = Shape {
    name: "ReturnLineItemInput",
    fields: &[
        ("fulfillmentLineItemId", true, Ty::Id),
        ("quantity", true, Ty::Int),
        ("returnReason", false, Ty::Enum(RETURN_REASONS)),
        ("returnReasonNote", false, Ty::Str),
        ("returnReasonDefinitionId", false, Ty::Id),
    ],
};

const RETURN_INPUT: Shape = Shape {
    name: "ReturnInput",
    fields: &[
        ("orderId", true, Ty::Id),
        (
            "returnLineItems",
            true,
            Ty::List(&Ty::Obj(&RETURN_LINE_ITEM_INPUT)),
        ),
        ("notifyCustomer", false, Ty::Bool),
        ("requestedAt", false, Ty::DateTime),
    ],
};

const ORDER_TRANSACTION_INPUT: Shape = Shape {
    name: "OrderTransactionInput",
    fields: &[
        ("amount", true, Ty::Decimal),
        ("gateway", true, Ty::Str),
        (
            "kind",
            true,
            Ty::Enum(&[
                "AUTHORIZATION",
                "CAPTURE",
                "CHANGE",
                "EMV_AUTHORIZATION",
                "REFUND",
                "SALE",
                "SUGGESTED_REFUND",
                "VOID",
            ]),
        ),
        ("orderId", true, Ty::Id),
        ("parentId", false, Ty::Id),
    ],
};

const REFUND_INPUT: Shape = Shape {
    name: "RefundInput",
    fields: &[
        ("orderId", true, Ty::Id),
        ("note", false, Ty::Str),
        ("notify", false, Ty::Bool),
        ("currency", false, Ty::Str),
        (
            "transactions",
            false,
            Ty::List(&Ty::Obj(&ORDER_TRANSACTION_INPUT)),
        ),
    ],
};

/// The variables each operation declares: (operation, required?, type).
fn variables_of(operation: &str) -> Option<Shape> {
    let fields: &'static [(&'static str, bool, Ty)] = match operation {
        "OrderById" | "CustomerById" | "OrderReturns" | "ProductVariants"
        | "PaymentTransaction" | "OrderEditBegin" => &[("id", true, Ty::Id)],
        "OrdersByName" | "CustomersByContact" => {
            &[("query", true, Ty::Str), ("first", true, Ty::Int)]
        }
        "OrdersOfCustomer" => &[("id", true, Ty::Id), ("first", true, Ty::Int)],
        "OrderCancel" => &[
            ("orderId", true, Ty::Id),
            (
                "reason",
                true,
                Ty::Enum(&[
                    "CUSTOMER",
                    "DECLINED",
                    "FRAUD",
                    "INVENTORY",
                    "OTHER",
                    "STAFF",
                ]),
            ),
            ("refund", true, Ty::Bool),
            ("restock", true, Ty::Bool),
            ("notifyCustomer", false, Ty::Bool),
            ("staffNote", false, Ty::Str),
        ],
        "OrderUpdateShippingAddress" => &[("input", true, Ty::Obj(&ORDER_INPUT))],
        "OrderEditSetQuantity" => &[
            ("id", true, Ty::Id),
            ("lineItemId", true, Ty::Id),
            ("quantity", true, Ty::Int),
            ("restock", false, Ty::Bool),
        ],
        "OrderEditAddVariant" => &[
            ("id", true, Ty::Id),
            ("variantId", true, Ty::Id),
            ("quantity", true, Ty::Int),
            ("allowDuplicates", false, Ty::Bool),
        ],
        "OrderEditCommit" => &[
            ("id", true, Ty::Id),
            ("notifyCustomer", false, Ty::Bool),
            ("staffNote", false, Ty::Str),
        ],
        "MetafieldsSet" => &[(
            "metafields",
            true,
            Ty::List(&Ty::Obj(&METAFIELDS_SET_INPUT)),
        )],
        "ReturnCreate" => &[("returnInput", true, Ty::Obj(&RETURN_INPUT))],
        "RefundCreate" => &[
            ("input", true, Ty::Obj(&REFUND_INPUT)),
            ("idempotencyKey", true, Ty::Str),
        ],
        _ => return None,
    };
    Some(Shape {
        name: "variables",
        fields,
    })
}

/// Checks `value` against `shape`; the error names the path like Shopify's `problems`.
fn check(value: &Value, shape: &Shape, path: &str) -> Result<(), String> {
    let Some(object) = value.as_object() else {
        return Err(format!("{path}: expected an object of {}", shape.name));
    };
    for key in object.keys() {
        if !shape.fields.iter().any(|(name, _, _)| name == key) {
            return Err(format!(
                "{path}.{key}: Field is not defined on {}",
                shape.name
            ));
        }
    }
    for (name, required, ty) in shape.fields {
        match object.get(*name) {
            None | Some(Value::Null) if *required => {
                return Err(format!("{path}.{name}: Expected value to not be null"))
            }
            None | Some(Value::Null) => {}
            Some(v) => check_ty(v, ty, &format!("{path}.{name}"))?,
        }
    }
    Ok(())
}

fn check_ty(value: &Value, ty: &Ty, path: &str) -> Result<(), String> {
    let ok = match ty {
        Ty::Id => value
            .as_str()
            .is_some_and(|s| s.starts_with("gid://shopify/")),
        Ty::Str => value.is_string(),
        Ty::Int => value.is_i64(),
        Ty::Bool => value.is_boolean(),
        Ty::Decimal => value
            .as_str()
            .is_some_and(|s| Money::parse(s, Currency::CHF).is_ok()),
        Ty::DateTime => value
            .as_str()
            .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        Ty::Enum(values) => value.as_str().is_some_and(|s| values.contains(&s)),
        Ty::Obj(shape) => return check(value, shape, path),
        Ty::List(inner) => {
            let Some(items) = value.as_array() else {
                return Err(format!("{path}: expected a list"));
            };
            for (i, item) in items.iter().enumerate() {
                check_ty(item, inner, &format!("{path}.{i}"))?;
            }
            true
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{path}: invalid value {value}"))
    }
}

// ---------------------------------------------------------------------------------------------
// The mock shop

#[derive(Debug, Clone)]
struct Received {
    operation: String,
    query: String,
    variables: Value,
    headers: HeaderMap,
    path: String,
}

#[derive(Debug, Clone)]
struct Edit {
    order: String,
    quantities: Vec<(String, i64)>,
    additions: Vec<(String, i64)>,
}

/// A scripted answer: operation name, status, extra headers, body.
type Scripted = (String, u16, Vec<(&'static str, String)>, String);

#[derive(Debug, Default)]
struct MockState {
    orders: BTreeMap<String, Value>,
    customers: Vec<Value>,
    /// Product GID → product JSON with `variants.nodes`.
    products: BTreeMap<String, Value>,
    edits: HashMap<String, Edit>,
    /// Idempotency key → (the variables, the saved answer).
    keys: HashMap<String, (Value, Value)>,
    next_id: u64,
    clock: i64,
    received: Vec<Received>,
    /// Answers served instead of the logic for one operation name, oldest first.
    scripted: Vec<Scripted>,
    /// `throttleStatus.currentlyAvailable` and `restoreRate` reported.
    throttle: (f64, f64),
    /// Strip refund notes from payment reads (as if the listing missed the adapter's own refunds).
    hide_notes: bool,
    /// Ignore the `@idempotent` key (a broken shop, to prove the suite can fail).
    forget_keys: bool,
}

#[derive(Debug, Clone, Default)]
struct MockShopify {
    state: Arc<Mutex<MockState>>,
}

fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

fn bag(minor: i64) -> Value {
    json!({ "shopMoney": { "amount": money(minor), "currencyCode": "CHF" } })
}

fn minor_of(amount: &str) -> i64 {
    Money::parse(amount, Currency::CHF).unwrap().to_minor()
}

fn number(gid: &str) -> u64 {
    gid.rsplit('/').next().unwrap().parse().unwrap()
}

fn order_gid(domain: &OrderId) -> String {
    let n = domain.as_str().trim_start_matches("o_");
    format!("gid://shopify/Order/{n}")
}

fn customer_gid(domain: &CustomerId) -> String {
    match domain.as_str() {
        "cus_anna" => "gid://shopify/Customer/1".to_owned(),
        "cus_ben" => "gid://shopify/Customer/2".to_owned(),
        other => panic!("unknown sample customer {other}"),
    }
}

fn address_json(a: &Address) -> Value {
    json!({
        "name": a.name,
        "address1": a.line1,
        "address2": a.line2,
        "zip": a.postcode,
        "city": a.city,
        "provinceCode": a.region,
        "countryCodeV2": a.country,
    })
}

fn line_gid(order: u64, index: usize) -> String {
    format!("gid://shopify/LineItem/{}", order * 10 + index as u64 + 1)
}

/// The testkit's sample order in Shopify's shape.
fn shopify_order(order: &Order) -> Value {
    let gid = order_gid(&order.id);
    let n = number(&gid);
    let lines: Vec<Value> = order
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "id": line_gid(n, i),
                "sku": l.sku.as_str(),
                "title": l.title,
                "currentQuantity": l.quantity,
                "product": {
                    "id": format!("gid://shopify/Product/{}", 100 + i),
                    "productType": l.category,
                    "tags": l.tags,
                },
                "variant": { "id": format!("gid://shopify/ProductVariant/{}", 1000 + i * 10) },
                "originalUnitPriceSet": bag(l.unit_price.to_minor()),
                "totalDiscountSet": bag(0),
                "taxLines": [{ "rate": 0.081 }],
            })
        })
        .collect();
    let shipped = matches!(
        order.status,
        OrderStatus::Fulfilled | OrderStatus::Delivered
    );
    let delivered = order.status == OrderStatus::Delivered;
    let fulfillments: Vec<Value> = if shipped {
        let placed = order.placed_at;
        vec![json!({
            "id": format!("gid://shopify/Fulfillment/{n}"),
            "status": "SUCCESS",
            "displayStatus": if delivered { "DELIVERED" } else { "IN_TRANSIT" },
            "createdAt": (placed + chrono::Duration::days(1)).to_rfc3339(),
            "deliveredAt": delivered.then(|| (placed + chrono::Duration::days(3)).to_rfc3339()),
            "estimatedDeliveryAt": (placed + chrono::Duration::days(3)).to_rfc3339(),
            "trackingInfo": [{
                "number": format!("99{n}"),
                "company": "Swiss Post",
                "url": format!("https://service.post.ch/track?n=99{n}"),
            }],
            "fulfillmentLineItems": { "nodes": order.lines.iter().enumerate().map(|(i, l)| json!({
                "id": format!("gid://shopify/FulfillmentLineItem/{}", n * 10 + i as u64 + 1),
                "quantity": l.quantity,
                "lineItem": { "id": line_gid(n, i) },
            })).collect::<Vec<_>>() },
        })]
    } else {
        Vec::new()
    };
    let pending = order.status == OrderStatus::Pending;
    let captured = order.payments[0].captured.to_minor();
    json!({
        "id": gid,
        "name": order.number.as_str(),
        "createdAt": order.placed_at.to_rfc3339(),
        "email": order.email,
        "phone": null,
        "cancelledAt": null,
        "closed": false,
        "displayFinancialStatus": if pending { "AUTHORIZED" } else { "PAID" },
        "displayFulfillmentStatus": if shipped { "FULFILLED" } else { "UNFULFILLED" },
        "currencyCode": "CHF",
        "taxesIncluded": true,
        "customer": { "id": customer_gid(&order.customer_id) },
        "shippingAddress": address_json(&order.shipping_address),
        "billingAddress": null,
        "totalShippingPriceSet": bag(order.shipping.to_minor()),
        "totalTaxSet": bag(order.tax_total.to_minor()),
        "totalDiscountsSet": bag(0),
        "lineItems": { "nodes": lines },
        "fulfillmentOrders": { "nodes": [{
            "id": format!("gid://shopify/FulfillmentOrder/{n}"),
            "status": if shipped { "CLOSED" } else { "OPEN" },
        }] },
        "fulfillments": fulfillments,
        "transactions": [{
            "id": format!("gid://shopify/OrderTransaction/{n}"),
            "kind": if pending { "AUTHORIZATION" } else { "SALE" },
            "status": "SUCCESS",
            "gateway": "shopify_payments",
            "createdAt": order.placed_at.to_rfc3339(),
            "parentTransaction": null,
            "amountSet": bag(captured),
        }],
        "modifications": null,
        "refunds": [],
        "returns": { "nodes": [] },
    })
}

fn graphql_error(message: &str, code: Option<&str>) -> Value {
    let mut e = json!({ "message": message, "locations": [{ "line": 1, "column": 1 }] });
    if let Some(code) = code {
        e["extensions"] = json!({ "code": code });
    }
    json!({ "errors": [e] })
}

fn user_errors(field: &[&str], message: &str, code: Option<&str>) -> Value {
    let mut e = json!({ "field": field, "message": message });
    if let Some(code) = code {
        e["code"] = json!(code);
    }
    json!([e])
}

/// The operation name a document declares (`query OrderById(` → `OrderById`).
fn operation_name(query: &str) -> Option<String> {
    let text = query.trim_start();
    let rest = text
        .strip_prefix("query ")
        .or_else(|| text.strip_prefix("mutation "))?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// A Shopify search string: `field:"value"` terms joined by ` OR `.
fn search_terms(query: &str) -> Option<Vec<(String, String)>> {
    query
        .split(" OR ")
        .map(|term| {
            let (field, value) = term.trim().split_once(':')?;
            let inner = value.strip_prefix('"')?.strip_suffix('"')?;
            Some((
                field.to_owned(),
                inner.replace("\\\"", "\"").replace("\\\\", "\\"),
            ))
        })
        .collect()
}

impl MockShopify {
    fn seeded() -> MockShopify {
        let mock = MockShopify::default();
        {
            let sample = oms::sample();
            let mut s = mock.state.lock().unwrap();
            s.throttle = (1990.0, 100.0);
            s.next_id = 50_000;
            s.clock = 1_740_000_000;
            for order in &sample.orders {
                let json = shopify_order(order);
                s.orders
                    .insert(json["id"].as_str().unwrap().to_owned(), json);
            }
            for customer in &sample.customers {
                let phone = customer
                    .contact_points
                    .iter()
                    .find(|c| c.channel == Channel::Sms)
                    .map(|c| json!({ "phoneNumber": c.address }));
                s.customers.push(json!({
                    "id": customer_gid(&customer.id),
                    "displayName": customer.name,
                    "locale": customer.locale.tag(),
                    "tags": customer.loyalty_tier.iter().map(|t| format!("loyalty:{t}")).collect::<Vec<_>>(),
                    "numberOfOrders": "5",
                    "defaultEmailAddress": { "emailAddress": customer.email },
                    "defaultPhoneNumber": phone,
                }));
            }
            for i in 0..2u64 {
                let product = format!("gid://shopify/Product/{}", 100 + i);
                let variants: Vec<Value> = (0..3u64)
                    .map(|v| {
                        json!({
                            "id": format!("gid://shopify/ProductVariant/{}", 1000 + i * 10 + v),
                            "sku": format!("SKU-{i}-{v}"),
                            "price": "25.00",
                            "inventoryQuantity": 4 - 3 * v as i64,
                        })
                    })
                    .collect();
                s.products.insert(
                    product.clone(),
                    json!({ "id": product, "variants": { "nodes": variants } }),
                );
            }
            // The payments fixture: CHF 100.00 captured, CHF 10.00 refunded earlier.
            let mut order = s.orders["gid://shopify/Order/2001"].clone();
            order["id"] = json!("gid://shopify/Order/3001");
            order["name"] = json!("#3001");
            order["transactions"] = json!([
                {
                    "id": "gid://shopify/OrderTransaction/9001",
                    "kind": "SALE",
                    "status": "SUCCESS",
                    "gateway": "shopify_payments",
                    "createdAt": "2025-02-10T10:00:00Z",
                    "parentTransaction": null,
                    "amountSet": bag(10_000),
                },
                {
                    "id": "gid://shopify/OrderTransaction/9002",
                    "kind": "REFUND",
                    "status": "SUCCESS",
                    "gateway": "shopify_payments",
                    "createdAt": "2025-02-11T10:00:00Z",
                    "parentTransaction": { "id": "gid://shopify/OrderTransaction/9001" },
                    "amountSet": bag(1_000),
                },
            ]);
            order["refunds"] = json!([{
                "id": "gid://shopify/Refund/9003",
                "createdAt": "2025-02-11T10:00:00Z",
                "note": "damaged in transit",
                "transactions": { "nodes": [{
                    "id": "gid://shopify/OrderTransaction/9002",
                    "kind": "REFUND",
                    "status": "SUCCESS",
                    "parentTransaction": { "id": "gid://shopify/OrderTransaction/9001" },
                    "amountSet": bag(1_000),
                }] },
            }]);
            s.orders
                .insert("gid://shopify/Order/3001".to_owned(), order);
        }
        mock
    }

    fn script(
        &self,
        operation: &str,
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: &str,
    ) {
        self.state.lock().unwrap().scripted.push((
            operation.to_owned(),
            status,
            headers,
            body.to_owned(),
        ));
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    async fn start(self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let mock = self.clone();
                async move { mock.handle(method, uri, headers, body) }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let mut s = self.state.lock().unwrap();
        if method != Method::POST || uri.path() != format!("/admin/api/{VERSION}/graphql.json") {
            return (StatusCode::NOT_FOUND, "Not Found").into_response();
        }
        if headers
            .get("x-shopify-access-token")
            .and_then(|v| v.to_str().ok())
            != Some(TOKEN)
        {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" })),
            )
                .into_response();
        }
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let Ok(request) = serde_json::from_slice::<Value>(&body) else {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "errors": "Bad Request" })),
            )
                .into_response();
        };
        let query = request["query"].as_str().unwrap_or("").to_owned();
        let variables = request
            .get("variables")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let Some(operation) = operation_name(&query) else {
            return reply(
                graphql_error("Parse error on \"{\" (LCURLY) at [1, 1]", None),
                &s,
            );
        };
        if request.get("operationName").and_then(Value::as_str) != Some(operation.as_str()) {
            return reply(
                graphql_error("operationName does not match the document", None),
                &s,
            );
        }
        s.received.push(Received {
            operation: operation.clone(),
            query: query.clone(),
            variables: variables.clone(),
            headers: headers.clone(),
            path: uri.path().to_owned(),
        });
        if let Some(i) = s.scripted.iter().position(|(op, ..)| *op == operation) {
            let (_, status, extra, body) = s.scripted.remove(i);
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            response
                .headers_mut()
                .insert("content-type", "application/json".parse().unwrap());
            for (name, value) in extra {
                response.headers_mut().insert(name, value.parse().unwrap());
            }
            return response;
        }
        let Some(shape) = variables_of(&operation) else {
            return reply(
                graphql_error(
                    &format!("Field '{operation}' doesn't exist on type 'QueryRoot'"),
                    Some("undefinedField"),
                ),
                &s,
            );
        };
        // Every variable must be declared by the document, and every declared one be known.
        for (name, _, _) in shape.fields {
            if variables.get(*name).is_some() {
                assert!(
                    query.contains(&format!("${name}:")),
                    "{operation} does not declare ${name}"
                );
            }
        }
        if let Err(problem) = check(&variables, &shape, "variables") {
            let first = problem
                .split('.')
                .nth(1)
                .unwrap_or("")
                .split(':')
                .next()
                .unwrap_or("");
            return reply(
                json!({ "errors": [{
                    "message": format!("Variable ${first} of type {operation} was provided invalid value"),
                    "locations": [{ "line": 1, "column": 1 }],
                    "extensions": { "value": variables, "problems": [{ "path": [], "explanation": problem }] },
                }] }),
                &s,
            );
        }
        if operation == "RefundCreate" {
            assert!(
                query.contains("@idempotent(key: $idempotencyKey)"),
                "refundCreate without the @idempotent directive"
            );
        }
        let data = s.run(&operation, &variables);
        match data {
            Ok(data) => reply(json!({ "data": data }), &s),
            Err(errors) => reply(errors, &s),
        }
    }
}

fn reply(mut body: Value, s: &MockState) -> Response {
    body["extensions"] = json!({ "cost": {
        "requestedQueryCost": 12,
        "actualQueryCost": 10,
        "throttleStatus": {
            "maximumAvailable": 2000.0,
            "currentlyAvailable": s.throttle.0,
            "restoreRate": s.throttle.1,
        },
    } });
    (StatusCode::OK, axum::Json(body)).into_response()
}

impl MockState {
    fn id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("gid://shopify/{kind}/{}", self.next_id)
    }

    fn now(&mut self) -> String {
        self.clock += 60;
        chrono::DateTime::from_timestamp(self.clock, 0)
            .unwrap()
            .to_rfc3339()
    }

    fn run(&mut self, operation: &str, v: &Value) -> Result<Value, Value> {
        let str_of = |key: &str| v[key].as_str().unwrap_or("").to_owned();
        match operation {
            "OrderById" => Ok(json!({ "order": self.orders.get(&str_of("id")) })),
            "OrdersByName" => {
                let terms = search_terms(&str_of("query"))
                    .ok_or_else(|| graphql_error("mock cannot read the search", None))?;
                let found: Vec<Value> = self
                    .orders
                    .values()
                    .filter(|o| {
                        terms
                            .iter()
                            .any(|(f, value)| f == "name" && o["name"].as_str() == Some(value))
                    })
                    .take(v["first"].as_u64().unwrap() as usize)
                    .cloned()
                    .collect();
                Ok(json!({ "orders": { "nodes": found } }))
            }
            "OrdersOfCustomer" => {
                let id = str_of("id");
                if !self.customers.iter().any(|c| c["id"] == json!(id)) {
                    return Ok(json!({ "customer": null }));
                }
                let mut found: Vec<Value> = self
                    .orders
                    .values()
                    .filter(|o| o["customer"]["id"] == json!(id))
                    .cloned()
                    .collect();
                found.sort_by(|a, b| b["createdAt"].as_str().cmp(&a["createdAt"].as_str()));
                found.truncate(v["first"].as_u64().unwrap() as usize);
                Ok(json!({ "customer": { "orders": { "nodes": found } } }))
            }
            "CustomerById" => {
                let id = str_of("id");
                Ok(json!({ "customer": self.customers.iter().find(|c| c["id"] == json!(id)) }))
            }
            "CustomersByContact" => {
                let terms = search_terms(&str_of("query"))
                    .ok_or_else(|| graphql_error("mock cannot read the search", None))?;
                let found: Vec<Value> = self
                    .customers
                    .iter()
                    .filter(|c| {
                        terms.iter().any(|(f, value)| match f.as_str() {
                            "email" => c["defaultEmailAddress"]["emailAddress"]
                                .as_str()
                                .is_some_and(|e| e.eq_ignore_ascii_case(value)),
                            "phone" => {
                                c["defaultPhoneNumber"]["phoneNumber"].as_str()
                                    == Some(value.as_str())
                            }
                            _ => false,
                        })
                    })
                    .cloned()
                    .collect();
                Ok(json!({ "customers": { "nodes": found } }))
            }
            "OrderCancel" => {
                let id = str_of("orderId");
                assert_eq!(
                    v["refund"],
                    json!(false),
                    "the agent refunds through payments"
                );
                assert_eq!(
                    v["restock"],
                    json!(false),
                    "the agent restocks through inventory"
                );
                let now = self.now();
                let job = self.id("Job");
                let Some(order) = self.orders.get_mut(&id) else {
                    return Ok(
                        json!({ "orderCancel": { "job": null, "orderCancelUserErrors": user_errors(&["orderId"], "Order does not exist", Some("NOT_FOUND")) } }),
                    );
                };
                if !order["cancelledAt"].is_null() {
                    return Ok(
                        json!({ "orderCancel": { "job": null, "orderCancelUserErrors": user_errors(&["orderId"], "Order has already been cancelled", Some("INVALID")) } }),
                    );
                }
                if order["fulfillments"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty())
                {
                    return Ok(
                        json!({ "orderCancel": { "job": null, "orderCancelUserErrors": user_errors(&["orderId"], "Cannot cancel an order with fulfillments", Some("INVALID")) } }),
                    );
                }
                order["cancelledAt"] = json!(now);
                Ok(
                    json!({ "orderCancel": { "job": { "id": job, "done": true }, "orderCancelUserErrors": [] } }),
                )
            }
            "OrderUpdateShippingAddress" => {
                let input = &v["input"];
                let id = input["id"].as_str().unwrap().to_owned();
                let Some(order) = self.orders.get_mut(&id) else {
                    return Ok(
                        json!({ "orderUpdate": { "order": null, "userErrors": user_errors(&["id"], "Order does not exist", None) } }),
                    );
                };
                if let Some(a) = input.get("shippingAddress") {
                    let name = format!(
                        "{} {}",
                        a["firstName"].as_str().unwrap_or(""),
                        a["lastName"].as_str().unwrap_or("")
                    );
                    order["shippingAddress"] = json!({
                        "name": name.trim(),
                        "address1": a["address1"],
                        "address2": a.get("address2").cloned().unwrap_or(Value::Null),
                        "zip": a["zip"],
                        "city": a["city"],
                        "provinceCode": a.get("provinceCode").cloned().unwrap_or(Value::Null),
                        "countryCodeV2": a["countryCode"],
                    });
                }
                Ok(json!({ "orderUpdate": { "order": { "id": id }, "userErrors": [] } }))
            }
            "OrderEditBegin" => {
                let id = str_of("id");
                let Some(order) = self.orders.get(&id).cloned() else {
                    return Ok(
                        json!({ "orderEditBegin": { "calculatedOrder": null, "userErrors": user_errors(&["id"], "The order does not exist", None) } }),
                    );
                };
                let calculated = self.id("CalculatedOrder");
                let lines: Vec<Value> = order["lineItems"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| json!({
                        "id": format!("gid://shopify/CalculatedLineItem/{}", number(l["id"].as_str().unwrap())),
                        "quantity": l["currentQuantity"],
                    }))
                    .collect();
                self.edits.insert(
                    calculated.clone(),
                    Edit {
                        order: id,
                        quantities: Vec::new(),
                        additions: Vec::new(),
                    },
                );
                Ok(
                    json!({ "orderEditBegin": { "calculatedOrder": { "id": calculated, "lineItems": { "nodes": lines } }, "userErrors": [] } }),
                )
            }
            "OrderEditSetQuantity" => {
                let Some(edit) = self.edits.get_mut(&str_of("id")) else {
                    return Ok(
                        json!({ "orderEditSetQuantity": { "calculatedLineItem": null, "userErrors": user_errors(&["id"], "The calculated order does not exist", None) } }),
                    );
                };
                let line = str_of("lineItemId");
                let quantity = v["quantity"].as_i64().unwrap();
                if quantity < 0 {
                    return Ok(
                        json!({ "orderEditSetQuantity": { "calculatedLineItem": null, "userErrors": user_errors(&["quantity"], "Quantity is invalid", None) } }),
                    );
                }
                edit.quantities.push((line.clone(), quantity));
                Ok(
                    json!({ "orderEditSetQuantity": { "calculatedLineItem": { "id": line, "quantity": quantity }, "userErrors": [] } }),
                )
            }
            "OrderEditAddVariant" => {
                let variant = str_of("variantId");
                let known = self.products.values().any(|p| {
                    p["variants"]["nodes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x["id"] == json!(variant))
                });
                let line = self.id("CalculatedLineItem");
                let Some(edit) = self.edits.get_mut(&str_of("id")) else {
                    return Ok(
                        json!({ "orderEditAddVariant": { "calculatedLineItem": null, "userErrors": user_errors(&["id"], "The calculated order does not exist", None) } }),
                    );
                };
                if !known {
                    return Ok(
                        json!({ "orderEditAddVariant": { "calculatedLineItem": null, "userErrors": user_errors(&["variantId"], "Variant does not exist", None) } }),
                    );
                }
                let quantity = v["quantity"].as_i64().unwrap();
                edit.additions.push((variant, quantity));
                Ok(
                    json!({ "orderEditAddVariant": { "calculatedLineItem": { "id": line, "quantity": quantity }, "userErrors": [] } }),
                )
            }
            "OrderEditCommit" => {
                let Some(edit) = self.edits.remove(&str_of("id")) else {
                    return Ok(
                        json!({ "orderEditCommit": { "order": null, "userErrors": user_errors(&["id"], "The calculated order does not exist", None) } }),
                    );
                };
                let mut new_lines = Vec::new();
                for (variant, quantity) in &edit.additions {
                    let id = self.id("LineItem");
                    let product = self
                        .products
                        .values()
                        .find(|p| {
                            p["variants"]["nodes"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .any(|x| x["id"] == json!(variant))
                        })
                        .unwrap()
                        .clone();
                    new_lines.push(json!({
                        "id": id,
                        "sku": null,
                        "title": "Exchanged article",
                        "currentQuantity": quantity,
                        "product": { "id": product["id"], "productType": "apparel", "tags": [] },
                        "variant": { "id": variant },
                        "originalUnitPriceSet": bag(2_500),
                        "totalDiscountSet": bag(0),
                        "taxLines": [{ "rate": 0.081 }],
                    }));
                }
                let order = self.orders.get_mut(&edit.order).unwrap();
                let lines = order["lineItems"]["nodes"].as_array_mut().unwrap();
                for (calculated, quantity) in &edit.quantities {
                    let n = number(calculated);
                    let line = lines
                        .iter_mut()
                        .find(|l| number(l["id"].as_str().unwrap()) == n)
                        .unwrap();
                    line["currentQuantity"] = json!(quantity);
                }
                lines.extend(new_lines);
                Ok(
                    json!({ "orderEditCommit": { "order": { "id": edit.order }, "userErrors": [] } }),
                )
            }
            "MetafieldsSet" => {
                for m in v["metafields"].as_array().unwrap() {
                    let owner = m["ownerId"].as_str().unwrap();
                    assert_eq!(m["namespace"], json!("order_agent"));
                    let Some(order) = self.orders.get_mut(owner) else {
                        return Ok(
                            json!({ "metafieldsSet": { "metafields": null, "userErrors": user_errors(&["metafields", "0", "ownerId"], "Owner does not exist", Some("INVALID_VALUE")) } }),
                        );
                    };
                    order["modifications"] = json!({ "value": m["value"] });
                }
                Ok(json!({ "metafieldsSet": { "metafields": [], "userErrors": [] } }))
            }
            "OrderReturns" => {
                let Some(order) = self.orders.get(&str_of("id")) else {
                    return Ok(json!({ "order": null }));
                };
                Ok(json!({ "order": {
                    "id": order["id"],
                    "returns": order["returns"],
                    "fulfillments": order["fulfillments"],
                    "lineItems": { "nodes": order["lineItems"]["nodes"].as_array().unwrap().iter().map(|l| json!({ "id": l["id"] })).collect::<Vec<_>>() },
                } }))
            }
            "ReturnCreate" => {
                let input = &v["returnInput"];
                let id = self.id("Return");
                let Some(order) = self.orders.get_mut(input["orderId"].as_str().unwrap()) else {
                    return Ok(
                        json!({ "returnCreate": { "return": null, "userErrors": user_errors(&["returnInput", "orderId"], "Order does not exist", Some("NOT_FOUND")) } }),
                    );
                };
                let mut lines = Vec::new();
                for (i, item) in input["returnLineItems"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .enumerate()
                {
                    let fli = item["fulfillmentLineItemId"].as_str().unwrap();
                    let fulfilled = order["fulfillments"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|f| {
                            f["fulfillmentLineItems"]["nodes"]
                                .as_array()
                                .unwrap()
                                .iter()
                        })
                        .find(|x| x["id"] == json!(fli));
                    let Some(fulfilled) = fulfilled else {
                        return Ok(
                            json!({ "returnCreate": { "return": null, "userErrors": user_errors(&["returnInput", "returnLineItems", &i.to_string(), "fulfillmentLineItemId"], "Fulfillment line item does not exist", Some("NOT_FOUND")) } }),
                        );
                    };
                    if item["quantity"].as_i64().unwrap() > fulfilled["quantity"].as_i64().unwrap()
                    {
                        return Ok(
                            json!({ "returnCreate": { "return": null, "userErrors": user_errors(&["returnInput", "returnLineItems", &i.to_string(), "quantity"], "Quantity is not returnable", Some("INVALID_STATE")) } }),
                        );
                    }
                    lines.push(json!({ "id": format!("{id}/line/{i}"), "returnReasonNote": item["returnReasonNote"] }));
                }
                let name = format!(
                    "{}-R{}",
                    order["name"].as_str().unwrap(),
                    order["returns"]["nodes"].as_array().unwrap().len() + 1
                );
                order["returns"]["nodes"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({
                        "id": id, "name": name, "returnLineItems": { "nodes": lines },
                    }));
                Ok(
                    json!({ "returnCreate": { "return": { "id": id, "name": name, "status": "OPEN" }, "userErrors": [] } }),
                )
            }
            "ProductVariants" => Ok(json!({
                "shop": { "currencyCode": "CHF" },
                "product": self.products.get(&str_of("id")),
            })),
            "PaymentTransaction" => {
                let id = str_of("id");
                let hide = self.hide_notes;
                for order in self.orders.values() {
                    if let Some(t) = order["transactions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|t| t["id"] == json!(id))
                    {
                        let mut refunds = order["refunds"].clone();
                        if hide {
                            for r in refunds.as_array_mut().unwrap() {
                                r["note"] = Value::Null;
                            }
                        }
                        let mut node = t.clone();
                        node["__typename"] = json!("OrderTransaction");
                        node["order"] = json!({ "id": order["id"], "refunds": refunds });
                        return Ok(json!({ "node": node }));
                    }
                }
                Ok(json!({ "node": null }))
            }
            "RefundCreate" => {
                let key = str_of("idempotencyKey");
                if self.forget_keys {
                    self.keys.clear();
                }
                if let Some((first, answer)) = self.keys.get(&key) {
                    return if first["input"] == v["input"] {
                        Ok(answer.clone())
                    } else {
                        Err(graphql_error(
                            "The idempotency key was already used with different parameters",
                            Some("IDEMPOTENCY_KEY_PARAMETER_MISMATCH"),
                        ))
                    };
                }
                let answer = self.refund_create(&v["input"]);
                if answer["refundCreate"]["refund"].is_object() {
                    self.keys.insert(key, (v.clone(), answer.clone()));
                }
                Ok(answer)
            }
            other => Err(graphql_error(&format!("mock has no {other}"), None)),
        }
    }

    fn refund_create(&mut self, input: &Value) -> Value {
        let refund_id = self.id("Refund");
        let transaction_id = self.id("OrderTransaction");
        let now = self.now();
        let order_id = input["orderId"].as_str().unwrap();
        let Some(order) = self.orders.get_mut(order_id) else {
            return json!({ "refundCreate": { "refund": null, "userErrors": user_errors(&["orderId"], "Order does not exist", None) } });
        };
        let requested = input["transactions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let [t] = requested.as_slice() else {
            return json!({ "refundCreate": { "refund": null, "userErrors": user_errors(&["transactions"], "mock takes exactly one transaction", None) } });
        };
        let parent = t["parentId"].as_str().unwrap_or("");
        let transactions = order["transactions"].as_array().unwrap();
        let Some(sale) = transactions
            .iter()
            .find(|x| x["id"] == json!(parent) && x["status"] == json!("SUCCESS"))
        else {
            return json!({ "refundCreate": { "refund": null, "userErrors": user_errors(&["transactions", "0", "parentId"], "Parent transaction does not exist", None) } });
        };
        assert_eq!(
            t["gateway"], sale["gateway"],
            "refund through the payment's gateway"
        );
        assert_eq!(t["kind"], json!("REFUND"));
        let captured = minor_of(sale["amountSet"]["shopMoney"]["amount"].as_str().unwrap());
        let refunded: i64 = transactions
            .iter()
            .filter(|x| {
                x["kind"] == json!("REFUND")
                    && x["parentTransaction"]["id"] == json!(parent)
                    && x["status"] == json!("SUCCESS")
            })
            .map(|x| minor_of(x["amountSet"]["shopMoney"]["amount"].as_str().unwrap()))
            .sum();
        let amount = minor_of(t["amount"].as_str().unwrap());
        if amount <= 0 {
            return json!({ "refundCreate": { "refund": null, "userErrors": user_errors(&["transactions", "0", "amount"], "Amount must be greater than zero", None) } });
        }
        if amount > captured - refunded {
            return json!({ "refundCreate": { "refund": null, "userErrors": user_errors(&["transactions", "0", "amount"], "Refund amount exceeds the refundable amount", None) } });
        }
        let refund_transaction = json!({
            "id": transaction_id,
            "kind": "REFUND",
            "status": "SUCCESS",
            "gateway": t["gateway"],
            "createdAt": now,
            "parentTransaction": { "id": parent },
            "amountSet": bag(amount),
        });
        order["transactions"]
            .as_array_mut()
            .unwrap()
            .push(refund_transaction.clone());
        let refund = json!({
            "id": refund_id,
            "createdAt": now,
            "note": input["note"],
            "transactions": { "nodes": [refund_transaction] },
        });
        order["refunds"]
            .as_array_mut()
            .unwrap()
            .push(refund.clone());
        json!({ "refundCreate": { "refund": refund, "userErrors": [] } })
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn config(url: &str) -> ShopifyConfig {
    ShopifyConfig::new(url, SecretString::from(TOKEN))
}

async fn adapter() -> (MockShopify, Shopify) {
    let mock = MockShopify::seeded();
    let url = mock.clone().start().await;
    (mock, Shopify::new(config(&url)).unwrap())
}

fn order_id(n: u32) -> OrderId {
    OrderId::new(format!("gid://shopify/Order/{n}"))
}

fn oms_fixture() -> oms::OmsFixture {
    let sample = oms::sample().fixture;
    oms::OmsFixture {
        run_id: "wire".to_owned(),
        customer: CustomerId::new("gid://shopify/Customer/1"),
        order: order_id(1001),
        cancellable_order: order_id(1002),
        readdressable_order: order_id(1003),
        new_address: sample.new_address,
        modifiable_order: order_id(1004),
        shipped_order: order_id(1005),
        unknown_order: order_id(404),
        unknown_number: OrderNumber::new("#404404"),
        unknown_customer: CustomerId::new("gid://shopify/Customer/404"),
        unknown_email: "nobody@example.invalid".to_owned(),
    }
}

fn payments_fixture() -> payments::PaymentsFixture {
    payments::PaymentsFixture {
        run_id: "wire".to_owned(),
        payment: PaymentId::new("gid://shopify/OrderTransaction/9001"),
        unknown_payment: PaymentId::new("gid://shopify/OrderTransaction/404"),
    }
}

fn chf(minor: i64) -> Money {
    Money::from_minor(minor, Currency::CHF)
}

fn refund_request(key: &str, minor: i64) -> RefundRequest {
    RefundRequest {
        payment_id: payments_fixture().payment,
        amount: chf(minor),
        idempotency_key: key.to_owned(),
        metadata: BTreeMap::from([("order_id".to_owned(), "#3001".to_owned())]),
    }
}

// ---------------------------------------------------------------------------------------------
// Conformance

#[tokio::test]
async fn passes_the_oms_conformance_suite() {
    let (_, shopify) = adapter().await;
    oms::run_all(&shopify, &oms_fixture()).await.unwrap();
}

#[tokio::test]
async fn passes_the_payments_conformance_suite() {
    let (_, shopify) = adapter().await;
    payments::run_all(&shopify, &payments_fixture())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_mock_that_forgets_cancellations_fails_the_suite() {
    // The suite must be able to fail against this adapter: a shop whose cancellations do not
    // stick fails the cancel check.
    let (mock, shopify) = adapter().await;
    for _ in 0..3 {
        mock.script(
            "OrderCancel",
            200,
            vec![],
            r#"{"data":{"orderCancel":{"job":{"id":"gid://shopify/Job/1","done":true},"orderCancelUserErrors":[]}}}"#,
        );
    }
    let report = oms::run_all(&shopify, &oms_fixture()).await.unwrap_err();
    assert!(report.failed("oms.cancel_order"), "{report}");
}

#[tokio::test]
async fn a_shop_that_ignores_idempotency_keys_fails_the_payments_suite() {
    let (mock, shopify) = adapter().await;
    {
        let mut s = mock.state.lock().unwrap();
        s.hide_notes = true;
        s.forget_keys = true;
    }
    let report = payments::run_all(&shopify, &payments_fixture())
        .await
        .unwrap_err();
    assert!(report.failed("payments.refund_is_idempotent"), "{report}");
}

// ---------------------------------------------------------------------------------------------
// Mapping and requests

#[tokio::test]
async fn maps_an_order_with_fulfilments_tracking_and_payments() {
    let (mock, shopify) = adapter().await;
    let order = shopify.order(&order_id(1001)).await.unwrap().unwrap();
    assert_eq!(order.number.as_str(), "#1001");
    assert_eq!(order.status, OrderStatus::Delivered);
    assert_eq!(order.customer_id.as_str(), "gid://shopify/Customer/1");
    assert_eq!(order.currency, Currency::CHF);
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.lines[0].unit_price, chf(8_900));
    assert_eq!(order.lines[1].quantity, 2);
    assert_eq!(order.lines[0].tax_rate.to_string(), "0.081");
    assert_eq!(order.shipping, chf(900));
    let shipment = &order.shipments[0];
    assert_eq!(shipment.carrier, "Swiss Post");
    assert_eq!(
        shipment.tracking_number.as_ref().unwrap().as_str(),
        "991001"
    );
    assert_eq!(shipment.status(), TrackingStatus::Delivered);
    assert!(shipment.delivered_at.is_some());
    assert_eq!(shipment.lines.len(), 2);
    assert_eq!(order.payments.len(), 1);
    assert_eq!(
        order.payments[0].id.as_str(),
        "gid://shopify/OrderTransaction/1001"
    );
    assert_eq!(order.payments[0].tender, Tender::Card);
    assert_eq!(order.payments[0].captured, chf(8_900 + 2 * 1_200 + 900));

    let shipped = shopify.order(&order_id(1005)).await.unwrap().unwrap();
    assert_eq!(shipped.status, OrderStatus::Fulfilled);
    assert_eq!(shipped.shipments[0].status(), TrackingStatus::InTransit);
    let pending = shopify.order(&order_id(1004)).await.unwrap().unwrap();
    assert_eq!(pending.status, OrderStatus::Pending);
    assert!(
        pending.payments.is_empty(),
        "an authorisation is not a payment"
    );

    // Ids that are not order GIDs are unknown without asking Shopify.
    let before = mock.received().len();
    assert!(shopify
        .order(&OrderId::new("1001"))
        .await
        .unwrap()
        .is_none());
    assert!(shopify
        .order(&OrderId::new("o_1001"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(mock.received().len(), before);
}

#[tokio::test]
async fn sends_the_documented_graphql_request() {
    let (mock, shopify) = adapter().await;
    shopify
        .order_by_number(&OrderNumber::new(" 1001 "))
        .await
        .unwrap()
        .unwrap();
    let sent = mock.received().pop().unwrap();
    assert_eq!(sent.path, format!("/admin/api/{VERSION}/graphql.json"));
    assert_eq!(sent.operation, "OrdersByName");
    assert_eq!(sent.headers["x-shopify-access-token"], TOKEN);
    assert_eq!(
        sent.variables["query"],
        json!("name:\"#1001\" OR name:\"1001\"")
    );
    assert!(sent.query.contains("fragment OrderFields on Order"));
}

#[tokio::test]
async fn cancels_without_refund_or_restock_and_reads_the_order_back() {
    let (mock, shopify) = adapter().await;
    let request = CancellationRequest {
        order_id: order_id(1003),
        reason: CancellationReason::Fraud,
    };
    let cancelled = shopify.cancel_order(&request).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let sent = mock
        .received()
        .into_iter()
        .find(|r| r.operation == "OrderCancel")
        .unwrap();
    assert_eq!(sent.variables["reason"], json!("FRAUD"));
    assert_eq!(sent.variables["refund"], json!(false));
    assert_eq!(sent.variables["restock"], json!(false));
    // Already cancelled: unchanged, no second mutation.
    shopify.cancel_order(&request).await.unwrap();
    let cancels = mock
        .received()
        .iter()
        .filter(|r| r.operation == "OrderCancel")
        .count();
    assert_eq!(cancels, 1);
}

#[tokio::test]
async fn swaps_a_variant_through_an_order_edit() {
    let (mock, shopify) = adapter().await;
    let order = shopify.order(&order_id(1002)).await.unwrap().unwrap();
    let line = order.lines[0].clone();
    let request = ItemModificationRequest {
        order_id: order_id(1002),
        changes: vec![ItemChange::SwapVariant {
            line_id: line.id.clone(),
            variant_id: VariantId::new("gid://shopify/ProductVariant/1001"),
        }],
    };
    let after = shopify.modify_items(&request).await.unwrap();
    assert_eq!(after.line(&line.id).unwrap().quantity, 0);
    let new_line = after
        .lines
        .iter()
        .find(|l| l.variant_id.as_str() == "gid://shopify/ProductVariant/1001")
        .unwrap();
    assert_eq!(new_line.quantity, line.quantity);
    assert_eq!(after.modifications_made, 1);
    let again = shopify.modify_items(&request).await.unwrap();
    assert_eq!(
        again.modifications_made, 1,
        "the same swap twice changes nothing"
    );
    let operations: Vec<String> = mock.received().into_iter().map(|r| r.operation).collect();
    assert_eq!(
        operations
            .iter()
            .filter(|o| *o == "OrderEditCommit")
            .count(),
        1
    );
}

#[tokio::test]
async fn records_a_return_once_and_refuses_unfulfilled_lines() {
    let (mock, shopify) = adapter().await;
    let order = shopify.order(&order_id(1001)).await.unwrap().unwrap();
    let authorisation = ReturnAuthorisation {
        id: ReturnId::new("ret_wire_1"),
        request: ReturnRequest {
            order_id: order_id(1001),
            lines: vec![ReturnLine {
                line_id: order.lines[1].id.clone(),
                quantity: 2,
                reason: ReturnReason::DoesNotFit,
                exchange_for: None,
            }],
            resolution: ResolutionKind::Refund,
        },
        authorised_at: chrono::Utc::now(),
        policy_version: "wire".to_owned(),
    };
    let first = shopify.record_return(&authorisation).await.unwrap();
    let again = shopify.record_return(&authorisation).await.unwrap();
    assert_eq!(first, again);
    let creates: Vec<Received> = mock
        .received()
        .into_iter()
        .filter(|r| r.operation == "ReturnCreate")
        .collect();
    assert_eq!(creates.len(), 1);
    let line = &creates[0].variables["returnInput"]["returnLineItems"][0];
    assert_eq!(line["quantity"], json!(2));
    assert_eq!(line["returnReason"], json!("OTHER"));
    assert!(line["returnReasonNote"]
        .as_str()
        .unwrap()
        .starts_with("order-agent return ret_wire_1 ("));

    let unfulfilled = shopify.order(&order_id(1002)).await.unwrap().unwrap();
    let mut early = authorisation.clone();
    early.id = ReturnId::new("ret_wire_2");
    early.request.order_id = order_id(1002);
    early.request.lines[0].line_id = unfulfilled.lines[0].id.clone();
    early.request.lines[0].quantity = 1;
    let err = shopify.record_return(&early).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");
}

#[tokio::test]
async fn exchange_offers_are_the_product_variants_never_negative() {
    let (_, shopify) = adapter().await;
    let offers = shopify
        .exchange_offers(&ProductId::new("gid://shopify/Product/100"))
        .await
        .unwrap();
    assert_eq!(offers.len(), 3);
    assert!(offers
        .iter()
        .all(|o| o.product_id.as_str() == "gid://shopify/Product/100"));
    assert_eq!(offers[0].unit_price, chf(2_500));
    assert_eq!(offers[0].available, 4);
    assert_eq!(offers[2].available, 0, "inventory -2 is offered as none");
    let unknown = shopify
        .exchange_offers(&ProductId::new("gid://shopify/Product/404"))
        .await
        .unwrap();
    assert!(unknown.is_empty());
}

#[tokio::test]
async fn customers_match_only_on_their_own_channel() {
    let (_, shopify) = adapter().await;
    let sms = ContactPoint {
        channel: Channel::Sms,
        address: "+41791234567".to_owned(),
    };
    let found = shopify.customer_by_contact(&sms).await.unwrap().unwrap();
    assert_eq!(found.id.as_str(), "gid://shopify/Customer/1");
    assert_eq!(found.loyalty_tier.as_deref(), Some("gold"));
    let whatsapp = ContactPoint {
        channel: Channel::Whatsapp,
        ..sms
    };
    assert!(shopify
        .customer_by_contact(&whatsapp)
        .await
        .unwrap()
        .is_none());
}

// ---------------------------------------------------------------------------------------------
// Refunds and the @idempotent directive

#[tokio::test]
async fn refund_create_sends_the_key_in_the_idempotent_directive() {
    let (mock, shopify) = adapter().await;
    let refund = shopify.refund(&refund_request("key-1", 250)).await.unwrap();
    assert_eq!(refund.amount, chf(250));
    assert_eq!(refund.state, RefundState::Succeeded);
    assert_eq!(refund.idempotency_key.as_deref(), Some("key-1"));
    let sent = mock
        .received()
        .into_iter()
        .find(|r| r.operation == "RefundCreate")
        .unwrap();
    assert!(sent.query.contains("@idempotent(key: $idempotencyKey)"));
    assert_eq!(sent.variables["idempotencyKey"], json!("key-1"));
    let t = &sent.variables["input"]["transactions"][0];
    assert_eq!(t["parentId"], json!("gid://shopify/OrderTransaction/9001"));
    assert_eq!(t["amount"], json!("2.50"));
    assert_eq!(t["gateway"], json!("shopify_payments"));
    assert_eq!(t["kind"], json!("REFUND"));
    assert!(sent.variables["input"]["note"]
        .as_str()
        .unwrap()
        .contains("order_id: #3001"));
}

#[tokio::test]
async fn shopify_replays_a_key_the_listing_missed_and_refuses_it_for_another_amount() {
    let (mock, shopify) = adapter().await;
    let first = shopify.refund(&refund_request("key-r", 100)).await.unwrap();
    // Refund notes hidden: the adapter cannot recognise its own refund, so it relies on
    // Shopify's @idempotent semantics.
    mock.state.lock().unwrap().hide_notes = true;
    let replay = shopify.refund(&refund_request("key-r", 100)).await.unwrap();
    assert_eq!(replay.id, first.id);
    let other = shopify
        .refund(&refund_request("key-r", 200))
        .await
        .unwrap_err();
    assert_eq!(other.kind(), PortErrorKind::Conflict, "{other}");
    let refunds = shopify.refunds(&payments_fixture().payment).await.unwrap();
    assert_eq!(refunds.len(), 2, "the seeded refund and one of ours");
}

#[tokio::test]
async fn refund_user_errors_map_to_kinds() {
    let (mock, shopify) = adapter().await;
    mock.script(
        "RefundCreate",
        200,
        vec![],
        r#"{"data":{"refundCreate":{"refund":null,"userErrors":[{"field":["transactions","0","amount"],"message":"Refund amount exceeds the refundable amount"}]}}}"#,
    );
    let err = shopify
        .refund(&refund_request("k-over", 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Rejected, "{err}");
    assert_eq!(err.context_value("field"), Some("transactions.0.amount"));
}

// ---------------------------------------------------------------------------------------------
// Throttling

#[tokio::test]
async fn throttled_is_rate_limited_with_the_wait_the_bucket_needs() {
    let (mock, shopify) = adapter().await;
    mock.script(
        "OrderById",
        200,
        vec![],
        r#"{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED","documentation":"https://shopify.dev/api/usage/rate-limits"}}],"extensions":{"cost":{"requestedQueryCost":250,"actualQueryCost":null,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":100.0,"restoreRate":100.0}}}}"#,
    );
    let err = shopify.order(&order_id(1001)).await.unwrap_err();
    // (250 - 100) / 100 = 1.5 s, rounded up.
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );
    assert!(err.is_retryable());
    assert_eq!(err.operation(), "oms.order");
    // The bucket adopted Shopify's numbers.
    assert!(shopify.bucket().available() < 200.0);
}

#[tokio::test]
async fn the_bucket_waits_before_a_query_it_cannot_pay_for() {
    let mock = MockShopify::seeded();
    // Shopify reports an empty bucket restoring 1000 points/s; the order query is estimated at
    // 120 points, so the next call waits about 120 ms (share 100%).
    mock.state.lock().unwrap().throttle = (0.0, 1000.0);
    let url = mock.clone().start().await;
    let shopify = Shopify::new(config(&url).with_bucket_share_percent(100)).unwrap();
    shopify.order(&order_id(1001)).await.unwrap();
    let started = Instant::now();
    shopify.order(&order_id(1001)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "waited only {:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn maps_http_and_graphql_failures_to_port_errors() {
    let (mock, shopify) = adapter().await;
    let id = order_id(1001);

    mock.script(
        "OrderById",
        429,
        vec![("retry-after", "2".to_owned())],
        "{}",
    );
    let err = shopify.order(&id).await.unwrap_err();
    assert_eq!(
        err.kind(),
        PortErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2))
        }
    );

    for status in [500, 502, 503] {
        mock.script(
            "OrderById",
            status,
            vec![],
            r#"{"errors":"Internal Server Error"}"#,
        );
        let err = shopify.order(&id).await.unwrap_err();
        assert_eq!(err.kind(), PortErrorKind::Unavailable, "{status}");
        assert!(err.is_retryable());
    }

    mock.script("OrderById", 403, vec![], r#"{"errors":"Forbidden"}"#);
    assert_eq!(
        shopify.order(&id).await.unwrap_err().kind(),
        PortErrorKind::Unauthorized
    );

    mock.script("OrderById", 200, vec![], "<html>not json");
    let err = shopify.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);

    mock.script(
        "OrderById",
        200,
        vec![],
        r#"{"errors":[{"message":"Parse error on \"}\" (RCURLY) at [3, 1]","locations":[{"line":3,"column":1}]}]}"#,
    );
    let err = shopify.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);
    assert!(!err.is_retryable());

    mock.script(
        "OrderById",
        200,
        vec![],
        r#"{"errors":[{"message":"Variable $id of type ID! was provided invalid value","locations":[{"line":1,"column":16}],"extensions":{"value":"x","problems":[{"path":[],"explanation":"Invalid global id 'x'"}]}}]}"#,
    );
    let err = shopify.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput, "{err}");

    mock.script(
        "OrderById",
        200,
        vec![],
        r#"{"errors":[{"message":"Internal error. Looks like something went wrong on our end.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#,
    );
    let err = shopify.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());

    mock.script(
        "OrderById",
        200,
        vec![],
        r#"{"errors":[{"message":"Access denied for order field. Required access: `read_orders` access scope.","extensions":{"code":"ACCESS_DENIED"}}]}"#,
    );
    assert_eq!(
        shopify.order(&id).await.unwrap_err().kind(),
        PortErrorKind::Unauthorized
    );

    // The order update's userErrors: an unknown field value is invalid input.
    mock.script(
        "OrderUpdateShippingAddress",
        200,
        vec![],
        r#"{"data":{"orderUpdate":{"order":null,"userErrors":[{"field":["shippingAddress","countryCode"],"message":"Country is invalid"}]}}}"#,
    );
    let change = AddressChangeRequest {
        order_id: order_id(1003),
        new_address: oms_fixture().new_address,
    };
    let err = shopify.change_shipping_address(&change).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput, "{err}");

    // The wrong token: unauthorized, and the token never shows.
    let url = format!(
        "http://{}",
        mock.received()[0].headers["host"].to_str().unwrap()
    );
    let wrong = Shopify::new(ShopifyConfig::new(&url, SecretString::from("shpat_wrong"))).unwrap();
    let err = wrong.order(&id).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unauthorized);
    assert!(!err.to_string().contains("shpat_wrong"));
    assert!(!format!("{wrong:?}").contains("shpat_wrong"));

    // Another API version (or shop) answers 404: unexpected, with a clear message.
    let mut other_version = config(&url);
    other_version.api_version = "2019-04".to_owned();
    let err = Shopify::new(other_version)
        .unwrap()
        .order(&id)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unexpected);
    assert!(err.message().contains("shop domain"), "{err}");
}

#[tokio::test]
async fn the_mock_refuses_variables_shopify_would_refuse() {
    // The mock's strictness is what makes the conformance run meaningful: a misspelt input field
    // must come back as Shopify's invalid-variable error, which the adapter maps to invalid input.
    let (mock, shopify) = adapter().await;
    let url = format!("http://{}", {
        shopify.order(&order_id(1001)).await.unwrap();
        mock.received()[0].headers["host"]
            .to_str()
            .unwrap()
            .to_owned()
    });
    let client = reqwest::Client::new();
    let body = json!({
        "query": "mutation OrderCancel($orderId: ID!, $reason: OrderCancelReason!, $refund: Boolean!, $restock: Boolean!, $email: String) { orderCancel(orderId: $orderId) { job { id } } }",
        "operationName": "OrderCancel",
        "variables": { "orderId": "gid://shopify/Order/1002", "reason": "CUSTOMER", "refund": false, "restock": false, "email": "x" },
    });
    let answer: Value = client
        .post(format!("{url}/admin/api/{VERSION}/graphql.json"))
        .header("x-shopify-access-token", TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answer["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Variable $"));
    assert!(answer["extensions"]["cost"]["throttleStatus"].is_object());
    let order = shopify.order(&order_id(1002)).await.unwrap().unwrap();
    assert_eq!(
        order.status,
        OrderStatus::Unfulfilled,
        "nothing was cancelled"
    );
}

#[tokio::test]
async fn an_unreachable_shop_is_unavailable_and_a_silent_one_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = Shopify::new(config(&url))
        .unwrap()
        .order(&order_id(1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Unavailable);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let shopify = Shopify::new(config(&url).with_timeout(Duration::from_millis(200))).unwrap();
    let err = shopify.order(&order_id(1)).await.unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::Timeout);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn lines_and_ids_it_does_not_know_are_refused_or_absent() {
    let (_, shopify) = adapter().await;
    let err = shopify
        .modify_items(&ItemModificationRequest {
            order_id: order_id(1004),
            changes: vec![ItemChange::ReduceQuantity {
                line_id: LineId::new("gid://shopify/LineItem/1"),
                quantity: 0,
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), PortErrorKind::InvalidInput);
    assert!(shopify
        .payment(&PaymentId::new("pi_123"))
        .await
        .unwrap()
        .is_none());
    assert!(shopify
        .customer(&CustomerId::new("cus_anna"))
        .await
        .unwrap()
        .is_none());
}

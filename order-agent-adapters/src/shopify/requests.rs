//! Requests as data: each port call's GraphQL document with its variables, built by pure
//! functions and turned into a [`WireRequest`] by [`wire`].

use order_agent_core::domain::{
    Address, CancellationReason, CancellationRequest, Channel, ContactPoint, CustomerId, LineId,
    OrderId, OrderNumber, PaymentId, ProductId, ReturnAuthorisation, ReturnReason, VariantId,
};
use order_agent_core::ports::oms::normalize_order_number;
use order_agent_core::ports::RefundRequest;
use serde_json::{json, Value};

use super::queries::{self, Document};
use super::ShopifyConfig;
use crate::http::{Body, HeaderValue, Method, WireRequest};

/// The namespace of the metafields the adapter writes on orders.
pub const METAFIELD_NAMESPACE: &str = "order_agent";
/// The key of the order metafield counting the agent's item changes.
pub const MODIFICATIONS_KEY: &str = "modifications";
/// The first line of the note of every refund the adapter creates.
pub const REFUND_NOTE_HEADER: &str = "order-agent refund";
/// The prefix of the note line carrying a refund's idempotency key.
pub const REFUND_NOTE_KEY_PREFIX: &str = "idempotency-key: ";
/// The prefix of the `returnReasonNote` of every return line the adapter creates; the
/// authorisation id follows.
pub const RETURN_NOTE_PREFIX: &str = "order-agent return ";
/// Orders fetched at most when searching by number (names are not unique across prefixes).
const NAME_SEARCH_LIMIT: u32 = 5;
/// Customers fetched at most when searching by contact.
const CONTACT_SEARCH_LIMIT: u32 = 10;
/// Orders fetched at most for one customer (Shopify caps a page at 250).
pub const MAX_ORDERS_PAGE: usize = 250;

/// One GraphQL call: the port operation it serves, the document and its variables.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphqlRequest {
    /// The port operation (`oms.order`), for errors.
    pub operation: &'static str,
    /// The document.
    pub document: Document,
    /// The variables, as sent.
    pub variables: Value,
}

impl GraphqlRequest {
    fn new(operation: &'static str, document: Document, variables: Value) -> GraphqlRequest {
        GraphqlRequest {
            operation,
            document,
            variables,
        }
    }
}

/// The path of the Admin GraphQL endpoint for `api_version`.
pub fn endpoint_path(api_version: &str) -> String {
    format!("/admin/api/{api_version}/graphql.json")
}

/// The HTTP request for `request`: `POST /admin/api/{version}/graphql.json` with the access token
/// in `X-Shopify-Access-Token` and `{"query", "operationName", "variables"}` as JSON.
pub fn wire(config: &ShopifyConfig, request: &GraphqlRequest) -> WireRequest {
    WireRequest {
        operation: request.operation,
        method: Method::Post,
        path: endpoint_path(&config.api_version),
        query: Vec::new(),
        headers: vec![
            (
                "x-shopify-access-token".to_owned(),
                HeaderValue::Secret(config.access_token.clone()),
            ),
            (
                "accept".to_owned(),
                HeaderValue::Plain("application/json".to_owned()),
            ),
        ],
        body: Body::Json(json!({
            "query": request.document.text,
            "operationName": request.document.name,
            "variables": request.variables,
        })),
    }
}

/// The GID `gid://shopify/{kind}/{id}` for a bare numeric id; any other id is used as given.
pub fn gid(kind: &str, id: &str) -> String {
    let id = id.trim();
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        format!("gid://shopify/{kind}/{id}")
    } else {
        id.to_owned()
    }
}

/// Whether `id` is a GID of resource `kind` (`gid://shopify/Order/1`).
pub fn is_gid_of(kind: &str, id: &str) -> bool {
    id.strip_prefix("gid://shopify/")
        .and_then(|rest| rest.strip_prefix(kind))
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The numeric tail of a GID (`gid://shopify/CalculatedLineItem/7` → `7`).
pub fn gid_number(id: &str) -> Option<&str> {
    let tail = id.rsplit('/').next()?;
    (!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit())).then_some(tail)
}

/// A value of Shopify's search syntax, quoted, with `\` and `"` escaped.
pub fn search_value(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        if !c.is_control() {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// The order `id`.
pub fn order(op: &'static str, id: &OrderId) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_BY_ID,
        json!({ "id": gid("Order", id.as_str()) }),
    )
}

/// The orders named `number`, with and without `#`; `None` for a blank number.
pub fn orders_by_name(op: &'static str, number: &OrderNumber) -> Option<GraphqlRequest> {
    let bare = normalize_order_number(number.as_str());
    if bare.is_empty() {
        return None;
    }
    let query = format!(
        "name:{} OR name:{}",
        search_value(&format!("#{bare}")),
        search_value(bare)
    );
    Some(GraphqlRequest::new(
        op,
        queries::ORDERS_BY_NAME,
        json!({ "query": query, "first": NAME_SEARCH_LIMIT }),
    ))
}

/// Up to `limit` orders of `customer`, newest first (at most [`MAX_ORDERS_PAGE`]).
pub fn orders_of_customer(op: &'static str, customer: &CustomerId, limit: usize) -> GraphqlRequest {
    let first = limit.clamp(1, MAX_ORDERS_PAGE);
    GraphqlRequest::new(
        op,
        queries::ORDERS_OF_CUSTOMER,
        json!({ "id": gid("Customer", customer.as_str()), "first": first }),
    )
}

/// The customer `id`.
pub fn customer(op: &'static str, id: &CustomerId) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::CUSTOMER_BY_ID,
        json!({ "id": gid("Customer", id.as_str()) }),
    )
}

/// The customers Shopify finds for `contact`: by email on [`Channel::Email`], by phone on
/// [`Channel::Sms`]; `None` on channels Shopify keeps no contact for (WhatsApp, web chat) and
/// for a blank address. The caller still compares exactly: search is fuzzy.
pub fn customers_by_contact(op: &'static str, contact: &ContactPoint) -> Option<GraphqlRequest> {
    let address = contact.address.trim();
    if address.is_empty() {
        return None;
    }
    let query = match contact.channel {
        Channel::Email => format!("email:{}", search_value(&address.to_lowercase())),
        Channel::Sms => format!("phone:{}", search_value(address)),
        _ => return None,
    };
    Some(GraphqlRequest::new(
        op,
        queries::CUSTOMERS_BY_CONTACT,
        json!({ "query": query, "first": CONTACT_SEARCH_LIMIT }),
    ))
}

/// Shopify's `OrderCancelReason` for the agent's reason.
pub fn cancel_reason(reason: CancellationReason) -> &'static str {
    match reason {
        CancellationReason::Fraud => "FRAUD",
        CancellationReason::Other => "OTHER",
        CancellationReason::ChangedMind
        | CancellationReason::OrderedByMistake
        | CancellationReason::FoundCheaper
        | CancellationReason::DeliveryTooSlow => "CUSTOMER",
    }
}

fn reason_code(reason: CancellationReason) -> &'static str {
    match reason {
        CancellationReason::ChangedMind => "changed_mind",
        CancellationReason::OrderedByMistake => "ordered_by_mistake",
        CancellationReason::FoundCheaper => "found_cheaper",
        CancellationReason::DeliveryTooSlow => "delivery_too_slow",
        CancellationReason::Fraud => "fraud",
        CancellationReason::Other => "other",
    }
}

/// `orderCancel` with `refund: false` and `restock: false`: the agent refunds and restocks
/// through its own ports.
pub fn cancel_order(op: &'static str, request: &CancellationRequest) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_CANCEL,
        json!({
            "orderId": gid("Order", request.order_id.as_str()),
            "reason": cancel_reason(request.reason),
            "refund": false,
            "restock": false,
            "notifyCustomer": false,
            "staffNote": format!("cancelled by order-agent: {}", reason_code(request.reason)),
        }),
    )
}

/// Shopify's `MailingAddressInput` for `address`: the name split at its last space into first and
/// last name (Shopify joins them back with a space).
pub fn mailing_address(address: &Address) -> Value {
    let name = address.name.trim();
    let (first, last) = match name.rsplit_once(' ') {
        Some((first, last)) => (first.trim(), last.trim()),
        None => ("", name),
    };
    let mut input = json!({
        "firstName": first,
        "lastName": last,
        "address1": address.line1,
        "city": address.city,
        "zip": address.postcode,
        "countryCode": address.country.trim().to_uppercase(),
    });
    if let Some(line2) = address.line2.as_deref().filter(|l| !l.trim().is_empty()) {
        input["address2"] = json!(line2);
    }
    if let Some(region) = address.region.as_deref().filter(|r| !r.trim().is_empty()) {
        input["provinceCode"] = json!(region);
    }
    input
}

/// `orderUpdate` with the new shipping address.
pub fn change_shipping_address(
    op: &'static str,
    order: &OrderId,
    address: &Address,
) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_UPDATE_ADDRESS,
        json!({
            "input": {
                "id": gid("Order", order.as_str()),
                "shippingAddress": mailing_address(address),
            }
        }),
    )
}

/// `orderEditBegin` on `order`.
pub fn order_edit_begin(op: &'static str, order: &OrderId) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_EDIT_BEGIN,
        json!({ "id": gid("Order", order.as_str()) }),
    )
}

/// The calculated line item of an order edit that stands for `line` (same numeric id).
pub fn calculated_line_id(line: &LineId) -> Option<String> {
    gid_number(line.as_str()).map(|n| format!("gid://shopify/CalculatedLineItem/{n}"))
}

/// `orderEditSetQuantity` without restocking.
pub fn order_edit_set_quantity(
    op: &'static str,
    calculated_order: &str,
    calculated_line: &str,
    quantity: u32,
) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_EDIT_SET_QUANTITY,
        json!({
            "id": calculated_order,
            "lineItemId": calculated_line,
            "quantity": quantity,
            "restock": false,
        }),
    )
}

/// `orderEditAddVariant`: `quantity` units of `variant`.
pub fn order_edit_add_variant(
    op: &'static str,
    calculated_order: &str,
    variant: &VariantId,
    quantity: u32,
) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_EDIT_ADD_VARIANT,
        json!({
            "id": calculated_order,
            "variantId": gid("ProductVariant", variant.as_str()),
            "quantity": quantity,
            "allowDuplicates": false,
        }),
    )
}

/// `orderEditCommit` without notifying the customer (the agent writes to them itself).
pub fn order_edit_commit(op: &'static str, calculated_order: &str) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_EDIT_COMMIT,
        json!({
            "id": calculated_order,
            "notifyCustomer": false,
            "staffNote": "items changed by order-agent",
        }),
    )
}

/// `metafieldsSet`: the order's count of the agent's item changes.
pub fn set_modifications(op: &'static str, order: &OrderId, count: u32) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::METAFIELDS_SET,
        json!({
            "metafields": [{
                "ownerId": gid("Order", order.as_str()),
                "namespace": METAFIELD_NAMESPACE,
                "key": MODIFICATIONS_KEY,
                "type": "number_integer",
                "value": count.to_string(),
            }]
        }),
    )
}

/// The order's returns and fulfilment line items.
pub fn order_returns(op: &'static str, order: &OrderId) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::ORDER_RETURNS,
        json!({ "id": gid("Order", order.as_str()) }),
    )
}

/// Shopify's `ReturnReason` for the agent's reason (the size direction of a bad fit is unknown,
/// so it is `OTHER` with the note saying so).
pub fn return_reason(reason: ReturnReason) -> &'static str {
    match reason {
        ReturnReason::Damaged | ReturnReason::Defective => "DEFECTIVE",
        ReturnReason::WrongItem => "WRONG_ITEM",
        ReturnReason::NotAsDescribed => "NOT_AS_DESCRIBED",
        ReturnReason::ChangedMind | ReturnReason::ArrivedLate | ReturnReason::FoundCheaper => {
            "UNWANTED"
        }
        ReturnReason::DoesNotFit | ReturnReason::Other => "OTHER",
    }
}

fn return_reason_code(reason: ReturnReason) -> &'static str {
    match reason {
        ReturnReason::Damaged => "damaged",
        ReturnReason::Defective => "defective",
        ReturnReason::WrongItem => "wrong_item",
        ReturnReason::NotAsDescribed => "not_as_described",
        ReturnReason::DoesNotFit => "does_not_fit",
        ReturnReason::ChangedMind => "changed_mind",
        ReturnReason::ArrivedLate => "arrived_late",
        ReturnReason::FoundCheaper => "found_cheaper",
        ReturnReason::Other => "other",
    }
}

/// The `returnReasonNote` that marks a return line as recorded for `authorisation`.
pub fn return_note(authorisation: &ReturnAuthorisation, reason: ReturnReason) -> String {
    format!(
        "{RETURN_NOTE_PREFIX}{} ({})",
        authorisation.id,
        return_reason_code(reason)
    )
}

/// One line of a return to create: the fulfilment line item, units and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnLineInput {
    /// The `FulfillmentLineItem` GID.
    pub fulfillment_line_item: String,
    /// Units returned.
    pub quantity: u32,
    /// Why.
    pub reason: ReturnReason,
}

/// `returnCreate` for `authorisation` over `lines`, each marked with [`return_note`].
pub fn return_create(
    op: &'static str,
    authorisation: &ReturnAuthorisation,
    lines: &[ReturnLineInput],
) -> GraphqlRequest {
    let items: Vec<Value> = lines
        .iter()
        .map(|line| {
            json!({
                "fulfillmentLineItemId": line.fulfillment_line_item,
                "quantity": line.quantity,
                "returnReason": return_reason(line.reason),
                "returnReasonNote": return_note(authorisation, line.reason),
            })
        })
        .collect();
    GraphqlRequest::new(
        op,
        queries::RETURN_CREATE,
        json!({
            "returnInput": {
                "orderId": gid("Order", authorisation.request.order_id.as_str()),
                "returnLineItems": items,
                "notifyCustomer": false,
                "requestedAt": authorisation.authorised_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }
        }),
    )
}

/// The variants of `product` and the shop's currency.
pub fn product_variants(op: &'static str, product: &ProductId) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::PRODUCT_VARIANTS,
        json!({ "id": gid("Product", product.as_str()) }),
    )
}

/// The payment `id` (an `OrderTransaction` GID) with its order's refunds.
pub fn payment(op: &'static str, id: &PaymentId) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::PAYMENT_TRANSACTION,
        json!({ "id": gid("OrderTransaction", id.as_str()) }),
    )
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The refund's note: a header line, the idempotency key, then the metadata as `key: value`
/// lines. The key is read back by [`idempotency_key_of_note`].
pub fn refund_note(request: &RefundRequest) -> String {
    let mut note = format!(
        "{REFUND_NOTE_HEADER}\n{REFUND_NOTE_KEY_PREFIX}{}",
        one_line(&request.idempotency_key)
    );
    for (key, value) in &request.metadata {
        note.push('\n');
        note.push_str(&one_line(key));
        note.push_str(": ");
        note.push_str(&one_line(value));
    }
    note
}

/// The idempotency key written by [`refund_note`], if the note is one of the adapter's.
pub fn idempotency_key_of_note(note: &str) -> Option<String> {
    let mut lines = note.lines();
    if lines.next()?.trim() != REFUND_NOTE_HEADER {
        return None;
    }
    lines
        .find_map(|line| line.strip_prefix(REFUND_NOTE_KEY_PREFIX))
        .map(|key| key.trim().to_owned())
}

/// `refundCreate` of `request.amount` against the payment transaction (`parentId`), through
/// `gateway`, under `@idempotent(key: request.idempotency_key)`.
pub fn refund_create(
    op: &'static str,
    request: &RefundRequest,
    order: &str,
    gateway: &str,
) -> GraphqlRequest {
    GraphqlRequest::new(
        op,
        queries::REFUND_CREATE,
        json!({
            "input": {
                "orderId": order,
                "note": refund_note(request),
                "notify": false,
                "transactions": [{
                    "orderId": order,
                    "parentId": gid("OrderTransaction", request.payment_id.as_str()),
                    "amount": request.amount.amount().to_string(),
                    "gateway": gateway,
                    "kind": "REFUND",
                }],
            },
            "idempotencyKey": request.idempotency_key,
        }),
    )
}
